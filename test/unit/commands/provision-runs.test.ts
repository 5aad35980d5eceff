/**
 * The store's count of runs is what bounds a job in the end: a queue's own attempt count starts
 * again on every resubmission, so a job that kills each runner it lands on is given up here.
 */
import pino from 'pino';
import { runProvisionJob, type JobDeps } from '../../../src/commands/provision.js';
import { createMemoryStore, type Store } from '../../../src/store/index.js';
import { createMemoryScm } from '../../support/memory-scm.js';

const REQUEST = {
  gitRepo: 'https://github.com/acme/shop',
  appDescription: 'Shop API in Go with PostgreSQL, 300 QPS peak',
  target: 'kubernetes' as const,
  origin: {
    kind: 'comment' as const,
    requestedBy: 'alice',
    repository: 'acme/shop',
    issueNumber: 7,
  },
};

async function storedJob(store: Store): Promise<string> {
  const { job } = await store.createJob({
    dedupeKey: 'comment:acme/shop#1',
    request: REQUEST,
    lockKey: 'acme/shop@main',
    installationId: 1,
    thread: { owner: 'acme', repo: 'shop', issueNumber: 7, isPullRequest: false },
    target: {
      owner: 'acme',
      repo: 'shop',
      branch: 'main',
      defaultBranch: 'main',
      cloneUrl: 'https://github.com/acme/shop.git',
    },
  });
  return job.id;
}

function deps(store: Store, maxRuns: number | undefined, planned: { count: number }): JobDeps {
  const scm = createMemoryScm();
  return {
    store,
    settings: { githubHost: 'github.com', docsUrl: 'https://docs.example', statusEditMs: 0 },
    log: pino({ level: 'silent' }),
    scmFor: async () => scm,
    planDeps: async () => {
      planned.count++;
      throw new Error('the plan must not start');
    },
    ...(maxRuns === undefined ? {} : { maxRuns }),
  };
}

const context = {
  signal: new AbortController().signal,
  attempt: 1,
  lastAttempt: false,
  runner: 'runner-a',
};

describe('runProvisionJob: runs in all', () => {
  it('gives up a job the store has seen start more than maxRuns times, without running it', async () => {
    const store = createMemoryStore();
    const id = await storedJob(store);
    // Three runs that died without finishing (each claim counts one).
    for (let i = 0; i < 3; i++) await store.claimJob(id, `runner-${i}`);
    const planned = { count: 0 };

    await runProvisionJob(id, context, deps(store, 3, planned));

    const job = await store.getJob(id);
    expect(planned.count).toBe(0);
    expect(job).toMatchObject({
      state: 'failed',
      attempts: 4,
      error: { code: 'internal', message: 'started 3 times without finishing' },
    });
    expect(job?.finishedAt).toBeDefined();
  });

  it('runs a job that is within its runs', async () => {
    const store = createMemoryStore();
    const id = await storedJob(store);
    await store.claimJob(id, 'runner-0');
    const planned = { count: 0 };

    // planDeps throws: the attempt fails and is handed back to the pool for a retry.
    await expect(runProvisionJob(id, context, deps(store, 3, planned))).rejects.toThrow();

    expect(planned.count).toBe(1);
    expect(await store.getJob(id)).toMatchObject({ state: 'queued', attempts: 2 });
  });
});
