import { createSign, generateKeyPairSync } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { ProbotOctokit } from 'probot';
import { startFakeGitHub, type FakeGitHub } from '../../../src/bench/fake-github-api.js';
import {
  ScmError,
  createGitHubScm,
  permissionFrom,
  type OctokitLike,
  type RepoName,
  type ScmClient,
} from '../../../src/scm/index.js';

const APP_ID = 4242;
const INSTALLATION_ID = 77;
const BASE = 'a'.repeat(40);
const BASE_TREE = 'b'.repeat(40);
const REPO: RepoName = { owner: 'acme', repo: 'shop' };
const QUIET = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const { privateKey: PRIVATE_KEY } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function appJwt(): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iat: now - 30, exp: now + 540, iss: APP_ID })}`;
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(PRIVATE_KEY, 'base64url')}`;
}

async function installationToken(fake: FakeGitHub): Promise<string> {
  const app = new Octokit({ auth: appJwt(), baseUrl: fake.url, log: QUIET });
  const response = await app.request('POST /app/installations/{installation_id}/access_tokens', {
    installation_id: INSTALLATION_ID,
  });
  return response.data.token;
}

/** An OctokitLike whose request answers or throws what the test says. */
function stubOctokit(answer: () => Promise<{ status: number; data: unknown }>): OctokitLike {
  return {
    request: async () => ({ ...(await answer()), headers: {} }),
    graphql: async () => ({}),
  };
}

describe('scm/github', () => {
  let fake: FakeGitHub;
  let token: string;
  let scm: ScmClient;

  beforeEach(async () => {
    fake = await startFakeGitHub({
      appId: APP_ID,
      installationId: INSTALLATION_ID,
      repos: [
        {
          ...REPO,
          cloneUrl: 'http://127.0.0.1:9/acme/shop.git',
          defaultBranch: 'trunk',
          private: true,
          commits: { [BASE]: { tree: BASE_TREE } },
          branches: { trunk: BASE },
          files: {
            '.github/ai-provision.yml': 'access:\n  min_permission: write\n',
            'docs/a.md': 'é\n',
          },
          permissions: {
            alice: 'admin',
            bob: 'maintain',
            carol: 'write',
            dave: 'triage',
            erin: 'read',
            frank: 'none',
          },
          issues: [7],
          pulls: { 8: { headSha: BASE, headRef: 'feature', baseRef: 'trunk' } },
        },
      ],
    });
    token = await installationToken(fake);
    scm = createGitHubScm(new Octokit({ auth: token, baseUrl: fake.url, log: QUIET }));
  });

  afterEach(async () => {
    await fake.close();
  });

  describe('reads', () => {
    it('getRepo maps the repository, and reads an unknown one as undefined', async () => {
      const repo = await scm.getRepo(REPO);
      const missing = await scm.getRepo({ owner: 'acme', repo: 'nope' });

      expect(repo).toEqual({
        owner: 'acme',
        repo: 'shop',
        fullName: 'acme/shop',
        defaultBranch: 'trunk',
        private: true,
        cloneUrl: 'http://127.0.0.1:9/acme/shop.git',
        htmlUrl: 'https://github.com/acme/shop',
      });
      expect(missing).toBeUndefined();
    });

    it.each([
      ['alice', 'admin'],
      ['bob', 'maintain'],
      ['carol', 'write'],
      ['dave', 'triage'],
      ['erin', 'read'],
      ['frank', 'none'],
      ['mallory', 'none'], // not known to GitHub: 404
    ])('permissionOf(%s) is %s', async (login, expected) => {
      const permission = await scm.permissionOf(REPO, login);

      expect(permission).toBe(expected);
    });

    it('readFile decodes a file at a ref, and reads a missing path, a directory or an unknown ref as undefined', async () => {
      const config = await scm.readFile(REPO, '.github/ai-provision.yml', 'trunk');
      const utf8 = await scm.readFile(REPO, '/docs/a.md');
      const missing = await scm.readFile(REPO, 'nope.yml');
      const directory = await scm.readFile(REPO, 'docs');
      const unknownRef = await scm.readFile(REPO, 'docs/a.md', 'no-such-branch');

      expect(config).toBe('access:\n  min_permission: write\n');
      expect(utf8).toBe('é\n');
      expect([missing, directory, unknownRef]).toEqual([undefined, undefined, undefined]);
      expect(fake.calls.at(-1)?.path).toBe('/repos/acme/shop/contents/docs/a.md');
    });

    it('getPullRequest maps a pull request, and reads an unknown number as undefined', async () => {
      const pull = await scm.getPullRequest(REPO, 8);
      const missing = await scm.getPullRequest(REPO, 999);

      expect(pull).toEqual({
        number: 8,
        url: 'https://github.com/acme/shop/pull/8',
        headSha: BASE,
        headRef: 'feature',
        baseRef: 'trunk',
        body: '',
        title: '',
      });
      expect(missing).toBeUndefined();
    });

    it('getCommit maps sha, tree and parents', async () => {
      const commit = await scm.getCommit(REPO, BASE);

      expect(commit).toEqual({ sha: BASE, treeSha: BASE_TREE, parents: [] });
    });
  });

  describe('comments, reactions, labels and check runs', () => {
    it('creates, edits and minimizes a comment and reacts to one', async () => {
      const comment = await scm.createComment(REPO, 7, 'queued');
      await scm.updateComment(REPO, comment.id, 'running');
      await scm.minimizeComment(comment.nodeId);
      await scm.addReaction(REPO, 4321, 'eyes');

      expect(comment).toEqual({
        id: 1001,
        nodeId: 'IC_fake1001',
        url: 'https://github.com/acme/shop/issues/7#issuecomment-1001',
      });
      expect(fake.comments).toEqual([
        expect.objectContaining({ body: 'running', edits: 1, minimized: true }),
      ]);
      expect(fake.reactions).toEqual([
        { owner: 'acme', repo: 'shop', commentId: 4321, content: 'eyes' },
      ]);
    });

    it('adds labels to a pull request thread', async () => {
      await scm.addLabels(REPO, 8, ['ai-provision', 'sizing']);

      expect(fake.pulls.find((pull) => pull.number === 8)?.labels).toEqual([
        'ai-provision',
        'sizing',
      ]);
    });

    it('creates a check run and completes it', async () => {
      const id = await scm.createCheckRun(REPO, {
        name: 'ai-provision',
        headSha: BASE,
        status: 'in_progress',
        output: { title: 'Sizing', summary: 'cloning' },
        detailsUrl: 'https://example.test/jobs/1',
      });
      await scm.updateCheckRun(REPO, id, {
        conclusion: 'success',
        output: { title: 'Done', summary: 'ok', text: 'details' },
      });

      expect(fake.checkRuns).toEqual([
        expect.objectContaining({
          id,
          status: 'completed',
          conclusion: 'success',
          output: { title: 'Done', summary: 'ok', text: 'details' },
          updates: 1,
        }),
      ]);
      expect(
        fake.calls.find((call) => call.method === 'POST' && call.path.endsWith('/check-runs'))
          ?.body,
      ).toEqual({
        name: 'ai-provision',
        head_sha: BASE,
        status: 'in_progress',
        output: { title: 'Sizing', summary: 'cloning' },
        details_url: 'https://example.test/jobs/1',
      });
    });
  });

  describe('git data and pull requests', () => {
    it('commits files on a base, opens a branch and a pull request, then moves the branch', async () => {
      const tree = await scm.createTree(REPO, BASE_TREE, [
        { path: 'k8s/shop.yaml', content: 'kind: Deployment\n' },
      ]);
      const commit = await scm.createCommit(REPO, {
        message: 'Size shop',
        treeSha: tree,
        parents: [BASE],
      });
      const created = await scm.createBranch(REPO, 'ai-provision/shop', commit);
      const again = await scm.createBranch(REPO, 'ai-provision/shop', commit);
      const pull = await scm.createPullRequest(REPO, {
        title: 'Size shop',
        head: 'ai-provision/shop',
        base: 'trunk',
        body: 'why',
      });
      const found = await scm.findOpenPullRequest(REPO, 'ai-provision/shop');
      const none = await scm.findOpenPullRequest(REPO, 'ai-provision/other');
      const tree2 = await scm.createTree(REPO, BASE_TREE, [
        { path: 'k8s/shop.yaml', content: 'replicas: 3\n' },
      ]);
      const commit2 = await scm.createCommit(REPO, {
        message: 'Size shop',
        treeSha: tree2,
        parents: [BASE],
      });
      await scm.updateBranch(REPO, 'ai-provision/shop', commit2, true);
      await scm.updatePullRequest(REPO, pull.number, { body: 'why, again' });
      const after = await scm.getPullRequest(REPO, pull.number);

      expect(fake.trees.get(tree)?.entries).toEqual([
        { path: 'k8s/shop.yaml', content: 'kind: Deployment\n' },
      ]);
      expect(fake.calls.find((call) => call.path.endsWith('/git/trees'))?.body).toEqual({
        base_tree: BASE_TREE,
        tree: [
          { path: 'k8s/shop.yaml', mode: '100644', type: 'blob', content: 'kind: Deployment\n' },
        ],
      });
      expect([created, again]).toEqual([true, false]);
      expect(pull).toEqual({
        number: 100,
        url: 'https://github.com/acme/shop/pull/100',
        headSha: commit,
        headRef: 'ai-provision/shop',
        baseRef: 'trunk',
        body: 'why',
        title: 'Size shop',
      });
      expect(found).toEqual(pull);
      expect(none).toBeUndefined();
      expect(after).toMatchObject({ headSha: commit2, body: 'why, again', title: 'Size shop' });
    });

    it('updateBranch without force refuses a branch that is not a fast-forward', async () => {
      const tree = await scm.createTree(REPO, BASE_TREE, [{ path: 'a', content: 'a' }]);
      const first = await scm.createCommit(REPO, { message: 'a', treeSha: tree, parents: [BASE] });
      const second = await scm.createCommit(REPO, { message: 'b', treeSha: tree, parents: [BASE] });
      await scm.createBranch(REPO, 'topic', first);

      const update = scm.updateBranch(REPO, 'topic', second, false);

      await expect(update).rejects.toMatchObject({
        name: 'ScmError',
        status: 422,
        route: 'PATCH /repos/{owner}/{repo}/git/refs/heads/{branch}',
        message: expect.stringContaining('Update is not a fast forward'),
      });
    });
  });

  describe('errors', () => {
    it.each<[string, (client: ScmClient) => Promise<unknown>, string, number]>([
      ['getRepo on a 500', (client) => client.getRepo(REPO), 'GET /repos/{owner}/{repo}', 500],
      [
        'getPullRequest on a 403',
        (client) => client.getPullRequest(REPO, 8),
        'GET /repos/{owner}/{repo}/pulls/{pull_number}',
        403,
      ],
      [
        'permissionOf on a 502',
        (client) => client.permissionOf(REPO, 'alice'),
        'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
        502,
      ],
      [
        'readFile on a 429',
        (client) => client.readFile(REPO, 'docs/a.md'),
        'GET /repos/{owner}/{repo}/contents/{path}',
        429,
      ],
    ])(
      '%s throws ScmError with the route template and status, never the token',
      async (_name, act, route, status) => {
        fake.failNext('GET', /^\/repos\/acme\/shop/, status);

        const error: unknown = await act(scm).catch((thrown: unknown) => thrown);

        expect(error).toBeInstanceOf(ScmError);
        expect(error).toMatchObject({
          status,
          route,
          message: expect.stringContaining(String(status)),
        });
        expect((error as Error).message).not.toContain(token);
      },
    );

    it.each<[string, (client: ScmClient) => Promise<unknown>, string, number]>([
      [
        'getCommit of an unknown sha (404 is not mapped)',
        (client) => client.getCommit(REPO, 'c'.repeat(40)),
        'GET /repos/{owner}/{repo}/git/commits/{commit_sha}',
        404,
      ],
      [
        'createComment with a 65,537-character body',
        (client) => client.createComment(REPO, 7, 'x'.repeat(65_537)),
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        422,
      ],
      [
        'createBranch at an unknown commit',
        (client) => client.createBranch(REPO, 'x', 'd'.repeat(40)),
        'POST /repos/{owner}/{repo}/git/refs',
        422,
      ],
      [
        'createPullRequest from a missing branch',
        (client) =>
          client.createPullRequest(REPO, { title: 't', head: 'missing', base: 'trunk', body: '' }),
        'POST /repos/{owner}/{repo}/pulls',
        422,
      ],
    ])(
      '%s throws ScmError with the route template and status, never the token',
      async (_name, act, route, status) => {
        const error: unknown = await act(scm).catch((thrown: unknown) => thrown);

        expect(error).toBeInstanceOf(ScmError);
        expect(error).toMatchObject({
          status,
          route,
          message: expect.stringContaining(String(status)),
        });
        expect((error as Error).message).not.toContain(token);
      },
    );

    it('names GitHub validation messages in the error', async () => {
      const error = await scm
        .createComment(REPO, 7, 'x'.repeat(65_537))
        .catch((thrown: unknown) => thrown);

      expect((error as Error).message).toContain('body is too long (maximum is 65536 characters)');
    });

    it('minimizeComment of an unknown node throws ScmError for POST /graphql', async () => {
      const error = await scm.minimizeComment('IC_nope').catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(ScmError);
      expect(error).toMatchObject({
        route: 'POST /graphql',
        message: expect.stringContaining('IC_nope'),
      });
    });

    it('redacts credentials GitHub might echo, and bounds the message', async () => {
      const echoed = `token ${'ghs_' + 'z'.repeat(36)} was refused; ${'y'.repeat(1000)}`;
      const client = createGitHubScm(
        stubOctokit(() =>
          Promise.reject(
            Object.assign(new Error('x'), { status: 401, response: { data: { message: echoed } } }),
          ),
        ),
      );

      const error = await client.getRepo(REPO).catch((thrown: unknown) => thrown);

      expect(error).toMatchObject({ status: 401 });
      expect((error as Error).message).not.toMatch(/ghs_z/);
      expect((error as Error).message.length).toBeLessThanOrEqual(500);
    });

    it('throws ScmError naming the field when GitHub answers an unexpected shape', async () => {
      const client = createGitHubScm(
        stubOctokit(() => Promise.resolve({ status: 200, data: { name: 'shop' } })),
      );

      const error = await client.getRepo(REPO).catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(ScmError);
      expect((error as Error).message).toMatch(/unexpected full_name/);
    });

    it('lets an error without an HTTP status (a bug) through unchanged', async () => {
      const bug = new TypeError('boom');
      const client = createGitHubScm(stubOctokit(() => Promise.reject(bug)));

      const error = await client.getRepo(REPO).catch((thrown: unknown) => thrown);

      expect(error).toBe(bug);
    });
  });

  describe('cloneToken', () => {
    it('is options.token when given, without a request', async () => {
      const client = createGitHubScm(new Octokit({ baseUrl: fake.url, log: QUIET }), {
        token: 'ghs_given',
      });
      const calls = fake.calls.length;

      const cloneToken = await client.cloneToken();

      expect(cloneToken).toBe('ghs_given');
      expect(fake.calls).toHaveLength(calls);
    });

    it("is the Octokit's token, or undefined for an unauthenticated client", async () => {
      const authenticated = await scm.cloneToken();
      const anonymous = await createGitHubScm(
        new Octokit({ baseUrl: fake.url, log: QUIET }),
      ).cloneToken();

      expect(authenticated).toBe(token);
      expect(anonymous).toBeUndefined();
    });
  });

  describe('with Probot', () => {
    it('works over a ProbotOctokit holding an installation token', async () => {
      const octokit = new ProbotOctokit({
        auth: { token },
        baseUrl: fake.url,
        log: QUIET,
        retry: { enabled: false },
        throttle: { enabled: false },
      });
      const client = createGitHubScm(octokit);

      const repo = await client.getRepo(REPO);
      const comment = await client.createComment(REPO, 7, 'hello from probot');
      const cloneToken = await client.cloneToken();

      expect(repo?.fullName).toBe('acme/shop');
      expect(comment.id).toBe(1001);
      expect(cloneToken).toBe(token);
    });

    it('gets its clone token from a ProbotOctokit with app auth (one token request, then cached)', async () => {
      const octokit = new ProbotOctokit({
        auth: { appId: APP_ID, privateKey: PRIVATE_KEY, installationId: INSTALLATION_ID },
        baseUrl: fake.url,
        log: QUIET,
        retry: { enabled: false },
        throttle: { enabled: false },
      });
      const client = createGitHubScm(octokit);

      const first = await client.cloneToken();
      await client.getRepo(REPO);
      const second = await client.cloneToken();

      expect(first).toBe(fake.tokensIssued.at(-1));
      expect(second).toBe(first);
      expect(fake.tokensIssued).toHaveLength(2);
    });
  });

  describe('permissionFrom', () => {
    it.each([
      ['write', 'maintain', 'maintain'],
      ['read', 'triage', 'triage'],
      ['admin', 'admin', 'admin'],
      ['write', 'security-manager', 'write'], // a custom role: its base permission
      ['none', '', 'none'],
      ['read', undefined, 'read'],
      ['unexpected', undefined, 'none'],
    ])('(%p, %p) → %p', (permission, roleName, expected) => {
      expect(permissionFrom(permission, roleName)).toBe(expected);
    });
  });
});
