/**
 * One Redis pool runner in its own process, for fault tests and the pool bench: it can be killed
 * (-9) mid-job like a real worker host. Prints `ready <runnerId>` once registered; exits 0 on
 * SIGTERM/SIGINT after draining.
 *
 * Usage: node dist/bench/pool-child.js [--url redis://…] [--prefix p] [--labels llm,exec]
 *   [--concurrency 2] [--handler noop|record|sleep:<ms>] [--kinds bench,provision]
 *   [--lock-ms 30000] [--heartbeat-ms 5000] [--drain-ms 10000] [--runner-id id]
 * The URL defaults to REDIS_URL. Handlers: 'record' RPUSHes `<jobId>:<runnerId>` to the list
 * `<prefix>:done` when a job completes (so a test can check exactly-once); 'sleep:<ms>' sleeps
 * (aborted by its signal) then records; 'noop' does nothing.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { DEFAULT_POOL_SETTINGS, type JobHandler } from '../pool/queue.js';
import { DEFAULT_REDIS_PREFIX, startRunner } from '../pool/redis.js';
import { errorText } from '../outcome.js';

function fail(message: string): never {
  process.stderr.write(`pool-child: ${message}\n`);
  process.exit(2);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    fail(`--${name} expects a positive integer, got ${value}`);
  return parsed;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    prefix: { type: 'string' },
    labels: { type: 'string' },
    concurrency: { type: 'string' },
    handler: { type: 'string' },
    kinds: { type: 'string' },
    'lock-ms': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'drain-ms': { type: 'string' },
    'runner-id': { type: 'string' },
  },
});

const url = values.url ?? process.env.REDIS_URL ?? fail('give --url or REDIS_URL');
const prefix = values.prefix ?? DEFAULT_REDIS_PREFIX;
const labels = (values.labels ?? 'llm').split(',').filter((label) => label !== '');
const kinds = (values.kinds ?? 'bench,provision').split(',').filter((kind) => kind !== '');
const mode = values.handler ?? 'record';
const sleepMatch = /^sleep:(?<ms>\d+)$/.exec(mode);
if (mode !== 'noop' && mode !== 'record' && sleepMatch === null) {
  fail(`--handler expects noop, record or sleep:<ms>, got ${mode}`);
}
const sleepMs = sleepMatch?.groups?.ms === undefined ? 0 : Number(sleepMatch.groups.ms);
const drainMs = positiveInt('drain-ms', values['drain-ms'], 10_000);

const recorder = new Redis(url, { maxRetriesPerRequest: null });
recorder.on('error', () => {
  // Reconnects by itself; the runner's onError below already reports connection trouble.
});

const handler: JobHandler = async (job, context) => {
  if (mode === 'noop') return;
  if (sleepMs > 0) await sleep(sleepMs, context.signal);
  await recorder.rpush(`${prefix}:done`, `${job.id}:${context.runner}`);
};

const runner = await startRunner({
  url,
  prefix,
  labels,
  concurrency: positiveInt('concurrency', values.concurrency, 2),
  handlers: new Map(kinds.map((kind) => [kind, handler])),
  // No CPU threshold: a fault test on a busy 2-core machine must not stall on the load average.
  settings: { ...DEFAULT_POOL_SETTINGS, cpuThreshold: undefined },
  lockMs: positiveInt('lock-ms', values['lock-ms'], 30_000),
  heartbeatMs: positiveInt('heartbeat-ms', values['heartbeat-ms'], 5_000),
  ...(values['runner-id'] !== undefined ? { runnerId: values['runner-id'] } : {}),
  onError: (error) => {
    process.stderr.write(`pool-child: ${errorText(error)}\n`);
  },
});
process.stdout.write(`ready ${runner.id}\n`);

let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  runner
    .stop(drainMs)
    .then(() => recorder.quit())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`pool-child: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
