/**
 * The pool's settings, read from the environment with zod. Parsers never throw: a bad value comes
 * back as a message naming the variable, what was expected, an example and what was given, so
 * `serve` and `worker` can stop at boot with every problem listed.
 *
 * - AI_PROVISION_CONCURRENCY (2): jobs at once in this process, all labels together.
 * - AI_PROVISION_LABEL_LIMITS (llm=2,llm_light=4,llm_heavy=1,exec=2): per label
 *   `concurrency[@rate/s]`, merged over the defaults; a label not listed gets concurrency 1.
 * - AI_PROVISION_MAX_ATTEMPTS (3): runs per job, the first included.
 * - AI_PROVISION_RETRY_BASE_MS (2000), AI_PROVISION_RETRY_MAX_MS (60000): full-jitter backoff.
 * - AI_PROVISION_CPU_THRESHOLD (1.5): 1-minute load per core above which no job starts; `off`.
 *   1.5, not below 1: the load average lags a minute and counts every runnable process, so a
 *   lower bar stalls a bot whose own jobs, or a busy neighbour, keep the cores full.
 *
 * An empty variable counts as unset (compose files often write `NAME=`).
 */
import { availableParallelism, loadavg } from 'node:os';
import { z } from 'zod';
import {
  DEFAULT_POOL_SETTINGS,
  LABEL_PATTERN,
  type LabelLimits,
  type PoolSettings,
} from './queue.js';

export type PoolSettingsResult =
  { kind: 'ok'; settings: PoolSettings } | { kind: 'invalid'; message: string };

export type LabelsResult = { kind: 'ok'; labels: string[] } | { kind: 'invalid'; message: string };

const LABEL_LIMITS_EXAMPLE = 'llm=2,llm_heavy=1@0.5/s,exec=4@10/s';
const LABELS_EXAMPLE = 'llm,exec';
const LABEL_RULE = 'lowercase letters, digits and _, starting with a letter, at most 32 characters';

/** `name=concurrency` with an optional `@rate/s`; the parts are checked one by one for the message. */
const LIMIT_ITEM = /^(?<label>[^=@]+)=(?<concurrency>[^@]*)(?:@(?<rate>.*))?$/;
const WHOLE = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;
const RATE = /^(?<perSecond>\d+(?:\.\d+)?)\/s$/;

/** An environment variable holding a whole number of at least `min` (also the Proxmox settings'). */
export function wholeNumber(min: number, example: string) {
  const expected = `expected a whole number of ${min} or more, such as ${example}`;
  return z
    .string()
    .trim()
    .regex(WHOLE, { error: expected })
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n >= min, { error: expected });
}

/** `off`, or a positive decimal: the 1-minute load average per core. */
const cpuThreshold = z
  .string()
  .trim()
  .transform((value, ctx) => {
    if (value.toLowerCase() === 'off') return undefined;
    const n = Number(value);
    if (DECIMAL.test(value) && n > 0) return n;
    ctx.addIssue({
      code: 'custom',
      message: 'expected a load per core above 0 such as 0.9 (1.0 = every core busy), or off',
    });
    return z.NEVER;
  });

/** Parses `llm=2,llm_heavy=1@0.5/s`; returns the limits or what is wrong with the first bad item. */
function parseLabelLimits(value: string): Record<string, LabelLimits> | string {
  const limits: Record<string, LabelLimits> = {};
  const expected = `expected label=concurrency[@rate/s] separated by commas, such as ${LABEL_LIMITS_EXAMPLE}`;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    const groups = LIMIT_ITEM.exec(item)?.groups;
    if (groups === undefined) return `${expected}; "${item}" is not one`;
    const label = (groups.label ?? '').trim();
    const concurrency = (groups.concurrency ?? '').trim();
    const rate = groups.rate?.trim();
    if (!LABEL_PATTERN.test(label)) {
      return `"${label}" is not a label (${LABEL_RULE}); ${expected}`;
    }
    if (Object.hasOwn(limits, label)) return `${label} is given twice; ${expected}`;
    if (!WHOLE.test(concurrency) || Number(concurrency) < 1) {
      return `${label}: expected a concurrency of 1 or more, got "${concurrency}"; ${expected}`;
    }
    const entry: LabelLimits = { concurrency: Number(concurrency) };
    if (rate !== undefined) {
      const perSecond = RATE.exec(rate)?.groups?.perSecond;
      if (perSecond === undefined || Number(perSecond) <= 0) {
        return `${label}: expected a rate such as @0.5/s (starts per second, above 0), got "@${rate}"; ${expected}`;
      }
      entry.ratePerSecond = Number(perSecond);
    }
    limits[label] = entry;
  }
  return limits;
}

const labelLimits = z.string().transform((value, ctx): Record<string, LabelLimits> => {
  const parsed = parseLabelLimits(value);
  if (typeof parsed !== 'string') return parsed;
  ctx.addIssue({ code: 'custom', message: parsed });
  return z.NEVER;
});

/** An unset or blank variable is absent; anything else goes through `schema`. */
function optionalVar<T extends z.ZodType>(schema: T) {
  return z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    schema.optional(),
  );
}

const PoolEnv = z
  .object({
    AI_PROVISION_CONCURRENCY: optionalVar(wholeNumber(1, '4')),
    AI_PROVISION_LABEL_LIMITS: optionalVar(labelLimits),
    AI_PROVISION_MAX_ATTEMPTS: optionalVar(wholeNumber(1, '3')),
    AI_PROVISION_RETRY_BASE_MS: optionalVar(wholeNumber(0, '2000')),
    AI_PROVISION_RETRY_MAX_MS: optionalVar(wholeNumber(0, '60000')),
    AI_PROVISION_CPU_THRESHOLD: optionalVar(cpuThreshold),
  })
  .superRefine((env, ctx) => {
    const base = env.AI_PROVISION_RETRY_BASE_MS ?? DEFAULT_POOL_SETTINGS.backoff.baseMs;
    const max = env.AI_PROVISION_RETRY_MAX_MS ?? DEFAULT_POOL_SETTINGS.backoff.maxMs;
    if (max < base) {
      ctx.addIssue({
        code: 'custom',
        path: [
          env.AI_PROVISION_RETRY_MAX_MS === undefined
            ? 'AI_PROVISION_RETRY_BASE_MS'
            : 'AI_PROVISION_RETRY_MAX_MS',
        ],
        message: `expected AI_PROVISION_RETRY_MAX_MS (${max}) to be at least AI_PROVISION_RETRY_BASE_MS (${base}), such as 2000 and 60000`,
      });
    }
  });

function got(env: NodeJS.ProcessEnv, name: PropertyKey | undefined): string {
  const value = name === undefined ? undefined : env[String(name)];
  return value === undefined ? 'nothing' : JSON.stringify(value.slice(0, 80));
}

/** Reads the pool settings from the environment, over DEFAULT_POOL_SETTINGS. */
export function parsePoolSettings(env: NodeJS.ProcessEnv): PoolSettingsResult {
  const parsed = PoolEnv.safeParse(env);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}, got ${got(env, issue.path[0])}`)
      .join('; ');
    return { kind: 'invalid', message };
  }
  const values = parsed.data;
  const defaults = DEFAULT_POOL_SETTINGS;
  // `off` parses to undefined, so presence of the variable (not of the value) decides.
  const thresholdSet =
    env.AI_PROVISION_CPU_THRESHOLD !== undefined && env.AI_PROVISION_CPU_THRESHOLD.trim() !== '';
  const cpuThresholdValue = thresholdSet
    ? values.AI_PROVISION_CPU_THRESHOLD
    : defaults.cpuThreshold;
  return {
    kind: 'ok',
    settings: {
      concurrency: values.AI_PROVISION_CONCURRENCY ?? defaults.concurrency,
      labels: { ...defaults.labels, ...values.AI_PROVISION_LABEL_LIMITS },
      defaultLabel: defaults.defaultLabel,
      maxAttempts: values.AI_PROVISION_MAX_ATTEMPTS ?? defaults.maxAttempts,
      backoff: {
        baseMs: values.AI_PROVISION_RETRY_BASE_MS ?? defaults.backoff.baseMs,
        maxMs: values.AI_PROVISION_RETRY_MAX_MS ?? defaults.backoff.maxMs,
      },
      ...(cpuThresholdValue === undefined ? {} : { cpuThreshold: cpuThresholdValue }),
    },
  };
}

/** Parses a runner's `--labels llm,exec`: valid labels, duplicates dropped, at least one. */
export function parseLabels(value: string): LabelsResult {
  const labels: string[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    if (item === '') continue;
    if (!LABEL_PATTERN.test(item)) {
      return {
        kind: 'invalid',
        message: `"${item}" is not a label (${LABEL_RULE}); expected labels separated by commas, such as ${LABELS_EXAMPLE}`,
      };
    }
    if (!labels.includes(item)) labels.push(item);
  }
  if (labels.length === 0) {
    return {
      kind: 'invalid',
      message: `expected one or more labels separated by commas, such as ${LABELS_EXAMPLE}, got ${JSON.stringify(value)}`,
    };
  }
  return { kind: 'ok', labels };
}

/** The limits a label runs under: its own, or the default for labels not listed. */
export function limitsFor(settings: PoolSettings, label: string): LabelLimits {
  return settings.labels[label] ?? settings.defaultLabel;
}

/** This host's 1-minute load average per core, what `cpuThreshold` is compared with. */
export function hostLoadPerCore(): number {
  return (loadavg()[0] ?? 0) / availableParallelism();
}

/**
 * The wait before retry `retry` (1 = the first retry, after attempt 1 failed): a random time in
 * [0, min(maxMs, baseMs·2^(retry-1))] ("full jitter", so runners that failed together do not
 * retry together). Shared by both engines.
 */
export function backoffDelayMs(
  retry: number,
  backoff: PoolSettings['backoff'],
  random: () => number,
): number {
  const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(Math.min(1, Math.max(0, random())) * cap);
}
