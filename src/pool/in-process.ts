/**
 * The job queue: in-process lanes, one per lock key ('owner/repo@branch'). Jobs of one lane run one
 * at a time in the order they were submitted (Atlantis: one plan per repository and branch at a
 * time); lanes run side by side up to `concurrency` jobs in all. Event driven: a job that finishes
 * starts the next one; nothing polls. Issue 6 swaps the engine (bottleneck, BullMQ) behind the same
 * Queue interface.
 *
 * Which job starts when a slot frees: the earliest submitted job whose lane is free.
 *
 * Positions (what a user is told in the "queued" comment); 0 means the job started now:
 * - Its lane is busy (a job of the same lock key is running, or the lock is held elsewhere):
 *   position = 1 (the running holder) + the jobs waiting ahead of it in the same lane, and
 *   `waitingBehind` names the holder.
 * - Its lane is free but every slot is taken (or the queue is draining): position = 1 (a slot must
 *   free) + the jobs waiting ahead of it in any lane, since those start first; no `waitingBehind`.
 */
import { createLockTable, type LockTable } from './locks.js';

export interface QueuedJob {
  id: string;
  lockKey: string;
  /** The work. It should stop soon after `signal` aborts (drain timed out) and must not assume it runs at once. */
  run: (signal: AbortSignal) => Promise<void>;
}

export interface SubmitResult {
  id: string;
  /** 0 = starts now; otherwise how many jobs are ahead of it (see the rules at the top of queue.ts). */
  position: number;
  /** Id of the job holding this job's lock key, when that is what it waits for. */
  waitingBehind?: string;
}

export interface Queue {
  /** Jobs with the same lockKey run one at a time, FIFO (Atlantis lock); others run up to `concurrency`. A job id submitted twice is ignored (returns its current position). `run` errors are caught and passed to onError. */
  submit(job: QueuedJob): SubmitResult;
  /** Waiting + running. */
  size(): number;
  /**
   * Stops starting jobs (for good: jobs submitted later only wait) and resolves once the running
   * ones have finished. Jobs still running after `timeoutMs` get their signal aborted, and drain
   * resolves when they have returned, so they can record that they were cancelled. Resolves with the
   * ids still waiting, in submission order.
   */
  drain(timeoutMs: number): Promise<string[]>;
}

export interface InProcessQueueOptions {
  /** Most jobs running at once, across lanes; a positive integer. */
  concurrency: number;
  /** Where lane locks are held while a job runs (so `holderOf(lockKey)` names it); default a private table. */
  locks?: LockTable;
  /** Receives what a job's `run` threw or rejected with. Default: a process warning. Its own errors are dropped. */
  onError?: (id: string, error: unknown) => void;
}

interface Waiting {
  job: QueuedJob;
  /** Submission order across every lane. */
  seq: number;
}

interface Running {
  job: QueuedJob;
  controller: AbortController;
}

function warnJobError(id: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`job ${id} failed: ${message}`, { code: 'AI_PROVISION_JOB_ERROR' });
}

function drainTimeoutReason(timeoutMs: number): Error {
  const reason = new Error(
    `the queue is draining and the job was still running after ${timeoutMs} ms`,
  );
  reason.name = 'AbortError';
  return reason;
}

export function createInProcessQueue(options: InProcessQueueOptions): Queue {
  const { concurrency } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency: expected a positive integer, got ${String(concurrency)}`);
  }
  const locks = options.locks ?? createLockTable();
  const onError = options.onError ?? warnJobError;

  /** lockKey → jobs waiting in that lane, first to start first. */
  const lanes = new Map<string, Waiting[]>();
  /** Every waiting job, in submission order (Map keeps insertion order). */
  const waiting = new Map<string, Waiting>();
  const running = new Map<string, Running>();
  /** lockKey → id of the job of that lane that is running. */
  const runningByLane = new Map<string, string>();
  /** Drain calls waiting for the last running job to finish. */
  const idleWaiters: (() => void)[] = [];
  let nextSeq = 0;
  let draining = false;

  /** Who keeps job `id` out of its lane: the lane's running job or another lock holder. */
  function laneHolder(lockKey: string, id: string): string | undefined {
    const holder = runningByLane.get(lockKey) ?? locks.holderOf(lockKey);
    return holder === id ? undefined : holder;
  }

  function report(id: string, error: unknown): void {
    try {
      onError(id, error);
    } catch {
      // A failing error handler must not turn into an unhandled rejection.
    }
  }

  function removeWaiting(entry: Waiting): void {
    waiting.delete(entry.job.id);
    const lane = lanes.get(entry.job.lockKey);
    if (lane === undefined) return;
    const index = lane.indexOf(entry);
    if (index >= 0) lane.splice(index, 1);
    if (lane.length === 0) lanes.delete(entry.job.lockKey);
  }

  /** The earliest submitted lane head whose lane is free. */
  function nextToStart(skip: ReadonlySet<string>): Waiting | undefined {
    let best: Waiting | undefined;
    for (const [lockKey, lane] of lanes) {
      const head = lane[0];
      if (head === undefined || skip.has(lockKey)) continue;
      if (laneHolder(lockKey, head.job.id) !== undefined) continue;
      if (best === undefined || head.seq < best.seq) best = head;
    }
    return best;
  }

  function pump(): void {
    // Lanes whose lock a foreign LockTable refused despite looking free; skipped until the next event.
    const refused = new Set<string>();
    while (!draining && running.size < concurrency) {
      const next = nextToStart(refused);
      if (next === undefined) return;
      if (!start(next)) refused.add(next.job.lockKey);
    }
  }

  function start(entry: Waiting): boolean {
    const { job } = entry;
    const lock = locks.tryLock(job.lockKey, job.id);
    if (!lock.acquired) return false;
    removeWaiting(entry);
    const controller = new AbortController();
    running.set(job.id, { job, controller });
    runningByLane.set(job.lockKey, job.id);
    void execute(job, controller.signal, lock.release);
    return true;
  }

  async function execute(job: QueuedJob, signal: AbortSignal, release: () => void): Promise<void> {
    try {
      await job.run(signal);
    } catch (error) {
      report(job.id, error);
    } finally {
      release();
      running.delete(job.id);
      runningByLane.delete(job.lockKey);
      if (running.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
      pump();
    }
  }

  function positionOf(id: string): SubmitResult | undefined {
    if (running.has(id)) return { id, position: 0 };
    const entry = waiting.get(id);
    if (entry === undefined) return undefined;
    const { lockKey } = entry.job;
    const holder = laneHolder(lockKey, id);
    if (holder !== undefined) {
      const aheadInLane = lanes.get(lockKey)?.indexOf(entry) ?? 0;
      return { id, position: 1 + aheadInLane, waitingBehind: holder };
    }
    let aheadAnywhere = 0;
    for (const other of waiting.values()) {
      if (other.seq >= entry.seq) break;
      aheadAnywhere++;
    }
    return { id, position: 1 + aheadAnywhere };
  }

  return {
    submit(job) {
      const known = positionOf(job.id);
      if (known !== undefined) return known;

      const entry: Waiting = { job, seq: nextSeq++ };
      waiting.set(job.id, entry);
      const lane = lanes.get(job.lockKey);
      if (lane === undefined) lanes.set(job.lockKey, [entry]);
      else lane.push(entry);
      pump();
      // A started job cannot have finished yet: its completion runs in a later microtask.
      return positionOf(job.id) ?? { id: job.id, position: 0 };
    },

    size() {
      return waiting.size + running.size;
    },

    drain(timeoutMs) {
      draining = true;
      return new Promise<string[]>((resolve) => {
        const finish = (): void => resolve([...waiting.keys()]);
        if (running.size === 0) {
          finish();
          return;
        }
        const timer = setTimeout(
          () => {
            const reason = drainTimeoutReason(timeoutMs);
            for (const { controller } of running.values()) controller.abort(reason);
          },
          Math.max(0, timeoutMs),
        );
        idleWaiters.push(() => {
          clearTimeout(timer);
          finish();
        });
      });
    },
  };
}
