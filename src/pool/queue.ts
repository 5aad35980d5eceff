/**
 * The Queue port: where accepted jobs wait until a runner with the right label has room for them.
 * Two engines behind it — in-process on bottleneck (in-process.ts) and distributed on Redis with
 * BullMQ (redis.ts) — so callers never know which one they hold. A queue carries only ids and
 * routing (kind, label, priority, lock key); what a job is lives in the Store.
 */

/** Most urgent first. */
export const PRIORITIES = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The labels the bot itself routes work to; runners may name others (`[a-z][a-z0-9_]*`). */
export const KNOWN_LABELS = ['llm', 'llm_light', 'llm_heavy', 'exec'] as const;
export const LABEL_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

export interface PoolJob {
  /** Our job id ('job-…'); the queue holds one job per id, so submitting an id twice is a no-op. */
  id: string;
  /** Which handler runs it (a key of the handler registry), e.g. 'provision'. */
  kind: string;
  /** Routes the job to runners that carry this label. */
  label: string;
  priority: Priority;
  /** Jobs with the same lock key ('owner/repo@branch') run one at a time, in submission order. */
  lockKey?: string;
  /** Small JSON payload for handlers that need one (the bench); provision reads its job from the Store. */
  data?: Record<string, unknown>;
}

export interface JobContext {
  /** Aborted on cancel, or when a drain times out; the handler should stop soon after. */
  signal: AbortSignal;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /** The last attempt: a handler records its final outcome instead of throwing for a retry. */
  lastAttempt: boolean;
  /** Id of the runner (process) running it. */
  runner: string;
}

/**
 * Runs one job. Returning means the job is over (whatever its outcome, which the handler records
 * itself); throwing asks for another attempt after a backoff, until `maxAttempts`.
 */
export type JobHandler = (job: PoolJob, context: JobContext) => Promise<void>;

export type HandlerRegistry = ReadonlyMap<string, JobHandler>;

export interface LabelLimits {
  /** Jobs of this label running at once (per process in-process; per runner on Redis). */
  concurrency: number;
  /** Most job starts per second for this label, across every runner; unlimited when absent. */
  ratePerSecond?: number;
}

export interface PoolSettings {
  /** Most jobs running at once in this process, all labels together. */
  concurrency: number;
  /** Limits per label; a label not listed gets `defaultLabel`. */
  labels: Readonly<Record<string, LabelLimits>>;
  defaultLabel: LabelLimits;
  /** Runs per job, the first included; ≥ 1. */
  maxAttempts: number;
  /** Retry n waits a random time in [0, min(maxMs, baseMs·2^(n-1))] ("full jitter"). */
  backoff: { baseMs: number; maxMs: number };
  /** 1-minute load average per core above which no new job starts; absent = no threshold. */
  cpuThreshold?: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = {
  concurrency: 2,
  labels: {
    llm: { concurrency: 2 },
    llm_light: { concurrency: 4 },
    llm_heavy: { concurrency: 1 },
    exec: { concurrency: 2 },
  },
  defaultLabel: { concurrency: 1 },
  maxAttempts: 3,
  backoff: { baseMs: 2_000, maxMs: 60_000 },
  cpuThreshold: 1.5,
};

export interface SubmitResult {
  id: string;
  /** false when a job with this id was already waiting or running (nothing new was queued). */
  accepted: boolean;
  /** Id of the job holding this job's lock key, when that is what it waits for. */
  waitingBehind?: string;
}

export interface LabelStats {
  waiting: number;
  running: number;
  /** Waiting for a retry's backoff or a held lock. */
  delayed: number;
}

export interface QueueStats {
  byLabel: Record<string, LabelStats>;
}

/** What a queue reports as jobs move; metrics and logs listen. Listeners must not throw. */
export type PoolEvent =
  | { type: 'submitted'; id: string; label: string; kind: string; priority: Priority }
  | { type: 'started'; id: string; label: string; kind: string; attempt: number; waitedMs: number }
  | { type: 'completed'; id: string; label: string; kind: string; durationMs: number }
  | {
      type: 'retrying';
      id: string;
      label: string;
      kind: string;
      attempt: number;
      delayMs: number;
      error: string;
    }
  | { type: 'failed'; id: string; label: string; kind: string; attempts: number; error: string }
  | { type: 'cancelled'; id: string; label: string; kind: string };

export interface Queue {
  /** Queues a job; an id already waiting or running is not queued again (accepted: false). */
  submit(job: PoolJob): Promise<SubmitResult>;
  /** Removes a waiting job, or aborts a running one's signal; false when the id is unknown. */
  cancel(id: string): Promise<boolean>;
  /** The job running under this lock key, if any. */
  holderOf(lockKey: string): Promise<string | undefined>;
  stats(): Promise<QueueStats>;
  /**
   * Stops starting jobs (for good) and resolves once running ones have finished; after `timeoutMs`
   * their signals are aborted and drain waits for them to return. Resolves with the ids still
   * waiting (they stay queued: on Redis another runner takes them; in-process the Store resumes
   * them at the next start).
   */
  drain(timeoutMs: number): Promise<string[]>;
  /** Releases connections and timers; call after drain. */
  close(): Promise<void>;
}
