/**
 * The Store port: what the app remembers between a webhook and the job it starts — job records,
 * stage checkpoints, webhook deliveries already seen, approvals and the audit log. One interface,
 * three engines (memory.ts for tests; SQLite in a data directory by default; PostgreSQL when
 * DATABASE_URL is set), so callers never know which one they hold. The Store is the source of
 * truth for jobs: a queue only carries ids, and on start the bot resubmits what the Store says is
 * unfinished.
 */
import type { Priority } from '../pool/queue.js';
import type { ProvisionRequest } from '../request/index.js';

/** A job's life: queued → running → done | refused | failed | cancelled. */
export const JOB_STATES = ['queued', 'running', 'done', 'refused', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The issue or pull-request conversation a job was asked from, where its status is shown. */
export interface JobThread {
  owner: string;
  repo: string;
  issueNumber: number;
  isPullRequest: boolean;
}

/** The repository and branch a job sizes, resolved once when the job is accepted. */
export interface JobTarget {
  owner: string;
  repo: string;
  /** The branch to read and to open the pull request against (the asked ref, else the default). */
  branch: string;
  defaultBranch: string;
  /** https clone URL as the API reported it. */
  cloneUrl: string;
}

export interface JobRecord {
  /** 'job-' + 12 random hex digits. */
  id: string;
  /** Handler that runs it (pool registry key), e.g. 'provision'. */
  kind: string;
  /** Pool label that routes it to runners, e.g. 'llm'. */
  label: string;
  priority: Priority;
  /** Runs started so far (claimJob counts them). */
  attempts: number;
  /** Runner id of the current or last run. */
  runner?: string;
  /** What makes a request unique at its origin, e.g. 'comment:acme/shop#1234' or 'delivery:<guid>'. */
  dedupeKey: string;
  state: JobState;
  /** Name of the last progress stage reached. */
  stage?: string;
  request: ProvisionRequest;
  /** 'owner/repo@branch': jobs with the same key run one at a time. */
  lockKey: string;
  /** GitHub App installation to re-authenticate as; never a token. */
  installationId?: number;
  thread?: JobThread;
  /** Set when the job is accepted; the worker clones and delivers from it. */
  target?: JobTarget;
  statusComment?: { id: number; nodeId: string };
  checkRunId?: number;
  pullRequest?: { number: number; url: string };
  /** The final error, or while queued for a retry, the last attempt's error. */
  error?: { code: string; message: string };
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; set by every update. */
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export type NewJob = Omit<
  JobRecord,
  'id' | 'state' | 'createdAt' | 'updatedAt' | 'attempts' | 'runner' | 'kind' | 'label' | 'priority'
> &
  Partial<Pick<JobRecord, 'kind' | 'label' | 'priority'>>;

/** Terminal states: a job in one of them never runs again. */
export const FINAL_JOB_STATES: readonly JobState[] = ['done', 'refused', 'failed', 'cancelled'];

/** One agent's (or stage's) saved output, so a retried job resumes where it stopped. */
export interface Checkpoint {
  jobId: string;
  /** e.g. 'agent-1@<commit>': the stage and the commit its input was read from. */
  stage: string;
  value: unknown;
  /** ISO 8601. */
  savedAt: string;
}

export interface JobCount {
  state: JobState;
  label: string;
  count: number;
}

export interface ApprovalRecord {
  jobId: string;
  decision: 'approve' | 'reject';
  /** GitHub login of who decided. */
  by: string;
  reason?: string;
  /** ISO 8601. */
  at: string;
}

export interface AuditEntry {
  /** ISO 8601. */
  at: string;
  actor: string;
  action: string;
  target: string;
  jobId?: string;
  detail?: string;
}

/**
 * Every method returns copies: changing a returned record never changes what is stored. Calling a
 * method after `close()` rejects, because that is a bug in the caller.
 */
export interface Store {
  /** Creates a job unless one with the same dedupeKey exists (then returns it, created:false). Atomic. */
  createJob(job: NewJob): Promise<{ created: boolean; job: JobRecord }>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Shallow-merges the patch, sets updatedAt; throws on unknown id (a bug). Returns the new record. */
  updateJob(
    id: string,
    patch: Partial<Omit<JobRecord, 'id' | 'dedupeKey' | 'createdAt'>>,
  ): Promise<JobRecord>;
  /** The newest job (by createdAt, then insertion) whose thread is this one. */
  latestJobForThread(
    owner: string,
    repo: string,
    issueNumber: number,
  ): Promise<JobRecord | undefined>;
  /** Newest first (by createdAt, then insertion), optionally only in the given states. */
  recentJobs(limit: number, states?: readonly JobState[]): Promise<JobRecord[]>;
  /** Oldest first: what to resume on start (e.g. states ['queued', 'running']). */
  jobsInStates(states: readonly JobState[], limit?: number): Promise<JobRecord[]>;
  /**
   * A runner takes a job, atomically: when its state is queued or running (a run that died),
   * sets state running, runner, startedAt (first run only) and attempts + 1, and returns it;
   * when the job is final or unknown, returns undefined and changes nothing. This is what makes
   * a job run to completion at most once however often a queue delivers it.
   */
  claimJob(id: string, runner: string): Promise<JobRecord | undefined>;
  /** Jobs per state and label, for metrics. */
  countJobs(): Promise<JobCount[]>;
  /** Saves (or replaces) a stage's output for a job. */
  saveCheckpoint(jobId: string, stage: string, value: unknown): Promise<void>;
  loadCheckpoint(jobId: string, stage: string): Promise<Checkpoint | undefined>;
  /** In the order they were first saved. */
  checkpoints(jobId: string): Promise<Checkpoint[]>;
  /** Remembers a webhook delivery id; true the first time, false after (exactly-once on redelivery). */
  markDelivery(deliveryId: string): Promise<boolean>;
  recordApproval(approval: ApprovalRecord): Promise<void>;
  /** In the order they were recorded. */
  approvalsFor(jobId: string): Promise<ApprovalRecord[]>;
  audit(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  auditLog(limit: number): Promise<AuditEntry[]>;
  close(): Promise<void>;
}
