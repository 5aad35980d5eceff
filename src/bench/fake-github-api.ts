/**
 * A local stand-in for GitHub's REST API (the routes the ScmClient and a Probot app use) plus the
 * one GraphQL mutation we send, for tests and benches.
 *
 * It is stateful and answers with GitHub's JSON shapes — only the fields we read plus ids, node_id,
 * url and html_url — so the real Octokit (retry, throttling, auth strategies) runs unchanged against
 * it with `baseUrl: fake.url`. Every request is recorded with its parsed body and the kind of
 * credentials it carried (never the credentials themselves).
 *
 * Rules copied from GitHub because the core depends on them: installation tokens come from
 * POST /app/installations/{id}/access_tokens with an app JWT; repository routes need an installation
 * token this fake issued (or one listed in `acceptTokens`); an existing ref answers 422 "Reference
 * already exists"; a ref update that is not a fast-forward needs `force`; one open pull request per
 * head branch; comment and pull request bodies over 65,536 characters and check-run texts over 65,535
 * answer 422; the collaborator-permission answer folds maintain into write and triage into read in
 * `permission` and names the role in `role_name`. Unknown routes answer 404 like GitHub.
 *
 * Only loopback: the server binds 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleRepoRoute, type RepoRouteContext } from './fake-github-routes.js';
import { DOCS, message, repoKey } from './fake-github-state.js';

export interface FakeGitHubRepo {
  owner: string;
  repo: string;
  /** Default 'main'. */
  defaultBranch?: string;
  private?: boolean;
  /** Returned as clone_url (point it at the loopback git server). */
  cloneUrl: string;
  /** Commit sha → tree sha of commits that exist already (the cloned base). */
  commits?: Record<string, { tree: string; parents?: string[] }>;
  /** branch → commit sha */
  branches?: Record<string, string>;
  /** path → text, served by the contents API (at any existing branch or commit). */
  files?: Record<string, string>;
  /**
   * login → 'admin'|'maintain'|'write'|'triage'|'read'|'none'. A login not listed answers 404, as
   * GitHub does for a login that is not a user; list 'none' for a user without access (GitHub: 200).
   */
  permissions?: Record<string, string>;
  /** issue/PR numbers that exist; PR threads get a head sha */
  issues?: number[];
  pulls?: Record<number, { headSha: string; headRef: string; baseRef: string }>;
}

export interface FakeGitHubCall {
  method: string;
  /** URL-decoded, without the query. */
  path: string;
  query: Record<string, string>;
  /** What the fake answered (0 until it has). */
  status: number;
  /** The parsed JSON request body; undefined when there was none. */
  body: unknown;
  auth: 'jwt' | 'token' | 'none';
  /** Date.now() when the request arrived. */
  at: number;
}

export interface FakeComment {
  id: number;
  nodeId: string;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  minimized: boolean;
  edits: number;
}
export interface FakeReaction {
  owner: string;
  repo: string;
  commentId: number;
  content: string;
}
export interface FakeTree {
  owner: string;
  repo: string;
  baseTree: string;
  entries: { path: string; content: string }[];
}
export interface FakeCommit {
  owner: string;
  repo: string;
  message: string;
  tree: string;
  parents: string[];
}
export interface FakePull {
  number: number;
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  headSha: string;
}
export interface FakeCheckRun {
  id: number;
  owner: string;
  repo: string;
  name: string;
  headSha: string;
  status: string;
  conclusion?: string;
  output: { title: string; summary: string; text?: string };
  updates: number;
}

export interface FakeGitHub {
  /** http://127.0.0.1:<port> — Octokit's baseUrl. */
  url: string;
  /** Every request, in arrival order. */
  calls: FakeGitHubCall[];
  comments: FakeComment[];
  reactions: FakeReaction[];
  trees: Map<string, FakeTree>;
  commits: Map<string, FakeCommit>;
  /** `${owner}/${repo}:refs/heads/${branch}` → sha */
  refs: Map<string, string>;
  pulls: FakePull[];
  checkRuns: FakeCheckRun[];
  /** Installation tokens handed out. */
  tokensIssued: string[];
  /** Makes the next `count` (default 1) requests matching method + path pattern answer `status` (429 gets retry-after: 1). */
  failNext(method: string, pathPattern: RegExp, status: number, count?: number): void;
  addRepo(repo: FakeGitHubRepo): void;
  close(): Promise<void>;
}

export interface FakeGitHubOptions {
  repos: FakeGitHubRepo[];
  /** When set, app JWTs must carry `iss` equal to it. */
  appId?: number;
  /** When set, only this installation's tokens can be created. */
  installationId?: number;
  /** Tokens repository routes accept besides the ones this fake issued (e.g. an Actions GITHUB_TOKEN). */
  acceptTokens?: string[];
}

/** What a handler answers. */
export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The state shared with the route handlers (fake-github-routes.ts). */
export interface FakeGitHubState {
  apiUrl: string;
  repos: Map<string, FakeGitHubRepo>;
  comments: FakeComment[];
  reactions: FakeReaction[];
  trees: Map<string, FakeTree>;
  commits: Map<string, FakeCommit>;
  refs: Map<string, string>;
  pulls: FakePull[];
  checkRuns: FakeCheckRun[];
  issueLabels: Map<string, string[]>;
  counters: { issue: number; comment: number; checkRun: number; reaction: number };
}

// Generous for a test server, but stops a runaway client from filling memory.
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const TOKEN_LIFETIME_MS = 60 * 60 * 1000;

interface Failure {
  method: string;
  pattern: RegExp;
  status: number;
  remaining: number;
}

export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const calls: FakeGitHubCall[] = [];
  const tokensIssued: string[] = [];
  const acceptTokens = new Set(options.acceptTokens ?? []);
  const failures: Failure[] = [];
  const state: FakeGitHubState = {
    apiUrl: '',
    repos: new Map(),
    comments: [],
    reactions: [],
    trees: new Map(),
    commits: new Map(),
    refs: new Map(),
    pulls: [],
    checkRuns: [],
    issueLabels: new Map(),
    counters: { issue: 100, comment: 1000, checkRun: 5000, reaction: 9000 },
  };
  for (const repo of options.repos) addRepo(state, repo);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug here must not take the test process down; answer 500 if we still can.
      send(res, { status: 500, body: { message: `fake GitHub bug: ${String(error)}` } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const credentials = credentialsOf(req.headers.authorization);
    const call: FakeGitHubCall = {
      method,
      path: safeDecode(url.pathname),
      query: Object.fromEntries(url.searchParams),
      status: 0,
      body: undefined,
      auth: credentials.kind,
      at: Date.now(),
    };
    calls.push(call);
    const raw = await readBody(req);
    const answer = ((): FakeAnswer => {
      if (raw === undefined) return message(413, 'Payload too large');
      if (raw !== '') {
        try {
          call.body = JSON.parse(raw) as unknown;
        } catch {
          return message(400, 'Problems parsing JSON');
        }
      }
      return scriptedFailure(method, call.path) ?? route(call, credentials);
    })();
    call.status = answer.status;
    send(res, answer);
  }

  function scriptedFailure(method: string, path: string): FakeAnswer | undefined {
    const failure = failures.find((candidate) => {
      candidate.pattern.lastIndex = 0; // a /g pattern must not remember the previous match
      return candidate.method === method && candidate.pattern.test(path);
    });
    if (!failure) return undefined;
    failure.remaining -= 1;
    if (failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
    if (failure.status !== 429) {
      return message(failure.status, STATUS_CODES[failure.status] ?? 'Error');
    }
    const reset = Math.ceil(Date.now() / 1000) + 1;
    return {
      status: 429,
      body: { message: 'API rate limit exceeded for installation.', documentation_url: DOCS },
      headers: {
        'retry-after': '1',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': '5000',
        'x-ratelimit-reset': String(reset),
        'x-ratelimit-resource': 'core',
      },
    };
  }

  function route(call: FakeGitHubCall, credentials: Credentials): FakeAnswer {
    const tokenRoute = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(call.path);
    if (tokenRoute) {
      return call.method === 'POST'
        ? issueToken(Number(tokenRoute[1]), credentials)
        : message(404, 'Not Found');
    }
    const isGraphql = call.path === '/graphql';
    const isRepoRoute = call.path.startsWith('/repos/');
    if (!isGraphql && !isRepoRoute) return message(404, 'Not Found');
    const refusal = installationAuthProblem(credentials);
    if (refusal) return refusal;
    if (isGraphql) {
      return call.method === 'POST' ? graphql(state, call.body) : message(404, 'Not Found');
    }
    const context: RepoRouteContext = {
      method: call.method,
      path: call.path,
      query: call.query,
      body: call.body,
    };
    return handleRepoRoute(state, context);
  }

  function installationAuthProblem(credentials: Credentials): FakeAnswer | undefined {
    if (credentials.kind === 'none') {
      return message(401, 'Requires authentication');
    }
    if (credentials.kind === 'jwt') {
      // GitHub refuses an app JWT on installation routes.
      return message(403, 'Resource not accessible by integration');
    }
    if (!tokensIssued.includes(credentials.value) && !acceptTokens.has(credentials.value)) {
      return message(401, 'Bad credentials');
    }
    return undefined;
  }

  /**
   * The JWT's signature is NOT verified (the fake does not know the app's public key); its payload
   * must decode, carry `iss` equal to appId (when set) and an `exp` in the future.
   */
  function issueToken(installationId: number, credentials: Credentials): FakeAnswer {
    if (credentials.kind !== 'jwt') {
      return message(401, 'A JSON web token could not be decoded');
    }
    const payload = jwtPayload(credentials.value);
    if (!payload) return message(401, 'A JSON web token could not be decoded');
    if (options.appId !== undefined && String(payload.iss) !== String(options.appId)) {
      return message(401, "'Issuer' claim ('iss') must be an Integer");
    }
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= Date.now()) {
      return message(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (options.installationId !== undefined && installationId !== options.installationId) {
      return message(404, 'Not Found');
    }
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    tokensIssued.push(token);
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(Date.now() + TOKEN_LIFETIME_MS).toISOString().replace(/\.\d+Z$/, 'Z'),
        permissions: {
          checks: 'write',
          contents: 'write',
          issues: 'write',
          metadata: 'read',
          pull_requests: 'write',
        },
        repository_selection: 'all',
      },
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  state.apiUrl = `http://127.0.0.1:${port}`;
  let closed = false;

  return {
    url: state.apiUrl,
    calls,
    comments: state.comments,
    reactions: state.reactions,
    trees: state.trees,
    commits: state.commits,
    refs: state.refs,
    pulls: state.pulls,
    checkRuns: state.checkRuns,
    tokensIssued,
    failNext(method, pathPattern, status, count = 1) {
      if (count < 1) return;
      failures.push({
        method: method.toUpperCase(),
        pattern: pathPattern,
        status,
        remaining: count,
      });
    },
    addRepo(repo) {
      addRepo(state, repo);
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function addRepo(state: FakeGitHubState, repo: FakeGitHubRepo): void {
  state.repos.set(repoKey(repo.owner, repo.repo), repo);
  const { owner } = repo;
  for (const [sha, commit] of Object.entries(repo.commits ?? {})) {
    const parents = commit.parents ?? [];
    state.commits.set(sha, { owner, repo: repo.repo, message: '', tree: commit.tree, parents });
  }
  for (const [branch, sha] of Object.entries(repo.branches ?? {})) {
    state.refs.set(`${owner}/${repo.repo}:refs/heads/${branch}`, sha);
  }
  for (const [number, pull] of Object.entries(repo.pulls ?? {})) {
    state.pulls.push({
      number: Number(number),
      owner,
      repo: repo.repo,
      head: pull.headRef,
      base: pull.baseRef,
      title: '',
      body: '',
      state: 'open',
      labels: [],
      headSha: pull.headSha,
    });
  }
  const numbers = [...(repo.issues ?? []), ...Object.keys(repo.pulls ?? {}).map(Number)];
  state.counters.issue = Math.max(state.counters.issue, ...numbers.map((n) => n + 1));
}

/** POST /graphql: only `minimizeComment`, answering errors with HTTP 200 like GitHub. */
function graphql(state: FakeGitHubState, body: unknown): FakeAnswer {
  const { query, variables } = (body ?? {}) as { query?: unknown; variables?: unknown };
  const errors = (text: string): FakeAnswer => ({
    status: 200,
    body: { errors: [{ message: text }] },
  });
  if (typeof query !== 'string' || !/\bminimizeComment\s*\(/.test(query)) {
    return errors('This fake GitHub only answers the minimizeComment mutation.');
  }
  const subject = /subjectId:\s*(?:\$(\w+)|"([^"]*)")/.exec(query);
  const values = (variables ?? {}) as Record<string, unknown>;
  const nodeId = subject?.[1] !== undefined ? values[subject[1]] : subject?.[2];
  const classifier = /classifier:\s*(\w+)/.exec(query)?.[1];
  const classifiers = ['SPAM', 'ABUSE', 'OFF_TOPIC', 'OUTDATED', 'DUPLICATE', 'RESOLVED'];
  if (classifier !== undefined && !classifiers.includes(classifier)) {
    return errors(
      `Argument 'classifier' on InputObject 'MinimizeCommentInput' has an invalid value (${classifier}).`,
    );
  }
  const comment = state.comments.find((candidate) => candidate.nodeId === nodeId);
  if (!comment) {
    return {
      status: 200,
      body: {
        data: { minimizeComment: null },
        errors: [
          {
            type: 'NOT_FOUND',
            path: ['minimizeComment'],
            message: `Could not resolve to a node with the global id of '${String(nodeId)}'.`,
          },
        ],
      },
    };
  }
  comment.minimized = true;
  return {
    status: 200,
    body: { data: { minimizeComment: { minimizedComment: { isMinimized: true } } } },
  };
}

interface Credentials {
  kind: FakeGitHubCall['auth'];
  value: string;
}

/** `bearer a.b.c` is an app JWT; `token x` or `bearer x` an installation/OAuth token. */
function credentialsOf(header: string | undefined): Credentials {
  const match = /^(bearer|token)\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[2]) return { kind: 'none', value: '' };
  const value = match[2];
  const isJwt = match[1]?.toLowerCase() === 'bearer' && value.split('.').length === 3;
  return { kind: isJwt ? 'jwt' : 'token', value };
}

function jwtPayload(jwt: string): Record<string, unknown> | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null ? payload : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, answer: FakeAnswer): void {
  if (res.headersSent || res.destroyed) return;
  const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
    ...answer.headers,
  });
  res.end(body);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The raw body, or undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep draining so the answer can still be written on a keep-alive socket.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8');
}
