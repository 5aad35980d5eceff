/**
 * Opens the durable Store a bot process runs on: PostgreSQL when DATABASE_URL is set (several bot
 * instances and runners share it), else SQLite in the data directory (one host, nothing to run).
 * Both are migrated to the latest schema before the Store is handed out. SQLite is the embedded
 * default rather than PGlite because PGlite alone measured 761 MB RSS on first start and 330 MB
 * on reopen, above the 300 MB idle bound for the whole server.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import { createSqlStore, type Database } from './sql.js';
import type { Store } from './store.js';

export interface StoreLocation {
  /** postgres://user:password@host:5432/database; blank or absent = SQLite in `dataDir`. */
  databaseUrl?: string;
  /** Where the SQLite file lives (created when missing). */
  dataDir: string;
}

export type OpenedStore =
  { kind: 'sqlite'; path: string; store: Store } | { kind: 'postgres'; store: Store };

export interface OpenStoreOptions {
  /** Clock for the records' timestamps; default the system clock. */
  now?: () => Date;
  /** Webhook delivery ids to remember; default 10,000. */
  maxDeliveries?: number;
}

/** The SQLite file's name inside the data directory. */
export const SQLITE_FILE_NAME = 'ai-provision.db';

/** Connections per process; several processes share one server, so keep it modest. */
const POSTGRES_POOL_MAX = 10;
const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;
/** How long a start waits for another process's migration before giving up. */
const MIGRATION_LOCK_TIMEOUT_MS = 60_000;
/** pg_advisory_lock key for our migrations: any constant no other tool uses ("aiprov" in ASCII). */
const MIGRATION_LOCK_KEY = '97105112114111118';
/** How long a SQLite writer waits for another process's write before SQLITE_BUSY. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** AI_PROVISION_DATA_DIR when set, else ~/.ai-provision. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const configured = env.AI_PROVISION_DATA_DIR?.trim();
  if (configured) return configured;
  return join(env.HOME?.trim() || homedir(), '.ai-provision');
}

/**
 * PostgreSQL when `databaseUrl` is set, else SQLite at <dataDir>/ai-provision.db (directory
 * created, WAL mode, busy_timeout). Runs migrations. A bad DATABASE_URL (unparseable,
 * unreachable, login refused, no such database) or an unusable data directory rejects with an
 * Error that names the setting and how to fix it, never the password. The Store's close()
 * closes the pool or the file.
 */
export async function openStore(
  location: StoreLocation,
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  const databaseUrl = location.databaseUrl?.trim();
  if (databaseUrl) return { kind: 'postgres', store: await openPostgres(databaseUrl, options) };
  const path = join(location.dataDir, SQLITE_FILE_NAME);
  return { kind: 'sqlite', path, store: await openSqlite(location.dataDir, path, options) };
}

async function openSqlite(
  dataDir: string,
  path: string,
  options: OpenStoreOptions,
): Promise<Store> {
  let database: BetterSqlite3.Database;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    database = new BetterSqlite3(path);
  } catch (error) {
    throw new Error(
      `cannot open the SQLite store at ${path} (${describeError(error)}): set AI_PROVISION_DATA_DIR ` +
        'to a writable directory, or DATABASE_URL to use PostgreSQL',
      { cause: error },
    );
  }
  try {
    // busy_timeout first (switching to WAL takes a lock too): a second process waits for the
    // write lock instead of failing at once. WAL lets readers (the status command) run beside
    // the bot's writes.
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma('journal_mode = WAL');
    // WAL + NORMAL never corrupts the file; a power cut may lose the last few commits.
    database.pragma('synchronous = NORMAL');
  } catch (error) {
    database.close();
    throw new Error(
      `cannot use ${path} as the SQLite store (${describeError(error)}): is it a SQLite ` +
        'database? Move it away, or set AI_PROVISION_DATA_DIR to another directory',
      { cause: error },
    );
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  try {
    await migrateToLatest(db, 'sqlite');
    return createSqlStore(db, options);
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/** What a message may show of a PostgreSQL URL: everything but the password. */
interface PostgresTarget {
  user: string;
  /** host:port/database */
  where: string;
  database: string;
  password: string;
}

function parsePostgresUrl(databaseUrl: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    // The URL may hold a password, so the message never repeats it.
    throw new Error(
      'DATABASE_URL is not a valid URL: expected postgres://USER:PASSWORD@HOST:5432/DATABASE ' +
        '(percent-encode special characters in the password), or unset DATABASE_URL to use SQLite',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(
      `DATABASE_URL must start with postgres:// or postgresql://, got ${url.protocol}//…: ` +
        'expected postgres://USER:PASSWORD@HOST:5432/DATABASE, or unset DATABASE_URL to use SQLite',
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  return {
    user: decodeURIComponent(url.username) || '(default user)',
    where: `${host}:${url.port || '5432'}/${database}`,
    database,
    password: decodeURIComponent(url.password),
  };
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Turns a connection error into a message naming DATABASE_URL and the fix. */
function postgresConnectMessage(error: unknown, target: PostgresTarget): string {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = describeError(error);
  let message: string;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    message =
      `DATABASE_URL: cannot reach PostgreSQL at ${target.where} (${detail}): check the host and ` +
      'port in DATABASE_URL, and that the server is running and accepts connections from here';
  } else if (code === '28P01' || code === '28000') {
    message =
      `DATABASE_URL: PostgreSQL at ${target.where} refused the login of user ${target.user} ` +
      `(${detail}): check the user and password in DATABASE_URL (percent-encode special ` +
      'characters) and the server’s pg_hba.conf';
  } else if (code === '3D000') {
    message =
      `DATABASE_URL: database ${target.database} does not exist on ${target.where}: create it ` +
      `(CREATE DATABASE ${target.database}) or fix the database name at the end of DATABASE_URL`;
  } else if (/timeout/i.test(detail)) {
    message =
      `DATABASE_URL: no answer from PostgreSQL at ${target.where} within ` +
      `${POSTGRES_CONNECT_TIMEOUT_MS / 1000} s (${detail}): check the host and port in ` +
      'DATABASE_URL and that a firewall lets the connection through';
  } else {
    message = `DATABASE_URL: cannot connect to PostgreSQL at ${target.where} (${detail}): check DATABASE_URL`;
  }
  // Belt and braces: no driver message should contain the password, but never pass one on.
  return target.password.length >= 3 ? message.replaceAll(target.password, '***') : message;
}

async function openPostgres(databaseUrl: string, options: OpenStoreOptions): Promise<Store> {
  const target = parsePostgresUrl(databaseUrl);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: POSTGRES_POOL_MAX,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
  });
  // An idle connection the server drops (restart, failover) is reported here; without a listener
  // it would crash the process. The pool discards that client and the next query reconnects.
  pool.on('error', () => undefined);

  let lockClient: pg.PoolClient;
  try {
    lockClient = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new Error(postgresConnectMessage(error, target), { cause: error });
  }

  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateUnderLock(lockClient, db);
    return createSqlStore(db, options);
  } catch (error) {
    await db.destroy();
    // Kysely ends the pool only once it has used it; a failure before that leaves it to us.
    if (!pool.ending) await pool.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Several bots and runners may start at once on a new database: one migrates while the others
 * wait for the session advisory lock (at most MIGRATION_LOCK_TIMEOUT_MS), then find nothing left
 * to do. The lock client is destroyed afterwards rather than pooled: it carries a lock_timeout.
 */
async function migrateUnderLock(lockClient: pg.PoolClient, db: Kysely<Database>): Promise<void> {
  try {
    await lockClient.query(`SELECT set_config('lock_timeout', $1, false)`, [
      String(MIGRATION_LOCK_TIMEOUT_MS),
    ]);
    await lockClient.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      await migrateToLatest(db, 'postgres');
    } finally {
      await lockClient.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    lockClient.release(true);
  }
}

function describeError(error: unknown): string {
  // Duck-typed: errors from Node's own modules may come from another realm (instanceof fails).
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
    const text = typeof message === 'string' && message !== '' ? message : String(name);
    return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
  }
  return String(error);
}
