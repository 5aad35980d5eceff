/**
 * The shapes every part of src/proxmox/ shares: the client port (what the bot asks of a Proxmox VE
 * cluster), the settings read from the environment, the runner manager's and autoscaler's values,
 * and the clock they run on. No behaviour here beyond the error class and the clocks.
 */

// ---------------------------------------------------------------------------------------------
// The cluster as the client sees it

/** Proxmox VE's two guest types, named as in its API paths (`/nodes/{node}/qemu|lxc/{vmid}`). */
export type GuestKind = 'qemu' | 'lxc';

export interface GuestRef {
  node: string;
  kind: GuestKind;
  vmid: number;
}

/** One row of `GET /cluster/resources?type=vm`. */
export interface ClusterGuest extends GuestRef {
  name: string;
  /** 'running' | 'stopped' | 'paused' … as Proxmox reports it. */
  status: string;
  /** Parsed from the `;`-separated `tags` field, lower-cased, empty when none. */
  tags: string[];
  template: boolean;
  /** Present while an operation holds the guest ('clone', 'create', 'migrate', …). */
  lock?: string;
  /** Seconds since start; 0 when stopped. */
  uptimeS: number;
  cores: number;
  memoryBytes: number;
}

/** One row of `GET /cluster/resources?type=node`. */
export interface ClusterNode {
  node: string;
  online: boolean;
  cores: number;
  /** Cores in use now (Proxmox's `cpu` fraction × `maxcpu`). */
  coresUsed: number;
  memoryBytes: number;
  memoryUsedBytes: number;
}

/** A long operation Proxmox runs as a task: the node it runs on and its UPID. */
export interface ProxmoxTask {
  node: string;
  upid: string;
}

export type TaskState =
  | { state: 'running' }
  | { state: 'ok' }
  /** `exitstatus` as Proxmox wrote it, e.g. "clone failed: no space left on device". */
  | { state: 'failed'; exitstatus: string };

/** Parameters as the API takes them (form fields); booleans are sent as 1/0. */
export type ProxmoxParams = Record<string, string | number | boolean | undefined>;

export interface CloneParams {
  newid: number;
  /** The new guest's name (qemu `name`, lxc `hostname`). */
  name: string;
  /** Node to create the clone on, when it is not the template's node. */
  target?: string;
  /** Full clone (copies disks); false = linked clone (template's node only). */
  full: boolean;
  storage?: string;
  pool?: string;
  description?: string;
}

/**
 * Why a Proxmox call failed, so callers can react without reading messages:
 * - unreachable: network error, timeout of the HTTP call, or 595/596 (node offline behind the proxy)
 * - auth: 401 (bad token/ticket/password) — not retried
 * - forbidden: 403 (the token lacks a privilege) — not retried
 * - not-found: the guest/node/task does not exist (Proxmox answers 500 "does not exist" / 404)
 * - conflict: the vmid is taken, the guest is locked or running when it must not be
 * - rejected: 400 parameter errors and other 4xx/5xx answers
 * - task-failed: a task ended with an exitstatus other than OK
 * - timeout: waitForTask ran out of time (the task may still finish)
 * - tls: the server's certificate was not trusted
 * - refused: the bot refused (e.g. a guest without the bot's tag)
 */
export type ProxmoxErrorCode =
  | 'unreachable'
  | 'auth'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'rejected'
  | 'task-failed'
  | 'timeout'
  | 'tls'
  | 'refused';

export class ProxmoxError extends Error {
  readonly code: ProxmoxErrorCode;
  /** The node the call was about, when there is one (lets the autoscaler avoid it for a while). */
  readonly node?: string;
  /** HTTP status, when the API answered. */
  readonly status?: number;

  constructor(
    code: ProxmoxErrorCode,
    message: string,
    options: { node?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxmoxError';
    this.code = code;
    if (options.node !== undefined) this.node = options.node;
    if (options.status !== undefined) this.status = options.status;
  }
}

/**
 * What the bot asks of a Proxmox VE cluster. One implementation (client.ts) on `proxmox-api`;
 * every method is one rate-limited HTTP call with a timeout, except waitForTask which polls.
 * Failures are ProxmoxError.
 */
export interface ProxmoxClient {
  version(): Promise<{ version: string; release: string }>;
  /** Every guest in the cluster (`/cluster/resources?type=vm`), templates included. */
  guests(): Promise<ClusterGuest[]>;
  /** Every node (`/cluster/resources?type=node`), offline ones included. */
  nodes(): Promise<ClusterNode[]>;
  /** A free VMID (`/cluster/nextid`). */
  nextVmid(): Promise<number>;
  /** Clones `source` (a template) into `params.newid`; the task runs on the source's node. */
  clone(source: GuestRef, params: CloneParams): Promise<ProxmoxTask>;
  /** Creates a guest (`POST /nodes/{node}/qemu|lxc`) from API parameters (vmid among them). */
  create(node: string, kind: GuestKind, params: ProxmoxParams): Promise<ProxmoxTask>;
  /** The guest's current config (`GET …/config`), values as Proxmox returns them. */
  config(ref: GuestRef): Promise<Record<string, string | number>>;
  /** Sets config keys synchronously (`PUT …/config`); `delete` removes keys. */
  updateConfig(ref: GuestRef, params: ProxmoxParams): Promise<void>;
  /** `GET …/status/current`. */
  status(ref: GuestRef): Promise<{ status: string; uptimeS: number; lock?: string }>;
  start(ref: GuestRef): Promise<ProxmoxTask>;
  /** ACPI shutdown, forced off after `timeoutS` when `forceStop`. */
  shutdown(ref: GuestRef, options: { timeoutS: number; forceStop: boolean }): Promise<ProxmoxTask>;
  /** Hard stop. */
  stop(ref: GuestRef): Promise<ProxmoxTask>;
  /** Destroys the guest and its disks (`purge=1`, `destroy-unreferenced-disks=1`). */
  destroy(ref: GuestRef): Promise<ProxmoxTask>;
  /** One look at a task (`GET /nodes/{node}/tasks/{upid}/status`). */
  taskStatus(task: ProxmoxTask): Promise<TaskState>;
  /**
   * Polls the task until it stops: resolves when it ended OK, throws ProxmoxError 'task-failed'
   * (message = exitstatus) or 'timeout'. Polls every `pollMs` (default 1000) on the client's clock.
   */
  waitForTask(
    task: ProxmoxTask,
    options?: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal },
  ): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Settings (read from the environment by settings.ts)

export type ProxmoxAuth =
  | { kind: 'token'; tokenId: string; tokenSecret: string }
  | { kind: 'password'; username: string; password: string };

export type ProxmoxTls =
  /** Verify the server's certificate against the system CAs, plus `caPem` when given. */
  | { kind: 'verify'; caPem?: string; caFile?: string }
  /** Only when PROXMOX_TLS_INSECURE=true is set explicitly. */
  | { kind: 'insecure' };

export interface ProxmoxConnection {
  /** e.g. https://pve1.example.com:8006 (no path). */
  url: string;
  auth: ProxmoxAuth;
  tls: ProxmoxTls;
  /** Per HTTP call. */
  timeoutMs: number;
}

export interface RunnerSize {
  cores: number;
  memoryMiB: number;
}

/** A runner template: on one node (linked or full clones to others) or one per node. */
export interface RunnerTemplateRef {
  /** Absent = wherever the cluster says that VMID lives. */
  node?: string;
  vmid: number;
}

export interface RunnerSettings {
  templates: RunnerTemplateRef[];
  /** Nodes runners may be placed on; empty = every online node. */
  nodes: string[];
  /** Clone target storage (full clones); absent = the template's. */
  storage?: string;
  /** Resource pool the runners join. */
  pool?: string;
  /** 'auto': linked clone on the template's node, full clone elsewhere. */
  clone: 'auto' | 'full' | 'linked';
  size: RunnerSize;
  /** Queue labels the runners pull. */
  labels: string[];
  /** Jobs at once per runner. */
  concurrency: number;
  /** Redis URL as the guests reach it. */
  redisUrl: string;
  queuePrefix: string;
  /**
   * VM templates only: where the runner's cloud-init user data is written. `dir` is that storage's
   * snippets directory as mounted on the bot's host (a storage shared with the nodes).
   */
  snippets?: { storage: string; dir: string };
  /** The tag that marks a guest as the bot's runner; only such guests are ever stopped or destroyed. */
  tag: string;
}

export interface AutoscalerSettings {
  min: number;
  max: number;
  pollMs: number;
  /** Scale up when waiting jobs ÷ runners stays above this … */
  backlogPerRunner: number;
  /** … for this many polls in a row. */
  scaleUpPolls: number;
  /** A runner idle this long (and nothing waiting) is drained and removed, down to `min`. */
  cooldownMs: number;
  /** A started runner that has not registered with the queue by then is torn down. */
  bootTimeoutMs: number;
  /** A draining runner still busy after this is torn down anyway (its job goes back to the queue). */
  drainTimeoutMs: number;
  /** A node where a task failed or that did not answer is avoided this long. */
  nodeBackoffMs: number;
  /** Provisions started per poll at most. */
  maxStepUp: number;
}

// ---------------------------------------------------------------------------------------------
// Runners and the queue's view of them

/** A runner as the queue's registry sees it (a heartbeat in Redis). */
export interface RegisteredRunner {
  id: string;
  labels: string[];
  concurrency: number;
  /** Jobs running on it now. */
  running: number;
  /** A drain was asked for: it takes no new job and leaves the registry when idle. */
  draining: boolean;
  /** sha256 of the runner token it was started with (hex, 16 chars); absent for hand-started runners. */
  tokenHash?: string;
}

/** The queue side the runner manager and autoscaler need. */
export interface RunnerRegistry {
  list(): Promise<RegisteredRunner[]>;
  /** Asks a runner to stop taking jobs, finish what it runs and leave; idempotent. */
  requestDrain(runnerId: string): Promise<void>;
  /** Jobs waiting for a runner, summed over `labels`. */
  backlog(labels: readonly string[]): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Autoscaler (pure core: autoscaler.ts; the loop that applies it: autoscale-loop.ts)

export type RunnerPhase =
  /** clone → configure → start tasks in flight */
  | 'provisioning'
  /** started, not yet registered with the queue */
  | 'booting'
  | 'ready'
  | 'draining'
  /** stop/destroy in flight */
  | 'tearing-down'
  /** a task failed or the guest is in a state the bot did not leave it in */
  | 'failed';

export interface ManagedRunner {
  id: string;
  node: string;
  phase: RunnerPhase;
  /** When it entered this phase (ms). */
  since: number;
  /** Jobs running on it (0 unless registered). */
  running: number;
}

export interface AutoscalerObservation {
  now: number;
  /** Waiting jobs on the runners' labels. */
  backlog: number;
  runners: ManagedRunner[];
}

export interface AutoscalerMemory {
  /** Consecutive polls with the backlog per runner above the threshold. */
  pollsAbove: number;
  /** runner id → when it was last seen busy or the queue non-empty (ms). */
  idleSince: Record<string, number>;
}

export type ScaleAction =
  | { kind: 'provision'; count: number; reason: string }
  | { kind: 'drain'; runnerId: string; reason: string }
  | { kind: 'teardown'; runnerId: string; reason: string };

export interface AutoscalerDecision {
  actions: ScaleAction[];
  memory: AutoscalerMemory;
  /** Runners counted as capacity (provisioning + booting + ready) after the actions. */
  target: number;
}

// ---------------------------------------------------------------------------------------------
// Time

/** Time as the manager and autoscaler see it: the system clock, or a simulated one in tests. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      function onAbort(): void {
        clearTimeout(timer);
        reject(signal!.reason);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * A clock that only moves when told to. `sleep` resolves when `advanceTo` passes its wake time,
 * in wake order; `advanceTo` yields to the event loop after each wake so the woken code runs.
 */
export class SimulatedClock implements Clock {
  private current: number;
  private sleepers: { wake: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(signal!.reason);
      };
      const entry = {
        wake: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          // A long-lived signal must not collect one listener per sleep.
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Moves time forward to `time`, waking sleepers in order. */
  async advanceTo(time: number): Promise<void> {
    for (;;) {
      this.sleepers.sort((a, b) => a.wake - b.wake || a.seq - b.seq);
      const next = this.sleepers[0];
      if (next === undefined || next.wake > time) break;
      this.sleepers.shift();
      this.current = Math.max(this.current, next.wake);
      next.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.current = Math.max(this.current, time);
  }

  advance(ms: number): Promise<void> {
    return this.advanceTo(this.current + ms);
  }

  /** Sleepers not yet woken. */
  pending(): number {
    return this.sleepers.length;
  }
}
