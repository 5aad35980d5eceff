import {
  startFakeProxmoxApi,
  type FakeNodeSpec,
  type FakeProxmox,
} from '../../../src/bench/fake-proxmox-api.js';
import { SimQueue, type SimSummary } from '../../../src/bench/autoscale-sim.js';
import { createLimiterFactory, type LimiterFactory } from '../../../src/pool/limiters.js';
import {
  createAutoscaleLoop,
  type AutoscaleEvent,
  type AutoscaleLoop,
} from '../../../src/proxmox/autoscale-loop.js';
import { runnerTokenHash } from '../../../src/proxmox/cloud-init.js';
import { createProxmoxClient } from '../../../src/proxmox/client.js';
import { createMemoryLease } from '../../../src/proxmox/leader.js';
import { createRunnerManager } from '../../../src/proxmox/runners.js';
import {
  SimulatedClock,
  type AutoscalerSettings,
  type RunnerSettings,
} from '../../../src/proxmox/types.js';
import { waitFor } from '../../support/timing.js';

const MINUTE = 60_000;
const TOKEN_ID = 'ai-provision@pve!test';
const TOKEN_SECRET = '5f0c6a8e-1b2d-4c3e-9f4a-6b7c8d9e0f1a';
const TAG = 'ai-provision-runner';
const LABELS = ['llm_heavy', 'exec'];
const TEMPLATE = 9000;
/** Guests the autoscaler must never stop, shut down, reconfigure or delete. */
const UNRELATED = 100; // a running VM without our tag
const LOOKALIKE = 150; // named like a runner, but untagged
const TAGGED_TEMPLATE = 9001; // carries our tag, but is a template
const HANDS_OFF = [TEMPLATE, TAGGED_TEMPLATE, UNRELATED, LOOKALIKE];
/** The simulation's resolution; task and boot times are multiples of it. */
const STEP_MS = 5_000;
/** From a guest's start to its runner registering with the queue. */
const BOOT_MS = 45_000;

const SETTINGS: AutoscalerSettings = {
  min: 0,
  max: 4,
  pollMs: 30_000,
  backlogPerRunner: 2,
  scaleUpPolls: 2,
  cooldownMs: 5 * MINUTE,
  bootTimeoutMs: 10 * MINUTE,
  drainTimeoutMs: 30 * MINUTE,
  nodeBackoffMs: 5 * MINUTE,
  maxStepUp: 4,
};

const NODES: FakeNodeSpec[] = [
  { name: 'pve1', cores: 32, memoryMiB: 64 * 1024 },
  { name: 'pve2', cores: 32, memoryMiB: 64 * 1024 },
];

interface Job {
  at: number;
  durationMs: number;
}

interface Harness {
  clock: SimulatedClock;
  fake: FakeProxmox;
  queue: SimQueue;
  /** The snippet files the manager wrote (path → text) and has not removed. */
  files: Map<string, string>;
  loop(holder: string, settings?: Partial<AutoscalerSettings>): AutoscaleLoop;
  events(holder: string): AutoscaleEvent[];
  submit(jobs: Job[]): void;
  /**
   * Steps simulated time by STEP_MS (on from the last step) up to `limitMs`, until `done` holds
   * after a step; returns that time (throws when it never did, so every scenario is bounded).
   */
  runUntil(run: Run): Promise<number>;
  close(): Promise<void>;
}

interface Run {
  done: () => boolean;
  limitMs: number;
  /** Loops to tick at every poll (loops started with start() tick themselves). */
  ticking?: AutoscaleLoop[];
  /** Called at the end of every step, after the ticks: faults, measurements. */
  at?: (now: number) => void;
  /** Awaited after the clock moved: lets started loops finish the tick it woke. */
  afterAdvance?: () => Promise<void>;
}

interface HarnessOptions {
  nodes?: FakeNodeSpec[];
  /** The runner template's tags (its clones carry them from the start). */
  templateTags?: string[];
  /** What a runner publishes as its token hash (default: the hash of the token it was booted with). */
  registerAs?: (runnerId: string, tokenHash: string | undefined) => string | undefined;
}

/** The token a booting runner reads from the user data the manager wrote for it. */
function tokenFrom(text: string | undefined): string | undefined {
  return text?.match(/AI_PROVISION_RUNNER_TOKEN=(?<token>[A-Za-z0-9_-]+)/)?.groups?.token;
}

async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new SimulatedClock(0);
  const queue = new SimQueue(LABELS);
  const files = new Map<string, string>();
  const booting = new Map<string, { at: number; tokenHash?: string }>();
  const waiting: Job[] = [];
  const eventsBy = new Map<string, AutoscaleEvent[]>();

  const fake = await startFakeProxmoxApi({
    now: () => clock.now(),
    tokens: { [TOKEN_ID]: TOKEN_SECRET },
    nodes: options.nodes ?? NODES,
    guests: [
      {
        vmid: TEMPLATE,
        node: 'pve1',
        kind: 'qemu',
        name: 'runner-template',
        template: true,
        tags: options.templateTags ?? [],
      },
      {
        vmid: TAGGED_TEMPLATE,
        node: 'pve1',
        kind: 'qemu',
        name: 'old-runner-template',
        template: true,
        tags: [TAG],
      },
      {
        vmid: UNRELATED,
        node: 'pve2',
        kind: 'qemu',
        name: 'payments-db',
        status: 'running',
        tags: ['prod'],
        cores: 8,
        memoryMiB: 8 * 1024,
      },
      { vmid: LOOKALIKE, node: 'pve1', kind: 'qemu', name: 'ai-provision-runner-150' },
    ],
    taskMs: { clone: 10_000, start: 5_000, stop: 5_000, shutdown: 10_000, destroy: 5_000 },
    firstVmid: 200,
    onGuestStarted: (guest) => {
      const file = [...files].find(([path]) => path.endsWith(`${guest.name}.yaml`));
      const token = tokenFrom(file?.[1]);
      const hash = token === undefined ? undefined : runnerTokenHash(token);
      const published =
        options.registerAs === undefined ? hash : options.registerAs(guest.name, hash);
      booting.set(guest.name, {
        at: clock.now() + BOOT_MS,
        ...(published === undefined ? {} : { tokenHash: published }),
      });
    },
    onGuestStopped: (guest) => {
      booting.delete(guest.name);
      queue.kill(guest.name);
    },
  });
  // No pacing: simulated time runs far ahead of real time, a real-time rate would only slow it.
  const limiters: LimiterFactory = createLimiterFactory({
    limits: { proxmox: { maxConcurrent: 16 } },
  });
  const client = createProxmoxClient({
    connection: {
      url: fake.url,
      auth: { kind: 'token', tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET },
      tls: { kind: 'verify' },
      timeoutMs: 5_000,
    },
    limiter: limiters.for('proxmox'),
    clock,
  });
  const runnerSettings: RunnerSettings = {
    templates: [{ vmid: TEMPLATE }],
    nodes: [],
    clone: 'full',
    size: { cores: 2, memoryMiB: 4096 },
    labels: LABELS,
    concurrency: 2,
    redisUrl: 'redis://127.0.0.1:6379',
    queuePrefix: 'ai-provision',
    snippets: { storage: 'shared', dir: '/mnt/pve/shared/snippets' },
    tag: TAG,
  };
  const manager = createRunnerManager({
    client,
    settings: runnerSettings,
    registry: queue,
    clock,
    files: {
      write: async (path, text) => {
        files.set(path, text);
      },
      remove: async (path) => {
        files.delete(path);
      },
    },
  });
  const leases = new Map<string, { holder: string; until: number }>();

  function events(holder: string): AutoscaleEvent[] {
    if (!eventsBy.has(holder)) eventsBy.set(holder, []);
    return eventsBy.get(holder)!;
  }

  function loop(holder: string, settings: Partial<AutoscalerSettings> = {}): AutoscaleLoop {
    const merged = { ...SETTINGS, ...settings };
    return createAutoscaleLoop({
      manager,
      client,
      registry: queue,
      settings: merged,
      runnerLabels: LABELS,
      lease: createMemoryLease({
        table: leases,
        key: 'autoscaler',
        holder,
        ttlMs: 3 * merged.pollMs,
        clock,
      }),
      clock,
      onEvent: (event) => events(holder).push(event),
    });
  }

  function submit(jobs: Job[]): void {
    waiting.push(...jobs);
    waiting.sort((a, b) => a.at - b.at);
  }

  let nextStep = 0;
  async function runUntil(run: Run): Promise<number> {
    for (; nextStep <= run.limitMs; nextStep += STEP_MS) {
      const now = nextStep;
      await clock.advanceTo(now);
      await run.afterAdvance?.();
      while (waiting.length > 0 && waiting[0]!.at <= now) {
        const job = waiting.shift()!;
        queue.submit({ arrivalMs: job.at, durationMs: job.durationMs, burst: false });
      }
      fake.settle();
      for (const [runnerId, boot] of booting) {
        if (boot.at > now) continue;
        queue.register({
          id: runnerId,
          concurrency: 2,
          labels: LABELS,
          ...(boot.tokenHash === undefined ? {} : { tokenHash: boot.tokenHash }),
        });
        booting.delete(runnerId);
      }
      queue.step(now);
      if (now % SETTINGS.pollMs === 0) for (const each of run.ticking ?? []) await each.tick();
      run.at?.(now);
      if (run.done()) {
        nextStep += STEP_MS;
        return now;
      }
    }
    throw new Error(`the scenario did not settle by ${run.limitMs / MINUTE} simulated minutes`);
  }

  return {
    clock,
    fake,
    queue,
    files,
    loop,
    events,
    submit,
    runUntil,
    async close() {
      await limiters.close();
      await fake.close();
    },
  };
}

function jobs(count: number, at: number, durationMs: number): Job[] {
  return Array.from({ length: count }, () => ({ at, durationMs }));
}

function ofType<T extends AutoscaleEvent['type']>(
  events: AutoscaleEvent[],
  type: T,
): Extract<AutoscaleEvent, { type: T }>[] {
  return events.filter((e): e is Extract<AutoscaleEvent, { type: T }> => e.type === type);
}

/** Our runner guests still in the cluster. */
function runnerGuests(fake: FakeProxmox): number[] {
  return fake
    .guests()
    .filter((g) => g.tags.includes(TAG) && !g.template)
    .map((g) => g.vmid);
}

/** Requests that change the given guests: stop, shutdown, start, config writes, delete. */
function changesTo(fake: FakeProxmox, vmids: readonly number[]): string[] {
  return fake.requests
    .filter((r) => vmids.some((vmid) => new RegExp(`/(qemu|lxc)/${vmid}(/|$|\\?)`).test(r.path)))
    .filter((r) => r.method === 'DELETE' || r.method === 'PUT' || /\/status\/[a-z]+$/.test(r.path))
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path}`);
}

/** Changes to a guest we must leave alone (cloning the template only reads it). */
function handsOffViolations(fake: FakeProxmox): string[] {
  return changesTo(fake, HANDS_OFF);
}

function noJobLost(summary: SimSummary, submitted: number): void {
  expect(summary.submitted).toBe(submitted);
  expect(summary.completed).toBe(submitted);
  expect(summary.lost).toBe(0);
}

describe('proxmox/autoscale-loop createAutoscaleLoop', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('ramps up for a backlog, down when idle, and again for a second wave; never touches other guests', async () => {
    const harness = (h = await startHarness());
    const loop = harness.loop('a');
    const events = harness.events('a');
    let peak = 0;
    const measure = (): void => {
      peak = Math.max(peak, runnerGuests(harness.fake).length);
    };
    harness.submit([...jobs(16, 0, 4 * MINUTE), ...jobs(4, 45 * MINUTE, 4 * MINUTE)]);

    const firstWaveDone = await harness.runUntil({
      done: () => harness.queue.idle() && loop.runners().length === 0,
      limitMs: 44 * MINUTE,
      ticking: [loop],
      at: measure,
    });
    const firstWave = {
      created: ofType(events, 'provision-started').length,
      drained: ofType(events, 'drain-requested').length,
      removed: ofType(events, 'runner-removed').length,
      peak,
    };
    await harness.runUntil({
      done: () => harness.queue.summary().completed === 20 && loop.runners().length === 0,
      limitMs: 120 * MINUTE,
      ticking: [loop],
      at: measure,
    });
    await loop.stop();

    // 16 jobs ÷ 2 per runner wants 8: max is 4. Each drained once idle for the cooldown, then destroyed.
    expect(firstWave).toEqual({ created: 4, drained: 4, removed: 4, peak: 4 });
    expect(firstWaveDone).toBeLessThan(45 * MINUTE);
    // 4 jobs ÷ 2 per runner: 2 more.
    expect(ofType(events, 'provision-started')).toHaveLength(6);
    expect(ofType(events, 'runner-ready')).toHaveLength(6);
    expect(ofType(events, 'runner-removed')).toHaveLength(6);
    expect(ofType(events, 'provision-failed')).toHaveLength(0);
    expect(ofType(events, 'tick-failed')).toHaveLength(0);
    expect(peak).toBe(4);
    noJobLost(harness.queue.summary(), 20);
    expect(harness.queue.summary().interrupted).toBe(0);
    expect(runnerGuests(harness.fake)).toEqual([]);
    expect(harness.files.size).toBe(0);
    expect(handsOffViolations(harness.fake)).toEqual([]);
    // The same matcher does see what was done to our runners: a stop and a delete each.
    const ours = ofType(events, 'provision-started').map((e) =>
      Number(e.runnerId.split('-').pop()),
    );
    const done = changesTo(harness.fake, ours);
    expect(done.filter((c) => /^POST .*\/status\/stop$/.test(c))).toHaveLength(6);
    expect(done.filter((c) => c.startsWith('DELETE '))).toHaveLength(6);
    expect(harness.fake.guest(UNRELATED)?.status).toBe('running');
    expect(harness.fake.guest(LOOKALIKE)).toBeDefined();
    expect(harness.fake.guest(TAGGED_TEMPLATE)).toBeDefined();
  });

  it.each([
    { drainTimeoutMs: 60 * MINUTE, interrupted: 0, reason: 'drained' },
    { drainTimeoutMs: 10 * MINUTE, interrupted: 4, reason: 'still running' },
  ])(
    'a new leader with a lower max drains busy runners (drain timeout $drainTimeoutMs ms): $interrupted job runs interrupted, none lost',
    async ({ drainTimeoutMs, interrupted, reason }) => {
      const harness = (h = await startHarness());
      const first = harness.loop('a');
      const second = harness.loop('b', { max: 2, drainTimeoutMs });
      harness.submit(jobs(8, 0, 20 * MINUTE));
      await harness.runUntil({
        done: () => first.runners().filter((r) => r.phase === 'ready').length === 4,
        limitMs: 10 * MINUTE,
        ticking: [first],
      });

      await first.stop();
      await harness.runUntil({
        done: () => harness.queue.summary().completed === 8 && second.runners().length === 0,
        limitMs: 180 * MINUTE,
        ticking: [second],
      });
      await second.stop();

      const events = harness.events('b');
      expect(ofType(harness.events('a'), 'provision-started')).toHaveLength(4);
      expect(ofType(events, 'provision-started')).toHaveLength(0);
      // Rebuilt from the cluster: 4 ready, 2 above max drained at once, the other 2 after their cooldown.
      expect(ofType(events, 'drain-requested')).toHaveLength(4);
      const teardowns = ofType(events, 'teardown-started');
      expect(teardowns).toHaveLength(4);
      expect(teardowns.slice(0, 2).map((t) => t.reason.startsWith(reason))).toEqual([true, true]);
      expect(teardowns.slice(2).map((t) => t.reason)).toEqual(['drained', 'drained']);
      expect(ofType(events, 'runner-removed')).toHaveLength(4);
      noJobLost(harness.queue.summary(), 8);
      expect(harness.queue.summary().interrupted).toBe(interrupted);
      expect(runnerGuests(harness.fake)).toEqual([]);
      expect(harness.files.size).toBe(0);
      expect(handsOffViolations(harness.fake)).toEqual([]);
    },
  );

  it('retries a failed clone on another node and avoids the failed one', async () => {
    const harness = (h = await startHarness());
    const loop = harness.loop('a', { scaleUpPolls: 1 });
    const events = harness.events('a');
    harness.fake.failNext({ type: 'clone' }, 'clone failed: no space left on device');
    harness.submit(jobs(2, 0, 2 * MINUTE));

    await harness.runUntil({
      done: () => harness.queue.summary().completed === 2 && loop.runners().length === 0,
      limitMs: 60 * MINUTE,
      ticking: [loop],
    });
    await loop.stop();

    const started = ofType(events, 'provision-started');
    expect(started).toHaveLength(2);
    expect(ofType(events, 'provision-failed')).toEqual([
      expect.objectContaining({ runnerId: started[0]!.runnerId, node: started[0]!.node }),
    ]);
    expect(started[1]!.node).not.toBe(started[0]!.node);
    expect(ofType(events, 'node-avoided').map((e) => e.node)).toEqual([started[0]!.node]);
    expect(ofType(events, 'runner-ready')).toEqual([
      expect.objectContaining({ runnerId: started[1]!.runnerId, node: started[1]!.node }),
    ]);
    // The half-made runner is accounted for too: every provision ends in a removal.
    expect(ofType(events, 'runner-removed')).toHaveLength(2);
    noJobLost(harness.queue.summary(), 2);
    expect(runnerGuests(harness.fake)).toEqual([]);
    expect(handsOffViolations(harness.fake)).toEqual([]);
  });

  it('avoids a node that stopped answering, even once it is back, for nodeBackoffMs', async () => {
    const harness = (h = await startHarness({
      nodes: [
        { name: 'pve1', cores: 32, memoryMiB: 64 * 1024 },
        { name: 'pve2', cores: 64, memoryMiB: 256 * 1024 },
        { name: 'pve3', cores: 32, memoryMiB: 64 * 1024 },
      ],
    }));
    const loop = harness.loop('a', { scaleUpPolls: 1, max: 6 });
    const events = harness.events('a');
    harness.submit([
      ...jobs(2, 0, 10 * MINUTE),
      ...jobs(6, 45_000, 10 * MINUTE),
      ...jobs(6, 75_000, 10 * MINUTE),
    ]);
    // pve2 (most free memory) gets the first runner; right after its start is posted (the 30 s
    // poll) it stops answering, and it is back before the 90 s poll places two more runners.
    const outage = (now: number): void => {
      if (now === 30_000) harness.fake.setOnline('pve2', false);
      if (now === 65_000) harness.fake.setOnline('pve2', true);
    };

    await harness.runUntil({
      done: () => harness.queue.summary().completed === 14 && loop.runners().length === 0,
      limitMs: 120 * MINUTE,
      ticking: [loop],
      at: outage,
    });
    await loop.stop();

    const started = ofType(events, 'provision-started');
    expect(started).toHaveLength(6);
    expect(started[0]!.node).toBe('pve2');
    expect(ofType(events, 'node-avoided').map((e) => e.node)).toEqual(['pve2']);
    expect(started.slice(1).map((s) => s.node)).not.toContain('pve2');
    // The runner on pve2 was not given up: its start finished once the node was back.
    expect(ofType(events, 'runner-ready').map((e) => e.runnerId)).toContain(started[0]!.runnerId);
    noJobLost(harness.queue.summary(), 14);
    expect(runnerGuests(harness.fake)).toEqual([]);
    expect(handsOffViolations(harness.fake)).toEqual([]);
  });

  it('tears down a runner that registers without its token and replaces it', async () => {
    const harness = (h = await startHarness({
      registerAs: (runnerId, tokenHash) =>
        runnerId === 'ai-provision-runner-200' ? '0000000000000000' : tokenHash,
    }));
    const loop = harness.loop('a', { scaleUpPolls: 1, bootTimeoutMs: 5 * MINUTE });
    const events = harness.events('a');
    harness.submit(jobs(2, 0, 20 * MINUTE));

    await harness.runUntil({
      done: () => harness.queue.summary().completed === 2 && loop.runners().length === 0,
      limitMs: 90 * MINUTE,
      ticking: [loop],
    });
    await loop.stop();

    expect(ofType(events, 'provision-started').map((e) => e.runnerId)).toEqual([
      'ai-provision-runner-200',
      'ai-provision-runner-201',
    ]);
    expect(ofType(events, 'runner-ready').map((e) => e.runnerId)).toEqual([
      'ai-provision-runner-201',
    ]);
    expect(ofType(events, 'teardown-started')[0]).toEqual({
      type: 'teardown-started',
      runnerId: 'ai-provision-runner-200',
      reason: expect.stringContaining('not registered'),
    });
    // The queue did hand the impostor the jobs; they went back when its guest was stopped.
    noJobLost(harness.queue.summary(), 2);
    expect(harness.queue.summary().interrupted).toBe(2);
    expect(runnerGuests(harness.fake)).toEqual([]);
  });

  it('a new leader adopts the clones a stopped leader left half-made and tears them down (tagged template)', async () => {
    const harness = (h = await startHarness({ templateTags: [TAG] }));
    const first = harness.loop('a', { scaleUpPolls: 1 });
    const second = harness.loop('b', { scaleUpPolls: 1 });
    harness.submit(jobs(4, 0, 5 * MINUTE));
    await harness.runUntil({
      done: () => harness.clock.now() >= 5_000,
      limitMs: 5_000,
      ticking: [first],
    });
    const leftBehind = ofType(harness.events('a'), 'provision-started').map((e) => e.runnerId);

    await first.stop();
    await harness.runUntil({
      done: () => harness.queue.summary().completed === 4 && second.runners().length === 0,
      limitMs: 60 * MINUTE,
      ticking: [second],
    });
    await second.stop();

    const events = harness.events('b');
    expect(leftBehind).toHaveLength(2);
    // Adopted stopped and unconfigured (no token known): failed after one poll of grace.
    expect(
      ofType(events, 'teardown-started')
        .filter((e) => e.reason === 'failed')
        .map((e) => e.runnerId),
    ).toEqual(leftBehind);
    expect(ofType(events, 'provision-started')).toHaveLength(2);
    expect(ofType(events, 'runner-removed')).toHaveLength(4);
    noJobLost(harness.queue.summary(), 4);
    expect(runnerGuests(harness.fake)).toEqual([]);
    expect(harness.fake.guest(TEMPLATE)?.template).toBe(true);
    expect(handsOffViolations(harness.fake)).toEqual([]);
  });

  it('an API outage is a tick-failed event; the loop picks up where it was once the API answers', async () => {
    const harness = (h = await startHarness());
    const loop = harness.loop('a', { scaleUpPolls: 1 });
    const events = harness.events('a');
    harness.submit(jobs(4, 0, 5 * MINUTE));
    // The clones posted at 0 s finish during the outage (polls at 30, 60 and 90 s fail).
    const outage = (now: number): void => {
      if (now === 25_000) harness.fake.setOutage({ status: 503, text: 'Service Unavailable' });
      if (now === 95_000) harness.fake.setOutage(undefined);
    };

    await harness.runUntil({
      done: () => harness.queue.summary().completed === 4 && loop.runners().length === 0,
      limitMs: 60 * MINUTE,
      ticking: [loop],
      at: outage,
    });
    await loop.stop();

    expect(ofType(events, 'tick-failed')).toHaveLength(3);
    expect(ofType(events, 'provision-started')).toHaveLength(2);
    expect(ofType(events, 'provision-failed')).toHaveLength(0);
    expect(ofType(events, 'runner-ready')).toHaveLength(2);
    expect(ofType(events, 'runner-removed')).toHaveLength(2);
    noJobLost(harness.queue.summary(), 4);
    expect(runnerGuests(harness.fake)).toEqual([]);
  });

  it('two started loops on one lease: only the holder acts; the other takes over after stop()', async () => {
    const harness = (h = await startHarness());
    const a = harness.loop('a', { scaleUpPolls: 1 });
    const b = harness.loop('b', { scaleUpPolls: 1 });
    harness.submit([...jobs(4, 0, 3 * MINUTE), ...jobs(4, 40 * MINUTE, 3 * MINUTE)]);
    let loops = 2;
    // A started loop ticks when the clock wakes it; the step goes on once it sleeps again.
    const asleep = async (): Promise<void> => {
      await waitFor(() => harness.clock.pending() >= loops, 'the loops to sleep', 10_000, 1);
    };

    a.start();
    b.start();
    await asleep();
    await harness.runUntil({
      done: () => harness.clock.now() >= 30 * MINUTE,
      limitMs: 30 * MINUTE,
      afterAdvance: asleep,
    });
    const whileAHeld = {
      aStarted: ofType(harness.events('a'), 'provision-started').length,
      aRemoved: ofType(harness.events('a'), 'runner-removed').length,
      bEvents: harness.events('b').length,
      bRunners: b.runners().length,
    };
    await a.stop();
    loops = 1;
    await harness.runUntil({
      done: () => harness.queue.summary().completed === 8 && b.runners().length === 0,
      limitMs: 120 * MINUTE,
      afterAdvance: asleep,
    });
    await b.stop();

    // 4 jobs ÷ 2 per runner = 2 runners, made once (by a), not once per loop.
    expect(whileAHeld).toEqual({ aStarted: 2, aRemoved: 2, bEvents: 0, bRunners: 0 });
    expect(ofType(harness.events('b'), 'provision-started')).toHaveLength(2);
    expect(ofType(harness.events('b'), 'runner-removed')).toHaveLength(2);
    expect(ofType(harness.events('a'), 'provision-started')).toHaveLength(2);
    noJobLost(harness.queue.summary(), 8);
    expect(runnerGuests(harness.fake)).toEqual([]);
    expect(handsOffViolations(harness.fake)).toEqual([]);
  });
});
