import { createMemoryStore } from '../../../src/store/index.js';
import type {
  ApprovalRecord,
  AuditEntry,
  JobRecord,
  NewJob,
  Store,
} from '../../../src/store/index.js';

const START = Date.parse('2025-03-01T12:00:00.000Z');

/** A clock the test moves by hand. */
function manualClock(): { now: () => Date; advance: (ms: number) => void } {
  let at = START;
  return { now: () => new Date(at), advance: (ms) => (at += ms) };
}

function newJob(overrides: Partial<NewJob> = {}): NewJob {
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

describe('store/memory createJob', () => {
  it('creates a queued job with a random id and the clock’s time', async () => {
    const store = createMemoryStore({ now: manualClock().now });

    const { created, job } = await store.createJob(newJob());

    expect(created).toBe(true);
    expect(job.id).toMatch(/^job-[0-9a-f]{12}$/);
    expect(job).toMatchObject({
      state: 'queued',
      dedupeKey: 'comment:acme/shop#1',
      lockKey: 'acme/shop@main',
      createdAt: '2025-03-01T12:00:00.000Z',
      updatedAt: '2025-03-01T12:00:00.000Z',
    });
    expect(await store.getJob(job.id)).toEqual(job);
  });

  it('creates one job when two requests with the same dedupe key arrive together', async () => {
    const store = createMemoryStore();

    const results = await Promise.all([
      store.createJob(newJob({ dedupeKey: 'delivery:abc' })),
      store.createJob(newJob({ dedupeKey: 'delivery:abc' })),
    ]);

    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results[0]!.job.id).toBe(results[1]!.job.id);
    expect(await store.recentJobs(10)).toHaveLength(1);
  });

  it('creates separate jobs for different dedupe keys', async () => {
    const store = createMemoryStore();

    const first = await store.createJob(newJob({ dedupeKey: 'comment:acme/shop#1' }));
    const second = await store.createJob(newJob({ dedupeKey: 'comment:acme/shop#2' }));

    expect(second.created).toBe(true);
    expect(second.job.id).not.toBe(first.job.id);
  });

  it('returns the stored job, not the new input, for a known dedupe key', async () => {
    const store = createMemoryStore();
    const { job: original } = await store.createJob(newJob());

    const again = await store.createJob(newJob({ lockKey: 'acme/other@main' }));

    expect(again).toEqual({ created: false, job: original });
  });
});

describe('store/memory copies', () => {
  it.each<[string, (store: Store, id: string, input: NewJob) => Promise<void>, Partial<JobRecord>]>(
    [
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
    ],
  )('keeps the stored job unchanged when the caller mutates %s', async (_name, mutate, patched) => {
    const store = createMemoryStore({ now: manualClock().now });
    const input = newJob();
    const { job } = await store.createJob(input);
    const before = (await store.getJob(job.id))!;

    await mutate(store, job.id, input);

    expect(await store.getJob(job.id)).toEqual({ ...before, ...patched });
    expect(before.request.origin.requestedBy).toBe('octocat');
  });
});

describe('store/memory updateJob', () => {
  it('merges the patch, sets updatedAt and keeps createdAt', async () => {
    const clock = manualClock();
    const store = createMemoryStore({ now: clock.now });
    const { job } = await store.createJob(newJob());
    clock.advance(5_000);

    const updated = await store.updateJob(job.id, {
      state: 'running',
      stage: 'cloning',
      startedAt: '2025-03-01T12:00:05.000Z',
    });

    expect(updated).toEqual({
      ...job,
      state: 'running',
      stage: 'cloning',
      startedAt: '2025-03-01T12:00:05.000Z',
      updatedAt: '2025-03-01T12:00:05.000Z',
    });
    expect(await store.getJob(job.id)).toEqual(updated);
  });

  it('keeps id, dedupe key and createdAt even when an untyped patch names them', async () => {
    const store = createMemoryStore({ now: manualClock().now });
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
    const store = createMemoryStore();

    const act = store.updateJob('job-ffffffffffff', { state: 'done' });

    await expect(act).rejects.toThrow('updateJob: no job with id job-ffffffffffff');
  });

  it('answers undefined for an unknown id in getJob', async () => {
    const store = createMemoryStore();

    const job = await store.getJob('job-ffffffffffff');

    expect(job).toBeUndefined();
  });
});

describe('store/memory latestJobForThread', () => {
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
      [{ key: 'a', thread: thread7, after: 0 }],
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
    const store = createMemoryStore({ now: clock.now });
    for (const { key, thread, after } of seeded) {
      clock.advance(after);
      await store.createJob(newJob({ dedupeKey: key, thread }));
    }

    const latest = await store.latestJobForThread(owner, repo, issueNumber);

    expect(latest?.dedupeKey).toBe(expectedKey);
  });

  it('orders by createdAt even when an older job was inserted later', async () => {
    const times = ['2025-03-01T12:00:10.000Z', '2025-03-01T12:00:00.000Z'];
    const store = createMemoryStore({ now: () => new Date(times.shift()!) });
    await store.createJob(newJob({ dedupeKey: 'newer' }));
    await store.createJob(newJob({ dedupeKey: 'older' }));

    const latest = await store.latestJobForThread('acme', 'shop', 7);

    expect(latest?.dedupeKey).toBe('newer');
  });
});

describe('store/memory recentJobs', () => {
  it.each<[number, string[]]>([
    [10, ['c', 'b', 'a']],
    [2, ['c', 'b']],
    [0, []],
    [-1, []],
  ])('with limit %d lists %j, newest first', async (limit, expected) => {
    const clock = manualClock();
    const store = createMemoryStore({ now: clock.now });
    for (const key of ['a', 'b', 'c']) {
      await store.createJob(newJob({ dedupeKey: key }));
      clock.advance(1_000);
    }

    const jobs = await store.recentJobs(limit);

    expect(jobs.map((job) => job.dedupeKey)).toEqual(expected);
  });
});

describe('store/memory markDelivery', () => {
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
  ])('%s', async (_name, maxDeliveries, ids, expected) => {
    const store = createMemoryStore({ maxDeliveries });

    const results: boolean[] = [];
    for (const id of ids) results.push(await store.markDelivery(id));

    expect(results).toEqual(expected);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects maxDeliveries %p', (maxDeliveries) => {
    const act = (): Store => createMemoryStore({ maxDeliveries });

    expect(act).toThrow('maxDeliveries: expected a positive integer');
  });
});

describe('store/memory approvals and audit', () => {
  it('lists a job’s approvals in the order they were recorded, as copies', async () => {
    const store = createMemoryStore();
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
    const store = createMemoryStore();
    for (const action of ['first', 'second', 'third']) {
      const entry: AuditEntry = {
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

  it('stores a copy of each audit entry', async () => {
    const store = createMemoryStore();
    const entry: AuditEntry = {
      at: '2025-03-01T12:00:00.000Z',
      actor: 'app',
      action: 'queued',
      target: 'x',
    };
    await store.audit(entry);
    entry.actor = 'mallory';

    const [logged] = await store.auditLog(1);

    expect(logged?.actor).toBe('app');
  });
});

describe('store/memory close', () => {
  it('rejects every call after close, because that is a bug in the caller', async () => {
    const store = createMemoryStore();
    await store.close();

    const calls = [store.getJob('job-1'), store.markDelivery('a'), store.auditLog(1)];

    for (const call of calls) await expect(call).rejects.toThrow('store is closed');
    await expect(store.close()).resolves.toBeUndefined();
  });
});
