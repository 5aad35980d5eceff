/**
 * Remote drains and runner tokens against a real redis-server: two runners in this process stand
 * for two runner machines; the producer asks one of them to drain, as the autoscaler does before
 * it destroys a runner. Each test uses its own key prefix.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import {
  DEFAULT_POOL_SETTINGS,
  type JobHandler,
  type PoolEvent,
  type PoolJob,
  type PoolSettings,
} from '../../../src/pool/queue.js';
import {
  createRedisQueue,
  listRunners,
  requestRunnerDrain,
  startRunner,
  type RedisQueue,
  type Runner,
  type RunnerInfo,
  type RunnerOptions,
} from '../../../src/pool/redis.js';
import { runnerTokenHash } from '../../../src/proxmox/cloud-init.js';
import { delay, waitFor } from '../../support/timing.js';

const SETTINGS: PoolSettings = { ...DEFAULT_POOL_SETTINGS, cpuThreshold: undefined };
const TOKEN = 'Zm9vYmFyLXJ1bm5lci10b2tlbi0xMjM0NTY3ODkwYWI';

function job(id: string): PoolJob {
  return { id, kind: 'bench', label: 'llm', priority: 'NORMAL' };
}

/** Resolves `promise` to true when it settles within `ms`, else false (it is left running). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}

describe('pool/redis remote drain', () => {
  let server: RedisServer;
  let prefix: string;
  let events: PoolEvent[];
  let producer: RedisQueue;
  let runners: Runner[];

  function runner(options: Partial<RunnerOptions> & { handlers: RunnerOptions['handlers'] }) {
    return startRunner({
      url: server.url,
      prefix,
      settings: SETTINGS,
      labels: ['llm'],
      concurrency: 2,
      heartbeatMs: 200,
      lockMs: 3_000,
      lockRetryMs: 50,
      onEvent: (event) => events.push(event),
      ...options,
    }).then((started) => {
      runners.push(started);
      return started;
    });
  }

  beforeAll(async () => {
    server = await startRedis({ appendOnly: false });
  });

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(() => {
    prefix = `d${randomUUID().slice(0, 8)}`;
    events = [];
    runners = [];
    producer = createRedisQueue({ url: server.url, prefix, settings: SETTINGS });
  });

  afterEach(async () => {
    await Promise.all(runners.map((r) => r.stop(1_000)));
    await producer.close();
  });

  it('drains a busy runner: its job finishes on it, new jobs go to the other, then it leaves', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ranOn = new Map<string, string>();
    const handler: JobHandler = async (pooled, context) => {
      if (pooled.id === 'long') await released;
      else await delay(30);
      ranOn.set(pooled.id, context.runner);
    };
    const handlers = new Map([['bench', handler]]);
    const draining = await runner({ handlers, runnerId: 'runner-a', token: TOKEN });
    await producer.submit(job('long'));
    await waitFor(() => events.some((e) => e.type === 'started' && e.id === 'long'), 'long on a');
    const other = await runner({ handlers, runnerId: 'runner-b' });
    const registryWhileBusy: RunnerInfo[][] = [];

    await producer.drainRunner('runner-a');
    await waitFor(async () => {
      const seen = await producer.runners();
      registryWhileBusy.push(seen);
      return seen.find((r) => r.id === 'runner-a')?.draining === true;
    }, 'runner-a listed as draining');
    for (let i = 0; i < 6; i++) await producer.submit(job(`next-${i}`));
    await waitFor(() => ranOn.size === 6, 'the next jobs');
    const drainedEarly = await settlesWithin(draining.drained, 0);
    release();
    await draining.drained;
    const after = await listRunners(server.url, prefix);

    expect(drainedEarly).toBe(false);
    expect(ranOn.get('long')).toBe('runner-a');
    expect(
      [...ranOn.entries()].filter(([id]) => id.startsWith('next-')).map(([, on]) => on),
    ).toEqual(Array(6).fill('runner-b'));
    expect(events.filter((e) => e.type === 'completed' && e.id === 'long')).toHaveLength(1);
    expect(events.some((e) => e.type === 'cancelled' || e.type === 'failed')).toBe(false);
    expect(registryWhileBusy.at(-1)?.find((r) => r.id === 'runner-a')).toMatchObject({
      draining: true,
      running: 1,
    });
    expect(after.map((r) => [r.id, r.draining])).toEqual([['runner-b', false]]);
    expect(await settlesWithin(other.drained, 300)).toBe(false);
  });

  it('notices a drain whose message it missed at its next heartbeat', async () => {
    const started = await runner({ handlers: new Map(), runnerId: 'runner-quiet' });
    const redis = new Redis(server.url);

    // The flag alone, as if the runner's subscriber was reconnecting when it was published.
    await redis.set(`${prefix}:drain:runner-quiet`, '1', 'PX', 60_000);
    const drainedInTime = await settlesWithin(started.drained, 5_000);
    const after = await listRunners(server.url, prefix);
    redis.disconnect();

    expect(drainedInTime).toBe(true);
    expect(after).toEqual([]);
  });

  it('drains at once a runner started under an id whose drain is still flagged', async () => {
    const redis = new Redis(server.url);
    await requestRunnerDrain(redis, prefix, 'runner-restarted');
    const runs: string[] = [];
    await producer.submit(job('waiting'));

    const started = await runner({
      handlers: new Map([['bench', async (pooled: PoolJob) => void runs.push(pooled.id)]]),
      runnerId: 'runner-restarted',
    });
    const drainedInTime = await settlesWithin(started.drained, 5_000);
    const ttlMs = await redis.pttl(`${prefix}:drain:runner-restarted`);
    redis.disconnect();

    expect(drainedInTime).toBe(true);
    expect(runs).toEqual([]);
    // Still queued for another runner (waiting, or delayed when a Worker fetched it before it paused).
    const { waiting, delayed } = (await producer.stats()).byLabel.llm!;
    expect(waiting + delayed).toBe(1);
    expect(events.some((e) => e.type === 'started')).toBe(false);
    expect(ttlMs).toBeGreaterThan(23 * 3_600_000);
  });

  it('publishes the hash of its token, never the token, and draining false', async () => {
    await runner({ handlers: new Map(), runnerId: 'with-token', token: TOKEN });
    await runner({ handlers: new Map(), runnerId: 'without-token' });
    const redis = new Redis(server.url);

    const listed = await producer.runners();
    const raw = JSON.stringify(await redis.hgetall(`${prefix}:runners`));
    redis.disconnect();

    expect(listed).toEqual([
      expect.objectContaining({
        id: 'with-token',
        draining: false,
        tokenHash: runnerTokenHash(TOKEN),
      }),
      expect.objectContaining({ id: 'without-token', draining: false }),
    ]);
    expect(listed[0]?.tokenHash).toMatch(/^[0-9a-f]{16}$/);
    expect('tokenHash' in listed[1]!).toBe(false);
    expect(raw).not.toContain(TOKEN);
  });

  it('leaves a stopped runner drained promise pending, and refuses an empty token or id', async () => {
    const started = await runner({ handlers: new Map(), runnerId: 'stopped' });

    await started.stop(100);

    expect(await settlesWithin(started.drained, 300)).toBe(false);
    await expect(runner({ handlers: new Map(), token: '' })).rejects.toThrow(
      'runner token must not be empty',
    );
    await expect(runner({ handlers: new Map(), runnerId: '' })).rejects.toThrow(
      'runner id must not be empty',
    );
    await expect(producer.drainRunner('')).rejects.toThrow('needs a runner id');
  });
});
