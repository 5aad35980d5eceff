/**
 * `bench:pool`: 10,000 no-op jobs through our pool and, in the same run, through the raw library
 * underneath as the reference — the in-process queue against one plain Bottleneck, and the Redis
 * pool with 1 and 2 runner processes against plain BullMQ Workers, on a real redis-server on
 * loopback. For each: jobs/s (first submit → last start) and the p50/p99 latency from enqueue to
 * start. Submits are issued the same way for ours and raw (at most `inFlight` at once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Bottleneck from 'bottleneck';
import { Queue as BullQueue } from 'bullmq';
import { done, type Outcome } from '../outcome.js';
import { createInProcessQueue } from '../pool/in-process.js';
import {
  DEFAULT_POOL_SETTINGS,
  type PoolJob,
  type PoolSettings,
  type Queue,
} from '../pool/queue.js';
import { createRedisQueue } from '../pool/redis.js';
import { formatTable } from '../render/repo-table.js';
import { publish } from './results.js';
import { startRedis, type RedisServer } from './servers.js';

export interface PoolBenchOptions {
  jobs: number;
  /** Concurrency of each pool and runner (the same for the raw reference). */
  concurrency: number;
  /** Submits in flight at once. */
  inFlight: number;
  record: boolean;
}

export const BENCH_LABEL = 'bench';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One label, no CPU threshold, no retries: only the machinery is measured. */
export function benchSettings(concurrency: number): PoolSettings {
  const { cpuThreshold: _unused, ...rest } = DEFAULT_POOL_SETTINGS;
  return {
    ...rest,
    concurrency,
    labels: { [BENCH_LABEL]: { concurrency } },
    defaultLabel: { concurrency },
    maxAttempts: 1,
  };
}

/** Job i of a run: a no-op carrying its enqueue time. */
function benchJob(i: number): PoolJob {
  return {
    id: `job-${i}`,
    kind: 'noop',
    label: BENCH_LABEL,
    priority: 'NORMAL',
    data: { t: nowMs() },
  };
}

interface RunResult {
  name: string;
  jobs: number;
  seconds: number;
  latencies: number[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `submit(i)` for i < n with at most `inFlight` pending at once. */
async function submitAll(
  n: number,
  inFlight: number,
  submit: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(inFlight, n) }, async () => {
    while (next < n) await submit(next++);
  });
  await Promise.all(lanes);
}

// ---------------------------------------------------------------------------------------------
// In-process

async function runInProcessOurs(options: PoolBenchOptions): Promise<RunResult> {
  const latencies: number[] = [];
  let last = 0;
  let finished = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  const queue: Queue = createInProcessQueue({
    settings: benchSettings(options.concurrency),
    handlers: new Map([
      [
        'noop',
        async (job) => {
          last = nowMs();
          latencies.push(last - (job.data?.t as number));
          if (++finished === options.jobs) resolveAll();
        },
      ],
    ]),
  });
  const first = nowMs();
  await submitAll(options.jobs, options.inFlight, (i) => queue.submit(benchJob(i)));
  await all;
  await queue.drain(1_000);
  await queue.close();
  return {
    name: 'in-process: ours',
    jobs: options.jobs,
    seconds: (last - first) / 1000,
    latencies,
  };
}

async function runInProcessRaw(options: PoolBenchOptions): Promise<RunResult> {
  const latencies: number[] = [];
  let last = 0;
  const limiter = new Bottleneck({ maxConcurrent: options.concurrency });
  const first = nowMs();
  const runs: Promise<void>[] = [];
  await submitAll(options.jobs, options.inFlight, async () => {
    const t = nowMs();
    runs.push(
      limiter.schedule(async () => {
        last = nowMs();
        latencies.push(last - t);
      }),
    );
  });
  await Promise.all(runs);
  await limiter.disconnect();
  return {
    name: 'in-process: raw bottleneck',
    jobs: options.jobs,
    seconds: (last - first) / 1000,
    latencies,
  };
}

// ---------------------------------------------------------------------------------------------
// Redis

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'pool-bench-child.js');

interface Child {
  process: ChildProcess;
  count: number;
  result: Promise<{ latencies: number[]; last: number }>;
}

async function startChild(
  mode: 'ours' | 'raw',
  url: string,
  name: string,
  concurrency: number,
): Promise<Child> {
  const child = spawn(process.execPath, [CHILD, mode, url, name, String(concurrency)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const handle: Child = {
    process: child,
    count: 0,
    result: Promise.resolve({ latencies: [], last: 0 }),
  };
  let buffer = '';
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  handle.result = new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line === 'ready') ready();
        else if (line.startsWith('count ')) handle.count = Number(line.slice(6));
        else if (line.startsWith('{'))
          resolve(JSON.parse(line) as { latencies: number[]; last: number });
      }
    });
    child.once('exit', (code) => reject(new Error(`bench runner exited with ${code}`)));
  });
  handle.result.catch(() => undefined);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await Promise.race([readyPromise, handle.result.then(() => undefined)]);
  clearTimeout(timer);
  return handle;
}

/** Waits (bounded) until the children together report `total` jobs started. */
async function waitForCount(children: Child[], total: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (children.reduce((sum, c) => sum + c.count, 0) < total) {
    if (Date.now() > deadline) {
      throw new Error(
        `only ${children.reduce((s, c) => s + c.count, 0)} of ${total} jobs ran within ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function collect(children: Child[]): Promise<{ latencies: number[]; last: number }> {
  for (const child of children) child.process.kill('SIGTERM');
  const results = await Promise.all(children.map((c) => c.result));
  return {
    latencies: results.flatMap((r) => r.latencies),
    last: Math.max(...results.map((r) => r.last)),
  };
}

async function runRedis(
  mode: 'ours' | 'raw',
  runners: number,
  redis: RedisServer,
  options: PoolBenchOptions,
  runIndex: number,
): Promise<RunResult> {
  const name = `bench${runIndex}`;
  const children: Child[] = [];
  for (let i = 0; i < runners; i++) {
    children.push(await startChild(mode, redis.url, name, options.concurrency));
  }
  let first = 0;
  if (mode === 'ours') {
    const queue = createRedisQueue({
      url: redis.url,
      prefix: name,
      settings: benchSettings(options.concurrency),
    });
    first = nowMs();
    await submitAll(options.jobs, options.inFlight, (i) => queue.submit(benchJob(i)));
    await waitForCount(children, options.jobs, 300_000);
    await queue.close();
  } else {
    const { hostname, port } = new URL(redis.url);
    const queue = new BullQueue(name, { connection: { host: hostname, port: Number(port) } });
    first = nowMs();
    await submitAll(options.jobs, options.inFlight, (i) =>
      queue.add('noop', { t: nowMs() }, { jobId: `job-${i}`, priority: 3, removeOnComplete: 1000 }),
    );
    await waitForCount(children, options.jobs, 300_000);
    await queue.close();
  }
  const { latencies, last } = await collect(children);
  const label = mode === 'ours' ? 'ours' : 'raw BullMQ';
  return {
    name: `redis, ${runners} runner${runners === 1 ? '' : 's'}: ${label}`,
    jobs: latencies.length,
    seconds: (last - first) / 1000,
    latencies,
  };
}

// ---------------------------------------------------------------------------------------------

export async function runPoolBench(options: PoolBenchOptions): Promise<Outcome<undefined>> {
  const results: RunResult[] = [];
  // Raw first, then ours, for each pair, so neither always runs on a warmer process.
  results.push(await runInProcessRaw(options));
  results.push(await runInProcessOurs(options));
  const redis = await startRedis({ appendOnly: false });
  try {
    let index = 0;
    for (const runners of [1, 2]) {
      results.push(await runRedis('raw', runners, redis, options, index++));
      results.push(await runRedis('ours', runners, redis, options, index++));
    }
  } finally {
    await redis.stop();
  }

  const figures = results.map((r) => {
    const sorted = [...r.latencies].sort((a, b) => a - b);
    return {
      ...r,
      perSecond: r.jobs / r.seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
    };
  });
  const byName = new Map(figures.map((f) => [f.name, f]));
  const ratio = (ours: string, raw: string): number =>
    byName.get(raw)!.perSecond / byName.get(ours)!.perSecond;
  const table = formatTable(
    ['pool', 'jobs', 'seconds', 'jobs/s', 'p50 enqueue→start ms', 'p99 enqueue→start ms'],
    figures.map((f) => [
      f.name,
      String(f.jobs),
      f.seconds.toFixed(2),
      f.perSecond.toFixed(0),
      f.p50.toFixed(1),
      f.p99.toFixed(1),
    ]),
  );
  const inProcessOverhead = ratio('in-process: ours', 'in-process: raw bottleneck');
  const redis1Overhead = ratio('redis, 1 runner: ours', 'redis, 1 runner: raw BullMQ');
  const redis2Overhead = ratio('redis, 2 runners: ours', 'redis, 2 runners: raw BullMQ');
  publish(
    {
      name: 'bench:pool',
      command: `npm run bench:pool -- --jobs ${options.jobs} --concurrency ${options.concurrency}`,
      table,
      notes: [
        `${options.jobs} no-op jobs per row, submitted with at most ${options.inFlight} submits in flight; concurrency ${options.concurrency} per pool / runner, the same for the raw reference.`,
        'Ours in-process: createInProcessQueue (lock key, label and global bottlenecks, priorities, retries, CPU gate off). Raw: one Bottleneck({maxConcurrent}).',
        'Ours on Redis: createRedisQueue + startRunner processes (dedupe check, priorities, runner gate, registry). Raw: Queue.add with a priority + plain Worker processes. redis-server on loopback, no persistence.',
        'jobs/s = jobs / (first submit → last job start); latency = job start − its enqueue time. Overhead = raw jobs/s ÷ ours.',
      ],
      headline: {
        in_process_jobs_per_s: Math.round(byName.get('in-process: ours')!.perSecond),
        in_process_overhead: inProcessOverhead.toFixed(2),
        redis_1_runner_jobs_per_s: Math.round(byName.get('redis, 1 runner: ours')!.perSecond),
        redis_1_runner_overhead: redis1Overhead.toFixed(2),
        redis_2_runners_jobs_per_s: Math.round(byName.get('redis, 2 runners: ours')!.perSecond),
        redis_2_runners_overhead: redis2Overhead.toFixed(2),
        redis_2_runners_p99_ms: Math.round(byName.get('redis, 2 runners: ours')!.p99),
      },
    },
    options.record,
  );
  return done(undefined);
}
