import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import {
  formatJobDetail,
  formatJobsTable,
  humanAge,
  parseLimit,
  parseStates,
  registerStatusCommand,
  type StatusDeps,
} from '../../src/cli-status.js';
import {
  defaultDataDir,
  openStore,
  type OpenedStore,
  type StoreLocation,
} from '../../src/store/open.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { JobRecord, NewJob, Store } from '../../src/store/store.js';

const START = Date.parse('2025-03-01T12:00:00.000Z');
const NOW = new Date(START + 3_600_000);

/** A clock the test moves by hand. */
function manualClock(): { now: () => Date; advance: (ms: number) => void } {
  let at = START;
  return { now: () => new Date(at), advance: (ms) => (at += ms) };
}

function newJob(n: number, overrides: Partial<NewJob> = {}): NewJob {
  return {
    dedupeKey: `comment:acme/shop#${n}`,
    request: {
      gitRepo: 'https://github.com/acme/shop',
      appDescription: 'A small web shop with about 50 requests per second.',
      target: 'kubernetes',
      origin: { kind: 'comment', requestedBy: 'octocat', repository: 'acme/shop', issueNumber: n },
    },
    lockKey: 'acme/shop@main',
    installationId: 42,
    thread: { owner: 'acme', repo: 'shop', issueNumber: n, isPullRequest: false },
    ...overrides,
  };
}

function record(overrides: Partial<JobRecord> = {}): JobRecord {
  const { dedupeKey, request, lockKey } = newJob(1);
  return {
    id: 'job-0123456789ab',
    kind: 'provision',
    label: 'llm',
    priority: 'NORMAL',
    attempts: 1,
    dedupeKey,
    state: 'running',
    stage: 'agent-2',
    request,
    lockKey,
    createdAt: '2025-03-01T12:00:00.000Z',
    updatedAt: '2025-03-01T12:00:00.000Z',
    ...overrides,
  };
}

/** A memory store with three jobs created a minute apart: done with a PR, failed, queued. */
async function seededStore(): Promise<{ store: Store; ids: string[] }> {
  const clock = manualClock();
  const store = createMemoryStore({ now: clock.now });
  const ids: string[] = [];
  for (let n = 1; n <= 3; n++) {
    ids.push((await store.createJob(newJob(n, { label: n === 2 ? 'exec' : 'llm' }))).job.id);
    clock.advance(60_000);
  }
  await store.updateJob(ids[0]!, {
    state: 'done',
    stage: 'opening-pr',
    attempts: 1,
    pullRequest: { number: 12, url: 'https://github.com/acme/shop/pull/12' },
  });
  await store.updateJob(ids[1]!, {
    state: 'failed',
    stage: 'cloning',
    attempts: 3,
    error: { code: 'clone-failed', message: 'remote hung up' },
  });
  return { store, ids };
}

interface Run {
  out: string;
  err: string;
  exitCode: number | undefined;
  locations: StoreLocation[];
  closed: number;
}

/** Runs `ai-provision status <args>` with a memory store behind a fake openStore. */
async function runStatus(
  args: string[],
  options: {
    store?: Store;
    env?: NodeJS.ProcessEnv;
    opened?: (store: Store) => OpenedStore;
    openStore?: StatusDeps['openStore'];
  } = {},
): Promise<Run> {
  const run: Run = { out: '', err: '', exitCode: undefined, locations: [], closed: 0 };
  const store = options.store ?? createMemoryStore();
  const closing: Store = {
    ...store,
    // Counted, not closed: the test owns the store and reads it again afterwards.
    close: () => {
      run.closed++;
      return Promise.resolve();
    },
  };
  const opened =
    options.opened ??
    ((s: Store): OpenedStore => ({ kind: 'sqlite', path: '/data/ai.db', store: s }));
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (run.out += s), writeErr: (s) => (run.err += s) });
  registerStatusCommand(program, {
    openStore:
      options.openStore ??
      ((location) => {
        run.locations.push(location);
        return Promise.resolve(opened(closing));
      }),
    env: options.env ?? { HOME: '/home/u' },
    out: (s) => (run.out += s),
    err: (s) => (run.err += s),
    now: () => NOW,
  });

  process.exitCode = undefined;
  try {
    await program.parseAsync(['status', ...args], { from: 'user' });
    run.exitCode = typeof process.exitCode === 'number' ? process.exitCode : undefined;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    run.exitCode = error.exitCode;
  } finally {
    process.exitCode = undefined;
  }
  return run;
}

describe('cli-status', () => {
  describe('humanAge', () => {
    it.each([
      [-5_000, '<invalid>'],
      [-500, '0s'],
      [0, '0s'],
      [59_000, '59s'],
      [119_999, '119s'],
      [120_000, '2m'],
      [330_000, '5m30s'],
      [45 * 60_000, '45m'],
      [3 * 3_600_000 + 12 * 60_000, '3h12m'],
      [8 * 3_600_000 + 59 * 60_000, '8h'],
      [52 * 3_600_000, '2d4h'],
      [40 * 86_400_000, '40d'],
      [(2 * 365 + 3) * 86_400_000, '2y3d'],
      [9 * 365 * 86_400_000, '9y'],
    ])('prints %d ms as %s, like kubectl', (ms, expected) => {
      expect(humanAge(ms)).toBe(expected);
    });
  });

  describe('parseStates and parseLimit', () => {
    it.each([
      ['queued', ['queued']],
      ['queued, running', ['queued', 'running']],
      ['failed,failed,done', ['failed', 'done']],
    ])('accepts %j', (value, states) => {
      expect(parseStates(value)).toEqual({ kind: 'ok', states });
    });

    it.each([
      ['bogus', '"bogus"'],
      ['queued,finished,x', '"finished", "x"'],
      [' , ', 'an empty list'],
    ])('rejects %j, naming what was wrong and every valid state', (value, got) => {
      const parsed = parseStates(value);

      expect(parsed.kind).toBe('invalid');
      const message = parsed.kind === 'invalid' ? parsed.message : '';
      expect(message).toContain(`got ${got}`);
      expect(message).toContain('queued, running, done, refused, failed, cancelled');
    });

    it.each([
      ['1', 1],
      ['20', 20],
      [' 1000 ', 1000],
      ['0', undefined],
      ['1001', undefined],
      ['-3', undefined],
      ['2.5', undefined],
      ['ten', undefined],
      ['', undefined],
    ])('reads --limit %j as %s', (value, expected) => {
      expect(parseLimit(value)).toBe(expected);
    });
  });

  describe('formatJobsTable', () => {
    it('prints a header and one aligned row per job, in the given order', () => {
      const jobs = [
        record({
          id: 'job-aaaaaaaaaaaa',
          state: 'done',
          stage: 'opening-pr',
          lockKey: 'acme/shop@main',
          pullRequest: { number: 12, url: 'https://github.com/acme/shop/pull/12' },
          createdAt: '2025-03-01T12:55:00.000Z',
        }),
        record({
          id: 'job-bbbbbbbbbbbb',
          state: 'queued',
          stage: undefined,
          label: 'llm_heavy',
          attempts: 0,
          lockKey: 'acme/a-much-longer-repository-name@feature/x',
          createdAt: '2025-03-01T10:00:00.000Z',
        }),
      ];

      const lines = formatJobsTable(jobs, NOW).split('\n');

      expect(lines).toHaveLength(4);
      expect(lines[3]).toBe('');
      expect(lines[0]!.split(/\s{3,}/)).toEqual([
        'JOB',
        'STATE',
        'STAGE',
        'REPO@BRANCH',
        'LABEL',
        'ATTEMPTS',
        'AGE',
        'PR/ERROR',
      ]);
      expect(lines[1]!.split(/\s{3,}/)).toEqual([
        'job-aaaaaaaaaaaa',
        'done',
        'opening-pr',
        'acme/shop@main',
        'llm',
        '1',
        '5m',
        'https://github.com/acme/shop/pull/12',
      ]);
      expect(lines[2]!.split(/\s{3,}/)).toEqual([
        'job-bbbbbbbbbbbb',
        'queued',
        '-',
        'acme/a-much-longer-repository-name@feature/x',
        'llm_heavy',
        '0',
        '3h',
        '-',
      ]);
      // Every column starts at the same offset on every line.
      for (const column of ['STATE', 'LABEL', 'AGE', 'PR/ERROR']) {
        const at = lines[0]!.search(new RegExp(`(?<= )${column}(?= |$)`));
        expect(lines[1]![at - 1]).toBe(' ');
        expect(lines[1]![at]).not.toBe(' ');
        expect(lines[2]![at]).not.toBe(' ');
      }
      expect(lines.every((line) => line === line.trimEnd())).toBe(true);
    });

    it('shows the error code and message on one line, cut to keep the table readable', () => {
      const job = record({
        state: 'failed',
        error: { code: 'clone-failed', message: `line one\nline two ${'x'.repeat(200)}` },
      });

      const row = formatJobsTable([job], NOW).split('\n')[1]!;

      expect(row).toContain('clone-failed: line one line two xxx');
      expect(row.endsWith('…')).toBe(true);
      expect(row.length).toBeLessThan(200);
    });

    it('never lets stored text repaint the terminal', () => {
      const job = record({
        stage: 'agent-1\u001b[2J\u001b[31m',
        error: { code: 'x', message: 'red\u001b[0m\rback\u202espoof' },
      });

      const table = formatJobsTable([job], NOW);

      expect(table.replaceAll('\n', '')).not.toMatch(/[\p{Cc}\u202e]/u);
      expect(table).toContain('agent-1');
      expect(table).toContain('x: red back spoof');
    });
  });

  describe('formatJobDetail', () => {
    it('prints the record, its checkpointed stages and its approvals', () => {
      const detail = {
        job: record({
          state: 'failed',
          runner: 'host-1:123',
          thread: { owner: 'acme', repo: 'shop', issueNumber: 7, isPullRequest: true },
          error: { code: 'internal', message: 'boom' },
        }),
        checkpoints: [
          { stage: 'agent-1@abc123', savedAt: '2025-03-01T12:01:00.000Z' },
          { stage: 'agent-2@abc123', savedAt: '2025-03-01T12:02:00.000Z' },
        ],
        approvals: [
          { jobId: 'job-0123456789ab', decision: 'approve' as const, by: 'alice', at: 'T1' },
          {
            jobId: 'job-0123456789ab',
            decision: 'reject' as const,
            by: 'bob',
            reason: 'too big',
            at: 'T2',
          },
        ],
      };

      const text = formatJobDetail(detail, NOW);

      expect(text).toMatch(/^Job: +job-0123456789ab$/m);
      expect(text).toMatch(/^State: +failed$/m);
      expect(text).toMatch(/^Runner: +host-1:123$/m);
      expect(text).toMatch(/^Thread: +acme\/shop#7 \(pull request\)$/m);
      expect(text).toMatch(/^Requested by: +octocat \(comment on acme\/shop#1\)$/m);
      expect(text).toMatch(/^Created: +2025-03-01T12:00:00.000Z \(60m ago\)$/m);
      expect(text).toMatch(/^Error: +internal: boom$/m);
      expect(text).not.toMatch(/^Finished:/m);
      expect(text).toContain(
        'Checkpoints:\n  agent-1@abc123   2025-03-01T12:01:00.000Z\n  agent-2@abc123   2025-03-01T12:02:00.000Z\n',
      );
      expect(text).toContain(
        'Approvals:\n  approve by alice at T1\n  reject by bob at T2: too big\n',
      );
    });

    it('says (none) when there are no checkpoints or approvals', () => {
      const text = formatJobDetail({ job: record(), checkpoints: [], approvals: [] }, NOW);

      expect(text).toContain('Checkpoints:\n  (none)\nApprovals:\n  (none)\n');
    });
  });

  describe('registerStatusCommand', () => {
    it('says where it looked when the store is empty (SQLite path)', async () => {
      const run = await runStatus([]);

      expect(run.out).toBe('No jobs yet in /data/ai.db.\n');
      expect(run.err).toBe('');
      expect(run.exitCode).toBe(0);
      expect(run.closed).toBe(1);
    });

    it('says PostgreSQL when DATABASE_URL is set, and passes it to openStore', async () => {
      const env = {
        DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/bot',
        AI_PROVISION_DATA_DIR: '/d',
      };

      const run = await runStatus([], { env, opened: (store) => ({ kind: 'postgres', store }) });

      expect(run.out).toBe('No jobs yet in PostgreSQL (DATABASE_URL).\n');
      expect(run.locations).toEqual([
        { databaseUrl: 'postgres://u:p@127.0.0.1:5432/bot', dataDir: '/d' },
      ]);
    });

    it('opens SQLite in AI_PROVISION_DATA_DIR, else in the default data directory', async () => {
      const withDir = await runStatus([], {
        env: { AI_PROVISION_DATA_DIR: '/srv/bot', DATABASE_URL: '' },
      });
      const env = { HOME: '/home/someone' };
      const withoutDir = await runStatus([], { env });

      expect(withDir.locations).toEqual([{ dataDir: '/srv/bot' }]);
      expect(withoutDir.locations).toEqual([{ dataDir: defaultDataDir(env) }]);
    });

    it('lists the newest jobs first as a table', async () => {
      const { store, ids } = await seededStore();

      const run = await runStatus([], { store });

      const lines = run.out.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^JOB +STATE +STAGE +REPO@BRANCH +LABEL +ATTEMPTS +AGE +PR\/ERROR$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([ids[2], ids[1], ids[0]]);
      expect(lines[1]).toMatch(/ queued +- +acme\/shop@main +llm +0 +58m +-$/);
      expect(lines[2]).toMatch(
        / failed +cloning +acme\/shop@main +exec +3 +59m +clone-failed: remote hung up$/,
      );
      expect(lines[3]).toMatch(
        / done +opening-pr .* 60m +https:\/\/github.com\/acme\/shop\/pull\/12$/,
      );
      expect(run.exitCode).toBe(0);
    });

    it('honours --limit and --state', async () => {
      const { store, ids } = await seededStore();

      const limited = await runStatus(['--limit', '2'], { store });
      const failedOrDone = await runStatus(['--state', 'failed,done', '--json'], { store });

      expect(limited.out.trimEnd().split('\n')).toHaveLength(3);
      const jobs = JSON.parse(failedOrDone.out) as JobRecord[];
      expect(jobs.map((j) => j.id)).toEqual([ids[1], ids[0]]);
    });

    it('says so when no job is in the asked states', async () => {
      const { store } = await seededStore();

      const run = await runStatus(['--state', 'running,cancelled'], { store });

      expect(run.out).toBe('No running or cancelled jobs in /data/ai.db.\n');
      expect(run.exitCode).toBe(0);
    });

    it('prints the JobRecords as JSON with --json', async () => {
      const { store, ids } = await seededStore();
      const expected = await Promise.all([ids[2]!, ids[1]!, ids[0]!].map((id) => store.getJob(id)));

      const run = await runStatus(['--json'], { store });

      expect(JSON.parse(run.out)).toEqual(expected);
    });

    it('prints [] as JSON when there are no jobs', async () => {
      const run = await runStatus(['--json']);

      expect(JSON.parse(run.out)).toEqual([]);
    });

    it('shows one job in detail with --job, as text or JSON', async () => {
      const { store, ids } = await seededStore();
      await store.saveCheckpoint(ids[1]!, 'agent-1@abc', { big: 'x'.repeat(1000) });
      await store.recordApproval({ jobId: ids[1]!, decision: 'reject', by: 'alice', at: 'T' });

      const text = await runStatus(['--job', ids[1]!], { store });
      const json = await runStatus(['--job', ids[1]!, '--json'], { store });

      expect(text.out).toMatch(new RegExp(`^Job: +${ids[1]!}$`, 'm'));
      expect(text.out).toMatch(/^Error: +clone-failed: remote hung up$/m);
      expect(text.out).toMatch(/^ {2}agent-1@abc {3}\S+$/m);
      expect(text.out).toContain('  reject by alice at T\n');
      const detail = JSON.parse(json.out) as Record<string, unknown>;
      expect(detail).toEqual({
        job: await store.getJob(ids[1]!),
        checkpoints: [{ stage: 'agent-1@abc', savedAt: expect.any(String) }],
        approvals: [{ jobId: ids[1], decision: 'reject', by: 'alice', at: 'T' }],
      });
      expect(json.out).not.toContain('xxxx');
    });

    it('fails with exit code 1 for an unknown --job, and still closes the store', async () => {
      const run = await runStatus(['--job', 'job-ffffffffffff']);

      expect(run.out).toBe('');
      expect(run.err).toBe('error: no job "job-ffffffffffff" in /data/ai.db.\n');
      expect(run.exitCode).toBe(1);
      expect(run.closed).toBe(1);
    });

    it.each([
      [
        ['--state', 'finished'],
        /expected job states from queued, running, done, refused, failed, cancelled.*got "finished"/,
      ],
      [['--limit', '0'], /expected a whole number from 1 to 1000, got "0"/],
      [['--limit', 'many'], /expected a whole number from 1 to 1000, got "many"/],
    ])('rejects %j before opening the store, with exit code 1', async (args, message) => {
      const run = await runStatus(args);

      expect(run.err).toMatch(message);
      expect(run.exitCode).toBe(1);
      expect(run.locations).toEqual([]);
    });

    it('prints why the store could not be opened, with exit code 1', async () => {
      const run = await runStatus([], {
        openStore: () =>
          Promise.reject(
            new Error('DATABASE_URL: could not connect to 127.0.0.1:1; is PostgreSQL running?'),
          ),
      });

      expect(run.err).toBe(
        'error: DATABASE_URL: could not connect to 127.0.0.1:1; is PostgreSQL running?\n',
      );
      expect(run.out).toBe('');
      expect(run.exitCode).toBe(1);
    });

    it('prints a read failure with exit code 1 and closes the store', async () => {
      const store = createMemoryStore();
      const broken: Store = {
        ...store,
        recentJobs: () => Promise.reject(new Error('database disk image is malformed')),
      };

      const run = await runStatus([], { store: broken });

      expect(run.err).toBe(
        'error: could not read jobs from /data/ai.db: database disk image is malformed\n',
      );
      expect(run.exitCode).toBe(1);
      expect(run.closed).toBe(1);
    });
  });
  describe('registerStatusCommand with the real openStore', () => {
    let dataDir: string;

    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'ai-provision-status-'));
    });

    afterEach(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('reads the SQLite store the bot wrote in AI_PROVISION_DATA_DIR', async () => {
      const writer = await openStore({ dataDir });
      const { job } = await writer.store.createJob(newJob(1));
      await writer.store.close();

      const empty = await runStatus(['--state', 'failed'], {
        openStore,
        env: { AI_PROVISION_DATA_DIR: dataDir },
      });
      const run = await runStatus([], { openStore, env: { AI_PROVISION_DATA_DIR: dataDir } });

      expect(empty.out).toBe(`No failed jobs in ${join(dataDir, 'ai-provision.db')}.\n`);
      expect(run.out).toMatch(new RegExp(`^${job.id} +queued +- +acme/shop@main +llm +0 `, 'm'));
      expect(run.exitCode).toBe(0);
    });

    it.each([
      ['an unparseable DATABASE_URL', 'not a url', /DATABASE_URL is not a valid URL/],
      [
        'an unreachable PostgreSQL',
        'postgres://bot:hunter2secret@127.0.0.1:1/bot',
        /DATABASE_URL: cannot reach PostgreSQL at 127\.0\.0\.1:1\/bot/,
      ],
    ])(
      'prints what is wrong with %s, without the password, exit code 1',
      async (_what, url, message) => {
        const run = await runStatus([], {
          openStore,
          env: { DATABASE_URL: url, AI_PROVISION_DATA_DIR: dataDir },
        });

        expect(run.err).toMatch(/^error: /);
        expect(run.err).toMatch(message);
        expect(run.err).not.toContain('hunter2secret');
        expect(run.out).toBe('');
        expect(run.exitCode).toBe(1);
      },
    );
  });
});
