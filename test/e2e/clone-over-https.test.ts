/**
 * fetchRepository against a real git server over HTTPS on loopback: real git, real TLS with a
 * self-signed certificate, real smart-HTTP from `git http-backend`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fetchRepository, gitEnvironment, hardenedGitConfig } from '../../src/repo/clone.js';
import type { FetchOptions, FetchedRepo, RepoSource } from '../../src/repo/clone.js';
import type { Outcome } from '../../src/outcome.js';
import { createWorkspace } from '../../src/repo/workspace.js';
import type { Workspace } from '../../src/repo/workspace.js';
import { makeBareRepo, removeBareRepos, startGitServer } from '../support/git-server.js';
import type { GitServer } from '../support/git-server.js';

const run = promisify(execFile);

const TOKEN = 'ghs_e2eTokenThatMustNeverLeak0123';
const TOKEN_BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const APP_FILES = {
  Dockerfile: 'FROM node:20-slim\nEXPOSE 3000\n',
  'package.json': '{"name":"app"}\n',
  'src/server.js': 'require("http").createServer().listen(3000)\n',
};

let scratch: string;
let marker: string;
const repos: Record<string, string> = {};
let pub: GitServer;
let priv: GitServer;
let slow: GitServer;
let plain: GitServer;
let closedPort: number;
let mainSha: string;
let devSha: string;
let workspace: Workspace;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'aip-e2e-clone-'));
  marker = join(scratch, 'executed');
  pub = await startGitServer({ repos, tls: true });
  const app = await makeBareRepo(APP_FILES, {
    branches: { dev: { 'dev-only.txt': 'dev\n' } },
    tags: { v1: 'dev' },
    submodules: { 'vendor/lib': `${pub.url}/acme/sub.git` },
  });
  repos['acme/app.git'] = app;
  repos['acme/sub.git'] = await makeBareRepo({ 'lib.txt': 'sub\n' });
  repos['acme/many.git'] = await makeBareRepo(
    Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f/${i}.txt`, `${i}\n`])),
  );
  repos['acme/big.git'] = await makeBareRepo({ 'blob.bin': 'x'.repeat(100_000) });
  repos['acme/hooks.git'] = await makeBareRepo(
    {
      '.githooks/post-checkout': `#!/bin/sh\ntouch "${marker}"\n`,
      'hooks/post-checkout': `#!/bin/sh\ntouch "${marker}"\n`,
      '.gitattributes': '*.txt filter=lfs\n',
      'data.txt': 'version https://git-lfs.github.com/spec/v1\n',
    },
    { executables: ['.githooks/post-checkout', 'hooks/post-checkout'] },
  );
  mainSha = (await run('git', ['rev-parse', 'main'], { cwd: app })).stdout.trim();
  devSha = (await run('git', ['rev-parse', 'dev'], { cwd: app })).stdout.trim();

  const secret = await makeBareRepo({ 'private.txt': 'secret sauce\n' });
  priv = await startGitServer({
    repos: { 'acme/private.git': secret },
    tls: true,
    requireAuth: { user: 'x-access-token', password: TOKEN },
  });
  slow = await startGitServer({ repos: { 'acme/app.git': app }, tls: true, delayMs: 5_000 });
  plain = await startGitServer({ repos: { 'acme/app.git': app }, tls: false });
  closedPort = await unusedPort();
});

afterAll(async () => {
  await Promise.all([pub, priv, slow, plain].filter(Boolean).map((server) => server.close()));
  await removeBareRepos();
  await rm(scratch, { recursive: true, force: true });
});

beforeEach(async () => {
  workspace = await createWorkspace({ baseDir: join(scratch, 'workspaces') });
});

afterEach(async () => {
  await workspace.remove();
});

/** A port that was free a moment ago and has nothing listening now. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function fetchFrom(
  server: GitServer,
  path: string,
  options: Partial<FetchOptions> = {},
): Promise<Outcome<FetchedRepo>> {
  const source: RepoSource = { kind: 'url', url: `${server.url}/${path}` };
  const fetchOptions: FetchOptions = { workspace, timeoutMs: 20_000, ...options };
  if (server.caFile) fetchOptions.caFile = server.caFile;
  return fetchRepository(source, fetchOptions);
}

function valueOf(outcome: Outcome<FetchedRepo>): FetchedRepo {
  if (outcome.kind !== 'done') throw new Error(`expected done, got ${JSON.stringify(outcome)}`);
  return outcome.value;
}

/** A plain git client's environment: no host CA override, no host config. */
function clientEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: scratch,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/** Runs `fn` with extra variables in this process's environment, then restores it. */
async function withProcessEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(vars).map((name) => [name, process.env[name]] as const);
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Every file under `dir` as text, to search for secrets. */
function allText(dir: string): string {
  const parts: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) parts.push(readFileSync(path).toString('latin1'));
    }
  }
  return parts.join('\n');
}

describe('repo/clone fetchRepository over https', () => {
  it('clones the default branch shallowly', async () => {
    const outcome = await fetchFrom(pub, 'acme/app.git');

    const value = valueOf(outcome);
    expect(value).toMatchObject({ commit: mainSha, ref: 'main', cloned: true });
    // Three files, .gitmodules; the submodule gitlink is not a file.
    expect(value.files).toBe(4);
    expect(value.dir.startsWith(workspace.dir)).toBe(true);
    expect(readFileSync(join(value.dir, 'Dockerfile'), 'utf8')).toBe(APP_FILES.Dockerfile);
    expect(existsSync(join(value.dir, 'dev-only.txt'))).toBe(false);
    const shallow = await run('git', ['rev-parse', '--is-shallow-repository'], { cwd: value.dir });
    expect(shallow.stdout.trim()).toBe('true');
    const tags = await run('git', ['tag', '--list'], { cwd: value.dir });
    expect(tags.stdout.trim()).toBe('');
  });

  it('clones a named branch', async () => {
    const outcome = await fetchFrom(pub, 'acme/app.git', { ref: 'dev' });

    const value = valueOf(outcome);
    expect(value).toMatchObject({ commit: devSha, ref: 'dev', files: 5 });
    expect(readFileSync(join(value.dir, 'dev-only.txt'), 'utf8')).toBe('dev\n');
  });

  it('clones a tag, also given as a full ref name', async () => {
    const short = await fetchFrom(pub, 'acme/app.git', { ref: 'v1' });
    const full = await fetchFrom(pub, 'acme/app.git', { ref: 'refs/tags/v1' });

    expect(valueOf(short)).toMatchObject({ commit: devSha, ref: 'v1', files: 5 });
    expect(valueOf(full)).toMatchObject({ commit: devSha, ref: 'v1' });
    expect(existsSync(join(valueOf(short).dir, 'dev-only.txt'))).toBe(true);
  });

  it('fetches a full commit SHA', async () => {
    const outcome = await fetchFrom(pub, 'acme/app.git', { ref: devSha.toUpperCase() });

    const value = valueOf(outcome);
    expect(value).toMatchObject({ commit: devSha, ref: devSha, files: 5 });
    expect(existsSync(join(value.dir, 'dev-only.txt'))).toBe(true);
  });

  it('refuses a branch that does not exist and leaves nothing behind', async () => {
    const outcome = await fetchFrom(pub, 'acme/app.git', { ref: 'no-such-branch' });

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-ref-not-found' });
    expect((outcome as { userMessage: string }).userMessage).toContain('"no-such-branch"');
    expect(await readdir(workspace.dir)).toEqual([]);
  });

  it('refuses a commit that does not exist', async () => {
    const outcome = await fetchFrom(pub, 'acme/app.git', { ref: 'a'.repeat(40) });

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-ref-not-found' });
  });

  it('refuses an unknown repository (404) as unreachable', async () => {
    const outcome = await fetchFrom(pub, 'acme/nope.git');

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-unreachable' });
    expect((outcome as { userMessage: string }).userMessage).toContain(
      `Could not read ${pub.url}/acme/nope.git: it does not exist or is private`,
    );
    expect(pub.requests.some((r) => r.url.startsWith('/acme/nope.git') && r.status === 404)).toBe(
      true,
    );
  });

  it('refuses a private repository without a token at once, without waiting for a password', async () => {
    const started = Date.now();

    const outcome = await fetchFrom(priv, 'acme/private.git', { timeoutMs: 15_000 });

    // Far below the 15 s timeout: git gave up on the 401 instead of prompting.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-unreachable' });
    expect(priv.requests.at(-1)?.status).toBe(401);
    expect(await readdir(workspace.dir)).toEqual([]);
  });

  it('runs git with prompts disabled, so a 401 ends the command instead of asking', async () => {
    const dest = join(scratch, 'no-prompt');

    const attempt = run(
      'git',
      [
        ...hardenedGitConfig(['https'], priv.caFile).flatMap((entry) => ['-c', entry]),
        'clone',
        '-q',
        `${priv.url}/acme/private.git`,
        dest,
      ],
      { env: gitEnvironment(scratch), timeout: 10_000 },
    );

    await expect(attempt).rejects.toMatchObject({
      stderr: expect.stringContaining('terminal prompts disabled'),
    });
  });

  it('refuses a private repository with a wrong token without quoting it', async () => {
    const outcome = await fetchFrom(priv, 'acme/private.git', { token: `${TOKEN}-wrong` });

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-unreachable' });
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('clones a private repository with the token, and the token is stored nowhere', async () => {
    const outcome = await fetchFrom(priv, 'acme/private.git', { token: TOKEN });

    const value = valueOf(outcome);
    expect(readFileSync(join(value.dir, 'private.txt'), 'utf8')).toBe('secret sauce\n');
    const config = readFileSync(join(value.dir, '.git', 'config'), 'utf8');
    expect(config).toContain(`${priv.url}/acme/private.git`);
    expect(config).not.toContain(TOKEN);
    expect(config).not.toContain(TOKEN_BASIC);
    expect(config.toLowerCase()).not.toContain('extraheader');
    const everything = allText(value.dir);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN_BASIC);
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('stops a fetch that takes longer than the timeout and cleans up', async () => {
    const started = Date.now();

    const outcome = await fetchFrom(slow, 'acme/app.git', { timeoutMs: 800 });

    expect(outcome).toMatchObject({ kind: 'failed', code: 'repo-clone-timeout', retryable: true });
    expect((outcome as { userMessage: string }).userMessage).toMatch(/longer than 0\.8 s/);
    // The server would only answer after 5 s; the fetch gave up well before.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await readdir(workspace.dir)).toEqual([]);
  });

  it('stops when the caller cancels, as a retryable failure', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);

    const outcome = await fetchFrom(slow, 'acme/app.git', { signal: controller.signal });

    expect(outcome).toMatchObject({ kind: 'failed', code: 'repo-clone-timeout', retryable: true });
    expect((outcome as { userMessage: string }).userMessage).toMatch(/cancelled/);
    expect(await readdir(workspace.dir)).toEqual([]);
  });

  it('refuses a repository with more files than allowed', async () => {
    const outcome = await fetchFrom(pub, 'acme/many.git', { maxFiles: 10 });

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-too-many-files' });
    expect((outcome as { userMessage: string }).userMessage).toMatch(
      /has 30 files; the limit is 10\./,
    );
    expect(await readdir(workspace.dir)).toEqual([]);
  });

  it('refuses a repository larger than allowed', async () => {
    const outcome = await fetchFrom(pub, 'acme/big.git', { maxBytes: 50_000 });

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-too-large' });
    const message = (outcome as { userMessage: string }).userMessage;
    expect(message).toContain('(100000 bytes)');
    expect(message).toContain('(50000 bytes)');
    expect(await readdir(workspace.dir)).toEqual([]);
  });

  it('accepts a repository exactly at the limits', async () => {
    const outcome = await fetchFrom(pub, 'acme/big.git', { maxBytes: 100_000, maxFiles: 1 });

    expect(valueOf(outcome)).toMatchObject({ bytes: 100_000, files: 1 });
  });

  it('never fetches submodules', async () => {
    const before = pub.requests.length;

    const outcome = await fetchFrom(pub, 'acme/app.git');

    const value = valueOf(outcome);
    expect(readFileSync(join(value.dir, '.gitmodules'), 'utf8')).toContain('acme/sub.git');
    expect(statSync(join(value.dir, 'vendor', 'lib')).isDirectory()).toBe(true);
    expect(readdirSync(join(value.dir, 'vendor', 'lib'))).toEqual([]);
    const asked = pub.requests.slice(before).map((r) => r.url);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((url) => url.startsWith('/acme/app.git/'))).toBe(true);
  });

  it('runs nothing from the repository, even when the host environment would', async () => {
    const hostile = join(scratch, 'hostile');
    await mkdir(hostile, { recursive: true });
    // A global config that points hooks at the repository's own folder and defines an LFS
    // smudge command: a plain clone with it executes repository content.
    await writeFile(join(hostile, 'smudge.sh'), `#!/bin/sh\ntouch "${marker}.smudge"\ncat\n`, {
      mode: 0o755,
    });
    await writeFile(
      join(hostile, 'gitconfig'),
      `[core]\n\thooksPath = .githooks\n[filter "lfs"]\n\tsmudge = ${join(hostile, 'smudge.sh')}\n\trequired = true\n`,
    );
    const hostileEnv = {
      GIT_CONFIG_GLOBAL: join(hostile, 'gitconfig'),
      GIT_TEMPLATE_DIR: join(hostile, 'no-template'),
    };
    await run(
      'git',
      ['-c', `http.sslCAInfo=${pub.caFile}`, 'clone', '-q', `${pub.url}/acme/hooks.git`],
      { cwd: hostile, env: clientEnv(hostileEnv) },
    );
    const controlRan = [existsSync(marker), existsSync(`${marker}.smudge`)];
    await rm(marker, { force: true });
    await rm(`${marker}.smudge`, { force: true });

    const outcome = await withProcessEnv(hostileEnv, () => fetchFrom(pub, 'acme/hooks.git'));

    expect(controlRan).toEqual([true, true]);
    const value = valueOf(outcome);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${marker}.smudge`)).toBe(false);
    // The LFS pointer is checked out as it is stored, not smudged.
    expect(readFileSync(join(value.dir, 'data.txt'), 'utf8')).toMatch(/^version https:/);
  });

  it('rejects http:// by default without contacting the server', async () => {
    const outcome = await fetchFrom(plain, 'acme/app.git');

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-url-rejected' });
    expect(plain.requests).toEqual([]);
  });

  it('has git itself refuse http:// under the default settings', async () => {
    const dest = join(scratch, 'http-refused');

    const attempt = run(
      'git',
      [
        ...hardenedGitConfig().flatMap((entry) => ['-c', entry]),
        'clone',
        '-q',
        `${plain.url}/acme/app.git`,
        dest,
      ],
      { env: clientEnv({ GIT_CONFIG_GLOBAL: '/dev/null' }) },
    );

    await expect(attempt).rejects.toMatchObject({
      stderr: expect.stringContaining("transport 'http' not allowed"),
    });
    expect(plain.requests).toEqual([]);
  });

  it('uses http:// only when the caller allows it explicitly', async () => {
    const outcome = await fetchFrom(plain, 'acme/app.git', { allowedProtocols: ['http'] });

    expect(valueOf(outcome)).toMatchObject({ commit: mainSha });
    expect(plain.requests.length).toBeGreaterThan(0);
  });

  it('reports a refused connection as a retryable failure', async () => {
    const outcome = await fetchRepository(
      { kind: 'url', url: `https://127.0.0.1:${closedPort}/acme/app.git` },
      { workspace, timeoutMs: 20_000 },
    );

    expect(outcome).toMatchObject({ kind: 'failed', code: 'repo-unreachable', retryable: true });
    expect((outcome as { userMessage: string }).userMessage).toContain(`127.0.0.1:${closedPort}`);
    expect(await readdir(workspace.dir)).toEqual([]);
  });

  it('does not trust the self-signed server without its CA', async () => {
    const outcome = await fetchRepository(
      { kind: 'url', url: `${pub.url}/acme/app.git` },
      { workspace, timeoutMs: 20_000 },
    );

    expect(outcome).toMatchObject({ kind: 'failed', code: 'repo-unreachable', retryable: false });
  });
});

describe('test/support/git-server', () => {
  it('serves the repository over TLS for a plain git client', async () => {
    const dest = join(scratch, 'plain-client');

    await run(
      'git',
      [
        '-c',
        `http.sslCAInfo=${pub.caFile}`,
        'clone',
        '-q',
        '--depth',
        '1',
        `${pub.url}/acme/app.git`,
        dest,
      ],
      { env: clientEnv({ GIT_CONFIG_GLOBAL: '/dev/null' }) },
    );

    expect(await readFile(join(dest, 'Dockerfile'), 'utf8')).toBe(APP_FILES.Dockerfile);
  });
});
