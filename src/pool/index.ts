/**
 * pool/: running jobs — when they start, side by side or one after another. Owns the locks per
 * 'owner/repo@branch' (contention is a user message, not an error), the queue with one lane per
 * lock key and a global concurrency limit, and draining on shutdown. In-process today; issue 6 adds
 * bottleneck/BullMQ engines behind the same Queue interface. It must not know what a job does (that
 * is pipeline.ts), talk to GitHub (scm/, deliver/) or persist anything (store/).
 */
export { createLockTable, lockHeldMessage } from './locks.js';
export type { LockResult, LockTable } from './locks.js';
export { createInProcessQueue } from './queue.js';
export type { InProcessQueueOptions, Queue, QueuedJob, SubmitResult } from './queue.js';
