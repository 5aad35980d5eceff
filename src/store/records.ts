/**
 * Rules every Store engine applies the same way, so memory, SQLite and PostgreSQL agree: the
 * defaults of a new job, which states a runner may claim, how counts are ordered and how limits
 * are read.
 */
import { JOB_STATES } from './store.js';
import type { JobCount, JobRecord, JobState, NewJob } from './store.js';

/** What a NewJob that names no kind, label or priority gets. */
export const NEW_JOB_DEFAULTS = {
  kind: 'provision',
  label: 'llm',
  priority: 'NORMAL',
} as const satisfies Pick<JobRecord, 'kind' | 'label' | 'priority'>;

/** Webhook delivery ids remembered, least recently seen forgotten first. */
export const DEFAULT_MAX_DELIVERIES = 10_000;

/** claimJob takes a job in these states; `running` means a run that died and is run again. */
export const CLAIMABLE_STATES: readonly JobState[] = ['queued', 'running'];

/** The queued record for a new job (a deep copy of the input). */
export function newJobRecord(input: NewJob, id: string, at: string): JobRecord {
  const { kind, label, priority, ...rest } = structuredClone(input);
  return {
    ...rest,
    id,
    kind: kind ?? NEW_JOB_DEFAULTS.kind,
    label: label ?? NEW_JOB_DEFAULTS.label,
    priority: priority ?? NEW_JOB_DEFAULTS.priority,
    state: 'queued',
    attempts: 0,
    createdAt: at,
    updatedAt: at,
  };
}

/** A limit as a row count: non-finite or negative is 0, fractions round down. */
export function clampLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}

/** By state in JOB_STATES order, then label. */
export function sortJobCounts(counts: JobCount[]): JobCount[] {
  return counts.sort(
    (a, b) =>
      JOB_STATES.indexOf(a.state) - JOB_STATES.indexOf(b.state) || a.label.localeCompare(b.label),
  );
}

/** A checkpoint value as stored: JSON text. Something JSON cannot hold is a bug in the caller. */
export function checkpointText(jobId: string, stage: string, value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) {
    throw new TypeError(
      `saveCheckpoint: ${jobId} ${stage}: the value is not JSON (got ${typeof value})`,
    );
  }
  return text;
}
