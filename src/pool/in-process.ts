/**
 * The in-process engine of the Queue port, built on bottleneck. A job goes through three limiters
 * in turn and holds its place in one only while it waits for the next:
 *
 *   lock key (one job at a time, submission order) → label (concurrency, rate) → global (concurrency)
 *
 * so a job waiting for its repository or for its label takes no global slot: a busy repository or
 * label never holds back another one. Priorities order the label and global queues (bottleneck
 * 0–9, lower first); within one lock key submission order wins (Atlantis: one plan per branch at a
 * time, in order). A job holds its lock key from the moment it is first in line for it until it
 * is over, its retries included, so a later request for the same branch never runs between two
 * attempts. The CPU threshold is the last gate: a job that got its global slot waits there while
 * the load is too high (every job would, so the slot it keeps is taken from no one).
 *
 * Limits of stacking limiters, stated rather than hidden:
 * - A job that holds its label slot while it waits for a global slot keeps it, so a more urgent
 *   job of the same label that arrives later waits behind at most `label concurrency` such jobs.
 * - A label's rate is applied where the label limiter lets a job go; when every global slot is
 *   taken the job waits again, so two starts of one label can come closer than 1/rate while the
 *   pool is saturated. External APIs are protected by limiters.ts; this rate only paces work.
 *
 * `holderOf(lockKey)` names the job holding the key: running, or first in line for it (waiting for
 * its label, a global slot, the load or its retry), or a holder outside the queue when the lock
 * table is shared.
 *
 * Retries, cancellation and draining are ours (bottleneck's own retries would keep the slot during
 * the backoff). A handler's error becomes an event, never a rejection; only programming errors
 * throw (settings that parsePoolSettings would refuse, a job kind with no handler).
 */
import { hostname } from 'node:os';
import Bottleneck from 'bottleneck';
import { createLockTable, type LockTable } from './locks.js';
import {
  LABEL_PATTERN,
  PRIORITIES,
  type HandlerRegistry,
  type JobHandler,
  type LabelLimits,
  type LabelStats,
  type PoolEvent,
  type PoolJob,
  type PoolSettings,
  type Priority,
  type Queue,
  type QueueStats,
  type SubmitResult,
} from './queue.js';
import { backoffDelayMs, hostLoadPerCore, limitsFor } from './settings.js';
import { errorText } from '../outcome.js';

/** Our priorities as bottleneck's (0–9, lower runs first); gaps leave room for more levels. */
export const BOTTLENECK_PRIORITIES = {
  CRITICAL: 0,
  HIGH: 3,
  NORMAL: 5,
  LOW: 8,
} as const satisfies Record<Priority, number>;

/** Within one lock key every job has the same priority, so bottleneck keeps submission order. */
const IN_LINE_PRIORITY = 5;

export interface InProcessQueueOptions {
  settings: PoolSettings;
  handlers: HandlerRegistry;
  /**
   * Where lock keys are held while their job is first in line or running (so code outside the
   * queue can ask `holderOf`); default a private table. A key held by someone outside the queue is
   * tried again every `loadPollMs`.
   */
  locks?: LockTable;
  /** Told what happens to jobs; a listener that throws is ignored. */
  onEvent?: (event: PoolEvent) => void;
  /** 1-minute load average per core; default os.loadavg()[0] / os.availableParallelism(). Injected in tests. */
  load?: () => number;
  /** How often to look at the load (or a lock held outside) again while it blocks a start; default 1000 ms. */
  loadPollMs?: number;
  /** For the backoff jitter; default Math.random. */
  random?: () => number;
  /** Default `${hostname}:${pid}`. */
  runnerId?: string;
}

export type InProcessQueue = Queue & { runnerId: string };

/**
 * Where a job is: waiting for its lock key (a job ahead of it holds it), waiting for its label, a
 * global slot or the load, running, or in the backoff before a retry.
 */
type Phase = 'lock' | 'waiting' | 'running' | 'backoff';

/** How one pass through the limiters ended. */
type Step =
  /** Completed, failed for good or cancelled while running: the job is over. */
  | 'over'
  /** The queue is draining: the job did not start (or will not be retried) and stays waiting. */
  | 'held'
  /** Cancelled while it waited: every queue it was in has let it go. */
  | 'gone'
  | { retryInMs: number };

interface Entry {
  readonly job: PoolJob;
  readonly handler: JobHandler;
  readonly bottleneckPriority: number;
  phase: Phase;
  /** Attempts started so far. */
  attempts: number;
  /** When it last entered the queue: its submission, or the end of its retry backoff. */
  queuedAt: number;
  cancelled: boolean;
  /** Resolves 'gone' once it is cancelled while not running. */
  readonly gone: Promise<'gone'>;
  leave: () => void;
  /** The running attempt's controller. */
  controller?: AbortController;
  /** Ends the timed wait it is in (load, a lock held outside, backoff) early, with `false`. */
  wake?: () => void;
  /** Frees its lock key in the LockTable (idempotent). */
  release?: () => void;
}

interface Poller {
  ready: () => boolean;
  settle: (ok: boolean) => void;
  fail: (error: unknown) => void;
}

function abortReason(message: string): Error {
  const reason = new Error(message);
  reason.name = 'AbortError';
  return reason;
}

function checkLimits(where: string, limits: LabelLimits): void {
  if (!Number.isInteger(limits.concurrency) || limits.concurrency < 1) {
    throw new Error(
      `${where}.concurrency: expected a whole number of 1 or more, got ${limits.concurrency}`,
    );
  }
  if (
    limits.ratePerSecond !== undefined &&
    !(Number.isFinite(limits.ratePerSecond) && limits.ratePerSecond > 0)
  ) {
    throw new Error(
      `${where}.ratePerSecond: expected a number above 0, got ${limits.ratePerSecond}`,
    );
  }
}

/** Settings come from parsePoolSettings; anything else reaching here is a bug, so it throws. */
function checkSettings(settings: PoolSettings): void {
  checkLimits('settings', settings);
  checkLimits('settings.defaultLabel', settings.defaultLabel);
  for (const [label, limits] of Object.entries(settings.labels)) {
    checkLimits(`settings.labels.${label}`, limits);
  }
  if (!Number.isInteger(settings.maxAttempts) || settings.maxAttempts < 1) {
    throw new Error(
      `settings.maxAttempts: expected a whole number of 1 or more, got ${settings.maxAttempts}`,
    );
  }
}

function zero(): LabelStats {
  return { waiting: 0, running: 0, delayed: 0 };
}

export function createInProcessQueue(options: InProcessQueueOptions): InProcessQueue {
  const { settings, handlers } = options;
  checkSettings(settings);
  const locks = options.locks ?? createLockTable();
  const load = options.load ?? hostLoadPerCore;
  const pollMs = options.loadPollMs ?? 1000;
  const random = options.random ?? Math.random;
  const runnerId = options.runnerId ?? `${hostname()}:${process.pid}`;

  const global = new Bottleneck({ maxConcurrent: settings.concurrency });
  const labelLimiters = new Map<string, Bottleneck>();
  /** One limiter per lock key with a job in line; dropped once its line is empty. */
  const keyLimiters = new Map<string, Bottleneck>();
  /** Every job waiting, running or in backoff, in submission order (a Map keeps insertion order). */
  const entries = new Map<string, Entry>();
  /** Lock key → its jobs in submission order; the first one holds the key or is about to take it. */
  const lines = new Map<string, Entry[]>();
  const running = new Set<Entry>();
  /** Drain calls waiting for the last running job to return. */
  const idleWaiters: (() => void)[] = [];
  /** Timed waits for a condition (the load, a lock held outside), all checked by one interval. */
  const pollers = new Set<Poller>();
  let ticker: NodeJS.Timeout | undefined;
  let stopping = false;

  function emit(event: PoolEvent): void {
    try {
      options.onEvent?.(event);
    } catch {
      // Listeners must not throw; one that does must not stop the queue.
    }
  }

  function labelLimiter(label: string): Bottleneck {
    let limiter = labelLimiters.get(label);
    if (limiter === undefined) {
      const limits = limitsFor(settings, label);
      limiter = new Bottleneck({
        maxConcurrent: limits.concurrency,
        // Rounded up so starts are never closer than 1/rate.
        minTime: limits.ratePerSecond === undefined ? 0 : Math.ceil(1000 / limits.ratePerSecond),
      });
      labelLimiters.set(label, limiter);
    }
    return limiter;
  }

  function keyLimiter(lockKey: string): Bottleneck {
    let limiter = keyLimiters.get(lockKey);
    if (limiter === undefined) {
      limiter = new Bottleneck({ maxConcurrent: 1 });
      keyLimiters.set(lockKey, limiter);
    }
    return limiter;
  }

  /**
   * Queues `task` in `limiter`. Resolves with the task's step, or 'gone' as soon as the job is
   * cancelled: the place it held in the queues is freed at once, and the task, when bottleneck
   * reaches it, returns without doing anything.
   */
  function through(
    limiter: Bottleneck,
    entry: Entry,
    priority: number,
    task: () => Promise<Step>,
  ): Promise<Step> {
    if (entry.cancelled) return Promise.resolve('gone');
    const scheduled = limiter
      .schedule({ priority }, () => (entry.cancelled ? Promise.resolve<Step>('gone') : task()))
      .catch((error: unknown): Step => {
        // close() drops what is still queued; anything else is a bug and must surface.
        if (error instanceof Bottleneck.BottleneckError) return 'gone';
        throw error;
      });
    return Promise.race([scheduled, entry.gone]);
  }

  function tick(): void {
    for (const poller of [...pollers]) {
      try {
        if (poller.ready()) poller.settle(true);
      } catch (error) {
        // A probe that throws is a bug: it fails that job rather than the timer (and the process).
        poller.fail(error);
      }
    }
  }

  function stopTickerWhenIdle(): void {
    if (pollers.size > 0 || ticker === undefined) return;
    clearInterval(ticker);
    ticker = undefined;
  }

  /** Resolves true once `ready()` holds (checked every pollMs), false if woken first. */
  function waitUntil(entry: Entry, ready: () => boolean): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    if (stopping) return Promise.resolve(false);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        pollers.delete(poller);
        if (entry.wake === wake) delete entry.wake;
        stopTickerWhenIdle();
      };
      const poller: Poller = {
        ready,
        settle(ok) {
          done();
          resolve(ok);
        },
        fail(error) {
          done();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      };
      const wake = (): void => poller.settle(false);
      entry.wake = wake;
      pollers.add(poller);
      ticker ??= setInterval(tick, pollMs);
    });
  }

  /** Resolves true after `ms`, false if woken first. */
  function sleep(entry: Entry, ms: number): Promise<boolean> {
    if (stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        delete entry.wake;
        resolve(true);
      }, ms);
      entry.wake = () => {
        clearTimeout(timer);
        delete entry.wake;
        resolve(false);
      };
    });
  }

  /** The job is over or cancelled: forget it and free its lock key. */
  function finish(entry: Entry): void {
    const { id, lockKey } = entry.job;
    if (entries.get(id) === entry) entries.delete(id);
    entry.release?.();
    if (lockKey === undefined) return;
    const line = lines.get(lockKey);
    const index = line?.indexOf(entry) ?? -1;
    if (line === undefined || index < 0) return;
    line.splice(index, 1);
    if (line.length > 0) return;
    lines.delete(lockKey);
    // Any job left in that limiter was cancelled and returns as soon as it is reached.
    keyLimiters.delete(lockKey);
  }

  /** One attempt, once every limiter and the load let it start; decides what comes next. */
  async function run(entry: Entry): Promise<Step> {
    const { job } = entry;
    const controller = new AbortController();
    entry.controller = controller;
    entry.phase = 'running';
    entry.attempts += 1;
    const attempt = entry.attempts;
    running.add(entry);
    const startedAt = Date.now();
    emit({
      type: 'started',
      id: job.id,
      label: job.label,
      kind: job.kind,
      attempt,
      waitedMs: startedAt - entry.queuedAt,
    });
    try {
      let failure: { error: unknown } | undefined;
      try {
        await entry.handler(job, {
          signal: controller.signal,
          attempt,
          lastAttempt: attempt >= settings.maxAttempts,
          runner: runnerId,
        });
      } catch (error) {
        failure = { error };
      }
      const about = { id: job.id, label: job.label, kind: job.kind };
      if (entry.cancelled) {
        finish(entry);
        emit({ type: 'cancelled', ...about });
        return 'over';
      }
      if (failure === undefined) {
        finish(entry);
        emit({ type: 'completed', ...about, durationMs: Date.now() - startedAt });
        return 'over';
      }
      const error = errorText(failure.error);
      if (stopping) {
        // Not retried here: the job stays waiting, and drain reports it for the next start.
        entry.phase = 'waiting';
        entry.queuedAt = Date.now();
        return 'held';
      }
      if (attempt >= settings.maxAttempts) {
        finish(entry);
        emit({ type: 'failed', ...about, attempts: attempt, error });
        return 'over';
      }
      const delayMs = backoffDelayMs(attempt, settings.backoff, random);
      entry.phase = 'backoff';
      emit({ type: 'retrying', ...about, attempt, delayMs, error });
      return { retryInMs: delayMs };
    } finally {
      delete entry.controller;
      running.delete(entry);
      if (running.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    }
  }

  /** The last gate, inside the global slot: the load. */
  async function startWhenLoadAllows(entry: Entry): Promise<Step> {
    const threshold = settings.cpuThreshold;
    if (threshold !== undefined && !stopping) {
      await waitUntil(entry, () => load() <= threshold);
    }
    if (entry.cancelled) return 'gone';
    if (stopping) return 'held';
    return run(entry);
  }

  /** Label then global slot, then the run; again after each backoff. */
  async function attempts(entry: Entry): Promise<Step> {
    const limiter = labelLimiter(entry.job.label);
    const priority = entry.bottleneckPriority;
    for (;;) {
      const step = await through(limiter, entry, priority, () =>
        through(global, entry, priority, () => startWhenLoadAllows(entry)),
      );
      if (typeof step === 'string') return step;
      const waited = await sleep(entry, step.retryInMs);
      if (entry.cancelled) return 'gone';
      entry.phase = 'waiting';
      entry.queuedAt = Date.now();
      if (!waited) return 'held';
    }
  }

  /** Inside the lock key's limiter: take the key in the LockTable, then run the attempts. */
  async function holdingKey(entry: Entry, lockKey: string): Promise<Step> {
    const take = (): boolean => {
      const result = locks.tryLock(lockKey, entry.job.id);
      if (result.acquired) entry.release = result.release;
      return result.acquired;
    };
    if (!take()) {
      // Held outside this queue (the table is shared): try again every pollMs.
      entry.phase = 'lock';
      const taken = await waitUntil(entry, take);
      if (entry.cancelled) return 'gone';
      if (!taken) return 'held';
    }
    entry.phase = 'waiting';
    try {
      return await attempts(entry);
    } finally {
      // Over, cancelled or held by a drain: the next job of this key may take it.
      entry.release?.();
    }
  }

  async function lifecycle(entry: Entry): Promise<void> {
    const { lockKey } = entry.job;
    if (lockKey === undefined) await attempts(entry);
    else
      await through(keyLimiter(lockKey), entry, IN_LINE_PRIORITY, () => holdingKey(entry, lockKey));
  }

  /** Who this job waits behind for its lock key: the first in its line, or a holder outside. */
  function holderFor(lockKey: string | undefined, id: string): string | undefined {
    if (lockKey === undefined) return undefined;
    const holder = locks.holderOf(lockKey) ?? lines.get(lockKey)?.[0]?.job.id;
    return holder === id ? undefined : holder;
  }

  function checkJob(job: PoolJob): JobHandler {
    const handler = handlers.get(job.kind);
    if (handler === undefined) {
      throw new Error(
        `job ${job.id}: no handler for kind "${job.kind}" (known: ${[...handlers.keys()].join(', ') || 'none'})`,
      );
    }
    if (!LABEL_PATTERN.test(job.label)) {
      throw new Error(`job ${job.id}: label "${job.label}" does not match ${LABEL_PATTERN}`);
    }
    if (!PRIORITIES.includes(job.priority)) {
      throw new Error(
        `job ${job.id}: priority "${job.priority}" is not one of ${PRIORITIES.join(', ')}`,
      );
    }
    return handler;
  }

  function submit(job: PoolJob): SubmitResult {
    const handler = checkJob(job);
    const waitingBehind = holderFor(job.lockKey, job.id);
    const behind = waitingBehind === undefined ? {} : { waitingBehind };
    if (entries.has(job.id)) return { id: job.id, accepted: false, ...behind };

    let leave!: () => void;
    const gone = new Promise<'gone'>((resolve) => {
      leave = () => resolve('gone');
    });
    const entry: Entry = {
      job: { ...job },
      handler,
      bottleneckPriority: BOTTLENECK_PRIORITIES[job.priority],
      phase: waitingBehind === undefined ? 'waiting' : 'lock',
      attempts: 0,
      queuedAt: Date.now(),
      cancelled: false,
      gone,
      leave,
    };
    entries.set(job.id, entry);
    if (job.lockKey !== undefined) {
      const line = lines.get(job.lockKey);
      if (line === undefined) lines.set(job.lockKey, [entry]);
      else line.push(entry);
    }
    emit({
      type: 'submitted',
      id: job.id,
      label: job.label,
      kind: job.kind,
      priority: job.priority,
    });
    // After drain nothing starts: the job only waits, and the next drain reports it.
    if (!stopping) {
      lifecycle(entry).catch((error: unknown) => {
        // A bug in this file, not in the handler: end the job rather than leave it hanging.
        if (entries.get(job.id) !== entry) return;
        finish(entry);
        emit({
          type: 'failed',
          id: job.id,
          label: job.label,
          kind: job.kind,
          attempts: entry.attempts,
          error: errorText(error),
        });
      });
    }
    return { id: job.id, accepted: true, ...behind };
  }

  function cancel(id: string): boolean {
    const entry = entries.get(id);
    if (entry === undefined) return false;
    entry.cancelled = true;
    if (entry.phase === 'running') {
      // It reports 'cancelled' when its handler returns.
      entry.controller?.abort(abortReason('the job was cancelled'));
      return true;
    }
    finish(entry);
    entry.leave();
    entry.wake?.();
    emit({ type: 'cancelled', id, label: entry.job.label, kind: entry.job.kind });
    return true;
  }

  function stats(): QueueStats {
    const byLabel: Record<string, LabelStats> = {};
    for (const label of Object.keys(settings.labels)) byLabel[label] = zero();
    for (const entry of entries.values()) {
      const counts = (byLabel[entry.job.label] ??= zero());
      if (entry.phase === 'running') counts.running += 1;
      else if (entry.phase === 'waiting') counts.waiting += 1;
      else counts.delayed += 1;
    }
    return { byLabel };
  }

  function drain(timeoutMs: number): Promise<string[]> {
    stopping = true;
    for (const entry of entries.values()) entry.wake?.();
    return new Promise<string[]>((resolve) => {
      const finishDrain = (): void => resolve([...entries.keys()]);
      if (running.size === 0) {
        finishDrain();
        return;
      }
      const timer = setTimeout(
        () => {
          const reason = abortReason(
            `the queue is draining and the job was still running after ${timeoutMs} ms`,
          );
          for (const entry of running) entry.controller?.abort(reason);
        },
        Math.max(0, timeoutMs),
      );
      idleWaiters.push(() => {
        clearTimeout(timer);
        finishDrain();
      });
    });
  }

  async function close(): Promise<void> {
    // Called after drain; if not, whatever still runs is aborted first.
    if (!stopping || running.size > 0) await drain(0);
    const limiters = [global, ...labelLimiters.values(), ...keyLimiters.values()];
    labelLimiters.clear();
    keyLimiters.clear();
    // Drops what is still queued (those jobs stay waiting in `entries`) and clears bottleneck's timers.
    await Promise.all(
      limiters.map((limiter) => limiter.stop({ dropWaitingJobs: true }).catch(() => undefined)),
    );
  }

  return {
    runnerId,
    submit: (job) => {
      try {
        return Promise.resolve(submit(job));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    cancel: async (id) => cancel(id),
    holderOf: async (lockKey) => locks.holderOf(lockKey) ?? lines.get(lockKey)?.[0]?.job.id,
    stats: async () => stats(),
    drain,
    close,
  };
}
