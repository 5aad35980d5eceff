/**
 * One runner process of `bench:pool`: ours (`startRunner`) or raw BullMQ (a plain Worker), running
 * no-op jobs and timing each from its enqueue time (in the job's data) to its start. It prints
 * `ready` once it takes jobs, `count <n>` every 100 ms, and on SIGTERM one JSON line
 * `{"latencies":[…],"last":<ms>}` (the start times are wall-clock ms with sub-ms precision).
 *
 *   node dist/bench/pool-bench-child.js <ours|raw> <redisUrl> <queueName|prefix> <concurrency>
 */
import { Worker } from 'bullmq';
import { startRunner } from '../pool/redis.js';
import { BENCH_LABEL, benchSettings, nowMs } from './pool.js';

async function main(): Promise<void> {
  const [mode, url, name, concurrencyText] = process.argv.slice(2);
  const concurrency = Number(concurrencyText);
  if ((mode !== 'ours' && mode !== 'raw') || url === undefined || name === undefined) {
    throw new Error('usage: pool-bench-child <ours|raw> <redisUrl> <name> <concurrency>');
  }
  const latencies: number[] = [];
  let last = 0;
  const record = (data: unknown): void => {
    const started = nowMs();
    const t = (data as { t?: unknown } | undefined)?.t;
    if (typeof t === 'number') latencies.push(started - t);
    last = started;
  };

  let stop: () => Promise<void>;
  if (mode === 'ours') {
    const runner = await startRunner({
      url,
      prefix: name,
      settings: benchSettings(concurrency),
      labels: [BENCH_LABEL],
      concurrency,
      handlers: new Map([['noop', async (job) => record(job.data)]]),
    });
    stop = () => runner.stop(5_000);
  } else {
    const { hostname, port } = new URL(url);
    const worker = new Worker(name, async (job) => record(job.data), {
      connection: { host: hostname, port: Number(port) },
      concurrency,
    });
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
    stop = () => worker.close();
  }
  process.stdout.write('ready\n');
  const ticker = setInterval(() => process.stdout.write(`count ${latencies.length}\n`), 100);
  process.once('SIGTERM', () => {
    clearInterval(ticker);
    void stop().then(() => {
      process.stdout.write(`${JSON.stringify({ latencies, last })}\n`, () => process.exit(0));
    });
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
