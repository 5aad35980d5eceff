/**
 * The BullMQ engine against a real redis-server: producer and runners in this process (two runners
 * stand for two worker hosts). Each test uses its own key prefix, so tests never see each other's
 * queues. Timing tolerances are generous (a busy 2-core machine); orders are asserted exactly.
 */
import { randomUUID } from 'node:crypto';
import { Queue as BullQueue } from 'bullmq';
import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import { backoffDelayMs } from '../../../src/pool/settings.js';
import {
  DEFAULT_POOL_SETTINGS,
  type JobContext,
  type JobHandler,
  type PoolEvent,
  type PoolJob,
  type PoolSettings,
} from '../../../src/pool/queue.js';
import {
  createRedisQueue,
  labelQueueName,
  listRunners,
  type RedisQueue,
  startRunner,
  type Runner,
  type RunnerOptions,
} from '../../../src/pool/redis.js';
import { delay, waitFor } from '../../support/timing.js';

const SETTINGS: PoolSettings = {
  ...DEFAULT_POOL_SETTINGS,
  // The load average of a busy test machine must not hold jobs back.
  cpuThreshold: undefined,
  maxAttempts: 3,
  backoff: { baseMs: 40, maxMs: 200 },
};

function job(id: string, overrides: Partial<PoolJob> = {}): PoolJob {
  return { id, kind: 'bench', label: 'llm', priority: 'NORMAL', ...overrides };
}

interface Run {
  id: string;
  runner: string;
  attempt: number;
  lastAttempt: boolean;
  start: number;
  end: number;
}

describe('pool/redis', () => {
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

  /** A handler that records each run and takes `ms`. */
  function recording(runs: Run[], ms = 0): Map<string, JobHandler> {
    const handler: JobHandler = async (pooled, context: JobContext) => {
      const start = Date.now();
      if (ms > 0) await delay(ms);
      runs.push({
        id: pooled.id,
        runner: context.runner,
        attempt: context.attempt,
        lastAttempt: context.lastAttempt,
        start,
        end: Date.now(),
      });
    };
    return new Map([['bench', handler]]);
  }

  beforeAll(async () => {
    server = await startRedis({ appendOnly: false });
  });

  afterAll(async () => {
    await server?.stop();
  });

  beforeEach(() => {
    prefix = `t${randomUUID().slice(0, 8)}`;
    events = [];
    runners = [];
    producer = createRedisQueue({
      url: server.url,
      prefix,
      settings: SETTINGS,
      onEvent: (event) => events.push(event),
    });
  });

  afterEach(async () => {
    await Promise.all(runners.map((r) => r.stop(1_000)));
    await producer.close();
  });

  it('runs a submitted job on a runner, with its context and events', async () => {
    const runs: Run[] = [];
    const started = await runner({ handlers: recording(runs), runnerId: 'runner-a' });

    const result = await producer.submit(job('job-1'));
    await waitFor(() => runs.length === 1, 'the run');

    expect(started.id).toBe('runner-a');
    expect(result).toEqual({ id: 'job-1', accepted: true });
    expect(runs[0]).toMatchObject({
      id: 'job-1',
      runner: 'runner-a',
      attempt: 1,
      lastAttempt: false,
    });
    await waitFor(() => events.some((e) => e.type === 'completed'), 'the completed event');
    // The producer tells 'submitted' once its add is confirmed, and a runner elsewhere may have
    // started the job by then: only the runner's own events have an order.
    await waitFor(() => events.some((e) => e.type === 'submitted'), 'the submitted event');
    expect(events.map((e) => e.type).sort()).toEqual(['completed', 'started', 'submitted']);
    const runnerEvents = events.filter((e) => e.type !== 'submitted');
    expect(runnerEvents.map((e) => e.type)).toEqual(['started', 'completed']);
    expect(runnerEvents[0]).toMatchObject({ id: 'job-1', label: 'llm', kind: 'bench', attempt: 1 });
  });

  it('queues an id once while it waits or runs, and again once it finished', async () => {
    const first = await producer.submit(job('job-d', { label: 'exec' }));
    const second = await producer.submit(job('job-d', { label: 'exec' }));
    const [raceA, raceB] = await Promise.all([
      producer.submit(job('job-r', { label: 'exec' })),
      producer.submit(job('job-r', { label: 'exec' })),
    ]);
    const runs: Run[] = [];
    await runner({ handlers: recording(runs), labels: ['exec'] });
    await waitFor(() => runs.length === 2, 'two runs');
    await waitFor(
      () => events.filter((e) => e.type === 'completed').length === 2,
      'both completed',
    );

    const again = await producer.submit(job('job-d', { label: 'exec' }));
    await waitFor(() => runs.length === 3, 'the re-run');

    expect([first.accepted, second.accepted]).toEqual([true, false]);
    expect([raceA.accepted, raceB.accepted].sort()).toEqual([false, true]);
    expect(again.accepted).toBe(true);
    expect(runs.map((r) => r.id).sort()).toEqual(['job-d', 'job-d', 'job-r']);
    expect(events.filter((e) => e.type === 'submitted')).toHaveLength(3);
  });

  it('starts the most urgent job first, FIFO within a priority', async () => {
    const order: Array<[string, PoolJob['priority']]> = [
      ['low', 'LOW'],
      ['normal-1', 'NORMAL'],
      ['high', 'HIGH'],
      ['critical', 'CRITICAL'],
      ['normal-2', 'NORMAL'],
    ];
    for (const [id, priority] of order) await producer.submit(job(id, { priority }));
    const runs: Run[] = [];

    await runner({ handlers: recording(runs), concurrency: 1 });
    await waitFor(() => runs.length === 5, 'five runs');

    expect(runs.map((r) => r.id)).toEqual(['critical', 'high', 'normal-1', 'normal-2', 'low']);
  });

  it('routes jobs by label: a runner only gets the labels it serves', async () => {
    const runs: Run[] = [];
    await runner({ handlers: recording(runs, 20), labels: ['exec'], runnerId: 'exec-runner' });
    await runner({ handlers: recording(runs, 20), labels: ['llm'], runnerId: 'llm-runner' });

    for (let i = 0; i < 4; i++) {
      await producer.submit(job(`llm-${i}`));
      await producer.submit(job(`exec-${i}`, { label: 'exec' }));
    }
    await waitFor(() => runs.length === 8, 'eight runs');

    for (const run of runs) {
      expect(run.runner).toBe(run.id.startsWith('exec') ? 'exec-runner' : 'llm-runner');
    }
  });

  it('retries a failing job after a full-jitter backoff, then reports it failed', async () => {
    const attempts: Array<[string, number, boolean]> = [];
    const handler: JobHandler = async (pooled, context) => {
      attempts.push([pooled.id, context.attempt, context.lastAttempt]);
      if (pooled.id === 'flaky' && context.attempt < 3) throw new Error(`flaky ${context.attempt}`);
      if (pooled.id === 'broken') throw new Error('always broken');
    };
    await runner({ handlers: new Map([['bench', handler]]), random: () => 0.5 });

    await producer.submit(job('flaky'));
    await producer.submit(job('broken'));
    await waitFor(
      () => events.some((e) => e.type === 'completed') && events.some((e) => e.type === 'failed'),
      'completed and failed',
    );

    expect(attempts.filter(([id]) => id === 'flaky')).toEqual([
      ['flaky', 1, false],
      ['flaky', 2, false],
      ['flaky', 3, true],
    ]);
    expect(attempts.filter(([id]) => id === 'broken')).toHaveLength(3);
    // random 0.5 → half of min(maxMs, baseMs·2^(n-1)): 20 ms, then 40 ms.
    const retrying = events.filter((e) => e.type === 'retrying' && e.id === 'flaky');
    expect(retrying).toEqual([
      expect.objectContaining({ attempt: 1, delayMs: 20, error: 'flaky 1' }),
      expect.objectContaining({ attempt: 2, delayMs: 40, error: 'flaky 2' }),
    ]);
    expect(events.filter((e) => e.type === 'failed')).toEqual([
      expect.objectContaining({ id: 'broken', attempts: 3, error: 'always broken' }),
    ]);
  });

  it('computes full-jitter delays within [0, min(max, base·2^(n-1))] (the shared backoff)', () => {
    const backoff = { baseMs: 100, maxMs: 1_000 };

    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, backoff, () => 0.999_999))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
    expect(backoffDelayMs(3, backoff, () => 0)).toBe(0);
  });

  it('cancels a waiting job (it never runs) and aborts a running one (not retried)', async () => {
    const waiting = await producer.submit(job('waiting', { label: 'exec' }));
    const cancelledWaiting = await producer.cancel('waiting');
    const unknown = await producer.cancel('no-such-job');
    const seen: string[] = [];
    const handler: JobHandler = async (pooled, context) => {
      seen.push(`${pooled.id}#${context.attempt}`);
      await new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => reject(new Error('aborted')), {
          once: true,
        });
      });
    };
    await runner({ handlers: new Map([['bench', handler]]), labels: ['llm', 'exec'] });
    await producer.submit(job('running'));
    await waitFor(() => seen.includes('running#1'), 'the running job');

    const cancelledRunning = await producer.cancel('running');
    await waitFor(
      () => events.filter((e) => e.type === 'cancelled').length === 2,
      'two cancelled events',
    );
    await delay(300);

    expect(waiting.accepted).toBe(true);
    expect([cancelledWaiting, unknown, cancelledRunning]).toEqual([true, false, true]);
    expect(seen).toEqual(['running#1']);
    expect(events.filter((e) => e.type === 'cancelled').map((e) => e.id)).toEqual([
      'waiting',
      'running',
    ]);
    expect(events.some((e) => e.type === 'retrying' || e.type === 'failed')).toBe(false);
    expect(await producer.cancel('running')).toBe(false);
  });

  it('never runs more than the runner concurrency across its labels', async () => {
    let current = 0;
    let peak = 0;
    let done = 0;
    const handler: JobHandler = async () => {
      current++;
      peak = Math.max(peak, current);
      await delay(80);
      current--;
      done++;
    };
    for (let i = 0; i < 4; i++) {
      await producer.submit(job(`llm-${i}`));
      await producer.submit(job(`exec-${i}`, { label: 'exec' }));
    }

    await runner({
      handlers: new Map([['bench', handler]]),
      labels: ['llm', 'exec'],
      concurrency: 2,
    });
    await waitFor(() => done === 8, 'eight jobs', 15_000);

    expect(peak).toBe(2);
    // Jobs handed back by a full runner are not attempts.
    expect(
      events.filter((e) => e.type === 'started').every((e) => 'attempt' in e && e.attempt === 1),
    ).toBe(true);
  });

  it('spaces the starts of a rate-limited label', async () => {
    const settings: PoolSettings = {
      ...SETTINGS,
      labels: { ...SETTINGS.labels, exec: { concurrency: 4, ratePerSecond: 10 } },
    };
    const runs: Run[] = [];
    for (let i = 0; i < 4; i++) await producer.submit(job(`exec-${i}`, { label: 'exec' }));

    await runner({ handlers: recording(runs), labels: ['exec'], concurrency: 4, settings });
    await waitFor(() => runs.length === 4, 'four runs');

    // BullMQ stamps processedOn when its limiter lets a job out; the handler starts a few Redis
    // round trips later, so the stamps are what the limit governs. 10 ms for clock granularity.
    const bull = new BullQueue(labelQueueName(prefix, 'exec'), {
      connection: { url: server.url },
      prefix,
    });
    const stamps: number[] = [];
    for (const run of runs) stamps.push((await bull.getJob(run.id))!.processedOn!);
    await bull.close();
    stamps.sort((a, b) => a - b);
    for (let i = 1; i < stamps.length; i++) {
      expect(stamps[i]! - stamps[i - 1]!).toBeGreaterThanOrEqual(90);
    }
  });

  it('holds new jobs while the load is above the CPU threshold', async () => {
    let load = 5;
    const runs: Run[] = [];
    await runner({
      handlers: recording(runs),
      settings: { ...SETTINGS, cpuThreshold: 0.9 },
      load: () => load,
      loadPollMs: 50,
    });

    await producer.submit(job('held'));
    await delay(400);
    const whileLoaded = runs.length;
    load = 0.1;
    await waitFor(() => runs.length === 1, 'the run after the load dropped');

    expect(whileLoaded).toBe(0);
  });

  it('reports stats per label', async () => {
    await producer.submit(job('a'));
    await producer.submit(job('b'));
    await producer.submit(job('c', { label: 'exec' }));

    const stats = await producer.stats();

    expect(stats.byLabel.llm).toEqual({ waiting: 2, running: 0, delayed: 0 });
    expect(stats.byLabel.exec).toEqual({ waiting: 1, running: 0, delayed: 0 });
    expect(await producer.drain(100)).toEqual(expect.arrayContaining(['a', 'b', 'c']));
    await expect(producer.submit(job('d'))).rejects.toThrow('after drain');
  });

  it('stops by draining: a job that ends in time completes; one still running is aborted and handed on, not counted', async () => {
    const aborted: string[] = [];
    const stopping: JobHandler = async (pooled, context) => {
      if (pooled.id === 'quick') return delay(100);
      await new Promise((_resolve, reject) => {
        context.signal.addEventListener(
          'abort',
          () => {
            aborted.push(pooled.id);
            reject(new Error('stopped'));
          },
          { once: true },
        );
      });
    };
    const first = await runner({ handlers: new Map([['bench', stopping]]), runnerId: 'first' });
    await producer.submit(job('quick'));
    await producer.submit(job('slow'));
    await waitFor(() => events.filter((e) => e.type === 'started').length === 2, 'both started');
    const runs: Run[] = [];
    await runner({ handlers: recording(runs), runnerId: 'second' });

    const stopStart = Date.now();
    await first.stop(300);
    const stopMs = Date.now() - stopStart;
    await waitFor(() => runs.length === 1, 'the slow job on the second runner');

    expect(stopMs).toBeGreaterThanOrEqual(290);
    expect(aborted).toEqual(['slow']);
    expect(runs[0]).toMatchObject({ id: 'slow', runner: 'second', attempt: 1 });
    expect(events.filter((e) => e.type === 'completed').map((e) => e.id)).toEqual([
      'quick',
      'slow',
    ]);
    expect(events.some((e) => e.type === 'retrying' || e.type === 'failed')).toBe(false);
  });

  it('keeps a registry of live runners', async () => {
    const a = await runner({ handlers: recording([]), runnerId: 'reg-a', labels: ['llm', 'exec'] });
    await runner({ handlers: recording([]), runnerId: 'reg-b', concurrency: 3 });

    const both = await listRunners(server.url, prefix);
    // The producer sees the same registry on its own connection (what /metrics counts).
    expect(await producer.runners()).toEqual(both);
    await a.stop(1_000);
    const one = await listRunners(server.url, prefix);

    expect(both).toEqual([
      expect.objectContaining({
        id: 'reg-a',
        labels: ['llm', 'exec'],
        concurrency: 2,
        running: 0,
        pid: process.pid,
      }),
      expect.objectContaining({ id: 'reg-b', labels: ['llm'], concurrency: 3 }),
    ]);
    expect(Date.now() - Date.parse(both[0]!.seenAt)).toBeLessThan(5_000);
    expect(one.map((r) => r.id)).toEqual(['reg-b']);
  });
});
