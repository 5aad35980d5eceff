/**
 * The in-memory Store: Maps in this process. Everything is lost when the process stops, so a
 * restart forgets queued jobs, seen deliveries (a redelivered webhook would run again), approvals
 * and the audit log. Good for one replica, tests and the bench; issue 6 brings durable engines.
 */
import { randomBytes } from 'node:crypto';
import type { ApprovalRecord, AuditEntry, JobRecord, NewJob, Store } from './store.js';

export interface MemoryStoreOptions {
  /** Clock for createdAt/updatedAt; default the system clock. */
  now?: () => Date;
  /** How many webhook delivery ids to remember, least recently seen forgotten first; default 10,000. */
  maxDeliveries?: number;
}

export const DEFAULT_MAX_DELIVERIES = 10_000;

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

  function clampLimit(limit: number): number {
    return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
  }

  return {
    // Nothing below awaits between reading and writing the maps, so each call is atomic.
    async createJob(job: NewJob) {
      assertOpen();
      const existingId = jobIdByDedupeKey.get(job.dedupeKey);
      const existing = existingId === undefined ? undefined : jobs.get(existingId);
      if (existing !== undefined) return { created: false, job: structuredClone(existing.record) };

      const at = now().toISOString();
      const record: JobRecord = {
        ...structuredClone(job),
        id: newJobId(),
        state: 'queued',
        createdAt: at,
        updatedAt: at,
      };
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

    async recentJobs(limit) {
      assertOpen();
      return [...jobs.values()]
        .sort(newestFirst)
        .slice(0, clampLimit(limit))
        .map((stored) => structuredClone(stored.record));
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
