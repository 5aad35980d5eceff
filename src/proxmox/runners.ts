/**
 * The runner manager: makes and removes the bot's runner guests on a Proxmox VE cluster. A runner
 * is a clone of a runner template, named `ai-provision-runner-<vmid>`, tagged with the runner tag,
 * sized from the settings and told at first boot (cloud-init user data for a VM, the `env` config
 * for a container) how to join the queue with a fresh token.
 *
 * Safety is the point of this module. Only the bot's own runners are ever stopped or destroyed:
 * right before every stop and destroy the guest's config is read again, and the call is refused
 * (ProxmoxError 'refused') unless the guest carries the runner tag, is not a template and still
 * has the name the bot gave it. A guest is tagged only by `configure`, and only when it is a
 * non-template guest with the name of the runner being configured.
 *
 * The step methods (startProvision → configure → start; beginTeardown → destroy →
 * removeBootConfig) each make one change and never wait, for the autoscale loop; `provision` and
 * `teardown` chain them and wait on the clock, for the CLI.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observe/logger.js';
import {
  newRunnerToken,
  runnerLxcEnv,
  runnerTokenHash,
  runnerUserData,
  type RunnerBootConfig,
} from './cloud-init.js';
import {
  ProxmoxError,
  systemClock,
  type ClusterGuest,
  type ClusterNode,
  type Clock,
  type GuestRef,
  type ProxmoxClient,
  type ProxmoxTask,
  type RunnerRegistry,
  type RunnerSettings,
  type RunnerTemplateRef,
} from './types.js';
import { errorText } from '../outcome.js';

export interface RunnerManagerOptions {
  client: ProxmoxClient;
  settings: RunnerSettings;
  registry: RunnerRegistry;
  /** What `provision` and `teardown` wait on; systemClock by default. */
  clock?: Clock;
  log?: Logger;
  /**
   * Where VM user data is written: `path` is inside settings.snippets.dir. Defaults to node:fs
   * (the file is created 0600: it holds the runner's token and the Redis URL). `remove` of a
   * missing file must succeed.
   */
  files?: { write(path: string, text: string): Promise<void>; remove(path: string): Promise<void> };
  /** A fresh runner token; newRunnerToken by default. */
  newToken?: () => string;
}

/** One of the bot's runners as the cluster lists it. */
export interface RunnerGuest extends ClusterGuest {
  /** runnerIdFor(vmid): also the guest's name and the id it registers with in the queue. */
  runnerId: string;
}

/** What step 1 of a provision started; steps 2 and 3 and the registration check need it. */
export interface ProvisionStart {
  runnerId: string;
  /** The new guest (on the node it was placed on). */
  ref: GuestRef;
  /** The clone task (runs on the template's node). */
  task: ProxmoxTask;
  /** The runner's secret: goes into its boot config only, never into a log. */
  token: string;
  /** runnerTokenHash(token): what the runner publishes in the registry. */
  tokenHash: string;
  template: GuestRef;
}

/**
 * Makes and removes runner guests. Failures are ProxmoxError: 'refused' when the bot will not do
 * it (not its guest, no usable template, no VM snippets storage), otherwise the client's codes.
 */
export interface RunnerManager {
  /**
   * Our runners, from a fresh cluster read: non-template guests carrying settings.tag whose name
   * is runnerIdFor(vmid). A guest mid-clone is listed once `configure` tagged it (or when the
   * template itself carries the tag).
   */
  list(): Promise<RunnerGuest[]>;
  /**
   * The online, allowed node (settings.nodes; empty = all) with the most free memory, then free
   * cores, then the lowest name, that a usable template can be cloned to and where settings.size
   * fits: free memory ≥ size (after `pending[node]` runners already promised there but not running
   * yet) and at least size.cores cores. Skips `exclude`. Undefined when none fits. Throws
   * 'refused' when no configured template is usable at all.
   */
  chooseNode(options?: {
    exclude?: string[];
    pending?: Record<string, number>;
  }): Promise<string | undefined>;
  /**
   * Step 1: a fresh VMID and the clone of the template for `node` onto `node` — linked on the
   * template's node unless settings.clone is 'full', full elsewhere ('linked' only places runners on
   * the template's node); name = runnerId, pool, storage (full clones), description
   * "ai-provision runner (created <ISO>)". A VMID taken meanwhile by someone else is retried with a
   * fresh one (twice at most). Refuses a node that is not allowed or has no usable template.
   */
  startProvision(node: string): Promise<ProvisionStart>;
  /**
   * Step 2, after the clone task is OK: tags (the clone's + settings.tag, in a call of their own so
   * the guest is ours as early as possible), cores and memory from settings.size, then the boot
   * config — VM: snippet `ai-provision-<runnerId>.yaml` in settings.snippets.dir and
   * `cicustom: user=<storage>:snippets/<file>` (other cicustom parts kept); LXC: `env`. Refuses a
   * guest that is a template or not named runnerId. Idempotent.
   */
  configure(start: ProvisionStart): Promise<void>;
  /** Step 3: the start task. */
  start(ref: GuestRef): Promise<ProxmoxTask>;
  /** Registered with the queue under `runnerId` and, when given, with this token hash. */
  isRegistered(runnerId: string, tokenHash?: string): Promise<boolean>;
  /**
   * For the CLI: steps 1–3 waiting for each task, then until the runner registers (checked every
   * 2 s, for `bootTimeoutMs`). On a failure the half-made guest is torn down (when it is ours by
   * then) and the error thrown; a failed clone on a node the manager chose is retried once on the
   * next best node.
   */
  provision(options: { bootTimeoutMs: number; node?: string }): Promise<RunnerGuest>;
  /**
   * Re-reads the guest's status and config; refuses unless it is ours (see the file header), then
   * a hard stop. Undefined (and no call) when it is already stopped.
   */
  beginTeardown(ref: GuestRef): Promise<ProxmoxTask | undefined>;
  /**
   * After the stop: re-reads the config, refuses unless ours, then the destroy task (disks
   * purged). The boot config stays until `removeBootConfig`, once that task is OK.
   */
  destroy(ref: GuestRef): Promise<ProxmoxTask>;
  /** Removes the runner's snippet file (VM templates); nothing when there is none. */
  removeBootConfig(runnerId: string): Promise<void>;
  /**
   * For the CLI: refuses unless ours, asks the runner to drain, waits (at most `drainTimeoutMs`)
   * until it leaves the registry or runs nothing, then stop, destroy and boot config removal,
   * waiting for each task.
   */
  teardown(ref: GuestRef, options: { drainTimeoutMs: number }): Promise<void>;
}

/** The runner id, guest name and hostname of the runner in guest `vmid`. */
export function runnerIdFor(vmid: number): string {
  return `ai-provision-runner-${vmid}`;
}

const RUNNER_ID = /^ai-provision-runner-(?<vmid>[1-9]\d*)$/;
const MIB = 1024 * 1024;
/** Full clones copy whole disks: they get longer than the client's default task timeout. */
const CLONE_TIMEOUT_MS = 30 * 60_000;
const TASK_TIMEOUT_MS = 10 * 60_000;
const TASK_POLL_MS = 1_000;
const REGISTRATION_POLL_MS = 2_000;
const DRAIN_POLL_MS = 5_000;
/** Attempts at step 1 when the fresh VMID turns out taken (another tool cloning at the same time). */
const CLONE_ATTEMPTS = 3;
/** Clone failures another node may not have. */
const RETRIED_ELSEWHERE: ProxmoxError['code'][] = [
  'task-failed',
  'unreachable',
  'conflict',
  'rejected',
];

/** Where a runner template sits and how it may be cloned. */
interface UsableTemplate {
  entry: RunnerTemplateRef;
  guest: ClusterGuest;
}

/** How a runner is cloned onto a node. */
interface ClonePlan {
  template: ClusterGuest;
  full: boolean;
}

/** Proxmox writes tags `;`-separated; older versions and hand edits use `,` or spaces. */
function tagsOf(value: string | number | undefined): string[] {
  if (value === undefined) return [];
  return String(value)
    .split(/[;,\s]+/)
    .filter((tag) => tag !== '');
}

function isTemplateConfig(config: Record<string, string | number>): boolean {
  const value = config.template;
  return value !== undefined && value !== 0 && value !== '0' && value !== '';
}

/** The name a guest's config carries: qemu `name`, lxc `hostname`. */
function nameInConfig(config: Record<string, string | number>, kind: GuestRef['kind']): string {
  const value = kind === 'lxc' ? (config.hostname ?? config.name) : config.name;
  return value === undefined ? '' : String(value);
}

function guestLabel(ref: GuestRef): string {
  return `${ref.kind === 'lxc' ? 'container' : 'VM'} ${ref.vmid} on ${ref.node}`;
}

function refOf(guest: GuestRef): GuestRef {
  return { node: guest.node, kind: guest.kind, vmid: guest.vmid };
}

function hasCode(error: unknown, ...codes: ProxmoxError['code'][]): boolean {
  return error instanceof ProxmoxError && codes.includes(error.code);
}

function snippetFile(runnerId: string): string {
  return `ai-provision-${runnerId}.yaml`;
}

/** `user=local:snippets/a.yaml,network=…` with `user` replaced (or added), the rest kept. */
function withUserData(current: string | number | undefined, volume: string): string {
  const parts = (current === undefined ? '' : String(current))
    .split(',')
    .filter((part) => part !== '' && !part.startsWith('user='));
  return [`user=${volume}`, ...parts].join(',');
}

async function defaultWrite(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
}

async function defaultRemove(path: string): Promise<void> {
  await rm(path, { force: true });
}

export function createRunnerManager(options: RunnerManagerOptions): RunnerManager {
  const { client, settings, registry, log } = options;
  const clock = options.clock ?? systemClock;
  const files = options.files ?? { write: defaultWrite, remove: defaultRemove };
  const newToken = options.newToken ?? newRunnerToken;
  const tag = settings.tag.toLowerCase();
  const runnerBytes = settings.size.memoryMiB * MIB;

  function isOurs(guest: ClusterGuest): boolean {
    return !guest.template && guest.tags.includes(tag) && guest.name === runnerIdFor(guest.vmid);
  }

  function allowed(node: string): boolean {
    return settings.nodes.length === 0 || settings.nodes.includes(node);
  }

  /** The configured templates the cluster really has, and what is wrong with the others. */
  function templatesIn(guests: ClusterGuest[]): { usable: UsableTemplate[]; problems: string[] } {
    const usable: UsableTemplate[] = [];
    const problems: string[] = [];
    for (const entry of settings.templates) {
      const guest = guests.find((candidate) => candidate.vmid === entry.vmid);
      if (guest === undefined) {
        problems.push(`AI_PROVISION_PROXMOX_TEMPLATE: guest ${entry.vmid} does not exist`);
      } else if (!guest.template) {
        problems.push(
          `AI_PROVISION_PROXMOX_TEMPLATE: guest ${entry.vmid} (${guest.name}) is not a template; convert it (qm template ${entry.vmid}, pct template ${entry.vmid} for a container) or name the runner template there`,
        );
      } else if (entry.node !== undefined && guest.node !== entry.node) {
        problems.push(
          `AI_PROVISION_PROXMOX_TEMPLATE: template ${entry.vmid} is on ${guest.node}, not on ${entry.node}`,
        );
      } else {
        usable.push({ entry, guest });
      }
    }
    return { usable, problems };
  }

  /** How to clone a runner onto `node`, or undefined when no usable template can. */
  function planFor(
    node: string,
    usable: UsableTemplate[],
    online: Set<string>,
  ): ClonePlan | undefined {
    const pinned = usable.find((template) => template.entry.node === node);
    if (pinned !== undefined) return { template: pinned.guest, full: settings.clone === 'full' };
    // A template named without a node serves every node; its clone task runs on its own node.
    const floating = usable.filter(
      (template) => template.entry.node === undefined && online.has(template.guest.node),
    );
    const local = floating.find((template) => template.guest.node === node);
    if (local !== undefined) return { template: local.guest, full: settings.clone === 'full' };
    if (settings.clone === 'linked' || floating[0] === undefined) return undefined;
    return { template: floating[0].guest, full: true };
  }

  function refusedTemplates(node: string | undefined, problems: string[]): ProxmoxError {
    const where = node === undefined ? 'any node' : node;
    const why =
      problems.length > 0
        ? problems.join('; ')
        : settings.clone === 'linked'
          ? 'AI_PROVISION_PROXMOX_CLONE=linked places runners on the template’s node only'
          : 'no template in AI_PROVISION_PROXMOX_TEMPLATE serves it';
    return new ProxmoxError('refused', `no runner template can be cloned to ${where}: ${why}`, {
      ...(node === undefined ? {} : { node }),
    });
  }

  async function list(): Promise<RunnerGuest[]> {
    const guests = await client.guests();
    return guests.filter(isOurs).map((guest) => ({ ...guest, runnerId: runnerIdFor(guest.vmid) }));
  }

  async function chooseNode(
    choice: { exclude?: string[]; pending?: Record<string, number> } = {},
  ): Promise<string | undefined> {
    const [nodes, guests] = await Promise.all([client.nodes(), client.guests()]);
    const { usable, problems } = templatesIn(guests);
    if (usable.length === 0) throw refusedTemplates(undefined, problems);
    if (problems.length > 0) log?.warn({ problems }, 'runner templates: some are unusable');
    const online = new Set(nodes.filter((node) => node.online).map((node) => node.node));
    const exclude = new Set(choice.exclude ?? []);
    const fits: { node: ClusterNode; freeBytes: number; freeCores: number }[] = [];
    for (const node of nodes) {
      if (!node.online || !allowed(node.node) || exclude.has(node.node)) continue;
      if (planFor(node.node, usable, online) === undefined) continue;
      const promised = Math.max(0, choice.pending?.[node.node] ?? 0);
      const freeBytes = node.memoryBytes - node.memoryUsedBytes - promised * runnerBytes;
      const freeCores = node.cores - node.coresUsed - promised * settings.size.cores;
      // CPU is shared (Proxmox overcommits it); memory is not. A guest cannot have more vCPUs than its host.
      if (freeBytes < runnerBytes || node.cores < settings.size.cores) continue;
      fits.push({ node, freeBytes, freeCores });
    }
    fits.sort(
      (a, b) =>
        b.freeBytes - a.freeBytes ||
        b.freeCores - a.freeCores ||
        a.node.node.localeCompare(b.node.node),
    );
    return fits[0]?.node.node;
  }

  async function startProvision(node: string): Promise<ProvisionStart> {
    if (!allowed(node)) {
      throw new ProxmoxError(
        'refused',
        `node ${node} is not in AI_PROVISION_PROXMOX_NODES (${settings.nodes.join(',')})`,
        { node },
      );
    }
    const [nodes, guests] = await Promise.all([client.nodes(), client.guests()]);
    const online = new Set(nodes.filter((entry) => entry.online).map((entry) => entry.node));
    const { usable, problems } = templatesIn(guests);
    const plan = planFor(node, usable, online);
    if (plan === undefined) throw refusedTemplates(node, problems);
    const template = refOf(plan.template);
    const token = newToken();
    const tokenHash = runnerTokenHash(token);
    // Bounded: the catch rethrows at CLONE_ATTEMPTS.
    for (let attempt = 1; ; attempt++) {
      const vmid = await client.nextVmid();
      const runnerId = runnerIdFor(vmid);
      try {
        const task = await client.clone(template, {
          newid: vmid,
          name: runnerId,
          ...(node === template.node ? {} : { target: node }),
          full: plan.full,
          // Proxmox takes a target storage for full clones only.
          ...(plan.full && settings.storage !== undefined ? { storage: settings.storage } : {}),
          ...(settings.pool === undefined ? {} : { pool: settings.pool }),
          description: `ai-provision runner (created ${new Date(clock.now()).toISOString()})`,
        });
        log?.info(
          { runnerId, node, template: template.vmid, full: plan.full, upid: task.upid },
          'runner clone started',
        );
        return {
          runnerId,
          ref: { node, kind: template.kind, vmid },
          task,
          token,
          tokenHash,
          template,
        };
      } catch (error) {
        if (!hasCode(error, 'conflict') || attempt >= CLONE_ATTEMPTS) throw error;
        // proxmox-api retries a POST that timed out once: "already exists" may be our own clone.
        const holder = (await client.guests()).find((guest) => guest.vmid === vmid);
        if (holder?.name === runnerId) {
          throw new ProxmoxError(
            'conflict',
            `the clone of ${runnerId} answered "already exists" after a retried request: guest ${vmid} on ${holder.node} may be that clone, untagged; check it and remove it by hand`,
            { node },
          );
        }
        log?.warn({ vmid, node, attempt }, 'runner vmid taken meanwhile; trying a fresh one');
      }
    }
  }

  async function configure(start: ProvisionStart): Promise<void> {
    const { ref, runnerId } = start;
    if (runnerId !== runnerIdFor(ref.vmid)) {
      throw new ProxmoxError(
        'refused',
        `runner id ${runnerId} does not belong to ${guestLabel(ref)}`,
        {
          node: ref.node,
        },
      );
    }
    const config = await client.config(ref);
    const name = nameInConfig(config, ref.kind);
    // Tagging makes a guest destroyable by the bot: only the clone it just made may get the tag.
    if (isTemplateConfig(config) || name !== runnerId) {
      throw new ProxmoxError(
        'refused',
        `${guestLabel(ref)} (${name || 'no name'}) is not the runner ${runnerId} the bot cloned; it is left alone`,
        { node: ref.node },
      );
    }
    const tags = tagsOf(config.tags);
    if (!tags.some((existing) => existing.toLowerCase() === tag)) {
      await client.updateConfig(ref, { tags: [...tags, settings.tag].join(';') });
    }
    const boot: RunnerBootConfig = {
      runnerId,
      labels: settings.labels,
      concurrency: settings.concurrency,
      redisUrl: settings.redisUrl,
      queuePrefix: settings.queuePrefix,
      token: start.token,
    };
    const size = { cores: settings.size.cores, memory: settings.size.memoryMiB };
    if (ref.kind === 'lxc') {
      await client.updateConfig(ref, { ...size, env: runnerLxcEnv(boot) });
      return;
    }
    const snippets = settings.snippets;
    if (snippets === undefined) {
      throw new ProxmoxError(
        'refused',
        `runner template ${start.template.vmid} is a VM: its runners get their boot config as a cloud-init snippet, so set AI_PROVISION_PROXMOX_SNIPPETS=<storage>:<dir> (a snippets storage shared with the nodes)`,
        { node: ref.node },
      );
    }
    const file = snippetFile(runnerId);
    await files.write(join(snippets.dir, file), runnerUserData(boot));
    await client.updateConfig(ref, {
      ...size,
      cicustom: withUserData(config.cicustom, `${snippets.storage}:snippets/${file}`),
    });
  }

  /** Reads the guest's config now and throws 'refused' unless it is one of our runners. */
  async function assertOurs(ref: GuestRef, action: string): Promise<void> {
    const config = await client.config(ref);
    const name = nameInConfig(config, ref.kind);
    const reasons: string[] = [];
    if (isTemplateConfig(config)) reasons.push('it is a template');
    if (!tagsOf(config.tags).some((existing) => existing.toLowerCase() === tag))
      reasons.push(`it does not carry the tag ${settings.tag}`);
    if (name !== runnerIdFor(ref.vmid))
      reasons.push(`its name ${JSON.stringify(name)} is not ${runnerIdFor(ref.vmid)}`);
    if (reasons.length === 0) return;
    log?.error({ ...ref, name, action, reasons }, 'refused to touch a guest that is not a runner');
    throw new ProxmoxError(
      'refused',
      `refused to ${action} ${guestLabel(ref)} (${name || 'no name'}): ${reasons.join(', ')}; the bot only stops and destroys its own runners`,
      { node: ref.node },
    );
  }

  async function beginTeardown(ref: GuestRef): Promise<ProxmoxTask | undefined> {
    const { status } = await client.status(ref);
    // Checked even when there is nothing to stop: a caller going on to destroy learns it now.
    await assertOurs(ref, 'stop');
    if (status === 'stopped') return undefined;
    const task = await client.stop(ref);
    log?.info({ ...ref, upid: task.upid }, 'runner stop started');
    return task;
  }

  async function destroy(ref: GuestRef): Promise<ProxmoxTask> {
    await assertOurs(ref, 'destroy');
    const task = await client.destroy(ref);
    log?.info({ ...ref, upid: task.upid }, 'runner destroy started');
    return task;
  }

  async function removeBootConfig(runnerId: string): Promise<void> {
    // The id becomes part of a path: only ids this module makes are accepted.
    if (!RUNNER_ID.test(runnerId)) throw new Error(`not a runner id: ${JSON.stringify(runnerId)}`);
    if (settings.snippets === undefined) return;
    await files.remove(join(settings.snippets.dir, snippetFile(runnerId)));
  }

  async function isRegistered(runnerId: string, tokenHash?: string): Promise<boolean> {
    const entries = await registry.list();
    return entries.some(
      (entry) =>
        entry.id === runnerId && (tokenHash === undefined || entry.tokenHash === tokenHash),
    );
  }

  function waitFor(task: ProxmoxTask, timeoutMs = TASK_TIMEOUT_MS): Promise<void> {
    return client.waitForTask(task, { timeoutMs, pollMs: TASK_POLL_MS });
  }

  /** Stop, destroy, boot config: waiting for each task. */
  async function remove(ref: GuestRef): Promise<void> {
    const stop = await beginTeardown(ref);
    if (stop !== undefined) await waitFor(stop);
    await waitFor(await destroy(ref));
    await removeBootConfig(runnerIdFor(ref.vmid));
  }

  /** A half-made runner after a failed provision: removed when possible, logged when not. */
  async function discard(ref: GuestRef, why: string): Promise<void> {
    try {
      await remove(ref);
      log?.info({ ...ref, why }, 'half-made runner removed');
    } catch (error) {
      if (hasCode(error, 'not-found')) {
        await removeBootConfig(runnerIdFor(ref.vmid)).catch(() => undefined);
        return;
      }
      log?.error(
        {
          ...ref,
          why,
          code: error instanceof ProxmoxError ? error.code : undefined,
          err: errorText(error),
        },
        'could not remove a half-made runner; remove it by hand',
      );
    }
  }

  async function waitUntilRegistered(start: ProvisionStart, bootTimeoutMs: number): Promise<void> {
    const deadline = clock.now() + bootTimeoutMs;
    // Bounded by the deadline: each turn returns or sleeps towards it.
    for (;;) {
      if (await isRegistered(start.runnerId, start.tokenHash)) return;
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new ProxmoxError(
          'timeout',
          `runner ${start.runnerId} on ${start.ref.node} did not register with the queue within ${bootTimeoutMs} ms`,
          { node: start.ref.node },
        );
      }
      await clock.sleep(Math.min(REGISTRATION_POLL_MS, left));
    }
  }

  /** Step 1 on one node, waiting for the clone task; a failed clone's leftovers are removed. */
  async function cloneOn(node: string): Promise<ProvisionStart> {
    const start = await startProvision(node);
    try {
      await waitFor(start.task, CLONE_TIMEOUT_MS);
    } catch (error) {
      // A clone still running (timeout) holds its lock: nothing can be removed yet.
      if (!hasCode(error, 'timeout')) await discard(start.ref, 'clone failed');
      throw error;
    }
    return start;
  }

  /** Steps 2 and 3 and the registration; the half-made runner is removed on failure. */
  async function finish(start: ProvisionStart, bootTimeoutMs: number): Promise<void> {
    try {
      await configure(start);
      await waitFor(await client.start(start.ref));
      await waitUntilRegistered(start, bootTimeoutMs);
    } catch (error) {
      await discard(start.ref, errorText(error));
      throw error;
    }
  }

  async function provision(choice: { bootTimeoutMs: number; node?: string }): Promise<RunnerGuest> {
    const first = choice.node ?? (await chooseNode());
    if (first === undefined) {
      throw new ProxmoxError(
        'refused',
        `no node has room for a runner (${settings.size.cores} cores, ${settings.size.memoryMiB} MiB)`,
      );
    }
    let start: ProvisionStart;
    try {
      start = await cloneOn(first);
    } catch (error) {
      // Another node may do better; bad credentials, a refusal or a slow clone would not.
      if (choice.node !== undefined || !hasCode(error, ...RETRIED_ELSEWHERE)) throw error;
      const next = await chooseNode({ exclude: [first] });
      if (next === undefined) throw error;
      log?.warn(
        { node: first, next, code: (error as ProxmoxError).code, err: errorText(error) },
        'runner clone failed; trying the next best node',
      );
      start = await cloneOn(next);
    }
    await finish(start, choice.bootTimeoutMs);
    const guest = (await list()).find((candidate) => candidate.vmid === start.ref.vmid);
    if (guest === undefined) {
      throw new ProxmoxError(
        'not-found',
        `runner ${start.runnerId} registered but its guest is not listed as a runner`,
        { node: start.ref.node },
      );
    }
    return guest;
  }

  async function start(ref: GuestRef): Promise<ProxmoxTask> {
    const task = await client.start(ref);
    log?.info({ ...ref, upid: task.upid }, 'runner start started');
    return task;
  }

  async function teardown(ref: GuestRef, choice: { drainTimeoutMs: number }): Promise<void> {
    // Not ours → refused before the runner (someone else's) is even asked to drain.
    await assertOurs(ref, 'tear down');
    const runnerId = runnerIdFor(ref.vmid);
    if ((await registry.list()).some((entry) => entry.id === runnerId)) {
      await registry.requestDrain(runnerId);
      const deadline = clock.now() + choice.drainTimeoutMs;
      // Bounded by the deadline: each turn returns or sleeps towards it.
      for (;;) {
        const entry = (await registry.list()).find((candidate) => candidate.id === runnerId);
        if (entry === undefined || entry.running === 0) break;
        const left = deadline - clock.now();
        if (left <= 0) {
          log?.warn(
            { runnerId, running: entry.running },
            'runner still busy at the drain deadline',
          );
          break;
        }
        await clock.sleep(Math.min(DRAIN_POLL_MS, left));
      }
    }
    await remove(ref);
    log?.info({ ...ref, runnerId }, 'runner removed');
  }

  return {
    list,
    chooseNode,
    startProvision,
    configure,
    start,
    isRegistered,
    provision,
    beginTeardown,
    destroy,
    removeBootConfig,
    teardown,
  };
}
