/**
 * The store's schema, as ordered Kysely migrations kept in code (nothing to find on disk at run
 * time), written once with Kysely's schema builder for SQLite and PostgreSQL. A migration never
 * changes after it ships: a new schema is a new entry at the end of the list.
 *
 * Conventions: timestamps are ISO-8601 text in both dialects (sortable, one code path); JSON is
 * text; every table whose rows are listed "in insertion order" has a `seq` column that grows with
 * each insert.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { errorText } from '../outcome.js';

export type SqlDialect = 'sqlite' | 'postgres';

/** Kysely's bookkeeping tables, named for us so they are recognisable beside other tools' tables. */
const MIGRATION_TABLE = 'ai_provision_migration';
const MIGRATION_LOCK_TABLE = 'ai_provision_migration_lock';
/** Two processes migrating one SQLite file at once: the loser's bookkeeping insert fails; retry. */
const MIGRATE_ATTEMPTS = 3;

// Migrations use Kysely<unknown>: the schema they build is not yet the Database type.
type SchemaDb = Kysely<unknown>;

/**
 * A table keyed by a column numbered in insertion order. Only a primary key may autoincrement in
 * SQLite, so there `seq` is the primary key and `key` (when given) is unique; PostgreSQL keeps
 * `key` as the primary key and numbers `seq` with a bigserial.
 */
function createSequencedTable(db: SchemaDb, dialect: SqlDialect, table: string, key?: string) {
  let builder = db.schema.createTable(table).ifNotExists();
  if (dialect === 'sqlite') {
    builder = builder.addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement());
    if (key !== undefined)
      builder = builder.addColumn(key, 'text', (col) => col.notNull().unique());
    return builder;
  }
  if (key !== undefined) {
    builder = builder.addColumn(key, 'text', (col) => col.primaryKey());
    return builder.addColumn('seq', 'bigserial', (col) => col.notNull().unique());
  }
  return builder.addColumn('seq', 'bigserial', (col) => col.primaryKey());
}

function initial(dialect: SqlDialect): Migration {
  return {
    async up(db: SchemaDb) {
      await createSequencedTable(db, dialect, 'jobs', 'id')
        .addColumn('dedupe_key', 'text', (col) => col.notNull().unique())
        .addColumn('kind', 'text', (col) => col.notNull())
        .addColumn('label', 'text', (col) => col.notNull())
        .addColumn('priority', 'text', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull())
        .addColumn('stage', 'text')
        .addColumn('lock_key', 'text', (col) => col.notNull())
        .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('runner', 'text')
        .addColumn('installation_id', 'bigint')
        // Lower-cased lookup keys (GitHub names are case-insensitive); `record` keeps the case.
        .addColumn('thread_owner', 'text')
        .addColumn('thread_repo', 'text')
        .addColumn('thread_issue', 'integer')
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        // JSON of the rest: request, thread, target, statusComment, checkRunId, pullRequest.
        .addColumn('record', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('jobs_state')
        .ifNotExists()
        .on('jobs')
        .columns(['state', 'created_at', 'seq'])
        .execute();
      await db.schema
        .createIndex('jobs_thread')
        .ifNotExists()
        .on('jobs')
        .columns(['thread_owner', 'thread_repo', 'thread_issue', 'created_at'])
        .execute();
      await db.schema
        .createIndex('jobs_created')
        .ifNotExists()
        .on('jobs')
        .columns(['created_at', 'seq'])
        .execute();

      await db.schema
        .createTable('checkpoints')
        .ifNotExists()
        .addColumn('job_id', 'text', (col) => col.notNull())
        .addColumn('stage', 'text', (col) => col.notNull())
        // Order of first save within the job; a replaced checkpoint keeps its place.
        .addColumn('seq', 'bigint', (col) => col.notNull())
        .addColumn('value', 'text', (col) => col.notNull())
        .addColumn('saved_at', 'text', (col) => col.notNull())
        .addPrimaryKeyConstraint('checkpoints_pk', ['job_id', 'stage'])
        .execute();

      await db.schema
        .createTable('deliveries')
        .ifNotExists()
        .addColumn('id', 'text', (col) => col.primaryKey())
        // Recency: raised on every sighting, so pruning forgets the least recently seen.
        .addColumn('seq', 'bigint', (col) => col.notNull())
        // Sightings; 1 means this call was the first.
        .addColumn('hits', 'integer', (col) => col.notNull())
        .addColumn('seen_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('deliveries_seq')
        .ifNotExists()
        .on('deliveries')
        .column('seq')
        .execute();

      await createSequencedTable(db, dialect, 'approvals')
        .addColumn('job_id', 'text', (col) => col.notNull())
        .addColumn('decision', 'text', (col) => col.notNull())
        .addColumn('by_login', 'text', (col) => col.notNull())
        .addColumn('reason', 'text')
        .addColumn('at', 'text', (col) => col.notNull())
        .execute();
      await db.schema
        .createIndex('approvals_job')
        .ifNotExists()
        .on('approvals')
        .columns(['job_id', 'seq'])
        .execute();

      await createSequencedTable(db, dialect, 'audit')
        .addColumn('at', 'text', (col) => col.notNull())
        .addColumn('actor', 'text', (col) => col.notNull())
        .addColumn('action', 'text', (col) => col.notNull())
        .addColumn('target', 'text', (col) => col.notNull())
        .addColumn('job_id', 'text')
        .addColumn('detail', 'text')
        .execute();
    },
  };
}

/** Every migration, oldest first (Kysely runs them in the alphabetical order of their names). */
export function storeMigrations(dialect: SqlDialect): Record<string, Migration> {
  return {
    '0001-initial': initial(dialect),
  };
}

export function createMigrationProvider(dialect: SqlDialect): MigrationProvider {
  return { getMigrations: async () => storeMigrations(dialect) };
}

/**
 * Brings the database to the latest schema; a database already there is left alone. Throws when a
 * migration fails. On PostgreSQL, Kysely serializes concurrent runs with an advisory lock (and
 * openStore holds another around the whole run); SQLite has no such lock across connections, so
 * every statement is idempotent (IF NOT EXISTS) and a run that lost the race is retried.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>, dialect: SqlDialect): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: createMigrationProvider(dialect),
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  let lastError: unknown;
  for (let attempt = 1; attempt <= MIGRATE_ATTEMPTS; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (error === undefined) return;
    lastError = error;
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    if (attempt === MIGRATE_ATTEMPTS) {
      const message = errorText(error);
      throw new Error(
        `store migration ${failed ?? '(before any migration)'} failed on ${dialect}: ${message}`,
        { cause: lastError },
      );
    }
  }
}
