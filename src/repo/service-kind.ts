/**
 * What a service is from its own facts, shared by the analysis (a worker lists no endpoints) and the
 * agents (a worker is sized by concurrency, not by request rate). Pure; no I/O.
 */
import type { ServiceFacts } from './schema.js';

/** Started as a queue worker (celery, sidekiq, …) with no port exposed. */
export function runsAsWorker(
  dockerfile: ServiceFacts['dockerfile'],
  stack: ServiceFacts['stack'],
): boolean {
  if (dockerfile === undefined || dockerfile.expose.length > 0) return false;
  const command = [...(dockerfile.entrypoint ?? []), ...(dockerfile.cmd ?? [])]
    .join(' ')
    .toLowerCase();
  return stack.frameworks.some(
    (f) => f.kind === 'worker' && command.split(/[\s/]+/).includes(f.name),
  );
}
