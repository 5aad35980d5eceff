/**
 * Faults on the BullMQ engine, with runners in their own processes (dist/bench/pool-child.js,
 * built by `pretest`): a runner killed with SIGKILL mid-job, and Redis itself killed and restarted
 * mid-run. Every job must complete exactly once; the 'record' handler RPUSHes `<job>:<runner>` to
 * `<prefix>:done` when a job completes, which is what we count.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import { DEFAULT_POOL_SETTINGS, type PoolJob, type Queue } from '../../../src/pool/queue.js';
import { createRedisQueue, labelQueueName, listRunners } from '../../../src/pool/redis.js';
import { delay, waitFor } from '../../support/timing.js';

const CHILD = fileURLToPath(new URL('../../../dist/bench/pool-child.js', import.meta.url));
const SETTINGS = { ...DEFAULT_POOL_SETTINGS, cpuThreshold: undefined };

function job(id: string): PoolJob {
  return { id, kind: 'bench', label: 'llm', priority: 'NORMAL' };
}

interface ChildRunner {
  id: string;
  process: ChildProcess;
  stderr: string[];
}

const children: ChildProcess[] = [];

/** Starts pool-child with `args`; resolves with its runner id once it printed `ready <id>`. */
async function spawnRunner(url: string, prefix: string, args: string[]): Promise<ChildRunner> {
  const child = spawn(process.execPath, [CHILD, '--url', url, '--prefix', prefix, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const lines = createInterface({ input: child.stdout! });
  const id = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pool-child not ready: ${stderr.join('')}`)),
      10_000,
    );
    child.once('exit', (code) =>
      reject(new Error(`pool-child exited ${code}: ${stderr.join('')}`)),
    );
    lines.on('line', (line) => {
      const match = /^ready (?<id>\S+)$/.exec(line);
      if (match?.groups?.id !== undefined) {
        clearTimeout(timer);
        resolve(match.groups.id);
      }
    });
  });
  return { id, process: child, stderr };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  child.kill(signal);
  return exited;
}

describe('pool/redis faults', () => {
  let server: RedisServer;
  let client: Redis;
  let producer: Queue | undefined;

  beforeAll(async () => {
    server = await startRedis({ appendOnly: true });
    client = new Redis(server.url, { maxRetriesPerRequest: null });
    client.on('error', () => {
      // Reconnects after the restart test; commands wait in the offline queue meanwhile.
    });
  });

  afterEach(async () => {
    await producer?.close();
    producer = undefined;
    await Promise.all(children.splice(0).map((child) => kill(child, 'SIGKILL')));
  });

  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('a runner killed (-9) mid-job: the job completes on the other runner, exactly once', async () => {
    const prefix = `k${randomUUID().slice(0, 8)}`;
    producer = createRedisQueue({ url: server.url, prefix, settings: SETTINGS });
    const args = ['--labels', 'llm', '--concurrency', '1', '--handler', 'sleep:3000'];
    const fast = ['--lock-ms', '1000', '--heartbeat-ms', '200'];
    const runners = await Promise.all([
      spawnRunner(server.url, prefix, [...args, ...fast]),
      spawnRunner(server.url, prefix, [...args, ...fast]),
    ]);
    const bull = new BullQueue(labelQueueName(prefix, 'llm'), { connection: client, prefix });
    await producer.submit(job('victim'));
    // BullMQ records the Worker name, which is the runner id, on the job it hands out.
    const holder = await waitFor(
      async () => (await bull.getJob('victim'))?.processedBy,
      'the job to start',
      5_000,
    );
    const victim = runners.find((r) => r.id === holder)!;
    const survivor = runners.find((r) => r.id !== holder)!;

    await kill(victim.process, 'SIGKILL');
    const doneBeforeTakeover = await client.llen(`${prefix}:done`);
    await waitFor(
      async () => (await client.llen(`${prefix}:done`)) > 0,
      'the job to complete',
      15_000,
    );
    // Long enough for a second, duplicate completion to show up: one more lock period.
    await delay(1_500);

    expect(doneBeforeTakeover).toBe(0);
    expect(await client.lrange(`${prefix}:done`, 0, -1)).toEqual([`victim:${survivor.id}`]);
    const live = await waitFor(
      async () => {
        const listed = await listRunners(server.url, prefix);
        return listed.length === 1 ? listed : undefined;
      },
      'the dead runner to drop out of the registry',
      3_000,
    );
    expect(live.map((r) => r.id)).toEqual([survivor.id]);
    expect(await kill(survivor.process, 'SIGTERM')).toBe(0);
    await bull.close();
  }, 30_000);

  it('Redis restarted mid-run (append-only file kept): every job completes exactly once', async () => {
    const prefix = `r${randomUUID().slice(0, 8)}`;
    // Acknowledged writes must survive a SIGKILL of redis-server; production queues should run so.
    await client.config('SET', 'appendfsync', 'always');
    const errors: unknown[] = [];
    producer = createRedisQueue({
      url: server.url,
      prefix,
      settings: SETTINGS,
      onError: (error) => errors.push(error),
    });
    const runner = await spawnRunner(server.url, prefix, [
      '--labels',
      'llm',
      '--concurrency',
      '2',
      '--handler',
      'sleep:300',
      '--heartbeat-ms',
      '200',
    ]);
    const ids = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    for (const id of ids.slice(0, 12)) expect((await producer.submit(job(id))).accepted).toBe(true);
    await waitFor(
      async () => (await client.llen(`${prefix}:done`)) >= 3,
      'a few completions',
      10_000,
    );
    const doneBeforeRestart = await client.llen(`${prefix}:done`);

    await server.restart({ keepData: true, downMs: 300 });
    for (const id of ids.slice(12)) expect((await producer.submit(job(id))).accepted).toBe(true);
    await waitFor(
      async () => (await client.llen(`${prefix}:done`)) >= ids.length,
      'every job to complete',
      20_000,
    );
    await delay(500);

    const done = await client.lrange(`${prefix}:done`, 0, -1);
    expect(doneBeforeRestart).toBeLessThan(12);
    expect(done.map((entry) => entry.split(':')[0]).sort()).toEqual([...ids].sort());
    expect(done.every((entry) => entry.endsWith(`:${runner.id}`))).toBe(true);
    // Both sides lived through it: the runner still runs jobs, the producer still submits.
    expect(runner.process.exitCode).toBeNull();
    await producer.submit(job('after'));
    await waitFor(
      async () => (await client.llen(`${prefix}:done`)) > ids.length,
      'one more job',
      10_000,
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(await kill(runner.process, 'SIGTERM')).toBe(0);
  }, 30_000);
});
