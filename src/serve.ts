/**
 * `ai-provision serve`: builds the adapters (Probot server with webhook-signature checking, the
 * store, the queue, the knowledge retriever) and wires them to app.ts. The only place besides
 * cli.ts that constructs concrete clients. SIGTERM drains jobs in flight (Atlantis Drainer).
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Probot, ProbotOctokit, Server, run as runProbotSetup } from 'probot';
import { createApp } from './app.js';
import type { AppSettings } from './commands/deps.js';
import { runProvisionJob } from './commands/provision.js';
import type { ServerEnv } from './env.js';
import { createLogger, type Logger } from './observe/logger.js';
import { createInProcessQueue, createLockTable } from './pool/index.js';
import { createKnowledgeRetriever } from './rag/retriever.js';
import { createPlanAdapters } from './cli-plan.js';
import { createGitHubScm } from './scm/index.js';
import { githubWriteThrottle } from './scm/throttle.js';
import { createMemoryStore, type Store } from './store/index.js';

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  /** Stops taking webhooks, lets running jobs finish (up to the drain time), closes everything. */
  close(): Promise<void>;
}

export interface ServeOptions {
  env: ServerEnv;
  appId: string;
  privateKey: string;
  webhookSecret: string;
  log?: Logger;
}

function settingsFrom(env: ServerEnv): AppSettings {
  return {
    githubHost: env.GITHUB_HOST,
    docsUrl: env.AI_PROVISION_DOCS_URL,
    statusEditMs: env.AI_PROVISION_STATUS_EDIT_MS,
    ...(env.GIT_CA_FILE === undefined ? {} : { gitCaFile: env.GIT_CA_FILE }),
  };
}

/**
 * Probot rebuilds each installation's Octokit from the app's options with its own `throttle`
 * object, so our write buckets are merged in on every construction, not set once.
 */
function withWriteThrottle(Octokit: typeof ProbotOctokit): typeof ProbotOctokit {
  const groups = githubWriteThrottle();
  return Octokit.defaults((options: Record<string, unknown>) => {
    const throttle = (options.throttle ?? {}) as Record<string, unknown>;
    return { ...options, throttle: { ...throttle, ...groups } };
  }) as typeof ProbotOctokit;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { env } = options;
  const log = options.log ?? createLogger({ level: env.LOG_LEVEL });
  const settings = settingsFrom(env);
  const store = createMemoryStore();
  const locks = createLockTable();
  const queue = createInProcessQueue({
    concurrency: env.AI_PROVISION_CONCURRENCY,
    locks,
    onError: (id, error) => log.error({ err: error, jobId: id }, 'job crashed outside its runner'),
  });
  const retriever = await createKnowledgeRetriever();
  let probot: Probot | undefined;

  const jobDeps = {
    store,
    settings,
    log,
    scmFor: async (installationId: number | undefined) => {
      if (probot === undefined || installationId === undefined) {
        throw new Error('job has no installation to act as');
      }
      return createGitHubScm(await probot.auth(installationId));
    },
    planDeps: async () => {
      const adapters = await createPlanAdapters(undefined, process.env, retriever);
      if (adapters.kind !== 'done')
        throw new Error(`reasoner unavailable: ${adapters.userMessage}`);
      return adapters.value;
    },
  };

  const server = new Server({
    Probot: Probot.defaults({
      appId: options.appId,
      privateKey: options.privateKey,
      secret: options.webhookSecret,
      baseUrl: env.GITHUB_API_URL,
      log,
      Octokit: withWriteThrottle(ProbotOctokit),
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
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/healthz') return false;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'ok', jobs: queue.size() }));
      return true;
    });
    return createApp({
      store,
      queue,
      locks,
      settings,
      log,
      scmFromContext: (context) => createGitHubScm(context.octokit),
      runJob: (jobId, signal) => runProvisionJob(jobId, signal, jobDeps),
    })(app, appOptions);
  });
  const http: HttpServer = await server.start();
  const { port } = http.address() as AddressInfo;
  const url = `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${port}`;
  log.info({ url, webhookPath: env.WEBHOOK_PATH }, 'ai-provision is listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    store,
    close: () => {
      closing ??= (async () => {
        await server.stop();
        const waiting = await queue.drain(env.AI_PROVISION_DRAIN_MS);
        if (waiting.length > 0) log.warn({ jobs: waiting }, 'jobs still queued at shutdown');
        await store.close();
      })();
      return closing;
    },
  };
}

/** No App registered yet: Probot's manifest flow registers one from app.yml and writes .env. */
export async function startSetup(): Promise<void> {
  await runProbotSetup(() => undefined);
}
