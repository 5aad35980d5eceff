/**
 * `ai-provision worker`: a runner on any host. It pulls jobs carrying its labels from Redis (so the
 * least-busy runner with the needed labels is the one that takes each job), reads each job from the
 * shared PostgreSQL store, acts for the job's installation as the App, and runs the pipeline. When
 * it dies mid-job, the queue hands the job to another runner, which resumes from the agents'
 * checkpoints. SIGTERM drains: running jobs finish (up to the drain time), waiting ones stay queued.
 * A remote drain (the autoscaler retiring this runner) lets every running job finish, then closes
 * everything and resolves `drained`: the command exits 0 and the machine can be destroyed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Probot, ProbotOctokit } from 'probot';
import { PROVISION_ROUTING, provisionHandler } from './commands/provision.js';
import type { WorkerSettings } from './env.js';
import { createLogger, type Logger } from './observe/logger.js';
import { createKnowledgeRetriever } from './rag/retriever.js';
import { closeRuntimeBase, listenUrl, openRuntimeBase, sendMetrics, startPool } from './runtime.js';
import { provisionJobDeps, settingsFrom, withAppDefaults } from './serve.js';

export interface WorkerOptions {
  settings: Extract<WorkerSettings, { kind: 'ok' }>;
  labels: string[];
  concurrency: number;
  /** Serve GET /metrics and /healthz on this loopback-or-HOST port; none when absent. */
  metricsPort?: number;
  log?: Logger;
}

export interface RunningWorker {
  id: string;
  /** The metrics endpoint, when one was asked for. */
  metricsUrl?: string;
  stop(): Promise<void>;
  /** Resolves after a remote drain, once everything is closed (the process may exit); never otherwise. */
  drained: Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { env } = options.settings;
  const log = options.log ?? createLogger({ level: env.LOG_LEVEL });
  const base = await openRuntimeBase(env, log);
  const retriever = await createKnowledgeRetriever();
  const probot = new Probot({
    appId: options.settings.appId,
    privateKey: options.settings.privateKey,
    baseUrl: env.GITHUB_API_URL,
    log,
    Octokit: withAppDefaults(ProbotOctokit, base.limiters),
  });
  let stopping: Promise<void> | undefined;
  const jobDeps = provisionJobDeps({
    base,
    settings: settingsFrom(env),
    log,
    retriever,
    installationOctokit: (installationId) => probot.auth(installationId),
    shuttingDown: () => stopping !== undefined,
    maxAttempts: options.settings.pool.maxAttempts,
  });
  const pool = await startPool(base, {
    env,
    settings: options.settings.pool,
    handlers: new Map([[PROVISION_ROUTING.kind, provisionHandler(jobDeps)]]),
    log,
    runLocally: true,
    labels: options.labels,
    concurrency: options.concurrency,
    ...(options.settings.runner.id === undefined ? {} : { runnerId: options.settings.runner.id }),
    ...(options.settings.runner.token === undefined
      ? {}
      : { runnerToken: options.settings.runner.token }),
  });
  const runnerId = pool.runner?.id ?? 'unknown';

  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (options.metricsPort !== undefined) {
    metricsServer = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        sendMetrics(base.metrics, res);
      } else if (req.method === 'GET' && path === '/healthz') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'ok', runner: runnerId, labels: options.labels }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) =>
      metricsServer!.listen(options.metricsPort, env.HOST, resolve),
    );
    const { port } = metricsServer.address() as AddressInfo;
    metricsUrl = listenUrl(env.HOST, port);
  }
  log.info(
    { runner: runnerId, labels: options.labels, concurrency: options.concurrency, metricsUrl },
    'ai-provision runner is taking jobs',
  );

  function stop(): Promise<void> {
    stopping ??= (async () => {
      const waiting = await pool.close(env.AI_PROVISION_DRAIN_MS);
      if (waiting.length > 0) log.info({ jobs: waiting }, 'jobs left queued for other runners');
      if (metricsServer !== undefined) {
        await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      }
      await closeRuntimeBase(base);
    })();
    return stopping;
  }

  // The runner has already finished its jobs and left the registry; close the rest.
  const drained =
    pool.runner === undefined
      ? new Promise<void>(() => undefined)
      : pool.runner.drained.then(async () => {
          log.info({ runner: runnerId }, 'runner drained on request; exiting');
          await stop();
        });

  return {
    id: runnerId,
    ...(metricsUrl === undefined ? {} : { metricsUrl }),
    stop,
    drained,
  };
}
