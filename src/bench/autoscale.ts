/**
 * `bench:autoscale`: a 24-hour backlog trace (daily cycle plus bursts, autoscale-trace.ts) replayed
 * in simulated time. The real autoscale loop, runner manager and Proxmox client drive a fake
 * Proxmox VE API on loopback whose tasks take realistic times on the simulated clock; runners
 * register with a simulated queue a boot time after their guest starts (reading the runner token
 * from the cloud-init user data the manager wrote). Compared with a static pool sized for the
 * trace's peak, run through the same queue: runner-minutes (guest lifetime, clone to destroy) and
 * job wait (arrival to first start) p95. A clone failure and an offline node are injected on the
 * way, and an unrelated VM sits on the cluster: it must not be touched.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { done, failed, type Outcome } from '../outcome.js';
import { createLimiterFactory } from '../pool/limiters.js';
import { createAutoscaleLoop, type AutoscaleEvent } from '../proxmox/autoscale-loop.js';
import { runnerTokenHash } from '../proxmox/cloud-init.js';
import { createProxmoxClient } from '../proxmox/client.js';
import { createMemoryLease } from '../proxmox/leader.js';
import { createRunnerManager } from '../proxmox/runners.js';
import { RUNNER_TAG } from '../proxmox/settings.js';
import { SimulatedClock, type AutoscalerSettings, type RunnerSettings } from '../proxmox/types.js';
import { formatTable } from '../render/repo-table.js';
import { backlogTrace, DAY_MS, peakConcurrency, type TraceJob } from './autoscale-trace.js';
import { percentile, SimQueue, type SimSummary } from './autoscale-sim.js';
import { startFakeProxmoxApi, type FakeGuest } from './fake-proxmox-api.js';
import { publish } from './results.js';

export interface AutoscaleBenchOptions {
  seed: number;
  record: boolean;
}

const STEP_MS = 1_000;
/** After the day, how long the replay may run on to finish the last jobs. */
const TAIL_MS = 3 * 3_600_000;
/** From a runner guest's start to its registration with the queue (OS boot + runner start). */
const BOOT_MS = 45_000;
const LABELS = ['llm_heavy', 'exec'];
const CONCURRENCY = 2;
const TOKEN_ID = 'ai-provision@pve!bench';
const TOKEN_SECRET = '0b7c1c4e-4a63-4d2f-9d1e-3f6a2b8c9d01';
const TEMPLATE_VMID = 9000;
const UNRELATED_VMID = 100;

/** The autoscaler as the README recommends it for heavy jobs; the poll interval is the yardstick. */
export const BENCH_AUTOSCALER: AutoscalerSettings = {
  min: 1,
  max: 16,
  pollMs: 30_000,
  backlogPerRunner: 0.5,
  scaleUpPolls: 1,
  cooldownMs: 10 * 60_000,
  bootTimeoutMs: 10 * 60_000,
  drainTimeoutMs: 30 * 60_000,
  nodeBackoffMs: 5 * 60_000,
  maxStepUp: 8,
};

/** Proxmox task times, from linked clones of a small cloud-image template on local SSDs. */
const TASK_MS = { clone: 12_000, start: 5_000, stop: 5_000, shutdown: 15_000, destroy: 6_000 };

interface Lifetime {
  createdAt: number;
  removedAt?: number;
}

interface AutoscaledRun {
  queue: SimSummary;
  lifetimes: Lifetime[];
  peakRunners: number;
  provisions: number;
  provisionFailures: number;
  removals: number;
  untouchedOk: boolean;
  endMs: number;
  ticks: number;
  wallMs: number;
}

export async function runAutoscaleBench(
  options: AutoscaleBenchOptions,
): Promise<Outcome<{ saving: number; waitP95Polls: number }>> {
  const trace = backlogTrace({ seed: options.seed });
  const peak = peakConcurrency(trace);
  const staticRunners = Math.ceil(peak / CONCURRENCY);

  const autoscaled = await replayAutoscaled(trace);
  const fixed = replayStatic(trace, staticRunners);

  if (autoscaled.queue.lost > 0 || autoscaled.queue.completed !== trace.length) {
    return failed(
      'internal',
      `bench:autoscale lost jobs: ${autoscaled.queue.completed} of ${trace.length} completed, ${autoscaled.queue.lost} lost`,
      false,
    );
  }
  const poll = BENCH_AUTOSCALER.pollMs;
  const waitP95 = percentile(autoscaled.queue.waitsMs, 95);
  // One window for both: a runner still alive at its end counts until then.
  const windowMs = Math.max(autoscaled.endMs, fixed.endMs);
  const runnerMinutes =
    autoscaled.lifetimes.reduce((sum, l) => sum + ((l.removedAt ?? windowMs) - l.createdAt), 0) /
    60_000;
  const staticMinutes = (staticRunners * windowMs) / 60_000;
  const saving = 1 - runnerMinutes / staticMinutes;
  const seconds = (ms: number): string => (ms / 1_000).toFixed(1);

  const table = formatTable(
    ['pool', 'runners', 'runner-minutes', 'wait p50 s', 'wait p95 s', 'wait max s', 'jobs done'],
    [
      [
        'autoscaled (Proxmox)',
        `${BENCH_AUTOSCALER.min}–${autoscaled.peakRunners}`,
        runnerMinutes.toFixed(0),
        seconds(percentile(autoscaled.queue.waitsMs, 50)),
        seconds(waitP95),
        seconds(Math.max(0, ...autoscaled.queue.waitsMs)),
        `${autoscaled.queue.completed}/${trace.length}`,
      ],
      [
        'static, sized for the peak',
        String(staticRunners),
        staticMinutes.toFixed(0),
        seconds(percentile(fixed.queue.waitsMs, 50)),
        seconds(percentile(fixed.queue.waitsMs, 95)),
        seconds(Math.max(0, ...fixed.queue.waitsMs)),
        `${fixed.queue.completed}/${trace.length}`,
      ],
    ],
  );
  publish(
    {
      name: 'bench:autoscale',
      command: `npm run bench:autoscale -- --seed ${options.seed}`,
      table,
      notes: [
        `trace: seed ${options.seed}, ${trace.length} jobs in 24 h (${trace.filter((j) => j.burst).length} in 4 bursts), peak ${peak} jobs at once; runners take ${CONCURRENCY} jobs each, labels ${LABELS.join(',')}`,
        `autoscaler: min ${BENCH_AUTOSCALER.min}, max ${BENCH_AUTOSCALER.max}, poll ${poll / 1_000} s, backlog per runner > ${BENCH_AUTOSCALER.backlogPerRunner} for ${BENCH_AUTOSCALER.scaleUpPolls} poll(s), cooldown ${BENCH_AUTOSCALER.cooldownMs / 60_000} min, at most ${BENCH_AUTOSCALER.maxStepUp} new per poll`,
        `simulated Proxmox: clone ${TASK_MS.clone / 1_000} s, start ${TASK_MS.start / 1_000} s, boot to registration ${BOOT_MS / 1_000} s, stop ${TASK_MS.stop / 1_000} s, destroy ${TASK_MS.destroy / 1_000} s; 3 nodes, one clone failure and a node offline for 20 min injected`,
        `runner-minutes = guest lifetime (clone start → destroyed), both pools over the same ${(windowMs / 3_600_000).toFixed(2)} h window; static size = ceil(peak ÷ ${CONCURRENCY})`,
        `${autoscaled.provisions} runners provisioned, ${autoscaled.provisionFailures} provision failures, ${autoscaled.removals} removed, ${autoscaled.queue.interrupted} job runs interrupted and re-queued; ${autoscaled.ticks} polls replayed in ${(autoscaled.wallMs / 1_000).toFixed(1)} s wall time`,
      ],
      headline: {
        jobs: trace.length,
        jobs_lost: autoscaled.queue.lost,
        runner_minutes_autoscaled: Math.round(runnerMinutes),
        runner_minutes_static: Math.round(staticMinutes),
        runner_minutes_saved_pct: (saving * 100).toFixed(1),
        wait_p95_s: seconds(waitP95),
        poll_interval_s: poll / 1_000,
        wait_p95_polls: (waitP95 / poll).toFixed(2),
        static_wait_p95_s: seconds(percentile(fixed.queue.waitsMs, 95)),
        untagged_guest_untouched: autoscaled.untouchedOk ? 'yes' : 'NO',
      },
    },
    options.record,
  );
  if (!autoscaled.untouchedOk) {
    return failed('internal', 'bench:autoscale: a guest without the runner tag was touched', false);
  }
  return done({ saving, waitP95Polls: waitP95 / poll });
}

/** The static pool: `runners` registered from the start, same queue, no Proxmox. */
function replayStatic(
  trace: readonly TraceJob[],
  runners: number,
): { queue: SimSummary; endMs: number } {
  const queue = new SimQueue(LABELS);
  for (let i = 0; i < runners; i++) queue.register({ id: `static-${i}`, concurrency: CONCURRENCY });
  let next = 0;
  let now = 0;
  for (; now <= DAY_MS + TAIL_MS; now += STEP_MS) {
    while (next < trace.length && trace[next]!.arrivalMs <= now) queue.submit(trace[next++]!);
    queue.step(now);
    if (now >= DAY_MS && queue.idle()) break;
  }
  return { queue: queue.summary(), endMs: now };
}

async function replayAutoscaled(trace: readonly TraceJob[]): Promise<AutoscaledRun> {
  const started = performance.now();
  const clock = new SimulatedClock(0);
  const queue = new SimQueue(LABELS);
  const snippetsDir = mkdtempSync(join(tmpdir(), 'ai-provision-bench-snippets-'));
  const bootAt = new Map<string, { at: number; tokenHash?: string }>();

  function tokenHashOf(guest: FakeGuest): string | undefined {
    // What the runner would read at boot: the token in the user data the manager wrote.
    const file = join(snippetsDir, `ai-provision-${guest.name}.yaml`);
    try {
      const data = parseYaml(readFileSync(file, 'utf8')) as {
        write_files?: { content?: string }[];
      };
      const line = (data.write_files ?? [])
        .flatMap((f) => (f.content ?? '').split('\n'))
        .find((l) => l.startsWith('AI_PROVISION_RUNNER_TOKEN='));
      return line === undefined ? undefined : runnerTokenHash(line.split('=').slice(1).join('='));
    } catch {
      return undefined;
    }
  }

  const fake = await startFakeProxmoxApi({
    now: () => clock.now(),
    tokens: { [TOKEN_ID]: TOKEN_SECRET },
    nodes: [
      { name: 'pve1', cores: 32, memoryMiB: 128 * 1024 },
      { name: 'pve2', cores: 32, memoryMiB: 128 * 1024 },
      { name: 'pve3', cores: 16, memoryMiB: 64 * 1024 },
    ],
    guests: [
      {
        vmid: TEMPLATE_VMID,
        node: 'pve1',
        kind: 'qemu',
        name: 'runner-template',
        template: true,
        cores: 2,
        memoryMiB: 4096,
      },
      {
        vmid: UNRELATED_VMID,
        node: 'pve2',
        kind: 'qemu',
        name: 'payments-db',
        status: 'running',
        tags: ['prod'],
        cores: 8,
        memoryMiB: 32 * 1024,
      },
    ],
    taskMs: TASK_MS,
    snippetsDir,
    firstVmid: 200,
    onGuestStarted: (guest) => {
      const tokenHash = tokenHashOf(guest);
      bootAt.set(guest.name, {
        at: clock.now() + BOOT_MS,
        ...(tokenHash === undefined ? {} : { tokenHash }),
      });
    },
    onGuestStopped: (guest) => {
      bootAt.delete(guest.name);
      queue.kill(guest.name);
    },
  });

  const limiters = createLimiterFactory({
    // Simulated time runs far faster than real time: the real-time API rate would only slow the replay.
    limits: { proxmox: { maxConcurrent: 16 } },
  });
  const client = createProxmoxClient({
    connection: {
      url: fake.url,
      auth: { kind: 'token', tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET },
      tls: { kind: 'verify' },
      timeoutMs: 10_000,
    },
    limiter: limiters.for('proxmox'),
    clock,
  });
  const runnerSettings: RunnerSettings = {
    templates: [{ vmid: TEMPLATE_VMID }],
    nodes: [],
    clone: 'full',
    size: { cores: 2, memoryMiB: 4096 },
    labels: LABELS,
    concurrency: CONCURRENCY,
    redisUrl: 'redis://10.0.0.2:6379',
    queuePrefix: 'ai-provision',
    snippets: { storage: 'shared', dir: snippetsDir },
    tag: RUNNER_TAG,
  };
  const manager = createRunnerManager({ client, settings: runnerSettings, registry: queue, clock });
  // VMIDs (and so runner ids) are reused after a destroy: every lifetime is kept, keyed while open.
  const lifetimes: Lifetime[] = [];
  const open = new Map<string, Lifetime>();
  let provisions = 0;
  let provisionFailures = 0;
  let removals = 0;
  let peakRunners = 0;
  const onEvent = (event: AutoscaleEvent): void => {
    if (event.type === 'provision-started') {
      provisions++;
      const life: Lifetime = { createdAt: clock.now() };
      lifetimes.push(life);
      open.set(event.runnerId, life);
    } else if (event.type === 'provision-failed') {
      provisionFailures++;
    } else if (event.type === 'runner-removed') {
      removals++;
      const life = open.get(event.runnerId);
      if (life !== undefined) life.removedAt = clock.now();
      open.delete(event.runnerId);
    }
  };
  const loop = createAutoscaleLoop({
    manager,
    client,
    registry: queue,
    settings: BENCH_AUTOSCALER,
    runnerLabels: LABELS,
    lease: createMemoryLease({
      table: new Map(),
      key: 'autoscaler',
      holder: 'bench',
      ttlMs: 3 * BENCH_AUTOSCALER.pollMs,
      clock,
    }),
    clock,
    onEvent,
  });

  // Faults on the way: the first clone on pve1 after 10:00 fails; pve3 is unreachable 15:00–15:20.
  const faults = [
    {
      at: 10 * 3_600_000,
      apply: () =>
        fake.failNext({ type: 'clone', node: 'pve1' }, 'clone failed: storage lock timeout'),
    },
    { at: 15 * 3_600_000, apply: () => fake.setOnline('pve3', false) },
    { at: 15 * 3_600_000 + 20 * 60_000, apply: () => fake.setOnline('pve3', true) },
  ];

  let next = 0;
  let ticks = 0;
  let now = 0;
  try {
    for (; now <= DAY_MS + TAIL_MS; now += STEP_MS) {
      await clock.advanceTo(now);
      for (const fault of faults) if (fault.at === now) fault.apply();
      while (next < trace.length && trace[next]!.arrivalMs <= now) queue.submit(trace[next++]!);
      for (const [runnerId, boot] of bootAt) {
        if (boot.at <= now) {
          queue.register({
            id: runnerId,
            concurrency: CONCURRENCY,
            labels: LABELS,
            ...(boot.tokenHash === undefined ? {} : { tokenHash: boot.tokenHash }),
          });
          bootAt.delete(runnerId);
        }
      }
      queue.step(now);
      if (now % BENCH_AUTOSCALER.pollMs === 0) {
        await loop.tick();
        ticks++;
        fake.settle();
        const alive = lifetimes.filter((l) => l.removedAt === undefined).length;
        peakRunners = Math.max(peakRunners, alive);
      }
      // The day is over once every job is done and the pool is back at its floor.
      if (now >= DAY_MS && queue.idle() && loop.runners().length <= BENCH_AUTOSCALER.min) break;
    }
  } finally {
    await loop.stop();
    await limiters.close();
    await fake.close();
    rmSync(snippetsDir, { recursive: true, force: true });
  }

  const destructive = fake.requests.filter(
    (r) =>
      r.path.includes(`/${UNRELATED_VMID}`) &&
      (r.method === 'DELETE' || /\/status\/(stop|shutdown)$/.test(r.path) || r.method === 'PUT'),
  );
  return {
    queue: queue.summary(),
    lifetimes,
    peakRunners,
    provisions,
    provisionFailures,
    removals,
    untouchedOk: destructive.length === 0 && fake.guest(UNRELATED_VMID)?.status === 'running',
    endMs: now,
    ticks,
    wallMs: performance.now() - started,
  };
}
