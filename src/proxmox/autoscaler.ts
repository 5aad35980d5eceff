/**
 * The autoscaler's pure core: from one observation (time, backlog, our runners and their phases)
 * and what it remembered from the last poll, the actions to take now. No I/O, no clock: the loop
 * (autoscale-loop.ts) observes, calls `decide` and applies what comes back, so every rule here is
 * testable with plain values.
 *
 * Rules (capacity = runners provisioning, booting or ready):
 * - below `min` → provision the difference at once;
 * - backlog ÷ capacity above `backlogPerRunner` (any backlog with no capacity counts) for
 *   `scaleUpPolls` polls in a row → provision towards ceil(backlog ÷ backlogPerRunner), at least one
 *   more, at most `maxStepUp` per poll, never above `max`;
 * - a ready runner idle (nothing running, nothing waiting) for `cooldownMs` → drained, oldest idle
 *   first, never below `min`; above `max` (settings lowered) → the least busy are drained;
 * - failed, drained (draining and idle), drain timed out, or not registered within `bootTimeoutMs`
 *   (provisioning or booting) → torn down.
 */
import type {
  AutoscalerDecision,
  AutoscalerMemory,
  AutoscalerObservation,
  AutoscalerSettings,
  ManagedRunner,
  RunnerPhase,
  ScaleAction,
} from './types.js';

/** What the autoscaler remembers before its first poll. */
export const EMPTY_MEMORY: AutoscalerMemory = Object.freeze({
  pollsAbove: 0,
  idleSince: Object.freeze({}),
});

/** Phases that count as capacity: they run jobs now or soon. */
const CAPACITY_PHASES: ReadonlySet<RunnerPhase> = new Set(['provisioning', 'booting', 'ready']);

function seconds(ms: number): string {
  return `${Math.round(ms / 1_000)} s`;
}

/** Why a runner must go now, or undefined when it may stay. */
function teardownReason(
  runner: ManagedRunner,
  now: number,
  settings: AutoscalerSettings,
): string | undefined {
  const age = now - runner.since;
  switch (runner.phase) {
    case 'failed':
      return 'failed';
    case 'provisioning':
      // A clone or start that never finishes (a node gone quiet) would otherwise hold capacity forever.
      return age > settings.bootTimeoutMs ? `still provisioning after ${seconds(age)}` : undefined;
    case 'booting':
      return age > settings.bootTimeoutMs
        ? `not registered with the queue ${seconds(age)} after start`
        : undefined;
    case 'draining':
      if (runner.running === 0) return 'drained';
      // Its jobs go back to the queue when the guest stops (stalled-job recovery).
      return age > settings.drainTimeoutMs
        ? `still running ${runner.running} job(s) ${seconds(age)} after the drain request`
        : undefined;
    case 'ready':
    case 'tearing-down':
      return undefined;
  }
}

export function decide(
  observation: AutoscalerObservation,
  memory: AutoscalerMemory,
  settings: AutoscalerSettings,
): AutoscalerDecision {
  const { now, backlog, runners } = observation;
  const actions: ScaleAction[] = [];
  const leaving = new Set<string>();

  for (const runner of runners) {
    const reason = teardownReason(runner, now, settings);
    if (reason === undefined) continue;
    actions.push({ kind: 'teardown', runnerId: runner.id, reason });
    leaving.add(runner.id);
  }

  // Idle clocks: kept while a ready runner runs nothing and nothing waits, restarted otherwise.
  const idleSince: Record<string, number> = {};
  const ready = runners.filter((r) => r.phase === 'ready');
  for (const runner of ready) {
    const idle = runner.running === 0 && backlog === 0;
    idleSince[runner.id] = idle ? (memory.idleSince[runner.id] ?? now) : now;
  }

  let capacity = runners.filter((r) => CAPACITY_PHASES.has(r.phase) && !leaving.has(r.id)).length;

  const above = backlog > 0 && (capacity === 0 || backlog / capacity > settings.backlogPerRunner);
  let pollsAbove = above ? memory.pollsAbove + 1 : 0;
  let provision = 0;
  let provisionReason = '';
  if (capacity < settings.min) {
    provision = settings.min - capacity;
    provisionReason = `${capacity} runner(s), below the minimum of ${settings.min}`;
  }
  if (pollsAbove >= settings.scaleUpPolls) {
    const wanted = Math.min(
      settings.max,
      Math.max(Math.ceil(backlog / settings.backlogPerRunner), capacity + 1),
    );
    const step = Math.min(wanted - capacity, settings.maxStepUp);
    if (step > provision) {
      provision = step;
      provisionReason = `${backlog} job(s) waiting for ${capacity} runner(s) for ${pollsAbove} poll(s); target ${wanted}`;
    }
    pollsAbove = 0;
  }
  provision = Math.min(provision, settings.max - capacity);
  if (provision > 0) {
    actions.push({ kind: 'provision', count: provision, reason: provisionReason });
    capacity += provision;
  }

  function drain(runner: ManagedRunner, reason: string): void {
    actions.push({ kind: 'drain', runnerId: runner.id, reason });
    leaving.add(runner.id);
    delete idleSince[runner.id];
    capacity--;
  }

  // Above max (the settings were lowered): the least busy go first; draining loses no job.
  const byLeastBusy = [...ready].sort(
    (a, b) =>
      a.running - b.running || idleSince[a.id]! - idleSince[b.id]! || a.id.localeCompare(b.id),
  );
  for (const runner of byLeastBusy) {
    if (capacity <= settings.max) break;
    drain(runner, `${capacity} runners, above the maximum of ${settings.max}`);
  }

  const idleLongEnough = ready
    .filter(
      (r) =>
        !leaving.has(r.id) &&
        r.running === 0 &&
        backlog === 0 &&
        now - idleSince[r.id]! >= settings.cooldownMs,
    )
    .sort((a, b) => idleSince[a.id]! - idleSince[b.id]! || a.id.localeCompare(b.id));
  for (const runner of idleLongEnough) {
    if (capacity <= settings.min) break;
    drain(runner, `idle for ${seconds(now - idleSince[runner.id]!)}`);
  }

  return { actions, memory: { pollsAbove, idleSince }, target: capacity };
}
