/**
 * The server's settings, read once from the environment at boot and validated with zod so a bad
 * value stops `ai-provision serve` with a message naming the variable, not a crash later. Names
 * follow Probot's (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, …) so its docs and tooling apply.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseLabels, parsePoolSettings, type PoolSettings } from './pool/index.js';

const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .positive({ error: 'expected a number above 0' })
    .default(fallback);

const httpUrl = z
  .string()
  .url({ error: 'expected a URL such as https://api.github.com' })
  .refine((u) => /^https?:\/\//.test(u), { message: 'expected an http(s) URL' })
  .transform((u) => u.replace(/\/+$/, ''));

/** The environment as `serve` reads it. Unknown variables are ignored (it is the whole process env). */
export const ServerEnv = z.object({
  /** The GitHub App's id (App settings → About). */
  APP_ID: z.string().regex(/^\d+$/, { message: 'expected the numeric App ID' }).optional(),
  /** The App's private key, PEM text (newlines may be written as \n). */
  PRIVATE_KEY: z.string().optional(),
  /** Or a path to the .pem file downloaded from the App settings. */
  PRIVATE_KEY_PATH: z.string().optional(),
  /** The webhook secret set in the App settings; every delivery's signature is checked with it. */
  WEBHOOK_SECRET: z.string().min(1, { message: 'must not be empty' }).optional(),
  /** Where webhooks are received. */
  WEBHOOK_PATH: z
    .string()
    .regex(/^\/[\w./-]*$/, { message: 'expected a path such as /api/github/webhooks' })
    .default('/api/github/webhooks'),
  /** A smee.io channel URL for local development (Probot forwards its deliveries). */
  WEBHOOK_PROXY_URL: httpUrl.optional(),
  PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0, { message: 'expected 0–65535' })
    .max(65535, { message: 'expected 0–65535' })
    .default(3000),
  /** 127.0.0.1 by default; set 0.0.0.0 in a container. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** REST API root: https://api.github.com, or https://<ghe-host>/api/v3 for GitHub Enterprise Server. */
  GITHUB_API_URL: httpUrl.default('https://api.github.com'),
  /** Host that `git_repo` URLs must be on (github.com, or the GHE host). */
  GITHUB_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(?::\d+)?$/, { message: 'expected a host name such as github.com' })
    .default('github.com'),
  /** CA bundle to trust when cloning (GitHub Enterprise Server behind a private CA). */
  GIT_CA_FILE: z.string().optional(),
  /** Progress-comment edits closer together than this are merged into one. */
  AI_PROVISION_STATUS_EDIT_MS: z.coerce.number().int().min(0).default(1000),
  /** On SIGTERM, how long running jobs get to finish before they are cancelled. */
  AI_PROVISION_DRAIN_MS: positiveInt(30_000),
  /** Base of the links to docs/errors.md in replies. */
  AI_PROVISION_DOCS_URL: httpUrl.default('https://github.com/ai-provision/ai-provision/blob/main'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  NODE_ENV: z.string().optional(),
  /** PostgreSQL for the Store (shared by every bot instance and runner); SQLite in the data directory when absent. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/./, {
      message: 'expected a PostgreSQL URL such as postgres://user:password@host:5432/ai_provision',
    })
    .optional(),
  /** Redis for the distributed pool and the shared rate limits; the in-process pool when absent. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/./, { message: 'expected a Redis URL such as redis://host:6379' })
    .optional(),
  /** Where the embedded store (SQLite) lives; ~/.ai-provision by default. */
  AI_PROVISION_DATA_DIR: z.string().min(1).optional(),
  /** Namespace of the queues, runner registry and limiters in Redis (several deployments can share one Redis). */
  AI_PROVISION_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, {
      message: 'expected letters, digits, - or _, such as ai-provision',
    })
    .default('ai-provision'),
  /** With Redis: whether `serve` also runs jobs itself (false = webhooks only, runners do the work). */
  AI_PROVISION_LOCAL_RUNNER: z
    .enum(['true', 'false'], { message: 'expected true or false' })
    .default('true')
    .transform((v) => v === 'true'),
  /** With Redis: a runner that stops answering loses its job to another after about this long (ms). */
  AI_PROVISION_RUNNER_LOCK_MS: positiveInt(30_000),
  /** With Redis: the labels `serve`'s own runner takes, comma-separated; all known labels by default. */
  AI_PROVISION_RUNNER_LABELS: z.string().optional(),
});
export type ServerEnv = z.infer<typeof ServerEnv>;

/** Settings the App needs that were found, or the list of what is wrong. */
export type ServerSettings =
  | {
      kind: 'ok';
      env: ServerEnv;
      pool: PoolSettings;
      appId: string;
      privateKey: string;
      webhookSecret: string;
    }
  | { kind: 'setup'; env: ServerEnv }
  | { kind: 'invalid'; problems: string[] };

/**
 * How a runner presents itself, from its environment (a Proxmox runner's boot config sets these;
 * a runner started by hand may leave them out). Command-line options win over them.
 */
export interface RunnerIdentity {
  /** AI_PROVISION_RUNNER_ID: its id in the registry; host:pid:random when absent. */
  id?: string;
  /** AI_PROVISION_RUNNER_TOKEN: the secret it was started with; only its hash is published. */
  token?: string;
  /** AI_PROVISION_RUNNER_CONCURRENCY: jobs at once (the fallback for --concurrency). */
  concurrency?: number;
  /** AI_PROVISION_RUNNER_LABELS: labels it takes (the fallback for --labels). */
  labels?: string[];
}

/** What `ai-provision worker` needs: the shared store, Redis, and the App's identity to act for installations. */
export type WorkerSettings =
  | {
      kind: 'ok';
      env: ServerEnv & { REDIS_URL: string; DATABASE_URL: string };
      pool: PoolSettings;
      appId: string;
      privateKey: string;
      runner: RunnerIdentity;
    }
  | { kind: 'invalid'; problems: string[] };

/** Letters, digits and . _ : @ - (the default id is host:pid:random). */
const RUNNER_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
/** Printable ASCII without spaces; newRunnerToken makes 43 base64url characters. */
const RUNNER_TOKEN = /^[\x21-\x7e]{16,512}$/;

/** Reads the runner variables of a worker; an empty variable counts as unset. */
function readRunnerIdentity(env: NodeJS.ProcessEnv): {
  runner: RunnerIdentity;
  problems: string[];
} {
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const runner: RunnerIdentity = {};
  const problems: string[] = [];
  const id = value('AI_PROVISION_RUNNER_ID');
  if (id !== undefined) {
    if (RUNNER_ID.test(id)) runner.id = id;
    else
      problems.push(
        `AI_PROVISION_RUNNER_ID: expected letters, digits, . _ : @ or - (at most 128, starting with a letter or digit), such as ai-provision-runner-105, got ${JSON.stringify(id.slice(0, 60))}`,
      );
  }
  const token = value('AI_PROVISION_RUNNER_TOKEN');
  if (token !== undefined) {
    // Never echoed: it is a secret.
    if (RUNNER_TOKEN.test(token)) runner.token = token;
    else
      problems.push(
        `AI_PROVISION_RUNNER_TOKEN: expected the token the bot gave this runner (16–512 printable characters, no spaces), got a value of ${token.length} characters that is not one`,
      );
  }
  const concurrency = value('AI_PROVISION_RUNNER_CONCURRENCY');
  if (concurrency !== undefined) {
    const parsed = Number(concurrency);
    if (/^\d+$/.test(concurrency) && Number.isSafeInteger(parsed) && parsed >= 1)
      runner.concurrency = parsed;
    else
      problems.push(
        `AI_PROVISION_RUNNER_CONCURRENCY: expected a whole number above 0 (jobs at once on this runner), such as 2, got ${JSON.stringify(concurrency.slice(0, 60))}`,
      );
  }
  const labels = value('AI_PROVISION_RUNNER_LABELS');
  if (labels !== undefined) {
    // Its problems are told by parseEnv (serve reads the same variable).
    const parsed = parseLabels(labels);
    if (parsed.kind === 'ok') runner.labels = parsed.labels;
  }
  return { runner, problems };
}

/** The environment parsed, or its problems ("VARIABLE: what is wrong, got …"); nothing is required. */
export function parseEnv(
  env: NodeJS.ProcessEnv,
): { kind: 'ok'; env: ServerEnv; pool: PoolSettings } | { kind: 'invalid'; problems: string[] } {
  const parsed = ServerEnv.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map(
        (issue) => `${issue.path.join('.')}: ${issue.message}, got ${describe(env, issue.path)}`,
      );
  const pool = parsePoolSettings(env);
  if (pool.kind === 'invalid') problems.push(pool.message);
  const labels = env.AI_PROVISION_RUNNER_LABELS;
  if (labels !== undefined) {
    const parsedLabels = parseLabels(labels);
    if (parsedLabels.kind === 'invalid')
      problems.push(`AI_PROVISION_RUNNER_LABELS: ${parsedLabels.message}`);
  }
  if (!parsed.success || pool.kind === 'invalid' || problems.length > 0) {
    return { kind: 'invalid', problems };
  }
  return { kind: 'ok', env: parsed.data, pool: pool.settings };
}

/** Reads the App's private key from PRIVATE_KEY or PRIVATE_KEY_PATH. */
function readPrivateKey(
  settings: ServerEnv,
): { kind: 'ok'; key: string | undefined } | { kind: 'invalid'; problem: string } {
  const key = settings.PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (key !== undefined || settings.PRIVATE_KEY_PATH === undefined) return { kind: 'ok', key };
  try {
    return { kind: 'ok', key: readFileSync(settings.PRIVATE_KEY_PATH, 'utf8') };
  } catch {
    return {
      kind: 'invalid',
      problem: `PRIVATE_KEY_PATH: cannot read ${JSON.stringify(settings.PRIVATE_KEY_PATH)}; point it at the .pem file from the App settings`,
    };
  }
}

const NOT_PEM = 'PRIVATE_KEY: expected a PEM private key ("-----BEGIN RSA PRIVATE KEY-----" …)';
const isPem = (key: string): boolean => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key);

/**
 * Reads and checks a runner's environment. A runner on another host shares the work only through
 * Redis and PostgreSQL, so both are required, and it acts for installations as the App, so the
 * App's id and key are too; webhooks never reach it, so no secret is needed.
 */
export function readWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const parsed = parseEnv(env);
  const identity = readRunnerIdentity(env);
  if (parsed.kind === 'invalid')
    return { kind: 'invalid', problems: [...parsed.problems, ...identity.problems] };
  const settings = parsed.env;
  const key = readPrivateKey(settings);
  const problems: string[] = [...identity.problems];
  if (settings.REDIS_URL === undefined)
    problems.push('REDIS_URL: missing; a runner takes its jobs from Redis (redis://host:6379)');
  if (settings.DATABASE_URL === undefined)
    problems.push(
      'DATABASE_URL: missing; a runner reads jobs from the shared PostgreSQL store the bot writes (postgres://…)',
    );
  if (settings.APP_ID === undefined) problems.push('APP_ID: missing; set the App ID');
  if (key.kind === 'invalid') problems.push(key.problem);
  else if (key.key === undefined)
    problems.push(
      'PRIVATE_KEY: missing; set PRIVATE_KEY or PRIVATE_KEY_PATH to the App private key',
    );
  else if (!isPem(key.key)) problems.push(NOT_PEM);
  if (
    problems.length > 0 ||
    settings.REDIS_URL === undefined ||
    settings.DATABASE_URL === undefined ||
    settings.APP_ID === undefined ||
    key.kind === 'invalid' ||
    key.key === undefined
  ) {
    return { kind: 'invalid', problems };
  }
  return {
    kind: 'ok',
    env: { ...settings, REDIS_URL: settings.REDIS_URL, DATABASE_URL: settings.DATABASE_URL },
    pool: parsed.pool,
    appId: settings.APP_ID,
    privateKey: key.key,
    runner: identity.runner,
  };
}

/**
 * Reads and checks the environment. Without APP_ID and a key the App is not registered yet:
 * outside production that starts Probot's manifest flow (`setup`); in production it is an error.
 */
export function readServerSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const parsed = parseEnv(env);
  if (parsed.kind === 'invalid') return parsed;
  const settings = parsed.env;
  const key = readPrivateKey(settings);
  if (key.kind === 'invalid') return { kind: 'invalid', problems: [key.problem] };
  const privateKey = key.key;
  const production = settings.NODE_ENV === 'production';
  if (settings.APP_ID === undefined || privateKey === undefined) {
    if (!production) return { kind: 'setup', env: settings };
    return {
      kind: 'invalid',
      problems: [
        ...(settings.APP_ID === undefined ? ['APP_ID: missing; set the App ID'] : []),
        ...(privateKey === undefined
          ? ['PRIVATE_KEY: missing; set PRIVATE_KEY or PRIVATE_KEY_PATH to the App private key']
          : []),
      ],
    };
  }
  if (!isPem(privateKey)) return { kind: 'invalid', problems: [NOT_PEM] };
  if (settings.WEBHOOK_SECRET === undefined) {
    // Without a secret anyone could post forged events; refuse rather than accept them.
    return {
      kind: 'invalid',
      problems: ['WEBHOOK_SECRET: missing; set it to the webhook secret of the App settings'],
    };
  }
  return {
    kind: 'ok',
    env: settings,
    pool: parsed.pool,
    appId: settings.APP_ID,
    privateKey,
    webhookSecret: settings.WEBHOOK_SECRET,
  };
}

function describe(env: NodeJS.ProcessEnv, path: readonly PropertyKey[]): string {
  const value = env[String(path[0])];
  return value === undefined ? 'nothing' : JSON.stringify(value.slice(0, 60));
}
