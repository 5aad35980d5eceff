/**
 * The Store contract: one suite every engine must pass (memory, SQLite, PostgreSQL). An engine
 * file calls `describeStoreContract` with a factory; the suite closes every store it opened after
 * each test. Engines that share data between instances (SQLite file, PostgreSQL database) also
 * provide `openSibling`, which the concurrency tests use as "a second process".
 */
import type {
  ApprovalRecord,
  AuditEntry,
  JobRecord,
  NewJob,
  Store,
} from '../../../src/store/index.js';

export interface ContractStoreOptions {
  now?: () => Date;
  maxDeliveries?: number;
}

export interface StoreFactory {
  /** A store over empty data. */
  open(options?: ContractStoreOptions): Promise<Store>;
  /** Another store over the same data as the last `open` (another bot process); durable engines only. */
  openSibling?(options?: ContractStoreOptions): Promise<Store>;
}

export const START = Date.parse('2025-03-01T12:00:00.000Z');

/** A clock the test moves by hand. */
export function manualClock(): { now: () => Date; advance: (ms: number) => void } {
  let at = START;
  return { now: () => new Date(at), advance: (ms) => (at += ms) };
}

export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    dedupeKey: 'comment:acme/shop#1',
    request: {
      gitRepo: 'https://github.com/acme/shop',
      appDescription: 'A small web shop with about 50 requests per second.',
      target: 'kubernetes',
      origin: { kind: 'comment', requestedBy: 'octocat', repository: 'acme/shop', issueNumber: 7 },
    },
    lockKey: 'acme/shop@main',
    installationId: 42,
    thread: { owner: 'acme', repo: 'shop', issueNumber: 7, isPullRequest: false },
    ...overrides,
  };
}

export function describeStoreContract(engine: string, factory: StoreFactory): void {
  const opened: Store[] = [];
  async function open(options?: ContractStoreOptions): Promise<Store> {
    const store = await factory.open(options);
    opened.push(store);
    return store;
  }
  async function openSibling(options?: ContractStoreOptions): Promise<Store> {
    if (factory.openSibling === undefined) throw new Error(`${engine} has no siblings`);
    const store = await factory.openSibling(options);
    opened.push(store);
    return store;
  }
  /** Tests that need a second instance on the same data; not registered for memory (nothing to share). */
  function itDurable(name: string, test: () => Promise<void>): void {
    if (factory.openSibling !== undefined) it(name, test);
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  describe(`store/${engine} createJob`, () => {
    it('creates a queued job with a random id, the clock’s time and the routing defaults', async () => {
      const store = await open({ now: manualClock().now });

      const { created, job } = await store.createJob(newJob());

      expect(created).toBe(true);
      expect(job.id).toMatch(/^job-[0-9a-f]{12}$/);
      expect(job).toEqual({
        ...newJob(),
        id: job.id,
        kind: 'provision',
        label: 'llm',
        priority: 'NORMAL',
        attempts: 0,
        state: 'queued',
        createdAt: '2025-03-01T12:00:00.000Z',
        updatedAt: '2025-03-01T12:00:00.000Z',
      });
      expect(await store.getJob(job.id)).toEqual(job);
    });

    it('keeps the kind, label and priority it is given', async () => {
      const store = await open();

      const { job } = await store.createJob(
        newJob({ kind: 'bench', label: 'exec', priority: 'CRITICAL' }),
      );

      expect(await store.getJob(job.id)).toMatchObject({
        kind: 'bench',
        label: 'exec',
        priority: 'CRITICAL',
      });
    });

    it('creates one job when five requests with the same dedupe key arrive together', async () => {
      const store = await open();

      const results = await Promise.all(
        Array.from({ length: 5 }, () => store.createJob(newJob({ dedupeKey: 'delivery:abc' }))),
      );

      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
      expect(await store.recentJobs(10)).toHaveLength(1);
    });

    itDurable('creates one job when two instances get the same dedupe key at once', async () => {
      const first = await open();
      const second = await openSibling();

      const results = await Promise.all([
        first.createJob(newJob({ dedupeKey: 'delivery:abc' })),
        second.createJob(newJob({ dedupeKey: 'delivery:abc' })),
        first.createJob(newJob({ dedupeKey: 'delivery:abc' })),
        second.createJob(newJob({ dedupeKey: 'delivery:abc' })),
      ]);

      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
      expect(await second.recentJobs(10)).toHaveLength(1);
    });

    it('creates separate jobs for different dedupe keys', async () => {
      const store = await open();

      const first = await store.createJob(newJob({ dedupeKey: 'comment:acme/shop#1' }));
      const second = await store.createJob(newJob({ dedupeKey: 'comment:acme/shop#2' }));

      expect(second.created).toBe(true);
      expect(second.job.id).not.toBe(first.job.id);
    });

    it('returns the stored job, not the new input, for a known dedupe key', async () => {
      const store = await open();
      const { job: original } = await store.createJob(newJob());

      const again = await store.createJob(newJob({ lockKey: 'acme/other@main' }));

      expect(again).toEqual({ created: false, job: original });
    });

    it('answers undefined for an unknown id in getJob', async () => {
      const store = await open();

      const job = await store.getJob('job-ffffffffffff');

      expect(job).toBeUndefined();
    });
  });

  describe(`store/${engine} copies`, () => {
    it.each<
      [string, (store: Store, id: string, input: NewJob) => Promise<void>, Partial<JobRecord>]
    >([
      [
        'a returned job',
        async (store, id) => {
          const job = (await store.getJob(id))!;
          job.state = 'failed';
          job.request.origin.requestedBy = 'mallory';
        },
        {},
      ],
      [
        'the input of createJob',
        async (_store, _id, input) => {
          input.request.origin.requestedBy = 'mallory';
          input.thread!.issueNumber = 99;
        },
        {},
      ],
      [
        'the result of createJob',
        async (store, _id, input) => {
          const { job } = await store.createJob(input);
          job.request.origin.requestedBy = 'mallory';
        },
        {},
      ],
      [
        'the patch and the result of updateJob',
        async (store, id) => {
          const patch = { error: { code: 'internal', message: 'boom' } };
          const updated = await store.updateJob(id, patch);
          patch.error.message = 'changed';
          updated.error!.code = 'changed';
        },
        { error: { code: 'internal', message: 'boom' } },
      ],
      [
        'a claimed job',
        async (store, id) => {
          const claimed = (await store.claimJob(id, 'runner-1'))!;
          claimed.attempts = 99;
        },
        {
          state: 'running',
          runner: 'runner-1',
          attempts: 1,
          startedAt: '2025-03-01T12:00:00.000Z',
        },
      ],
    ])(
      'keeps the stored job unchanged when the caller mutates %s',
      async (_name, mutate, patched) => {
        const store = await open({ now: manualClock().now });
        const input = newJob();
        const { job } = await store.createJob(input);
        const before = (await store.getJob(job.id))!;

        await mutate(store, job.id, input);

        expect(await store.getJob(job.id)).toEqual({ ...before, ...patched });
        expect(before.request.origin.requestedBy).toBe('octocat');
      },
    );
  });

  describe(`store/${engine} updateJob`, () => {
    it('merges the patch, sets updatedAt and keeps createdAt', async () => {
      const clock = manualClock();
      const store = await open({ now: clock.now });
      const { job } = await store.createJob(newJob());
      clock.advance(5_000);

      const updated = await store.updateJob(job.id, {
        state: 'running',
        stage: 'cloning',
        startedAt: '2025-03-01T12:00:05.000Z',
        statusComment: { id: 11, nodeId: 'IC_11' },
        pullRequest: { number: 3, url: 'https://github.com/acme/shop/pull/3' },
        checkRunId: 77,
        target: {
          owner: 'acme',
          repo: 'shop',
          branch: 'main',
          defaultBranch: 'main',
          cloneUrl: 'https://github.com/acme/shop.git',
        },
      });

      expect(updated).toEqual({
        ...job,
        state: 'running',
        stage: 'cloning',
        startedAt: '2025-03-01T12:00:05.000Z',
        updatedAt: '2025-03-01T12:00:05.000Z',
        statusComment: { id: 11, nodeId: 'IC_11' },
        pullRequest: { number: 3, url: 'https://github.com/acme/shop/pull/3' },
        checkRunId: 77,
        target: {
          owner: 'acme',
          repo: 'shop',
          branch: 'main',
          defaultBranch: 'main',
          cloneUrl: 'https://github.com/acme/shop.git',
        },
      });
      expect(await store.getJob(job.id)).toEqual(updated);
    });

    it('clears a field whose patch value is undefined', async () => {
      const store = await open();
      const { job } = await store.createJob(newJob());
      await store.updateJob(job.id, {
        error: { code: 'internal', message: 'boom' },
        statusComment: { id: 1, nodeId: 'IC_1' },
        stage: 'cloning',
      });

      const updated = await store.updateJob(job.id, {
        error: undefined,
        statusComment: undefined,
        stage: undefined,
      });

      expect(updated.error).toBeUndefined();
      expect(updated.statusComment).toBeUndefined();
      expect(updated.stage).toBeUndefined();
      expect(await store.getJob(job.id)).toEqual(updated);
    });

    it('keeps id, dedupe key and createdAt even when an untyped patch names them', async () => {
      const store = await open({ now: manualClock().now });
      const { job } = await store.createJob(newJob());

      const updated = await store.updateJob(job.id, {
        id: 'job-000000000000',
        dedupeKey: 'other',
        createdAt: '2000-01-01T00:00:00.000Z',
      } as never);

      expect(updated).toMatchObject({
        id: job.id,
        dedupeKey: job.dedupeKey,
        createdAt: job.createdAt,
      });
      expect((await store.createJob(newJob())).created).toBe(false);
    });

    it('throws on an unknown id, because that is a bug in the caller', async () => {
      const store = await open();

      const act = store.updateJob('job-ffffffffffff', { state: 'done' });

      await expect(act).rejects.toThrow('updateJob: no job with id job-ffffffffffff');
    });

    it('loses no field when several patches of one job run at once', async () => {
      const store = await open();
      const { job } = await store.createJob(newJob());

      await Promise.all([
        store.updateJob(job.id, { statusComment: { id: 1, nodeId: 'IC_1' } }),
        store.updateJob(job.id, { pullRequest: { number: 2, url: 'https://x/2' } }),
        store.updateJob(job.id, { checkRunId: 3 }),
        store.updateJob(job.id, { stage: 'analysing' }),
        store.claimJob(job.id, 'runner-1'),
      ]);

      expect(await store.getJob(job.id)).toMatchObject({
        statusComment: { id: 1, nodeId: 'IC_1' },
        pullRequest: { number: 2, url: 'https://x/2' },
        checkRunId: 3,
        stage: 'analysing',
        attempts: 1,
      });
    });

    itDurable('loses no field when two instances patch one job at once', async () => {
      const first = await open();
      const second = await openSibling();
      const { job } = await first.createJob(newJob());

      await Promise.all([
        first.updateJob(job.id, { statusComment: { id: 1, nodeId: 'IC_1' } }),
        second.updateJob(job.id, { pullRequest: { number: 2, url: 'https://x/2' } }),
        first.updateJob(job.id, { checkRunId: 3 }),
        second.updateJob(job.id, { error: { code: 'internal', message: 'boom' } }),
      ]);

      expect(await second.getJob(job.id)).toMatchObject({
        statusComment: { id: 1, nodeId: 'IC_1' },
        pullRequest: { number: 2, url: 'https://x/2' },
        checkRunId: 3,
        error: { code: 'internal', message: 'boom' },
      });
    });
  });

  describe(`store/${engine} latestJobForThread`, () => {
    interface Seeded {
      key: string;
      thread?: NewJob['thread'];
      /** Milliseconds to move the clock before creating this job. */
      after: number;
    }
    const thread7 = { owner: 'acme', repo: 'shop', issueNumber: 7, isPullRequest: false };

    it.each<[string, Seeded[], [string, string, number], string | undefined]>([
      [
        'the later createdAt wins',
        [
          { key: 'a', thread: thread7, after: 0 },
          { key: 'b', thread: thread7, after: 1_000 },
        ],
        ['acme', 'shop', 7],
        'b',
      ],
      [
        'insertion order breaks a createdAt tie',
        [
          { key: 'a', thread: thread7, after: 0 },
          { key: 'b', thread: thread7, after: 0 },
          { key: 'c', thread: thread7, after: 0 },
        ],
        ['acme', 'shop', 7],
        'c',
      ],
      [
        'jobs of other threads and jobs without a thread are ignored',
        [
          { key: 'a', thread: thread7, after: 0 },
          { key: 'b', thread: { ...thread7, issueNumber: 8 }, after: 1_000 },
          { key: 'c', thread: { ...thread7, repo: 'blog' }, after: 1_000 },
          { key: 'd', thread: undefined, after: 1_000 },
        ],
        ['acme', 'shop', 7],
        'a',
      ],
      [
        'owner and repository match case-insensitively, like GitHub',
        [{ key: 'a', thread: { ...thread7, owner: 'Acme' }, after: 0 }],
        ['ACME', 'Shop', 7],
        'a',
      ],
      [
        'no job in the thread',
        [{ key: 'a', thread: thread7, after: 0 }],
        ['acme', 'shop', 9],
        undefined,
      ],
    ])('%s', async (_name, seeded, [owner, repo, issueNumber], expectedKey) => {
      const clock = manualClock();
      const store = await open({ now: clock.now });
      for (const { key, thread, after } of seeded) {
        clock.advance(after);
        await store.createJob(newJob({ dedupeKey: key, thread }));
      }

      const latest = await store.latestJobForThread(owner, repo, issueNumber);

      expect(latest?.dedupeKey).toBe(expectedKey);
    });

    it('orders by createdAt even when an older job was inserted later', async () => {
      const times = ['2025-03-01T12:00:10.000Z', '2025-03-01T12:00:00.000Z'];
      const store = await open({ now: () => new Date(times.shift()!) });
      await store.createJob(newJob({ dedupeKey: 'newer' }));
      await store.createJob(newJob({ dedupeKey: 'older' }));

      const latest = await store.latestJobForThread('acme', 'shop', 7);

      expect(latest?.dedupeKey).toBe('newer');
    });

    it('finds the job by the thread a patch moved it to', async () => {
      const store = await open();
      const { job } = await store.createJob(newJob());

      await store.updateJob(job.id, { thread: { ...thread7, issueNumber: 8 } });

      expect(await store.latestJobForThread('acme', 'shop', 7)).toBeUndefined();
      expect((await store.latestJobForThread('acme', 'shop', 8))?.id).toBe(job.id);
    });
  });

  describe(`store/${engine} recentJobs and jobsInStates`, () => {
    /** a, b, c, d one second apart, then e and f in the same millisecond; states as given. */
    async function seed(store: Store, clock: ReturnType<typeof manualClock>): Promise<void> {
      const plan: [string, JobRecord['state'], number][] = [
        ['a', 'done', 1_000],
        ['b', 'queued', 1_000],
        ['c', 'running', 1_000],
        ['d', 'failed', 1_000],
        ['e', 'queued', 0],
        ['f', 'queued', 1_000],
      ];
      for (const [key, state, after] of plan) {
        const { job } = await store.createJob(newJob({ dedupeKey: key }));
        if (state !== 'queued') await store.updateJob(job.id, { state });
        clock.advance(after);
      }
    }

    it.each<[number, JobRecord['state'][] | undefined, string[]]>([
      [10, undefined, ['f', 'e', 'd', 'c', 'b', 'a']],
      [2, undefined, ['f', 'e']],
      [0, undefined, []],
      [-1, undefined, []],
      [2.7, undefined, ['f', 'e']],
      [10, ['queued'], ['f', 'e', 'b']],
      [10, ['queued', 'running'], ['f', 'e', 'c', 'b']],
      [1, ['done', 'failed'], ['d']],
      [10, [], []],
      [10, ['cancelled'], []],
    ])('recentJobs(%p, %j) lists %j, newest first', async (limit, states, expected) => {
      const clock = manualClock();
      const store = await open({ now: clock.now });
      await seed(store, clock);

      const jobs = await store.recentJobs(limit, states);

      expect(jobs.map((job) => job.dedupeKey)).toEqual(expected);
    });

    it.each<[JobRecord['state'][], number | undefined, string[]]>([
      [['queued', 'running'], undefined, ['b', 'c', 'e', 'f']],
      [['queued'], 2, ['b', 'e']],
      [['done', 'failed', 'running'], undefined, ['a', 'c', 'd']],
      [['queued'], 0, []],
      [[], undefined, []],
    ])('jobsInStates(%j, %p) lists %j, oldest first', async (states, limit, expected) => {
      const clock = manualClock();
      const store = await open({ now: clock.now });
      await seed(store, clock);

      const jobs = await store.jobsInStates(states, limit);

      expect(jobs.map((job) => job.dedupeKey)).toEqual(expected);
    });
  });

  describe(`store/${engine} claimJob`, () => {
    it('takes a queued job: running, the runner, startedAt and attempt 1', async () => {
      const clock = manualClock();
      const store = await open({ now: clock.now });
      const { job } = await store.createJob(newJob());
      clock.advance(2_000);

      const claimed = await store.claimJob(job.id, 'host:1');

      expect(claimed).toEqual({
        ...job,
        state: 'running',
        runner: 'host:1',
        attempts: 1,
        startedAt: '2025-03-01T12:00:02.000Z',
        updatedAt: '2025-03-01T12:00:02.000Z',
      });
      expect(await store.getJob(job.id)).toEqual(claimed);
    });

    it('takes a running job again (a run that died): attempt 2, first startedAt kept', async () => {
      const clock = manualClock();
      const store = await open({ now: clock.now });
      const { job } = await store.createJob(newJob());
      await store.claimJob(job.id, 'host:1');
      clock.advance(30_000);

      const claimed = await store.claimJob(job.id, 'host:2');

      expect(claimed).toMatchObject({
        state: 'running',
        runner: 'host:2',
        attempts: 2,
        startedAt: '2025-03-01T12:00:00.000Z',
        updatedAt: '2025-03-01T12:00:30.000Z',
      });
    });

    it('takes a job sent back to queued for a retry, keeping its last error', async () => {
      const store = await open();
      const { job } = await store.createJob(newJob());
      await store.claimJob(job.id, 'host:1');
      await store.updateJob(job.id, {
        state: 'queued',
        error: { code: 'internal', message: 'boom' },
      });

      const claimed = await store.claimJob(job.id, 'host:1');

      expect(claimed).toMatchObject({
        state: 'running',
        attempts: 2,
        error: { code: 'internal', message: 'boom' },
      });
    });

    it.each(['done', 'refused', 'failed', 'cancelled'] as const)(
      'leaves a %s job alone and answers undefined',
      async (state) => {
        const store = await open();
        const { job } = await store.createJob(newJob());
        const final = await store.updateJob(job.id, { state });

        const claimed = await store.claimJob(job.id, 'host:1');

        expect(claimed).toBeUndefined();
        expect(await store.getJob(job.id)).toEqual(final);
      },
    );

    it('answers undefined for an unknown job', async () => {
      const store = await open();

      const claimed = await store.claimJob('job-ffffffffffff', 'host:1');

      expect(claimed).toBeUndefined();
    });

    it('counts every claim when two arrive at once: attempts 1 and 2, never 1 twice', async () => {
      const store = await open();
      const { job } = await store.createJob(newJob());

      const claims = await Promise.all([
        store.claimJob(job.id, 'host:1'),
        store.claimJob(job.id, 'host:2'),
      ]);

      expect(claims.map((c) => c?.attempts).sort()).toEqual([1, 2]);
      const last = claims.find((c) => c?.attempts === 2)!;
      expect(await store.getJob(job.id)).toEqual(last);
    });

    // Semantics across processes: a claim succeeds whenever the state allows it (queued or
    // running), so two runners claiming at once both succeed, serialized by the database — the
    // later one counts attempt 2 and owns the run. Once a run records a final state, no claim
    // succeeds, which is what keeps a finished job from running again.
    itDurable('serializes claims from two instances and refuses both once final', async () => {
      const first = await open();
      const second = await openSibling();
      const { job } = await first.createJob(newJob());

      const claims = await Promise.all([
        first.claimJob(job.id, 'host-a:1'),
        second.claimJob(job.id, 'host-b:1'),
      ]);
      await second.updateJob(job.id, { state: 'done' });
      const late = await Promise.all([
        first.claimJob(job.id, 'host-a:1'),
        second.claimJob(job.id, 'host-b:1'),
      ]);

      expect(claims.map((c) => c?.attempts).sort()).toEqual([1, 2]);
      expect(late).toEqual([undefined, undefined]);
      expect(await first.getJob(job.id)).toMatchObject({
        state: 'done',
        attempts: 2,
        runner: claims.find((c) => c?.attempts === 2)!.runner,
      });
    });
  });

  describe(`store/${engine} countJobs`, () => {
    it('counts jobs per state and label, in state order then label', async () => {
      const store = await open();
      const seeded: [string, string, JobRecord['state']][] = [
        ['a', 'llm', 'queued'],
        ['b', 'llm', 'queued'],
        ['c', 'exec', 'queued'],
        ['d', 'llm', 'done'],
        ['e', 'llm_heavy', 'running'],
      ];
      for (const [key, label, state] of seeded) {
        const { job } = await store.createJob(newJob({ dedupeKey: key, label }));
        if (state !== 'queued') await store.updateJob(job.id, { state });
      }

      const counts = await store.countJobs();

      expect(counts).toEqual([
        { state: 'queued', label: 'exec', count: 1 },
        { state: 'queued', label: 'llm', count: 2 },
        { state: 'running', label: 'llm_heavy', count: 1 },
        { state: 'done', label: 'llm', count: 1 },
      ]);
    });

    it('is empty for an empty store', async () => {
      const store = await open();

      const counts = await store.countJobs();

      expect(counts).toEqual([]);
    });
  });

  describe(`store/${engine} checkpoints`, () => {
    it('saves, loads and lists a job’s checkpoints in the order first saved', async () => {
      const clock = manualClock();
      const store = await open({ now: clock.now });
      const value = { plans: [{ service: 'web', cpu: 250, notes: ['a', null] }], ok: true };
      await store.saveCheckpoint('job-1', 'agent-1@abc', value);
      clock.advance(1_000);
      await store.saveCheckpoint('job-1', 'agent-2@abc', 'draft');
      await store.saveCheckpoint('job-2', 'agent-1@abc', 1);
      clock.advance(1_000);

      await store.saveCheckpoint('job-1', 'agent-1@abc', { replaced: true });

      expect(await store.loadCheckpoint('job-1', 'agent-1@abc')).toEqual({
        jobId: 'job-1',
        stage: 'agent-1@abc',
        value: { replaced: true },
        savedAt: '2025-03-01T12:00:02.000Z',
      });
      expect(await store.checkpoints('job-1')).toEqual([
        {
          jobId: 'job-1',
          stage: 'agent-1@abc',
          value: { replaced: true },
          savedAt: '2025-03-01T12:00:02.000Z',
        },
        {
          jobId: 'job-1',
          stage: 'agent-2@abc',
          value: 'draft',
          savedAt: '2025-03-01T12:00:01.000Z',
        },
      ]);
      expect((await store.checkpoints('job-2')).map((c) => c.value)).toEqual([1]);
    });

    it('stores values as JSON: what loads back is the JSON of what was saved', async () => {
      const store = await open();
      const value = { at: new Date(START), skip: undefined, list: [1, 'two', { three: 3 }] };

      await store.saveCheckpoint('job-1', 'stage', value);
      value.list.push(4);

      expect((await store.loadCheckpoint('job-1', 'stage'))?.value).toEqual({
        at: '2025-03-01T12:00:00.000Z',
        list: [1, 'two', { three: 3 }],
      });
    });

    it('answers undefined and an empty list for what was never saved', async () => {
      const store = await open();
      await store.saveCheckpoint('job-1', 'agent-1@abc', 1);

      const missing = await store.loadCheckpoint('job-1', 'agent-1@def');
      const none = await store.checkpoints('job-2');

      expect(missing).toBeUndefined();
      expect(none).toEqual([]);
    });

    it('rejects a value JSON cannot hold, because that is a bug in the caller', async () => {
      const store = await open();

      const act = store.saveCheckpoint('job-1', 'stage', undefined);

      await expect(act).rejects.toThrow('saveCheckpoint: job-1 stage: the value is not JSON');
    });

    it('returns copies', async () => {
      const store = await open();
      await store.saveCheckpoint('job-1', 'stage', { n: 1 });

      const loaded = (await store.loadCheckpoint('job-1', 'stage'))!;
      (loaded.value as { n: number }).n = 2;
      const listed = await store.checkpoints('job-1');
      (listed[0]!.value as { n: number }).n = 3;

      expect((await store.loadCheckpoint('job-1', 'stage'))?.value).toEqual({ n: 1 });
    });
  });

  describe(`store/${engine} markDelivery`, () => {
    it.each<[string, number, string[], boolean[]]>([
      [
        'first time true, then false',
        10,
        ['a', 'a', 'b', 'a', 'b'],
        [true, false, true, false, false],
      ],
      [
        'forgets the least recently seen beyond the limit',
        2,
        ['a', 'b', 'c', 'a'],
        [true, true, true, true],
      ],
      [
        'a repeat refreshes an id, so the other one is forgotten',
        2,
        ['a', 'b', 'a', 'c', 'a', 'b'],
        [true, true, false, true, false, true],
      ],
      ['keeps exactly the limit', 2, ['a', 'b', 'b', 'a'], [true, true, false, false]],
      [
        'a limit of one remembers only the last',
        1,
        ['a', 'a', 'b', 'a'],
        [true, false, true, true],
      ],
    ])('%s', async (_name, maxDeliveries, ids, expected) => {
      const store = await open({ maxDeliveries });

      const results: boolean[] = [];
      for (const id of ids) results.push(await store.markDelivery(id));

      expect(results).toEqual(expected);
    });

    it('answers true exactly once when one delivery arrives five times at once', async () => {
      const store = await open();

      const results = await Promise.all(
        Array.from({ length: 5 }, () => store.markDelivery('guid-1')),
      );

      expect(results.filter(Boolean)).toHaveLength(1);
    });

    itDurable('answers true exactly once across two instances', async () => {
      const first = await open();
      const second = await openSibling();

      const results = await Promise.all([
        first.markDelivery('guid-1'),
        second.markDelivery('guid-1'),
        first.markDelivery('guid-1'),
        second.markDelivery('guid-1'),
      ]);

      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe(`store/${engine} approvals and audit`, () => {
    it('lists a job’s approvals in the order they were recorded, as copies', async () => {
      const store = await open();
      const approve: ApprovalRecord = {
        jobId: 'job-1',
        decision: 'reject',
        by: 'alice',
        reason: 'too big',
        at: '2025-03-01T12:00:00.000Z',
      };
      const reject: ApprovalRecord = {
        jobId: 'job-1',
        decision: 'approve',
        by: 'bob',
        at: '2025-03-01T12:01:00.000Z',
      };
      await store.recordApproval(approve);
      await store.recordApproval({ ...reject, jobId: 'job-2' });
      await store.recordApproval(reject);
      approve.by = 'mallory';

      const listed = await store.approvalsFor('job-1');
      listed[0]!.by = 'eve';

      expect(listed.map((a) => a.decision)).toEqual(['reject', 'approve']);
      expect(await store.approvalsFor('job-1')).toEqual([{ ...approve, by: 'alice' }, reject]);
      expect(await store.approvalsFor('job-3')).toEqual([]);
    });

    it.each<[number, string[]]>([
      [10, ['third', 'second', 'first']],
      [2, ['third', 'second']],
      [0, []],
    ])('returns the audit log newest first with limit %d', async (limit, expected) => {
      const store = await open();
      for (const action of ['first', 'second', 'third']) {
        const entry: AuditEntry = {
          // The same instant for all: order is insertion order, not the `at` text.
          at: '2025-03-01T12:00:00.000Z',
          actor: 'app',
          action,
          target: 'acme/shop',
        };
        await store.audit(entry);
      }

      const log = await store.auditLog(limit);

      expect(log.map((entry) => entry.action)).toEqual(expected);
    });

    it('stores a copy of each audit entry, optional fields included', async () => {
      const store = await open();
      const entry: AuditEntry = {
        at: '2025-03-01T12:00:00.000Z',
        actor: 'app',
        action: 'queued',
        target: 'x',
        jobId: 'job-1',
        detail: 'priority HIGH',
      };
      await store.audit(entry);
      entry.actor = 'mallory';

      const [logged] = await store.auditLog(1);

      expect(logged).toEqual({ ...entry, actor: 'app' });
    });
  });

  describe(`store/${engine} close`, () => {
    it('rejects every call after close, because that is a bug in the caller', async () => {
      const store = await open();
      await store.close();

      const calls = [
        store.getJob('job-1'),
        store.createJob(newJob()),
        store.claimJob('job-1', 'host:1'),
        store.markDelivery('a'),
        store.saveCheckpoint('job-1', 'stage', 1),
        store.auditLog(1),
      ];

      for (const call of calls) await expect(call).rejects.toThrow('store is closed');
      await expect(store.close()).resolves.toBeUndefined();
    });
  });
}
