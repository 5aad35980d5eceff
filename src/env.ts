/**
 * The server's settings, read once from the environment at boot and validated with zod so a bad
 * value stops `ai-provision serve` with a message naming the variable, not a crash later. Names
 * follow Probot's (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, …) so its docs and tooling apply.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

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
  /** Sizing jobs run at the same time (one per repository and branch in any case). */
  AI_PROVISION_CONCURRENCY: positiveInt(2),
  /** Progress-comment edits closer together than this are merged into one. */
  AI_PROVISION_STATUS_EDIT_MS: z.coerce.number().int().min(0).default(1000),
  /** On SIGTERM, how long running jobs get to finish before they are cancelled. */
  AI_PROVISION_DRAIN_MS: positiveInt(30_000),
  /** Base of the links to docs/errors.md in replies. */
  AI_PROVISION_DOCS_URL: httpUrl.default('https://github.com/ai-provision/ai-provision/blob/main'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  NODE_ENV: z.string().optional(),
});
export type ServerEnv = z.infer<typeof ServerEnv>;

/** Settings the App needs that were found, or the list of what is wrong. */
export type ServerSettings =
  | { kind: 'ok'; env: ServerEnv; appId: string; privateKey: string; webhookSecret: string }
  | { kind: 'setup'; env: ServerEnv }
  | { kind: 'invalid'; problems: string[] };

/**
 * Reads and checks the environment. Without APP_ID and a key the App is not registered yet:
 * outside production that starts Probot's manifest flow (`setup`); in production it is an error.
 */
export function readServerSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const parsed = ServerEnv.safeParse(env);
  if (!parsed.success) {
    return {
      kind: 'invalid',
      problems: parsed.error.issues.map(
        (issue) => `${issue.path.join('.')}: ${issue.message}, got ${describe(env, issue.path)}`,
      ),
    };
  }
  const settings = parsed.data;
  let privateKey = settings.PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (privateKey === undefined && settings.PRIVATE_KEY_PATH !== undefined) {
    try {
      privateKey = readFileSync(settings.PRIVATE_KEY_PATH, 'utf8');
    } catch {
      return {
        kind: 'invalid',
        problems: [
          `PRIVATE_KEY_PATH: cannot read ${JSON.stringify(settings.PRIVATE_KEY_PATH)}; point it at the .pem file from the App settings`,
        ],
      };
    }
  }
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
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) {
    return {
      kind: 'invalid',
      problems: ['PRIVATE_KEY: expected a PEM private key ("-----BEGIN RSA PRIVATE KEY-----" …)'],
    };
  }
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
    appId: settings.APP_ID,
    privateKey,
    webhookSecret: settings.WEBHOOK_SECRET,
  };
}

function describe(env: NodeJS.ProcessEnv, path: readonly PropertyKey[]): string {
  const value = env[String(path[0])];
  return value === undefined ? 'nothing' : JSON.stringify(value.slice(0, 60));
}
