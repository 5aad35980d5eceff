/**
 * The Proxmox settings, read from the environment with zod: the API connection, the runners the
 * bot clones and the autoscaler. Parsers never throw: every problem comes back at once, one per
 * line, naming the variable, what was expected, an example and what was given — never a secret's
 * value (the token secret, the password, a password inside a URL).
 *
 * Connection (all off when PROXMOX_URL is unset):
 * - PROXMOX_URL: https://host:port (http only on a loopback host), such as https://pve1:8006.
 * - PROXMOX_TOKEN_ID + PROXMOX_TOKEN_SECRET (preferred), or PROXMOX_USERNAME + PROXMOX_PASSWORD.
 * - PROXMOX_CA_FILE: the cluster's CA (PEM); PROXMOX_TLS_INSECURE (false): no certificate check.
 * - PROXMOX_TIMEOUT_MS (30000): per HTTP call.
 *
 * Runners: AI_PROVISION_PROXMOX_TEMPLATE (required: `9000` or `pve1:9000,pve2:9001`),
 * _NODES (every online node), _STORAGE, _POOL, _CLONE (auto), _SNIPPETS (`storage:/dir`),
 * _RUNNER_CORES (2), _RUNNER_MEMORY_MIB (4096), _RUNNER_LABELS (llm_heavy,exec),
 * _RUNNER_CONCURRENCY (2), _RUNNER_REDIS_URL (REDIS_URL), AI_PROVISION_QUEUE_PREFIX (ai-provision).
 *
 * Autoscaler: AI_PROVISION_AUTOSCALE (on when REDIS_URL is set: runners register through Redis)
 * and AI_PROVISION_AUTOSCALE_* over DEFAULT_AUTOSCALER.
 *
 * An empty variable counts as unset (compose files often write `NAME=`).
 */
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { z } from 'zod';
import { parseLabels, wholeNumber } from '../pool/settings.js';
import type {
  AutoscalerSettings,
  ProxmoxAuth,
  ProxmoxConnection,
  ProxmoxTls,
  RunnerSettings,
  RunnerTemplateRef,
} from './types.js';

export type ProxmoxSettingsResult =
  /** PROXMOX_URL unset or empty: no Proxmox at all. */
  | { kind: 'off' }
  | {
      kind: 'ok';
      connection: ProxmoxConnection;
      runners: RunnerSettings;
      autoscaler: AutoscalerSettings & { enabled: boolean };
    }
  /** Every problem, one per line. */
  | { kind: 'invalid'; message: string };

/** The tag that marks a guest as the bot's runner; only such guests are ever stopped or destroyed. */
export const RUNNER_TAG = 'ai-provision-runner';

/**
 * Defaults. The scale-up pair is what bench:autoscale measured to keep the wait p95 within two
 * polls on its 24-hour trace: react at the first poll with more than one waiting job per two
 * runners. Two polls in a row (or a threshold of 1) let the wait p95 reach 2.1–3 polls there,
 * because a new runner needs a clone, a start and a boot (≈ 1–2 polls) before it takes work.
 */
export const DEFAULT_AUTOSCALER: AutoscalerSettings = {
  min: 0,
  max: 4,
  pollMs: 30_000,
  backlogPerRunner: 0.5,
  scaleUpPolls: 1,
  cooldownMs: 600_000,
  bootTimeoutMs: 600_000,
  drainTimeoutMs: 1_800_000,
  nodeBackoffMs: 300_000,
  maxStepUp: 4,
};

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RUNNER_LABELS = ['llm_heavy', 'exec'];
const DEFAULT_QUEUE_PREFIX = 'ai-provision';

/** Whose values are never shown back, only their length. */
const SECRET_VARIABLES = new Set(['PROXMOX_TOKEN_SECRET', 'PROXMOX_PASSWORD']);
/** URLs whose password part is masked when shown back. */
const URL_VARIABLES = new Set([
  'PROXMOX_URL',
  'REDIS_URL',
  'AI_PROVISION_PROXMOX_RUNNER_REDIS_URL',
]);

const DECIMAL = /^\d+(?:\.\d+)?$/;
/** The port as written (WHATWG URL drops a default one, so :443 could not be told from none). */
const EXPLICIT_PORT =
  /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*):(\d+)(?:[/?#]|$)/i;
/** Proxmox's userid (`user@realm`) and token id (`user@realm!name`). */
const USER_ID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9._-]*$/;
const TOKEN_ID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9._-]*![A-Za-z][A-Za-z0-9._-]*$/;
/** proxmox-api sends the secret only when it is a lowercase UUID, as Proxmox shows it. */
const TOKEN_SECRET = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NODE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const STORAGE_ID = /^[A-Za-z](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const POOL_ID = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
const QUEUE_PREFIX = /^[A-Za-z0-9_-]{1,40}$/;
const TEMPLATE_ITEM = /^(?:(?<node>[^:]+):)?(?<vmid>\d+)$/;
const MIN_VMID = 100;
const MAX_VMID = 999_999_999;

const URL_EXPECTED =
  'expected the Proxmox VE API as https://host:port without a path (http only on a loopback host), such as https://pve1.example.com:8006';
const TEMPLATE_EXPECTED =
  'expected the runner template VMID, or node:vmid per node separated by commas, such as 9000 or pve1:9000,pve2:9001';
const SNIPPETS_EXPECTED =
  'expected <storage>:<absolute directory>, a storage with snippets content and its snippets directory as mounted on this host, such as shared:/mnt/pve/shared/snippets';

/** Reads a file as text; throws when it cannot. */
export type ReadFile = (path: string) => string;
/** Whether `path` is a directory on this host. */
export type IsDirectory = (path: string) => boolean;

function defaultReadFile(path: string): string {
  return readFileSync(path, 'utf8');
}

function defaultIsDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

function fail(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
}

/** A decimal above 0. */
function positiveDecimal(example: string) {
  const expected = `expected a number above 0, such as ${example}`;
  return z
    .string()
    .trim()
    .regex(DECIMAL, { error: expected })
    .transform(Number)
    .refine((n) => Number.isFinite(n) && n > 0, { error: expected });
}

/** One of `words` (any case) → its boolean. */
function flag(on: string, off: string) {
  return z
    .string()
    .trim()
    .transform((value, ctx) => {
      const word = value.toLowerCase();
      if (word === on) return true;
      if (word === off) return false;
      return fail(ctx, `expected ${on} or ${off}`);
    });
}

function pattern(regex: RegExp, expected: string) {
  return z.string().trim().regex(regex, { error: expected });
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** `https://host:port`, normalised (lower-case host, no trailing slash). */
const proxmoxUrl = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const url = parseUrl(value);
    if (url === undefined) return fail(ctx, URL_EXPECTED);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail(ctx, URL_EXPECTED);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      return fail(
        ctx,
        `http is only allowed on a loopback host (the token would cross the network in clear); ${URL_EXPECTED}`,
      );
    }
    if (url.username !== '' || url.password !== '') {
      return fail(
        ctx,
        `credentials go in PROXMOX_TOKEN_ID/PROXMOX_TOKEN_SECRET, not in the URL; ${URL_EXPECTED}`,
      );
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
      return fail(ctx, `no path: the client adds /api2/json; ${URL_EXPECTED}`);
    }
    const port = EXPLICIT_PORT.exec(value)?.[1];
    if (port === undefined || Number(port) < 1 || Number(port) > 65_535) {
      return fail(ctx, `give the port (Proxmox VE listens on 8006); ${URL_EXPECTED}`);
    }
    return `${url.protocol}//${url.hostname}:${Number(port)}`;
  });

/** Parses `9000` or `pve1:9000,pve2:9001`; returns the refs or what is wrong. */
function parseTemplates(value: string): RunnerTemplateRef[] | string {
  const templates: RunnerTemplateRef[] = [];
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) return TEMPLATE_EXPECTED;
  for (const item of items) {
    const groups = TEMPLATE_ITEM.exec(item)?.groups;
    if (groups === undefined) return `"${item}" is not one; ${TEMPLATE_EXPECTED}`;
    const node = groups.node?.trim();
    const vmid = Number(groups.vmid);
    if (node !== undefined && !NODE_NAME.test(node)) {
      return `"${node}" is not a node name (letters, digits and -); ${TEMPLATE_EXPECTED}`;
    }
    if (!Number.isSafeInteger(vmid) || vmid < MIN_VMID || vmid > MAX_VMID) {
      return `VMIDs run from ${MIN_VMID} to ${MAX_VMID}, got ${groups.vmid}; ${TEMPLATE_EXPECTED}`;
    }
    if (node === undefined) {
      if (templates.some((t) => t.node === undefined)) {
        return `only one template may go without a node; ${TEMPLATE_EXPECTED}`;
      }
      templates.push({ vmid });
    } else {
      if (templates.some((t) => t.node === node)) {
        return `${node} is given twice; ${TEMPLATE_EXPECTED}`;
      }
      templates.push({ node, vmid });
    }
  }
  return templates;
}

const templates = z.string().transform((value, ctx) => {
  const parsed = parseTemplates(value);
  return typeof parsed === 'string' ? fail(ctx, parsed) : parsed;
});

const nodes = z.string().transform((value, ctx) => {
  const expected = 'expected node names separated by commas, such as pve1,pve2';
  const list: string[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    if (item === '') continue;
    if (!NODE_NAME.test(item)) {
      return fail(ctx, `"${item}" is not a node name (letters, digits and -); ${expected}`);
    }
    if (!list.includes(item)) list.push(item);
  }
  return list.length === 0 ? fail(ctx, expected) : list;
});

const labels = z.string().transform((value, ctx) => {
  const parsed = parseLabels(value);
  return parsed.kind === 'ok' ? parsed.labels : fail(ctx, parsed.message);
});

const cloneMode = z
  .string()
  .trim()
  .transform((value, ctx): RunnerSettings['clone'] => {
    const mode = value.toLowerCase();
    if (mode === 'auto' || mode === 'full' || mode === 'linked') return mode;
    return fail(
      ctx,
      'expected auto (linked clone on the template’s node, full elsewhere), full or linked',
    );
  });

const redisUrl = z
  .string()
  .trim()
  .refine((value) => /^rediss?:\/\/./.test(value) && parseUrl(value) !== undefined, {
    error: 'expected a Redis URL as the runner guests reach it, such as redis://10.0.0.2:6379',
  });

function caFile(readFile: ReadFile) {
  const expected =
    'expected a PEM file with the cluster’s CA certificate (/etc/pve/pve-root-ca.pem on a node), such as ./pve-root-ca.pem';
  return z
    .string()
    .trim()
    .transform((path, ctx) => {
      let pem: string;
      try {
        pem = readFile(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return fail(ctx, `cannot read it (${code ?? 'unreadable'}); ${expected}`);
      }
      if (!pem.includes('BEGIN CERTIFICATE')) {
        return fail(ctx, `it holds no "BEGIN CERTIFICATE"; ${expected}`);
      }
      return { path, pem };
    });
}

function snippets(isDirectory: IsDirectory) {
  return z
    .string()
    .trim()
    .transform((value, ctx) => {
      const colon = value.indexOf(':');
      const storage = colon < 0 ? '' : value.slice(0, colon).trim();
      const dir = colon < 0 ? '' : value.slice(colon + 1).trim();
      if (!STORAGE_ID.test(storage) || !dir.startsWith('/')) return fail(ctx, SNIPPETS_EXPECTED);
      const normalised = posix.normalize(dir).replace(/(.)\/+$/, '$1');
      if (!isDirectory(normalised)) {
        return fail(ctx, `${normalised} is not a directory on this host; ${SNIPPETS_EXPECTED}`);
      }
      return { storage, dir: normalised };
    });
}

/** Every variable read, in the order problems are listed. */
function variables(readFile: ReadFile, isDirectory: IsDirectory) {
  return {
    PROXMOX_URL: proxmoxUrl,
    PROXMOX_TOKEN_ID: pattern(
      TOKEN_ID,
      'expected an API token id user@realm!name, such as ai-provision@pve!runners',
    ),
    PROXMOX_TOKEN_SECRET: pattern(
      TOKEN_SECRET,
      'expected the token’s secret, a lowercase UUID such as 5f0c2a9e-3b1d-4c8e-9f7a-2d6b8e1c4a30',
    ),
    PROXMOX_USERNAME: pattern(USER_ID, 'expected user@realm, such as ai-provision@pve or root@pam'),
    PROXMOX_PASSWORD: z.string(),
    PROXMOX_CA_FILE: caFile(readFile),
    PROXMOX_TLS_INSECURE: flag('true', 'false'),
    PROXMOX_TIMEOUT_MS: wholeNumber(1000, '30000'),
    AI_PROVISION_PROXMOX_TEMPLATE: templates,
    AI_PROVISION_PROXMOX_NODES: nodes,
    AI_PROVISION_PROXMOX_STORAGE: pattern(
      STORAGE_ID,
      'expected a storage id (letters, digits, ., _ and -), such as local-lvm',
    ),
    AI_PROVISION_PROXMOX_POOL: pattern(
      POOL_ID,
      'expected a resource pool id (letters, digits, ., _ and -), such as ai-runners',
    ),
    AI_PROVISION_PROXMOX_CLONE: cloneMode,
    AI_PROVISION_PROXMOX_SNIPPETS: snippets(isDirectory),
    AI_PROVISION_PROXMOX_RUNNER_CORES: wholeNumber(1, '2'),
    AI_PROVISION_PROXMOX_RUNNER_MEMORY_MIB: wholeNumber(512, '4096'),
    AI_PROVISION_PROXMOX_RUNNER_LABELS: labels,
    AI_PROVISION_PROXMOX_RUNNER_CONCURRENCY: wholeNumber(1, '2'),
    AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: redisUrl,
    AI_PROVISION_QUEUE_PREFIX: pattern(
      QUEUE_PREFIX,
      'expected letters, digits, - or _ (at most 40), such as ai-provision',
    ),
    AI_PROVISION_AUTOSCALE: flag('on', 'off'),
    AI_PROVISION_AUTOSCALE_MIN: wholeNumber(0, '1'),
    AI_PROVISION_AUTOSCALE_MAX: wholeNumber(1, '4'),
    AI_PROVISION_AUTOSCALE_POLL_MS: wholeNumber(1000, '30000'),
    AI_PROVISION_AUTOSCALE_BACKLOG_PER_RUNNER: positiveDecimal('2'),
    AI_PROVISION_AUTOSCALE_SCALE_UP_POLLS: wholeNumber(1, '2'),
    AI_PROVISION_AUTOSCALE_COOLDOWN_MS: wholeNumber(0, '600000'),
    AI_PROVISION_AUTOSCALE_BOOT_TIMEOUT_MS: wholeNumber(1000, '600000'),
    AI_PROVISION_AUTOSCALE_DRAIN_TIMEOUT_MS: wholeNumber(0, '1800000'),
    AI_PROVISION_AUTOSCALE_NODE_BACKOFF_MS: wholeNumber(0, '300000'),
    AI_PROVISION_AUTOSCALE_MAX_STEP: wholeNumber(1, '4'),
  };
}

type Variables = ReturnType<typeof variables>;
type Values = { [K in keyof Variables]?: z.output<Variables[K]> };
type Env = Record<string, string | undefined>;

interface Problem {
  variable: string;
  message: string;
}

function isSet(env: Env, name: string): boolean {
  const value = env[name];
  return value !== undefined && value.trim() !== '';
}

/**
 * `scheme://user:***@host…`: the password part of a URL masked, the rest kept for the reader. A
 * value too malformed to find its parts loses everything before its last `@`.
 */
function maskUrlPassword(value: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(value);
  const authority = match?.[2];
  if (match === null || authority === undefined || !authority.includes('@')) {
    const at = value.lastIndexOf('@');
    return at < 0 ? value : `***${value.slice(at)}`;
  }
  const at = authority.lastIndexOf('@');
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const masked = colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`;
  return `${match[1] ?? ''}${masked}${authority.slice(at)}${match[3] ?? ''}`;
}

/** What was given, as the message shows it: never a secret. */
function got(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') return 'nothing';
  if (SECRET_VARIABLES.has(name)) return `a value of ${value.length} characters (not shown)`;
  const shown = URL_VARIABLES.has(name) ? maskUrlPassword(value) : value;
  return JSON.stringify(shown.slice(0, 80));
}

/**
 * Each variable on its own (blank = unset), so checks across variables still run when one is
 * bad and every problem is listed at once.
 */
function parseVariables(env: Env, schemas: Variables, problems: Problem[]): Values {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    if (!isSet(env, name)) continue;
    const parsed = (schema as z.ZodType).safeParse(env[name]);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      for (const issue of parsed.error.issues)
        problems.push({ variable: name, message: issue.message });
    }
  }
  return values as Values;
}

/** Token when any part of one is given (it wins), else user and password. */
function readAuth(env: Env, values: Values, problems: Problem[]): ProxmoxAuth | undefined {
  const tokenIdSet = isSet(env, 'PROXMOX_TOKEN_ID');
  const secretSet = isSet(env, 'PROXMOX_TOKEN_SECRET');
  if (tokenIdSet || secretSet) {
    if (!secretSet) {
      problems.push({
        variable: 'PROXMOX_TOKEN_SECRET',
        message:
          'expected the secret of PROXMOX_TOKEN_ID’s token, a lowercase UUID such as 5f0c2a9e-3b1d-4c8e-9f7a-2d6b8e1c4a30',
      });
    }
    if (!tokenIdSet) {
      problems.push({
        variable: 'PROXMOX_TOKEN_ID',
        message:
          'expected the id of PROXMOX_TOKEN_SECRET’s token, user@realm!name such as ai-provision@pve!runners',
      });
    }
    const tokenId = values.PROXMOX_TOKEN_ID;
    const tokenSecret = values.PROXMOX_TOKEN_SECRET;
    return tokenId === undefined || tokenSecret === undefined
      ? undefined
      : { kind: 'token', tokenId, tokenSecret };
  }
  const userSet = isSet(env, 'PROXMOX_USERNAME');
  const passwordSet = isSet(env, 'PROXMOX_PASSWORD');
  if (!userSet && !passwordSet) {
    problems.push({
      variable: 'PROXMOX_TOKEN_ID',
      message:
        'expected an API token (PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET) or PROXMOX_USERNAME and PROXMOX_PASSWORD when PROXMOX_URL is set, such as PROXMOX_TOKEN_ID=ai-provision@pve!runners',
    });
    return undefined;
  }
  if (!passwordSet) {
    problems.push({
      variable: 'PROXMOX_PASSWORD',
      message: 'expected the password of PROXMOX_USERNAME (an API token is preferred)',
    });
  }
  if (!userSet) {
    problems.push({
      variable: 'PROXMOX_USERNAME',
      message: 'expected the user PROXMOX_PASSWORD belongs to, user@realm such as ai-provision@pve',
    });
  }
  const username = values.PROXMOX_USERNAME;
  const password = values.PROXMOX_PASSWORD;
  return username === undefined || password === undefined
    ? undefined
    : { kind: 'password', username, password };
}

function readTls(env: Env, values: Values, problems: Problem[]): ProxmoxTls {
  if (values.PROXMOX_TLS_INSECURE === true) {
    if (isSet(env, 'PROXMOX_CA_FILE')) {
      problems.push({
        variable: 'PROXMOX_TLS_INSECURE',
        message:
          'expected false (or unset) when PROXMOX_CA_FILE is set: a CA file means the certificate is checked, such as false',
      });
    }
    return { kind: 'insecure' };
  }
  const ca = values.PROXMOX_CA_FILE;
  return ca === undefined ? { kind: 'verify' } : { kind: 'verify', caPem: ca.pem, caFile: ca.path };
}

function readAutoscaler(values: Values, problems: Problem[]): AutoscalerSettings {
  const d = DEFAULT_AUTOSCALER;
  const settings: AutoscalerSettings = {
    min: values.AI_PROVISION_AUTOSCALE_MIN ?? d.min,
    max: values.AI_PROVISION_AUTOSCALE_MAX ?? d.max,
    pollMs: values.AI_PROVISION_AUTOSCALE_POLL_MS ?? d.pollMs,
    backlogPerRunner: values.AI_PROVISION_AUTOSCALE_BACKLOG_PER_RUNNER ?? d.backlogPerRunner,
    scaleUpPolls: values.AI_PROVISION_AUTOSCALE_SCALE_UP_POLLS ?? d.scaleUpPolls,
    cooldownMs: values.AI_PROVISION_AUTOSCALE_COOLDOWN_MS ?? d.cooldownMs,
    bootTimeoutMs: values.AI_PROVISION_AUTOSCALE_BOOT_TIMEOUT_MS ?? d.bootTimeoutMs,
    drainTimeoutMs: values.AI_PROVISION_AUTOSCALE_DRAIN_TIMEOUT_MS ?? d.drainTimeoutMs,
    nodeBackoffMs: values.AI_PROVISION_AUTOSCALE_NODE_BACKOFF_MS ?? d.nodeBackoffMs,
    maxStepUp: values.AI_PROVISION_AUTOSCALE_MAX_STEP ?? d.maxStepUp,
  };
  if (settings.max < settings.min) {
    problems.push({
      // Name the one that was set (the other is its default).
      variable:
        values.AI_PROVISION_AUTOSCALE_MAX === undefined
          ? 'AI_PROVISION_AUTOSCALE_MIN'
          : 'AI_PROVISION_AUTOSCALE_MAX',
      message: `expected AI_PROVISION_AUTOSCALE_MAX (${settings.max}) to be at least AI_PROVISION_AUTOSCALE_MIN (${settings.min}), such as 0 and 4`,
    });
  }
  return settings;
}

/** Where the runners' Redis is: its own variable, else REDIS_URL; problems when autoscaling needs it. */
function readRunnerRedis(
  env: Env,
  values: Values,
  enabled: boolean,
  proxmoxUrl: string | undefined,
  problems: Problem[],
): string {
  const own = values.AI_PROVISION_PROXMOX_RUNNER_REDIS_URL;
  if (own !== undefined || isSet(env, 'AI_PROVISION_PROXMOX_RUNNER_REDIS_URL')) return own ?? '';
  const shared = isSet(env, 'REDIS_URL') ? (env.REDIS_URL ?? '').trim() : '';
  if (!enabled || shared === '') return shared;
  // Loopback inside a guest is the guest itself; fine only when the cluster is on loopback too (a bench).
  const sharedHost = parseUrl(shared)?.hostname;
  const proxmoxHost = proxmoxUrl === undefined ? undefined : parseUrl(proxmoxUrl)?.hostname;
  if (
    sharedHost !== undefined &&
    isLoopbackHost(sharedHost) &&
    (proxmoxHost === undefined || !isLoopbackHost(proxmoxHost))
  ) {
    problems.push({
      variable: 'AI_PROVISION_PROXMOX_RUNNER_REDIS_URL',
      message:
        'expected the Redis URL as the runner guests reach it: REDIS_URL is on a loopback host, which inside a guest is the guest itself, such as redis://10.0.0.2:6379',
    });
  }
  return shared;
}

function invalid(env: Env, problems: Problem[], order: string[]): ProxmoxSettingsResult {
  const rank = (variable: string): number => {
    const index = order.indexOf(variable);
    return index < 0 ? order.length : index;
  };
  const message = problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => rank(a.problem.variable) - rank(b.problem.variable) || a.index - b.index)
    .map(
      ({ problem }) => `${problem.variable}: ${problem.message}, got ${got(env, problem.variable)}`,
    )
    .join('\n');
  return { kind: 'invalid', message };
}

/**
 * Reads the Proxmox settings: off without PROXMOX_URL, else the connection, runners and
 * autoscaler, or every problem found. `readFile` reads PROXMOX_CA_FILE and `isDirectory` checks
 * the snippets directory (both default to node:fs).
 */
export function readProxmoxSettings(
  env: Env,
  readFile: ReadFile = defaultReadFile,
  isDirectory: IsDirectory = defaultIsDirectory,
): ProxmoxSettingsResult {
  const schemas = variables(readFile, isDirectory);
  const order = [...Object.keys(schemas), 'REDIS_URL'];
  const problems: Problem[] = [];
  if (!isSet(env, 'PROXMOX_URL')) {
    // Asking for autoscaling without a cluster is a mistake worth stopping for, not silence.
    const autoscale = isSet(env, 'AI_PROVISION_AUTOSCALE')
      ? flag('on', 'off').safeParse(env.AI_PROVISION_AUTOSCALE)
      : undefined;
    if (autoscale?.success === true && autoscale.data) {
      problems.push({
        variable: 'PROXMOX_URL',
        message: `AI_PROVISION_AUTOSCALE=on needs a cluster; ${URL_EXPECTED}`,
      });
      return invalid(env, problems, order);
    }
    return { kind: 'off' };
  }

  const values = parseVariables(env, schemas, problems);
  const auth = readAuth(env, values, problems);
  const tls = readTls(env, values, problems);
  if (!isSet(env, 'AI_PROVISION_PROXMOX_TEMPLATE')) {
    problems.push({ variable: 'AI_PROVISION_PROXMOX_TEMPLATE', message: TEMPLATE_EXPECTED });
  }
  const autoscaler = readAutoscaler(values, problems);
  const redisSet = isSet(env, 'REDIS_URL');
  const enabled = values.AI_PROVISION_AUTOSCALE ?? redisSet;
  if (values.AI_PROVISION_AUTOSCALE === true && !redisSet) {
    problems.push({
      variable: 'REDIS_URL',
      message:
        'expected a Redis URL when AI_PROVISION_AUTOSCALE=on: runners register and take jobs through Redis, such as redis://10.0.0.2:6379',
    });
  }
  const runnerRedis = readRunnerRedis(env, values, enabled, values.PROXMOX_URL, problems);

  const url = values.PROXMOX_URL;
  const templateRefs = values.AI_PROVISION_PROXMOX_TEMPLATE;
  if (
    problems.length > 0 ||
    url === undefined ||
    auth === undefined ||
    templateRefs === undefined
  ) {
    return invalid(env, problems, order);
  }
  const runners: RunnerSettings = {
    templates: templateRefs,
    nodes: values.AI_PROVISION_PROXMOX_NODES ?? [],
    ...(values.AI_PROVISION_PROXMOX_STORAGE === undefined
      ? {}
      : { storage: values.AI_PROVISION_PROXMOX_STORAGE }),
    ...(values.AI_PROVISION_PROXMOX_POOL === undefined
      ? {}
      : { pool: values.AI_PROVISION_PROXMOX_POOL }),
    clone: values.AI_PROVISION_PROXMOX_CLONE ?? 'auto',
    size: {
      cores: values.AI_PROVISION_PROXMOX_RUNNER_CORES ?? 2,
      memoryMiB: values.AI_PROVISION_PROXMOX_RUNNER_MEMORY_MIB ?? 4096,
    },
    labels: values.AI_PROVISION_PROXMOX_RUNNER_LABELS ?? [...DEFAULT_RUNNER_LABELS],
    concurrency: values.AI_PROVISION_PROXMOX_RUNNER_CONCURRENCY ?? 2,
    redisUrl: runnerRedis,
    queuePrefix: values.AI_PROVISION_QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX,
    ...(values.AI_PROVISION_PROXMOX_SNIPPETS === undefined
      ? {}
      : { snippets: values.AI_PROVISION_PROXMOX_SNIPPETS }),
    tag: RUNNER_TAG,
  };
  return {
    kind: 'ok',
    connection: { url, auth, tls, timeoutMs: values.PROXMOX_TIMEOUT_MS ?? DEFAULT_TIMEOUT_MS },
    runners,
    autoscaler: { ...autoscaler, enabled },
  };
}
