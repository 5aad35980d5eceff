/**
 * The GitHub App end to end over real sockets: `ai-provision serve` as a child process receives
 * signed webhooks, clones from a git server on loopback (https, self-signed CA) and talks to a
 * fake GitHub API that records every call.
 */
import { join } from 'node:path';
import { filesOf, startAppHarness, type AppHarness } from '../../src/bench/app-harness.js';
import type { FakeGitHubCall } from '../../src/bench/fake-github-api.js';

const SHOP = filesOf(join(process.cwd(), 'examples', 'shop-monorepo'));
const REQUEST = [
  '/ai-provision',
  '',
  'git_repo: "https://github.com/acme/shop"',
  'app_description: "Online shop: Go orders API, Spring Boot inventory, Next.js storefront; 2k QPS peak, 99.95% availability, PostgreSQL, Kafka, Redis"',
].join('\n');

let h: AppHarness;

beforeAll(async () => {
  h = await startAppHarness({
    repos: [
      {
        owner: 'acme',
        repo: 'shop',
        files: SHOP,
        permissions: { alice: 'write', bob: 'read', carol: 'admin' },
        issues: [1, 2, 3, 4, 5, 6, 7, 8],
        pulls: { 9: { headSha: 'c'.repeat(40), headRef: 'feature', baseRef: 'main' } },
      },
      {
        owner: 'acme',
        repo: 'docs',
        files: { 'README.md': '# Only documentation here\n' },
        permissions: { alice: 'write' },
      },
      {
        owner: 'acme',
        repo: 'strict',
        files: { 'README.md': '# strict\n' },
        apiFiles: { '.github/ai-provision.yml': 'access:\n  min_permission: admin\n' },
        permissions: { alice: 'write' },
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

function callsSince(start: number): FakeGitHubCall[] {
  return h.github.calls.slice(start);
}

function threadComments(repo: string, issueNumber: number) {
  return h.github.comments.filter((c) => c.repo === repo && c.issueNumber === issueNumber);
}

describe('app (serve) end to end', () => {
  it('answers a comment with a pull request: 👀, one status comment edited to the end, one commit', async () => {
    const start = h.github.calls.length;

    const sent = await h.comment({ owner: 'acme', repo: 'shop', body: REQUEST, login: 'alice' });
    const pr = await h.waitFor(
      () => h.github.pulls.find((p) => p.repo === 'shop' && p.head.startsWith('ai-provision/')),
      60_000,
      'a pull request',
    );
    const status = await h.waitFor(
      () => threadComments('shop', 1).find((c) => c.body.includes(`/pull/${pr.number}`)),
      30_000,
      'the final status comment',
    );

    expect(sent.status).toBe(200);
    expect(h.github.reactions).toContainEqual(
      expect.objectContaining({ repo: 'shop', commentId: sent.commentId, content: 'eyes' }),
    );
    expect(threadComments('shop', 1)).toHaveLength(1);
    expect(status.body).toMatch(/^<!-- ai-provision:status job=job-[0-9a-f]{12} -->/);
    expect(pr.head).toMatch(/^ai-provision\//);
    expect(pr.base).toBe('main');
    expect(pr.body).toContain('<!-- ai-provision:pr -->');
    expect(pr.body).toContain('```mermaid');
    expect(pr.body.length).toBeLessThanOrEqual(65_536);
    expect(pr.labels).toContain('ai-provision');
    const commit = h.github.commits.get(pr.headSha);
    expect(commit?.parents).toHaveLength(1);
    const tree = h.github.trees.get(commit!.tree);
    const paths = tree!.entries.map((e) => e.path);
    expect(paths.some((p) => p.startsWith('deploy/'))).toBe(true);
    const writes = callsSince(start).filter((c) => c.method !== 'GET');
    expect(writes.filter((c) => c.path.endsWith('/git/commits'))).toHaveLength(1);
    expect(writes.filter((c) => c.path.endsWith('/git/trees'))).toHaveLength(1);
    expect(h.logs()).not.toContain(h.github.tokensIssued[0]);
  }, 90_000);

  it('rejects a delivery with a bad signature and queues nothing', async () => {
    const start = h.github.calls.length;

    const sent = await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: REQUEST,
      login: 'alice',
      issueNumber: 2,
      signature: `sha256=${'0'.repeat(64)}`,
    });
    await new Promise((r) => setTimeout(r, 300));

    expect(sent.status).toBeGreaterThanOrEqual(400);
    expect(sent.status).toBeLessThan(500);
    expect(callsSince(start)).toEqual([]);
  });

  it('refuses a commenter without write permission and says what is needed', async () => {
    await h.comment({ owner: 'acme', repo: 'shop', body: REQUEST, login: 'bob', issueNumber: 3 });
    const reply = await h.waitFor(() => threadComments('shop', 3)[0], 15_000, 'a refusal');

    expect(reply.body).toMatch(/permission/i);
    expect(reply.body).toMatch(/write/);
    expect(h.github.reactions.filter((r) => r.repo === 'shop')).toHaveLength(1);
  });

  it('answers a malformed request with what is wrong and a correct example; nothing is queued', async () => {
    const body = '/ai-provision\n\nrepo: "https://github.com/acme/shop"\n';

    await h.comment({ owner: 'acme', repo: 'shop', body, login: 'alice', issueNumber: 4 });
    const reply = await h.waitFor(() => threadComments('shop', 4)[0], 15_000, 'a reply');

    expect(reply.body).toContain('git_repo');
    expect(reply.body).toContain('app_description');
    expect(reply.body).toContain('```');
    expect(h.github.reactions.filter((r) => r.repo === 'shop')).toHaveLength(1);
  });

  it('runs a duplicate delivery once', async () => {
    const body = REQUEST.replace('acme/shop', 'acme/docs');
    const first = await h.comment({ owner: 'acme', repo: 'docs', body, login: 'alice' });

    const again = await h.comment({
      owner: 'acme',
      repo: 'docs',
      body,
      login: 'alice',
      deliveryId: first.deliveryId,
      commentId: first.commentId,
    });
    const done = await h.waitFor(
      () => threadComments('docs', 1).find((c) => /no service/i.test(c.body)),
      30_000,
      'the job to end',
    );

    expect(again.status).toBe(200);
    expect(h.github.reactions.filter((r) => r.repo === 'docs')).toHaveLength(1);
    expect(threadComments('docs', 1)).toHaveLength(1);
    expect(done.body).toContain('Dockerfile');
    expect(done.body).toContain('repo-no-services');
    expect(h.github.pulls.filter((p) => p.repo === 'docs')).toEqual([]);
  }, 60_000);

  it('queues a second request for the same repository and branch, tells so, and updates the same pull request', async () => {
    const prsBefore = h.github.pulls.filter((p) => p.repo === 'shop').length;
    expect(prsBefore).toBeGreaterThan(1); // the seeded PR #9 and the first test's

    await h.comment({ owner: 'acme', repo: 'shop', body: REQUEST, login: 'alice', issueNumber: 5 });
    await h.comment({ owner: 'acme', repo: 'shop', body: REQUEST, login: 'carol', issueNumber: 6 });
    const both = await h.waitFor(
      () => {
        const ends = [5, 6].map((n) => threadComments('shop', n)[0]?.body ?? '');
        return ends.every((b) => /\/pull\/\d+/.test(b)) ? ends : undefined;
      },
      90_000,
      'both jobs to finish',
    );
    const firstJob = /job=(?<id>job-[0-9a-f]{12})/.exec(both[0]!)?.groups?.id;
    // The second thread's status comment as first posted (the fake keeps only the latest text).
    const posted = h.github.calls.find(
      (c) => c.method === 'POST' && c.path === '/repos/acme/shop/issues/6/comments',
    )?.body as { body: string } | undefined;

    expect(firstJob).toBeDefined();
    expect(posted?.body).toContain(firstJob);
    expect(posted?.body).toMatch(/queued/i);
    expect(h.github.pulls.filter((p) => p.repo === 'shop')).toHaveLength(prsBefore);
  }, 120_000);

  it('ignores bots and edits of a comment that already asked', async () => {
    const start = h.github.calls.length;

    await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: REQUEST,
      login: 'renovate[bot]',
      senderType: 'Bot',
      issueNumber: 7,
    });
    await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: `${REQUEST}\n`,
      login: 'alice',
      issueNumber: 7,
      action: 'edited',
      changesBodyFrom: REQUEST,
    });
    await new Promise((r) => setTimeout(r, 500));

    expect(callsSince(start)).toEqual([]);
  });

  it('takes an edit that adds the command for the first time', async () => {
    await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: '/ai-provision help',
      login: 'alice',
      issueNumber: 8,
      action: 'edited',
      changesBodyFrom: 'a typo',
    });
    const reply = await h.waitFor(() => threadComments('shop', 8)[0], 15_000, 'help');

    expect(reply.body).toContain('/ai-provision status');
  });

  it('uses the repository config to decide who may ask', async () => {
    const body = REQUEST.replace('acme/shop', 'acme/strict');

    await h.comment({ owner: 'acme', repo: 'strict', body, login: 'alice' });
    const reply = await h.waitFor(() => threadComments('strict', 1)[0], 15_000, 'a refusal');

    expect(reply.body).toMatch(/admin/);
    expect(reply.body).toContain('min_permission');
  });

  it('adds a check run on a pull-request thread', async () => {
    await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: REQUEST,
      login: 'alice',
      issueNumber: 9,
      isPullRequest: true,
    });
    const run = await h.waitFor(
      () =>
        h.github.checkRuns.find((r) => r.headSha === 'c'.repeat(40) && r.status === 'completed'),
      60_000,
      'a completed check run',
    );

    expect(run.name).toBe('ai-provision');
    expect(run.conclusion).toBe('success');
  }, 90_000);

  it('answers a repository_dispatch with a pull request', async () => {
    const before = h.github.pulls.length;

    const sent = await h.dispatch({
      owner: 'acme',
      repo: 'shop',
      login: 'github-actions[bot]',
      clientPayload: {
        git_repo: 'https://github.com/acme/shop',
        app_description: 'Online shop, 500 req/s peak, staging environment',
        environment: 'staging',
      },
    });
    const pr = await h.waitFor(
      () => (h.github.pulls.length > before ? h.github.pulls.at(-1) : undefined),
      60_000,
      'the dispatch pull request',
    );

    expect(sent.status).toBe(200);
    expect(pr.head).toMatch(/staging/);
  }, 90_000);

  it('answers a malformed repository_dispatch with a failed check run', async () => {
    await h.dispatch({
      owner: 'acme',
      repo: 'docs',
      login: 'alice',
      clientPayload: { repo: 'https://github.com/acme/docs' },
    });
    const run = await h.waitFor(
      () => h.github.checkRuns.find((r) => r.repo === 'docs' && r.conclusion === 'failure'),
      15_000,
      'a failed check run',
    );

    expect(run.output.summary).toContain('git_repo');
  });

  it('collapses the earlier status comment when the thread asks again', async () => {
    const earlier = threadComments('shop', 1)[0]!;

    await h.comment({ owner: 'acme', repo: 'shop', body: REQUEST, login: 'alice' });
    const later = await h.waitFor(
      () =>
        threadComments('shop', 1).find((c) => c.id !== earlier.id && /\/pull\/\d+/.test(c.body)),
      60_000,
      'the new status comment',
    );

    expect(h.github.comments.find((c) => c.id === earlier.id)?.minimized).toBe(true);
    expect(later.minimized).toBe(false);
  }, 90_000);

  it("answers status with the thread's latest job and records approve / reject by who may", async () => {
    await h.comment({ owner: 'acme', repo: 'shop', body: REQUEST, login: 'alice', issueNumber: 8 });
    await h.waitFor(
      () => threadComments('shop', 8).find((c) => /\/pull\/\d+/.test(c.body)),
      60_000,
      'the job in thread 8',
    );

    await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: '/ai-provision status',
      login: 'bob',
      issueNumber: 8,
    });
    await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: '/ai-provision approve',
      login: 'alice',
      issueNumber: 8,
    });
    await h.comment({
      owner: 'acme',
      repo: 'shop',
      body: '/ai-provision approve ship it',
      login: 'carol',
      issueNumber: 8,
    });
    const replies = await h.waitFor(
      () => {
        const bodies = threadComments('shop', 8).map((c) => c.body);
        const status = bodies.find((b) => b.includes('Sizing status'));
        const denied = bodies.find((b) => b.includes('@alice') && /maintain/.test(b));
        const approved = bodies.find((b) => b.includes('carol') && b.includes('ship it'));
        return status && denied && approved ? { status, denied, approved } : undefined;
      },
      15_000,
      'the status and approve replies',
    );

    expect(replies.status).toMatch(/\/pull\/\d+/);
    expect(replies.denied).toContain('approvals.min_permission');
    expect(replies.approved).toMatch(/job-[0-9a-f]{12}/);
  }, 90_000);

  it('serves /healthz', async () => {
    const response = await fetch(`${h.appUrl}/healthz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', mode: 'in-process' });
  });

  it('serves /metrics: the jobs this server ran, by state and label, and their stages', async () => {
    const response = await fetch(`${h.appUrl}/metrics`);
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    // Earlier tests in this file ran provision jobs to the end on the llm label.
    const completed = /^ai_provision_jobs_total\{state="completed",label="llm"\} (\d+)$/m.exec(
      text,
    );
    expect(Number(completed?.[1])).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^ai_provision_jobs\{state="done",label="llm"\} [1-9]\d*$/m);
    expect(text).toMatch(/^ai_provision_stage_duration_seconds_count\{stage="agent-2"\} [1-9]/m);
    expect(text).toMatch(/^ai_provision_runners 1$/m);
  });
});
