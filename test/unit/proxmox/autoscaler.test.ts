import { decide, EMPTY_MEMORY } from '../../../src/proxmox/autoscaler.js';
import type {
  AutoscalerMemory,
  AutoscalerSettings,
  ManagedRunner,
  RunnerPhase,
  ScaleAction,
} from '../../../src/proxmox/types.js';

const NOW = 10_000_000;
const MINUTE = 60_000;

/** DEFAULT_AUTOSCALER's values, spelled out so this test depends on decide alone. */
const SETTINGS: AutoscalerSettings = {
  min: 0,
  max: 4,
  pollMs: 30_000,
  backlogPerRunner: 2,
  scaleUpPolls: 2,
  cooldownMs: 10 * MINUTE,
  bootTimeoutMs: 10 * MINUTE,
  drainTimeoutMs: 30 * MINUTE,
  nodeBackoffMs: 5 * MINUTE,
  maxStepUp: 4,
};

function runner(id: string, phase: RunnerPhase, ageMs = 0, running = 0): ManagedRunner {
  return { id, node: 'pve1', phase, since: NOW - ageMs, running };
}

function ready(count: number, running = 0): ManagedRunner[] {
  return Array.from({ length: count }, (_, i) => runner(`r${i}`, 'ready', MINUTE, running));
}

/** Actions in a form a table can spell: "provision 2", "drain r1", "teardown r2". */
function spelled(actions: readonly ScaleAction[]): string[] {
  return actions.map((a) =>
    a.kind === 'provision' ? `provision ${a.count}` : `${a.kind} ${a.runnerId}`,
  );
}

interface Case {
  name: string;
  settings?: Partial<AutoscalerSettings>;
  memory?: AutoscalerMemory;
  backlog?: number;
  runners?: ManagedRunner[];
  actions: string[];
  target: number;
  pollsAbove?: number;
  idleSince?: Record<string, number>;
}

const cases: Case[] = [
  { name: 'nothing to do with nothing waiting and min 0', actions: [], target: 0, pollsAbove: 0 },
  {
    name: 'below min: provisions the difference at once',
    settings: { min: 2 },
    actions: ['provision 2'],
    target: 2,
  },
  {
    name: 'below min: runners on their way count',
    settings: { min: 3 },
    runners: [runner('p', 'provisioning'), runner('b', 'booting')],
    actions: ['provision 1'],
    target: 3,
  },
  {
    name: 'below min is capped by max',
    settings: { min: 6, max: 4 },
    actions: ['provision 4'],
    target: 4,
  },
  {
    name: 'backlog with no runner counts as above, but waits for scaleUpPolls',
    backlog: 1,
    actions: [],
    target: 0,
    pollsAbove: 1,
  },
  {
    name: 'backlog above the threshold for scaleUpPolls polls: ceil(backlog ÷ backlogPerRunner)',
    backlog: 5,
    memory: { pollsAbove: 1, idleSince: {} },
    actions: ['provision 3'],
    target: 3,
    pollsAbove: 0,
  },
  {
    name: 'scaleUpPolls 1 scales on the first poll',
    settings: { scaleUpPolls: 1 },
    backlog: 1,
    actions: ['provision 1'],
    target: 1,
    pollsAbove: 0,
  },
  {
    name: 'backlog exactly at the threshold is not above it',
    backlog: 4,
    runners: ready(2, 2),
    memory: { pollsAbove: 1, idleSince: {} },
    actions: [],
    target: 2,
    pollsAbove: 0,
  },
  {
    name: 'scales from the current capacity towards the target',
    backlog: 5,
    runners: ready(2, 2),
    memory: { pollsAbove: 1, idleSince: {} },
    actions: ['provision 1'],
    target: 3,
  },
  {
    name: 'provisioning and booting runners count as capacity (no double provisioning)',
    backlog: 5,
    runners: [
      runner('r0', 'ready', MINUTE, 2),
      runner('p', 'provisioning'),
      runner('b', 'booting'),
    ],
    memory: { pollsAbove: 1, idleSince: {} },
    actions: [],
    target: 3,
    pollsAbove: 0,
  },
  {
    name: 'at most maxStepUp per poll',
    settings: { max: 16, maxStepUp: 4 },
    backlog: 100,
    memory: { pollsAbove: 1, idleSince: {} },
    actions: ['provision 4'],
    target: 4,
  },
  {
    name: 'never above max',
    backlog: 100,
    runners: ready(3, 2),
    memory: { pollsAbove: 1, idleSince: {} },
    actions: ['provision 1'],
    target: 4,
  },
  {
    name: 'at max: no provision, and the poll count starts over',
    backlog: 100,
    runners: ready(4, 2),
    memory: { pollsAbove: 1, idleSince: {} },
    actions: [],
    target: 4,
    pollsAbove: 0,
  },
  {
    name: 'a draining runner is not capacity',
    backlog: 3,
    runners: [runner('d', 'draining', MINUTE, 1), runner('r0', 'ready', MINUTE, 2)],
    memory: { pollsAbove: 1, idleSince: {} },
    actions: ['provision 1'],
    target: 2,
  },
  {
    name: 'a new ready runner starts its idle clock now',
    runners: ready(1),
    actions: [],
    target: 1,
    idleSince: { r0: NOW },
  },
  {
    name: 'an idle ready runner keeps its idle clock',
    runners: ready(1),
    memory: { pollsAbove: 0, idleSince: { r0: NOW - 5 * MINUTE } },
    actions: [],
    target: 1,
    idleSince: { r0: NOW - 5 * MINUTE },
  },
  {
    name: 'a busy runner restarts its idle clock',
    runners: ready(1, 1),
    memory: { pollsAbove: 0, idleSince: { r0: NOW - 20 * MINUTE } },
    actions: [],
    target: 1,
    idleSince: { r0: NOW },
  },
  {
    name: 'waiting jobs restart every idle clock (and nothing is drained)',
    backlog: 1,
    runners: ready(1),
    memory: { pollsAbove: 0, idleSince: { r0: NOW - 20 * MINUTE } },
    actions: [],
    target: 1,
    idleSince: { r0: NOW },
  },
  {
    name: 'idle for cooldownMs: drained',
    runners: ready(1),
    memory: { pollsAbove: 0, idleSince: { r0: NOW - 10 * MINUTE } },
    actions: ['drain r0'],
    target: 0,
    idleSince: {},
  },
  {
    name: 'idle runners are drained oldest idle first, never below min',
    settings: { min: 1 },
    runners: ready(3),
    memory: {
      pollsAbove: 0,
      idleSince: { r0: NOW - 11 * MINUTE, r1: NOW - 30 * MINUTE, r2: NOW - 20 * MINUTE },
    },
    actions: ['drain r1', 'drain r2'],
    target: 1,
    idleSince: { r0: NOW - 11 * MINUTE },
  },
  {
    name: 'min keeps an idle runner',
    settings: { min: 1 },
    runners: ready(1),
    memory: { pollsAbove: 0, idleSince: { r0: NOW - 60 * MINUTE } },
    actions: [],
    target: 1,
  },
  {
    name: 'cooldown 0 still drains nothing while jobs wait',
    settings: { cooldownMs: 0 },
    backlog: 1,
    runners: ready(1),
    actions: [],
    target: 1,
  },
  {
    name: 'forgets the idle clocks of runners gone',
    runners: ready(1),
    memory: { pollsAbove: 0, idleSince: { r0: NOW - MINUTE, gone: NOW - 5 * MINUTE } },
    actions: [],
    target: 1,
    idleSince: { r0: NOW - MINUTE },
  },
  {
    name: 'booting within bootTimeoutMs: waits',
    runners: [runner('b', 'booting', 10 * MINUTE)],
    actions: [],
    target: 1,
  },
  {
    name: 'booting longer than bootTimeoutMs: torn down',
    runners: [runner('b', 'booting', 10 * MINUTE + 1)],
    actions: ['teardown b'],
    target: 0,
  },
  {
    name: 'provisioning longer than bootTimeoutMs: torn down',
    runners: [runner('p', 'provisioning', 10 * MINUTE + 1)],
    actions: ['teardown p'],
    target: 0,
  },
  {
    name: 'a boot timeout below min is replaced in the same poll',
    settings: { min: 1 },
    runners: [runner('b', 'booting', 11 * MINUTE)],
    actions: ['teardown b', 'provision 1'],
    target: 1,
  },
  {
    name: 'draining and idle: torn down',
    runners: [runner('d', 'draining', MINUTE, 0)],
    actions: ['teardown d'],
    target: 0,
  },
  {
    name: 'draining and busy: waits for its job',
    runners: [runner('d', 'draining', 30 * MINUTE, 1)],
    actions: [],
    target: 0,
  },
  {
    name: 'draining longer than drainTimeoutMs: torn down anyway',
    runners: [runner('d', 'draining', 30 * MINUTE + 1, 1)],
    actions: ['teardown d'],
    target: 0,
  },
  {
    name: 'failed: torn down',
    runners: [runner('f', 'failed')],
    actions: ['teardown f'],
    target: 0,
  },
  {
    name: 'tearing down: left alone and not capacity',
    settings: { min: 1 },
    runners: [runner('t', 'tearing-down', 60 * MINUTE)],
    actions: ['provision 1'],
    target: 1,
  },
  {
    name: 'above max (max lowered): the least busy are drained',
    settings: { max: 2 },
    runners: [
      runner('a', 'ready', MINUTE, 2),
      runner('b', 'ready', MINUTE, 0),
      runner('c', 'ready', MINUTE, 1),
      runner('d', 'ready', MINUTE, 2),
    ],
    actions: ['drain b', 'drain c'],
    target: 2,
  },
];

describe('proxmox/autoscaler decide', () => {
  it.each(cases)('$name', (c) => {
    const settings = { ...SETTINGS, ...c.settings };
    const observation = { now: NOW, backlog: c.backlog ?? 0, runners: c.runners ?? [] };

    const decision = decide(observation, c.memory ?? EMPTY_MEMORY, settings);

    expect(spelled(decision.actions)).toEqual(c.actions);
    expect(decision.target).toBe(c.target);
    if (c.pollsAbove !== undefined) expect(decision.memory.pollsAbove).toBe(c.pollsAbove);
    if (c.idleSince !== undefined) expect(decision.memory.idleSince).toEqual(c.idleSince);
    for (const action of decision.actions) expect(action.reason).not.toBe('');
  });

  it('counts polls above the threshold across calls and resets them when the backlog drops', () => {
    const settings = { ...SETTINGS, scaleUpPolls: 3 };
    const busy = ready(1, 2);
    const at = (backlog: number) => ({ now: NOW, backlog, runners: busy });

    const first = decide(at(5), EMPTY_MEMORY, settings);
    const second = decide(at(5), first.memory, settings);
    const dropped = decide(at(1), second.memory, settings);
    const again = decide(at(5), dropped.memory, settings);

    expect([first, second, dropped, again].map((d) => d.memory.pollsAbove)).toEqual([1, 2, 0, 1]);
    expect([first, second, dropped, again].every((d) => d.actions.length === 0)).toBe(true);
  });

  it('leaves its inputs as they were', () => {
    const memory = { pollsAbove: 1, idleSince: { r0: NOW - 20 * MINUTE, gone: 1 } };
    const runners = ready(1);
    const before = structuredClone({ memory, runners });

    decide({ now: NOW, backlog: 0, runners }, memory, SETTINGS);
    decide({ now: NOW, backlog: 9, runners }, EMPTY_MEMORY, SETTINGS);

    expect({ memory, runners }).toEqual(before);
    expect(EMPTY_MEMORY).toEqual({ pollsAbove: 0, idleSince: {} });
  });
});
