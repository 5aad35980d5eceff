import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import {
  SQLITE_FILE_NAME,
  defaultDataDir,
  migrateToLatest,
  openStore,
} from '../../../src/store/index.js';
import type { Database, OpenedStore, Store } from '../../../src/store/index.js';
import { describeStoreContract, manualClock, newJob } from './contract.js';

let root: string;
let count = 0;
let lastDir: string | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ai-provision-store-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A new data directory under this file's temporary root (not created: openStore does that). */
function newDir(): string {
  count += 1;
  return join(root, `data-${count}`, 'nested');
}

async function openSqlite(dataDir: string, options = {}): Promise<Store> {
  const opened = await openStore({ dataDir }, options);
  if (opened.kind !== 'sqlite') throw new Error(`expected sqlite, got ${opened.kind}`);
  return opened.store;
}

describeStoreContract('sqlite', {
  open: async (options) => {
    lastDir = newDir();
    return openSqlite(lastDir, options);
  },
  openSibling: async (options) => openSqlite(lastDir!, options),
});

describe('store/open SQLite', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('creates the data directory and the database file in WAL mode', async () => {
    const dataDir = newDir();

    const opened = await openStore({ dataDir, databaseUrl: '  ' });
    stores.push(opened.store);

    expect(opened).toMatchObject({ kind: 'sqlite', path: join(dataDir, SQLITE_FILE_NAME) });
    const path = (opened as Extract<OpenedStore, { kind: 'sqlite' }>).path;
    expect(existsSync(path)).toBe(true);
    const raw = new BetterSqlite3(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('keeps every kind of record across close and open', async () => {
    const dataDir = newDir();
    const clock = manualClock();
    const before = await openSqlite(dataDir, { now: clock.now });
    const { job } = await before.createJob(newJob());
    await before.claimJob(job.id, 'host:1');
    await before.updateJob(job.id, { pullRequest: { number: 5, url: 'https://x/5' } });
    await before.saveCheckpoint(job.id, 'agent-1@abc', { cpu: 250 });
    await before.markDelivery('guid-1');
    await before.recordApproval({ jobId: job.id, decision: 'approve', by: 'alice', at: 'now' });
    await before.audit({ at: 'now', actor: 'app', action: 'queued', target: 'acme/shop' });
    const saved = await before.getJob(job.id);
    await before.close();

    const after = await openSqlite(dataDir, { now: clock.now });
    stores.push(after);

    expect(await after.getJob(job.id)).toEqual(saved);
    expect(saved).toMatchObject({ state: 'running', attempts: 1, pullRequest: { number: 5 } });
    expect((await after.loadCheckpoint(job.id, 'agent-1@abc'))?.value).toEqual({ cpu: 250 });
    expect(await after.markDelivery('guid-1')).toBe(false);
    expect(await after.approvalsFor(job.id)).toHaveLength(1);
    expect(await after.auditLog(5)).toHaveLength(1);
    expect((await after.createJob(newJob())).created).toBe(false);
  });

  it('migrates once: running the migrations again changes nothing', async () => {
    const dataDir = newDir();
    stores.push(await openSqlite(dataDir));
    const raw = new BetterSqlite3(join(dataDir, SQLITE_FILE_NAME));
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });

    await migrateToLatest(db, 'sqlite');
    await migrateToLatest(db, 'sqlite');

    const applied = raw.prepare('select name from ai_provision_migration').all();
    await db.destroy();
    expect(applied).toEqual([{ name: '0001-initial' }]);
  });

  it('opens one new data directory from four starts at once', async () => {
    const dataDir = newDir();

    const opened = await Promise.all(Array.from({ length: 4 }, () => openSqlite(dataDir)));
    stores.push(...opened);

    const created = await opened[0]!.createJob(newJob());
    expect(await opened[3]!.getJob(created.job.id)).toEqual(created.job);
  });

  it('reports a row that does not fit, with the job id, instead of returning it', async () => {
    const dataDir = newDir();
    const store = await openSqlite(dataDir);
    stores.push(store);
    const { job } = await store.createJob(newJob());
    const raw = new BetterSqlite3(join(dataDir, SQLITE_FILE_NAME));
    raw.prepare(`update jobs set record = '{"request": {}}' where id = ?`).run(job.id);
    raw.close();

    const act = store.getJob(job.id);

    await expect(act).rejects.toThrow(`store: job ${job.id} has an invalid record`);
  });

  it('refuses a patch that would store an invalid record, and keeps the old one', async () => {
    const store = await openSqlite(newDir());
    stores.push(store);
    const { job } = await store.createJob(newJob());

    const act = store.updateJob(job.id, { priority: 'URGENT' } as never);

    await expect(act).rejects.toThrow(`updateJob: the patch for job ${job.id} does not fit`);
    expect(await store.getJob(job.id)).toEqual(job);
  });

  it('names AI_PROVISION_DATA_DIR when the data directory cannot be created', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'not a directory');

    const act = openStore({ dataDir: join(file, 'data') });

    await expect(act).rejects.toThrow(
      /cannot open the SQLite store at .*a-file.*: set AI_PROVISION_DATA_DIR to a writable directory/,
    );
  });

  it('says so when the file is not a SQLite database', async () => {
    const dataDir = newDir();
    await openSqlite(dataDir).then((store) => store.close());
    await writeFile(join(dataDir, SQLITE_FILE_NAME), 'x'.repeat(4096));
    await rm(join(dataDir, `${SQLITE_FILE_NAME}-wal`), { force: true });
    await rm(join(dataDir, `${SQLITE_FILE_NAME}-shm`), { force: true });

    const act = openStore({ dataDir });

    await expect(act).rejects.toThrow(/is it a SQLite database\?/);
  });

  it('rejects a bad maxDeliveries', async () => {
    const act = openStore({ dataDir: newDir() }, { maxDeliveries: 0 });

    await expect(act).rejects.toThrow('maxDeliveries: expected a positive integer, got 0');
  });
});

describe('store/open defaultDataDir', () => {
  it.each<[NodeJS.ProcessEnv, string]>([
    [{ AI_PROVISION_DATA_DIR: '/srv/bot', HOME: '/home/a' }, '/srv/bot'],
    [{ AI_PROVISION_DATA_DIR: ' ', HOME: '/home/a' }, '/home/a/.ai-provision'],
    [{ HOME: '/home/a' }, '/home/a/.ai-provision'],
  ])('%j → %s', (env, expected) => {
    const dir = defaultDataDir(env);

    expect(dir).toBe(expected);
  });
});
