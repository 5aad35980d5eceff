/**
 * The Store over SQL: one query layer (Kysely) for SQLite and PostgreSQL. Every write is a single
 * statement, atomic on its own in both engines, so no transaction is held open across an await:
 * createJob is INSERT … ON CONFLICT DO NOTHING, claimJob one UPDATE … RETURNING, markDelivery one
 * upsert, and updateJob a compare-and-set on the JSON part of the record. (better-sqlite3 blocks
 * the thread while it waits for a lock, so a transaction spanning awaits could stall a second
 * connection in the same process for the whole busy timeout.) Rows read back are validated with
 * zod; one that does not fit is a bug, reported with the job id.
 */
import { randomBytes } from 'node:crypto';
import {
  sql,
  type ColumnType,
  type Generated,
  type Insertable,
  type Kysely,
  type Selectable,
} from 'kysely';
import { z } from 'zod';
import { PRIORITIES } from '../pool/queue.js';
import { ProvisionRequest } from '../request/schema.js';
import {
  CLAIMABLE_STATES,
  DEFAULT_MAX_DELIVERIES,
  checkpointText,
  clampLimit,
  newJobRecord,
  sortJobCounts,
} from './records.js';
import { JOB_STATES } from './store.js';
import type {
  ApprovalRecord,
  AuditEntry,
  Checkpoint,
  JobRecord,
  JobState,
  JobTarget,
  JobThread,
  NewJob,
  Store,
} from './store.js';

/** PostgreSQL returns bigint columns as strings; SQLite returns numbers. */
type BigIntColumn = ColumnType<number | string, number, number>;
type NullableBigIntColumn = ColumnType<number | string | null, number | null, number | null>;

export interface JobsTable {
  seq: Generated<number | string>;
  id: string;
  dedupe_key: string;
  kind: string;
  label: string;
  priority: string;
  state: string;
  stage: string | null;
  lock_key: string;
  attempts: number;
  runner: string | null;
  installation_id: NullableBigIntColumn;
  thread_owner: string | null;
  thread_repo: string | null;
  thread_issue: number | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  error_code: string | null;
  error_message: string | null;
  record: string;
}

export interface CheckpointsTable {
  job_id: string;
  stage: string;
  seq: BigIntColumn;
  value: string;
  saved_at: string;
}

export interface DeliveriesTable {
  id: string;
  seq: BigIntColumn;
  hits: number;
  seen_at: string;
}

export interface ApprovalsTable {
  seq: Generated<number | string>;
  job_id: string;
  decision: string;
  by_login: string;
  reason: string | null;
  at: string;
}

export interface AuditTable {
  seq: Generated<number | string>;
  at: string;
  actor: string;
  action: string;
  target: string;
  job_id: string | null;
  detail: string | null;
}

/** The schema migrations.ts builds, as Kysely sees it. */
export interface Database {
  jobs: JobsTable;
  checkpoints: CheckpointsTable;
  deliveries: DeliveriesTable;
  approvals: ApprovalsTable;
  audit: AuditTable;
}

export interface SqlStoreOptions {
  /** Clock for createdAt/updatedAt/savedAt; default the system clock. */
  now?: () => Date;
  /** How many webhook delivery ids to remember, least recently seen forgotten first; default 10,000. */
  maxDeliveries?: number;
}

type JobRow = Selectable<JobsTable>;

const JobThreadSchema = z.object({
  owner: z.string(),
  repo: z.string(),
  issueNumber: z.number().int(),
  isPullRequest: z.boolean(),
}) satisfies z.ZodType<JobThread>;

const JobTargetSchema = z.object({
  owner: z.string(),
  repo: z.string(),
  branch: z.string(),
  defaultBranch: z.string(),
  cloneUrl: z.string(),
}) satisfies z.ZodType<JobTarget>;

/** The `record` column: the parts of a JobRecord that are not columns of their own. */
const RecordJson = z.object({
  request: ProvisionRequest,
  thread: JobThreadSchema.optional(),
  target: JobTargetSchema.optional(),
  statusComment: z.object({ id: z.number(), nodeId: z.string() }).optional(),
  checkRunId: z.number().optional(),
  pullRequest: z.object({ number: z.number(), url: z.string() }).optional(),
});
type RecordJson = z.infer<typeof RecordJson>;
const RECORD_KEYS = [
  'request',
  'thread',
  'target',
  'statusComment',
  'checkRunId',
  'pullRequest',
] as const satisfies readonly (keyof RecordJson & keyof JobRecord)[];

const integer = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number),
]);

const JobRowSchema = z.object({
  id: z.string(),
  dedupe_key: z.string(),
  kind: z.string(),
  label: z.string(),
  priority: z.enum(PRIORITIES),
  state: z.enum(JOB_STATES),
  stage: z.string().nullable(),
  lock_key: z.string(),
  attempts: integer,
  runner: z.string().nullable(),
  installation_id: integer.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  record: z.string(),
});

const ApprovalRowSchema = z.object({
  job_id: z.string(),
  decision: z.enum(['approve', 'reject']),
  by_login: z.string(),
  reason: z.string().nullable(),
  at: z.string(),
});

/** Reads a jobs row back into a JobRecord; a row that does not fit is a bug. */
function jobFromRow(row: JobRow): JobRecord {
  const columns = JobRowSchema.safeParse(row);
  if (!columns.success) {
    throw new Error(`store: job ${row.id} has an invalid row: ${z.prettifyError(columns.error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(row.record);
  } catch (error) {
    throw new Error(`store: job ${row.id} has a record that is not JSON`, { cause: error });
  }
  const record = RecordJson.safeParse(json);
  if (!record.success) {
    throw new Error(`store: job ${row.id} has an invalid record: ${z.prettifyError(record.error)}`);
  }
  const c = columns.data;
  const job: JobRecord = {
    id: c.id,
    kind: c.kind,
    label: c.label,
    priority: c.priority,
    attempts: c.attempts,
    dedupeKey: c.dedupe_key,
    state: c.state,
    request: record.data.request,
    lockKey: c.lock_key,
    createdAt: c.created_at,
    updatedAt: c.updated_at,
  };
  // Absent stays absent (not undefined), so JSON output and deep equality match the memory store.
  if (c.runner !== null) job.runner = c.runner;
  if (c.stage !== null) job.stage = c.stage;
  if (c.installation_id !== null) job.installationId = c.installation_id;
  if (c.error_code !== null) job.error = { code: c.error_code, message: c.error_message ?? '' };
  if (c.started_at !== null) job.startedAt = c.started_at;
  if (c.finished_at !== null) job.finishedAt = c.finished_at;
  for (const key of RECORD_KEYS) {
    if (key !== 'request' && record.data[key] !== undefined) {
      Object.assign(job, { [key]: record.data[key] });
    }
  }
  return job;
}

/** What a job row is written from (the database numbers `seq`). */
type JobColumns = Required<Omit<Insertable<JobsTable>, 'seq'>>;

/** The column values for the given keys of a record (all keys when `keys` is absent). */
function columnsFor(
  job: JobRecord,
  keys?: ReadonlySet<string>,
): Partial<Omit<JobColumns, 'record'>> {
  const has = (key: keyof JobRecord): boolean => keys === undefined || keys.has(key);
  const values: Partial<Omit<JobColumns, 'record'>> = {};
  if (has('id')) values.id = job.id;
  if (has('dedupeKey')) values.dedupe_key = job.dedupeKey;
  if (has('kind')) values.kind = job.kind;
  if (has('label')) values.label = job.label;
  if (has('priority')) values.priority = job.priority;
  if (has('state')) values.state = job.state;
  if (has('stage')) values.stage = job.stage ?? null;
  if (has('lockKey')) values.lock_key = job.lockKey;
  if (has('attempts')) values.attempts = job.attempts;
  if (has('runner')) values.runner = job.runner ?? null;
  if (has('installationId')) values.installation_id = job.installationId ?? null;
  if (has('thread')) {
    // Lower-cased: GitHub owner and repository names are case-insensitive.
    values.thread_owner = job.thread?.owner.toLowerCase() ?? null;
    values.thread_repo = job.thread?.repo.toLowerCase() ?? null;
    values.thread_issue = job.thread?.issueNumber ?? null;
  }
  if (has('createdAt')) values.created_at = job.createdAt;
  if (has('updatedAt')) values.updated_at = job.updatedAt;
  if (has('startedAt')) values.started_at = job.startedAt ?? null;
  if (has('finishedAt')) values.finished_at = job.finishedAt ?? null;
  if (has('error')) {
    values.error_code = job.error?.code ?? null;
    values.error_message = job.error?.message ?? null;
  }
  return values;
}

/** The JSON part of a record; keys whose value is undefined are dropped by JSON.stringify. */
function recordText(base: Record<string, unknown>, job: JobRecord): string {
  const json: Record<string, unknown> = { ...base };
  for (const key of RECORD_KEYS) json[key] = job[key];
  return JSON.stringify(json);
}

/** updateJob re-reads and retries when another writer changed the JSON part in between. */
const UPDATE_ATTEMPTS = 20;
const ID_ATTEMPTS = 8;

export function createSqlStore(db: Kysely<Database>, options: SqlStoreOptions = {}): Store {
  const now = options.now ?? ((): Date => new Date());
  const maxDeliveries = options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1) {
    throw new Error(`maxDeliveries: expected a positive integer, got ${String(maxDeliveries)}`);
  }
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new Error('store is closed');
  }

  function jobs() {
    return db.selectFrom('jobs').selectAll();
  }

  return {
    async createJob(input: NewJob) {
      assertOpen();
      const at = now().toISOString();
      for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
        const job = newJobRecord(input, `job-${randomBytes(6).toString('hex')}`, at);
        const row = {
          ...(columnsFor(job) as JobColumns),
          record: recordText({}, job),
        };
        // Validate before writing: what we store must read back.
        jobFromRow({ ...row, seq: 0 });
        // No conflict target: a clash on the dedupe key means "already there"; a clash on the
        // random id (48 bits) means "draw another".
        const inserted = await db
          .insertInto('jobs')
          .values(row)
          .onConflict((oc) => oc.doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted !== undefined) return { created: true, job: jobFromRow(inserted) };
        const existing = await jobs().where('dedupe_key', '=', job.dedupeKey).executeTakeFirst();
        if (existing !== undefined) return { created: false, job: jobFromRow(existing) };
      }
      throw new Error('could not draw an unused job id; is randomBytes broken?');
    },

    async getJob(id) {
      assertOpen();
      const row = await jobs().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : jobFromRow(row);
    },

    async updateJob(id, patch) {
      assertOpen();
      const keys = new Set(Object.keys(patch));
      // The type forbids changing these; this keeps them fixed for untyped callers too.
      for (const fixed of ['id', 'dedupeKey', 'createdAt']) keys.delete(fixed);
      keys.add('updatedAt');
      const touchesRecord = RECORD_KEYS.some((key) => keys.has(key));
      for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
        const row = await jobs().where('id', '=', id).executeTakeFirst();
        if (row === undefined) throw new Error(`updateJob: no job with id ${id}`);
        const current = jobFromRow(row);
        const next: JobRecord = {
          ...current,
          ...structuredClone(patch),
          id,
          dedupeKey: current.dedupeKey,
          createdAt: current.createdAt,
          updatedAt: now().toISOString(),
        };
        const record = recordText(JSON.parse(row.record) as Record<string, unknown>, next);
        const values = { ...columnsFor(next, keys), ...(touchesRecord ? { record } : {}) };
        try {
          jobFromRow({ ...row, ...values });
        } catch (error) {
          throw new Error(`updateJob: the patch for job ${id} does not fit a job record`, {
            cause: error,
          });
        }
        // Only the patched columns are written, so a concurrent claim's attempts or another
        // patch's fields survive; the JSON part is replaced only if nobody changed it meanwhile.
        let update = db.updateTable('jobs').set(values).where('id', '=', id);
        if (touchesRecord) update = update.where('record', '=', row.record);
        const updated = await update.returningAll().executeTakeFirst();
        if (updated !== undefined) return jobFromRow(updated);
      }
      throw new Error(`updateJob: job ${id} kept changing; gave up after ${UPDATE_ATTEMPTS} tries`);
    },

    async latestJobForThread(owner, repo, issueNumber) {
      assertOpen();
      const row = await jobs()
        .where('thread_owner', '=', owner.toLowerCase())
        .where('thread_repo', '=', repo.toLowerCase())
        .where('thread_issue', '=', issueNumber)
        .orderBy('created_at', 'desc')
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row === undefined ? undefined : jobFromRow(row);
    },

    async recentJobs(limit, states) {
      assertOpen();
      const count = clampLimit(limit);
      if (count === 0 || states?.length === 0) return [];
      let query = jobs().orderBy('created_at', 'desc').orderBy('seq', 'desc').limit(count);
      if (states !== undefined) query = query.where('state', 'in', [...states]);
      return (await query.execute()).map(jobFromRow);
    },

    async jobsInStates(states, limit) {
      assertOpen();
      const count = limit === undefined ? undefined : clampLimit(limit);
      if (count === 0 || states.length === 0) return [];
      let query = jobs()
        .where('state', 'in', [...states])
        .orderBy('created_at', 'asc')
        .orderBy('seq', 'asc');
      if (count !== undefined) query = query.limit(count);
      return (await query.execute()).map(jobFromRow);
    },

    async claimJob(id, runner) {
      assertOpen();
      const at = now().toISOString();
      // One statement: two runners claiming at once are serialized by the database, and each
      // sees the other's attempt (no lost increment).
      const row = await db
        .updateTable('jobs')
        .set((eb) => ({
          state: 'running' satisfies JobState,
          runner,
          attempts: eb('attempts', '+', 1),
          started_at: eb.fn.coalesce('started_at', eb.val(at)),
          updated_at: at,
        }))
        .where('id', '=', id)
        .where('state', 'in', [...CLAIMABLE_STATES])
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : jobFromRow(row);
    },

    async countJobs() {
      assertOpen();
      const rows = await db
        .selectFrom('jobs')
        .select((eb) => ['state', 'label', eb.fn.countAll<number | string>().as('count')])
        .groupBy(['state', 'label'])
        .execute();
      const counts = rows.map((row) => ({
        state: z.enum(JOB_STATES).parse(row.state),
        label: row.label,
        count: Number(row.count),
      }));
      return sortJobCounts(counts);
    },

    async saveCheckpoint(jobId, stage, value) {
      assertOpen();
      const text = checkpointText(jobId, stage, value);
      const savedAt = now().toISOString();
      await db
        .insertInto('checkpoints')
        .values({
          job_id: jobId,
          stage,
          seq: sql<number>`(select coalesce(max(c.seq), 0) + 1 from checkpoints c where c.job_id = ${jobId})`,
          value: text,
          saved_at: savedAt,
        })
        .onConflict((oc) =>
          oc.columns(['job_id', 'stage']).doUpdateSet((eb) => ({
            value: eb.ref('excluded.value'),
            saved_at: eb.ref('excluded.saved_at'),
          })),
        )
        .execute();
    },

    async loadCheckpoint(jobId, stage) {
      assertOpen();
      const row = await db
        .selectFrom('checkpoints')
        .select(['job_id', 'stage', 'value', 'saved_at'])
        .where('job_id', '=', jobId)
        .where('stage', '=', stage)
        .executeTakeFirst();
      return row === undefined ? undefined : checkpointFromRow(row);
    },

    async checkpoints(jobId) {
      assertOpen();
      const rows = await db
        .selectFrom('checkpoints')
        .select(['job_id', 'stage', 'value', 'saved_at'])
        .where('job_id', '=', jobId)
        .orderBy('seq', 'asc')
        .orderBy('stage', 'asc')
        .execute();
      return rows.map(checkpointFromRow);
    },

    async markDelivery(deliveryId) {
      assertOpen();
      const seenAt = now().toISOString();
      // One upsert: concurrent redeliveries of one id are serialized by the primary key, and
      // exactly one of them sees hits = 1. Every sighting moves the id to the newest seq.
      const nextSeq = sql<number>`(select coalesce(max(d.seq), 0) + 1 from deliveries d)`;
      const row = await db
        .insertInto('deliveries')
        .values({ id: deliveryId, seq: nextSeq, hits: 1, seen_at: seenAt })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            seq: eb.ref('excluded.seq'),
            hits: eb('deliveries.hits', '+', 1),
            seen_at: eb.ref('excluded.seen_at'),
          })),
        )
        .returning('hits')
        .executeTakeFirstOrThrow();
      const first = Number(row.hits) === 1;
      if (first) {
        // Keep the newest maxDeliveries ids: drop every one older than the maxDeliveries-th newest.
        await db
          .deleteFrom('deliveries')
          .where(
            'seq',
            '<',
            db
              .selectFrom('deliveries')
              .select('seq')
              .orderBy('seq', 'desc')
              .limit(1)
              .offset(maxDeliveries - 1),
          )
          .execute();
      }
      return first;
    },

    async recordApproval(approval) {
      assertOpen();
      await db
        .insertInto('approvals')
        .values({
          job_id: approval.jobId,
          decision: approval.decision,
          by_login: approval.by,
          reason: approval.reason ?? null,
          at: approval.at,
        })
        .execute();
    },

    async approvalsFor(jobId) {
      assertOpen();
      const rows = await db
        .selectFrom('approvals')
        .select(['job_id', 'decision', 'by_login', 'reason', 'at'])
        .where('job_id', '=', jobId)
        .orderBy('seq', 'asc')
        .execute();
      return rows.map((raw) => {
        const row = ApprovalRowSchema.parse(raw);
        const approval: ApprovalRecord = {
          jobId: row.job_id,
          decision: row.decision,
          by: row.by_login,
          at: row.at,
        };
        if (row.reason !== null) approval.reason = row.reason;
        return approval;
      });
    },

    async audit(entry) {
      assertOpen();
      await db
        .insertInto('audit')
        .values({
          at: entry.at,
          actor: entry.actor,
          action: entry.action,
          target: entry.target,
          job_id: entry.jobId ?? null,
          detail: entry.detail ?? null,
        })
        .execute();
    },

    async auditLog(limit) {
      assertOpen();
      const count = clampLimit(limit);
      if (count === 0) return [];
      const rows = await db
        .selectFrom('audit')
        .select(['at', 'actor', 'action', 'target', 'job_id', 'detail'])
        .orderBy('seq', 'desc')
        .limit(count)
        .execute();
      return rows.map((row) => {
        const entry: AuditEntry = {
          at: row.at,
          actor: row.actor,
          action: row.action,
          target: row.target,
        };
        if (row.job_id !== null) entry.jobId = row.job_id;
        if (row.detail !== null) entry.detail = row.detail;
        return entry;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

function checkpointFromRow(row: {
  job_id: string;
  stage: string;
  value: string;
  saved_at: string;
}): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(row.value);
  } catch (error) {
    throw new Error(`store: checkpoint ${row.stage} of job ${row.job_id} is not JSON`, {
      cause: error,
    });
  }
  return { jobId: row.job_id, stage: row.stage, value, savedAt: row.saved_at };
}
