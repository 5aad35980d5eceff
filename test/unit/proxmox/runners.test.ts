import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startFakeProxmoxApi,
  type FakeProxmox,
  type RecordedRequest,
} from '../../../src/bench/fake-proxmox-api.js';
import { createProxmoxClient } from '../../../src/proxmox/client.js';
import { runnerTokenHash } from '../../../src/proxmox/cloud-init.js';
import {
  createRunnerManager,
  runnerIdFor,
  type RunnerManager,
} from '../../../src/proxmox/runners.js';
import { RUNNER_TAG } from '../../../src/proxmox/settings.js';
import {
  ProxmoxError,
  SimulatedClock,
  type GuestRef,
  type ProxmoxClient,
  type RegisteredRunner,
  type RunnerRegistry,
  type RunnerSettings,
} from '../../../src/proxmox/types.js';
import { bootToken } from '../../support/runner-boot.js';
import { delay } from '../../support/timing.js';

const TOKEN_ID = 'ai-provision@pve!runners';
const TOKEN_SECRET = '6b0f7c7e-3d2a-4c1b-9e8f-0a1b2c3d4e5f';
const MINUTE = 60_000;

const VM_TEMPLATE = 9000;
const LXC_TEMPLATE = 9100;
const PVE2_TEMPLATE = 9200;
/** A template that carries the runner tag itself: still never ours to stop or destroy. */
const TAGGED_TEMPLATE = 9300;
/** A template tagged and named like a runner: only being a template keeps it safe. */
const RUNNER_LIKE_TEMPLATE = 9400;
/** Someone's database, running. */
const UNRELATED = 101;
/** Named like a runner, but without the tag. */
const LOOKALIKE = 150;
/** Tagged, but not named like a runner (someone tagged it by hand). */
const HAND_TAGGED = 160;
/** One of our runners, stopped. */
const LEFTOVER = 170;
const NOT_A_RUNNER: GuestRef[] = [
  { node: 'pve2', kind: 'qemu', vmid: UNRELATED },
  { node: 'pve1', kind: 'qemu', vmid: LOOKALIKE },
  { node: 'pve2', kind: 'qemu', vmid: HAND_TAGGED },
  { node: 'pve1', kind: 'qemu', vmid: VM_TEMPLATE },
  { node: 'pve1', kind: 'qemu', vmid: TAGGED_TEMPLATE },
  { node: 'pve1', kind: 'qemu', vmid: RUNNER_LIKE_TEMPLATE },
  { node: 'pve1', kind: 'lxc', vmid: LXC_TEMPLATE },
];

/** The queue's registry in memory: runners register when the fake starts their guest. */
class MemoryRegistry implements RunnerRegistry {
  readonly entries = new Map<string, RegisteredRunner & { leaveAt?: number }>();
  readonly drains: string[] = [];

  constructor(private readonly clock: SimulatedClock) {}

  async list(): Promise<RegisteredRunner[]> {
    for (const [id, entry] of this.entries)
      if (entry.leaveAt !== undefined && entry.leaveAt <= this.clock.now()) this.entries.delete(id);
    return [...this.entries.values()].map(({ leaveAt: _leaveAt, ...entry }) => entry);
  }

  async requestDrain(runnerId: string): Promise<void> {
    this.drains.push(runnerId);
    const entry = this.entries.get(runnerId);
    if (entry !== undefined) entry.draining = true;
  }

  async backlog(): Promise<number> {
    return 0;
  }
}

interface Harness {
  clock: SimulatedClock;
  fake: FakeProxmox;
  client: ProxmoxClient;
  registry: MemoryRegistry;
  snippetsDir: string;
  manager(overrides?: Partial<RunnerSettings>): RunnerManager;
  /** Whether a started guest's runner registers (with the token it was booted with). */
  register: boolean;
  /** Runs `work` while moving simulated time on whenever it waits on the clock. */
  drive<T>(work: Promise<T>, limitMs?: number): Promise<T>;
  close(): Promise<void>;
}

const BASE_SETTINGS: Omit<RunnerSettings, 'snippets'> = {
  templates: [{ vmid: VM_TEMPLATE }],
  nodes: [],
  clone: 'auto',
  size: { cores: 2, memoryMiB: 4096 },
  labels: ['llm_heavy', 'exec'],
  concurrency: 2,
  redisUrl: 'redis://127.0.0.1:6379',
  queuePrefix: 'ai-provision',
  storage: 'fast',
  pool: 'runners',
  tag: RUNNER_TAG,
};

/** The token a booting guest finds: in its snippet (VM) or its `env` (container). */
async function startHarness(): Promise<Harness> {
  const clock = new SimulatedClock(Date.UTC(2026, 10, 21, 12));
  const registry = new MemoryRegistry(clock);
  const snippetsDir = await mkdtemp(join(tmpdir(), 'runners-snippets-'));
  const harness = { register: true } as Harness;
  const fake = await startFakeProxmoxApi({
    now: () => clock.now(),
    tokens: { [TOKEN_ID]: TOKEN_SECRET },
    nodes: [
      { name: 'pve1', cores: 16, memoryMiB: 64 * 1024 },
      { name: 'pve2', cores: 8, memoryMiB: 32 * 1024 },
      { name: 'pve3', cores: 32, memoryMiB: 256 * 1024, online: false },
    ],
    guests: [
      {
        vmid: VM_TEMPLATE,
        node: 'pve1',
        kind: 'qemu',
        name: 'runner-template',
        template: true,
        tags: ['base'],
        cores: 1,
        memoryMiB: 1024,
        config: { cicustom: 'network=shared:snippets/runner-network.yaml' },
      },
      {
        vmid: LXC_TEMPLATE,
        node: 'pve1',
        kind: 'lxc',
        name: 'runner-ct-template',
        template: true,
        cores: 1,
        memoryMiB: 512,
      },
      {
        vmid: PVE2_TEMPLATE,
        node: 'pve2',
        kind: 'qemu',
        name: 'runner-template-pve2',
        template: true,
      },
      {
        vmid: TAGGED_TEMPLATE,
        node: 'pve1',
        kind: 'qemu',
        name: 'old-runner-template',
        template: true,
        tags: [RUNNER_TAG],
      },
      {
        vmid: RUNNER_LIKE_TEMPLATE,
        node: 'pve1',
        kind: 'qemu',
        name: runnerIdFor(RUNNER_LIKE_TEMPLATE),
        template: true,
        tags: [RUNNER_TAG],
      },
      {
        vmid: UNRELATED,
        node: 'pve2',
        kind: 'qemu',
        name: 'payments-db',
        status: 'running',
        tags: ['prod'],
        cores: 4,
        memoryMiB: 8 * 1024,
      },
      {
        vmid: LOOKALIKE,
        node: 'pve1',
        kind: 'qemu',
        name: runnerIdFor(LOOKALIKE),
        status: 'running',
      },
      {
        vmid: HAND_TAGGED,
        node: 'pve2',
        kind: 'qemu',
        name: 'build-box',
        status: 'running',
        tags: [RUNNER_TAG],
      },
      {
        vmid: LEFTOVER,
        node: 'pve2',
        kind: 'qemu',
        name: runnerIdFor(LEFTOVER),
        tags: [RUNNER_TAG],
      },
    ],
    snippetsDir,
    firstVmid: 200,
    onGuestStarted: (guest) => {
      if (!harness.register) return;
      // The runner process comes up a little later and publishes its token's hash.
      void bootToken(guest, snippetsDir).then((token) => {
        registry.entries.set(guest.name, {
          id: guest.name,
          labels: BASE_SETTINGS.labels,
          concurrency: 2,
          running: 0,
          draining: false,
          ...(token === undefined ? {} : { tokenHash: runnerTokenHash(token) }),
        });
      });
    },
    onGuestStopped: (guest) => {
      registry.entries.delete(guest.name);
    },
  });
  const client = createProxmoxClient({
    connection: {
      url: fake.url,
      auth: { kind: 'token', tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET },
      tls: { kind: 'verify' },
      timeoutMs: 5_000,
    },
    clock,
  });

  async function drive<T>(work: Promise<T>, limitMs = 60 * MINUTE): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    const limit = clock.now() + limitMs;
    // Bounded: simulated time only moves while the work sleeps on the clock, up to limitMs.
    for (let turn = 0; turn < 20_000 && !settled; turn++) {
      if (clock.now() > limit) throw new Error(`still running after ${limitMs} ms of clock time`);
      if (clock.pending() > 0) await clock.advance(250);
      else await delay(1);
    }
    return work;
  }

  return Object.assign(harness, {
    clock,
    fake,
    client,
    registry,
    snippetsDir,
    manager: (overrides: Partial<RunnerSettings> = {}) =>
      createRunnerManager({
        client,
        registry,
        clock,
        settings: {
          ...BASE_SETTINGS,
          snippets: { storage: 'shared', dir: snippetsDir },
          ...overrides,
        },
      }),
    drive,
    close: async () => {
      await fake.close();
      await rm(snippetsDir, { recursive: true, force: true });
    },
  });
}

function about(vmid: number): (request: RecordedRequest) => boolean {
  return (request) => new RegExp(`/(?:qemu|lxc)/${vmid}(?:/|$)`).test(request.path);
}

/** Stop, shutdown and destroy requests the fake received for guest `vmid`. */
function destructive(fake: FakeProxmox, vmid: number): RecordedRequest[] {
  return fake.requests
    .filter(about(vmid))
    .filter(
      (request) =>
        request.method === 'DELETE' ||
        (request.method === 'POST' && /\/status\/(?:stop|shutdown)$/.test(request.path)),
    );
}

function writes(fake: FakeProxmox, vmid: number): RecordedRequest[] {
  return fake.requests.filter(about(vmid)).filter((request) => request.method !== 'GET');
}

function cloneRequests(fake: FakeProxmox): RecordedRequest[] {
  return fake.requests.filter(
    (request) => request.method === 'POST' && /\/clone$/.test(request.path),
  );
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ProxmoxError) return error.code;
    throw error;
  }
  throw new Error('expected a ProxmoxError');
}

describe('proxmox/runners runnerIdFor', () => {
  it.each([
    [100, 'ai-provision-runner-100'],
    [205, 'ai-provision-runner-205'],
    [999999999, 'ai-provision-runner-999999999'],
  ])('vmid %d → %s', (vmid, id) => {
    expect(runnerIdFor(vmid)).toBe(id);
  });
});

describe('proxmox/runners', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });

  afterEach(async () => {
    await h.close();
  });

  describe('list', () => {
    it('lists only non-template guests with the tag and a runner name', async () => {
      const manager = h.manager();

      const runners = await manager.list();

      expect(runners.map((runner) => [runner.vmid, runner.runnerId, runner.node])).toEqual([
        [LEFTOVER, runnerIdFor(LEFTOVER), 'pve2'],
      ]);
    });
  });

  describe('chooseNode', () => {
    it.each<{
      name: string;
      settings?: Partial<RunnerSettings>;
      options?: { exclude?: string[]; pending?: Record<string, number> };
      node: string | undefined;
    }>([
      { name: 'most free memory; the offline node is skipped', node: 'pve1' },
      { name: 'excluded node skipped', options: { exclude: ['pve1'] }, node: 'pve2' },
      {
        // pve1: 64 GiB - 1 GiB - 14 × 4 GiB promised = 7 GiB; pve2: 32 - 1 - 8 (payments-db) = 23.
        name: 'runners promised to a node count against it',
        options: { pending: { pve1: 14 } },
        node: 'pve2',
      },
      { name: 'only allowed nodes', settings: { nodes: ['pve2', 'pve3'] }, node: 'pve2' },
      {
        name: 'too little memory anywhere else',
        settings: { size: { cores: 2, memoryMiB: 40 * 1024 } },
        options: { exclude: ['pve1'] },
        node: undefined,
      },
      {
        name: 'more cores than pve2 has',
        settings: { size: { cores: 12, memoryMiB: 1024 } },
        options: { exclude: ['pve1'] },
        node: undefined,
      },
      {
        name: 'fits nowhere',
        settings: { size: { cores: 2, memoryMiB: 100 * 1024 } },
        node: undefined,
      },
      {
        name: 'linked clones only on the template’s node',
        settings: { clone: 'linked' },
        options: { exclude: ['pve1'] },
        node: undefined,
      },
      {
        name: 'a template pinned to a node serves that node only',
        settings: { templates: [{ node: 'pve2', vmid: PVE2_TEMPLATE }] },
        node: 'pve2',
      },
    ])('$name', async ({ settings, options, node }) => {
      const manager = h.manager(settings);

      const chosen = await manager.chooseNode(options);

      expect(chosen).toBe(node);
    });

    it.each([
      { name: 'missing', vmid: 4242, message: /guest 4242 does not exist/ },
      { name: 'not a template', vmid: UNRELATED, message: /101 \(payments-db\) is not a template/ },
    ])('refuses when the template is $name', async ({ vmid, message }) => {
      const manager = h.manager({ templates: [{ vmid }] });

      const attempt = manager.chooseNode();

      await expect(attempt).rejects.toMatchObject({ code: 'refused' });
      await expect(attempt).rejects.toThrow(/AI_PROVISION_PROXMOX_TEMPLATE/);
      await expect(attempt).rejects.toThrow(message);
    });
  });

  describe('provision', () => {
    it('provisions a VM: linked clone, tags, size, snippet and cicustom, registered', async () => {
      const manager = h.manager();

      const runner = await h.drive(manager.provision({ bootTimeoutMs: 10 * MINUTE }));

      expect(runner).toMatchObject({
        runnerId: 'ai-provision-runner-200',
        vmid: 200,
        node: 'pve1',
        kind: 'qemu',
        status: 'running',
      });
      const guest = h.fake.guest(200)!;
      expect(guest.tags).toEqual(['base', RUNNER_TAG]);
      expect(guest.cores).toBe(2);
      expect(guest.memoryMiB).toBe(4096);
      expect(guest.config.cicustom).toBe(
        'user=shared:snippets/ai-provision-ai-provision-runner-200.yaml,network=shared:snippets/runner-network.yaml',
      );
      expect(await readdir(h.snippetsDir)).toEqual(['ai-provision-ai-provision-runner-200.yaml']);
      const token = await bootToken(guest, h.snippetsDir);
      expect(h.registry.entries.get(runner.runnerId)?.tokenHash).toBe(runnerTokenHash(token!));
      expect(cloneRequests(h.fake)).toEqual([
        expect.objectContaining({
          path: expect.stringContaining(`/nodes/pve1/qemu/${VM_TEMPLATE}/clone`),
          params: expect.objectContaining({ newid: '200', name: runner.runnerId, full: '0' }),
        }),
      ]);
      const clone = cloneRequests(h.fake)[0]!;
      expect(clone.params.target).toBeUndefined();
      // A linked clone takes no target storage.
      expect(clone.params.storage).toBeUndefined();
      expect(clone.params.pool).toBe('runners');
      expect(clone.params.description).toBe(
        'ai-provision runner (created 2026-11-21T12:00:00.000Z)',
      );
    });

    it('full-clones to another node with the target storage', async () => {
      const manager = h.manager();

      const runner = await h.drive(manager.provision({ bootTimeoutMs: 10 * MINUTE, node: 'pve2' }));

      expect(runner).toMatchObject({ vmid: 200, node: 'pve2', status: 'running' });
      expect(cloneRequests(h.fake)[0]!.params).toMatchObject({
        target: 'pve2',
        full: '1',
        storage: 'fast',
      });
    });

    it('provisions a container: env set, no snippet', async () => {
      const manager = h.manager({ templates: [{ vmid: LXC_TEMPLATE }], snippets: undefined });

      const runner = await h.drive(manager.provision({ bootTimeoutMs: 10 * MINUTE }));

      expect(runner).toMatchObject({ vmid: 200, kind: 'lxc', status: 'running' });
      const guest = h.fake.guest(200)!;
      expect(guest.tags).toEqual([RUNNER_TAG]);
      expect(guest.config.cicustom).toBeUndefined();
      const env = String(guest.config.env).split('\0');
      expect(env).toEqual(
        expect.arrayContaining([
          'AI_PROVISION_RUNNER_ID=ai-provision-runner-200',
          'AI_PROVISION_RUNNER_LABELS=llm_heavy,exec',
          'AI_PROVISION_RUNNER_CONCURRENCY=2',
          'REDIS_URL=redis://127.0.0.1:6379',
          'AI_PROVISION_QUEUE_PREFIX=ai-provision',
        ]),
      );
      expect(await readdir(h.snippetsDir)).toEqual([]);
      const token = await bootToken(guest, h.snippetsDir);
      expect(h.registry.entries.get(runner.runnerId)?.tokenHash).toBe(runnerTokenHash(token!));
    });

    it('retries a failed clone once on the next best node', async () => {
      const manager = h.manager();
      h.fake.failNext({ type: 'clone' }, 'clone failed: no space left on device');

      const runner = await h.drive(manager.provision({ bootTimeoutMs: 10 * MINUTE }));

      expect(runner).toMatchObject({ node: 'pve2', status: 'running' });
      expect(cloneRequests(h.fake).map((request) => request.params.target)).toEqual([
        undefined,
        'pve2',
      ]);
      // The failed clone's guest went with its task; only the retry's runner is left.
      expect((await manager.list()).map((guest) => guest.vmid).sort()).toEqual(
        [LEFTOVER, runner.vmid].sort(),
      );
    });

    it('does not retry elsewhere when the node was asked for', async () => {
      const manager = h.manager();
      h.fake.failNext({ type: 'clone' }, 'clone failed: no space left on device');

      const code = await h.drive(
        codeOf(manager.provision({ bootTimeoutMs: MINUTE, node: 'pve1' })),
      );

      expect(code).toBe('task-failed');
      expect(cloneRequests(h.fake)).toHaveLength(1);
    });

    it('removes the guest and its snippet when the runner never registers', async () => {
      const manager = h.manager();
      h.register = false;

      const code = await h.drive(codeOf(manager.provision({ bootTimeoutMs: 5 * MINUTE })));

      expect(code).toBe('timeout');
      expect(h.fake.guest(200)).toBeUndefined();
      expect(destructive(h.fake, 200).map((request) => request.method)).toEqual(['POST', 'DELETE']);
      expect(await readdir(h.snippetsDir)).toEqual([]);
      expect(h.clock.now()).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 21, 12) + 5 * MINUTE);
    });

    it('removes the guest when its start task fails', async () => {
      const manager = h.manager();
      h.fake.failNext({ type: 'start' }, 'start failed: QEMU exited with code 1');

      const code = await h.drive(codeOf(manager.provision({ bootTimeoutMs: 5 * MINUTE })));

      expect(code).toBe('task-failed');
      expect(h.fake.guest(200)).toBeUndefined();
      expect(await readdir(h.snippetsDir)).toEqual([]);
    });
  });

  describe('the steps', () => {
    it('startProvision refuses a node that is not allowed', async () => {
      const manager = h.manager({ nodes: ['pve1'] });

      const code = await codeOf(manager.startProvision('pve2'));

      expect(code).toBe('refused');
      expect(cloneRequests(h.fake)).toEqual([]);
    });

    it('configure is idempotent', async () => {
      const manager = h.manager();
      const start = await manager.startProvision('pve1');
      await h.drive(h.client.waitForTask(start.task));

      await manager.configure(start);
      await manager.configure(start);

      expect(h.fake.guest(start.ref.vmid)!.tags).toEqual(['base', RUNNER_TAG]);
      expect(start.tokenHash).toBe(runnerTokenHash(start.token));
    });

    it('configure refuses a guest it did not clone, and tags nothing', async () => {
      const manager = h.manager();
      const ref: GuestRef = { node: 'pve2', kind: 'qemu', vmid: UNRELATED };
      const start = await manager.startProvision('pve1');

      const code = await codeOf(
        manager.configure({ ...start, ref, runnerId: runnerIdFor(UNRELATED) }),
      );

      expect(code).toBe('refused');
      expect(writes(h.fake, UNRELATED)).toEqual([]);
      expect(h.fake.guest(UNRELATED)!.tags).toEqual(['prod']);
    });
  });

  describe('teardown', () => {
    it.each(NOT_A_RUNNER)('never stops or destroys $kind $vmid on $node', async (ref) => {
      const manager = h.manager();
      const before = h.fake.guest(ref.vmid)!.status;

      const codes = [
        await codeOf(manager.beginTeardown(ref)),
        await codeOf(manager.destroy(ref)),
        await h.drive(codeOf(manager.teardown(ref, { drainTimeoutMs: MINUTE }))),
      ];

      expect(codes).toEqual(['refused', 'refused', 'refused']);
      expect(destructive(h.fake, ref.vmid)).toEqual([]);
      expect(writes(h.fake, ref.vmid)).toEqual([]);
      expect(h.fake.guest(ref.vmid)?.status).toBe(before);
      expect(h.registry.drains).toEqual([]);
    });

    it('drains, stops, destroys and removes the snippet', async () => {
      const manager = h.manager();
      const runner = await h.drive(manager.provision({ bootTimeoutMs: 10 * MINUTE }));
      // Busy with a job that ends (and the runner leaves) two minutes after the drain request.
      h.registry.entries.get(runner.runnerId)!.running = 1;
      h.registry.entries.get(runner.runnerId)!.leaveAt = h.clock.now() + 2 * MINUTE;
      const drainAsked = h.clock.now();
      h.fake.requests.length = 0;

      await h.drive(manager.teardown(runner, { drainTimeoutMs: 30 * MINUTE }));

      expect(h.registry.drains).toEqual([runner.runnerId]);
      expect(h.clock.now()).toBeGreaterThanOrEqual(drainAsked + 2 * MINUTE);
      expect(h.clock.now()).toBeLessThan(drainAsked + 30 * MINUTE);
      expect(
        destructive(h.fake, runner.vmid).map((request) => `${request.method} ${request.status}`),
      ).toEqual(['POST 200', 'DELETE 200']);
      expect(h.fake.guest(runner.vmid)).toBeUndefined();
      expect(await readdir(h.snippetsDir)).toEqual([]);
    });

    it('goes on at the drain deadline when the runner stays busy', async () => {
      const manager = h.manager();
      const runner = await h.drive(manager.provision({ bootTimeoutMs: 10 * MINUTE }));
      h.registry.entries.get(runner.runnerId)!.running = 2;
      const drainAsked = h.clock.now();

      await h.drive(manager.teardown(runner, { drainTimeoutMs: 10 * MINUTE }));

      expect(h.clock.now()).toBeGreaterThanOrEqual(drainAsked + 10 * MINUTE);
      expect(h.fake.guest(runner.vmid)).toBeUndefined();
    });

    it('a stopped runner: no stop, then destroy', async () => {
      const manager = h.manager();
      const ref: GuestRef = { node: 'pve2', kind: 'qemu', vmid: LEFTOVER };

      const stop = await manager.beginTeardown(ref);
      const task = await manager.destroy(ref);
      await h.drive(h.client.waitForTask(task));

      expect(stop).toBeUndefined();
      expect(destructive(h.fake, LEFTOVER).map((request) => request.method)).toEqual(['DELETE']);
      expect(h.fake.guest(LEFTOVER)).toBeUndefined();
    });

    it('removeBootConfig takes runner ids only', async () => {
      const manager = h.manager();

      const attempt = manager.removeBootConfig('../../etc/passwd');

      await expect(attempt).rejects.toThrow(/not a runner id/);
    });
  });
});
