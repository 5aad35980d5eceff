/**
 * store/: what the app remembers — job records (deduplicated by origin event), webhook deliveries
 * already handled, approvals and the audit log — behind one Store interface. Today the only engine
 * is in memory: it loses everything on restart (queued jobs, seen deliveries, approvals, audit), so
 * run one replica. PGlite and PostgreSQL implementations arrive with issue 6 behind the same
 * interface. It must not run jobs, talk to GitHub or render user-visible text; those belong to
 * pool/, scm/ and deliver/. Callers receive the Store as an argument; only cli.ts/app.ts build one.
 */
export { JOB_STATES } from './store.js';
export type {
  ApprovalRecord,
  AuditEntry,
  JobRecord,
  JobState,
  JobTarget,
  JobThread,
  NewJob,
  Store,
} from './store.js';
export { DEFAULT_MAX_DELIVERIES, createMemoryStore } from './memory.js';
export type { MemoryStoreOptions } from './memory.js';
