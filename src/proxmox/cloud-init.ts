/**
 * What a runner guest is told at first boot: its environment (runner id, labels, concurrency, the
 * Redis it registers with and its token), as cloud-init user data for a VM or as the `env` config
 * value for a container. The template carries `ai-provision-runner.service`, whose unit reads
 * /etc/ai-provision/runner.env as its EnvironmentFile.
 *
 * The inputs are ours (settings already validated, ids we made), so a value that cannot be written
 * safely is a bug and throws; the message names the variable, never its value (the token and the
 * Redis password are secrets).
 */
import { createHash, randomBytes } from 'node:crypto';
import { stringify } from 'yaml';

/** Everything a runner guest needs to join the queue. */
export interface RunnerBootConfig {
  /** Also the guest's hostname and name (`ai-provision-runner-<vmid>`). */
  runnerId: string;
  labels: string[];
  /** Jobs at once on this runner. */
  concurrency: number;
  /** Redis URL as the guest reaches it. */
  redisUrl: string;
  queuePrefix: string;
  /** The secret the runner registers with; the bot checks its hash (runnerTokenHash). */
  token: string;
}

/** Where the user data writes the environment; the template's unit reads it. */
export const RUNNER_ENV_PATH = '/etc/ai-provision/runner.env';
export const RUNNER_SERVICE = 'ai-provision-runner.service';

/** A DNS label: what cloud-init and Proxmox accept as a hostname. */
const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
/** Values written bare in the env file; anything else is double-quoted. */
const BARE_VALUE = /^[A-Za-z0-9_@%+=:,./-]*$/;
/** A line break or NUL would end the value early and let the rest be read as another variable. */
const UNSAFE = /[\r\n\0]/;

/** The runner's environment, KEY → value (what the template's unit reads). Throws on a value that cannot be written safely. */
export function runnerEnvironment(config: RunnerBootConfig): Record<string, string> {
  if (!HOSTNAME.test(config.runnerId)) {
    throw new Error(
      `runner id must be a hostname (letters, digits and -, at most 63 characters), such as ai-provision-runner-105, got ${JSON.stringify(config.runnerId.slice(0, 80))}`,
    );
  }
  if (config.labels.length === 0) throw new Error('a runner needs at least one label');
  if (config.labels.some((label) => label === '' || /[,\s]/.test(label))) {
    throw new Error(
      `runner labels must be non-empty without commas or spaces, got ${JSON.stringify(config.labels)}`,
    );
  }
  if (!Number.isSafeInteger(config.concurrency) || config.concurrency < 1) {
    throw new Error(
      `runner concurrency must be a whole number of 1 or more, got ${config.concurrency}`,
    );
  }
  const environment: Record<string, string> = {
    AI_PROVISION_RUNNER_ID: config.runnerId,
    AI_PROVISION_RUNNER_LABELS: config.labels.join(','),
    AI_PROVISION_RUNNER_CONCURRENCY: String(config.concurrency),
    REDIS_URL: config.redisUrl,
    AI_PROVISION_QUEUE_PREFIX: config.queuePrefix,
    AI_PROVISION_RUNNER_TOKEN: config.token,
  };
  for (const [key, value] of Object.entries(environment)) {
    // The name only: REDIS_URL and the token are secrets.
    if (value === '') throw new Error(`${key} must not be empty`);
    if (UNSAFE.test(value)) throw new Error(`${key} must not contain a line break or NUL`);
  }
  return environment;
}

/**
 * The environment as an EnvironmentFile: `KEY=value` lines, a value with anything beyond
 * `[A-Za-z0-9_@%+=:,./-]` double-quoted with `\`, `"`, `$` and backtick escaped — read the same by
 * systemd and by a POSIX shell (`set -a; . runner.env`).
 */
export function runnerEnvFile(config: RunnerBootConfig): string {
  return Object.entries(runnerEnvironment(config))
    .map(([key, value]) => `${key}=${quoteEnvValue(value)}\n`)
    .join('');
}

function quoteEnvValue(value: string): string {
  if (BARE_VALUE.test(value)) return value;
  return `"${value.replace(/[\\"$`]/g, (char) => `\\${char}`)}"`;
}

/**
 * `#cloud-config` user data for a VM runner: writes the environment file (0600, root), sets the
 * hostname to the runner id and starts the runner's unit.
 */
export function runnerUserData(config: RunnerBootConfig): string {
  const document = {
    hostname: config.runnerId,
    preserve_hostname: false,
    write_files: [
      {
        path: RUNNER_ENV_PATH,
        owner: 'root:root',
        permissions: '0600',
        content: runnerEnvFile(config),
      },
    ],
    runcmd: [['systemctl', 'enable', '--now', RUNNER_SERVICE]],
  };
  // lineWidth 0: never fold a long value (a Redis URL) across lines.
  return `#cloud-config\n${stringify(document, { lineWidth: 0, blockQuote: 'literal' })}`;
}

/** The LXC `env` config value (Proxmox VE ≥ 9.1): a NUL-separated `KEY=value` list, values raw. */
export function runnerLxcEnv(config: RunnerBootConfig): string {
  return Object.entries(runnerEnvironment(config))
    .map(([key, value]) => `${key}=${value}`)
    .join('\0');
}

/** sha256(token) as hex, first 16 characters: what a runner publishes in the registry. */
export function runnerTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}

/** A fresh random runner token: 32 bytes, base64url (43 characters). */
export function newRunnerToken(): string {
  return randomBytes(32).toString('base64url');
}
