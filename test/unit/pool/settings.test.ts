import {
  backoffDelayMs,
  DEFAULT_POOL_SETTINGS,
  parseLabels,
  parsePoolSettings,
} from '../../../src/pool/index.js';
import type { PoolSettings } from '../../../src/pool/index.js';

function ok(env: NodeJS.ProcessEnv): PoolSettings {
  const parsed = parsePoolSettings(env);
  if (parsed.kind !== 'ok') throw new Error(`expected ok, got: ${parsed.message}`);
  return parsed.settings;
}

describe('pool/settings parsePoolSettings', () => {
  it('gives the defaults for an empty environment, and treats blank variables as unset', () => {
    const blank = {
      AI_PROVISION_CONCURRENCY: '',
      AI_PROVISION_LABEL_LIMITS: ' ',
      AI_PROVISION_CPU_THRESHOLD: '',
    };

    expect(ok({})).toEqual(DEFAULT_POOL_SETTINGS);
    expect(ok(blank)).toEqual(DEFAULT_POOL_SETTINGS);
  });

  it('reads every variable', () => {
    const env = {
      AI_PROVISION_CONCURRENCY: '6',
      AI_PROVISION_LABEL_LIMITS: 'llm=3, llm_heavy=1@0.5/s,exec=4@10/s,gpu_a100=2',
      AI_PROVISION_MAX_ATTEMPTS: '5',
      AI_PROVISION_RETRY_BASE_MS: '500',
      AI_PROVISION_RETRY_MAX_MS: '30000',
      AI_PROVISION_CPU_THRESHOLD: '1.5',
    };

    const settings = ok(env);

    expect(settings).toEqual({
      concurrency: 6,
      labels: {
        // Merged over the defaults: llm_light keeps its default.
        llm: { concurrency: 3 },
        llm_light: { concurrency: 4 },
        llm_heavy: { concurrency: 1, ratePerSecond: 0.5 },
        exec: { concurrency: 4, ratePerSecond: 10 },
        gpu_a100: { concurrency: 2 },
      },
      defaultLabel: { concurrency: 1 },
      maxAttempts: 5,
      backoff: { baseMs: 500, maxMs: 30_000 },
      cpuThreshold: 1.5,
    });
  });

  it.each(['off', 'OFF', ' off '])('turns the CPU threshold off with %j', (value) => {
    const settings = ok({ AI_PROVISION_CPU_THRESHOLD: value });

    expect(settings.cpuThreshold).toBeUndefined();
    expect('cpuThreshold' in settings).toBe(false);
  });

  it('accepts a zero backoff (retry at once)', () => {
    const settings = ok({ AI_PROVISION_RETRY_BASE_MS: '0', AI_PROVISION_RETRY_MAX_MS: '0' });

    expect(settings.backoff).toEqual({ baseMs: 0, maxMs: 0 });
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    [
      'a concurrency of 0',
      { AI_PROVISION_CONCURRENCY: '0' },
      'AI_PROVISION_CONCURRENCY: expected a whole number of 1 or more, such as 4, got "0"',
    ],
    [
      'a fractional concurrency',
      { AI_PROVISION_CONCURRENCY: '2.5' },
      'AI_PROVISION_CONCURRENCY: expected a whole number of 1 or more, such as 4, got "2.5"',
    ],
    [
      'a label limit without =',
      { AI_PROVISION_LABEL_LIMITS: 'llm:2' },
      'AI_PROVISION_LABEL_LIMITS: expected label=concurrency[@rate/s] separated by commas, such as llm=2,llm_heavy=1@0.5/s,exec=4@10/s; "llm:2" is not one, got "llm:2"',
    ],
    [
      'a label that is not one',
      { AI_PROVISION_LABEL_LIMITS: 'LLM=2' },
      'AI_PROVISION_LABEL_LIMITS: "LLM" is not a label (lowercase letters, digits and _, starting with a letter, at most 32 characters); expected label=concurrency[@rate/s] separated by commas, such as llm=2,llm_heavy=1@0.5/s,exec=4@10/s, got "LLM=2"',
    ],
    [
      'a label concurrency of 0',
      { AI_PROVISION_LABEL_LIMITS: 'llm=0' },
      'AI_PROVISION_LABEL_LIMITS: llm: expected a concurrency of 1 or more, got "0"; expected label=concurrency[@rate/s] separated by commas, such as llm=2,llm_heavy=1@0.5/s,exec=4@10/s, got "llm=0"',
    ],
    [
      'a rate without /s',
      { AI_PROVISION_LABEL_LIMITS: 'exec=4@10' },
      'AI_PROVISION_LABEL_LIMITS: exec: expected a rate such as @0.5/s (starts per second, above 0), got "@10"; expected label=concurrency[@rate/s] separated by commas, such as llm=2,llm_heavy=1@0.5/s,exec=4@10/s, got "exec=4@10"',
    ],
    [
      'a rate of 0',
      { AI_PROVISION_LABEL_LIMITS: 'exec=4@0/s' },
      'AI_PROVISION_LABEL_LIMITS: exec: expected a rate such as @0.5/s (starts per second, above 0), got "@0/s"; expected label=concurrency[@rate/s] separated by commas, such as llm=2,llm_heavy=1@0.5/s,exec=4@10/s, got "exec=4@0/s"',
    ],
    [
      'a label given twice',
      { AI_PROVISION_LABEL_LIMITS: 'llm=2,llm=3' },
      'AI_PROVISION_LABEL_LIMITS: llm is given twice; expected label=concurrency[@rate/s] separated by commas, such as llm=2,llm_heavy=1@0.5/s,exec=4@10/s, got "llm=2,llm=3"',
    ],
    [
      'maxAttempts 0',
      { AI_PROVISION_MAX_ATTEMPTS: '0' },
      'AI_PROVISION_MAX_ATTEMPTS: expected a whole number of 1 or more, such as 3, got "0"',
    ],
    [
      'a negative retry base',
      { AI_PROVISION_RETRY_BASE_MS: '-1' },
      'AI_PROVISION_RETRY_BASE_MS: expected a whole number of 0 or more, such as 2000, got "-1"',
    ],
    [
      'a retry maximum in seconds',
      { AI_PROVISION_RETRY_MAX_MS: '60s' },
      'AI_PROVISION_RETRY_MAX_MS: expected a whole number of 0 or more, such as 60000, got "60s"',
    ],
    [
      'a retry maximum below the base',
      { AI_PROVISION_RETRY_BASE_MS: '5000', AI_PROVISION_RETRY_MAX_MS: '1000' },
      'AI_PROVISION_RETRY_MAX_MS: expected AI_PROVISION_RETRY_MAX_MS (1000) to be at least AI_PROVISION_RETRY_BASE_MS (5000), such as 2000 and 60000, got "1000"',
    ],
    [
      'a retry base above the default maximum',
      { AI_PROVISION_RETRY_BASE_MS: '90000' },
      'AI_PROVISION_RETRY_BASE_MS: expected AI_PROVISION_RETRY_MAX_MS (60000) to be at least AI_PROVISION_RETRY_BASE_MS (90000), such as 2000 and 60000, got "90000"',
    ],
    [
      'a CPU threshold of 0',
      { AI_PROVISION_CPU_THRESHOLD: '0' },
      'AI_PROVISION_CPU_THRESHOLD: expected a load per core above 0 such as 0.9 (1.0 = every core busy), or off, got "0"',
    ],
    [
      'a CPU threshold in percent',
      { AI_PROVISION_CPU_THRESHOLD: '90%' },
      'AI_PROVISION_CPU_THRESHOLD: expected a load per core above 0 such as 0.9 (1.0 = every core busy), or off, got "90%"',
    ],
  ])('refuses %s, naming the variable, what was expected and an example', (_name, env, message) => {
    const parsed = parsePoolSettings(env);

    expect(parsed).toEqual({ kind: 'invalid', message });
  });

  it('lists every bad variable at once', () => {
    const parsed = parsePoolSettings({
      AI_PROVISION_CONCURRENCY: 'many',
      AI_PROVISION_MAX_ATTEMPTS: 'x',
    });

    expect(parsed.kind === 'invalid' && parsed.message.split('; ')).toEqual([
      'AI_PROVISION_CONCURRENCY: expected a whole number of 1 or more, such as 4, got "many"',
      'AI_PROVISION_MAX_ATTEMPTS: expected a whole number of 1 or more, such as 3, got "x"',
    ]);
  });
});

describe('pool/settings parseLabels', () => {
  it.each<[string, string[]]>([
    ['llm', ['llm']],
    ['llm,exec', ['llm', 'exec']],
    [' llm , exec, llm,', ['llm', 'exec']],
    ['gpu_a100,llm_heavy', ['gpu_a100', 'llm_heavy']],
  ])('reads %j', (value, labels) => {
    expect(parseLabels(value)).toEqual({ kind: 'ok', labels });
  });

  it.each<[string, string]>([
    ['', 'expected one or more labels separated by commas, such as llm,exec, got ""'],
    [' , ', 'expected one or more labels separated by commas, such as llm,exec, got " , "'],
    [
      'llm,GPU',
      '"GPU" is not a label (lowercase letters, digits and _, starting with a letter, at most 32 characters); expected labels separated by commas, such as llm,exec',
    ],
    [
      'llm exec',
      '"llm exec" is not a label (lowercase letters, digits and _, starting with a letter, at most 32 characters); expected labels separated by commas, such as llm,exec',
    ],
    [
      '1llm',
      '"1llm" is not a label (lowercase letters, digits and _, starting with a letter, at most 32 characters); expected labels separated by commas, such as llm,exec',
    ],
  ])('refuses %j', (value, message) => {
    expect(parseLabels(value)).toEqual({ kind: 'invalid', message });
  });
});

describe('pool/settings backoffDelayMs', () => {
  const backoff = { baseMs: 2_000, maxMs: 60_000 };

  it.each<[number, number, number]>([
    // [retry, random(), delay]: the cap doubles per retry up to maxMs; random() picks within it.
    [1, 0, 0],
    [1, 0.5, 1_000],
    [1, 0.999_999, 2_000],
    [2, 0.5, 2_000],
    [3, 0.5, 4_000],
    [5, 1, 32_000],
    [6, 1, 60_000],
    [60, 0.5, 30_000],
    [2_000, 0.5, 30_000],
  ])('retry %p with random() = %p waits %p ms', (retry, r, delay) => {
    expect(backoffDelayMs(retry, backoff, () => r)).toBe(delay);
  });

  it('stays within [0, maxMs] even when random() misbehaves', () => {
    expect(backoffDelayMs(1, backoff, () => -1)).toBe(0);
    expect(backoffDelayMs(10, backoff, () => 7)).toBe(60_000);
  });
});
