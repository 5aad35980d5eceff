/**
 * The durable half of a bot process, built from its settings: the Store (SQLite in the data
 * directory, or PostgreSQL with DATABASE_URL), the rate limiters for external APIs (clustered
 * through Redis when REDIS_URL is set), the metrics registry, and the pool that runs jobs
 * (in-process, or BullMQ on Redis with this process as one runner among many). `serve` and
 * `worker` build it; nothing below them constructs these adapters.
 */
import type { ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ServerEnv } from './env.js';
import { createMetrics, type Metrics } from './observe/metrics.js';
import {
  createInProcessQueue,
  KNOWN_LABELS,
  type HandlerRegistry,
  type PoolEvent,
  type PoolSettings,
  type Queue,
} from './pool/index.js';
import { createLimiterFactory, type LimiterFactory } from './pool/limiters.js';
import { createRedisQueue, startRunner, type RedisQueue, type Runner } from './pool/redis.js';
import { createAutoscaleLoop, type AutoscaleLoop } from './proxmox/autoscale-loop.js';
import { createProxmoxClient } from './proxmox/client.js';
import { createRedisLease } from './proxmox/leader.js';
import { createRunnerManager } from './proxmox/runners.js';
import type { ProxmoxSettingsResult } from './proxmox/settings.js';
import { systemClock, type RunnerRegistry } from './proxmox/types.js';
import { submitJob } from './commands/provision.js';
import { defaultDataDir, openStore } from './store/open.js';
import type { Store } from './store/index.js';

export interface RuntimeBase {
  store: Store;
  /** 'SQLite at <path>' or 'PostgreSQL (DATABASE_URL)', for logs and the status command. */
  storeWhere: string;
  limiters: LimiterFactory;
  metrics: Metrics;
  mode: 'in-process' | 'redis';
}

/** Opens the store, the limiter factory and the metrics registry. */
export async function openRuntimeBase(env: ServerEnv, log: Logger): Promise<RuntimeBase> {
  const opened = await openStore({
    ...(env.DATABASE_URL === undefined ? {} : { databaseUrl: env.DATABASE_URL }),
    dataDir: env.AI_PROVISION_DATA_DIR ?? defaultDataDir(process.env),
  });
  const metrics = createMetrics();
  const limiters = createLimiterFactory({
    ...(env.REDIS_URL === undefined
      ? {}
      : { redis: { url: env.REDIS_URL, prefix: env.AI_PROVISION_QUEUE_PREFIX } }),
    onWait: (api, waitedMs) => metrics.observeRateLimitWait(api, waitedMs / 1000),
    onError: (error) => log.warn({ err: error }, 'rate limiter: Redis trouble; retrying'),
  });
  return {
    store: opened.store,
    storeWhere: opened.kind === 'sqlite' ? `SQLite at ${opened.path}` : 'PostgreSQL (DATABASE_URL)',
    limiters,
    metrics,
    mode: env.REDIS_URL === undefined ? 'in-process' : 'redis',
  };
}

export interface Pool {
  /** Where this process submits jobs. */
  queue: Queue;
  /** This process's runner on Redis, when it runs jobs there. */
  runner?: Runner;
  /** The Redis producer (with the runner registry), when the pool is on Redis. */
  producer?: RedisQueue;
  /** Resubmits every job the store says is unfinished; returns how many. */
  resume(): Promise<number>;
  /** Stops taking and starting jobs, waits for running ones (up to drainMs), releases connections. */
  close(drainMs: number): Promise<string[]>;
}

export interface PoolOptions {
  env: ServerEnv;
  settings: PoolSettings;
  handlers: HandlerRegistry;
  log: Logger;
  /** With Redis: run jobs in this process too (serve's AI_PROVISION_LOCAL_RUNNER; always for `worker`). */
  runLocally: boolean;
  /** With Redis: the labels this process's runner takes. */
  labels?: string[];
  /** With Redis: jobs at once on this process's runner; the pool's global concurrency by default. */
  concurrency?: number;
  /** With Redis: this process's runner id in the registry (AI_PROVISION_RUNNER_ID); host:pid:random by default. */
  runnerId?: string;
  /** With Redis: the token this process's runner was started with (AI_PROVISION_RUNNER_TOKEN); its hash is published. */
  runnerToken?: string;
  /** With Redis: how often unfinished jobs are resubmitted (a Redis that lost its data loses no job). */
  reconcileMs?: number;
}

/** Logs what the pool does and counts it in the metrics. */
function poolListener(base: RuntimeBase, log: Logger): (event: PoolEvent) => void {
  return (event) => {
    base.metrics.onPoolEvent(event);
    if (event.type === 'retrying') {
      log.warn(
        { jobId: event.id, attempt: event.attempt, delayMs: event.delayMs, error: event.error },
        'job attempt failed; retrying after a backoff',
      );
    } else if (event.type === 'failed') {
      log.error({ jobId: event.id, attempts: event.attempts, error: event.error }, 'job failed');
    } else if (event.type === 'started') {
      log.debug({ jobId: event.id, label: event.label, attempt: event.attempt }, 'job started');
    }
  };
}

export async function startPool(base: RuntimeBase, options: PoolOptions): Promise<Pool> {
  const { env, log } = options;
  const onEvent = poolListener(base, log);
  const onError = (error: unknown): void =>
    log.warn({ err: error }, 'pool: Redis trouble; reconnecting');
  let queue: Queue;
  let runner: Runner | undefined;
  let producer: RedisQueue | undefined;
  /** Runners taking jobs: this process alone in-process; the registry in Redis otherwise. */
  let runnerCount: () => Promise<number>;
  if (env.REDIS_URL === undefined) {
    queue = createInProcessQueue({
      settings: options.settings,
      handlers: options.handlers,
      onEvent,
      runnerId: `${hostname()}:${process.pid}`,
    });
    runnerCount = async () => 1;
  } else {
    const redis = { url: env.REDIS_URL, prefix: env.AI_PROVISION_QUEUE_PREFIX };
    const redisQueue = createRedisQueue({ ...redis, settings: options.settings, onEvent, onError });
    producer = redisQueue;
    queue = redisQueue;
    runnerCount = async () => (await redisQueue.runners()).length;
    if (options.runLocally) {
      runner = await startRunner({
        ...redis,
        settings: options.settings,
        onEvent,
        onError,
        labels: options.labels ?? [...KNOWN_LABELS],
        concurrency: options.concurrency ?? options.settings.concurrency,
        handlers: options.handlers,
        lockMs: env.AI_PROVISION_RUNNER_LOCK_MS,
        ...(options.runnerId === undefined ? {} : { runnerId: options.runnerId }),
        ...(options.runnerToken === undefined ? {} : { token: options.runnerToken }),
      });
    }
  }
  base.metrics.setCollectors({
    queueStats: () => queue.stats(),
    jobCounts: () => base.store.countJobs(),
    runners: runnerCount,
  });

  async function resume(): Promise<number> {
    const unfinished = await base.store.jobsInStates(['queued', 'running']);
    let resumed = 0;
    for (const job of unfinished) {
      try {
        await submitJob(queue, job);
        resumed++;
      } catch (error) {
        // One bad record (a kind this version has no handler for) must not stop the others.
        log.error({ err: error, jobId: job.id }, 'could not resubmit an unfinished job');
      }
    }
    return resumed;
  }

  let reconcile: NodeJS.Timeout | undefined;
  if (env.REDIS_URL !== undefined) {
    reconcile = setInterval(() => {
      resume().catch((error: unknown) =>
        log.warn({ err: error }, 'could not resubmit unfinished jobs; trying again later'),
      );
    }, options.reconcileMs ?? 60_000);
    reconcile.unref();
  }

  return {
    queue,
    ...(runner === undefined ? {} : { runner }),
    ...(producer === undefined ? {} : { producer }),
    resume,
    async close(drainMs) {
      if (reconcile !== undefined) clearInterval(reconcile);
      const [waiting] = await Promise.all([
        queue.drain(drainMs),
        runner === undefined ? Promise.resolve() : runner.stop(drainMs),
      ]);
      await queue.close();
      return waiting;
    },
  };
}

/** Answers GET /metrics (serve and a runner's --metrics-port) with the registry's text. */
export function sendMetrics(metrics: Metrics, res: ServerResponse): void {
  metrics.render().then(
    ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
    () => res.writeHead(500).end(),
  );
}

/** http://host:port as a client would type it (IPv6 hosts in brackets). */
export function listenUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Releases what openRuntimeBase opened; call after the pool is closed. */
export async function closeRuntimeBase(base: RuntimeBase): Promise<void> {
  await base.limiters.close();
  await base.store.close();
}

/** The Proxmox autoscaler running in this process (it acts only while it holds the leader lease). */
export interface RunningAutoscaler {
  loop: AutoscaleLoop;
  /** Stops polling and gives up the lease; runners stay as they are for the next leader. */
  close(): Promise<void>;
}

/** The queue as the runner manager and autoscaler see it: the registry, drains and the backlog. */
export function redisRunnerRegistry(producer: RedisQueue): RunnerRegistry {
  return {
    async list() {
      return (await producer.runners()).map((runner) => ({
        id: runner.id,
        labels: runner.labels,
        concurrency: runner.concurrency,
        running: runner.running,
        draining: runner.draining,
        ...(runner.tokenHash === undefined ? {} : { tokenHash: runner.tokenHash }),
      }));
    },
    requestDrain: (runnerId) => producer.drainRunner(runnerId),
    async backlog(labels) {
      const { byLabel } = await producer.stats();
      return labels.reduce((sum, label) => sum + (byLabel[label]?.waiting ?? 0), 0);
    },
  };
}

/**
 * Starts the autoscaler of Proxmox runners (serve, when PROXMOX_URL and REDIS_URL are set): every
 * Proxmox call goes through the shared 'proxmox' rate limiter, and among the instances sharing
 * Redis only the holder of the leader lease acts.
 */
export function startAutoscaler(
  base: RuntimeBase,
  options: {
    producer: RedisQueue;
    redisUrl: string;
    queuePrefix: string;
    proxmox: Extract<ProxmoxSettingsResult, { kind: 'ok' }>;
    log: Logger;
  },
): RunningAutoscaler {
  const { proxmox, log } = options;
  const client = createProxmoxClient({
    connection: proxmox.connection,
    limiter: base.limiters.for('proxmox'),
    log,
  });
  const registry = redisRunnerRegistry(options.producer);
  const manager = createRunnerManager({ client, settings: proxmox.runners, registry, log });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', (error) => log.warn({ err: error }, 'autoscaler lease: Redis trouble'));
  const loop = createAutoscaleLoop({
    manager,
    client,
    registry,
    settings: proxmox.autoscaler,
    runnerLabels: proxmox.runners.labels,
    lease: createRedisLease({
      redis,
      key: `${options.queuePrefix}:autoscaler:leader`,
      holder: `${hostname()}:${process.pid}`,
      // Three polls: a leader that misses two polls in a row hands over.
      ttlMs: 3 * proxmox.autoscaler.pollMs,
    }),
    clock: systemClock,
    log,
    onEvent: (event) => base.metrics.onAutoscaleEvent(event.type),
  });
  base.metrics.addCollectors({ proxmoxRunners: () => loop.runners() });
  loop.start();
  log.info(
    {
      proxmox: proxmox.connection.url,
      min: proxmox.autoscaler.min,
      max: proxmox.autoscaler.max,
      labels: proxmox.runners.labels,
    },
    'Proxmox autoscaler started',
  );
  return {
    loop,
    async close() {
      await loop.stop();
      redis.disconnect();
    },
  };
}
