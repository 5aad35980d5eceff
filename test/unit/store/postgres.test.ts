import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { freePort, startPostgres, type PostgresServer } from '../../../src/bench/servers.js';
import { migrateToLatest, openStore } from '../../../src/store/index.js';
import type { Database, Store } from '../../../src/store/index.js';
import { describeStoreContract, manualClock, newJob } from './contract.js';

let server: PostgresServer;
/** The database the contract suite runs on; emptied before each store it opens. */
let contractUrl: string;
let admin: pg.Client;
let databases = 0;

/** A data directory that must never be created: with DATABASE_URL set, SQLite is not used. */
const unusedDataDir = join(tmpdir(), 'ai-provision-store-pg-unused');

beforeAll(async () => {
  server = await startPostgres();
  contractUrl = await server.createDatabase('store_contract');
  admin = new pg.Client({ connectionString: contractUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

async function openPostgres(databaseUrl: string, options = {}): Promise<Store> {
  const opened = await openStore({ databaseUrl, dataDir: unusedDataDir }, options);
  if (opened.kind !== 'postgres') throw new Error(`expected postgres, got ${opened.kind}`);
  return opened.store;
}

async function newDatabase(): Promise<string> {
  databases += 1;
  return server.createDatabase(`store_${databases}`);
}

describeStoreContract('postgres', {
  open: async (options) => {
    const store = await openPostgres(contractUrl, options);
    await admin.query('TRUNCATE jobs, checkpoints, deliveries, approvals, audit RESTART IDENTITY');
    return store;
  },
  openSibling: async (options) => openPostgres(contractUrl, options),
});

describe('store/open PostgreSQL', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('uses DATABASE_URL and leaves the data directory alone', async () => {
    const url = await newDatabase();

    const opened = await openStore({ databaseUrl: url, dataDir: unusedDataDir });
    stores.push(opened.store);

    expect(opened.kind).toBe('postgres');
    expect(existsSync(unusedDataDir)).toBe(false);
  });

  it('keeps every kind of record across close and open', async () => {
    const url = await newDatabase();
    const clock = manualClock();
    const before = await openPostgres(url, { now: clock.now });
    const { job } = await before.createJob(newJob({ installationId: 3_000_000_000 }));
    await before.claimJob(job.id, 'host:1');
    await before.updateJob(job.id, { pullRequest: { number: 5, url: 'https://x/5' } });
    await before.saveCheckpoint(job.id, 'agent-1@abc', { cpu: 250 });
    await before.markDelivery('guid-1');
    await before.recordApproval({ jobId: job.id, decision: 'approve', by: 'alice', at: 'now' });
    await before.audit({ at: 'now', actor: 'app', action: 'queued', target: 'acme/shop' });
    const saved = await before.getJob(job.id);
    await before.close();

    const after = await openPostgres(url, { now: clock.now });
    stores.push(after);

    expect(await after.getJob(job.id)).toEqual(saved);
    // A bigint column comes back from pg as a string; the store turns it back into a number.
    expect(saved).toMatchObject({ state: 'running', attempts: 1, installationId: 3_000_000_000 });
    expect((await after.loadCheckpoint(job.id, 'agent-1@abc'))?.value).toEqual({ cpu: 250 });
    expect(await after.markDelivery('guid-1')).toBe(false);
    expect(await after.approvalsFor(job.id)).toHaveLength(1);
    expect(await after.auditLog(5)).toHaveLength(1);
    expect(await after.countJobs()).toEqual([{ state: 'running', label: 'llm', count: 1 }]);
  });

  it('migrates once: opening again and running the migrations again change nothing', async () => {
    const url = await newDatabase();
    stores.push(await openPostgres(url));
    stores.push(await openPostgres(url));
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
    });

    await migrateToLatest(db, 'postgres');

    await db.destroy();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const applied = await client.query('select name from ai_provision_migration');
    await client.end();
    expect(applied.rows).toEqual([{ name: '0001-initial' }]);
  });

  it('opens one new database from four starts at once (bots and runners starting together)', async () => {
    const url = await newDatabase();

    const opened = await Promise.all(Array.from({ length: 4 }, () => openPostgres(url)));
    stores.push(...opened);

    const created = await opened[0]!.createJob(newJob());
    expect(await opened[3]!.getJob(created.job.id)).toEqual(created.job);
  });

  it('reports a row that does not fit, with the job id, instead of returning it', async () => {
    const url = await newDatabase();
    const store = await openPostgres(url);
    stores.push(store);
    const { job } = await store.createJob(newJob());
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`update jobs set state = 'lost' where id = $1`, [job.id]);
    await client.end();

    const act = store.recentJobs(10);

    await expect(act).rejects.toThrow(`store: job ${job.id} has an invalid row`);
  });
});

describe('store/open a bad DATABASE_URL', () => {
  const password = 's3cret-pw';

  it.each<[string, () => Promise<string>, RegExp]>([
    ['an unparseable URL', async () => `not a url ${password}`, /DATABASE_URL is not a valid URL/],
    [
      'another scheme',
      async () => `mysql://bot:${password}@127.0.0.1/app`,
      /DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/, got mysql:/,
    ],
    [
      'a port nothing listens on',
      async () => `postgres://bot:${password}@127.0.0.1:${await freePort()}/app`,
      /DATABASE_URL: cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/app \(connect ECONNREFUSED .*check the host and port/,
    ],
    [
      'a user the server does not know',
      async () => `postgres://nobody:${password}@127.0.0.1:${server.port}/postgres`,
      /DATABASE_URL: PostgreSQL at 127\.0\.0\.1:\d+\/postgres refused the login of user nobody .*check the user and password/,
    ],
    [
      'a database that does not exist',
      async () => `postgres://postgres:${password}@127.0.0.1:${server.port}/missing_db`,
      /DATABASE_URL: database missing_db does not exist on .*: create it \(CREATE DATABASE missing_db\)/,
    ],
  ])('names the setting and the fix for %s, without the password', async (_name, url, expected) => {
    const databaseUrl = await url();

    const error = await openStore({ databaseUrl, dataDir: unusedDataDir }).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );

    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(expected);
    expect(error!.message).not.toContain(password);
  });
});
