import { jest } from '@jest/globals';
import { createInProcessQueue, createLockTable } from '../../../src/pool/index.js';
import type {
  InProcessQueue,
  InProcessQueueOptions,
  JobContext,
  LabelLimits,
  PoolEvent,
  PoolJob,
  PoolSettings,
  Priority,
} from '../../../src/pool/index.js';

// Fake timers drive bottleneck too (its waits are setTimeout and Date.now), so every test is
// deterministic: nothing happens between two `advance` calls unless a test lets it.
const T0 = 1_700_000_000_000;

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});

afterEach(() => {
  jest.useRealTimers();
});

/**
 * Fake time a job needs to get through the limiters: bottleneck takes a few 1 ms timer turns per
 * limiter (three limiters at most), so 20 ms lets everything that can move move.
 */
const TURNS_MS = 20;

/** Runs every timer and promise callback due within `ms` of fake time. */
async function advance(ms = TURNS_MS): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function settings(overrides: Partial<PoolSettings> = {}): PoolSettings {
  return {
    concurrency: 4,
    labels: {},
    defaultLabel: { concurrency: 4 },
    maxAttempts: 1,
    backoff: { baseMs: 1_000, maxMs: 8_000 },
    ...overrides,
  };
}

interface Harness {
  queue: InProcessQueue;
  events: PoolEvent[];
  /** Job ids in the order their attempts started. */
  started: string[];
  /** Fake time (ms since T0) at which each attempt started, per id. */
  startedAt: Map<string, number[]>;
  contexts: Map<string, JobContext>;
  /** Fake time (ms since T0) at which the test ended each attempt, per id. */
  endedAt: Map<string, number[]>;
  /** Ends the running attempt of `id` normally. */
  finish: (id: string) => Promise<void>;
  /** Makes the running attempt of `id` throw. */
  fail: (id: string, error?: unknown) => Promise<void>;
  job: (id: string, extra?: Partial<PoolJob>) => PoolJob;
  /** Events of one type, as `${type}:${id}`. */
  trail: (...types: PoolEvent['type'][]) => string[];
}

/** A queue whose jobs run until the test finishes or fails them. */
function harness(
  poolSettings: PoolSettings,
  options: Partial<Omit<InProcessQueueOptions, 'settings' | 'handlers'>> = {},
): Harness {
  const events: PoolEvent[] = [];
  const started: string[] = [];
  const startedAt = new Map<string, number[]>();
  const contexts = new Map<string, JobContext>();
  const endedAt = new Map<string, number[]>();
  const running = new Map<string, Deferred>();
  const queue = createInProcessQueue({
    settings: poolSettings,
    handlers: new Map([
      [
        'test',
        (job: PoolJob, context: JobContext) => {
          started.push(job.id);
          startedAt.set(job.id, [...(startedAt.get(job.id) ?? []), Date.now() - T0]);
          contexts.set(job.id, context);
          const completion = deferred();
          running.set(job.id, completion);
          return completion.promise;
        },
      ],
    ]),
    onEvent: (event) => events.push(event),
    random: () => 0.5,
    loadPollMs: 100,
    runnerId: 'runner-1',
    ...options,
  });
  function settle(id: string): Deferred {
    const completion = running.get(id);
    if (completion === undefined) throw new Error(`${id} is not running`);
    running.delete(id);
    endedAt.set(id, [...(endedAt.get(id) ?? []), Date.now() - T0]);
    return completion;
  }
  return {
    queue,
    events,
    started,
    startedAt,
    contexts,
    endedAt,
    async finish(id) {
      settle(id).resolve();
      await advance();
    },
    async fail(id, error = new Error(`${id} broke`)) {
      settle(id).reject(error);
      await advance();
    },
    job: (id, extra = {}) => ({ id, kind: 'test', label: 'llm', priority: 'NORMAL', ...extra }),
    trail: (...types) =>
      events.filter((event) => types.includes(event.type)).map((e) => `${e.type}:${e.id}`),
  };
}

async function submitAll(h: Harness, jobs: PoolJob[]): Promise<void> {
  for (const job of jobs) await h.queue.submit(job);
  await advance();
}

describe('pool/in-process priorities', () => {
  it('starts the most urgent job first when one slot frees, then in submission order', async () => {
    const h = harness(settings({ concurrency: 1, labels: { llm: { concurrency: 1 } } }));
    await submitAll(h, [h.job('blocker')]);
    const priorities: [string, Priority][] = [
      ['low', 'LOW'],
      ['normal-1', 'NORMAL'],
      ['high', 'HIGH'],
      ['critical', 'CRITICAL'],
      ['normal-2', 'NORMAL'],
    ];

    await submitAll(
      h,
      priorities.map(([id, priority]) => h.job(id, { priority })),
    );
    for (const id of ['blocker', 'critical', 'high', 'normal-1', 'normal-2']) await h.finish(id);

    expect(h.started).toEqual(['blocker', 'critical', 'high', 'normal-1', 'normal-2', 'low']);
  });

  it('orders jobs of different labels waiting for the one global slot', async () => {
    const h = harness(settings({ concurrency: 1 }));
    await submitAll(h, [h.job('blocker', { label: 'exec' })]);

    await submitAll(h, [
      h.job('low', { label: 'a', priority: 'LOW' }),
      h.job('normal', { label: 'b', priority: 'NORMAL' }),
      h.job('critical', { label: 'c', priority: 'CRITICAL' }),
      h.job('high', { label: 'd', priority: 'HIGH' }),
    ]);
    for (const id of ['blocker', 'critical', 'high', 'normal']) await h.finish(id);

    expect(h.started).toEqual(['blocker', 'critical', 'high', 'normal', 'low']);
  });
});

describe('pool/in-process limits', () => {
  it('honours the label concurrency and the global concurrency together', async () => {
    const h = harness(
      settings({ concurrency: 3, labels: { a: { concurrency: 2 }, b: { concurrency: 2 } } }),
    );

    await submitAll(h, [
      h.job('a1', { label: 'a' }),
      h.job('a2', { label: 'a' }),
      h.job('a3', { label: 'a' }),
      h.job('b1', { label: 'b' }),
      h.job('b2', { label: 'b' }),
    ]);
    const first = [...h.started];
    const statsWhileFull = await h.queue.stats();
    await h.finish('a1');
    const afterA1 = [...h.started];
    await h.finish('b1');

    // a1, a2 and b1, b2 reach the global limiter in an interleaved order; three of them run.
    expect(first.sort()).toEqual(['a1', 'a2', 'b1']);
    expect(statsWhileFull.byLabel).toEqual({
      a: { waiting: 1, running: 2, delayed: 0 },
      b: { waiting: 1, running: 1, delayed: 0 },
    });
    // b2 waited for a global slot (a3 for its label), so b2 takes the slot a1 frees.
    expect(afterA1.slice(3)).toEqual(['b2']);
    expect(h.started.slice(3)).toEqual(['b2', 'a3']);
  });

  it('spaces the starts of a rate-limited label by at least 1/rate', async () => {
    const rated: LabelLimits = { concurrency: 10, ratePerSecond: 4 };
    const h = harness(settings({ concurrency: 10, labels: { rated } }));

    await submitAll(h, [
      ...['r1', 'r2', 'r3', 'r4'].map((id) => h.job(id, { label: 'rated' })),
      h.job('free', { label: 'other' }),
    ]);
    await advance(1_000);
    const times = ['r1', 'r2', 'r3', 'r4'].map((id) => h.startedAt.get(id)![0]!);
    const gaps = times.slice(1).map((time, i) => time - times[i]!);

    expect(h.started).toHaveLength(5);
    // bottleneck spaces the moments it lets jobs go by exactly 250 ms; each job then takes a few
    // 1 ms timer turns to start, which may differ by up to ~3 ms from one job to the next.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(250 - 3);
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(750 - 3);
    // The other label is not paced.
    expect(h.startedAt.get('free')![0]).toBeLessThan(10);
  });

  it('does not let a busy label hold back another label', async () => {
    const h = harness(settings({ concurrency: 2, labels: { llm_heavy: { concurrency: 1 } } }));

    await submitAll(h, [
      h.job('heavy-1', { label: 'llm_heavy' }),
      h.job('heavy-2', { label: 'llm_heavy' }),
      h.job('heavy-3', { label: 'llm_heavy' }),
      h.job('exec-1', { label: 'exec' }),
    ]);

    expect(h.started).toEqual(['heavy-1', 'exec-1']);
  });
});

describe('pool/in-process lock keys', () => {
  it('runs one job per lock key at a time, in submission order, without blocking other keys', async () => {
    const h = harness(settings({ concurrency: 4 }));

    const results = [];
    for (const [id, lockKey] of [
      ['a', 'acme/shop@main'],
      ['b', 'acme/shop@main'],
      ['c', 'acme/blog@main'],
      ['d', 'acme/shop@main'],
    ] as const) {
      results.push(
        await h.queue.submit(h.job(id, { lockKey, priority: id === 'd' ? 'HIGH' : 'LOW' })),
      );
    }
    await advance();
    const first = [...h.started];
    const holders = [await h.queue.holderOf('acme/shop@main')];
    await h.finish('a');
    holders.push(await h.queue.holderOf('acme/shop@main'));
    await h.finish('b');
    await h.finish('d');
    holders.push(await h.queue.holderOf('acme/shop@main'));

    expect(results).toEqual([
      { id: 'a', accepted: true },
      { id: 'b', accepted: true, waitingBehind: 'a' },
      { id: 'c', accepted: true },
      { id: 'd', accepted: true, waitingBehind: 'a' },
    ]);
    expect(first).toEqual(['a', 'c']);
    // d is more urgent than b, but within one lock key submission order wins.
    expect(h.started).toEqual(['a', 'c', 'b', 'd']);
    expect(holders).toEqual(['a', 'b', undefined]);
  });

  it('does not take a global slot while waiting for its lock key', async () => {
    const h = harness(settings({ concurrency: 2 }));

    await submitAll(h, [
      h.job('a', { lockKey: 'x' }),
      h.job('b', { lockKey: 'x' }),
      h.job('c', { lockKey: 'x' }),
      h.job('d', { lockKey: 'y' }),
    ]);

    expect(h.started).toEqual(['a', 'd']);
    expect((await h.queue.stats()).byLabel.llm).toEqual({ waiting: 0, running: 2, delayed: 2 });
  });

  it('holds the key in a shared lock table, and waits for a holder outside the queue', async () => {
    const locks = createLockTable();
    const outside = locks.tryLock('acme/shop@main', 'job-outside');
    const h = harness(settings(), { locks });

    const result = await h.queue.submit(h.job('a', { lockKey: 'acme/shop@main' }));
    await advance(250);
    const whileHeld = [...h.started];
    if (outside.acquired) outside.release();
    await advance(100);

    expect(result).toEqual({ id: 'a', accepted: true, waitingBehind: 'job-outside' });
    expect(whileHeld).toEqual([]);
    expect(h.started).toEqual(['a']);
    expect(locks.holderOf('acme/shop@main')).toBe('a');
    await h.finish('a');
    expect(locks.holderOf('acme/shop@main')).toBeUndefined();
  });
});

describe('pool/in-process CPU threshold', () => {
  it('starts nothing while the load is above the threshold, then resumes', async () => {
    let load = 1.5;
    const h = harness(settings({ cpuThreshold: 0.9 }), { load: () => load });

    await submitAll(h, [h.job('a'), h.job('b', { label: 'exec' })]);
    await advance(1_000);
    const whileBusy = [...h.started];
    const statsWhileBusy = await h.queue.stats();
    load = 0.5;
    await advance(100);

    expect(whileBusy).toEqual([]);
    expect(statsWhileBusy.byLabel).toEqual({
      llm: { waiting: 1, running: 0, delayed: 0 },
      exec: { waiting: 1, running: 0, delayed: 0 },
    });
    expect(h.started).toEqual(['a', 'b']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops looking at the load on drain, and the held jobs stay waiting', async () => {
    const h = harness(settings({ cpuThreshold: 0.9 }), { load: () => 2 });
    await submitAll(h, [h.job('a'), h.job('b')]);
    await advance(300);
    const timersWhileHeld = jest.getTimerCount();

    const waiting = await h.queue.drain(1_000);
    await advance(1_000);

    expect(timersWhileHeld).toBe(1);
    expect(waiting).toEqual(['a', 'b']);
    expect(h.started).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('fails the job, not the process, when the load probe throws', async () => {
    let calls = 0;
    const h = harness(settings({ cpuThreshold: 0.9 }), {
      load: () => {
        calls += 1;
        if (calls > 1) throw new Error('no /proc');
        return 2;
      },
    });

    await submitAll(h, [h.job('a')]);
    await advance(100);

    expect(h.events.at(-1)).toEqual({
      type: 'failed',
      id: 'a',
      label: 'llm',
      kind: 'test',
      attempts: 0,
      error: 'no /proc',
    });
    expect(await h.queue.stats()).toEqual({ byLabel: {} });
  });
});

describe('pool/in-process retries', () => {
  const retrying = settings({ maxAttempts: 3, backoff: { baseMs: 1_000, maxMs: 1_500 } });

  it('retries after a full-jitter backoff, then fails after maxAttempts', async () => {
    const h = harness(retrying);
    await submitAll(h, [h.job('a')]);

    await h.fail('a');
    await advance(500 - TURNS_MS - 1);
    const justBeforeBackoffEnds = [...h.started];
    await advance();
    const secondContext = h.contexts.get('a');
    await h.fail('a', 'not an Error');
    await advance(750);
    const lastContext = h.contexts.get('a');
    await h.fail('a');

    expect(justBeforeBackoffEnds).toEqual(['a']);
    expect(secondContext).toMatchObject({ attempt: 2, lastAttempt: false, runner: 'runner-1' });
    expect(lastContext).toMatchObject({ attempt: 3, lastAttempt: true });
    // random() = 0.5: retry 1 waits 0.5 × min(1500, 1000), retry 2 waits 0.5 × min(1500, 2000);
    // the next start comes a few 1 ms timer turns after the backoff.
    const [start1, start2, start3] = h.startedAt.get('a')!;
    const [fail1, fail2] = h.endedAt.get('a')!;
    expect(h.startedAt.get('a')).toHaveLength(3);
    expect(start2! - fail1!).toBeGreaterThanOrEqual(500);
    expect(start2! - fail1!).toBeLessThan(500 + TURNS_MS);
    expect(start3! - fail2!).toBeGreaterThanOrEqual(750);
    expect(start3! - fail2!).toBeLessThan(750 + TURNS_MS);
    expect(start1).toBeLessThan(TURNS_MS);
    expect(h.events.filter((e) => e.type !== 'started')).toEqual([
      { type: 'submitted', id: 'a', label: 'llm', kind: 'test', priority: 'NORMAL' },
      {
        type: 'retrying',
        id: 'a',
        label: 'llm',
        kind: 'test',
        attempt: 1,
        delayMs: 500,
        error: 'a broke',
      },
      {
        type: 'retrying',
        id: 'a',
        label: 'llm',
        kind: 'test',
        attempt: 2,
        delayMs: 750,
        error: 'not an Error',
      },
      { type: 'failed', id: 'a', label: 'llm', kind: 'test', attempts: 3, error: 'a broke' },
    ]);
    expect(await h.queue.stats()).toEqual({ byLabel: {} });
  });

  it.each([
    [0, 0],
    [0.999_999, 1_000],
  ])('keeps the backoff within its jitter bounds (random() = %p → %p ms)', async (r, delay) => {
    const h = harness(retrying, { random: () => r });
    await submitAll(h, [h.job('a')]);

    await h.fail('a');

    expect(h.events.find((e) => e.type === 'retrying')).toMatchObject({ delayMs: delay });
  });

  it('completes a job that succeeds on a retry, and frees its slots during the backoff', async () => {
    const locks = createLockTable();
    const h = harness({ ...retrying, concurrency: 1 }, { locks });
    await submitAll(h, [h.job('a', { lockKey: 'x' })]);
    await submitAll(h, [h.job('b', { lockKey: 'x' }), h.job('c')]);

    await h.fail('a');
    const duringBackoff = [...h.started];
    const holders = [await h.queue.holderOf('x'), locks.holderOf('x')];
    const statsDuringBackoff = (await h.queue.stats()).byLabel.llm;
    await h.finish('c');
    await advance(500);
    await h.finish('a');
    await h.finish('b');

    // c (another key) used the global slot a left for its backoff; b (same key) waited for a.
    expect(duringBackoff).toEqual(['a', 'c']);
    expect(holders).toEqual(['a', 'a']);
    expect(statsDuringBackoff).toEqual({ waiting: 0, running: 1, delayed: 2 });
    expect(h.started).toEqual(['a', 'c', 'a', 'b']);
    expect(h.trail('completed', 'failed')).toEqual(['completed:c', 'completed:a', 'completed:b']);
  });

  it('turns a handler that throws synchronously into an attempt, never an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', record);
    const events: PoolEvent[] = [];
    const queue = createInProcessQueue({
      settings: settings({ maxAttempts: 2, backoff: { baseMs: 0, maxMs: 0 } }),
      handlers: new Map([
        [
          'test',
          () => {
            throw new Error('sync boom');
          },
        ],
      ]),
      onEvent: (event) => {
        events.push(event);
        throw new Error('a listener that throws is ignored');
      },
    });

    await queue.submit({ id: 'a', kind: 'test', label: 'llm', priority: 'NORMAL' });
    await advance(100);
    process.off('unhandledRejection', record);

    expect(events.map((e) => e.type)).toEqual([
      'submitted',
      'started',
      'retrying',
      'started',
      'failed',
    ]);
    expect(unhandled).toEqual([]);
  });
});

describe('pool/in-process cancel', () => {
  it('removes a waiting job: it never runs and frees its place for the next one', async () => {
    const h = harness(settings({ concurrency: 1, labels: { b: { concurrency: 1 } } }));
    await submitAll(h, [
      h.job('blocker', { label: 'a' }),
      // w1 holds label b's only slot while it waits for the global slot; w2 waits for the label.
      h.job('w1', { label: 'b' }),
      h.job('w2', { label: 'b' }),
      h.job('k1', { label: 'c', lockKey: 'k' }),
      h.job('k2', { label: 'c', lockKey: 'k' }),
    ]);

    const cancelled = [await h.queue.cancel('w1'), await h.queue.cancel('k1')];
    await advance();
    const stats = await h.queue.stats();
    await h.finish('blocker');
    await h.finish('w2');

    expect(cancelled).toEqual([true, true]);
    expect(stats.byLabel).toEqual({
      a: { waiting: 0, running: 1, delayed: 0 },
      b: { waiting: 1, running: 0, delayed: 0 },
      c: { waiting: 1, running: 0, delayed: 0 },
    });
    expect(h.started).toEqual(['blocker', 'w2', 'k2']);
    expect(h.trail('cancelled')).toEqual(['cancelled:w1', 'cancelled:k1']);
    expect(await h.queue.holderOf('k')).toBe('k2');
  });

  it('aborts a running job’s signal and reports it cancelled, without a retry', async () => {
    const h = harness(settings({ maxAttempts: 3 }));
    await submitAll(h, [h.job('a'), h.job('b')]);

    const cancelled = await h.queue.cancel('a');
    const signal = h.contexts.get('a')!.signal;
    const resubmitWhileRunning = await h.queue.submit(h.job('a'));
    await h.fail('a', signal.reason);
    await h.queue.cancel('b');
    await h.finish('b');
    await advance(10_000);

    expect(cancelled).toBe(true);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).name).toBe('AbortError');
    expect(resubmitWhileRunning.accepted).toBe(false);
    expect(h.started).toEqual(['a', 'b']);
    expect(h.trail('cancelled', 'completed', 'retrying', 'failed')).toEqual([
      'cancelled:a',
      'cancelled:b',
    ]);
  });

  it('stops a job in its retry backoff', async () => {
    const h = harness(settings({ maxAttempts: 3 }));
    await submitAll(h, [h.job('a')]);
    await h.fail('a');

    const cancelled = await h.queue.cancel('a');
    await advance(10_000);

    expect(cancelled).toBe(true);
    expect(h.started).toEqual(['a']);
    expect(h.trail('retrying', 'cancelled')).toEqual(['retrying:a', 'cancelled:a']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('answers false for an unknown or finished id', async () => {
    const h = harness(settings());
    await submitAll(h, [h.job('a')]);
    await h.finish('a');

    expect(await h.queue.cancel('a')).toBe(false);
    expect(await h.queue.cancel('nope')).toBe(false);
  });
});

describe('pool/in-process submit', () => {
  it('does not queue an id that is waiting, running or retrying, and takes it again once over', async () => {
    const h = harness(settings({ concurrency: 1, maxAttempts: 2 }));
    await submitAll(h, [h.job('a'), h.job('b')]);

    const running = await h.queue.submit(h.job('a'));
    const waiting = await h.queue.submit(h.job('b'));
    await h.fail('a');
    const retrying = await h.queue.submit(h.job('a'));
    await h.finish('b');
    await advance(500);
    await h.finish('a');
    const again = await h.queue.submit(h.job('a'));
    await advance();

    expect([running, waiting, retrying].map((r) => r.accepted)).toEqual([false, false, false]);
    expect(again).toEqual({ id: 'a', accepted: true });
    expect(h.started).toEqual(['a', 'b', 'a', 'a']);
    expect(h.trail('submitted')).toEqual(['submitted:a', 'submitted:b', 'submitted:a']);
  });

  it('rejects a job no handler runs, or with a malformed label', async () => {
    const h = harness(settings());

    await expect(h.queue.submit(h.job('a', { kind: 'nope' }))).rejects.toThrow(
      'job a: no handler for kind "nope" (known: test)',
    );
    await expect(h.queue.submit(h.job('b', { label: 'Not A Label' }))).rejects.toThrow(
      'job b: label "Not A Label" does not match',
    );
  });

  it.each<[string, Partial<PoolSettings>, string]>([
    ['a global concurrency of 0', { concurrency: 0 }, 'settings.concurrency'],
    [
      'a label concurrency of 1.5',
      { labels: { llm: { concurrency: 1.5 } } },
      'settings.labels.llm',
    ],
    ['a rate of 0', { defaultLabel: { concurrency: 1, ratePerSecond: 0 } }, 'ratePerSecond'],
    ['maxAttempts 0', { maxAttempts: 0 }, 'settings.maxAttempts'],
  ])('refuses settings with %s', (_name, overrides, message) => {
    const act = (): unknown =>
      createInProcessQueue({ settings: settings(overrides), handlers: new Map() });

    expect(act).toThrow(message);
  });
});

describe('pool/in-process events and stats', () => {
  it('reports a job’s life with its wait and duration', async () => {
    const h = harness(settings({ concurrency: 1 }));
    await submitAll(h, [h.job('a'), h.job('b', { label: 'exec', priority: 'HIGH' })]);

    await advance(2_000);
    await h.finish('a');
    await advance(300);
    await h.finish('b');

    const [submittedA, submittedB, startedA, completedA, startedB, completedB] = h.events;
    expect([submittedA, submittedB]).toEqual([
      { type: 'submitted', id: 'a', label: 'llm', kind: 'test', priority: 'NORMAL' },
      { type: 'submitted', id: 'b', label: 'exec', kind: 'test', priority: 'HIGH' },
    ]);
    expect(startedA).toMatchObject({ type: 'started', id: 'a', attempt: 1 });
    expect(completedA).toMatchObject({ type: 'completed', id: 'a', label: 'llm', kind: 'test' });
    expect(startedB).toMatchObject({ type: 'started', id: 'b', label: 'exec', attempt: 1 });
    expect(completedB).toMatchObject({ type: 'completed', id: 'b' });
    // Waits and durations include bottleneck's few 1 ms timer turns (TURNS_MS per settle).
    const waited = (event?: PoolEvent): number =>
      event?.type === 'started' ? event.waitedMs : NaN;
    const took = (event?: PoolEvent): number =>
      event?.type === 'completed' ? event.durationMs : NaN;
    expect(waited(startedA)).toBeLessThan(TURNS_MS);
    expect(took(completedA)).toBeGreaterThanOrEqual(2_000);
    expect(took(completedA)).toBeLessThan(2_000 + 2 * TURNS_MS);
    expect(waited(startedB)).toBeGreaterThanOrEqual(took(completedA));
    expect(waited(startedB)).toBeLessThan(2_000 + 3 * TURNS_MS);
    expect(took(completedB)).toBeGreaterThanOrEqual(300);
    expect(took(completedB)).toBeLessThan(300 + 2 * TURNS_MS);
  });

  it('lists every configured label in stats, idle ones at zero', async () => {
    const h = harness(settings({ labels: { llm: { concurrency: 1 }, exec: { concurrency: 1 } } }));
    await submitAll(h, [h.job('a'), h.job('b'), h.job('c', { label: 'custom' })]);

    expect(await h.queue.stats()).toEqual({
      byLabel: {
        llm: { waiting: 1, running: 1, delayed: 0 },
        exec: { waiting: 0, running: 0, delayed: 0 },
        custom: { waiting: 0, running: 1, delayed: 0 },
      },
    });
  });
});

describe('pool/in-process drain and close', () => {
  it('stops starting jobs, waits for the running ones and returns those still waiting', async () => {
    const h = harness(settings({ concurrency: 1, maxAttempts: 3 }));
    await submitAll(h, [h.job('a'), h.job('b'), h.job('c', { label: 'exec' })]);
    let drained: string[] | undefined;

    const draining = h.queue.drain(60_000).then((ids) => (drained = ids));
    await advance();
    const beforeFinish = drained;
    await h.fail('a');
    await draining;
    await advance(10_000);

    expect(beforeFinish).toBeUndefined();
    // a asked for a retry while draining: not retried here, it stays waiting for the next start.
    expect(drained).toEqual(['a', 'b', 'c']);
    expect(h.started).toEqual(['a']);
    expect(h.contexts.get('a')!.signal.aborted).toBe(false);
    expect(h.trail('retrying', 'failed')).toEqual([]);
  });

  it('aborts jobs still running after the timeout and resolves once they return', async () => {
    const queue = createInProcessQueue({
      settings: settings(),
      handlers: new Map([
        [
          'test',
          (_job: PoolJob, { signal }: JobContext) =>
            new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
        ],
      ]),
    });
    await queue.submit({ id: 'a', kind: 'test', label: 'llm', priority: 'NORMAL' });
    await queue.submit({ id: 'b', kind: 'test', label: 'exec', priority: 'NORMAL' });
    await advance();
    let drained: string[] | undefined;

    const draining = queue.drain(5_000).then((ids) => (drained = ids));
    await advance(4_999);
    const beforeTimeout = drained;
    await advance(1);
    await draining;

    expect(beforeTimeout).toBeUndefined();
    expect(drained).toEqual([]);
    expect(await queue.stats()).toEqual({ byLabel: {} });
  });

  it('keeps a job in its backoff waiting, and ends the backoff', async () => {
    const h = harness(settings({ maxAttempts: 2 }));
    await submitAll(h, [h.job('a')]);
    await h.fail('a');

    const waiting = await h.queue.drain(1_000);
    await advance(10_000);

    expect(waiting).toEqual(['a']);
    expect(h.started).toEqual(['a']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('resolves at once when nothing runs, and later submissions only wait', async () => {
    const h = harness(settings());

    const first = await h.queue.drain(60_000);
    const result = await h.queue.submit(h.job('a'));
    await advance(1_000);
    const second = await h.queue.drain(60_000);

    expect(first).toEqual([]);
    expect(result).toEqual({ id: 'a', accepted: true });
    expect(second).toEqual(['a']);
    expect(h.started).toEqual([]);
  });

  it('releases every timer on close, dropping what still waits in the limiters', async () => {
    const h = harness(
      settings({ concurrency: 1, labels: { rated: { concurrency: 1, ratePerSecond: 0.1 } } }),
    );
    await submitAll(h, [h.job('a', { lockKey: 'k' })]);
    await submitAll(h, [
      h.job('b', { lockKey: 'k' }),
      h.job('c', { label: 'rated' }),
      h.job('d', { label: 'rated' }),
    ]);
    const draining = h.queue.drain(60_000);
    await h.finish('a');
    const waiting = await draining;

    await h.queue.close();
    await advance();

    expect(waiting).toEqual(['b', 'c', 'd']);
    expect(jest.getTimerCount()).toBe(0);
    expect(h.started).toEqual(['a']);
  });

  it('aborts what still runs when closed without a drain', async () => {
    const h = harness(settings());
    await submitAll(h, [h.job('a')]);
    const signal = h.contexts.get('a')!.signal;

    const closing = h.queue.close();
    await advance();
    const abortedBeforeReturn = signal.aborted;
    await h.finish('a');
    await closing;

    expect(abortedBeforeReturn).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});
