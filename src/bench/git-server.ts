/**
 * A real git server on loopback for end-to-end tests: Node's http/https server in front of
 * `git http-backend` run as CGI, so clients speak the same smart-HTTP protocol (v0 and v2) they
 * speak to GitHub. Also builds small bare repositories with a fixed author and date.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startLoopbackServer } from './loopback-server.js';

const run = promisify(execFile);

export interface GitServerOptions {
  /**
   * URL path (e.g. `org/app.git`) → absolute path of a bare repository. Read on every request,
   * so repositories that need the server's URL (submodules) can be added after start.
   */
  repos: Record<string, string>;
  tls: boolean;
  /** When set, every request needs HTTP Basic credentials equal to these. */
  /** Static credentials, or a check of the user and password (e.g. "a token the fake API issued"). */
  requireAuth?: { user: string; password: string } | ((user: string, password: string) => boolean);
  /** Every response waits this long before it starts (timeouts under test). */
  delayMs?: number;
}

export interface GitServerRequest {
  method: string;
  url: string;
  status: number;
}

export interface GitServer {
  /** `http(s)://127.0.0.1:<port>` without a trailing slash. */
  url: string;
  /** The self-signed certificate to trust, when `tls` is on. */
  caFile?: string;
  requests: GitServerRequest[];
  close(): Promise<void>;
}

/** A fixed identity and clock so commits, and so their SHAs, are the same on every run. */
export const FIXED_GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.test',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.test',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const backend = join((await run('git', ['--exec-path'])).stdout.trim(), 'git-http-backend');
  const requests: GitServerRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const entry: GitServerRequest = { method: req.method ?? 'GET', url: req.url ?? '/', status: 0 };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    const respond = (): void => serve(req, res, options, backend);
    if (!options.delayMs) return respond();
    const timer = setTimeout(() => {
      timers.delete(timer);
      respond();
    }, options.delayMs);
    timers.add(timer);
  }

  const server = await startLoopbackServer(handler, { tls: options.tls === true });

  async function close(): Promise<void> {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    await server.close();
  }

  const result: GitServer = { url: server.url, requests, close };
  if (server.caFile !== undefined) result.caFile = server.caFile;
  return result;
}

function serve(
  req: IncomingMessage,
  res: ServerResponse,
  options: GitServerOptions,
  backend: string,
): void {
  if (options.requireAuth && !authorised(req, options.requireAuth)) {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('Unauthorized\n');
    return;
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const target = findRepo(decodeURIComponent(url.pathname), options.repos);
  if (!target) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Repository not found\n');
    return;
  }
  runBackend(req, res, backend, target, url.search.replace(/^\?/, ''));
}

function authorised(
  req: IncomingMessage,
  expected: NonNullable<GitServerOptions['requireAuth']>,
): boolean {
  const match = /^Basic (?<value>\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.groups?.value) return false;
  const decoded = Buffer.from(match.groups.value, 'base64').toString('utf8');
  if (typeof expected !== 'function') return decoded === `${expected.user}:${expected.password}`;
  const colon = decoded.indexOf(':');
  return colon > 0 && expected(decoded.slice(0, colon), decoded.slice(colon + 1));
}

interface RepoTarget {
  projectRoot: string;
  pathInfo: string;
}

/** Longest repository name that prefixes the path; the rest is what http-backend serves. */
function findRepo(pathname: string, repos: Record<string, string>): RepoTarget | undefined {
  const names = Object.keys(repos).sort((a, b) => b.length - a.length);
  for (const name of names) {
    const prefix = `/${name.replace(/^\/+|\/+$/g, '')}`;
    if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) continue;
    const barePath = repos[name]!;
    return {
      projectRoot: dirname(barePath),
      pathInfo: `/${basename(barePath)}${pathname.slice(prefix.length)}`,
    };
  }
  return undefined;
}

function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  backend: string,
  target: RepoTarget,
  query: string,
): void {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: target.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    PATH_INFO: target.pathInfo,
    QUERY_STRING: query,
    REQUEST_METHOD: req.method ?? 'GET',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  // Bodies are piped as they came; http-backend inflates gzip itself when told.
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;

  const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  child.stderr.resume();
  res.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const split = headerEnd(head);
    if (!split) return;
    headersDone = true;
    writeCgiHead(res, head.subarray(0, split.index).toString('latin1'));
    const body = head.subarray(split.index + split.length);
    if (body.length > 0) res.write(body);
  });
  child.stdout.on('end', () => {
    if (!headersDone && !res.headersSent) res.writeHead(502);
    res.end();
  });
  child.on('error', () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}

function headerEnd(buffer: Buffer): { index: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function writeCgiHead(res: ServerResponse, head: string): void {
  let status = 200;
  for (const line of head.split(/\r?\n/)) {
    const match = /^(?<name>[^:]+):\s*(?<value>.*)$/.exec(line);
    if (!match?.groups) continue;
    const { name, value } = match.groups as { name: string; value: string };
    if (name.toLowerCase() === 'status') {
      status = Number.parseInt(value, 10) || 500;
      continue;
    }
    res.setHeader(name, value);
  }
  res.writeHead(status);
}

export interface BareRepoOptions {
  /** Extra branches, each one commit on top of `main` that writes these files. */
  branches?: Record<string, Record<string, string>>;
  /** Lightweight tags: tag name → the branch (`main` or one above) whose commit it names. */
  tags?: Record<string, string>;
  /** Submodule entries (path → url): a `.gitmodules` section and a gitlink in the tree. */
  submodules?: Record<string, string>;
  /** Paths in `files` committed with mode 100755. */
  executables?: string[];
}

const bareRepos: string[] = [];

/**
 * A bare repository whose `main` holds `files` in one commit. Remove them all with
 * `removeBareRepos()` in afterAll.
 */
export async function makeBareRepo(
  files: Record<string, string>,
  options: BareRepoOptions = {},
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'aip-bare-'));
  bareRepos.push(root);
  const work = join(root, 'work');
  const bare = join(root, 'repo.git');
  const git = (...args: string[]): Promise<{ stdout: string }> =>
    run('git', args, { cwd: work, env: { ...process.env, ...FIXED_GIT_ENV } });

  await mkdir(work);
  await git('init', '-q', '-b', 'main');
  await writeFiles(work, files);
  await git('add', '-A');
  for (const path of options.executables ?? []) await git('update-index', '--chmod=+x', path);
  for (const [path, url] of Object.entries(options.submodules ?? {})) {
    await git('config', '-f', '.gitmodules', `submodule.${path}.path`, path);
    await git('config', '-f', '.gitmodules', `submodule.${path}.url`, url);
    // Any object id will do: the gitlink only names a commit of the other repository.
    await git('update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},${path}`);
    await git('add', '.gitmodules');
  }
  await git('commit', '-q', '--allow-empty', '-m', 'initial');
  for (const [branch, branchFiles] of Object.entries(options.branches ?? {})) {
    await git('checkout', '-q', '-b', branch, 'main');
    await writeFiles(work, branchFiles);
    await git('add', '-A');
    await git('commit', '-q', '--allow-empty', '-m', `on ${branch}`);
    await git('checkout', '-q', 'main');
  }
  for (const [tag, branch] of Object.entries(options.tags ?? {})) await git('tag', tag, branch);
  await run('git', ['clone', '-q', '--bare', work, bare], {
    env: { ...process.env, ...FIXED_GIT_ENV },
  });
  return bare;
}

/** Removes every repository made by makeBareRepo in this test file. */
export async function removeBareRepos(): Promise<void> {
  for (const dir of bareRepos.splice(0)) await rm(dir, { recursive: true, force: true });
}

async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const abs = join(root, path);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
}
