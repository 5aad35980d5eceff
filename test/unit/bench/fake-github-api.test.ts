import { createSign, generateKeyPairSync } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { ProbotOctokit } from 'probot';
import {
  startFakeGitHub,
  type FakeGitHub,
  type FakeGitHubRepo,
} from '../../../src/bench/fake-github-api.js';

const APP_ID = 4242;
const INSTALLATION_ID = 77;
const BASE = 'a'.repeat(40);
const BASE_TREE = 'b'.repeat(40);
const FIXED_TOKEN = 'ghs_actionsfixedtoken0000000000000000';
const { privateKey: PRIVATE_KEY } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function shopRepo(): FakeGitHubRepo {
  return {
    owner: 'acme',
    repo: 'shop',
    cloneUrl: 'http://127.0.0.1:9/acme/shop.git',
    commits: { [BASE]: { tree: BASE_TREE } },
    branches: { main: BASE },
    files: { 'README.md': 'hello\n', '.github/ai-provision.yml': `x: ${'y'.repeat(100)}\n` },
    permissions: {
      alice: 'admin',
      bob: 'maintain',
      carol: 'write',
      dave: 'triage',
      erin: 'read',
      frank: 'none',
    },
    issues: [7],
  };
}

/** An RS256 app JWT made with node:crypto, as universal-github-app-jwt makes it. */
function appJwt(claims: { iss?: number | string; exp?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iat: now - 30, exp: now + 540, iss: APP_ID, ...claims })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(PRIVATE_KEY, 'base64url');
  return `${unsigned}.${signature}`;
}

/** @octokit/rest logs every error answer with console.error; these tests expect many. */
const QUIET = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function octokit(fake: FakeGitHub, auth?: string): Octokit {
  return new Octokit({ baseUrl: fake.url, log: QUIET, ...(auth ? { auth } : {}) });
}

async function issuedToken(fake: FakeGitHub): Promise<string> {
  const response = await octokit(fake, appJwt()).request(
    'POST /app/installations/{installation_id}/access_tokens',
    { installation_id: INSTALLATION_ID },
  );
  return response.data.token;
}

describe('bench/fake-github-api', () => {
  let fake: FakeGitHub;
  let github: Octokit;

  beforeEach(async () => {
    fake = await startFakeGitHub({
      repos: [shopRepo()],
      appId: APP_ID,
      installationId: INSTALLATION_ID,
      acceptTokens: [FIXED_TOKEN],
    });
    github = octokit(fake, await issuedToken(fake));
  });

  afterEach(async () => {
    await fake.close();
  });

  describe('installation tokens', () => {
    it('issues a ghs_ token for an app JWT whose iss is the app id, valid for an hour', async () => {
      const before = Date.now();

      const response = await octokit(fake, appJwt()).request(
        'POST /app/installations/{installation_id}/access_tokens',
        { installation_id: INSTALLATION_ID },
      );

      expect(response.status).toBe(201);
      expect(response.data.token).toMatch(/^ghs_[0-9a-f]{36}$/);
      expect(fake.tokensIssued).toContain(response.data.token);
      const expiresAt = Date.parse(response.data.expires_at);
      expect(expiresAt - before).toBeGreaterThan(59 * 60 * 1000);
      expect(fake.calls.at(-1)).toMatchObject({ method: 'POST', status: 201, auth: 'jwt' });
    });

    it.each([
      ['another app id', () => appJwt({ iss: 1 }), INSTALLATION_ID, 401],
      [
        'an expired JWT',
        () => appJwt({ exp: Math.floor(Date.now() / 1000) - 60 }),
        INSTALLATION_ID,
        401,
      ],
      ['a token instead of a JWT', () => FIXED_TOKEN, INSTALLATION_ID, 401],
      ['another installation', () => appJwt(), INSTALLATION_ID + 1, 404],
    ])('refuses %s', async (_name, credentials, installationId, status) => {
      const request = octokit(fake, credentials()).request(
        'POST /app/installations/{installation_id}/access_tokens',
        { installation_id: installationId },
      );

      await expect(request).rejects.toMatchObject({ status });
      expect(fake.tokensIssued).toHaveLength(1);
    });

    it('serves a Probot app octokit end to end: JWT → installation token → repository', async () => {
      const app = new ProbotOctokit({
        auth: { appId: APP_ID, privateKey: PRIVATE_KEY, installationId: INSTALLATION_ID },
        baseUrl: fake.url,
        log: QUIET,
        retry: { enabled: false },
        throttle: { enabled: false },
      });

      const response = await app.request('GET /repos/{owner}/{repo}', {
        owner: 'acme',
        repo: 'shop',
      });

      expect(response.data.full_name).toBe('acme/shop');
      expect(fake.calls.slice(-2).map((call) => [call.method, call.path, call.auth])).toEqual([
        ['POST', `/app/installations/${INSTALLATION_ID}/access_tokens`, 'jwt'],
        ['GET', '/repos/acme/shop', 'token'],
      ]);
    });
  });

  describe('repository routes need an installation token', () => {
    it.each([
      ['no credentials', undefined, 401, 'none'],
      ['a token this fake did not issue', 'ghs_unknown', 401, 'token'],
      ['an app JWT', 'jwt', 403, 'jwt'],
    ])('refuses %s', async (_name, auth, status, kind) => {
      const client = octokit(fake, auth === 'jwt' ? appJwt() : auth);

      const request = client.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'shop' });

      await expect(request).rejects.toMatchObject({ status });
      expect(fake.calls.at(-1)).toMatchObject({ path: '/repos/acme/shop', status, auth: kind });
    });

    it('accepts a token listed in acceptTokens (an Actions GITHUB_TOKEN)', async () => {
      const response = await octokit(fake, FIXED_TOKEN).request('GET /repos/{owner}/{repo}', {
        owner: 'ACME',
        repo: 'Shop',
      });

      expect(response.data).toMatchObject({
        full_name: 'acme/shop',
        default_branch: 'main',
        private: false,
        clone_url: 'http://127.0.0.1:9/acme/shop.git',
        html_url: 'https://github.com/acme/shop',
      });
    });
  });

  describe('routing and recording', () => {
    it.each([
      ['an unknown route', 'GET /repos/{owner}/{repo}/branches', { owner: 'acme', repo: 'shop' }],
      ['an unknown repository', 'GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'nope' }],
      ['an unknown top-level route', 'GET /user', {}],
      [
        'a known path with another method',
        'DELETE /repos/{owner}/{repo}',
        { owner: 'acme', repo: 'shop' },
      ],
    ])('answers 404 Not Found for %s, and records it', async (_name, route, parameters) => {
      const request = github.request(route, parameters);

      await expect(request).rejects.toMatchObject({
        status: 404,
        response: { data: { message: 'Not Found' } },
      });
      expect(fake.calls.at(-1)?.status).toBe(404);
    });

    it('records the decoded path, the query and the parsed body', async () => {
      await github.request('GET /repos/{owner}/{repo}/pulls', {
        owner: 'acme',
        repo: 'shop',
        head: 'acme:ai-provision/shop',
        state: 'open',
      });
      await github.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: 'acme',
        repo: 'shop',
        issue_number: 7,
        body: 'hi',
      });

      expect(fake.calls.slice(-2)).toEqual([
        expect.objectContaining({
          method: 'GET',
          path: '/repos/acme/shop/pulls',
          query: { head: 'acme:ai-provision/shop', state: 'open' },
          body: undefined,
          status: 200,
          auth: 'token',
        }),
        expect.objectContaining({ method: 'POST', body: { body: 'hi' }, status: 201 }),
      ]);
    });
  });

  describe('failNext', () => {
    it('answers 429 with retry-after and rate-limit headers, count times, then normally', async () => {
      fake.failNext('get', /^\/repos\/acme\/shop$/, 429, 2);
      const get = () =>
        github.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'shop' });

      const first = await get().catch((error: unknown) => error);
      const second = await get().catch((error: unknown) => error);
      const third = await get();

      expect(first).toMatchObject({
        status: 429,
        response: { headers: { 'retry-after': '1', 'x-ratelimit-remaining': '0' } },
      });
      expect(second).toMatchObject({ status: 429 });
      expect(third.status).toBe(200);
    });

    it('answers other statuses with a message, only for the matching method and path', async () => {
      fake.failNext('POST', /\/issues\/\d+\/comments$/, 502);
      const repo = await github.request('GET /repos/{owner}/{repo}', {
        owner: 'acme',
        repo: 'shop',
      });

      const request = github.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: 'acme',
        repo: 'shop',
        issue_number: 7,
        body: 'x',
      });

      expect(repo.status).toBe(200);
      await expect(request).rejects.toMatchObject({
        status: 502,
        response: { data: { message: 'Bad Gateway' } },
      });
      expect(fake.comments).toHaveLength(0);
    });
  });

  describe('contents and permissions', () => {
    it('serves a file as base64 wrapped at 60 characters, like GitHub', async () => {
      const response = await github.request('GET /repos/{owner}/{repo}/contents/{path}', {
        owner: 'acme',
        repo: 'shop',
        path: '.github/ai-provision.yml',
        ref: 'main',
      });

      expect(response.data).toMatchObject({
        type: 'file',
        encoding: 'base64',
        path: '.github/ai-provision.yml',
      });
      const { content } = response.data as { content: string };
      expect(content).toContain('\n');
      expect(Buffer.from(content, 'base64').toString()).toBe(`x: ${'y'.repeat(100)}\n`);
    });

    it.each([
      ['a missing file', 'nope.txt', undefined, 404],
      ['an unknown ref', 'README.md', 'no-such-branch', 404],
      ['a directory (an array)', '.github', undefined, 200],
    ])('answers %s', async (_name, path, ref, status) => {
      const request = github.request('GET /repos/{owner}/{repo}/contents/{path}', {
        owner: 'acme',
        repo: 'shop',
        path,
        ...(ref ? { ref } : {}),
      });

      const result = await request.catch((error: { status: number }) => error);

      expect(result.status).toBe(status);
      if (status === 200)
        expect(result).toMatchObject({ data: [{ type: 'file', name: 'ai-provision.yml' }] });
    });

    it.each([
      ['alice', 'admin', 'admin'],
      ['bob', 'write', 'maintain'],
      ['Carol', 'write', 'write'],
      ['dave', 'read', 'triage'],
      ['erin', 'read', 'read'],
      ['frank', 'none', ''],
    ])('answers %s as permission %s with role_name %p', async (login, permission, roleName) => {
      const response = await github.request(
        'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
        { owner: 'acme', repo: 'shop', username: login },
      );

      expect(response.data).toMatchObject({ permission, role_name: roleName });
    });

    it('answers 404 for a login it does not know', async () => {
      const request = github.request(
        'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
        {
          owner: 'acme',
          repo: 'shop',
          username: 'mallory',
        },
      );

      await expect(request).rejects.toMatchObject({ status: 404 });
    });
  });

  describe('git data', () => {
    async function commitOnBase(files: Record<string, string>, parents = [BASE]): Promise<string> {
      const tree = await github.request('POST /repos/{owner}/{repo}/git/trees', {
        owner: 'acme',
        repo: 'shop',
        base_tree: BASE_TREE,
        tree: Object.entries(files).map(([path, content]) => ({
          path,
          mode: '100644' as const,
          type: 'blob' as const,
          content,
        })),
      });
      const commit = await github.request('POST /repos/{owner}/{repo}/git/commits', {
        owner: 'acme',
        repo: 'shop',
        message: 'plan',
        tree: tree.data.sha,
        parents,
      });
      return commit.data.sha;
    }

    it('gives the same tree sha for the same base and files, in any order', async () => {
      const post = (paths: string[]) =>
        github.request('POST /repos/{owner}/{repo}/git/trees', {
          owner: 'acme',
          repo: 'shop',
          base_tree: BASE_TREE,
          tree: paths.map((path) => ({
            path,
            mode: '100644' as const,
            type: 'blob' as const,
            content: path,
          })),
        });

      const first = await post(['k8s/a.yaml', 'k8s/b.yaml']);
      const second = await post(['k8s/b.yaml', 'k8s/a.yaml']);
      const third = await post(['k8s/a.yaml']);

      expect(first.status).toBe(201);
      expect(second.data.sha).toBe(first.data.sha);
      expect(third.data.sha).not.toBe(first.data.sha);
      expect(fake.trees.get(first.data.sha)).toMatchObject({
        baseTree: BASE_TREE,
        entries: [{ path: 'k8s/a.yaml' }, { path: 'k8s/b.yaml' }],
      });
    });

    it.each([
      ['an unknown base tree', { base_tree: 'c'.repeat(40), tree: [] }, 'git/trees'],
      [
        'a path with ..',
        {
          base_tree: BASE_TREE,
          tree: [{ path: '../x', mode: '100644', type: 'blob', content: '' }],
        },
        'git/trees',
      ],
      ['an unknown tree', { message: 'm', tree: 'c'.repeat(40), parents: [BASE] }, 'git/commits'],
      [
        'an unknown parent',
        { message: 'm', tree: BASE_TREE, parents: ['d'.repeat(40)] },
        'git/commits',
      ],
    ])('answers 422 for %s', async (_name, body, path) => {
      const request = github.request(`POST /repos/{owner}/{repo}/${path}`, {
        owner: 'acme',
        repo: 'shop',
        ...body,
      });

      await expect(request).rejects.toMatchObject({ status: 422 });
    });

    it('reads back a commit it made, with its tree and parents', async () => {
      const sha = await commitOnBase({ 'a.txt': 'a' });

      const response = await github.request('GET /repos/{owner}/{repo}/git/commits/{commit_sha}', {
        owner: 'acme',
        repo: 'shop',
        commit_sha: sha,
      });

      expect(response.data).toMatchObject({ sha, message: 'plan', parents: [{ sha: BASE }] });
      expect(response.data.tree.sha).toBe(fake.commits.get(sha)?.tree);
    });

    it('creates a ref once (then 422 Reference already exists) and fast-forwards it only with force when it is not a descendant', async () => {
      const first = await commitOnBase({ 'a.txt': 'a' });
      const child = await commitOnBase({ 'a.txt': 'b' }, [first]);
      const sibling = await commitOnBase({ 'a.txt': 'c' });
      const refs = { owner: 'acme', repo: 'shop' };
      const patch = (sha: string, force: boolean) =>
        github.request('PATCH /repos/{owner}/{repo}/git/refs/heads/{branch}', {
          ...refs,
          branch: 'ai-provision/shop',
          sha,
          force,
        });

      const created = await github.request('POST /repos/{owner}/{repo}/git/refs', {
        ...refs,
        ref: 'refs/heads/ai-provision/shop',
        sha: first,
      });
      const again = github.request('POST /repos/{owner}/{repo}/git/refs', {
        ...refs,
        ref: 'refs/heads/ai-provision/shop',
        sha: first,
      });
      await expect(again).rejects.toMatchObject({
        status: 422,
        response: { data: { message: 'Reference already exists' } },
      });
      const fastForward = await patch(child, false);
      const notFastForward = patch(sibling, false);
      await expect(notFastForward).rejects.toMatchObject({
        status: 422,
        response: { data: { message: 'Update is not a fast forward' } },
      });
      const forced = await patch(sibling, true);

      expect(created.status).toBe(201);
      expect(fastForward.status).toBe(200);
      expect(forced.status).toBe(200);
      expect(fake.refs.get('acme/shop:refs/heads/ai-provision/shop')).toBe(sibling);
      expect(fake.calls.at(-1)?.path).toBe('/repos/acme/shop/git/refs/heads/ai-provision/shop');
    });
  });

  describe('pull requests, comments and limits', () => {
    async function branchWithCommit(branch: string): Promise<string> {
      const tree = await github.request('POST /repos/{owner}/{repo}/git/trees', {
        owner: 'acme',
        repo: 'shop',
        base_tree: BASE_TREE,
        tree: [{ path: 'x', mode: '100644', type: 'blob', content: branch }],
      });
      const commit = await github.request('POST /repos/{owner}/{repo}/git/commits', {
        owner: 'acme',
        repo: 'shop',
        message: 'm',
        tree: tree.data.sha,
        parents: [BASE],
      });
      await github.request('POST /repos/{owner}/{repo}/git/refs', {
        owner: 'acme',
        repo: 'shop',
        ref: `refs/heads/${branch}`,
        sha: commit.data.sha,
      });
      return commit.data.sha;
    }
    const create = (head: string, body = 'body') =>
      github.request('POST /repos/{owner}/{repo}/pulls', {
        owner: 'acme',
        repo: 'shop',
        title: 't',
        head,
        base: 'main',
        body,
      });

    it('opens one pull request per head branch, numbered from 100, and finds it by head', async () => {
      const headSha = await branchWithCommit('ai-provision/shop');

      const created = await create('ai-provision/shop');
      const duplicate = create('acme:ai-provision/shop');
      await expect(duplicate).rejects.toMatchObject({
        status: 422,
        response: {
          data: {
            errors: [{ message: 'A pull request already exists for acme:ai-provision/shop.' }],
          },
        },
      });
      const found = await github.request('GET /repos/{owner}/{repo}/pulls', {
        owner: 'acme',
        repo: 'shop',
        head: 'acme:ai-provision/shop',
        state: 'open',
      });
      const other = await github.request('GET /repos/{owner}/{repo}/pulls', {
        owner: 'acme',
        repo: 'shop',
        head: 'acme:other',
        state: 'open',
      });

      expect(created.status).toBe(201);
      expect(created.data).toMatchObject({
        number: 100,
        html_url: 'https://github.com/acme/shop/pull/100',
        head: { ref: 'ai-provision/shop', sha: headSha },
        base: { ref: 'main' },
      });
      expect(found.data.map((pull) => pull.number)).toEqual([100]);
      expect(other.data).toEqual([]);
    });

    it('answers 422 when the head branch does not exist', async () => {
      await expect(create('missing')).rejects.toMatchObject({ status: 422 });
    });

    it.each([
      ['a comment', 'comment'],
      ['a pull request', 'pull'],
    ])('takes %s body of exactly 65,536 characters and refuses one more', async (_name, kind) => {
      await branchWithCommit('b1');
      await branchWithCommit('b2');
      const send = (body: string, branch: string) =>
        kind === 'comment'
          ? github.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
              owner: 'acme',
              repo: 'shop',
              issue_number: 7,
              body,
            })
          : create(branch, body);

      const fits = await send('é'.repeat(65_536), 'b1');
      const tooLong = send('x'.repeat(65_537), 'b2');

      expect(fits.status).toBe(201);
      await expect(tooLong).rejects.toMatchObject({
        status: 422,
        response: {
          data: {
            message: 'Validation Failed',
            errors: [
              {
                field: 'body',
                code: 'custom',
                message: 'body is too long (maximum is 65536 characters)',
              },
            ],
          },
        },
      });
    });

    it('counts characters, not UTF-16 units, against the limit', async () => {
      const response = await github.request(
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner: 'acme', repo: 'shop', issue_number: 7, body: '🚀'.repeat(65_536) },
      );

      expect(response.status).toBe(201);
    });

    it('edits comments, adds a reaction once, and 404s for an unknown issue', async () => {
      const created = await github.request(
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner: 'acme', repo: 'shop', issue_number: 7, body: 'one' },
      );
      const edit = await github.request(
        'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
        { owner: 'acme', repo: 'shop', comment_id: created.data.id, body: 'two' },
      );
      const reaction = { owner: 'acme', repo: 'shop', comment_id: 555, content: 'eyes' as const };
      const firstReaction = await github.request(
        'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions',
        reaction,
      );
      const secondReaction = await github.request(
        'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions',
        reaction,
      );
      const unknownIssue = github.request(
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner: 'acme', repo: 'shop', issue_number: 999, body: 'x' },
      );

      expect(created.data).toMatchObject({
        id: 1001,
        html_url: 'https://github.com/acme/shop/issues/7#issuecomment-1001',
      });
      expect(edit.status).toBe(200);
      expect(fake.comments).toEqual([
        expect.objectContaining({
          id: 1001,
          issueNumber: 7,
          body: 'two',
          edits: 1,
          minimized: false,
        }),
      ]);
      expect([firstReaction.status, secondReaction.status]).toEqual([201, 200]);
      expect(fake.reactions).toEqual([
        { owner: 'acme', repo: 'shop', commentId: 555, content: 'eyes' },
      ]);
      await expect(unknownIssue).rejects.toMatchObject({ status: 404 });
    });
  });

  describe('check runs', () => {
    it('completes a run when a conclusion is set and refuses a summary over 65,535 characters', async () => {
      const created = await github.request('POST /repos/{owner}/{repo}/check-runs', {
        owner: 'acme',
        repo: 'shop',
        name: 'ai-provision',
        head_sha: BASE,
        status: 'in_progress',
        output: { title: 'Sizing', summary: 'started' },
      });
      const tooLong = github.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        owner: 'acme',
        repo: 'shop',
        check_run_id: created.data.id,
        output: { title: 'Sizing', summary: 'x'.repeat(65_536) },
      });
      await expect(tooLong).rejects.toMatchObject({ status: 422 });
      await github.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        owner: 'acme',
        repo: 'shop',
        check_run_id: created.data.id,
        conclusion: 'success',
        output: { title: 'Done', summary: 'x'.repeat(65_535) },
      });

      expect(fake.checkRuns).toEqual([
        expect.objectContaining({
          name: 'ai-provision',
          headSha: BASE,
          status: 'completed',
          conclusion: 'success',
          updates: 1,
          output: { title: 'Done', summary: 'x'.repeat(65_535) },
        }),
      ]);
    });
  });

  describe('POST /graphql', () => {
    const MUTATION =
      'mutation ($id: ID!) { minimizeComment(input: { subjectId: $id, classifier: OUTDATED }) { minimizedComment { isMinimized } } }';

    it('minimizes a comment by node id', async () => {
      const created = await github.request(
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        { owner: 'acme', repo: 'shop', issue_number: 7, body: 'old' },
      );

      const answer = await github.graphql(MUTATION, { id: created.data.node_id });

      expect(answer).toEqual({ minimizeComment: { minimizedComment: { isMinimized: true } } });
      expect(fake.comments[0]?.minimized).toBe(true);
    });

    it('answers an unknown node with errors and HTTP 200, like GitHub', async () => {
      const response = await fetch(`${fake.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `token ${FIXED_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: MUTATION, variables: { id: 'IC_nope' } }),
      });

      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        errors: [{ type: 'NOT_FOUND', message: expect.stringContaining('IC_nope') }],
      });
    });
  });
});
