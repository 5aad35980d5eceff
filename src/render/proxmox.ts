/**
 * A plan's `proxmox` size → a Proxmox VE guest: a VM (qemu) or an LXC container, as a spec whose
 * keys are the ones `qm create` / `pct create` and the API take, the same spec as commented YAML,
 * and the equivalent Terraform resource for the bpg/proxmox provider. Pure: plan in, text out.
 */
import { Document, isMap, isScalar } from 'yaml';
import type { DraftPlan, ReasoningStep, ServiceHints } from '../agents/schema.js';
import { sourcesText } from './kubernetes.js';

export interface ProxmoxRenderInput {
  plan: DraftPlan;
  hints: ServiceHints;
  /** Proxmox VE node to create the guest on. Default "pve". */
  node?: string;
  /** Storage for disks and the root filesystem. Default "local-lvm". */
  storage?: string;
  /** Network bridge. Default "vmbr0". */
  bridge?: string;
  /** LXC only: the OS template volume. Default a Debian 12 standard template on "local". */
  lxcTemplate?: string;
  /** VM only: a template VM (cloud image with cloud-init) to clone; without it the disk is blank. */
  vmTemplateId?: number;
  /**
   * LXC only: turn on nesting. Default: on when the service ships as a container image (it then
   * runs under Docker or Podman inside the container, which needs nesting), off otherwise.
   */
  nesting?: boolean;
}

/** A VM as `qm create` takes it: memory and balloon in MiB, scsi0 as "<storage>:<GiB>". */
export interface ProxmoxVmSpec {
  kind: 'vm';
  name: string;
  node: string;
  cores: number;
  sockets: 1;
  cpu: string;
  memory: number;
  /** Minimum memory the balloon driver may shrink the guest to; equal to memory = no reclaim. */
  balloon: number;
  scsihw: 'virtio-scsi-single';
  scsi0: string;
  /** The plan's data volume, when it has one. */
  scsi1?: string;
  net0: string;
  ostype: 'l26';
  agent: 1;
  onboot: 1;
  tags: string;
}

/** An LXC container as `pct create` takes it: memory and swap in MiB, rootfs as "<storage>:<GiB>". */
export interface ProxmoxLxcSpec {
  kind: 'lxc';
  hostname: string;
  node: string;
  ostemplate: string;
  cores: number;
  memory: number;
  swap: number;
  rootfs: string;
  /** The plan's data volume, when it has one: "<storage>:<GiB>,mp=<path>". */
  mp0?: string;
  net0: string;
  unprivileged: 1;
  features?: string;
  onboot: 1;
  tags: string;
}

export type ProxmoxSpec = ProxmoxVmSpec | ProxmoxLxcSpec;

export interface RenderedProxmox {
  spec: ProxmoxSpec;
  yaml: string;
  terraform: string;
  warnings: string[];
}

const TAG = 'ai-provision';
const MIB = 2 ** 20;
const GIB = 2 ** 30;
const EPSILON = 1e-6;
const DEFAULT_NODE = 'pve';
const DEFAULT_STORAGE = 'local-lvm';
const DEFAULT_BRIDGE = 'vmbr0';
const DEFAULT_LXC_TEMPLATE = 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst';
/** Proxmox VE's own default swap for a new container. */
const LXC_SWAP_MIB = 512;
/** The CPU type Proxmox VE proposes for new VMs: portable across hosts, with AES. */
const VM_CPU_TYPE = 'x86-64-v2-AES';

type Dimension = 'cores' | 'memory' | 'balloon' | 'disk' | 'volume';

/** Which words in a `proxmox` reasoning step's value or reason mark it as being about a dimension. */
const DIMENSION_WORDS: Record<Exclude<Dimension, 'volume'>, RegExp> = {
  cores: /\b(?:cores?|vcpus?|cpus?)\b/i,
  memory: /\b(?:memory|ram|mem)\b/i,
  balloon: /\bballoon/i,
  disk: /\b(?:disk|rootfs|storage)\b/i,
};

export function renderProxmox(input: ProxmoxRenderInput): RenderedProxmox {
  const size = input.plan.proxmox;
  // The pipeline only asks for Proxmox output when the plan targets it; a missing size is a bug.
  if (size === undefined)
    throw new Error(`renderProxmox: plan for ${input.plan.service.name} has no proxmox size`);
  return size.kind === 'vm' ? renderVm(input) : renderLxc(input);
}

interface Reasons {
  /** Comment text per spec key. */
  byKey: Record<string, string>;
}

function renderVm(input: ProxmoxRenderInput): RenderedProxmox {
  const { plan } = input;
  const size = plan.proxmox!;
  const name = plan.service.name;
  const storage = input.storage ?? DEFAULT_STORAGE;
  const warnings: string[] = [];
  const memory = mebibytes(size.memoryBytes);
  // 0 is meaningful: it turns the balloon device off.
  let balloon =
    size.balloonBytes === undefined
      ? memory
      : size.balloonBytes === 0
        ? 0
        : mebibytes(size.balloonBytes);
  if (balloon > memory) {
    warnings.push(
      `${name}: balloon ${balloon} MiB is above memory ${memory} MiB; Proxmox VE refuses that, so it is set to ${memory} MiB.`,
    );
    balloon = memory;
  }
  const disk = gibibytes(size.diskBytes);
  const volume = plan.volume === undefined ? undefined : gibibytes(plan.volume.sizeBytes);

  const spec: ProxmoxVmSpec = {
    kind: 'vm',
    name,
    node: input.node ?? DEFAULT_NODE,
    cores: size.cores,
    sockets: 1,
    cpu: VM_CPU_TYPE,
    memory,
    balloon,
    scsihw: 'virtio-scsi-single',
    scsi0: `${storage}:${disk}`,
    ...(volume === undefined ? {} : { scsi1: `${storage}:${volume}` }),
    net0: `virtio,bridge=${input.bridge ?? DEFAULT_BRIDGE}`,
    ostype: 'l26',
    agent: 1,
    onboot: 1,
    tags: TAG,
  };

  const reasons: Reasons = {
    byKey: {
      cores: reasonText(plan, 'cores', coresText(spec.cores)),
      memory: reasonText(plan, 'memory', `${spec.memory} MiB`),
      balloon:
        size.balloonBytes === undefined
          ? `${balloon} MiB: the plan sets no lower bound, so the balloon driver reports memory use but never reclaims`
          : balloon === 0
            ? '0: the plan turns the balloon device off, so the guest keeps all its memory'
            : reasonText(plan, 'balloon', `${balloon} MiB`),
      scsi0: reasonText(plan, 'disk', `${disk}G disk`),
      ...(volume === undefined
        ? {}
        : {
            scsi1: reasonText(plan, 'volume', `${volume}G data disk for ${plan.volume!.mountPath}`),
          }),
      agent: 'qemu-guest-agent must be installed in the guest (IP reporting, clean shutdown)',
    },
  };
  const command = `qm create <vmid> --name ${spec.name} --cores ${spec.cores} --sockets 1 --cpu ${spec.cpu} --memory ${spec.memory} --balloon ${spec.balloon} --scsihw ${spec.scsihw} --scsi0 ${spec.scsi0}${spec.scsi1 === undefined ? '' : ` --scsi1 ${spec.scsi1}`} --net0 ${spec.net0} --ostype l26 --agent 1 --onboot 1 --tags ${spec.tags}`;
  return {
    spec,
    yaml: specYaml(spec, reasons, [
      `Proxmox VE VM for service ${name} (${plan.service.path}), sized by ai-provision; plan confidence ${plan.confidence.toFixed(2)}`,
      'memory and balloon in MiB; disks as <storage>:<size in GiB>, the form qm create allocates',
      command,
    ]),
    terraform: vmTerraform(input, spec, reasons, disk, volume),
    warnings,
  };
}

function renderLxc(input: ProxmoxRenderInput): RenderedProxmox {
  const { plan, hints } = input;
  const size = plan.proxmox!;
  const name = plan.service.name;
  const storage = input.storage ?? DEFAULT_STORAGE;
  const disk = gibibytes(size.diskBytes);
  const volume = plan.volume === undefined ? undefined : gibibytes(plan.volume.sizeBytes);
  const nesting = input.nesting ?? hints.finalImage !== undefined;

  const spec: ProxmoxLxcSpec = {
    kind: 'lxc',
    hostname: name,
    node: input.node ?? DEFAULT_NODE,
    ostemplate: input.lxcTemplate ?? DEFAULT_LXC_TEMPLATE,
    cores: size.cores,
    memory: mebibytes(size.memoryBytes),
    swap: LXC_SWAP_MIB,
    rootfs: `${storage}:${disk}`,
    ...(volume === undefined ? {} : { mp0: `${storage}:${volume},mp=${plan.volume!.mountPath}` }),
    net0: `name=eth0,bridge=${input.bridge ?? DEFAULT_BRIDGE},ip=dhcp`,
    unprivileged: 1,
    ...(nesting ? { features: 'nesting=1' } : {}),
    onboot: 1,
    tags: TAG,
  };

  const reasons: Reasons = {
    byKey: {
      cores: reasonText(plan, 'cores', coresText(spec.cores)),
      memory: reasonText(plan, 'memory', `${spec.memory} MiB`),
      swap: `${LXC_SWAP_MIB} MiB: Proxmox VE's default for a new container; a little swap absorbs a short spike instead of an OOM kill`,
      rootfs: reasonText(plan, 'disk', `${disk}G root filesystem`),
      ...(volume === undefined
        ? {}
        : {
            mp0: reasonText(plan, 'volume', `${volume}G data volume at ${plan.volume!.mountPath}`),
          }),
      unprivileged: 'unprivileged: container root is not root on the host',
      ...(nesting
        ? {
            features:
              input.nesting === undefined
                ? `nesting: the service ships as an image (${hints.finalImage}), run with Docker or Podman inside the container`
                : 'nesting: requested',
          }
        : {}),
      ostemplate: 'check the template exists on the node: pveam list local',
    },
  };
  const command = `pct create <vmid> ${spec.ostemplate} --hostname ${spec.hostname} --cores ${spec.cores} --memory ${spec.memory} --swap ${spec.swap} --rootfs ${spec.rootfs}${spec.mp0 === undefined ? '' : ` --mp0 ${spec.mp0}`} --net0 ${spec.net0} --unprivileged 1${spec.features === undefined ? '' : ` --features ${spec.features}`} --onboot 1 --tags ${spec.tags}`;
  return {
    spec,
    yaml: specYaml(spec, reasons, [
      `Proxmox VE LXC container for service ${name} (${plan.service.path}), sized by ai-provision; plan confidence ${plan.confidence.toFixed(2)}`,
      'memory and swap in MiB; rootfs as <storage>:<size in GiB>, the form pct create allocates',
      command,
    ]),
    terraform: lxcTerraform(input, spec, reasons, disk, volume),
    warnings: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Reasons.

/** "2 cores: <reason> [sources]" from the plan's `proxmox` steps, the most specific one first. */
function reasonText(plan: DraftPlan, dimension: Dimension, shown: string): string {
  const step = proxmoxReason(plan, dimension);
  if (step === undefined) return `${shown}: no reason recorded in the plan`;
  return `${shown}: ${oneLine(step.reason)}${sourcesText(step)}`;
}

function proxmoxReason(plan: DraftPlan, dimension: Dimension): ReasoningStep | undefined {
  if (dimension === 'volume') return plan.reasoning.findLast((s) => s.field === 'volume');
  const steps = plan.reasoning.filter((s) => s.field === 'proxmox');
  const words = DIMENSION_WORDS[dimension];
  const specific = steps.findLast((s) => words.test(s.value) || words.test(s.reason));
  if (specific !== undefined) return specific;
  // A lone proxmox step speaks for the whole size; several are per dimension, and none was this.
  if (steps.length === 1) return steps[0];
  // Otherwise fall back on the Kubernetes figure the size came from.
  const fallback: Record<typeof dimension, ReasoningStep['field'][]> = {
    cores: ['cpu.limit', 'cpu.request'],
    memory: ['memory.limit', 'memory.request'],
    balloon: ['memory.request'],
    disk: ['volume'],
  };
  for (const field of fallback[dimension]) {
    const step = plan.reasoning.findLast((s) => s.field === field);
    if (step !== undefined) return step;
  }
  return undefined;
}

function coresText(cores: number): string {
  return cores === 1 ? '1 core' : `${cores} cores`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function mebibytes(b: number): number {
  return Math.max(1, Math.ceil(b / MIB - EPSILON));
}

function gibibytes(b: number): number {
  return Math.max(1, Math.ceil(b / GIB - EPSILON));
}

// ---------------------------------------------------------------------------------------------
// YAML.

function specYaml(spec: ProxmoxSpec, reasons: Reasons, header: string[]): string {
  const doc = new Document(spec);
  doc.commentBefore = header.map((line) => ` ${line}`).join('\n');
  if (isMap(doc.contents))
    for (const pair of doc.contents.items) {
      if (!isScalar(pair.key)) continue;
      const text = reasons.byKey[String(pair.key.value)];
      if (text !== undefined) pair.key.commentBefore = ` ${oneLine(text)}`;
    }
  return doc.toString({ lineWidth: 0 });
}

// ---------------------------------------------------------------------------------------------
// Terraform (bpg/proxmox), written out by hand: a tiny HCL writer is simpler than a dependency.

type HclValue = string | number | boolean | string[];

interface HclAttribute {
  type: 'attribute';
  name: string;
  value: HclValue;
  comment?: string;
}

interface HclBlock {
  type: 'block';
  name: string;
  labels?: string[];
  body: HclItem[];
  comment?: string;
}

interface HclComment {
  type: 'comment';
  text: string;
}

type HclItem = HclAttribute | HclBlock | HclComment;

function attr(name: string, value: HclValue, comment?: string): HclAttribute {
  return comment === undefined
    ? { type: 'attribute', name, value }
    : { type: 'attribute', name, value, comment };
}

function block(name: string, body: HclItem[], comment?: string): HclBlock {
  return comment === undefined
    ? { type: 'block', name, body }
    : { type: 'block', name, body, comment };
}

function note(text: string): HclComment {
  return { type: 'comment', text };
}

/** A quoted HCL string; "${" and "%{" are escaped so nothing is interpolated. */
export function hclString(value: string): string {
  const escaped = value
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('\n', '\\n')
    // Callbacks: in a replacement string "$$" would itself collapse to "$".
    .replaceAll('${', () => '$${')
    .replaceAll('%{', () => '%%{');
  return `"${escaped}"`;
}

function hclValue(value: HclValue): string {
  if (Array.isArray(value)) return `[${value.map(hclString).join(', ')}]`;
  if (typeof value === 'string') return hclString(value);
  return String(value);
}

/**
 * Attributes between two blocks align their "=" (comments in between do not break the run); a
 * blank line sets each block apart from its neighbours.
 */
function writeHcl(items: HclItem[], indent: string): string[] {
  const lines: string[] = [];
  let segment: (HclAttribute | HclComment)[] = [];
  const flush = (): void => {
    const names = segment.flatMap((item) => (item.type === 'attribute' ? [item.name] : []));
    const width = Math.max(0, ...names.map((n) => n.length));
    for (const item of segment) {
      if (item.type === 'comment') {
        lines.push(`${indent}# ${oneLine(item.text)}`);
        continue;
      }
      if (item.comment !== undefined) lines.push(`${indent}# ${oneLine(item.comment)}`);
      lines.push(`${indent}${item.name.padEnd(width)} = ${hclValue(item.value)}`);
    }
    segment = [];
  };
  for (const item of items) {
    if (item.type !== 'block') {
      if (segment.length === 0 && lines.length > 0) lines.push('');
      segment.push(item);
      continue;
    }
    flush();
    if (lines.length > 0) lines.push('');
    if (item.comment !== undefined) lines.push(`${indent}# ${oneLine(item.comment)}`);
    const labels = (item.labels ?? []).map((l) => ` ${hclString(l)}`).join('');
    lines.push(
      `${indent}${item.name}${labels} {`,
      ...writeHcl(item.body, `${indent}  `),
      `${indent}}`,
    );
  }
  flush();
  return lines;
}

/** Terraform resource names: letters, digits, "_" and "-", not starting with a digit. */
function resourceName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

function terraformFile(header: string[], resource: HclBlock): string {
  return `${[...header.map((h) => `# ${h}`), ...writeHcl([resource], '')].join('\n')}\n`;
}

const PROVIDER_NOTE =
  'Needs the bpg/proxmox provider: terraform { required_providers { proxmox = { source = "bpg/proxmox" } } }';

function vmTerraform(
  input: ProxmoxRenderInput,
  spec: ProxmoxVmSpec,
  reasons: Reasons,
  disk: number,
  volume: number | undefined,
): string {
  const storage = input.storage ?? DEFAULT_STORAGE;
  const bridge = input.bridge ?? DEFAULT_BRIDGE;
  const body: HclItem[] = [
    attr('name', spec.name),
    attr('node_name', spec.node),
    attr('tags', [TAG]),
    attr('on_boot', true),
    attr('scsi_hardware', spec.scsihw),
  ];
  if (input.vmTemplateId !== undefined)
    body.push(
      block('clone', [attr('vm_id', input.vmTemplateId)], 'boots a copy of this template VM'),
    );
  body.push(
    block('agent', [attr('enabled', true)], reasons.byKey.agent),
    block('cpu', [
      attr('cores', spec.cores, reasons.byKey.cores),
      attr('sockets', 1),
      attr('type', spec.cpu),
    ]),
    block('memory', [
      attr('dedicated', spec.memory, reasons.byKey.memory),
      attr('floating', spec.balloon, reasons.byKey.balloon),
    ]),
    block('disk', [
      attr('datastore_id', storage),
      attr('interface', 'scsi0'),
      attr('size', disk, reasons.byKey.scsi0),
      attr('iothread', true),
      attr('discard', 'on'),
      ...(input.vmTemplateId === undefined
        ? [
            note(
              'blank disk: set import_from to a cloud image (e.g. "local:import/<image>.qcow2") or set vmTemplateId to clone a template',
            ),
          ]
        : []),
    ]),
  );
  if (volume !== undefined)
    body.push(
      block('disk', [
        attr('datastore_id', storage),
        attr('interface', 'scsi1'),
        attr('size', volume, reasons.byKey.scsi1),
        attr('iothread', true),
        attr('discard', 'on'),
        note(`format and mount it at ${input.plan.volume!.mountPath} in the guest`),
      ]),
    );
  body.push(
    block('network_device', [attr('bridge', bridge), attr('model', 'virtio')]),
    block('operating_system', [attr('type', 'l26')]),
    block('initialization', [block('ip_config', [block('ipv4', [attr('address', 'dhcp')])])]),
  );
  return terraformFile(
    [
      `Proxmox VE VM for service ${spec.name}, sized by ai-provision (plan confidence ${input.plan.confidence.toFixed(2)}).`,
      'Memory in MiB, disk sizes in GiB.',
      PROVIDER_NOTE,
    ],
    {
      type: 'block',
      name: 'resource',
      labels: ['proxmox_virtual_environment_vm', resourceName(spec.name)],
      body,
    },
  );
}

function lxcTerraform(
  input: ProxmoxRenderInput,
  spec: ProxmoxLxcSpec,
  reasons: Reasons,
  disk: number,
  volume: number | undefined,
): string {
  const storage = input.storage ?? DEFAULT_STORAGE;
  const bridge = input.bridge ?? DEFAULT_BRIDGE;
  const body: HclItem[] = [
    attr('node_name', spec.node),
    attr('tags', [TAG]),
    attr('start_on_boot', true),
    attr('unprivileged', true, reasons.byKey.unprivileged),
  ];
  if (spec.features !== undefined)
    body.push(block('features', [attr('nesting', true)], reasons.byKey.features));
  body.push(
    block('initialization', [
      attr('hostname', spec.hostname),
      block('ip_config', [block('ipv4', [attr('address', 'dhcp')])]),
    ]),
    block('cpu', [attr('cores', spec.cores, reasons.byKey.cores)]),
    block('memory', [
      attr('dedicated', spec.memory, reasons.byKey.memory),
      attr('swap', spec.swap, reasons.byKey.swap),
    ]),
    block('disk', [attr('datastore_id', storage), attr('size', disk, reasons.byKey.rootfs)]),
  );
  if (volume !== undefined)
    body.push(
      block('mount_point', [
        attr('volume', storage),
        attr('size', `${volume}G`, reasons.byKey.mp0),
        attr('path', input.plan.volume!.mountPath),
      ]),
    );
  body.push(
    block('network_interface', [attr('name', 'eth0'), attr('bridge', bridge)]),
    block(
      'operating_system',
      [attr('template_file_id', spec.ostemplate), attr('type', osType(spec.ostemplate))],
      reasons.byKey.ostemplate,
    ),
  );
  return terraformFile(
    [
      `Proxmox VE LXC container for service ${spec.hostname}, sized by ai-provision (plan confidence ${input.plan.confidence.toFixed(2)}).`,
      'Memory and swap in MiB, disk sizes in GiB.',
      PROVIDER_NOTE,
    ],
    {
      type: 'block',
      name: 'resource',
      labels: ['proxmox_virtual_environment_container', resourceName(spec.hostname)],
      body,
    },
  );
}

const OS_TYPES = [
  'alpine',
  'archlinux',
  'centos',
  'debian',
  'fedora',
  'opensuse',
  'ubuntu',
] as const;

/** The provider's operating_system.type, read from the template's file name. */
function osType(template: string): string {
  const file = (template.split('/').at(-1) ?? template).toLowerCase();
  return OS_TYPES.find((os) => file.startsWith(os)) ?? 'unmanaged';
}
