/**
 * `ai-provision runners list|add|remove` through the real adapters: the proxmox-api client against
 * the fake Proxmox VE API on loopback, the queue on a real redis-server. A guest that the fake
 * starts boots what a real runner guest boots: a runner (startRunner) with the id and token from
 * its cloud-init snippet, which registers, takes jobs, and leaves when asked to drain.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  startFakeProxmoxApi,
  type FakeGuest,
  type FakeProxmox,
  type RecordedRequest,
} from '../../src/bench/fake-proxmox-api.js';
import { startRedis, type RedisServer } from '../../src/bench/servers.js';
import {
  formatRunners,
  formatUptime,
  parseRunnerRef,
  registerRunnersCommand,
  runnersView,
} from '../../src/cli-runners.js';
import { DEFAULT_POOL_SETTINGS, type JobHandler } from '../../src/pool/queue.js';
import {
  createRedisQueue,
  startRunner,
  type RedisQueue,
  type Runner,
} from '../../src/pool/redis.js';
import { RUNNER_TAG } from '../../src/proxmox/settings.js';
import { bootToken } from '../support/runner-boot.js';
import { delay, waitFor } from '../support/timing.js';

const TOKEN_ID = 'ai-provision@pve!runners';
const TOKEN_SECRET = '4a2b6c1e-9d3f-4e5a-8b7c-0d1e2f3a4b5c';
const TEMPLATE = 9000;
const PAYMENTS_DB = 150;
const HAND_TAGGED = 151;
const SETTINGS = { ...DEFAULT_POOL_SETTINGS, cpuThreshold: undefined };

interface Ran {
  out: string;
  err: string;
  code: number;
}

describe('ai-provision runners', () => {
  let redis: RedisServer;
  let fake: FakeProxmox;
  let snippetsDir: string;
  let prefix: string;
  let producer: RedisQueue;
  /** The runner process of each booted guest, by guest name. */
  const booted = new Map<string, Runner>();
  /** Jobs hold until released; a finished job's id is recorded with the time it ended. */
  let release: () => void = () => undefined;
  let held: Promise<void>;
  const finished: { id: string; runner: string; at: number }[] = [];
  /** When each guest was stopped (the fake's stop task completed). */
  const stopped = new Map<string, number>();

  const holdJobs: (runnerId: string) => JobHandler = (runnerId) => async (job) => {
    await held;
    finished.push({ id: job.id, runner: runnerId, at: Date.now() });
  };

  function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const base: Record<string, string | undefined> = {
      PROXMOX_URL: fake.url,
      PROXMOX_TOKEN_ID: TOKEN_ID,
      PROXMOX_TOKEN_SECRET: TOKEN_SECRET,
      AI_PROVISION_PROXMOX_TEMPLATE: String(TEMPLATE),
      AI_PROVISION_PROXMOX_SNIPPETS: `shared:${snippetsDir}`,
      AI_PROVISION_PROXMOX_RUNNER_LABELS: 'exec',
      AI_PROVISION_AUTOSCALE_MAX: '2',
      AI_PROVISION_AUTOSCALE_BOOT_TIMEOUT_MS: '30000',
      REDIS_URL: redis.url,
      AI_PROVISION_QUEUE_PREFIX: prefix,
      ...extra,
    };
    return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined));
  }

  async function run(
    args: string[],
    extraEnv: Record<string, string | undefined> = {},
  ): Promise<Ran> {
    const result: Ran = { out: '', err: '', code: 0 };
    const program = new Command().exitOverride();
    registerRunnersCommand(program, {
      env: env(extraEnv),
      out: (s) => (result.out += s),
      err: (s) => (result.err += s),
      exit: (code) => (result.code = code),
    });
    await program.parseAsync(['runners', ...args], { from: 'user' });
    return result;
  }

  const changes = (request: RecordedRequest): boolean => request.method !== 'GET';
  const destructive = (request: RecordedRequest): boolean =>
    request.method === 'DELETE' || /\/status\/(stop|shutdown)$/.test(request.path);

  async function bootRunner(guest: FakeGuest): Promise<void> {
    const token = await bootToken(guest, snippetsDir);
    if (token === undefined) return;
    const runner = await startRunner({
      url: redis.url,
      prefix,
      settings: SETTINGS,
      labels: ['exec'],
      concurrency: 1,
      handlers: new Map([['bench', holdJobs(guest.name)]]),
      runnerId: guest.name,
      token,
      heartbeatMs: 200,
      lockMs: 5_000,
    });
    booted.set(guest.name, runner);
  }

  beforeAll(async () => {
    redis = await startRedis({ appendOnly: false });
    prefix = `cli-runners-${randomUUID().slice(0, 8)}`;
    producer = createRedisQueue({ url: redis.url, prefix, settings: SETTINGS });
    held = new Promise((resolve) => (release = resolve));
    snippetsDir = await mkdtemp(join(tmpdir(), 'cli-runners-snippets-'));
    fake = await startFakeProxmoxApi({
      tokens: { [TOKEN_ID]: TOKEN_SECRET },
      nodes: [
        { name: 'pve1', cores: 16, memoryMiB: 64 * 1024 },
        { name: 'pve2', cores: 8, memoryMiB: 32 * 1024 },
      ],
      guests: [
        {
          vmid: TEMPLATE,
          node: 'pve1',
          kind: 'qemu',
          name: 'runner-template',
          template: true,
          config: { cicustom: 'network=shared:snippets/runner-network.yaml' },
        },
        {
          vmid: PAYMENTS_DB,
          node: 'pve2',
          kind: 'qemu',
          name: 'payments-db',
          status: 'running',
          tags: ['prod'],
        },
        // Tagged by hand but not named as a runner: never listed, never removed.
        {
          vmid: HAND_TAGGED,
          node: 'pve2',
          kind: 'qemu',
          name: 'build-box',
          status: 'running',
          tags: [RUNNER_TAG],
        },
      ],
      snippetsDir,
      firstVmid: 200,
      onGuestStarted: (guest) => void bootRunner(guest),
      onGuestStopped: (guest) => {
        stopped.set(guest.name, Date.now());
        void booted.get(guest.name)?.stop(1_000);
      },
    });
  });

  afterAll(async () => {
    release();
    await Promise.all([...booted.values()].map((runner) => runner.stop(1_000)));
    await producer?.close();
    await fake?.close();
    await redis?.stop();
    await rm(snippetsDir, { recursive: true, force: true });
  });

  it('lists no runners on a cluster without any, and leaves other guests out', async () => {
    const ran = await run(['list']);

    expect(ran.code).toBe(0);
    expect(ran.out).toContain('No Proxmox runners');
    expect(ran.out).not.toContain('payments-db');
    expect(ran.out).not.toContain('build-box');
    expect(fake.requests.filter(changes)).toEqual([]);
  });

  it('adds two runners, each registered with the queue before it is reported', async () => {
    const ran = await run(['add', '--count', '2']);

    expect(ran.err).toBe('');
    expect(ran.code).toBe(0);
    expect(ran.out).toMatch(/^ai-provision-runner-200 {2}vmid 200 on pve1: registered in \d+ s$/m);
    expect(ran.out).toMatch(/^ai-provision-runner-201 {2}vmid 201 on pve1: registered in \d+ s$/m);
    expect(ran.out).toContain('autoscaler in `serve` removes idle runners');
    expect([...booted.keys()].sort()).toEqual([
      'ai-provision-runner-200',
      'ai-provision-runner-201',
    ]);

    const listed = await run(['list', '--json']);
    const view = JSON.parse(listed.out) as ReturnType<typeof runnersView>;
    expect(view.queueKnown).toBe(true);
    expect(view.runners.map((row) => [row.runnerId, row.status, row.queue, row.running])).toEqual([
      ['ai-provision-runner-200', 'running', 'registered', 0],
      ['ai-provision-runner-201', 'running', 'registered', 0],
    ]);
    expect(view.otherRunners).toEqual([]);

    const table = await run(['list']);
    expect(table.out).toMatch(/^RUNNER\s+VMID\s+NODE\s+KIND\s+STATUS\s+UP\s+SIZE\s+QUEUE\s+JOBS$/m);
    expect(table.out).toMatch(
      /^ai-provision-runner-200\s+200\s+pve1\s+qemu\s+running\s+\S+\s+2c\/4096Mi\s+registered\s+0$/m,
    );
  });

  it('refuses to go above AI_PROVISION_AUTOSCALE_MAX, before any clone', async () => {
    const before = fake.requests.filter(changes).length;

    const ran = await run(['add']);

    expect(ran.code).toBe(2);
    expect(ran.err).toContain('would make 3, above AI_PROVISION_AUTOSCALE_MAX=2');
    expect(ran.err).toContain('ask for at most 0');
    expect(fake.requests.filter(changes)).toHaveLength(before);
  });

  it('removes nothing when one of the names is not a runner guest', async () => {
    const before = fake.requests.filter(changes).length;

    for (const args of [
      ['ai-provision-runner-200', 'ai-provision-runner-999'],
      [String(PAYMENTS_DB)],
      [String(HAND_TAGGED)],
    ]) {
      const ran = await run(['remove', ...args]);
      expect(ran.code).toBe(2);
      expect(ran.err).toContain('Nothing was removed');
    }
    const typo = await run(['remove', 'runner-200']);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('expected a runner as ai-provision-runner-<vmid> or its VMID');

    expect(fake.requests.filter(changes)).toHaveLength(before);
    expect(booted.get('ai-provision-runner-200')!).toBeDefined();
  });

  it('drains a busy runner: its job finishes before the guest is stopped and destroyed', async () => {
    await producer.submit({
      id: 'job-on-runner',
      kind: 'bench',
      label: 'exec',
      priority: 'NORMAL',
    });
    // Whichever runner took the job is the one to remove.
    let busy: string | undefined;
    await waitFor(async () => {
      busy = (await producer.runners()).find((runner) => runner.running > 0)?.id;
      return busy !== undefined;
    }, 'a runner running the job');
    const vmid = Number(busy!.slice('ai-provision-runner-'.length));

    const removing = run(['remove', busy!, '--drain-timeout-ms', '20000']);
    // Asked to drain, the runner takes nothing new; nothing is stopped while its job runs.
    await waitFor(
      async () => (await producer.runners()).some((r) => r.id === busy && r.draining),
      'the drain flag',
    );
    // Long enough for a stop and a destroy on the fake, had the drain not waited for the job.
    await delay(1_500);
    expect(fake.requests.filter(destructive)).toEqual([]);
    const releasedAt = Date.now();
    release();
    const ran = await removing;

    expect(ran.err).toBe('');
    expect(ran.code).toBe(0);
    expect(ran.out).toContain(`${busy}  vmid ${vmid} on pve1: drained and destroyed`);
    const job = finished.find((entry) => entry.id === 'job-on-runner');
    expect(job?.runner).toBe(busy);
    const firstStop = fake.requests.find(destructive);
    expect(firstStop?.path).toBe(`/nodes/pve1/qemu/${vmid}/status/stop`);
    expect(job!.at).toBeGreaterThanOrEqual(releasedAt);
    expect(stopped.get(busy!)).toBeGreaterThanOrEqual(job!.at);
    expect(fake.guest(vmid)).toBeUndefined();
    // Only the removed runner's guest was touched.
    expect(fake.requests.filter(destructive).every((r) => r.path.includes(`/${vmid}`))).toBe(true);
    expect(fake.guest(PAYMENTS_DB)?.status).toBe('running');
    expect(fake.guest(HAND_TAGGED)?.status).toBe('running');

    const listed = JSON.parse((await run(['list', '--json'])).out) as ReturnType<
      typeof runnersView
    >;
    expect(listed.runners).toHaveLength(1);
    expect(listed.runners[0]!.runnerId).not.toBe(busy);
  });

  it('lists without REDIS_URL (the queue unknown), but will not add or remove', async () => {
    const listed = await run(['list'], { REDIS_URL: undefined });
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/ai-provision-runner-20\d .* unknown\s+-$/m);
    expect(listed.out).toContain('REDIS_URL is not set');

    const before = fake.requests.filter(changes).length;
    for (const args of [['add'], ['remove', listedRunner(listed.out)]]) {
      const ran = await run(args, { REDIS_URL: undefined });
      expect(ran.code).toBe(2);
      expect(ran.err).toContain('REDIS_URL: missing');
    }
    expect(fake.requests.filter(changes)).toHaveLength(before);
  });

  it('says which setting is missing or wrong', async () => {
    const off = await run(['list'], { PROXMOX_URL: undefined });
    expect(off.code).toBe(2);
    expect(off.err).toContain('PROXMOX_URL: missing');

    const bad = await run(['list'], { AI_PROVISION_AUTOSCALE_MAX: 'lots' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('AI_PROVISION_AUTOSCALE_MAX');
    expect(bad.err).toContain('README "Connect a Proxmox cluster"');
  });

  it('reports an unreachable cluster as a failure', async () => {
    const ran = await run(['list'], {
      PROXMOX_URL: 'http://127.0.0.1:9',
      PROXMOX_TIMEOUT_MS: '2000',
    });
    expect(ran.code).toBe(1);
    expect(ran.err).toMatch(/^error \[proxmox unreachable\]/);
  });
});

function listedRunner(table: string): string {
  return /^(ai-provision-runner-\d+)/m.exec(table)![1]!;
}

describe('runners: the pure parts', () => {
  it('reads a runner as its id or its VMID', () => {
    expect(parseRunnerRef('ai-provision-runner-205')).toEqual({ kind: 'ok', vmid: 205 });
    expect(parseRunnerRef(' 205 ')).toEqual({ kind: 'ok', vmid: 205 });
    for (const bad of [
      '',
      'runner-205',
      'ai-provision-runner-',
      '99',
      '2.5',
      'ai-provision-runner-205x',
    ]) {
      expect(parseRunnerRef(bad).kind).toBe('invalid');
    }
  });

  it('writes uptime as its two largest units', () => {
    expect(formatUptime(0)).toBe('-');
    expect(formatUptime(42)).toBe('42s');
    expect(formatUptime(250)).toBe('4m10s');
    expect(formatUptime(7_500)).toBe('2h5m');
    expect(formatUptime(3 * 86_400 + 4 * 3_600 + 59)).toBe('3d4h');
    expect(formatUptime(86_400)).toBe('1d0h');
  });

  it('joins guests with the registry, and shows the registry’s other runners', () => {
    const guest = {
      node: 'pve1',
      kind: 'qemu' as const,
      vmid: 300,
      name: 'ai-provision-runner-300',
      runnerId: 'ai-provision-runner-300',
      status: 'running',
      tags: [RUNNER_TAG],
      template: false,
      uptimeS: 90,
      cores: 2,
      memoryBytes: 4 * 2 ** 30,
    };
    const view = runnersView(
      [
        guest,
        {
          ...guest,
          vmid: 301,
          name: 'ai-provision-runner-301',
          runnerId: 'ai-provision-runner-301',
        },
      ],
      [
        {
          id: 'ai-provision-runner-300',
          labels: ['exec'],
          concurrency: 2,
          running: 1,
          draining: true,
        },
        {
          id: 'build-host:42',
          labels: ['llm', 'exec'],
          concurrency: 4,
          running: 3,
          draining: false,
        },
      ],
    );

    expect(view.runners.map((row) => [row.vmid, row.queue, row.running])).toEqual([
      [300, 'draining', 1],
      [301, 'not registered', undefined],
    ]);
    const text = formatRunners(view);
    expect(text).toMatch(
      /^ai-provision-runner-301\s+301\s+pve1\s+qemu\s+running\s+1m30s\s+2c\/4096Mi\s+not registered\s+-$/m,
    );
    expect(text).toContain('Other runners in the queue (not Proxmox runner guests):');
    expect(text).toMatch(/^build-host:42\s+llm,exec\s+3\/4\s+no$/m);
    expect(text).not.toContain('REDIS_URL');
  });
});
