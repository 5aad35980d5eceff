/**
 * `ai-provision serve`: builds the adapters (Probot server with webhook-signature checking, the
 * durable runtime — store, pool, limiters, metrics — and the knowledge retriever) and wires them to
 * app.ts. On start it resumes the jobs the store says are unfinished. Besides cli.ts and
 * worker.ts, the only place that constructs concrete clients. SIGTERM drains jobs in flight
 * (Atlantis Drainer); jobs still waiting stay queued in the store for the next start.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Probot, ProbotOctokit, Server, run as runProbotSetup } from 'probot';
import { createApp } from './app.js';
import type { AppSettings } from './commands/deps.js';
import { PROVISION_ROUTING, provisionHandler, type JobDeps } from './commands/provision.js';
import type { ServerEnv } from './env.js';
import { createLogger, type Logger } from './observe/logger.js';
import type { PoolSettings } from './pool/index.js';
import type { LimiterFactory } from './pool/limiters.js';
import { createKnowledgeRetriever } from './rag/retriever.js';
import type { Retriever } from './rag/schema.js';
import { createPlanAdapters } from './cli-plan.js';
import { createGitHubScm } from './scm/index.js';
import { githubWriteThrottle } from './scm/throttle.js';
import type { Store } from './store/index.js';
import {
  closeRuntimeBase,
  listenUrl,
  openRuntimeBase,
  sendMetrics,
  startPool,
  startAutoscaler,
  type RuntimeBase,
} from './runtime.js';
import type { ProxmoxSettingsResult } from './proxmox/settings.js';

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  /** Stops taking webhooks, lets running jobs finish (up to the drain time), closes everything. */
  close(): Promise<void>;
}

export interface ServeOptions {
  env: ServerEnv;
  pool: PoolSettings;
  appId: string;
  privateKey: string;
  webhookSecret: string;
  /** The Proxmox settings (readProxmoxSettings); the autoscaler starts when they enable it. */
  proxmox?: ProxmoxSettingsResult;
  log?: Logger;
}

export function settingsFrom(env: ServerEnv): AppSettings {
  return {
    githubHost: env.GITHUB_HOST,
    docsUrl: env.AI_PROVISION_DOCS_URL,
    statusEditMs: env.AI_PROVISION_STATUS_EDIT_MS,
    ...(env.GIT_CA_FILE === undefined ? {} : { gitCaFile: env.GIT_CA_FILE }),
  };
}

type AuthRequest = ((...args: unknown[]) => unknown) & {
  defaults?: (options: { baseUrl: string }) => unknown;
};

/**
 * Our defaults for every Octokit Probot builds. Probot rebuilds each installation's Octokit from
 * the app's options with its own `throttle` object, so our write buckets are merged in on every
 * construction, not set once. And Probot hands the App auth strategy a `request` of its own
 * without the base URL: `octokit.auth({ type: 'installation' })` with a cold token cache (a job
 * resumed after a restart, a runner's first job) would then ask api.github.com instead of
 * GITHUB_API_URL (GitHub Enterprise, the test fake), so that request gets the base URL here.
 */
export function withAppDefaults(
  Octokit: typeof ProbotOctokit,
  limiters: LimiterFactory,
): typeof ProbotOctokit {
  const groups = githubWriteThrottle(limiters);
  return Octokit.defaults((options: Record<string, unknown>) => {
    const throttle = (options.throttle ?? {}) as Record<string, unknown>;
    const auth = options.auth as { request?: AuthRequest } | undefined;
    const baseUrl = options.baseUrl;
    const withBase =
      typeof auth === 'object' &&
      auth !== null &&
      typeof auth.request?.defaults === 'function' &&
      typeof baseUrl === 'string'
        ? { auth: { ...auth, request: auth.request.defaults({ baseUrl }) } }
        : {};
    return { ...options, ...withBase, throttle: { ...throttle, ...groups } };
  }) as typeof ProbotOctokit;
}

/** The worker side of a provision job, for serve and for `worker`. */
export function provisionJobDeps(options: {
  base: RuntimeBase;
  settings: AppSettings;
  log: Logger;
  retriever: Retriever;
  /** An Octokit authenticated as the installation. */
  installationOctokit: (installationId: number) => Promise<Parameters<typeof createGitHubScm>[0]>;
  shuttingDown: () => boolean;
  /** The pool's attempts per job; a job is given up after twice as many runs in all. */
  maxAttempts: number;
}): JobDeps {
  const { base } = options;
  return {
    store: base.store,
    settings: options.settings,
    log: options.log,
    scmFor: async (installationId) => {
      if (installationId === undefined) throw new Error('job has no installation to act as');
      return createGitHubScm(await options.installationOctokit(installationId));
    },
    planDeps: async () => {
      const adapters = await createPlanAdapters(
        undefined,
        process.env,
        options.retriever,
        base.limiters,
      );
      if (adapters.kind !== 'done')
        throw new Error(`reasoner unavailable: ${adapters.userMessage}`);
      return adapters.value;
    },
    observeStage: (stage, seconds) => base.metrics.observeStage(stage, seconds),
    shuttingDown: options.shuttingDown,
    maxRuns: options.maxAttempts * 2,
  };
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { env } = options;
  const log = options.log ?? createLogger({ level: env.LOG_LEVEL });
  const settings = settingsFrom(env);
  const base = await openRuntimeBase(env, log);
  const retriever = await createKnowledgeRetriever();
  let probot: Probot | undefined;
  let closing: Promise<void> | undefined;

  const jobDeps = provisionJobDeps({
    base,
    settings,
    log,
    retriever,
    installationOctokit: async (installationId) => {
      if (probot === undefined) throw new Error('the App is not loaded yet');
      return probot.auth(installationId);
    },
    shuttingDown: () => closing !== undefined,
    maxAttempts: options.pool.maxAttempts,
  });
  const pool = await startPool(base, {
    env,
    settings: options.pool,
    handlers: new Map([[PROVISION_ROUTING.kind, provisionHandler(jobDeps)]]),
    log,
    runLocally: env.AI_PROVISION_LOCAL_RUNNER,
    ...(env.AI_PROVISION_RUNNER_LABELS === undefined
      ? {}
      : { labels: env.AI_PROVISION_RUNNER_LABELS.split(',').map((l) => l.trim()) }),
  });
  const { queue } = pool;
  const proxmox = options.proxmox;
  const autoscaler =
    proxmox?.kind === 'ok' && proxmox.autoscaler.enabled && pool.producer !== undefined
      ? startAutoscaler(base, {
          producer: pool.producer,
          redisUrl: env.REDIS_URL!,
          queuePrefix: env.AI_PROVISION_QUEUE_PREFIX,
          proxmox,
          log,
        })
      : undefined;

  const server = new Server({
    Probot: Probot.defaults({
      appId: options.appId,
      privateKey: options.privateKey,
      secret: options.webhookSecret,
      baseUrl: env.GITHUB_API_URL,
      log,
      Octokit: withAppDefaults(ProbotOctokit, base.limiters),
    }),
    host: env.HOST,
    port: env.PORT,
    webhookPath: env.WEBHOOK_PATH,
    ...(env.WEBHOOK_PROXY_URL === undefined ? {} : { webhookProxy: env.WEBHOOK_PROXY_URL }),
    log,
    enablePing: true,
    enableNotFound: true,
  });

  await server.load((app, appOptions) => {
    probot = app;
    appOptions.addHandler((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET') return false;
      if (path === '/healthz') {
        void queue.stats().then(
          (stats) =>
            res
              .writeHead(200, { 'content-type': 'application/json' })
              .end(JSON.stringify({ status: 'ok', mode: base.mode, queue: stats.byLabel })),
          () =>
            res
              .writeHead(503, { 'content-type': 'application/json' })
              .end(JSON.stringify({ status: 'queue unreachable' })),
        );
        return true;
      }
      if (path === '/metrics') {
        sendMetrics(base.metrics, res);
        return true;
      }
      return false;
    });
    return createApp({
      store: base.store,
      queue,
      settings,
      log,
      scmFromContext: (context) => createGitHubScm(context.octokit),
    })(app, appOptions);
  });
  const http: HttpServer = await server.start();
  const { port } = http.address() as AddressInfo;
  const url = listenUrl(env.HOST, port);
  const resumed = await pool.resume();
  log.info(
    { url, webhookPath: env.WEBHOOK_PATH, store: base.storeWhere, pool: base.mode, resumed },
    'ai-provision is listening',
  );

  return {
    url,
    port,
    store: base.store,
    close: () => {
      closing ??= (async () => {
        await server.stop();
        await autoscaler?.close();
        const waiting = await pool.close(env.AI_PROVISION_DRAIN_MS);
        if (waiting.length > 0) {
          log.info(
            { jobs: waiting },
            'jobs still queued at shutdown; they resume at the next start',
          );
        }
        await closeRuntimeBase(base);
      })();
      return closing;
    },
  };
}

/** No App registered yet: Probot's manifest flow registers one from app.yml and writes .env. */
export async function startSetup(): Promise<void> {
  await runProbotSetup(() => undefined);
}
