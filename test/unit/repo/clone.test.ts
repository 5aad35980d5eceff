import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  classifyGitError,
  fetchRepository,
  hardenedGitConfig,
  isCommitSha,
  isValidRefName,
  redactSecrets,
} from '../../../src/repo/clone.js';
import type { FetchedRepo } from '../../../src/repo/clone.js';
import type { Outcome } from '../../../src/outcome.js';
import { createWorkspace } from '../../../src/repo/workspace.js';
import type { Workspace } from '../../../src/repo/workspace.js';
import { FIXED_GIT_ENV, makeBareRepo, removeBareRepos } from '../../support/git-server.js';

const run = promisify(execFile);

const URL_UNDER_TEST = 'https://github.com/acme/shop';
const TOKEN = 'ghs_0123456789abcdefSECRET';
const TOKEN_BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');

describe('repo/clone classifyGitError', () => {
  it.each([
    [
      'a missing branch',
      "Cloning into '.'...\nwarning: Could not find remote branch nope to clone.\nfatal: Remote branch nope not found in upstream origin\n",
      { kind: 'refused', code: 'repo-ref-not-found' },
    ],
    [
      'a missing commit',
      'fatal: remote error: upload-pack: not our ref aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n',
      { kind: 'refused', code: 'repo-ref-not-found' },
    ],
    [
      'a ref the remote lacks',
      "fatal: couldn't find remote ref refs/heads/nope\n",
      { kind: 'refused', code: 'repo-ref-not-found' },
    ],
    [
      'a 404 from the server',
      "remote: Repository not found\nfatal: repository 'https://github.com/acme/shop/' not found\n",
      { kind: 'refused', code: 'repo-unreachable' },
    ],
    [
      'a 401 without credentials',
      "fatal: could not read Username for 'https://github.com': terminal prompts disabled\n",
      { kind: 'refused', code: 'repo-unreachable' },
    ],
    [
      'a rejected token',
      "remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/acme/shop/'\n",
      { kind: 'refused', code: 'repo-unreachable' },
    ],
    [
      'a 403',
      "fatal: unable to access 'https://github.com/acme/shop/': The requested URL returned error: 403\n",
      { kind: 'refused', code: 'repo-unreachable' },
    ],
    [
      'a path that is no repository',
      "fatal: '/srv/x' does not appear to be a git repository\n",
      { kind: 'refused', code: 'repo-unreachable' },
    ],
    [
      'a DNS failure',
      "fatal: unable to access 'https://github.com/acme/shop/': Could not resolve host: github.com\n",
      { kind: 'failed', code: 'repo-unreachable', retryable: true },
    ],
    [
      'a refused connection',
      "fatal: unable to access 'https://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server\n",
      { kind: 'failed', code: 'repo-unreachable', retryable: true },
    ],
    [
      'a server error',
      'error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502\nfatal: expected flush after ref listing\n',
      { kind: 'failed', code: 'repo-unreachable', retryable: true },
    ],
    [
      'a broken pack stream',
      'fatal: early EOF\nfatal: fetch-pack: invalid index-pack output\n',
      { kind: 'failed', code: 'repo-unreachable', retryable: true },
    ],
    [
      'an untrusted certificate',
      "fatal: unable to access 'https://github.com/acme/shop/': server certificate verification failed. CAfile: none CRLfile: none\n",
      { kind: 'failed', code: 'repo-unreachable', retryable: false },
    ],
    [
      'a transport that is not allowed',
      "Cloning into '.'...\nfatal: transport 'http' not allowed\n",
      { kind: 'refused', code: 'repo-url-rejected' },
    ],
    [
      'anything else',
      'fatal: the index file is corrupt\n',
      { kind: 'failed', code: 'internal', retryable: false },
    ],
  ])('maps %s', (_label, stderr, expected) => {
    const outcome = classifyGitError(stderr, { url: URL_UNDER_TEST, ref: 'nope' });

    expect(outcome).toMatchObject(expected);
    expect(outcome.userMessage).toContain(URL_UNDER_TEST);
  });

  it('tells the user how to fix a private or missing repository', () => {
    const outcome = classifyGitError(
      "fatal: could not read Username for 'https://github.com': terminal prompts disabled\n",
      { url: URL_UNDER_TEST },
    );

    expect(outcome.userMessage).toMatch(/does not exist or is private/);
    expect(outcome.userMessage).toMatch(/install the GitHub App/);
  });

  it('names the missing ref and explains abbreviated SHAs', () => {
    const outcome = classifyGitError('fatal: Remote branch 1a2b3c4 not found in upstream origin', {
      url: URL_UNDER_TEST,
      ref: '1a2b3c4',
    });

    expect(outcome.userMessage).toContain('"1a2b3c4"');
    expect(outcome.userMessage).toMatch(/abbreviated SHAs cannot be fetched/);
  });

  it('never quotes the token, its encoded header or URL credentials', () => {
    const stderr = [
      `fatal: unable to access 'https://x-access-token:${TOKEN}@github.com/acme/shop/': Could not resolve host: github.com`,
      `> Authorization: Basic ${TOKEN_BASIC}`,
      `fatal: early EOF near ${TOKEN}`,
    ].join('\n');

    const outcome = classifyGitError(stderr, {
      url: `https://x-access-token:${TOKEN}@github.com/acme/shop`,
      secrets: [TOKEN, TOKEN_BASIC],
    });

    const text = JSON.stringify(outcome);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(TOKEN_BASIC);
    expect(outcome).toMatchObject({ kind: 'failed', retryable: true });
  });
});

describe('repo/clone redactSecrets', () => {
  it.each([
    ['URL userinfo', 'https://user:pa55@host/x.git', 'https://***@host/x.git'],
    ['URL token only', 'clone https://ghs_abc@github.com/a/b', 'clone https://***@github.com/a/b'],
    ['a Basic header', 'Authorization: Basic eC1hY2Nlc3M=', 'Authorization: Basic ***'],
    ['a Bearer header', 'authorization: bearer abc.def', 'authorization: bearer ***'],
    ['a bare header value', 'Authorization: abc', 'Authorization: ***'],
    ['a literal secret', `token ${TOKEN} leaked`, 'token *** leaked'],
    ['text without secrets', 'fatal: early EOF', 'fatal: early EOF'],
  ])('redacts %s', (_label, input, expected) => {
    const out = redactSecrets(input, [TOKEN]);

    expect(out).toBe(expected);
  });

  it('ignores secrets too short to redact safely', () => {
    const out = redactSecrets('a b c', ['a']);

    expect(out).toBe('a b c');
  });
});

describe('repo/clone ref names', () => {
  it.each([
    ['main', true],
    ['feature/login-form', true],
    ['v1.2.3', true],
    ['--upload-pack=touch /tmp/x', false],
    ['-b', false],
    ['a..b', false],
    ['a b', false],
    ['a~1', false],
    ['a^', false],
    ['a:b', false],
    ['a\\b', false],
    ['refs//x', false],
    ['x.lock', false],
    ['.hidden', false],
    ['trailing/', false],
    ['@', false],
    ['a@{1}', false],
    ['', false],
  ])('%s → %s', (ref, expected) => {
    const valid = isValidRefName(ref);

    expect(valid).toBe(expected);
  });

  it.each([
    ['0123456789abcdef0123456789abcdef01234567', true],
    ['0123456789ABCDEF0123456789ABCDEF01234567', true],
    ['0123456789abcdef'.repeat(4), true],
    ['0123456', false],
    ['main', false],
  ])('isCommitSha(%s) → %s', (ref, expected) => {
    const sha = isCommitSha(ref);

    expect(sha).toBe(expected);
  });
});

describe('repo/clone hardenedGitConfig', () => {
  it('allows only https by default and disables hooks, helpers and filters', () => {
    const config = hardenedGitConfig();

    expect(config).toEqual(
      expect.arrayContaining([
        'protocol.allow=never',
        'protocol.https.allow=always',
        'core.hooksPath=/dev/null',
        'credential.helper=',
        'filter.lfs.smudge=',
        'filter.lfs.process=',
        'submodule.recurse=false',
      ]),
    );
    expect(config.filter((entry) => entry.startsWith('protocol.'))).toHaveLength(2);
    expect(config.some((entry) => entry.includes('sslCAInfo'))).toBe(false);
  });

  it('adds the CA bundle only when one is given', () => {
    const config = hardenedGitConfig(['https'], '/tmp/ca.pem');

    expect(config).toContain('http.sslCAInfo=/tmp/ca.pem');
  });
});

/** Real git on local repositories: the settings are shown to work, not just to be present. */
describe('repo/clone hardening against real git', () => {
  let scratch: string;
  let hostile: string;
  let bare: string;
  let hostileEnv: Record<string, string>;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'aip-clone-unit-'));
    hostile = join(scratch, 'hostile');
    // A template with a post-checkout hook and a global config with an LFS smudge command:
    // either would run a program during a clone if our settings did not stop it.
    await mkdir(join(hostile, 'template', 'hooks'), { recursive: true });
    await writeFile(
      join(hostile, 'template', 'hooks', 'post-checkout'),
      `#!/bin/sh\ntouch "${join(hostile, 'hook-ran')}"\n`,
      { mode: 0o755 },
    );
    await writeFile(
      join(hostile, 'smudge.sh'),
      `#!/bin/sh\ntouch "${join(hostile, 'smudge-ran')}"\ncat\n`,
      { mode: 0o755 },
    );
    await writeFile(
      join(hostile, 'gitconfig'),
      `[filter "lfs"]\n\tsmudge = ${join(hostile, 'smudge.sh')}\n\trequired = true\n`,
    );
    bare = await makeBareRepo({ 'a.txt': 'hello\n', '.gitattributes': '* filter=lfs\n' });
    hostileEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: hostile,
      GIT_TEMPLATE_DIR: join(hostile, 'template'),
      GIT_CONFIG_GLOBAL: join(hostile, 'gitconfig'),
      GIT_CONFIG_NOSYSTEM: '1',
    };
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
    await removeBareRepos();
  });

  beforeEach(async () => {
    await rm(join(hostile, 'hook-ran'), { force: true });
    await rm(join(hostile, 'smudge-ran'), { force: true });
  });

  async function plainClone(config: string[], dest: string): Promise<void> {
    await run(
      'git',
      [...config.flatMap((entry) => ['-c', entry]), 'clone', '-q', pathToFileURL(bare).href, dest],
      { env: hostileEnv },
    );
  }

  it('a plain clone in the hostile environment runs both programs (control)', async () => {
    await plainClone([], join(scratch, 'control'));

    expect(existsSync(join(hostile, 'hook-ran'))).toBe(true);
    expect(existsSync(join(hostile, 'smudge-ran'))).toBe(true);
  });

  it('the hardened settings alone stop both', async () => {
    await plainClone(hardenedGitConfig(['file']), join(scratch, 'hardened'));

    expect(existsSync(join(hostile, 'hook-ran'))).toBe(false);
    expect(existsSync(join(hostile, 'smudge-ran'))).toBe(false);
    expect(readFileSync(join(scratch, 'hardened', 'a.txt'), 'utf8')).toBe('hello\n');
  });

  it('fetchRepository ignores the same hostile variables in its own environment', async () => {
    const hostileNames = ['GIT_TEMPLATE_DIR', 'GIT_CONFIG_GLOBAL'] as const;
    const saved = hostileNames.map((name) => [name, process.env[name]] as const);
    for (const name of hostileNames) process.env[name] = hostileEnv[name];
    const workspace = await createWorkspace({ baseDir: scratch });

    let outcome: Outcome<FetchedRepo>;
    try {
      outcome = await fetchRepository(
        { kind: 'path', path: bare },
        { workspace, allowedProtocols: ['file'] },
      );
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }

    expect(outcome).toMatchObject({ kind: 'done', value: { cloned: true, files: 2 } });
    expect(existsSync(join(hostile, 'hook-ran'))).toBe(false);
    expect(existsSync(join(hostile, 'smudge-ran'))).toBe(false);
    await workspace.remove();
  });
});

describe('repo/clone fetchRepository with a local path', () => {
  let scratch: string;
  let workspace: Workspace;
  let tree: string;
  let treeHead: string;
  let bare: string;
  let bareHead: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'aip-clone-path-'));
    bare = await makeBareRepo(
      { Dockerfile: 'FROM node:20\n', 'src/index.js': 'console.log(1)\n' },
      { branches: { dev: { 'dev.txt': 'dev\n' } } },
    );
    bareHead = (await run('git', ['rev-parse', 'main'], { cwd: bare })).stdout.trim();
    tree = join(scratch, 'tree');
    await run('git', ['clone', '-q', bare, tree], { env: { ...process.env, ...FIXED_GIT_ENV } });
    await writeFile(join(tree, 'untracked.txt'), 'local edit\n');
    treeHead = (await run('git', ['rev-parse', 'HEAD'], { cwd: tree })).stdout.trim();
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
    await removeBareRepos();
  });

  beforeEach(async () => {
    workspace = await createWorkspace({ baseDir: join(scratch, 'ws') });
  });

  afterEach(async () => {
    await workspace.remove();
  });

  it('uses a working tree in place, with its commit and its files (.git excluded)', async () => {
    const outcome = await fetchRepository({ kind: 'path', path: tree }, { workspace });

    expect(outcome).toEqual({
      kind: 'done',
      value: {
        dir: tree,
        commit: treeHead,
        bytes: 'FROM node:20\n'.length + 'console.log(1)\n'.length + 'local edit\n'.length,
        files: 3,
        cloned: false,
      },
    });
  });

  it('leaves the commit out for a directory outside any git repository', async () => {
    const plain = join(scratch, 'plain');
    await mkdir(plain);
    await writeFile(join(plain, 'app.py'), 'print(1)\n');

    const outcome = await fetchRepository({ kind: 'path', path: plain }, { workspace });

    expect(outcome).toEqual({
      kind: 'done',
      value: { dir: plain, bytes: 9, files: 1, cloned: false },
    });
  });

  it('clones a bare repository when file:// is allowed', async () => {
    const outcome = await fetchRepository(
      { kind: 'path', path: bare },
      { workspace, allowedProtocols: ['https', 'file'] },
    );

    expect(outcome).toMatchObject({
      kind: 'done',
      value: { commit: bareHead, ref: 'main', files: 2, cloned: true },
    });
    const value = (outcome as { value: FetchedRepo }).value;
    expect(value.dir.startsWith(workspace.dir)).toBe(true);
    expect(readFileSync(join(value.dir, 'Dockerfile'), 'utf8')).toBe('FROM node:20\n');
  });

  it('refuses a bare repository when file:// is not allowed', async () => {
    const outcome = await fetchRepository({ kind: 'path', path: bare }, { workspace });

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-url-rejected' });
  });

  it('clones a working tree when a ref is named, leaving the tree alone', async () => {
    const outcome = await fetchRepository(
      { kind: 'path', path: tree },
      { workspace, ref: 'main', allowedProtocols: ['file'] },
    );

    expect(outcome).toMatchObject({
      kind: 'done',
      value: { commit: treeHead, ref: 'main', files: 2, cloned: true },
    });
    const value = (outcome as { value: FetchedRepo }).value;
    expect(value.dir.startsWith(workspace.dir)).toBe(true);
    expect(existsSync(join(value.dir, 'untracked.txt'))).toBe(false);
  });

  it('accepts a full ref name and reports the short one', async () => {
    const outcome = await fetchRepository(
      { kind: 'path', path: bare },
      { workspace, ref: 'refs/heads/dev', allowedProtocols: ['file'] },
    );

    expect(outcome).toMatchObject({ kind: 'done', value: { ref: 'dev', files: 3 } });
  });

  it('refuses a path that does not exist', async () => {
    const outcome = await fetchRepository(
      { kind: 'path', path: join(scratch, 'missing') },
      { workspace },
    );

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-path-not-found' });
    expect((outcome as { userMessage: string }).userMessage).toContain('does not exist');
  });

  it('refuses a file where a directory is expected', async () => {
    const outcome = await fetchRepository(
      { kind: 'path', path: join(tree, 'Dockerfile') },
      { workspace },
    );

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-path-not-found' });
  });

  it('refuses a working tree over the file limit, saying so with numbers', async () => {
    const outcome = await fetchRepository({ kind: 'path', path: tree }, { workspace, maxFiles: 1 });

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-too-many-files' });
    expect((outcome as { userMessage: string }).userMessage).toMatch(
      /has more than 2 files; the limit is 1/,
    );
  });

  it('refuses a ref that could be read as an option, before running git', async () => {
    const outcome = await fetchRepository(
      { kind: 'path', path: bare },
      { workspace, ref: '--upload-pack=touch /tmp/pwned', allowedProtocols: ['file'] },
    );

    expect(outcome).toMatchObject({ kind: 'refused', code: 'repo-ref-not-found' });
    expect(existsSync('/tmp/pwned')).toBe(false);
  });
});
