/**
 * Creating the guest a plan describes on a Proxmox VE cluster, for real: the approval gate first,
 * then a read-only dry run (does it fit, is the VMID and the name free), then the create task and
 * its wait, with a rollback of a half-made guest that carries the bot's tag. Talks to the cluster
 * only through the ProxmoxClient port.
 */
import { renderTemplate } from '../deliver/templates.js';
import { done, failed, refused, type Failed, type Outcome } from '../outcome.js';
import {
  ProxmoxError,
  type ClusterGuest,
  type ClusterNode,
  type GuestKind,
  type GuestRef,
  type ProxmoxClient,
  type ProxmoxParams,
  type ProxmoxTask,
} from '../proxmox/types.js';
import type { ProxmoxSpec } from '../render/proxmox.js';
import type { AuditEntry } from '../store/store.js';
import type { ApplyGate } from './gate.js';

/** The tag renderProxmox puts on every guest; only a guest carrying it is ever rolled back. */
export const APPLY_TAG = 'ai-provision';

/** A create task allocates disks; ten minutes covers a slow storage. */
const DEFAULT_TASK_TIMEOUT_MS = 10 * 60_000;
/** Proxmox VE's VMID range. */
const MIN_VMID = 100;
const MAX_VMID = 999_999_999;
const MIB = 2 ** 20;
/** Who the audit log names when the caller names nobody. */
const DEFAULT_ACTOR = 'ai-provision';

/** One thing the dry run looked at; `detail` is a sentence a user can act on. */
export interface DryRunCheck {
  name: 'node-online' | 'memory' | 'cores' | 'vmid-free' | 'name-free';
  ok: boolean;
  detail: string;
}

/** What would be created, and the checks that say it fits. */
export interface ProxmoxDryRun {
  node: string;
  kind: GuestKind;
  vmid: number;
  /** The form fields `POST /nodes/{node}/qemu|lxc` would get. */
  params: ProxmoxParams;
  checks: DryRunCheck[];
}

export interface ApplyProxmoxOptions {
  spec: ProxmoxSpec;
  client: ProxmoxClient;
  /** From applyGate: a refused gate stops everything before any call to the cluster. */
  gate: ApplyGate;
  /** A VMID to use; default the cluster's next free one. */
  vmid?: number;
  /** For the create task and for a rollback's destroy task each. Default 10 minutes. */
  timeoutMs?: number;
  /** Receives one entry per step (refused, started, done, failed, rolled back). */
  audit?: (entry: AuditEntry) => Promise<void>;
  /** Who the audit entries name; default "ai-provision". */
  actor?: string;
  /** The job the plan came from, for the audit entries. */
  jobId?: string;
}

export interface AppliedProxmox {
  ref: GuestRef;
  upid: string;
}

/** Proxmox VE's API path segment for the spec's kind. */
export function guestKindOf(spec: ProxmoxSpec): GuestKind {
  return spec.kind === 'vm' ? 'qemu' : 'lxc';
}

/** The guest's name: qemu `name`, lxc `hostname`. */
export function guestNameOf(spec: ProxmoxSpec): string {
  return spec.kind === 'vm' ? spec.name : spec.hostname;
}

/**
 * The spec's keys as `POST /nodes/{node}/qemu|lxc` form fields: `vmid` added, `kind` and `node`
 * dropped (they are the path), absent optional keys left out. An LXC spec already names its
 * guest `hostname` and a VM spec `name`, as the API wants. Pure.
 */
export function proxmoxCreateParams(spec: ProxmoxSpec, vmid: number): ProxmoxParams {
  const params: ProxmoxParams = { vmid };
  for (const [key, value] of Object.entries(spec)) {
    if (key === 'kind' || key === 'node' || value === undefined) continue;
    params[key] = value as string | number;
  }
  return params;
}

/**
 * Reads the cluster (no writes) and checks the guest would be created: the node exists and is
 * online, has the memory and idle cores the spec asks for, the VMID (given, else the cluster's
 * next free one) is free, and no guest already has the spec's name. Done(dry run) when every
 * check passes; refused 'proxmox-dry-run-failed' listing every failed check otherwise; failed
 * 'proxmox-dry-run-failed' when the cluster could not be read (retryable when it did not answer).
 */
export async function dryRunProxmoxCreate(
  spec: ProxmoxSpec,
  client: ProxmoxClient,
  options: { vmid?: number } = {},
): Promise<Outcome<ProxmoxDryRun>> {
  const kind = guestKindOf(spec);
  let cluster: { nodes: ClusterNode[]; guests: ClusterGuest[]; vmid: number };
  try {
    const [nodes, guests, vmid] = await Promise.all([
      client.nodes(),
      client.guests(),
      options.vmid ?? client.nextVmid(),
    ]);
    cluster = { nodes, guests, vmid };
  } catch (error) {
    if (!(error instanceof ProxmoxError)) throw error;
    return failed(
      'proxmox-dry-run-failed',
      renderTemplate('apply-cluster-unreadable', { guest: guestText(spec), detail: error.message }),
      isTransient(error),
    );
  }

  const checks = [
    ...nodeChecks(spec, cluster.nodes),
    vmidCheck(cluster.vmid, cluster.guests),
    nameCheck(guestNameOf(spec), cluster.guests),
  ];
  const failing = checks.filter((check) => !check.ok);
  if (failing.length > 0)
    return refused(
      'proxmox-dry-run-failed',
      renderTemplate('apply-dry-run-failed', {
        guest: guestText(spec),
        node: spec.node,
        checks: failing.map((check) => `- ${check.detail}`).join('\n'),
      }),
    );
  return done({
    node: spec.node,
    kind,
    vmid: cluster.vmid,
    params: proxmoxCreateParams(spec, cluster.vmid),
    checks,
  });
}

/**
 * Creates the guest: the gate first (a refused gate is returned as is, with no call to the
 * cluster), then the dry run, then the create task and a wait for it. A task that failed is rolled
 * back: the guest, if Proxmox left it, is destroyed only when it carries APPLY_TAG. A task still
 * running at `timeoutMs` is left alone (it may still finish). Every step goes to `audit`.
 * Failures of the cluster are outcomes; only a bug throws.
 */
export async function applyProxmoxCreate(
  options: ApplyProxmoxOptions,
): Promise<Outcome<AppliedProxmox>> {
  const { spec, client, gate } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  const record = auditor(options);

  if (gate.kind === 'refused') {
    await record('proxmox.create.refused', gate.code);
    return gate;
  }

  const dryRun = await dryRunProxmoxCreate(
    spec,
    client,
    options.vmid === undefined ? {} : { vmid: options.vmid },
  );
  if (dryRun.kind !== 'done') {
    await record(
      dryRun.kind === 'refused' ? 'proxmox.create.refused' : 'proxmox.create.failed',
      `${dryRun.code}: ${dryRun.userMessage}`,
    );
    return dryRun;
  }

  const { node, kind, vmid, params } = dryRun.value;
  const ref: GuestRef = { node, kind, vmid };
  let task: ProxmoxTask;
  try {
    task = await client.create(node, kind, params);
  } catch (error) {
    if (!(error instanceof ProxmoxError)) throw error;
    await record('proxmox.create.failed', `vmid ${vmid}: ${error.message}`);
    return createFailure(options, ref, error, timeoutMs, undefined);
  }
  await record('proxmox.create.started', `vmid ${vmid}, task ${task.upid}; approved by ${gate.by}`);
  try {
    await client.waitForTask(task, { timeoutMs });
  } catch (error) {
    if (!(error instanceof ProxmoxError)) throw error;
    await record('proxmox.create.failed', `vmid ${vmid}, task ${task.upid}: ${error.message}`);
    return createFailure(options, ref, error, timeoutMs, task);
  }
  await record('proxmox.create.done', `vmid ${vmid}, task ${task.upid}`);
  return done({ ref, upid: task.upid });
}

// ---------------------------------------------------------------------------------------------
// Dry-run checks.

function nodeChecks(spec: ProxmoxSpec, nodes: readonly ClusterNode[]): DryRunCheck[] {
  const node = nodes.find((n) => n.node === spec.node);
  if (node === undefined) {
    const known = nodes.map((n) => `\`${n.node}\``).join(', ') || 'none';
    return [
      {
        name: 'node-online',
        ok: false,
        detail: `Node \`${spec.node}\` is not in the cluster (nodes: ${known}).`,
      },
    ];
  }
  // Free room is not knowable on an offline node, so its memory and cores are not judged.
  if (!node.online)
    return [{ name: 'node-online', ok: false, detail: `Node \`${spec.node}\` is offline.` }];
  const freeMiB = Math.floor(Math.max(0, node.memoryBytes - node.memoryUsedBytes) / MIB);
  const totalMiB = Math.floor(node.memoryBytes / MIB);
  const idleCores = Math.max(0, node.cores - node.coresUsed);
  return [
    { name: 'node-online', ok: true, detail: `Node \`${spec.node}\` is online.` },
    {
      name: 'memory',
      ok: spec.memory <= freeMiB,
      detail: `Memory: the guest needs ${spec.memory} MiB; \`${spec.node}\` has ${freeMiB} MiB free of ${totalMiB} MiB.`,
    },
    {
      name: 'cores',
      ok: spec.cores <= idleCores,
      detail: `Cores: the guest needs ${spec.cores}; \`${spec.node}\` has ${roundCores(idleCores)} idle of ${node.cores}.`,
    },
  ];
}

function vmidCheck(vmid: number, guests: readonly ClusterGuest[]): DryRunCheck {
  if (!Number.isInteger(vmid) || vmid < MIN_VMID || vmid > MAX_VMID)
    return {
      name: 'vmid-free',
      ok: false,
      detail: `VMID ${vmid} is not one Proxmox VE accepts (a whole number from ${MIN_VMID} to ${MAX_VMID}).`,
    };
  const holder = guests.find((g) => g.vmid === vmid);
  return holder === undefined
    ? { name: 'vmid-free', ok: true, detail: `VMID ${vmid} is free.` }
    : {
        name: 'vmid-free',
        ok: false,
        detail: `VMID ${vmid} is taken by ${holder.template ? 'template' : 'guest'} \`${holder.name}\` on \`${holder.node}\`.`,
      };
}

function nameCheck(name: string, guests: readonly ClusterGuest[]): DryRunCheck {
  // Proxmox allows duplicate names, but a second guest with our name is most likely an earlier
  // apply of the same plan (a retry after a lost answer): refusing keeps apply idempotent.
  const holder = guests.find((g) => g.name === name);
  return holder === undefined
    ? { name: 'name-free', ok: true, detail: `No guest is named \`${name}\` yet.` }
    : {
        name: 'name-free',
        ok: false,
        detail: `A guest named \`${name}\` already exists: VMID ${holder.vmid} on \`${holder.node}\`.`,
      };
}

// ---------------------------------------------------------------------------------------------
// Failure and rollback.

type Rollback =
  | { kind: 'gone' }
  | { kind: 'destroyed' }
  | { kind: 'untagged' }
  | { kind: 'failed'; detail: string };

async function createFailure(
  options: ApplyProxmoxOptions,
  ref: GuestRef,
  error: ProxmoxError,
  timeoutMs: number,
  task: ProxmoxTask | undefined,
): Promise<Failed> {
  const { spec } = options;
  const guest = guestText(spec);
  if (error.code === 'timeout' && task !== undefined)
    return failed(
      'proxmox-create-failed',
      renderTemplate('apply-create-timeout', {
        guest,
        node: ref.node,
        timeout: durationText(timeoutMs),
        upid: task.upid,
      }),
      false,
    );
  if (error.code !== 'task-failed' || task === undefined)
    // The create call itself (or following its task) failed: whether a guest exists is unknown,
    // and a guest with this VMID may be someone else's, so nothing is destroyed. A retry's dry run
    // refuses on the name if the create did go through.
    return failed(
      'proxmox-create-failed',
      renderTemplate('apply-create-failed', {
        guest,
        node: ref.node,
        detail: error.message,
        rollback: '',
      }),
      isTransient(error),
    );

  const rollback = await rollBack(options, ref, timeoutMs);
  return failed(
    'proxmox-create-failed',
    renderTemplate('apply-create-failed', {
      guest,
      node: ref.node,
      detail: error.message,
      rollback: rollbackText(rollback, ref.vmid),
    }),
    false,
  );
}

/** Destroys what a failed create left, only when it carries APPLY_TAG. Never throws for the cluster. */
async function rollBack(
  options: ApplyProxmoxOptions,
  ref: GuestRef,
  timeoutMs: number,
): Promise<Rollback> {
  const { client } = options;
  const record = auditor(options);
  try {
    const left = (await client.guests()).find((g) => g.vmid === ref.vmid);
    if (left === undefined) return { kind: 'gone' };
    if (!left.tags.includes(APPLY_TAG) || left.template) {
      await record('proxmox.create.rollback-skipped', `vmid ${ref.vmid} has no ${APPLY_TAG} tag`);
      return { kind: 'untagged' };
    }
    const task = await client.destroy({ node: left.node, kind: left.kind, vmid: left.vmid });
    await client.waitForTask(task, { timeoutMs });
    await record('proxmox.create.rolled-back', `vmid ${ref.vmid} destroyed, task ${task.upid}`);
    return { kind: 'destroyed' };
  } catch (error) {
    if (!(error instanceof ProxmoxError)) throw error;
    await record('proxmox.create.rollback-failed', `vmid ${ref.vmid}: ${error.message}`);
    return { kind: 'failed', detail: error.message };
  }
}

function rollbackText(rollback: Rollback, vmid: number): string {
  switch (rollback.kind) {
    case 'gone':
      return renderTemplate('apply-rollback-gone', {});
    case 'destroyed':
      return renderTemplate('apply-rollback-destroyed', { vmid: String(vmid) });
    case 'untagged':
      return renderTemplate('apply-rollback-untagged', { vmid: String(vmid) });
    case 'failed':
      return renderTemplate('apply-rollback-failed', {
        vmid: String(vmid),
        detail: rollback.detail,
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** A cluster that did not answer may answer later; anything else needs a person. */
function isTransient(error: ProxmoxError): boolean {
  return error.code === 'unreachable' || error.code === 'timeout';
}

function auditor(options: ApplyProxmoxOptions): (action: string, detail: string) => Promise<void> {
  const { audit, spec } = options;
  return async (action, detail) => {
    if (audit === undefined) return;
    await audit({
      at: new Date().toISOString(),
      actor: options.actor ?? DEFAULT_ACTOR,
      action,
      target: `proxmox:${spec.node}/${guestNameOf(spec)}`,
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      detail,
    });
  };
}

function guestText(spec: ProxmoxSpec): string {
  return `${spec.kind === 'vm' ? 'VM' : 'container'} \`${guestNameOf(spec)}\``;
}

function roundCores(cores: number): string {
  return String(Math.round(cores * 10) / 10);
}

function durationText(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${Math.round(ms / 100) / 10} s`;
  return `${ms} ms`;
}
