import { createInProcessQueue, createLockTable } from '../../../src/pool/index.js';
import type { QueuedJob, SubmitResult } from '../../../src/pool/index.js';

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

/** Lets every pending promise callback run (one macrotask turn); no timers involved. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Jobs that record when they start and finish only when the test says so. */
function harness(): {
  started: string[];
  signals: Map<string, AbortSignal>;
  job: (id: string, lockKey: string) => QueuedJob;
  finish: (id: string) => Promise<void>;
  fail: (id: string, error: unknown) => Promise<void>;
} {
  const started: string[] = [];
  const signals = new Map<string, AbortSignal>();
  const completions = new Map<string, Deferred>();
  return {
    started,
    signals,
    job(id, lockKey) {
      const completion = deferred();
      completions.set(id, completion);
      return {
        id,
        lockKey,
        run: (signal) => {
          started.push(id);
          signals.set(id, signal);
          return completion.promise;
        },
      };
    },
    async finish(id) {
      completions.get(id)!.resolve();
      await settle();
    },
    async fail(id, error) {
      completions.get(id)!.reject(error);
      await settle();
    },
  };
}

describe('pool/queue lanes', () => {
  it('runs one job per lock key at a time, first in first out', async () => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency: 4 });

    const results = ['a', 'b', 'c'].map((id) => queue.submit(h.job(id, 'acme/shop@main')));
    const startedBefore = [...h.started];
    await h.finish('a');
    const afterA = [...h.started];
    await h.finish('b');

    expect(results).toEqual<SubmitResult[]>([
      { id: 'a', position: 0 },
      { id: 'b', position: 1, waitingBehind: 'a' },
      { id: 'c', position: 2, waitingBehind: 'a' },
    ]);
    expect(startedBefore).toEqual(['a']);
    expect(afterA).toEqual(['a', 'b']);
    expect(h.started).toEqual(['a', 'b', 'c']);
  });

  it.each<[number, string[], SubmitResult[]]>([
    [
      1,
      ['a'],
      [
        { id: 'a', position: 0 },
        { id: 'b', position: 1 },
        { id: 'c', position: 2 },
      ],
    ],
    [
      2,
      ['a', 'b'],
      [
        { id: 'a', position: 0 },
        { id: 'b', position: 0 },
        { id: 'c', position: 1 },
      ],
    ],
    [
      3,
      ['a', 'b', 'c'],
      [
        { id: 'a', position: 0 },
        { id: 'b', position: 0 },
        { id: 'c', position: 0 },
      ],
    ],
  ])('runs lanes side by side up to concurrency %d', async (concurrency, startedNow, expected) => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency });

    const results = [
      queue.submit(h.job('a', 'acme/shop@main')),
      queue.submit(h.job('b', 'acme/blog@main')),
      queue.submit(h.job('c', 'acme/shop@dev')),
    ];

    expect(h.started).toEqual(startedNow);
    expect(results).toEqual(expected);
    expect(queue.size()).toBe(3);
  });

  it('gives a freed slot to the earliest job whose lane is free', async () => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency: 2 });

    const results = [
      queue.submit(h.job('a', 'x')),
      queue.submit(h.job('b', 'x')),
      queue.submit(h.job('c', 'y')),
      queue.submit(h.job('d', 'z')),
    ];
    await h.finish('c');
    const afterC = [...h.started];
    await h.finish('a');

    expect(results).toEqual<SubmitResult[]>([
      { id: 'a', position: 0 },
      { id: 'b', position: 1, waitingBehind: 'a' },
      { id: 'c', position: 0 },
      { id: 'd', position: 2 },
    ]);
    expect(afterC).toEqual(['a', 'c', 'd']);
    expect(h.started).toEqual(['a', 'c', 'd', 'b']);
  });

  it('ignores a job id submitted twice and answers its current position', async () => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency: 1 });
    queue.submit(h.job('a', 'x'));
    queue.submit(h.job('b', 'y'));
    queue.submit(h.job('c', 'y'));

    const running = queue.submit(h.job('a', 'x'));
    const waiting = queue.submit(h.job('c', 'y'));

    expect(running).toEqual({ id: 'a', position: 0 });
    expect(waiting).toEqual({ id: 'c', position: 2 });
    expect(queue.size()).toBe(3);
    expect(h.started).toEqual(['a']);
  });

  it('accepts an id again once its job has finished', async () => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency: 1 });
    queue.submit(h.job('a', 'x'));
    await h.finish('a');

    const again = queue.submit(h.job('a', 'x'));

    expect(again).toEqual({ id: 'a', position: 0 });
    expect(h.started).toEqual(['a', 'a']);
  });

  it('counts waiting and running jobs in size', async () => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency: 1 });
    queue.submit(h.job('a', 'x'));
    queue.submit(h.job('b', 'x'));
    const sizes = [queue.size()];

    await h.finish('a');
    sizes.push(queue.size());
    await h.finish('b');
    sizes.push(queue.size());

    expect(sizes).toEqual([2, 1, 0]);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects concurrency %p', (concurrency) => {
    const act = (): unknown => createInProcessQueue({ concurrency });

    expect(act).toThrow('concurrency: expected a positive integer');
  });
});

describe('pool/queue locks', () => {
  it('holds the lane’s lock while a job runs and hands it to the next one', async () => {
    const h = harness();
    const locks = createLockTable();
    const queue = createInProcessQueue({ concurrency: 2, locks });
    queue.submit(h.job('a', 'acme/shop@main'));
    queue.submit(h.job('b', 'acme/shop@main'));

    const holders = [locks.holderOf('acme/shop@main')];
    await h.finish('a');
    holders.push(locks.holderOf('acme/shop@main'));
    await h.finish('b');
    holders.push(locks.holderOf('acme/shop@main'));

    expect(holders).toEqual(['a', 'b', undefined]);
  });

  it('waits behind a holder outside the queue, until the next queue event after its release', async () => {
    const h = harness();
    const locks = createLockTable();
    const queue = createInProcessQueue({ concurrency: 2, locks });
    const outside = locks.tryLock('acme/shop@main', 'job-outside');

    const result = queue.submit(h.job('a', 'acme/shop@main'));
    const startedWhileHeld = [...h.started];
    if (outside.acquired) outside.release();
    queue.submit(h.job('b', 'acme/blog@main'));

    expect(result).toEqual({ id: 'a', position: 1, waitingBehind: 'job-outside' });
    expect(startedWhileHeld).toEqual([]);
    expect(h.started).toEqual(['a', 'b']);
  });

  it('starts a job whose lock the caller already took for it, and releases it after', async () => {
    const h = harness();
    const locks = createLockTable();
    const queue = createInProcessQueue({ concurrency: 1, locks });
    locks.tryLock('acme/shop@main', 'a');

    const result = queue.submit(h.job('a', 'acme/shop@main'));
    await h.finish('a');

    expect(result).toEqual({ id: 'a', position: 0 });
    expect(locks.holderOf('acme/shop@main')).toBeUndefined();
  });
});

describe('pool/queue errors', () => {
  const boom = new Error('boom');

  it.each<[string, (h: ReturnType<typeof harness>) => QueuedJob]>([
    ['rejects', () => ({ id: 'a', lockKey: 'x', run: () => Promise.reject(boom) })],
    [
      'throws before returning a promise',
      () => ({
        id: 'a',
        lockKey: 'x',
        run: () => {
          throw boom;
        },
      }),
    ],
  ])(
    'passes the error of a job that %s to onError and starts the next job',
    async (_name, failing) => {
      const h = harness();
      const errors: [string, unknown][] = [];
      const queue = createInProcessQueue({
        concurrency: 1,
        onError: (id, error) => errors.push([id, error]),
      });

      queue.submit(failing(h));
      queue.submit(h.job('b', 'x'));
      await settle();

      expect(errors).toEqual([['a', boom]]);
      expect(h.started).toEqual(['b']);
      expect(queue.size()).toBe(1);
    },
  );

  it('routes a later rejection to onError and keeps going when onError itself throws', async () => {
    const h = harness();
    const seen: string[] = [];
    const queue = createInProcessQueue({
      concurrency: 1,
      onError: (id) => {
        seen.push(id);
        throw new Error('handler broke');
      },
    });
    queue.submit(h.job('a', 'x'));
    queue.submit(h.job('b', 'x'));

    await h.fail('a', boom);

    expect(seen).toEqual(['a']);
    expect(h.started).toEqual(['a', 'b']);
  });
});

describe('pool/queue drain', () => {
  it('stops starting jobs, waits for the running ones and returns those still waiting', async () => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency: 1 });
    queue.submit(h.job('a', 'x'));
    queue.submit(h.job('b', 'x'));
    queue.submit(h.job('c', 'y'));
    let drained: string[] | undefined;

    const draining = queue.drain(60_000).then((ids) => (drained = ids));
    await settle();
    const beforeFinish = drained;
    await h.finish('a');
    await draining;

    expect(beforeFinish).toBeUndefined();
    expect(drained).toEqual(['b', 'c']);
    expect(h.started).toEqual(['a']);
    expect(h.signals.get('a')!.aborted).toBe(false);
  });

  it('aborts jobs still running after the timeout and resolves once they return', async () => {
    const queue = createInProcessQueue({ concurrency: 2 });
    const signals: AbortSignal[] = [];
    const job = (id: string): QueuedJob => ({
      id,
      lockKey: id,
      run: (signal) => {
        signals.push(signal);
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    });
    queue.submit(job('a'));
    queue.submit(job('b'));

    const waiting = await queue.drain(1);

    expect(waiting).toEqual([]);
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect((signals[0]!.reason as Error).name).toBe('AbortError');
    expect(queue.size()).toBe(0);
  });

  it('resolves at once when nothing runs, and later submissions only wait', async () => {
    const h = harness();
    const queue = createInProcessQueue({ concurrency: 1 });

    const first = await queue.drain(60_000);
    const result = queue.submit(h.job('a', 'x'));
    const second = await queue.drain(60_000);

    expect(first).toEqual([]);
    expect(result).toEqual({ id: 'a', position: 1 });
    expect(second).toEqual(['a']);
    expect(h.started).toEqual([]);
  });
});
