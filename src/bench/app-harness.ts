/**
 * The whole App on loopback, for the end-to-end tests and `bench:e2e`: a git server holding the
 * example repositories, a fake GitHub API, and `ai-provision serve` as a real child process that
 * receives signed webhooks over HTTP — which can be killed and restarted, and joined by
 * `ai-provision worker` processes when the environment names Redis and PostgreSQL. Each harness
 * has its own data directory. Nothing leaves 127.0.0.1.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { walkTree } from '../repo/tree.js';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubRepo } from './fake-github-api.js';
import { makeBareRepo, removeBareRepos, startGitServer, type GitServer } from './git-server.js';
import { freePort } from './servers.js';
import { issueCommentPayload, repositoryDispatchPayload } from './webhook-payloads.js';
import { sendWebhook } from './webhooks.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const APP_ID = 4242;
export const INSTALLATION_ID = 77;
export const WEBHOOK_SECRET = 'loopback-webhook-secret';

/** Every text file under `dir` as path → text, for makeBareRepo. */
export function filesOf(dir: string): Record<string, string> {
  const tree = walkTree(dir);
  return Object.fromEntries(
    tree.files.flatMap((f) => {
      const text = tree.read(f.path);
      return text === undefined ? [] : [[f.path, text] as const];
    }),
  );
}

export interface HarnessRepo {
  owner: string;
  repo: string;
  /** Files of the repository's single commit on `main`. */
  files: Record<string, string>;
  /** login → role on this repository. */
  permissions?: Record<string, string>;
  /** Issue numbers that exist, and pull requests (number → head). */
  issues?: number[];
  pulls?: Record<number, { headSha: string; headRef: string; baseRef: string }>;
  /** Files the contents API serves (e.g. `.github/ai-provision.yml`). Defaults to `files`. */
  apiFiles?: Record<string, string>;
}

/** A child process of the built CLI, with everything it printed. */
export interface CliProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Sends `signal` (SIGKILL by default: a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface AppHarness {
  git: GitServer;
  github: FakeGitHub;
  /** http://127.0.0.1:<port> of `ai-provision serve` (the same across restarts). */
  appUrl: string;
  webhookUrl: string;
  /** The server's data directory (the embedded store). */
  dataDir: string;
  /** Everything the servers printed (pino JSON lines and stderr), across restarts. */
  logs(): string;
  /** Stops `serve` with `signal` (SIGKILL: a crash; SIGTERM: a drain) and starts it again on the same port and data. */
  restartServer(signal: NodeJS.Signals): Promise<void>;
  /** Starts `ai-provision worker` with the harness's environment plus `env`; resolves once it takes jobs. */
  startWorker(args: string[], env?: Record<string, string>): Promise<CliProcess>;
  cloneUrl(owner: string, repo: string): string;
  /** Posts a signed issue_comment webhook; returns the HTTP status and the delivery id. */
  comment(input: {
    owner: string;
    repo: string;
    body: string;
    login: string;
    issueNumber?: number;
    commentId?: number;
    isPullRequest?: boolean;
    senderType?: 'User' | 'Bot';
    action?: 'created' | 'edited';
    changesBodyFrom?: string;
    deliveryId?: string;
    signature?: string;
  }): Promise<{ status: number; deliveryId: string; commentId: number }>;
  dispatch(input: {
    owner: string;
    repo: string;
    clientPayload: unknown;
    login: string;
    deliveryId?: string;
    eventType?: string;
  }): Promise<{ status: number; deliveryId: string }>;
  /** Polls `check` every 25 ms until it returns a value other than undefined, or fails after timeoutMs. */
  waitFor<T>(check: () => T | undefined, timeoutMs?: number, what?: string): Promise<T>;
  close(): Promise<void>;
}

let nextCommentId = 5000;

export async function startAppHarness(options: {
  repos: HarnessRepo[];
  env?: Record<string, string>;
  /** Every git response waits this long (slow clones, to catch a job mid-run). */
  gitDelayMs?: number;
}): Promise<AppHarness> {
  const bare: Record<string, string> = {};
  const heads = new Map<string, { commit: string; tree: string }>();
  for (const r of options.repos) {
    const dir = await makeBareRepo(r.files);
    bare[`${r.owner}/${r.repo}.git`] = dir;
    // The fake API must know the commit the App will clone, as GitHub would.
    const revParse = (what: string): string =>
      execFileSync('git', ['--git-dir', dir, 'rev-parse', what], { encoding: 'utf8' }).trim();
    heads.set(`${r.owner}/${r.repo}`, { commit: revParse('main'), tree: revParse('main^{tree}') });
  }
  // Every clone must carry an installation token the fake API issued, as for a private repository.
  let issued: readonly string[] = [];
  const git = await startGitServer({
    repos: bare,
    tls: true,
    requireAuth: (user, password) => user === 'x-access-token' && issued.includes(password),
    ...(options.gitDelayMs === undefined ? {} : { delayMs: options.gitDelayMs }),
  });
  const cloneUrl = (owner: string, repo: string): string => `${git.url}/${owner}/${repo}.git`;
  const fakeRepos: FakeGitHubRepo[] = options.repos.map((r) => {
    const head = heads.get(`${r.owner}/${r.repo}`)!;
    return {
      owner: r.owner,
      repo: r.repo,
      defaultBranch: 'main',
      commits: { [head.commit]: { tree: head.tree } },
      branches: { main: head.commit },
      cloneUrl: cloneUrl(r.owner, r.repo),
      files: r.apiFiles ?? {},
      permissions: r.permissions ?? {},
      issues: r.issues ?? [1],
      pulls: r.pulls ?? {},
    };
  });
  const github = await startFakeGitHub({
    repos: fakeRepos,
    appId: APP_ID,
    installationId: INSTALLATION_ID,
  });

  issued = github.tokensIssued;
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  // Probot treats PORT=0 as "use 3000", so a free port is found first.
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'aip-harness-data-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TMPDIR: process.env.TMPDIR ?? '/tmp',
    APP_ID: String(APP_ID),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    GITHUB_API_URL: github.url,
    GIT_CA_FILE: git.caFile ?? '',
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    AI_PROVISION_DATA_DIR: dataDir,
    // Tests share two cores with other test files; the load gate would only add waits here.
    AI_PROVISION_CPU_THRESHOLD: 'off',
    ...options.env,
  };
  let output = '';
  const processes: CliProcess[] = [];
  function spawnCli(args: string[], extraEnv: Record<string, string> = {}): CliProcess {
    const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let own = '';
    const append = (chunk: Buffer): void => {
      own += chunk.toString();
      output += chunk.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const handle: CliProcess = {
      child,
      output: () => own,
      exited,
      async kill(signal = 'SIGKILL') {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      },
    };
    processes.push(handle);
    return handle;
  }

  async function waitFor<T>(
    check: () => T | undefined,
    timeoutMs = 30_000,
    what = 'condition',
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}\n${output.slice(-4000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function startServe(): Promise<{ process: CliProcess; url: string }> {
    const serve = spawnCli(['serve']);
    const url = await waitFor(
      () =>
        serve.child.exitCode === null
          ? /"url":"(?<url>http:\/\/127\.0\.0\.1:\d+)"[^\n]*ai-provision is listening/.exec(
              serve.output(),
            )?.groups?.url
          : (() => {
              throw new Error(`serve exited with ${serve.child.exitCode}\n${serve.output()}`);
            })(),
      30_000,
      'the server to listen',
    );
    return { process: serve, url };
  }

  let serve = await startServe();
  const appUrl = serve.url;
  const webhookUrl = `${appUrl}/api/github/webhooks`;

  return {
    git,
    github,
    appUrl,
    webhookUrl,
    dataDir,
    logs: () => output,
    async restartServer(signal) {
      await serve.process.kill(signal);
      serve = await startServe();
    },
    async startWorker(args, extraEnv = {}) {
      const worker = spawnCli(['worker', ...args], extraEnv);
      await waitFor(
        () =>
          worker.child.exitCode === null
            ? /ai-provision runner is taking jobs/.test(worker.output())
              ? true
              : undefined
            : (() => {
                throw new Error(`worker exited with ${worker.child.exitCode}\n${worker.output()}`);
              })(),
        30_000,
        'the worker to take jobs',
      );
      return worker;
    },
    cloneUrl,
    waitFor,
    async comment(input) {
      const deliveryId = input.deliveryId ?? randomUUID();
      const commentId = input.commentId ?? nextCommentId++;
      const payload = issueCommentPayload({
        owner: input.owner,
        repo: input.repo,
        cloneUrl: cloneUrl(input.owner, input.repo),
        issueNumber: input.issueNumber ?? 1,
        commentId,
        body: input.body,
        login: input.login,
        senderType: input.senderType ?? 'User',
        action: input.action ?? 'created',
        ...(input.changesBodyFrom === undefined ? {} : { changesBodyFrom: input.changesBodyFrom }),
        isPullRequest: input.isPullRequest ?? false,
        installationId: INSTALLATION_ID,
      });
      const sent = await sendWebhook(webhookUrl, {
        event: 'issue_comment',
        payload,
        secret: WEBHOOK_SECRET,
        deliveryId,
        ...(input.signature === undefined ? {} : { signature: input.signature }),
      });
      return { status: sent.status, deliveryId, commentId };
    },
    async dispatch(input) {
      const deliveryId = input.deliveryId ?? randomUUID();
      const payload = repositoryDispatchPayload({
        owner: input.owner,
        repo: input.repo,
        cloneUrl: cloneUrl(input.owner, input.repo),
        clientPayload: input.clientPayload,
        login: input.login,
        installationId: INSTALLATION_ID,
        ...(input.eventType === undefined ? {} : { action: input.eventType }),
      });
      const sent = await sendWebhook(webhookUrl, {
        event: 'repository_dispatch',
        payload,
        secret: WEBHOOK_SECRET,
        deliveryId,
      });
      return { status: sent.status, deliveryId };
    },
    async close() {
      await Promise.all(processes.map((p) => p.kill('SIGTERM')));
      await github.close();
      await git.close();
      await removeBareRepos();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
