/**
 * The in-memory Store: Maps in this process, with the same semantics as the SQL engines (sql.ts).
 * Everything is lost when the process stops, so a restart forgets queued jobs, seen deliveries (a
 * redelivered webhook would run again), approvals and the audit log. For tests and the bench; a
 * bot uses SQLite or PostgreSQL (open.ts).
 */
import { randomBytes } from 'node:crypto';
import {
  CLAIMABLE_STATES,
  DEFAULT_MAX_DELIVERIES,
  checkpointText,
  clampLimit,
  newJobRecord,
  sortJobCounts,
} from './records.js';
import type {
  ApprovalRecord,
  AuditEntry,
  Checkpoint,
  JobCount,
  JobRecord,
  JobState,
  NewJob,
  Store,
} from './store.js';

export { DEFAULT_MAX_DELIVERIES };

export interface MemoryStoreOptions {
  /** Clock for createdAt/updatedAt; default the system clock. */
  now?: () => Date;
  /** How many webhook delivery ids to remember, least recently seen forgotten first; default 10,000. */
  maxDeliveries?: number;
}

interface StoredJob {
  record: JobRecord;
  /** Insertion order, to break createdAt ties. */
  seq: number;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const now = options.now ?? ((): Date => new Date());
  const maxDeliveries = options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1) {
    throw new Error(`maxDeliveries: expected a positive integer, got ${String(maxDeliveries)}`);
  }

  const jobs = new Map<string, StoredJob>();
  const jobIdByDedupeKey = new Map<string, string>();
  // A Set iterates in insertion order, so its first element is the least recently seen id.
  const deliveries = new Set<string>();
  const approvals = new Map<string, ApprovalRecord[]>();
  const auditEntries: AuditEntry[] = [];
  // Per job, a Map keyed by stage: a Map keeps first-insertion order when a value is replaced.
  const checkpointsByJob = new Map<string, Map<string, Checkpoint>>();
  let nextSeq = 0;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('store is closed');
  }

  function newJobId(): string {
    // 48 random bits: a collision is astronomically unlikely, and ruling it out costs one lookup.
    for (let attempt = 0; attempt < 8; attempt++) {
      const id = `job-${randomBytes(6).toString('hex')}`;
      if (!jobs.has(id)) return id;
    }
    throw new Error('could not draw an unused job id; is randomBytes broken?');
  }

  /** Newest first: later createdAt, then later insertion. */
  function newestFirst(a: StoredJob, b: StoredJob): number {
    const byTime = Date.parse(b.record.createdAt) - Date.parse(a.record.createdAt);
    return byTime !== 0 ? byTime : b.seq - a.seq;
  }

  function sameName(a: string, b: string): boolean {
    // GitHub owner and repository names are case-insensitive.
    return a.toLowerCase() === b.toLowerCase();
  }

  /** Oldest first: earlier createdAt, then earlier insertion. */
  function oldestFirst(a: StoredJob, b: StoredJob): number {
    return newestFirst(b, a);
  }

  function inStates(states: readonly JobState[] | undefined): (stored: StoredJob) => boolean {
    return (stored) => states === undefined || states.includes(stored.record.state);
  }

  return {
    // Nothing below awaits between reading and writing the maps, so each call is atomic.
    async createJob(job: NewJob) {
      assertOpen();
      const existingId = jobIdByDedupeKey.get(job.dedupeKey);
      const existing = existingId === undefined ? undefined : jobs.get(existingId);
      if (existing !== undefined) return { created: false, job: structuredClone(existing.record) };

      const record = newJobRecord(job, newJobId(), now().toISOString());
      jobs.set(record.id, { record, seq: nextSeq++ });
      jobIdByDedupeKey.set(record.dedupeKey, record.id);
      return { created: true, job: structuredClone(record) };
    },

    async getJob(id) {
      assertOpen();
      const stored = jobs.get(id);
      return stored === undefined ? undefined : structuredClone(stored.record);
    },

    async updateJob(id, patch) {
      assertOpen();
      const stored = jobs.get(id);
      if (stored === undefined) throw new Error(`updateJob: no job with id ${id}`);
      const { dedupeKey, createdAt } = stored.record;
      stored.record = {
        ...stored.record,
        ...structuredClone(patch),
        // The type forbids changing these; this keeps them fixed for untyped callers too.
        id,
        dedupeKey,
        createdAt,
        updatedAt: now().toISOString(),
      };
      return structuredClone(stored.record);
    },

    async latestJobForThread(owner, repo, issueNumber) {
      assertOpen();
      const inThread = [...jobs.values()].filter(({ record: { thread } }) => {
        if (thread === undefined) return false;
        return (
          thread.issueNumber === issueNumber &&
          sameName(thread.owner, owner) &&
          sameName(thread.repo, repo)
        );
      });
      const latest = inThread.sort(newestFirst)[0];
      return latest === undefined ? undefined : structuredClone(latest.record);
    },

    async recentJobs(limit, states) {
      assertOpen();
      return [...jobs.values()]
        .filter(inStates(states))
        .sort(newestFirst)
        .slice(0, clampLimit(limit))
        .map((stored) => structuredClone(stored.record));
    },

    async jobsInStates(states, limit) {
      assertOpen();
      const listed = [...jobs.values()].filter(inStates(states)).sort(oldestFirst);
      return (limit === undefined ? listed : listed.slice(0, clampLimit(limit))).map((stored) =>
        structuredClone(stored.record),
      );
    },

    async claimJob(id, runner) {
      assertOpen();
      const stored = jobs.get(id);
      if (stored === undefined || !CLAIMABLE_STATES.includes(stored.record.state)) return undefined;
      const at = now().toISOString();
      stored.record = {
        ...stored.record,
        state: 'running',
        runner,
        attempts: stored.record.attempts + 1,
        startedAt: stored.record.startedAt ?? at,
        updatedAt: at,
      };
      return structuredClone(stored.record);
    },

    async countJobs() {
      assertOpen();
      const counts = new Map<string, JobCount>();
      for (const { record } of jobs.values()) {
        const key = JSON.stringify([record.state, record.label]);
        const count = counts.get(key) ?? { state: record.state, label: record.label, count: 0 };
        count.count += 1;
        counts.set(key, count);
      }
      return sortJobCounts([...counts.values()]);
    },

    async saveCheckpoint(jobId, stage, value) {
      assertOpen();
      // Through JSON, as the SQL engines store it: what loads back is what they would return.
      const stored = JSON.parse(checkpointText(jobId, stage, value)) as unknown;
      const forJob = checkpointsByJob.get(jobId) ?? new Map<string, Checkpoint>();
      forJob.set(stage, { jobId, stage, value: stored, savedAt: now().toISOString() });
      checkpointsByJob.set(jobId, forJob);
    },

    async loadCheckpoint(jobId, stage) {
      assertOpen();
      const checkpoint = checkpointsByJob.get(jobId)?.get(stage);
      return checkpoint === undefined ? undefined : structuredClone(checkpoint);
    },

    async checkpoints(jobId) {
      assertOpen();
      return structuredClone([...(checkpointsByJob.get(jobId)?.values() ?? [])]);
    },

    async markDelivery(deliveryId) {
      assertOpen();
      const seen = deliveries.delete(deliveryId);
      deliveries.add(deliveryId);
      while (deliveries.size > maxDeliveries) {
        const oldest = deliveries.values().next().value as string;
        deliveries.delete(oldest);
      }
      return !seen;
    },

    async recordApproval(approval) {
      assertOpen();
      const list = approvals.get(approval.jobId) ?? [];
      list.push(structuredClone(approval));
      approvals.set(approval.jobId, list);
    },

    async approvalsFor(jobId) {
      assertOpen();
      return structuredClone(approvals.get(jobId) ?? []);
    },

    async audit(entry) {
      assertOpen();
      auditEntries.push(structuredClone(entry));
    },

    async auditLog(limit) {
      assertOpen();
      const count = clampLimit(limit);
      return count === 0 ? [] : structuredClone(auditEntries.slice(-count).reverse());
    },

    async close() {
      closed = true;
    },
  };
}
