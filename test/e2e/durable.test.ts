/**
 * No accepted request is lost, end to end with the built CLI: `serve` is killed (SIGKILL, a
 * crash) with jobs queued and running and started again on the same data; and, on Redis and
 * PostgreSQL for real, a `worker` runner is killed mid-job while another runner is up. Every job
 * must finish exactly once: one pull request per repository, one final status, the store's record
 * done. Clones are slowed down by the git server so the kills land mid-job.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { filesOf, startAppHarness, type AppHarness } from '../../src/bench/app-harness.js';
import {
  startPostgres,
  startRedis,
  type PostgresServer,
  type RedisServer,
} from '../../src/bench/servers.js';
import type { JobRecord } from '../../src/store/index.js';

const run = promisify(execFile);
const SHOP = filesOf(join(process.cwd(), 'examples', 'shop-monorepo'));

function request(repo: string): string {
  return [
    '/ai-provision',
    '',
    `git_repo: "https://github.com/acme/${repo}"`,
    'app_description: "Online shop: Go orders API, Spring Boot inventory, Next.js storefront; 2k QPS peak"',
  ].join('\n');
}

/** The jobs as `ai-provision status --json` prints them, with the given store settings. */
async function statusJson(env: Record<string, string>): Promise<JobRecord[]> {
  const { stdout } = await run(
    process.execPath,
    [join(process.cwd(), 'dist', 'cli.js'), 'status', '--json', '--limit', '50'],
    { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } },
  );
  return JSON.parse(stdout) as JobRecord[];
}

/** Polls the status command (bounded) until every job is final: the record is written after the pull request. */
async function settledJobs(env: Record<string, string>, count: number): Promise<JobRecord[]> {
  let jobs: JobRecord[] = [];
  for (let i = 0; i < 100; i++) {
    jobs = await statusJson(env);
    if (jobs.length === count && jobs.every((j) => !['queued', 'running'].includes(j.state))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return jobs;
}

function pullsCreated(h: AppHarness, repo: string): number {
  return h.github.calls.filter(
    (c) => c.method === 'POST' && c.path === `/repos/acme/${repo}/pulls` && c.status === 201,
  ).length;
}

describe('durable jobs: the embedded store (SQLite) and the in-process pool', () => {
  let h: AppHarness;
  const repos = ['shop-a', 'shop-b', 'shop-c'];

  beforeAll(async () => {
    h = await startAppHarness({
      repos: repos.map((repo) => ({
        owner: 'acme',
        repo,
        // One distinct file per copy: the fake API keys commits by SHA across repositories.
        files: { ...SHOP, 'COPY.md': `${repo}\n` },
        permissions: { alice: 'write' },
      })),
      // One job at a time, and slow clones: when serve is killed one job runs and two wait.
      env: { AI_PROVISION_CONCURRENCY: '1', AI_PROVISION_LABEL_LIMITS: 'llm=1' },
      // Slow clones (three or more requests each): the kill lands while the first job is cloning.
      gitDelayMs: 1500,
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('serve killed with one job running and two queued: after the restart all three finish, exactly once', async () => {
    for (const repo of repos) {
      const sent = await h.comment({ owner: 'acme', repo, body: request(repo), login: 'alice' });
      expect(sent.status).toBe(200);
    }
    const storeEnv = { AI_PROVISION_DATA_DIR: h.dataDir };
    // All three accepted (status comments posted), and the first one running.
    await h.waitFor(
      () => (h.github.comments.length >= 3 ? true : undefined),
      30_000,
      'three status comments',
    );
    let before: JobRecord[] = [];
    for (let i = 0; i < 200; i++) {
      before = await statusJson(storeEnv);
      if (before.some((j) => j.state === 'running' && j.stage === 'cloning')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(before.map((j) => j.state).sort()).toEqual(['queued', 'queued', 'running']);
    expect(h.github.pulls).toHaveLength(0);

    await h.restartServer('SIGKILL');

    for (const repo of repos) {
      await h.waitFor(
        () => h.github.pulls.find((p) => p.repo === repo),
        90_000,
        `the pull request of ${repo}`,
      );
    }
    const after = await settledJobs(storeEnv, 3);
    expect(after).toHaveLength(3);
    expect(after.map((j) => j.state)).toEqual(['done', 'done', 'done']);
    for (const repo of repos) expect(pullsCreated(h, repo)).toBe(1);
    // The job that was running when serve died was claimed again, so it counts two runs.
    expect(after.map((j) => j.attempts).sort()).toEqual([1, 1, 2]);
    // Each thread has one status comment, edited to its pull request.
    for (const repo of repos) {
      const comments = h.github.comments.filter((c) => c.repo === repo);
      expect(comments).toHaveLength(1);
      expect(comments[0]!.body).toContain('/pull/');
    }
  }, 180_000);
});

describe('durable jobs: Redis and PostgreSQL with runners', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  let h: AppHarness;
  let databaseUrl: string;

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    databaseUrl = await postgres.createDatabase('durable_e2e');
    h = await startAppHarness({
      repos: [
        {
          owner: 'acme',
          repo: 'shop',
          files: SHOP,
          permissions: { alice: 'write' },
        },
      ],
      env: {
        REDIS_URL: redis.url,
        DATABASE_URL: databaseUrl,
        // serve takes webhooks only; the runners do the work.
        AI_PROVISION_LOCAL_RUNNER: 'false',
        AI_PROVISION_RUNNER_LOCK_MS: '1500',
        AI_PROVISION_QUEUE_PREFIX: 'e2e',
      },
      // Slow enough that the job is still cloning when the second runner is up and the first dies.
      gitDelayMs: 3000,
    });
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  it('a runner killed mid-job: the job finishes on the other runner, exactly once', async () => {
    const first = await h.startWorker(['--labels', 'llm,exec', '--concurrency', '1']);
    const sent = await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: request('shop'),
      login: 'alice',
    });
    expect(sent.status).toBe(200);

    const storeEnv = { DATABASE_URL: databaseUrl };
    let running: JobRecord | undefined;
    for (let i = 0; i < 300 && running === undefined; i++) {
      running = (await statusJson(storeEnv)).find((j) => j.state === 'running');
      if (running === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(running?.attempts).toBe(1);
    const firstRunner = running!.runner;

    const second = await h.startWorker([
      '--labels',
      'llm',
      '--concurrency',
      '1',
      '--metrics-port',
      '0',
    ]);
    await first.kill('SIGKILL');
    // The kill must land mid-job, or this test proves nothing.
    expect(h.github.pulls).toHaveLength(0);

    const pr = await h.waitFor(
      () => h.github.pulls.find((p) => p.repo === 'shop'),
      90_000,
      'the pull request',
    );
    expect(pr.head).toMatch(/^ai-provision\//);
    const [job] = await settledJobs(storeEnv, 1);
    expect(job?.state).toBe('done');
    expect(job?.attempts).toBe(2);
    expect(job?.runner).not.toBe(firstRunner);
    expect(pullsCreated(h, 'shop')).toBe(1);
    const comments = h.github.comments.filter((c) => c.repo === 'shop');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`/pull/${pr.number}`);

    // The runner that finished it serves its own metrics.
    const metricsUrl = /"metricsUrl":"(?<url>http:\/\/127\.0\.0\.1:\d+)"/.exec(second.output())
      ?.groups?.url;
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^ai_provision_jobs_total\{state="completed",label="llm"\} 1$/m);
    // The killed runner's registry entry stays fresh for 3 of its heartbeats (5 s each), then
    // the count drops to the one runner left; bounded at 40 polls of 0.5 s.
    let runners = '';
    for (let i = 0; i < 40; i++) {
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      runners = /^ai_provision_runners (?<n>\d+)$/m.exec(text)?.groups?.n ?? '';
      if (runners === '1') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(runners).toBe('1');
    await second.kill('SIGTERM');
  }, 180_000);
});
