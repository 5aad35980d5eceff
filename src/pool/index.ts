/**
 * pool/: running jobs — when they start, side by side or one after another. Owns the Queue port
 * (queue.ts: priorities, labels, lock keys, retries, cancel, drain), its engines (in-process on
 * bottleneck here; distributed on Redis with BullMQ in redis.ts), the pool settings read from the
 * environment, and the locks per 'owner/repo@branch' (contention is a user message, not an error).
 * It must not know what a job does (that is the handler: commands/, pipeline.ts), talk to GitHub
 * (scm/, deliver/) or persist anything (store/): a queue carries ids and routing only.
 */
export * from './queue.js';
export { BOTTLENECK_PRIORITIES, createInProcessQueue } from './in-process.js';
export type { InProcessQueue, InProcessQueueOptions } from './in-process.js';
export { backoffDelayMs, parseLabels, parsePoolSettings } from './settings.js';
export type { LabelsResult, PoolSettingsResult } from './settings.js';
export { createLockTable, lockHeldMessage } from './locks.js';
export type { LockResult, LockTable } from './locks.js';
