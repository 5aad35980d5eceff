/**
 * `ai-provision runners list|add|remove`: the operator's hands on the Proxmox runners, next to the
 * autoscaler that `serve` runs. It uses the same runner manager, so the same safety holds: only
 * guests carrying the runner tag and name are ever stopped or destroyed, and a runner is drained
 * before it goes. Proxmox calls go through the 'proxmox' rate limiter, shared with the bot through
 * Redis when REDIS_URL is set.
 *
 * Formatting and argument parsing are pure; `connectRunners` builds the adapters.
 */
import type { Command } from 'commander';
import { positiveInt, unusableSettings } from './cli-args.js';
import { parseEnv } from './env.js';
import { createLimiterFactory } from './pool/limiters.js';
import { createRedisQueue } from './pool/redis.js';
import { createProxmoxClient } from './proxmox/client.js';
import { createRunnerManager, type RunnerGuest, type RunnerManager } from './proxmox/runners.js';
import { readProxmoxSettings, type ProxmoxSettingsResult } from './proxmox/settings.js';
import { ProxmoxError, type RegisteredRunner, type RunnerRegistry } from './proxmox/types.js';
import { redisRunnerRegistry } from './runtime.js';
import { errorText } from './outcome.js';

type ProxmoxOk = Extract<ProxmoxSettingsResult, { kind: 'ok' }>;

/** What the commands work with; `close` releases the connections. */
export interface RunnersConnection {
  settings: ProxmoxOk;
  manager: RunnerManager;
  /** Absent without REDIS_URL: runners can be listed, not added or removed. */
  registry?: RunnerRegistry;
  close(): Promise<void>;
}

export type ConnectResult =
  { kind: 'ok'; connection: RunnersConnection } | { kind: 'invalid'; problems: string[] };

export interface RunnersDeps {
  /** Where the settings are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  out?: (s: string) => void;
  err?: (s: string) => void;
  /** Sets the exit code; process.exitCode by default. */
  exit?: (code: number) => void;
}

/** The real adapters: Proxmox client (rate-limited), runner manager, and the queue's registry. */
export async function connectRunners(env: NodeJS.ProcessEnv): Promise<ConnectResult> {
  const proxmox = readProxmoxSettings(env);
  if (proxmox.kind === 'off') {
    return {
      kind: 'invalid',
      problems: [
        'PROXMOX_URL: missing; set it to the Proxmox VE API, such as https://pve1.example.com:8006',
      ],
    };
  }
  if (proxmox.kind === 'invalid') return { kind: 'invalid', problems: proxmox.message.split('\n') };
  const parsed = parseEnv(env);
  if (parsed.kind === 'invalid') return parsed;
  const redisUrl = parsed.env.REDIS_URL;
  const prefix = parsed.env.AI_PROVISION_QUEUE_PREFIX;
  const limiters = createLimiterFactory(
    redisUrl === undefined ? {} : { redis: { url: redisUrl, prefix }, onError: () => undefined },
  );
  const client = createProxmoxClient({
    connection: proxmox.connection,
    limiter: limiters.for('proxmox'),
  });
  const producer =
    redisUrl === undefined
      ? undefined
      : createRedisQueue({
          url: redisUrl,
          prefix,
          settings: parsed.pool,
          onError: () => undefined,
        });
  const registry = producer === undefined ? undefined : redisRunnerRegistry(producer);
  const manager = createRunnerManager({
    client,
    settings: proxmox.runners,
    // Without Redis only `list` runs, and it never asks the registry.
    registry: registry ?? NO_REGISTRY,
  });
  return {
    kind: 'ok',
    connection: {
      settings: proxmox,
      manager,
      ...(registry === undefined ? {} : { registry }),
      async close() {
        await producer?.close();
        await limiters.close();
      },
    },
  };
}

const NO_REGISTRY: RunnerRegistry = {
  list: async () => [],
  requestDrain: async () => undefined,
  backlog: async () => 0,
};

// ---------------------------------------------------------------------------------------------
// Pure parts

export type QueueState = 'registered' | 'draining' | 'not registered' | 'unknown';

/** One runner guest with what the queue says of it. */
export interface RunnerRow {
  runnerId: string;
  vmid: number;
  node: string;
  kind: 'qemu' | 'lxc';
  status: string;
  uptimeS: number;
  cores: number;
  memoryMiB: number;
  /** 'unknown' without REDIS_URL. */
  queue: QueueState;
  /** Jobs running on it now; absent unless registered. */
  running?: number;
  labels?: string[];
}

export interface RunnersView {
  runners: RunnerRow[];
  /**
   * Runners in the queue's registry that are not Proxmox runner guests: hand-started workers,
   * `serve`'s own runner, or a runner whose guest was removed behind the bot's back.
   */
  otherRunners: RegisteredRunner[];
  /** False without REDIS_URL: the queue columns are unknown. */
  queueKnown: boolean;
}

/** Joins the cluster's runner guests with the queue's registry (undefined: not known). */
export function runnersView(
  guests: RunnerGuest[],
  registered: RegisteredRunner[] | undefined,
): RunnersView {
  const byId = new Map((registered ?? []).map((entry) => [entry.id, entry]));
  const runners = [...guests]
    .sort((a, b) => a.vmid - b.vmid)
    .map((guest): RunnerRow => {
      const entry = byId.get(guest.runnerId);
      const queue: QueueState =
        registered === undefined
          ? 'unknown'
          : entry === undefined
            ? 'not registered'
            : entry.draining
              ? 'draining'
              : 'registered';
      return {
        runnerId: guest.runnerId,
        vmid: guest.vmid,
        node: guest.node,
        kind: guest.kind,
        status: guest.status,
        uptimeS: guest.uptimeS,
        cores: guest.cores,
        memoryMiB: Math.round(guest.memoryBytes / 2 ** 20),
        queue,
        ...(entry === undefined ? {} : { running: entry.running, labels: entry.labels }),
      };
    });
  const guestIds = new Set(guests.map((guest) => guest.runnerId));
  const otherRunners = (registered ?? [])
    .filter((entry) => !guestIds.has(entry.id))
    .sort((a, b) => a.id.localeCompare(b.id));
  return { runners, otherRunners, queueKnown: registered !== undefined };
}

/** 0 s → "-", else the largest two units: "3d4h", "2h5m", "4m10s", "42s". */
export function formatUptime(seconds: number): string {
  if (seconds <= 0) return '-';
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let left = Math.floor(seconds);
  for (const [name, size] of units) {
    if (parts.length === 2) break;
    const n = Math.floor(left / size);
    if (n > 0 || parts.length > 0) parts.push(`${n}${name}`);
    left -= n * size;
  }
  return parts.join('');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** The `runners list` table, then the registry's other runners and, without Redis, why the queue is unknown. */
export function formatRunners(view: RunnersView): string {
  let text =
    view.runners.length === 0
      ? 'No Proxmox runners (guests tagged as the bot’s runners).\n'
      : table(
          ['RUNNER', 'VMID', 'NODE', 'KIND', 'STATUS', 'UP', 'SIZE', 'QUEUE', 'JOBS'],
          view.runners.map((row) => [
            row.runnerId,
            String(row.vmid),
            row.node,
            row.kind,
            row.status,
            formatUptime(row.uptimeS),
            `${row.cores}c/${row.memoryMiB}Mi`,
            row.queue,
            row.running === undefined ? '-' : String(row.running),
          ]),
        );
  if (view.otherRunners.length > 0) {
    text += `\nOther runners in the queue (not Proxmox runner guests):\n${table(
      ['RUNNER', 'LABELS', 'JOBS', 'DRAINING'],
      view.otherRunners.map((entry) => [
        entry.id,
        entry.labels.join(','),
        `${entry.running}/${entry.concurrency}`,
        entry.draining ? 'yes' : 'no',
      ]),
    )}`;
  }
  if (!view.queueKnown) {
    text +=
      '\nQUEUE is unknown: REDIS_URL is not set, so the queue’s runner registry cannot be read.\n';
  }
  return text;
}

const RUNNER_ID = /^ai-provision-runner-(?<vmid>\d+)$/;

export type ParsedRunnerRef = { kind: 'ok'; vmid: number } | { kind: 'invalid'; message: string };

/** `ai-provision-runner-123` or `123` → the VMID. */
export function parseRunnerRef(value: string): ParsedRunnerRef {
  const trimmed = value.trim();
  const vmid =
    RUNNER_ID.exec(trimmed)?.groups?.vmid ?? (/^\d+$/.test(trimmed) ? trimmed : undefined);
  const n = vmid === undefined ? Number.NaN : Number(vmid);
  if (!Number.isSafeInteger(n) || n < 100) {
    return {
      kind: 'invalid',
      message: `expected a runner as ai-provision-runner-<vmid> or its VMID (100 or more), such as ai-provision-runner-105, got ${JSON.stringify(value)}`,
    };
  }
  return { kind: 'ok', vmid: n };
}

/** 2 for a refusal (nothing was changed because of what was asked), 1 for a failure. */
function exitCodeOf(error: unknown): number {
  return error instanceof ProxmoxError && error.code === 'refused' ? 2 : 1;
}

function proxmoxErrorLine(error: unknown): string {
  if (error instanceof ProxmoxError) {
    return `error [proxmox ${error.code}]${error.node === undefined ? '' : ` on ${error.node}`}: ${error.message}\n`;
  }
  return `error: ${errorText(error)}\n`;
}

// ---------------------------------------------------------------------------------------------
// The commands

export function registerRunnersCommand(program: Command, deps: RunnersDeps = {}): void {
  const env = (): NodeJS.ProcessEnv => deps.env ?? process.env;
  const out = deps.out ?? ((s: string) => void process.stdout.write(s));
  const err = deps.err ?? ((s: string) => void process.stderr.write(s));
  const exit =
    deps.exit ??
    ((code: number) => {
      process.exitCode = code;
    });

  /** Connects, runs `work`, closes; settings problems exit 2, errors from `work` 1 or 2. */
  async function withConnection(
    work: (connection: RunnersConnection) => Promise<number>,
  ): Promise<void> {
    const result = await connectRunners(env());
    if (result.kind === 'invalid') {
      err(unusableSettings('Proxmox', result.problems, 'Connect a Proxmox cluster'));
      exit(2);
      return;
    }
    try {
      exit(await work(result.connection));
    } catch (error) {
      err(proxmoxErrorLine(error));
      exit(exitCodeOf(error));
    } finally {
      await result.connection.close();
    }
  }

  /** True (and says so) when the command needs the queue's registry and there is no REDIS_URL. */
  function lacksRegistry(connection: RunnersConnection, what: string): boolean {
    if (connection.registry !== undefined) return false;
    err(
      `error: REDIS_URL: missing; ${what} needs the queue's Redis (runners register and drain through it), such as REDIS_URL=redis://10.0.0.2:6379\n`,
    );
    return true;
  }

  const runners = program
    .command('runners')
    .description(
      'List, add or remove the bot’s runner guests on Proxmox (PROXMOX_* settings; REDIS_URL to add, remove, or see the queue).',
    );

  runners
    .command('list')
    .description('The runner guests on the cluster, with what the queue says of each.')
    .option('--json', 'print the rows as JSON')
    .action(async (options: { json?: boolean }) => {
      await withConnection(async ({ manager, registry }) => {
        const [guests, registered] = await Promise.all([manager.list(), registry?.list()]);
        const view = runnersView(guests, registered);
        out(options.json ? `${JSON.stringify(view, null, 2)}\n` : formatRunners(view));
        return 0;
      });
    });

  runners
    .command('add')
    .description(
      'Make runners now (clone, configure, start) and wait until each registers with the queue; never above AI_PROVISION_AUTOSCALE_MAX.',
    )
    .option('--count <n>', 'how many runners', positiveInt, 1)
    .option('--node <node>', 'put them on this node (default: the node with the most free memory)')
    .action(async (options: { count: number; node?: string }) => {
      await withConnection(async (connection) => {
        if (lacksRegistry(connection, 'adding a runner')) return 2;
        const { manager, settings } = connection;
        const have = (await manager.list()).length;
        const max = settings.autoscaler.max;
        if (have + options.count > max) {
          err(
            `error: ${options.count} more runner${options.count === 1 ? '' : 's'} would make ${have + options.count}, above AI_PROVISION_AUTOSCALE_MAX=${max}; raise it, or ask for at most ${Math.max(0, max - have)} (\`ai-provision runners list\` shows the ${have} there are)\n`,
          );
          return 2;
        }
        for (let i = 0; i < options.count; i++) {
          const startedAt = Date.now();
          try {
            const guest = await manager.provision({
              bootTimeoutMs: settings.autoscaler.bootTimeoutMs,
              ...(options.node === undefined ? {} : { node: options.node }),
            });
            out(
              `${guest.runnerId}  vmid ${guest.vmid} on ${guest.node}: registered in ${Math.round((Date.now() - startedAt) / 1000)} s\n`,
            );
          } catch (error) {
            err(proxmoxErrorLine(error));
            if (i > 0) err(`${i} of ${options.count} runners were added; the others were not.\n`);
            return exitCodeOf(error);
          }
        }
        if (settings.autoscaler.enabled) {
          out(
            `Note: the autoscaler in \`serve\` removes idle runners above AI_PROVISION_AUTOSCALE_MIN=${settings.autoscaler.min} after its cooldown.\n`,
          );
        }
        return 0;
      });
    });

  runners
    .command('remove')
    .description(
      'Drain runners (their running jobs finish), then stop and destroy their guests. Only the bot’s own runner guests.',
    )
    .argument('<runner...>', 'ai-provision-runner-<vmid> or the VMID; repeatable')
    .option(
      '--drain-timeout-ms <ms>',
      'stop waiting for running jobs after this long (default AI_PROVISION_AUTOSCALE_DRAIN_TIMEOUT_MS)',
      positiveInt,
    )
    .action(async (refs: string[], options: { drainTimeoutMs?: number }) => {
      const vmids: number[] = [];
      for (const ref of refs) {
        const parsed = parseRunnerRef(ref);
        if (parsed.kind === 'invalid') {
          err(`error: ${parsed.message}\n`);
          exit(2);
          return;
        }
        vmids.push(parsed.vmid);
      }
      await withConnection(async (connection) => {
        if (lacksRegistry(connection, 'removing a runner')) return 2;
        const { manager, settings } = connection;
        const guests = await manager.list();
        // Every name is checked before anything is drained: a typo removes nothing.
        const missing = vmids.filter((vmid) => !guests.some((guest) => guest.vmid === vmid));
        if (missing.length > 0) {
          err(
            `error: no runner guest ${missing.map((vmid) => `ai-provision-runner-${vmid}`).join(', ')} on the cluster (only guests with the runner tag and name count); \`ai-provision runners list\` shows them. Nothing was removed.\n`,
          );
          return 2;
        }
        const drainTimeoutMs = options.drainTimeoutMs ?? settings.autoscaler.drainTimeoutMs;
        for (const vmid of vmids) {
          const guest = guests.find((candidate) => candidate.vmid === vmid)!;
          await manager.teardown({ node: guest.node, vmid, kind: guest.kind }, { drainTimeoutMs });
          out(`${guest.runnerId}  vmid ${vmid} on ${guest.node}: drained and destroyed\n`);
        }
        return 0;
      });
    });
}
