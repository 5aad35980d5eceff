/**
 * Lock keys on a real redis-server: the lock primitives, then jobs of one key spread over two
 * runners running one at a time while other keys go on.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import { DEFAULT_POOL_SETTINGS, type JobHandler, type PoolEvent } from '../../../src/pool/queue.js';
import { createRedisQueue, startRunner, type Runner } from '../../../src/pool/redis.js';
import { createRedisLocks, type RedisLockResult } from '../../../src/pool/redis-locks.js';
import { delay, waitFor } from '../../support/timing.js';

function acquired(result: RedisLockResult): Extract<RedisLockResult, { acquired: true }> {
  if (!result.acquired) throw new Error(`expected the lock, but ${result.heldBy} holds it`);
  return result;
}

describe('pool/redis-locks', () => {
  let server: RedisServer;
  let redis: Redis;
  let prefix: string;

  beforeAll(async () => {
    server = await startRedis({ appendOnly: false });
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  beforeEach(() => {
    prefix = `l${randomUUID().slice(0, 8)}`;
  });

  it('gives a free lock to one holder, names it to others, and lets the holder take it again', async () => {
    const locks = createRedisLocks(redis, { prefix, ttlMs: 5_000 });

    const first = acquired(await locks.tryLock('acme/shop@main', 'job-a'));
    const other = await locks.tryLock('acme/shop@main', 'job-b');
    const again = await locks.tryLock('acme/shop@main', 'job-a');
    const elsewhere = await locks.tryLock('acme/shop@dev', 'job-b');

    expect(other).toEqual({
      acquired: false,
      heldBy: 'job-a',
      userMessage:
        'Another sizing for `acme/shop@main` is already running as job `job-a`. This request is queued and will start as soon as that job finishes.',
    });
    expect(again.acquired).toBe(true);
    expect(elsewhere.acquired).toBe(true);
    expect(await locks.holderOf('acme/shop@main')).toBe('job-a');
    await first.release();
    expect(await locks.holderOf('acme/shop@main')).toBeUndefined();
    if (again.acquired) await again.release();
    if (elsewhere.acquired) await elsewhere.release();
  });

  it('lets a lock nobody refreshes expire, then gives it to the next job', async () => {
    const locks = createRedisLocks(redis, { prefix, ttlMs: 5_000 });
    // What a runner killed mid-job leaves behind: its lock, no longer refreshed.
    await redis.set(`${prefix}:lock:k`, 'job-a', 'PX', 60);

    const whileHeld = await locks.tryLock('k', 'job-b');
    await delay(100);
    const afterExpiry = acquired(await locks.tryLock('k', 'job-b'));

    expect(whileHeld).toMatchObject({ acquired: false, heldBy: 'job-a' });
    expect(await locks.holderOf('k')).toBe('job-b');
    await afterExpiry.release();
  });

  it('refreshes a held lock; a holder whose lock was taken over can neither keep nor free it', async () => {
    const locks = createRedisLocks(redis, { prefix, ttlMs: 90 });
    const hold = acquired(await locks.tryLock('k', 'job-a'));

    await delay(300);
    const afterThreeTtls = await locks.holderOf('k');
    await redis.set(`${prefix}:lock:k`, 'job-z');
    await delay(100);
    await hold.release();

    expect(afterThreeTtls).toBe('job-a');
    expect(hold.lost()).toBe(true);
    expect(await locks.holderOf('k')).toBe('job-z');
    // No expiry was put on the new holder's lock by the old holder's refresh timer.
    expect(await redis.pttl(`${prefix}:lock:k`)).toBe(-1);
  });

  it('runs jobs of one lock key one at a time across two runners; other keys are not held up', async () => {
    const settings = { ...DEFAULT_POOL_SETTINGS, cpuThreshold: undefined };
    const events: PoolEvent[] = [];
    const producer = createRedisQueue({ url: server.url, prefix, settings });
    const spans = new Map<string, [number, number]>();
    const holders: Array<string | undefined> = [];
    const handler: JobHandler = async (job) => {
      const start = Date.now();
      if (job.id === 'main-0') holders.push(await producer.holderOf('acme/shop@main'));
      await delay(120);
      spans.set(job.id, [start, Date.now()]);
    };
    const runners: Runner[] = [];
    for (const runnerId of ['r1', 'r2']) {
      runners.push(
        await startRunner({
          url: server.url,
          prefix,
          settings,
          labels: ['llm'],
          concurrency: 2,
          handlers: new Map([['bench', handler]]),
          runnerId,
          heartbeatMs: 200,
          lockRetryMs: 40,
          onEvent: (event) => events.push(event),
        }),
      );
    }
    try {
      const submitted = [];
      for (let i = 0; i < 4; i++) {
        submitted.push(
          await producer.submit({
            id: `main-${i}`,
            kind: 'bench',
            label: 'llm',
            priority: 'NORMAL',
            lockKey: 'acme/shop@main',
          }),
        );
        if (i === 0) await waitFor(() => spans.size > 0 || holders.length > 0, 'main-0 to start');
      }
      await producer.submit({
        id: 'dev-0',
        kind: 'bench',
        label: 'llm',
        priority: 'NORMAL',
        lockKey: 'acme/shop@dev',
      });
      await waitFor(() => spans.size === 5, 'five jobs', 15_000);

      const main = [0, 1, 2, 3].map((i) => spans.get(`main-${i}`)!).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < main.length; i++)
        expect(main[i]![0]).toBeGreaterThanOrEqual(main[i - 1]![1]);
      // dev-0 ran while the main key was held by one of its jobs.
      const dev = spans.get('dev-0')!;
      expect(main.some(([start, end]) => dev[0] < end && start < dev[1])).toBe(true);
      expect(holders).toEqual(['main-0']);
      expect(submitted[1]).toEqual({ id: 'main-1', accepted: true, waitingBehind: 'main-0' });
      // Waiting for the lock never cost an attempt.
      const startedOn = new Set(events.filter((e) => e.type === 'started').map((e) => e.id));
      expect(startedOn.size).toBe(5);
      expect(
        events.filter((e) => e.type === 'started').every((e) => 'attempt' in e && e.attempt === 1),
      ).toBe(true);
      expect(await producer.holderOf('acme/shop@main')).toBeUndefined();
    } finally {
      await Promise.all(runners.map((r) => r.stop(1_000)));
      await producer.close();
    }
  });
});
