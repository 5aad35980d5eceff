import { parse as parseYaml } from 'yaml';
import { DraftPlan, ServiceHints } from '../../../src/agents/schema.js';
import type { ProxmoxSize } from '../../../src/agents/schema.js';
import { hclString, renderProxmox } from '../../../src/render/proxmox.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function estimate(target: number): { target: number; lower: number; upper: number } {
  return { target, lower: target / 2, upper: target * 2 };
}

const VM: ProxmoxSize = {
  kind: 'vm',
  cores: 2,
  memoryBytes: 4 * GiB,
  balloonBytes: 2 * GiB,
  diskBytes: 32 * GiB,
};
const LXC: ProxmoxSize = { kind: 'lxc', cores: 1, memoryBytes: 1536 * MiB, diskBytes: 8 * GiB };

function plan(proxmox: ProxmoxSize | undefined, overrides: Partial<DraftPlan> = {}): DraftPlan {
  return DraftPlan.parse({
    service: { name: 'orders', path: 'services/orders' },
    target: 'proxmox',
    workload: 'Deployment',
    replicas: 1,
    resources: {
      cpuRequest: estimate(500),
      memoryRequest: estimate(GiB),
      memoryLimit: estimate(2 * GiB),
    },
    ...(proxmox === undefined ? {} : { proxmox }),
    reasoning: [
      {
        field: 'proxmox',
        value: '2 cores',
        reason: 'peak 300 req/s at 150 req/s per core',
        sources: ['knowledge/runtimes/go.md'],
      },
      {
        field: 'proxmox',
        value: '4096 MiB memory',
        reason: 'heap limit plus OS and page cache',
        sources: [],
      },
      {
        field: 'proxmox',
        value: '32G disk',
        reason: 'OS image plus logs for two weeks',
        sources: [],
      },
      {
        field: 'volume',
        value: '20Gi',
        reason: 'database files for a year',
        sources: ['description'],
      },
    ],
    confidence: 0.6,
    ...overrides,
  });
}

function hints(overrides: Record<string, unknown> = {}): ServiceHints {
  return ServiceHints.parse({ ports: [8080], ...overrides });
}

describe('render/proxmox', () => {
  describe('VM', () => {
    it('names the spec fields as Proxmox VE does', () => {
      const input = { plan: plan(VM), hints: hints() };

      const { spec, warnings } = renderProxmox(input);

      expect(spec).toEqual({
        kind: 'vm',
        name: 'orders',
        node: 'pve',
        cores: 2,
        sockets: 1,
        cpu: 'x86-64-v2-AES',
        memory: 4096,
        balloon: 2048,
        scsihw: 'virtio-scsi-single',
        scsi0: 'local-lvm:32',
        net0: 'virtio,bridge=vmbr0',
        ostype: 'l26',
        agent: 1,
        onboot: 1,
        tags: 'ai-provision',
      });
      expect(warnings).toEqual([]);
    });

    it.each([
      ['no balloon in the plan', { ...VM, balloonBytes: undefined }, 4096, false],
      ['a balloon above memory', { ...VM, balloonBytes: 8 * GiB }, 4096, true],
      ['a balloon of zero (ballooning off)', { ...VM, balloonBytes: 0 }, 0, false],
    ])('sets balloon with %s', (_label, size, expected, warned) => {
      const input = { plan: plan(size), hints: hints() };

      const { spec, warnings } = renderProxmox(input);

      expect(spec.kind === 'vm' && spec.balloon).toBe(expected);
      expect(warnings.length > 0).toBe(warned);
    });

    it('rounds memory up to MiB and disks up to GiB', () => {
      const input = {
        plan: plan({
          ...VM,
          memoryBytes: 3000.5 * MiB,
          balloonBytes: undefined,
          diskBytes: 20.1 * GiB,
        }),
        hints: hints(),
      };

      const { spec } = renderProxmox(input);

      expect(spec).toMatchObject({ memory: 3001, balloon: 3001, scsi0: 'local-lvm:21' });
    });

    it('adds a data disk for the plan volume and honours node, storage and bridge', () => {
      const input = {
        plan: plan(VM, { volume: { sizeBytes: 20 * GiB, mountPath: '/var/lib/data' } }),
        hints: hints(),
        node: 'pve-2',
        storage: 'ceph-rbd',
        bridge: 'vmbr1',
      };

      const { spec, terraform } = renderProxmox(input);

      expect(spec).toMatchObject({
        node: 'pve-2',
        scsi0: 'ceph-rbd:32',
        scsi1: 'ceph-rbd:20',
        net0: 'virtio,bridge=vmbr1',
      });
      expect(terraform).toMatch(/interface\s+= "scsi1"/);
      expect(terraform).toContain(
        '# 20G data disk for /var/lib/data: database files for a year [description]',
      );
    });

    it('writes YAML that parses back to the spec and quotes the reasons', () => {
      const input = { plan: plan(VM), hints: hints() };

      const { spec, yaml } = renderProxmox(input);

      expect(parseYaml(yaml)).toEqual(spec);
      expect(yaml).toContain(
        '# 2 cores: peak 300 req/s at 150 req/s per core [knowledge/runtimes/go.md]\ncores: 2\n',
      );
      expect(yaml).toContain('# 4096 MiB: heap limit plus OS and page cache\nmemory: 4096\n');
      expect(yaml).toContain('# 32G disk: OS image plus logs for two weeks\nscsi0: local-lvm:32\n');
      // Several proxmox steps, none about the balloon: no unrelated reason is borrowed.
      expect(yaml).toContain('# 2048 MiB: no reason recorded in the plan\nballoon: 2048\n');
      expect(yaml).toContain('# qm create <vmid> --name orders --cores 2 --sockets 1');
    });

    it('writes a bpg/proxmox VM resource with a reason on each number', () => {
      const input = { plan: plan(VM), hints: hints() };

      const { terraform } = renderProxmox(input);

      expect(terraform).toContain('resource "proxmox_virtual_environment_vm" "orders" {');
      expect(terraform).toMatch(/node_name\s+= "pve"/);
      expect(terraform).toContain('tags          = ["ai-provision"]');
      expect(terraform).toContain(
        '    # 2 cores: peak 300 req/s at 150 req/s per core [knowledge/runtimes/go.md]\n    cores   = 2\n',
      );
      expect(terraform).toContain(
        '    # 4096 MiB: heap limit plus OS and page cache\n    dedicated = 4096\n',
      );
      expect(terraform).toMatch(/# 2048 MiB: .*\n {4}floating {2}= 2048\n/);
      expect(terraform).toContain(
        '    # 32G disk: OS image plus logs for two weeks\n    size         = 32\n',
      );
      expect(terraform).toMatch(/agent \{\n {4}enabled = true\n {2}\}/);
      expect(terraform).toMatch(/operating_system \{\n {4}type = "l26"\n {2}\}/);
      expect(terraform).toMatch(
        /network_device \{\n {4}bridge = "vmbr0"\n {4}model {2}= "virtio"\n {2}\}/,
      );
      expect(terraform).toContain('blank disk: set import_from');
      expect(terraform).not.toContain('clone {');
      expect(balanced(terraform)).toBe(true);
    });

    it('clones a template VM when one is given', () => {
      const input = { plan: plan(VM), hints: hints(), vmTemplateId: 9000 };

      const { terraform } = renderProxmox(input);

      expect(terraform).toMatch(/clone \{\n {4}vm_id = 9000\n {2}\}/);
      expect(terraform).not.toContain('blank disk');
    });
  });

  describe('LXC', () => {
    it.each([
      ['a service shipped as an image', { finalImage: 'golang:1.22' }, undefined, 'nesting=1'],
      ['a service without an image', {}, undefined, undefined],
      ['nesting turned off explicitly', { finalImage: 'golang:1.22' }, false, undefined],
    ])('names the spec fields as Proxmox VE does: %s', (_label, extra, nesting, features) => {
      const input = {
        plan: plan(LXC),
        hints: hints(extra),
        ...(nesting === undefined ? {} : { nesting }),
      };

      const { spec } = renderProxmox(input);

      expect(spec).toEqual({
        kind: 'lxc',
        hostname: 'orders',
        node: 'pve',
        ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
        cores: 1,
        memory: 1536,
        swap: 512,
        rootfs: 'local-lvm:8',
        net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
        unprivileged: 1,
        ...(features === undefined ? {} : { features }),
        onboot: 1,
        tags: 'ai-provision',
      });
    });

    it('mounts the plan volume as mp0', () => {
      const input = {
        plan: plan(LXC, { volume: { sizeBytes: 20 * GiB, mountPath: '/srv/data' } }),
        hints: hints(),
      };

      const { spec, terraform } = renderProxmox(input);

      expect(spec.kind === 'lxc' && spec.mp0).toBe('local-lvm:20,mp=/srv/data');
      expect(terraform).toMatch(
        /mount_point \{\n {4}volume = "local-lvm"\n[^}]*size {3}= "20G"\n {4}path {3}= "\/srv\/data"\n {2}\}/,
      );
    });

    it('writes YAML that parses back to the spec and quotes the reasons', () => {
      const input = { plan: plan(LXC), hints: hints({ finalImage: 'golang:1.22' }) };

      const { spec, yaml } = renderProxmox(input);

      expect(parseYaml(yaml)).toEqual(spec);
      expect(yaml).toContain('# 1536 MiB: heap limit plus OS and page cache\nmemory: 1536\n');
      expect(yaml).toContain(
        '# 8G root filesystem: OS image plus logs for two weeks\nrootfs: local-lvm:8\n',
      );
      expect(yaml).toContain('# nesting: the service ships as an image (golang:1.22)');
      expect(yaml).toContain(
        '# pct create <vmid> local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst --hostname orders',
      );
    });

    it.each([
      ['with nesting', { finalImage: 'golang:1.22' }, true],
      ['without nesting', {}, false],
    ])('writes a bpg/proxmox container resource %s', (_label, extra, nested) => {
      const input = { plan: plan(LXC), hints: hints(extra) };

      const { terraform } = renderProxmox(input);

      expect(terraform).toContain('resource "proxmox_virtual_environment_container" "orders" {');
      expect(terraform).toMatch(/unprivileged {2}= true/);
      expect(terraform).toContain(
        '    # 1 core: peak 300 req/s at 150 req/s per core [knowledge/runtimes/go.md]\n    cores = 1\n',
      );
      expect(terraform).toContain(
        '    # 1536 MiB: heap limit plus OS and page cache\n    dedicated = 1536\n',
      );
      expect(terraform).toMatch(/# 512 MiB: Proxmox VE's default.*\n {4}swap {6}= 512\n/);
      expect(terraform).toContain(
        '    # 8G root filesystem: OS image plus logs for two weeks\n    size         = 8\n',
      );
      expect(terraform).toMatch(
        /template_file_id = "local:vztmpl\/debian-12-standard_12\.7-1_amd64\.tar\.zst"\n {4}type {13}= "debian"/,
      );
      expect(terraform).toMatch(/initialization \{\n {4}hostname = "orders"/);
      expect(/features \{\n {4}nesting = true\n {2}\}/.test(terraform)).toBe(nested);
      expect(balanced(terraform)).toBe(true);
    });
  });

  describe('reasons', () => {
    it('falls back on the Kubernetes figure when the plan has no proxmox step', () => {
      const draft = plan(LXC, {
        reasoning: [
          {
            field: 'memory.limit',
            value: '2Gi',
            reason: 'the JVM heap is 75% of this',
            sources: [],
          },
        ],
      });

      const { yaml } = renderProxmox({ plan: draft, hints: hints() });

      expect(yaml).toContain('# 1536 MiB: the JVM heap is 75% of this\nmemory: 1536\n');
      expect(yaml).toContain('# 1 core: no reason recorded in the plan\ncores: 1\n');
    });
  });

  it('throws when the plan has no proxmox size (a bug, not a user error)', () => {
    const input = { plan: plan(undefined), hints: hints() };

    const act = (): unknown => renderProxmox(input);

    expect(act).toThrow('renderProxmox: plan for orders has no proxmox size');
  });

  it.each([
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['${var.x}', '"$${var.x}"'],
    ['%{if}', '"%%{if}"'],
    ['back\\slash', '"back\\\\slash"'],
  ])('hclString(%p) = %p', (value, expected) => {
    const quoted = hclString(value);

    expect(quoted).toBe(expected);
  });
});

/** Every "{" outside strings and comments has its "}". */
function balanced(hcl: string): boolean {
  let depth = 0;
  for (const line of hcl.split('\n')) {
    const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$/, '');
    for (const ch of code) {
      if (ch === '{') depth++;
      if (ch === '}') depth--;
      if (depth < 0) return false;
    }
  }
  return depth === 0;
}
