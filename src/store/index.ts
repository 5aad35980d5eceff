/**
 * store/: what the app remembers — job records (deduplicated by origin event), stage checkpoints,
 * webhook deliveries already handled, approvals and the audit log — behind one Store interface
 * with three engines: SQLite in the data directory (the default), PostgreSQL when DATABASE_URL is
 * set (several bot instances and runners), and memory (tests, the bench). openStore() picks the
 * durable one and migrates it. It must not run jobs, talk to GitHub or render user-visible text;
 * those belong to pool/, scm/ and deliver/. Callers receive the Store as an argument; only the
 * entry points open one.
 */
export { FINAL_JOB_STATES, JOB_STATES } from './store.js';
export type {
  ApprovalRecord,
  AuditEntry,
  Checkpoint,
  JobCount,
  JobRecord,
  JobState,
  JobTarget,
  JobThread,
  NewJob,
  Store,
} from './store.js';
export { CLAIMABLE_STATES, DEFAULT_MAX_DELIVERIES, NEW_JOB_DEFAULTS } from './records.js';
export { createMemoryStore } from './memory.js';
export type { MemoryStoreOptions } from './memory.js';
export { createSqlStore } from './sql.js';
export type { Database, SqlStoreOptions } from './sql.js';
export { createMigrationProvider, migrateToLatest, storeMigrations } from './migrations.js';
export type { SqlDialect } from './migrations.js';
export { SQLITE_FILE_NAME, defaultDataDir, openStore } from './open.js';
export type { OpenStoreOptions, OpenedStore, StoreLocation } from './open.js';
