/**
 * The autoscaler's reconciler: every poll, while it holds the leader lease, it observes (our
 * guests, the queue's registry, the backlog), moves each runner's in-flight operation one step
 * (one task-status call, never a wait), asks the pure `decide` (autoscaler.ts) what to do and
 * starts that. Nothing it holds is needed after a crash: a new leader rebuilds the runners' phases
 * from Proxmox and the registry, and only guests carrying the runner tag (manager.list) are ever
 * looked at, so nothing else in the cluster is touched.
 *
 * A runner's life: provisioning (clone → configure → start) → booting (until the registry shows
 * it, with the token hash it was given) → ready → draining → tearing-down (stop → destroy → boot
 * config removed) → gone. A failed task marks the runner failed (torn down next) and keeps new
 * runners off its node for nodeBackoffMs; a failed provision is retried on the next poll.
 */
import type { Logger } from '../observe/logger.js';
import { decide, EMPTY_MEMORY } from './autoscaler.js';
import type { LeaderLease } from './leader.js';
import type { ProvisionStart, RunnerGuest, RunnerManager } from './runners.js';
import {
  ProxmoxError,
  type AutoscalerMemory,
  type AutoscalerSettings,
  type Clock,
  type GuestRef,
  type ManagedRunner,
  type ProxmoxClient,
  type ProxmoxTask,
  type RegisteredRunner,
  type RunnerPhase,
  type RunnerRegistry,
  type TaskState,
} from './types.js';
import { errorText } from '../outcome.js';

export interface AutoscaleLoopOptions {
  manager: RunnerManager;
  /** For task status only; everything else goes through the manager. */
  client: ProxmoxClient;
  registry: RunnerRegistry;
  settings: AutoscalerSettings;
  /** The queue labels our runners pull: the backlog is summed over them. */
  runnerLabels: string[];
  /** Only the holder acts; acquired (or renewed) at every tick, so its TTL should exceed pollMs. */
  lease: LeaderLease;
  clock: Clock;
  log?: Logger;
  /** For metrics and the bench; called synchronously, must not throw. */
  onEvent?: (event: AutoscaleEvent) => void;
}

export type AutoscaleEvent =
  /** A clone was started; every one is followed by runner-removed once its guest is gone. */
  | { type: 'provision-started'; runnerId: string; node: string }
  /** runnerId is '' when the clone could not even be started (no VMID was taken). */
  | { type: 'provision-failed'; runnerId: string; node: string; error: string }
  | { type: 'runner-ready'; runnerId: string; node: string }
  | { type: 'drain-requested'; runnerId: string }
  | { type: 'teardown-started'; runnerId: string; reason: string }
  | { type: 'runner-removed'; runnerId: string }
  | { type: 'node-avoided'; node: string; until: number; error: string }
  | { type: 'tick-failed'; error: string };

export interface AutoscaleLoop {
  /**
   * One poll: if leader, observe (guests via manager.list, registry, backlog), advance in-flight
   * tasks via client.taskStatus (never waits), decide, apply. Never throws: a failure is an event
   * and a log line. Calls while one runs share it.
   */
  tick(): Promise<void>;
  /** tick() every settings.pollMs on the clock until stop(). */
  start(): void;
  /**
   * Stops ticking (waits for a tick under way), releases the lease; in-flight operations are left
   * for the next leader (state is rebuilt from Proxmox + the registry).
   */
  stop(): Promise<void>;
  /** Current runners as the loop sees them (after the last tick); empty when not the leader. */
  runners(): ManagedRunner[];
}

/** The one task a runner waits for, and what comes after it. */
type Operation =
  | { step: 'clone'; task: ProxmoxTask; start: ProvisionStart }
  | { step: 'start'; task: ProxmoxTask }
  | { step: 'stop'; task: ProxmoxTask }
  | { step: 'destroy'; task: ProxmoxTask };

interface Tracked {
  runnerId: string;
  ref: GuestRef;
  phase: RunnerPhase;
  since: number;
  running: number;
  /** What the registry entry must carry; unknown for runners adopted from the cluster. */
  tokenHash?: string;
  op?: Operation;
  /** When an adopted guest was first seen stopped and unlocked (one poll of grace, see derive). */
  stoppedSeenAt?: number;
  teardownAnnounced?: boolean;
}

function refOf(guest: GuestRef): GuestRef {
  return { node: guest.node, kind: guest.kind, vmid: guest.vmid };
}

export function createAutoscaleLoop(options: AutoscaleLoopOptions): AutoscaleLoop {
  const { manager, client, registry, settings, runnerLabels, lease, clock, log } = options;

  /** undefined while not the leader: rebuilt from the cluster when the lease is (re)gained. */
  let tracked: Map<string, Tracked> | undefined;
  let memory: AutoscalerMemory = EMPTY_MEMORY;
  /** Provisions that failed last poll, retried on the next one (on another node). */
  let owedRetries = 0;
  const avoided = new Map<string, number>();
  /** Guests the manager refused to tear down (tag gone, a template): never adopted again. */
  const refused = new Set<string>();
  let ticking: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let stopping = false;
  let sleeping: AbortController | undefined;

  function emit(event: AutoscaleEvent): void {
    try {
      options.onEvent?.(event);
    } catch (error) {
      log?.warn({ err: errorText(error), event: event.type }, 'autoscaler event handler threw');
    }
  }

  function avoid(node: string, error: string): void {
    const now = clock.now();
    const wasAvoided = (avoided.get(node) ?? 0) > now;
    const until = now + settings.nodeBackoffMs;
    avoided.set(node, until);
    if (wasAvoided) return;
    log?.warn({ node, until, error }, 'autoscaler avoids a node');
    emit({ type: 'node-avoided', node, until, error });
  }

  function avoidedNodes(now: number): string[] {
    return [...avoided].filter(([, until]) => until > now).map(([node]) => node);
  }

  /** Logs a failed step; an unreachable node is kept out of placement for a while. */
  function stepFailed(runner: Tracked | undefined, what: string, error: unknown): void {
    if (error instanceof ProxmoxError && error.code === 'unreachable' && error.node !== undefined)
      avoid(error.node, error.message);
    log?.warn(
      {
        runnerId: runner?.runnerId,
        node: runner?.ref.node,
        step: what,
        code: error instanceof ProxmoxError ? error.code : undefined,
        err: errorText(error),
      },
      'autoscaler step failed',
    );
  }

  function setPhase(runner: Tracked, phase: RunnerPhase, now: number): void {
    if (runner.phase === phase) return;
    runner.phase = phase;
    runner.since = now;
  }

  /** The guest is gone: its boot config (a spent token) goes too, and the runner is forgotten. */
  async function removed(runner: Tracked): Promise<void> {
    tracked?.delete(runner.runnerId);
    try {
      await manager.removeBootConfig(runner.runnerId);
    } catch (error) {
      // A leftover snippet file holds a token no runner uses any more: worth a line, not a retry.
      stepFailed(runner, 'removing the boot config', error);
    }
    log?.info({ runnerId: runner.runnerId, node: runner.ref.node }, 'runner removed');
    emit({ type: 'runner-removed', runnerId: runner.runnerId });
  }

  function provisionFailed(runner: Tracked, error: string, now: number): void {
    runner.op = undefined;
    setPhase(runner, 'failed', now);
    owedRetries++;
    avoid(runner.ref.node, error);
    emit({ type: 'provision-failed', runnerId: runner.runnerId, node: runner.ref.node, error });
  }

  function registration(
    runner: Tracked,
    registered: Map<string, RegisteredRunner>,
  ): RegisteredRunner | undefined {
    const entry = registered.get(runner.runnerId);
    if (entry === undefined) return undefined;
    // A registry entry under our runner's name without its token is not the runner we started.
    if (runner.tokenHash !== undefined && entry.tokenHash !== runner.tokenHash) return undefined;
    return entry;
  }

  /** A runner of ours the loop did not start (a previous leader's, the CLI's): its phase from what is seen. */
  function adopt(
    guest: RunnerGuest,
    registered: Map<string, RegisteredRunner>,
    now: number,
  ): Tracked {
    const runner: Tracked = {
      runnerId: guest.runnerId,
      ref: refOf(guest),
      phase: 'provisioning',
      since: now,
      running: 0,
    };
    if (guest.lock !== undefined) return runner;
    if (guest.status === 'running') {
      const entry = registered.get(guest.runnerId);
      if (entry === undefined) {
        runner.phase = 'booting';
        runner.since = now - guest.uptimeS * 1_000;
      } else {
        runner.phase = entry.draining ? 'draining' : 'ready';
        runner.running = entry.running;
      }
      return runner;
    }
    // Stopped and unlocked: failed, unless someone (the CLI's provision) is between clone and start.
    if (guest.status === 'stopped') runner.stoppedSeenAt = now;
    return runner;
  }

  /** Re-reads the phase of a runner with no task in flight from its guest and the registry. */
  function derive(
    runner: Tracked,
    guest: RunnerGuest,
    registered: Map<string, RegisteredRunner>,
    now: number,
  ): void {
    runner.ref = refOf(guest);
    const entry = registration(runner, registered);
    const stopped = guest.status === 'stopped' && guest.lock === undefined;
    switch (runner.phase) {
      case 'provisioning':
        // Only adopted runners are provisioning without a task.
        if (guest.lock !== undefined) return;
        if (guest.status === 'running') {
          setPhase(runner, 'booting', now);
          runner.since = now - guest.uptimeS * 1_000;
          derive(runner, guest, registered, now);
        } else if (stopped) {
          if (runner.stoppedSeenAt === undefined) runner.stoppedSeenAt = now;
          else if (runner.stoppedSeenAt < now) setPhase(runner, 'failed', now);
        }
        return;
      case 'booting':
        if (stopped) {
          setPhase(runner, 'failed', now);
        } else if (entry !== undefined) {
          setPhase(runner, entry.draining ? 'draining' : 'ready', now);
          runner.running = entry.running;
          log?.info({ runnerId: runner.runnerId, node: runner.ref.node }, 'runner ready');
          emit({ type: 'runner-ready', runnerId: runner.runnerId, node: runner.ref.node });
        }
        return;
      case 'ready':
        if (stopped) {
          setPhase(runner, 'failed', now);
        } else if (entry === undefined) {
          // Its runner process went away with the guest still up: it has bootTimeoutMs to return.
          setPhase(runner, 'booting', now);
          runner.running = 0;
        } else {
          runner.running = entry.running;
          if (entry.draining) setPhase(runner, 'draining', now);
        }
        return;
      case 'draining':
        // Gone from the registry = drained (the runner leaves once its jobs are done).
        runner.running = entry?.running ?? 0;
        if (stopped) setPhase(runner, 'failed', now);
        return;
      case 'failed':
      case 'tearing-down':
        return;
    }
  }

  /** One look at the runner's task; when it is done, the next step starts (never waits). */
  async function advance(runner: Tracked, op: Operation, now: number): Promise<void> {
    let state: TaskState;
    try {
      state = await client.taskStatus(op.task);
    } catch (error) {
      stepFailed(runner, `${op.step} task status`, error);
      if (!(error instanceof ProxmoxError) || error.code !== 'not-found') return;
      // The node no longer knows the task (rebooted): treat it as failed.
      state = { state: 'failed', exitstatus: error.message };
    }
    if (state.state === 'running') return;
    if (state.state === 'failed') {
      log?.warn(
        {
          runnerId: runner.runnerId,
          node: runner.ref.node,
          step: op.step,
          exitstatus: state.exitstatus,
        },
        'runner task failed',
      );
      if (op.step === 'clone' || op.step === 'start') {
        provisionFailed(runner, state.exitstatus, now);
      } else {
        // A stop or destroy that failed is tried again from the start next poll.
        runner.op = undefined;
        setPhase(runner, 'failed', now);
        avoid(runner.ref.node, state.exitstatus);
      }
      return;
    }
    switch (op.step) {
      case 'clone':
        try {
          await manager.configure(op.start);
          runner.op = { step: 'start', task: await manager.start(runner.ref) };
        } catch (error) {
          stepFailed(runner, 'configure and start', error);
          provisionFailed(runner, errorText(error), now);
        }
        return;
      case 'start':
        runner.op = undefined;
        setPhase(runner, 'booting', now);
        return;
      case 'stop':
        try {
          runner.op = { step: 'destroy', task: await manager.destroy(runner.ref) };
        } catch (error) {
          await teardownFailed(runner, 'destroy', error, now);
        }
        return;
      case 'destroy':
        runner.op = undefined;
        await removed(runner);
        return;
    }
  }

  async function teardownFailed(
    runner: Tracked,
    what: string,
    error: unknown,
    now: number,
  ): Promise<void> {
    runner.op = undefined;
    if (error instanceof ProxmoxError && error.code === 'not-found') {
      await removed(runner);
      return;
    }
    if (error instanceof ProxmoxError && error.code === 'refused') {
      // The manager's own check says it is not ours after all: forget it, never touch it.
      log?.error({ runnerId: runner.runnerId, err: error.message }, 'autoscaler: teardown refused');
      refused.add(runner.runnerId);
      tracked?.delete(runner.runnerId);
      return;
    }
    stepFailed(runner, what, error);
    setPhase(runner, 'failed', now);
  }

  async function teardown(runner: Tracked, reason: string, now: number): Promise<void> {
    if (runner.phase === 'tearing-down') return;
    // A provision that timed out is abandoned: its task's outcome no longer matters.
    runner.op = undefined;
    let stop: ProxmoxTask | undefined;
    try {
      stop = await manager.beginTeardown(runner.ref);
    } catch (error) {
      await teardownFailed(runner, 'stop', error, now);
      return;
    }
    setPhase(runner, 'tearing-down', now);
    if (!runner.teardownAnnounced) {
      runner.teardownAnnounced = true;
      log?.info({ runnerId: runner.runnerId, node: runner.ref.node, reason }, 'runner teardown');
      emit({ type: 'teardown-started', runnerId: runner.runnerId, reason });
    }
    if (stop !== undefined) {
      runner.op = { step: 'stop', task: stop };
      return;
    }
    try {
      runner.op = { step: 'destroy', task: await manager.destroy(runner.ref) };
    } catch (error) {
      await teardownFailed(runner, 'destroy', error, now);
    }
  }

  async function drain(runner: Tracked, reason: string, now: number): Promise<void> {
    try {
      await registry.requestDrain(runner.runnerId);
    } catch (error) {
      stepFailed(runner, 'drain request', error);
      return;
    }
    setPhase(runner, 'draining', now);
    log?.info({ runnerId: runner.runnerId, reason }, 'runner drain requested');
    emit({ type: 'drain-requested', runnerId: runner.runnerId });
  }

  async function provision(state: Map<string, Tracked>, count: number, now: number): Promise<void> {
    // Runners promised to a node but not running yet: the node's free memory does not show them.
    const pending: Record<string, number> = {};
    for (const runner of state.values())
      if (runner.phase === 'provisioning')
        pending[runner.ref.node] = (pending[runner.ref.node] ?? 0) + 1;
    for (let i = 0; i < count; i++) {
      const node = await manager.chooseNode({ exclude: avoidedNodes(now), pending });
      if (node === undefined) {
        log?.warn(
          { wanted: count - i, avoided: avoidedNodes(now) },
          'autoscaler: no node fits a runner',
        );
        return;
      }
      let start: ProvisionStart;
      try {
        start = await manager.startProvision(node);
      } catch (error) {
        stepFailed(undefined, `provision on ${node}`, error);
        owedRetries++;
        avoid(node, errorText(error));
        emit({ type: 'provision-failed', runnerId: '', node, error: errorText(error) });
        continue;
      }
      state.set(start.runnerId, {
        runnerId: start.runnerId,
        ref: refOf(start.ref),
        phase: 'provisioning',
        since: now,
        running: 0,
        tokenHash: start.tokenHash,
        op: { step: 'clone', task: start.task, start },
      });
      pending[start.ref.node] = (pending[start.ref.node] ?? 0) + 1;
      log?.info({ runnerId: start.runnerId, node: start.ref.node }, 'runner provision started');
      emit({ type: 'provision-started', runnerId: start.runnerId, node: start.ref.node });
    }
  }

  function managed(runner: Tracked): ManagedRunner {
    return {
      id: runner.runnerId,
      node: runner.ref.node,
      phase: runner.phase,
      since: runner.since,
      running: runner.running,
    };
  }

  async function poll(): Promise<void> {
    if (!(await lease.acquire())) {
      if (tracked !== undefined) log?.info('autoscaler lost the leader lease');
      tracked = undefined;
      return;
    }
    const now = clock.now();
    const [guests, entries, backlog] = await Promise.all([
      manager.list(),
      registry.list(),
      registry.backlog(runnerLabels),
    ]);
    const registered = new Map(entries.map((entry) => [entry.id, entry]));
    const guestsById = new Map(guests.map((guest) => [guest.runnerId, guest]));
    if (tracked === undefined) {
      log?.info({ guests: guests.length }, 'autoscaler leads; rebuilding from the cluster');
      memory = EMPTY_MEMORY;
      owedRetries = 0;
    }
    const state = (tracked ??= new Map());

    for (const runner of [...state.values()]) {
      const guest = guestsById.get(runner.runnerId);
      if (runner.op !== undefined) {
        // The task decides, even when the listing (taken before it ended) no longer shows the guest.
        await advance(runner, runner.op, now);
      } else if (guest === undefined) {
        await removed(runner);
      } else {
        derive(runner, guest, registered, now);
      }
    }
    for (const guest of guests) {
      if (state.has(guest.runnerId) || refused.has(guest.runnerId)) continue;
      const runner = adopt(guest, registered, now);
      state.set(runner.runnerId, runner);
      log?.info({ runnerId: runner.runnerId, phase: runner.phase }, 'autoscaler adopted a runner');
    }

    const decision = decide(
      { now, backlog, runners: [...state.values()].map(managed) },
      memory,
      settings,
    );
    memory = decision.memory;
    let toProvision = 0;
    for (const action of decision.actions) {
      if (action.kind === 'provision') {
        toProvision += action.count;
        log?.info({ count: action.count, reason: action.reason }, 'autoscaler scales up');
        continue;
      }
      const runner = state.get(action.runnerId);
      if (runner === undefined) continue;
      if (action.kind === 'drain') await drain(runner, action.reason, now);
      else await teardown(runner, action.reason, now);
    }
    // A provision that failed last poll is owed while jobs still wait, within max.
    if (toProvision === 0 && backlog > 0)
      toProvision = Math.min(owedRetries, settings.max - decision.target);
    owedRetries = 0;
    if (toProvision > 0) await provision(state, toProvision, now);
  }

  async function guardedPoll(): Promise<void> {
    try {
      await poll();
    } catch (error) {
      log?.warn({ err: errorText(error) }, 'autoscaler tick failed');
      emit({ type: 'tick-failed', error: errorText(error) });
    }
  }

  function tick(): Promise<void> {
    ticking ??= guardedPoll().finally(() => {
      ticking = undefined;
    });
    return ticking;
  }

  return {
    tick,

    start() {
      if (loop !== undefined) return;
      stopping = false;
      loop = (async () => {
        while (!stopping) {
          await tick();
          if (stopping) return;
          // A signal per sleep: a clock may keep its abort listener until the signal fires.
          const wake = new AbortController();
          sleeping = wake;
          try {
            await clock.sleep(settings.pollMs, wake.signal);
          } catch {
            return;
          } finally {
            sleeping = undefined;
          }
        }
      })();
    },

    async stop() {
      stopping = true;
      sleeping?.abort();
      await loop;
      await ticking;
      loop = undefined;
      tracked = undefined;
      try {
        await lease.release();
      } catch (error) {
        log?.warn({ err: errorText(error) }, 'autoscaler could not release the lease');
      }
    },

    runners() {
      return [...(tracked?.values() ?? [])].map(managed);
    },
  };
}
