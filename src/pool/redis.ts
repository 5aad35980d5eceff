/**
 * The distributed engine behind the Queue port: BullMQ on Redis, one BullMQ queue per label
 * (`${prefix}-${label}`), so several bot instances submit and several runner processes pull.
 *
 * - Producer (`createRedisQueue`, used by `serve`): submit / cancel / stats / holderOf. It runs
 *   nothing. BullMQ job id = our job id, which makes submitting an id twice a no-op.
 * - Runner (`startRunner`, used by `worker`): one BullMQ Worker per label it serves.
 *
 * How each rule of queue.ts maps onto BullMQ (v6):
 * - Priorities: every job carries a BullMQ priority 1 (CRITICAL) … 4 (LOW). BullMQ runs jobs with
 *   no priority (0) before all prioritised ones, so never using 0 keeps one consistent order.
 * - Retries: BullMQ `attempts` = settings.maxAttempts with a custom backoff strategy (full jitter
 *   from settings.backoff); the strategy runs on the runner, which is also where 'retrying' is told.
 * - Label rate (ratePerSecond): the Worker `limiter`, which BullMQ keeps in Redis per queue, so it
 *   holds across every runner. Label concurrency: the Worker's own concurrency, per runner.
 * - Runner concurrency (all labels together): a gate, not a semaphore that jobs wait on. A job
 *   BullMQ hands to a full runner is put straight back (moveToDelayed + DelayedError, which BullMQ
 *   does not count as an attempt) and the runner pauses its Workers until a slot frees. Waiting on a
 *   local semaphore instead would hold jobs in 'active' on a busy runner while another runner
 *   idles, and would let a LOW job taken early run before a CRITICAL one submitted later.
 *   The same gate applies the CPU threshold.
 * - Lock keys: redis-locks.ts. A job whose key is held goes back to 'delayed' for lockRetryMs
 *   (again not an attempt) and is tried again; order within one key is therefore roughly, not
 *   strictly, submission order.
 * - Dead runners: BullMQ's job lock (lockDuration = lockMs) lapses, another runner's stalled
 *   checker (every lockMs) puts the job back to wait, and it runs again with the same attempt.
 *   BullMQ is at-least-once: a handler that finished its work but died before BullMQ recorded it
 *   runs again, so handlers stay idempotent (provision checkpoints through the Store).
 * - Cancel: a waiting job is removed. A running one is flagged (`${prefix}:cancel:<id>`, checked
 *   at every heartbeat) and announced on the `${prefix}:cancel` channel;
 *   the runner holding it aborts its signal.
 * - Remote drain (the autoscaler retiring a runner): flagged (`${prefix}:drain:<runner id>`,
 *   checked at every heartbeat) and announced on `${prefix}:drain`. The runner stops taking jobs,
 *   lets the running ones finish (no abort, no deadline: whoever asked owns the deadline), reports
 *   `draining: true` meanwhile, then leaves the registry and resolves `Runner.drained`. The flag
 *   outlives the runner (a day), so a runner restarted under the same id drains at once instead of
 *   taking jobs on a machine about to be destroyed.
 * - Redis restarts: ioredis reconnects by itself and commands wait in its offline queue; every
 *   client and BullMQ object has an 'error' listener, so a lost connection is reported (onError)
 *   and never crashes the process. An outage longer than lockMs lets running jobs' locks lapse,
 *   so they may run twice; and Redis must persist every write (appendonly, appendfsync always)
 *   for no accepted job to be lost when it is killed.
 *
 * Events: the producer tells 'submitted' and 'cancelled' (of a waiting job); a runner tells
 * 'started', 'completed', 'retrying', 'failed' and 'cancelled' (of a running job) for the jobs it
 * runs. 'retrying'.attempt is the attempt that just failed, delayMs the wait before the next.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  DelayedError,
  Queue as BullQueue,
  UnrecoverableError,
  Worker,
  type Job,
  type JobsOptions,
} from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { runnerTokenHash } from '../proxmox/cloud-init.js';
import {
  LABEL_PATTERN,
  PRIORITIES,
  type HandlerRegistry,
  type LabelStats,
  type PoolEvent,
  type PoolJob,
  type PoolSettings,
  type Priority,
  type Queue,
  type QueueStats,
} from './queue.js';
import { createRedisLocks, type RedisLockResult } from './redis-locks.js';
import { backoffDelayMs, hostLoadPerCore, limitsFor } from './settings.js';
import { errorText } from '../outcome.js';

export const DEFAULT_REDIS_PREFIX = 'ai-provision';

export interface RedisPoolOptions {
  /** REDIS_URL */
  url: string;
  /** BullMQ prefix and key namespace; default 'ai-provision'. */
  prefix?: string;
  settings: PoolSettings;
  onEvent?: (event: PoolEvent) => void;
  /** Told about connection trouble and other errors nobody awaits (reconnects are automatic). */
  onError?: (error: unknown) => void;
}

export interface RunnerOptions extends RedisPoolOptions {
  /** Queues this runner pulls from. */
  labels: string[];
  /** Jobs at once on this runner, all labels together. */
  concurrency: number;
  handlers: HandlerRegistry;
  /** Default `${hostname}:${pid}:${random}`. */
  runnerId?: string;
  /** 1-minute load average per core (default from os); pulling pauses while it is above settings.cpuThreshold. */
  load?: () => number;
  /** How often to look at the load again; default 1000 ms. */
  loadPollMs?: number;
  /** Stalled-job detection: a dead runner's job is taken by another after about 2–3× this. Default 30000. */
  lockMs?: number;
  /** Runner registry heartbeat; default 5000. */
  heartbeatMs?: number;
  /** How long a job whose lock key is held waits before it is tried again; default 1000. */
  lockRetryMs?: number;
  /** Backoff jitter, injectable; default Math.random. */
  random?: () => number;
  /**
   * The secret this runner was started with (Proxmox runners get one in their boot config); only
   * its hash (runnerTokenHash) is published, so the bot can tell its runner from an impostor.
   */
  token?: string;
}

export interface Runner {
  id: string;
  labels: string[];
  /**
   * Stops pulling, waits up to `drainMs` for running jobs, then aborts their signals and waits for
   * them to return (a job whose handler throws after that abort goes back to the queue for another
   * runner, not counted as an attempt). Handlers still running 10 s after the abort are left to
   * BullMQ's stalled-job detection. Leaves the registry and closes connections.
   */
  stop(drainMs: number): Promise<void>;
  /**
   * Resolves once a remote drain (requestRunnerDrain) has run its course: the jobs it ran have
   * finished, the runner left the registry and closed its connections. Never resolves otherwise.
   */
  drained: Promise<void>;
}

export interface RunnerInfo {
  id: string;
  labels: string[];
  concurrency: number;
  running: number;
  host: string;
  pid: number;
  /** ISO-8601 time of the last heartbeat. */
  seenAt: string;
  /** A drain was asked for: it takes no new job and leaves once its jobs are done. */
  draining: boolean;
  /** runnerTokenHash of the token it was started with; absent when it has none. */
  tokenHash?: string;
}

/** BullMQ priority per our priority: lower runs first; never 0 (see the header). */
const BULL_PRIORITY: Record<Priority, number> = { CRITICAL: 1, HIGH: 2, NORMAL: 3, LOW: 4 };

/** Name of our custom BullMQ backoff strategy (computed in the runner from its settings). */
const BACKOFF_TYPE = 'ai-provision-full-jitter';

/** Finished jobs are kept a while (so `status`-like lookups and re-submission see them), bounded. */
const KEEP_COMPLETED = { age: 3_600, count: 1_000 };
const KEEP_FAILED = { age: 7 * 24 * 3_600, count: 5_000 };

/** A running job's cancel flag outlives any plausible run. */
const CANCEL_FLAG_TTL_MS = 24 * 3_600 * 1_000;

/** A drain flag outlives any plausible drain (and a runner restarted on a machine being retired). */
const DRAIN_FLAG_TTL_MS = 24 * 3_600 * 1_000;

/** After stop's abort, how long handlers get to return before Workers are force-closed. */
const STOP_GRACE_MS = 10_000;

/** A registry entry not refreshed for this long belongs to a dead runner and is deleted. */
const REGISTRY_FORGET_MS = 3_600_000;

/** States in which a job id is still "taken": submitting it again is a no-op. */
const FINISHED_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'unknown']);
const WAITING_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'prioritized',
  'delayed',
  'waiting-children',
]);

const PoolJobSchema = z.object({
  id: z.string().min(1),
  kind: z.string().min(1),
  label: z.string().regex(LABEL_PATTERN),
  priority: z.enum(PRIORITIES),
  lockKey: z.string().min(1).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** What we store as BullMQ job data: the job, and the token of the submit that queued it. */
const JobDataSchema = z.object({ job: PoolJobSchema, token: z.string() });
type JobData = z.infer<typeof JobDataSchema>;

const RegistryEntrySchema = z.object({
  id: z.string(),
  labels: z.array(z.string()),
  concurrency: z.number(),
  running: z.number(),
  host: z.string(),
  pid: z.number(),
  seenAt: z.string(),
  heartbeatMs: z.number().positive(),
  // Defaults and optionals: entries written by runners of an earlier version still parse.
  draining: z.boolean().default(false),
  tokenHash: z.string().optional(),
});
type RegistryEntry = z.infer<typeof RegistryEntrySchema>;

function prefixOf(options: { prefix?: string }): string {
  return options.prefix ?? DEFAULT_REDIS_PREFIX;
}

/** The BullMQ queue of a label. */
export function labelQueueName(prefix: string, label: string): string {
  return `${prefix}-${label}`;
}

function runnersKey(prefix: string): string {
  return `${prefix}:runners`;
}

function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

function cancelKey(prefix: string, id: string): string {
  return `${prefix}:cancel:${id}`;
}

function drainChannel(prefix: string): string {
  return `${prefix}:drain`;
}

function drainKey(prefix: string, runnerId: string): string {
  return `${prefix}:drain:${runnerId}`;
}

/**
 * Asks runner `runnerId` to stop taking jobs, finish the ones it runs and leave: a flag its
 * heartbeat reads (a day long) and a message on the drain channel for an answer within moments.
 * Idempotent; asking for a runner that does not exist (yet) is not an error.
 */
export async function requestRunnerDrain(
  redis: Redis,
  prefix: string,
  runnerId: string,
): Promise<void> {
  if (runnerId === '') throw new Error('requestRunnerDrain needs a runner id');
  await redis.set(drainKey(prefix, runnerId), '1', 'PX', DRAIN_FLAG_TTL_MS);
  await redis.publish(drainChannel(prefix), runnerId);
}

/** Redis reads of the registry: fresh entries, and ids of long-dead runners to forget. */
async function readRegistry(
  redis: Redis,
  prefix: string,
  now: number,
): Promise<{ fresh: RegistryEntry[]; dead: string[] }> {
  return parseRegistry(await redis.hgetall(runnersKey(prefix)), now);
}

function parseRegistry(
  raw: Record<string, string>,
  now: number,
): { fresh: RegistryEntry[]; dead: string[] } {
  const fresh: RegistryEntry[] = [];
  const dead: string[] = [];
  for (const [field, value] of Object.entries(raw)) {
    let parsed: RegistryEntry | undefined;
    try {
      parsed = RegistryEntrySchema.parse(JSON.parse(value));
    } catch {
      // Not ours (or from an incompatible version): forget it rather than fail every listing.
      dead.push(field);
      continue;
    }
    const age = now - Date.parse(parsed.seenAt);
    if (age < 3 * parsed.heartbeatMs) fresh.push(parsed);
    else if (age > REGISTRY_FORGET_MS) dead.push(field);
  }
  fresh.sort((a, b) => a.id.localeCompare(b.id));
  return { fresh, dead };
}

function infoOf(entry: RegistryEntry): RunnerInfo {
  const { heartbeatMs: _heartbeatMs, ...info } = entry;
  return info;
}

/** Runners whose heartbeat is fresher than 3 of their heartbeats. */
export async function listRunners(
  url: string,
  prefix: string = DEFAULT_REDIS_PREFIX,
): Promise<RunnerInfo[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', () => {
    // The command below rejects with the reason; this only keeps ioredis from crashing on 'error'.
  });
  try {
    await redis.connect();
    const { fresh } = await readRegistry(redis, prefix, Date.now());
    return fresh.map(infoOf);
  } finally {
    redis.disconnect();
  }
}

function safeEmitter(
  onEvent: ((event: PoolEvent) => void) | undefined,
  onError: (error: unknown) => void,
): (event: PoolEvent) => void {
  return (event) => {
    try {
      onEvent?.(event);
    } catch (error) {
      onError(error);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Producer

/**
 * The producer (`serve`, the bench): the Queue, plus the live runners as its own connection sees
 * them and remote drains of runners (the autoscaler's).
 */
export type RedisQueue = Queue & {
  runners(): Promise<RunnerInfo[]>;
  /** requestRunnerDrain on the producer's connection. */
  drainRunner(runnerId: string): Promise<void>;
};

export function createRedisQueue(options: RedisPoolOptions): RedisQueue {
  const prefix = prefixOf(options);
  const { settings } = options;
  const onError = options.onError ?? (() => undefined);
  const emit = safeEmitter(options.onEvent, onError);
  // Not maxRetriesPerRequest: null — a submit during a long outage should fail (after ioredis'
  // ~20 reconnect attempts) rather than hang the webhook that called it.
  const redis = new Redis(options.url);
  redis.on('error', onError);
  const locks = createRedisLocks(redis, { prefix, ttlMs: 30_000, onError });
  const queues = new Map<string, BullQueue>();
  let closed = false;

  function queueOf(label: string): BullQueue {
    let queue = queues.get(label);
    if (queue === undefined) {
      if (!LABEL_PATTERN.test(label)) throw new Error(`invalid label ${JSON.stringify(label)}`);
      queue = new BullQueue(labelQueueName(prefix, label), { connection: redis, prefix });
      queue.on('error', onError);
      queues.set(label, queue);
    }
    return queue;
  }

  /** Labels worth looking at: configured, used here, or served by a live runner. */
  async function knownLabels(): Promise<string[]> {
    const labels = new Set([...Object.keys(settings.labels), ...queues.keys()]);
    const { fresh } = await readRegistry(redis, prefix, Date.now());
    for (const runner of fresh) for (const label of runner.labels) labels.add(label);
    return [...labels].filter((label) => LABEL_PATTERN.test(label)).sort();
  }

  async function waitingBehind(job: PoolJob): Promise<string | undefined> {
    if (job.lockKey === undefined) return undefined;
    const holder = await locks.holderOf(job.lockKey);
    return holder !== undefined && holder !== job.id ? holder : undefined;
  }

  return {
    async submit(job) {
      if (closed) throw new Error(`submit(${job.id}) after drain/close`);
      const queue = queueOf(job.label);
      const jobOptions: JobsOptions = {
        jobId: job.id,
        priority: BULL_PRIORITY[job.priority],
        attempts: settings.maxAttempts,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      };
      /** Adds the job; true when this call queued it, false when the id was there already. */
      const add = async (): Promise<boolean> => {
        const token = randomUUID();
        await queue.add(job.kind, { job, token } satisfies JobData, jobOptions);
        // BullMQ ignores an add whose id exists without saying so; the stored token tells whether
        // this call queued it (two producers racing on one id: exactly one sees its own token).
        const stored = await queue.getJob(job.id);
        const parsed = JobDataSchema.safeParse(stored?.data);
        return stored === undefined || (parsed.success && parsed.data.token === token);
      };
      // Add first: a new id (the usual case) costs two round trips, not five.
      let accepted = await add();
      if (!accepted) {
        const existing = await queue.getJob(job.id);
        const state = existing === undefined ? 'unknown' : await existing.getState();
        if (FINISHED_STATES.has(state)) {
          // A finished job keeps its id in BullMQ; clear it (and a stale cancel flag) so the id
          // can run again.
          await queue.remove(job.id);
          await redis.del(cancelKey(prefix, job.id));
          accepted = await add();
        }
      }
      if (accepted) {
        emit({
          type: 'submitted',
          id: job.id,
          label: job.label,
          kind: job.kind,
          priority: job.priority,
        });
      }
      const behind = await waitingBehind(job);
      return { id: job.id, accepted, ...(behind ? { waitingBehind: behind } : {}) };
    },

    async cancel(id) {
      for (const label of await knownLabels()) {
        const queue = queueOf(label);
        const job = await queue.getJob(id);
        if (job === undefined) continue;
        const state = await job.getState();
        if (WAITING_STATES.has(state)) {
          // 0 = it became active (locked) in between: fall through to cancelling a running job.
          if ((await queue.remove(id)) === 1) {
            const parsed = JobDataSchema.safeParse(job.data);
            emit({
              type: 'cancelled',
              id,
              label,
              kind: parsed.success ? parsed.data.job.kind : job.name,
            });
            return true;
          }
        } else if (state !== 'active') {
          return false;
        }
        await redis.set(cancelKey(prefix, id), '1', 'PX', CANCEL_FLAG_TTL_MS);
        await redis.publish(cancelChannel(prefix), id);
        return true;
      }
      return false;
    },

    holderOf(lockKey) {
      return locks.holderOf(lockKey);
    },

    // On the producer's connection: a metrics scrape must not open one of its own each time.
    async runners() {
      const { fresh } = await readRegistry(redis, prefix, Date.now());
      return fresh.map(infoOf);
    },

    drainRunner(runnerId) {
      return requestRunnerDrain(redis, prefix, runnerId);
    },

    async stats(): Promise<QueueStats> {
      const byLabel: Record<string, LabelStats> = {};
      for (const label of await knownLabels()) {
        const counts = await queueOf(label).getJobCounts(
          'waiting',
          'prioritized',
          'active',
          'delayed',
        );
        byLabel[label] = {
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
          running: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
        };
      }
      return { byLabel };
    },

    // A producer runs nothing, so there is nothing to wait for: drain only stops submits and
    // reports what is still queued (runners elsewhere take it).
    async drain(_timeoutMs) {
      closed = true;
      const ids: string[] = [];
      for (const label of await knownLabels()) {
        const jobs = await queueOf(label).getJobs(
          ['waiting', 'prioritized', 'delayed'],
          0,
          999,
          true,
        );
        for (const job of jobs) if (job?.id !== undefined) ids.push(job.id);
      }
      return ids;
    },

    async close() {
      closed = true;
      await Promise.allSettled([...queues.values()].map((queue) => queue.close()));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Runner

interface RunningJob {
  controller: AbortController;
  /** Why its signal was aborted, if it was. */
  aborted?: 'cancel' | 'stop';
}

function validateRunnerOptions(options: RunnerOptions): void {
  if (options.labels.length === 0) throw new Error('a runner needs at least one label');
  for (const label of options.labels) {
    if (!LABEL_PATTERN.test(label)) throw new Error(`invalid label ${JSON.stringify(label)}`);
  }
  for (const [name, value] of [
    ['concurrency', options.concurrency],
    ['lockMs', options.lockMs ?? 30_000],
    ['heartbeatMs', options.heartbeatMs ?? 5_000],
    ['lockRetryMs', options.lockRetryMs ?? 1_000],
    ['loadPollMs', options.loadPollMs ?? 1_000],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`runner ${name} must be a positive integer, got ${value}`);
    }
  }
  if (options.runnerId === '') throw new Error('runner id must not be empty');
  if (options.token === '') throw new Error('runner token must not be empty when given');
}

export async function startRunner(options: RunnerOptions): Promise<Runner> {
  validateRunnerOptions(options);
  const prefix = prefixOf(options);
  const { settings, handlers, concurrency } = options;
  const labels = [...new Set(options.labels)];
  const id = options.runnerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const lockMs = options.lockMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const lockRetryMs = options.lockRetryMs ?? 1_000;
  const loadPollMs = options.loadPollMs ?? 1_000;
  const random = options.random ?? Math.random;
  const load = options.load ?? hostLoadPerCore;
  const onError = options.onError ?? (() => undefined);
  const emit = safeEmitter(options.onEvent, onError);
  const tokenHash = options.token === undefined ? undefined : runnerTokenHash(options.token);

  // Commands wait out an outage (offline queue) instead of failing: a runner has no caller to
  // fail to, and BullMQ's own connections behave the same way.
  const redis = new Redis(options.url, { maxRetriesPerRequest: null });
  redis.on('error', onError);
  const subscriber = new Redis(options.url, { maxRetriesPerRequest: null });
  subscriber.on('error', onError);
  const locks = createRedisLocks(redis, { prefix, ttlMs: lockMs, onError });

  let stopped: Promise<void> | undefined;
  const running = new Map<string, RunningJob>();
  const idleWaiters = new Set<() => void>();
  let stopping = false;
  // Read before the Workers exist: a runner restarted under a drained id takes nothing.
  let draining = (await redis.get(drainKey(prefix, id))) !== null;
  let paused = false;
  let gateChain: Promise<unknown> = Promise.resolve();
  let resolveDrained: () => void = () => undefined;
  const drained = new Promise<void>((resolve) => {
    resolveDrained = resolve;
  });

  function overloaded(): boolean {
    return settings.cpuThreshold !== undefined && load() > settings.cpuThreshold;
  }

  function gateOpen(): boolean {
    return !stopping && !draining && running.size < concurrency && !overloaded();
  }

  /**
   * The gate is only needed when the Workers together could take more than `concurrency` jobs, or
   * when there is a load threshold; otherwise each Worker's own concurrency already holds the
   * limit, and pausing and resuming at every job would cost more than the jobs (bench:pool).
   */
  const gated =
    settings.cpuThreshold !== undefined ||
    labels.reduce(
      (sum, label) =>
        sum + Math.max(1, Math.min(limitsFor(settings, label).concurrency, concurrency)),
      0,
    ) > concurrency;

  /**
   * Pauses every Worker while the gate is shut, resumes them when it opens; calls serialised. An
   * ungated runner only ever pauses here once, for good, when it drains.
   */
  function updateGate(): void {
    if (!gated && !draining) return;
    const open = gateOpen();
    if (open === !paused) return;
    paused = !open;
    gateChain = gateChain
      .then(() =>
        Promise.all(workers.map((worker) => (open ? worker.resume() : worker.pause(true)))),
      )
      .catch(onError);
  }

  /**
   * A resume that lands while a paused Worker's main loop is winding down can leave it neither
   * paused nor running (BullMQ only restarts a loop that has fully stopped). Checked at every
   * heartbeat: with the gate open, a Worker that is not running is started again.
   */
  function reviveWorkers(): void {
    if (paused || stopping) return;
    for (const worker of workers) {
      if (!worker.isRunning() && !worker.closing) {
        gateChain = gateChain.then(() => worker.resume()).catch(onError);
      }
    }
  }

  function finished(jobId: string): void {
    running.delete(jobId);
    updateGate();
    if (running.size === 0) for (const wake of idleWaiters) wake();
  }

  /** Resolves once nothing runs (no deadline: a remote drain waits for every job). */
  function whenIdle(): Promise<void> {
    if (running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        idleWaiters.delete(wake);
        resolve();
      };
      idleWaiters.add(wake);
    });
  }

  /** Resolves once nothing runs, or after `ms`; true when idle. */
  function waitIdle(ms: number): Promise<boolean> {
    if (running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        idleWaiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        idleWaiters.delete(wake);
        resolve(false);
      }, ms);
      idleWaiters.add(wake);
    });
  }

  /** Hands the job back to the queue without counting an attempt; always throws DelayedError. */
  async function putBack(bullJob: Job, token: string | undefined, delayMs: number): Promise<never> {
    await bullJob.moveToDelayed(Date.now() + delayMs, token);
    throw new DelayedError();
  }

  async function runJob(label: string, bullJob: Job, token: string | undefined): Promise<void> {
    const parsed = JobDataSchema.safeParse(bullJob.data);
    if (!parsed.success) {
      const error = `job ${bullJob.id ?? '?'} in ${label} carries no valid PoolJob: ${parsed.error.message}`;
      emit({
        type: 'failed',
        id: bullJob.id ?? '?',
        label,
        kind: bullJob.name,
        attempts: bullJob.attemptsMade + 1,
        error,
      });
      throw new UnrecoverableError(error);
    }
    const { job } = parsed.data;
    const base = { id: job.id, label: job.label, kind: job.kind };
    // Admission and taking the slot happen with no await in between, so the gate cannot overshoot.
    // A draining runner refuses a job its Workers fetched before they paused.
    if ((gated || draining) && !gateOpen()) {
      updateGate();
      // A short delay, so a Worker not yet paused does not fetch the same job straight back.
      await putBack(bullJob, token, 100);
    }
    const entry: RunningJob = { controller: new AbortController() };
    running.set(job.id, entry);
    updateGate();
    let hold: RedisLockResult | undefined;
    try {
      // No read of the cancel flag here (it would cost every job a round trip): a cancel that
      // races the start is caught by the cancel channel or, at worst, the next heartbeat.
      if (job.lockKey !== undefined) {
        hold = await locks.tryLock(job.lockKey, job.id);
        if (!hold.acquired) await putBack(bullJob, token, lockRetryMs);
      }
      const attempt = bullJob.attemptsMade + 1;
      const attempts = bullJob.opts.attempts ?? 1;
      const handler = handlers.get(job.kind);
      if (handler === undefined) {
        const error = `no handler for job kind ${JSON.stringify(job.kind)} on runner ${id}`;
        emit({ type: 'failed', ...base, attempts: attempt, error });
        throw new UnrecoverableError(error);
      }
      const startedAt = Date.now();
      emit({ type: 'started', ...base, attempt, waitedMs: startedAt - bullJob.timestamp });
      try {
        await handler(job, {
          signal: entry.controller.signal,
          attempt,
          lastAttempt: attempt >= attempts,
          runner: id,
        });
      } catch (error) {
        if (entry.aborted === 'cancel') {
          emit({ type: 'cancelled', ...base });
          throw new UnrecoverableError('cancelled');
        }
        // Stopped mid-run: another runner takes it, and this run does not count as an attempt.
        if (entry.aborted === 'stop') await putBack(bullJob, token, 0);
        if (attempt >= attempts) {
          emit({ type: 'failed', ...base, attempts: attempt, error: errorText(error) });
        }
        // BullMQ retries it after our backoff strategy's delay (which tells 'retrying').
        throw error instanceof Error ? error : new Error(String(error));
      }
      if (entry.aborted === 'cancel') emit({ type: 'cancelled', ...base });
      else emit({ type: 'completed', ...base, durationMs: Date.now() - startedAt });
    } finally {
      if (hold?.acquired) await hold.release().catch(onError);
      finished(job.id);
    }
  }

  function backoffStrategy(
    attemptsMade: number,
    _type?: string,
    error?: Error,
    bullJob?: { data?: unknown },
  ): number {
    const delayMs = backoffDelayMs(attemptsMade, settings.backoff, random);
    const parsed = JobDataSchema.safeParse(bullJob?.data);
    if (parsed.success) {
      const { job } = parsed.data;
      emit({
        type: 'retrying',
        id: job.id,
        label: job.label,
        kind: job.kind,
        attempt: attemptsMade,
        delayMs,
        error: error?.message ?? '',
      });
    }
    return delayMs;
  }

  const workers: Worker[] = labels.map((label) => {
    const limits = limitsFor(settings, label);
    const worker = new Worker(
      labelQueueName(prefix, label),
      // Two parameters on purpose: BullMQ only builds its own abort controllers for processors
      // taking a third, and ours (cancel + stop) are enough.
      (bullJob: Job, token?: string) => runJob(label, bullJob, token),
      {
        connection: { url: options.url },
        prefix,
        name: id,
        concurrency: Math.max(1, Math.min(limits.concurrency, concurrency)),
        ...(limits.ratePerSecond !== undefined
          ? { limiter: { max: 1, duration: Math.max(1, Math.round(1_000 / limits.ratePerSecond)) } }
          : {}),
        lockDuration: lockMs,
        stalledInterval: lockMs,
        // A job that keeps killing its runner (e.g. out of memory) fails after maxAttempts.
        maxStalledCount: settings.maxAttempts,
        settings: { backoffStrategy },
      },
    );
    worker.on('error', onError);
    return worker;
  });

  async function heartbeat(): Promise<void> {
    reviveWorkers();
    const now = Date.now();
    const entry: RegistryEntry = {
      id,
      labels,
      concurrency,
      running: running.size,
      host: hostname(),
      pid: process.pid,
      seenAt: new Date(now).toISOString(),
      heartbeatMs,
      draining,
      ...(tokenHash === undefined ? {} : { tokenHash }),
    };
    const ids = [...running.keys()];
    // One round trip: write our entry, read the registry, and read the flags a message may have
    // been missed for (published while our subscriber was reconnecting): our drain, our jobs' cancels.
    const replies = await redis
      .pipeline()
      .hset(runnersKey(prefix), id, JSON.stringify(entry))
      .hgetall(runnersKey(prefix))
      .mget(drainKey(prefix, id), ...ids.map((jobId) => cancelKey(prefix, jobId)))
      .exec();
    const [written, registry, flagged] = replies ?? [];
    for (const reply of [written, registry, flagged]) if (reply?.[0]) throw reply[0];
    const { dead } = parseRegistry((registry?.[1] ?? {}) as Record<string, string>, now);
    if (dead.length > 0) await redis.hdel(runnersKey(prefix), ...dead);
    const [drainFlag, ...cancelFlags] = (flagged?.[1] ?? []) as (string | null)[];
    ids.forEach((jobId, index) => {
      if (cancelFlags[index] !== undefined && cancelFlags[index] !== null) {
        abortJob(jobId, 'cancel');
      }
    });
    if (drainFlag !== undefined && drainFlag !== null) beginDrain();
  }

  /**
   * Heartbeats never overlap (one still waiting out an outage is not doubled), and stop waits for
   * the one in flight before it leaves the registry.
   */
  let beating: Promise<void> | undefined;
  function beat(): Promise<void> {
    beating ??= heartbeat()
      .catch(onError)
      .finally(() => {
        beating = undefined;
      });
    return beating;
  }

  /** Set once startRunner has finished starting; a drain asked before then is acted on there. */
  let started = false;
  let leaving = false;

  /** Stops taking jobs and tells the registry; leaves once the running jobs are done. */
  function beginDrain(): void {
    if (stopping) return;
    const first = !draining;
    draining = true;
    updateGate();
    if (!started) return;
    if (first) void beat();
    leaveWhenIdle();
  }

  function leaveWhenIdle(): void {
    if (leaving || stopping) return;
    leaving = true;
    void whenIdle()
      .then(() => stopOnce(0))
      .then(resolveDrained, (error: unknown) => {
        onError(error);
        resolveDrained();
      });
  }

  function abortJob(jobId: string, reason: 'cancel' | 'stop'): void {
    const entry = running.get(jobId);
    if (entry === undefined || entry.aborted !== undefined) return;
    entry.aborted = reason;
    entry.controller.abort(new Error(reason === 'cancel' ? 'cancelled' : 'runner stopping'));
    if (reason === 'cancel') redis.del(cancelKey(prefix, jobId)).catch(onError);
  }

  subscriber.on('message', (channel: string, message: string) => {
    if (channel === cancelChannel(prefix)) abortJob(message, 'cancel');
    else if (channel === drainChannel(prefix) && message === id) beginDrain();
  });
  await subscriber.subscribe(cancelChannel(prefix), drainChannel(prefix));
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  updateGate();
  await heartbeat();
  const heartbeatTimer = setInterval(() => {
    void beat();
  }, heartbeatMs);
  const loadTimer =
    settings.cpuThreshold !== undefined ? setInterval(updateGate, loadPollMs) : undefined;
  started = true;
  if (draining) leaveWhenIdle();

  function stopOnce(drainMs: number): Promise<void> {
    stopped ??= stop(drainMs);
    return stopped;
  }

  async function stop(drainMs: number): Promise<void> {
    stopping = true;
    clearInterval(heartbeatTimer);
    if (loadTimer !== undefined) clearInterval(loadTimer);
    updateGate();
    await gateChain;
    if (!(await waitIdle(drainMs))) {
      for (const jobId of running.keys()) abortJob(jobId, 'stop');
      await waitIdle(STOP_GRACE_MS);
    }
    // Force only when a handler ignored its signal: its job stays active in Redis and another
    // runner's stalled checker hands it on.
    const force = running.size > 0;
    await Promise.allSettled(workers.map((worker) => worker.close(force)));
    // A heartbeat landing after the delete would list this runner as alive for 3 more beats.
    await beating;
    await redis.hdel(runnersKey(prefix), id).catch(onError);
    subscriber.disconnect();
    await redis.quit().catch(() => redis.disconnect());
  }

  return { id, labels, stop: stopOnce, drained };
}
