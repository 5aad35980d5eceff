/**
 * The stack detectors, in one explicit registry, and the merge of their findings into StackFacts.
 * A new stack is one detector file beside this one plus one line in STACK_DETECTORS.
 *
 * Choosing the primary language, deterministically, when several detectors fire:
 *   1. the shallowest manifest wins (one at the service root beats one in a subdirectory, and any
 *      manifest beats source files alone);
 *   2. then a detector that found a server framework (http, grpc or worker): a Django app with a
 *      package.json for its assets is a Python service;
 *   3. then the one with more source files;
 *   4. then registry order.
 * The runtime and package manager are the primary detector's; every other language goes to
 * otherLanguages. Frameworks and evidence are concatenated in rank order, without duplicates.
 */
import type { Framework, Language, StackFacts } from '../schema.js';
import type { RepoFile, RepoTree } from '../tree.js';
import type { DetectorResult, StackDetector } from './detector.js';
import { pushUnique } from './detector.js';
import { dotnetDetector } from './dotnet.js';
import { elixirDetector } from './elixir.js';
import { goDetector } from './go.js';
import { jvmDetector } from './jvm.js';
import { nativeDetector } from './native.js';
import { nodeDetector } from './node.js';
import { phpDetector } from './php.js';
import { protoDetector } from './proto.js';
import { pythonDetector } from './python.js';
import { rubyDetector } from './ruby.js';
import { rustDetector } from './rust.js';

export type { DetectorInput, DetectorResult, StackDetector } from './detector.js';

/** Registry order is the last tie-breaker for the primary language. */
export const STACK_DETECTORS: ReadonlyMap<string, StackDetector> = new Map([
  [nodeDetector.id, nodeDetector],
  [pythonDetector.id, pythonDetector],
  [goDetector.id, goDetector],
  [jvmDetector.id, jvmDetector],
  [dotnetDetector.id, dotnetDetector],
  [rustDetector.id, rustDetector],
  [rubyDetector.id, rubyDetector],
  [phpDetector.id, phpDetector],
  [elixirDetector.id, elixirDetector],
  [nativeDetector.id, nativeDetector],
  [protoDetector.id, protoDetector],
]);

const SERVER_KINDS: ReadonlySet<Framework['kind']> = new Set(['http', 'grpc', 'worker']);

interface Ranked {
  result: DetectorResult;
  order: number;
}

/**
 * Runs every detector over the service in `dir` and merges what they found. `files` defaults to
 * everything under `dir`; callers analysing a monorepo pass the files that belong to this service
 * only, without nested services' directories. Never throws on repository content; an empty
 * directory gives empty lists and no language.
 */
export function detectStack(tree: RepoTree, dir: string, files?: RepoFile[]): StackFacts {
  const input = { tree, dir, files: files ?? tree.under(dir) };
  const ranked: Ranked[] = [];
  let order = 0;
  for (const detector of STACK_DETECTORS.values()) {
    const result = detector.detect(input);
    if (result) ranked.push({ result, order });
    order++;
  }
  ranked.sort(compareRanked);

  const facts: StackFacts = { otherLanguages: [], frameworks: [], evidence: [] };
  const primary = ranked.find((r) => r.result.language !== undefined)?.result;
  if (primary?.language !== undefined) {
    facts.language = primary.language;
    if (primary.runtime) facts.runtime = { ...primary.runtime };
    if (primary.packageManager !== undefined) facts.packageManager = primary.packageManager;
  }
  const languages: Language[] = [];
  for (const { result } of ranked) {
    if (result.language !== undefined) pushUnique(languages, result.language);
    pushUnique(languages, ...result.otherLanguages);
    for (const framework of result.frameworks) {
      if (!facts.frameworks.some((f) => f.name === framework.name)) {
        facts.frameworks.push({ ...framework });
      }
    }
    pushUnique(facts.evidence, ...result.evidence);
  }
  facts.otherLanguages = languages.filter((l) => l !== facts.language);
  return facts;
}

function compareRanked(a: Ranked, b: Ranked): number {
  const depthA = a.result.manifestDepth ?? Number.POSITIVE_INFINITY;
  const depthB = b.result.manifestDepth ?? Number.POSITIVE_INFINITY;
  if (depthA !== depthB) return depthA < depthB ? -1 : 1;
  const serverA = servesTraffic(a.result) ? 0 : 1;
  const serverB = servesTraffic(b.result) ? 0 : 1;
  return serverA - serverB || b.result.sourceFiles - a.result.sourceFiles || a.order - b.order;
}

function servesTraffic(result: DetectorResult): boolean {
  return result.frameworks.some((f) => SERVER_KINDS.has(f.kind));
}
