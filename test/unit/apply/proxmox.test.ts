import { DraftPlan, ServiceHints, type ProxmoxSize } from '../../../src/agents/schema.js';
import { applyGate, type ApplyGate } from '../../../src/apply/gate.js';
import {
  applyProxmoxCreate,
  dryRunProxmoxCreate,
  proxmoxCreateParams,
} from '../../../src/apply/proxmox.js';
import {
  startFakeProxmoxApi,
  type FakeProxmox,
  type FakeProxmoxOptions,
} from '../../../src/bench/fake-proxmox-api.js';
import { createProxmoxClient } from '../../../src/proxmox/client.js';
import {
  ProxmoxError,
  type ProxmoxClient,
  type ProxmoxParams,
} from '../../../src/proxmox/types.js';
import {
  renderProxmox,
  type ProxmoxLxcSpec,
  type ProxmoxSpec,
} from '../../../src/render/proxmox.js';
import type { AuditEntry } from '../../../src/store/store.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;
const TOKEN_ID = 'ai-provision@pve!apply';
const TOKEN_SECRET = '5e0c8a1b-2f3d-4c5e-8a7b-9c0d1e2f3a4b';
const FIRST_VMID = 200;
const APPROVED: ApplyGate = { kind: 'allowed', by: 'mona', at: '2025-03-01T10:00:00.000Z' };

const VM_SIZE: ProxmoxSize = {
  kind: 'vm',
  cores: 2,
  memoryBytes: 4 * GIB,
  balloonBytes: 2 * GIB,
  diskBytes: 32 * GIB,
};
const LXC_SIZE: ProxmoxSize = {
  kind: 'lxc',
  cores: 1,
  memoryBytes: 1536 * MIB,
  diskBytes: 8 * GIB,
};

/** A plan as agent 2 writes it for `target: proxmox`, with a data volume. */
function plan(proxmox: ProxmoxSize, name = 'orders'): DraftPlan {
  return DraftPlan.parse({
    service: { name, path: `services/${name}` },
    target: 'proxmox',
    workload: 'Deployment',
    replicas: 1,
    resources: {
      cpuRequest: { target: 500, lower: 250, upper: 1000 },
      memoryRequest: { target: GIB, lower: GIB / 2, upper: 2 * GIB },
      memoryLimit: { target: 2 * GIB, lower: GIB, upper: 4 * GIB },
    },
    volume: { sizeBytes: 20 * GIB, mountPath: '/var/lib/orders' },
    proxmox,
    reasoning: [
      { field: 'proxmox', value: '2 cores', reason: 'peak 300 req/s', sources: [] },
      { field: 'volume', value: '20Gi', reason: 'a year of rows', sources: ['description'] },
    ],
    confidence: 0.6,
  });
}

function spec(size: ProxmoxSize, options: { node?: string; name?: string } = {}): ProxmoxSpec {
  return renderProxmox({
    plan: plan(size, options.name),
    hints: ServiceHints.parse({ ports: [8080], finalImage: 'ghcr.io/acme/orders:1' }),
    node: options.node ?? 'pve1',
  }).spec;
}

function fakeOptions(overrides: Partial<FakeProxmoxOptions> = {}): FakeProxmoxOptions {
  return {
    tokens: { [TOKEN_ID]: TOKEN_SECRET },
    nodes: [
      { name: 'pve1', cores: 16, memoryMiB: 65536 },
      { name: 'pve2', cores: 2, memoryMiB: 3072 },
      { name: 'pve3', cores: 8, memoryMiB: 32768, online: false },
    ],
    guests: [
      { vmid: 101, node: 'pve1', kind: 'qemu', name: 'web', status: 'running', tags: ['prod'] },
      { vmid: 102, node: 'pve2', kind: 'lxc', name: 'payments', status: 'stopped' },
    ],
    firstVmid: FIRST_VMID,
    taskMs: { create: 0, destroy: 0 },
    ...overrides,
  };
}

function clientFor(fake: FakeProxmox): ProxmoxClient {
  return createProxmoxClient({
    connection: {
      url: fake.url,
      auth: { kind: 'token', tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET },
      tls: { kind: 'verify' },
      timeoutMs: 5000,
    },
  });
}

/** The params as the fake stores a guest's config: every value as the form sent it. */
function asConfig(params: ProxmoxParams): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params)
      .filter(([key]) => key !== 'vmid')
      .map(([key, value]) => [key, String(value)]),
  );
}

function stringValues(config: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, String(value)]));
}

describe('apply/proxmox', () => {
  describe('proxmoxCreateParams', () => {
    it('turns a rendered VM spec into qemu create fields', () => {
      const vm = spec(VM_SIZE);

      const params = proxmoxCreateParams(vm, 321);

      expect(params).toEqual({
        vmid: 321,
        name: 'orders',
        cores: 2,
        sockets: 1,
        cpu: 'x86-64-v2-AES',
        memory: 4096,
        balloon: 2048,
        scsihw: 'virtio-scsi-single',
        scsi0: 'local-lvm:32',
        scsi1: 'local-lvm:20',
        net0: 'virtio,bridge=vmbr0',
        ostype: 'l26',
        agent: 1,
        onboot: 1,
        tags: 'ai-provision',
      });
    });

    it('turns a rendered LXC spec into lxc create fields, hostname included', () => {
      const lxc = spec(LXC_SIZE);

      const params = proxmoxCreateParams(lxc, 322);

      expect(params).toEqual({
        vmid: 322,
        hostname: 'orders',
        ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
        cores: 1,
        memory: 1536,
        swap: 512,
        rootfs: 'local-lvm:8',
        mp0: 'local-lvm:20,mp=/var/lib/orders',
        net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
        unprivileged: 1,
        features: 'nesting=1',
        onboot: 1,
        tags: 'ai-provision',
      });
    });

    it.each([
      ['VM', spec(VM_SIZE)],
      ['LXC', spec(LXC_SIZE)],
    ])('keeps every %s spec key but kind and node, and adds nothing else', (_label, rendered) => {
      const params = proxmoxCreateParams(rendered, 400);

      const { kind: _kind, node: _node, ...rest } = rendered;
      expect(params).toEqual({ vmid: 400, ...rest });
    });

    it('leaves out optional keys the spec does not set', () => {
      const lxc = spec(LXC_SIZE);
      if (lxc.kind !== 'lxc') throw new Error('expected an LXC spec');
      const bare: ProxmoxLxcSpec = { ...lxc, mp0: undefined, features: undefined };

      const params = proxmoxCreateParams(bare, 401);

      expect(params).not.toHaveProperty('mp0');
      expect(params).not.toHaveProperty('features');
    });
  });

  describe('against the fake Proxmox API', () => {
    let fake: FakeProxmox;
    let client: ProxmoxClient;

    async function start(overrides: Partial<FakeProxmoxOptions> = {}): Promise<void> {
      fake = await startFakeProxmoxApi(fakeOptions(overrides));
      client = clientFor(fake);
    }

    afterEach(async () => {
      await fake?.close();
    });

    describe('dryRunProxmoxCreate', () => {
      it('passes every check on a node with room and makes no write', async () => {
        await start();

        const outcome = await dryRunProxmoxCreate(spec(VM_SIZE), client);

        expect(outcome).toMatchObject({
          kind: 'done',
          value: { node: 'pve1', kind: 'qemu', vmid: FIRST_VMID },
        });
        const value = outcome.kind === 'done' ? outcome.value : undefined;
        expect(value?.checks.map((c) => [c.name, c.ok])).toEqual([
          ['node-online', true],
          ['memory', true],
          ['cores', true],
          ['vmid-free', true],
          ['name-free', true],
        ]);
        expect(value?.params).toEqual(proxmoxCreateParams(spec(VM_SIZE), FIRST_VMID));
        expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
      });

      it('uses the VMID it is given', async () => {
        await start();

        const outcome = await dryRunProxmoxCreate(spec(LXC_SIZE), client, { vmid: 777 });

        expect(outcome).toMatchObject({ kind: 'done', value: { kind: 'lxc', vmid: 777 } });
      });

      it.each<[string, ProxmoxSpec, { vmid?: number }, string[]]>([
        ['an offline node', spec(VM_SIZE, { node: 'pve3' }), {}, ['Node `pve3` is offline.']],
        [
          'a node not in the cluster',
          spec(VM_SIZE, { node: 'pve9' }),
          {},
          ['Node `pve9` is not in the cluster (nodes: `pve1`, `pve2`, `pve3`).'],
        ],
        [
          'too little memory and too few cores',
          spec({ ...VM_SIZE, cores: 4 }, { node: 'pve2' }),
          {},
          [
            'Memory: the guest needs 4096 MiB; `pve2` has 2048 MiB free of 3072 MiB.',
            'Cores: the guest needs 4; `pve2` has 2 idle of 2.',
          ],
        ],
        [
          'a VMID taken',
          spec(VM_SIZE),
          { vmid: 101 },
          ['VMID 101 is taken by guest `web` on `pve1`.'],
        ],
        [
          'a VMID out of range',
          spec(VM_SIZE),
          { vmid: 42 },
          ['VMID 42 is not one Proxmox VE accepts'],
        ],
        [
          'a name already used',
          spec(LXC_SIZE, { name: 'payments' }),
          {},
          ['A guest named `payments` already exists: VMID 102 on `pve2`.'],
        ],
      ])('refuses %s, listing every failed check', async (_label, rendered, options, details) => {
        await start();

        const outcome = await dryRunProxmoxCreate(rendered, client, options);

        expect(outcome).toMatchObject({ kind: 'refused', code: 'proxmox-dry-run-failed' });
        const message = outcome.kind === 'refused' ? outcome.userMessage : '';
        for (const detail of details) expect(message).toContain(`- ${detail}`);
        expect(message.match(/^- /gm)).toHaveLength(details.length);
      });

      it('fails, retryable, when the cluster does not answer', async () => {
        await start();
        fake.setOutage({ status: 595, text: 'No route to host' });

        const outcome = await dryRunProxmoxCreate(spec(VM_SIZE), client);

        expect(outcome).toMatchObject({
          kind: 'failed',
          code: 'proxmox-dry-run-failed',
          retryable: true,
        });
      });
    });

    describe('applyProxmoxCreate', () => {
      it.each<[string, ApplyGate]>([
        ['no approval', applyGate([])],
        [
          'a rejection',
          applyGate([
            { jobId: 'job-1', decision: 'reject', by: 'hubot', at: '2025-03-01T10:00:00Z' },
          ]),
        ],
      ])('makes no call at all after %s', async (_label, gate) => {
        await start();
        const audit: AuditEntry[] = [];

        const outcome = await applyProxmoxCreate({
          spec: spec(VM_SIZE),
          client,
          gate,
          audit: async (entry) => {
            audit.push(entry);
          },
        });

        expect(outcome).toBe(gate);
        expect(fake.requests).toEqual([]);
        expect(audit.map((e) => e.action)).toEqual(['proxmox.create.refused']);
      });

      it.each<[string, ProxmoxSpec, 'qemu' | 'lxc']>([
        ['a VM', spec(VM_SIZE), 'qemu'],
        ['an LXC container', spec(LXC_SIZE), 'lxc'],
      ])('creates %s with the rendered params', async (_label, rendered, kind) => {
        await start();
        const audit: AuditEntry[] = [];

        const outcome = await applyProxmoxCreate({
          spec: rendered,
          client,
          gate: APPROVED,
          actor: 'mona',
          jobId: 'job-0123456789ab',
          audit: async (entry) => {
            audit.push(entry);
          },
        });

        expect(outcome).toMatchObject({
          kind: 'done',
          value: { ref: { node: 'pve1', kind, vmid: FIRST_VMID } },
        });
        const guest = fake.guest(FIRST_VMID);
        expect(guest).toMatchObject({ node: 'pve1', kind, name: 'orders', tags: ['ai-provision'] });
        expect(guest?.lock).toBeUndefined();
        expect(stringValues(guest?.config ?? {})).toMatchObject(
          asConfig(proxmoxCreateParams(rendered, FIRST_VMID)),
        );
        expect(audit.map((e) => e.action)).toEqual([
          'proxmox.create.started',
          'proxmox.create.done',
        ]);
        expect(audit[0]).toMatchObject({
          actor: 'mona',
          jobId: 'job-0123456789ab',
          target: 'proxmox:pve1/orders',
        });
        expect(audit[0]?.detail).toContain('approved by mona');
      });

      it('creates the guest under the VMID it is given', async () => {
        await start();

        const outcome = await applyProxmoxCreate({
          spec: spec(VM_SIZE),
          client,
          gate: APPROVED,
          vmid: 555,
        });

        expect(outcome).toMatchObject({ kind: 'done', value: { ref: { vmid: 555 } } });
        expect(fake.guest(555)?.name).toBe('orders');
      });

      it('refuses without a write when the dry run fails', async () => {
        await start();

        const outcome = await applyProxmoxCreate({
          spec: spec(VM_SIZE, { node: 'pve3' }),
          client,
          gate: APPROVED,
        });

        expect(outcome).toMatchObject({ kind: 'refused', code: 'proxmox-dry-run-failed' });
        expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
      });

      it('rolls a failed create task back', async () => {
        await start();
        const exitstatus = "storage 'local-lvm' does not exist";
        fake.failNext({ type: 'create' }, exitstatus);
        const audit: AuditEntry[] = [];

        const outcome = await applyProxmoxCreate({
          spec: spec(VM_SIZE),
          client,
          gate: APPROVED,
          audit: async (entry) => {
            audit.push(entry);
          },
        });

        expect(outcome).toMatchObject({
          kind: 'failed',
          code: 'proxmox-create-failed',
          retryable: false,
        });
        const message = outcome.kind === 'failed' ? outcome.userMessage : '';
        expect(message).toContain(exitstatus);
        expect(message).toContain('Nothing was left behind on the cluster.');
        expect(fake.guest(FIRST_VMID)).toBeUndefined();
        expect(fake.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
        expect(audit.map((e) => e.action)).toEqual(
          expect.arrayContaining(['proxmox.create.started', 'proxmox.create.failed']),
        );
      });

      it.each<[string, string, string, boolean]>([
        [
          'destroys a half-made guest that carries the tag',
          'ai-provision',
          'destroyed again',
          true,
        ],
        ['leaves a half-made guest without the tag alone', 'prod', 'left alone', false],
      ])('%s', async (_label, tags, says, destroyed) => {
        await start();
        // Proxmox left the guest behind although the task failed (the fake removes it itself).
        let waits = 0;
        const leaky: ProxmoxClient = {
          ...client,
          async waitForTask(task, options) {
            await client.waitForTask(task, options);
            waits += 1;
            if (waits === 1)
              throw new ProxmoxError('task-failed', 'got timeout', { node: task.node });
          },
        };

        const outcome = await applyProxmoxCreate({
          spec: { ...spec(VM_SIZE), tags },
          client: leaky,
          gate: APPROVED,
        });

        expect(outcome).toMatchObject({ kind: 'failed', code: 'proxmox-create-failed' });
        const message = outcome.kind === 'failed' ? outcome.userMessage : '';
        expect(message).toContain('got timeout');
        expect(message).toContain(says);
        expect(fake.requests.filter((r) => r.method === 'DELETE')).toHaveLength(destroyed ? 1 : 0);
        expect(fake.guest(FIRST_VMID) === undefined).toBe(destroyed);
      });

      it('leaves a task still running at the time limit alone', async () => {
        await start({ taskMs: { create: 60_000 } });

        const outcome = await applyProxmoxCreate({
          spec: spec(VM_SIZE),
          client,
          gate: APPROVED,
          timeoutMs: 50,
        });

        expect(outcome).toMatchObject({ kind: 'failed', code: 'proxmox-create-failed' });
        const message = outcome.kind === 'failed' ? outcome.userMessage : '';
        expect(message).toMatch(/still running after 50 ms\b.*`UPID:pve1:/);
        expect(fake.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
        expect(fake.guest(FIRST_VMID)?.lock).toBe('create');
      });

      it('destroys nothing when the create call itself is refused', async () => {
        await start();
        // The VMID is taken between the dry run and the create (another client was faster).
        const racing: ProxmoxClient = {
          ...client,
          create: (node, kind, params) => client.create(node, kind, { ...params, vmid: 101 }),
        };

        const outcome = await applyProxmoxCreate({
          spec: spec(VM_SIZE),
          client: racing,
          gate: APPROVED,
        });

        expect(outcome).toMatchObject({
          kind: 'failed',
          code: 'proxmox-create-failed',
          retryable: false,
        });
        expect(outcome.kind === 'failed' && outcome.userMessage).toContain('already exists');
        expect(fake.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
        expect(fake.guest(101)?.name).toBe('web');
      });
    });
  });
});
