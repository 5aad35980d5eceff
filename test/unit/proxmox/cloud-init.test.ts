import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  newRunnerToken,
  runnerEnvFile,
  runnerEnvironment,
  runnerLxcEnv,
  runnerTokenHash,
  runnerUserData,
} from '../../../src/proxmox/cloud-init.js';
import type { RunnerBootConfig } from '../../../src/proxmox/cloud-init.js';

const TOKEN = 'q8Zl0nUBWv3h0j1mXWkq0vJc2nS3Hk3E1u2Vv7s9yXo';

const CONFIG: RunnerBootConfig = {
  runnerId: 'ai-provision-runner-105',
  labels: ['llm_heavy', 'exec'],
  concurrency: 2,
  redisUrl: 'redis://:s3cret@127.0.0.1:6379/0',
  queuePrefix: 'ai-provision',
  token: TOKEN,
};

const ENVIRONMENT = {
  AI_PROVISION_RUNNER_ID: 'ai-provision-runner-105',
  AI_PROVISION_RUNNER_LABELS: 'llm_heavy,exec',
  AI_PROVISION_RUNNER_CONCURRENCY: '2',
  REDIS_URL: 'redis://:s3cret@127.0.0.1:6379/0',
  AI_PROVISION_QUEUE_PREFIX: 'ai-provision',
  AI_PROVISION_RUNNER_TOKEN: TOKEN,
};

interface UserData {
  hostname: string;
  preserve_hostname: boolean;
  write_files: { path: string; owner: string; permissions: string; content: string }[];
  runcmd: string[][];
}

/** Reads an env file the way the runner's shell-based tools would: `. file` in a clean sh. */
function sourceWithShell(text: string, keys: string[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'runner-env-'));
  try {
    const file = join(dir, 'runner.env');
    writeFileSync(file, text);
    const script = `. "$1"; ${keys.map((key) => `printf '%s\\0' "$${key}"`).join('; ')}`;
    const out = execFileSync('sh', ['-c', script, 'sh', file], { env: {}, encoding: 'utf8' });
    const values = out.split('\0').slice(0, keys.length);
    return Object.fromEntries(keys.map((key, i) => [key, values[i] ?? '']));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('proxmox/cloud-init runnerEnvironment', () => {
  it('gives the six variables the runner unit reads', () => {
    const environment = runnerEnvironment(CONFIG);

    expect(environment).toEqual(ENVIRONMENT);
  });

  it.each<[string, Partial<RunnerBootConfig>, string]>([
    ['a newline in the Redis URL', { redisUrl: 'redis://127.0.0.1\nEVIL=1' }, 'REDIS_URL'],
    ['a carriage return in the token', { token: `${TOKEN}\r` }, 'AI_PROVISION_RUNNER_TOKEN'],
    ['a NUL in the token', { token: `${TOKEN}\0X=1` }, 'AI_PROVISION_RUNNER_TOKEN'],
    [
      'a newline in the queue prefix',
      { queuePrefix: 'ai\nprovision' },
      'AI_PROVISION_QUEUE_PREFIX',
    ],
    ['an empty token', { token: '' }, 'AI_PROVISION_RUNNER_TOKEN'],
    ['an empty Redis URL', { redisUrl: '' }, 'REDIS_URL'],
  ])('throws on %s, naming the variable but not its value', (_name, change, key) => {
    const config = { ...CONFIG, ...change };

    const run = (): unknown => runnerEnvironment(config);

    expect(run).toThrow(key);
    expect(run).not.toThrow(TOKEN);
    expect(run).not.toThrow('s3cret');
  });

  it.each<[string, Partial<RunnerBootConfig>, string]>([
    ['a runner id that is no hostname', { runnerId: 'runner_1' }, 'runner id must be a hostname'],
    ['a runner id with a newline', { runnerId: 'runner\n1' }, 'runner id must be a hostname'],
    ['no label', { labels: [] }, 'at least one label'],
    ['a label with a comma', { labels: ['llm,exec'] }, 'runner labels'],
    ['a concurrency of 0', { concurrency: 0 }, 'concurrency must be a whole number'],
    ['a fractional concurrency', { concurrency: 1.5 }, 'concurrency must be a whole number'],
  ])('throws on %s', (_name, change, message) => {
    const config = { ...CONFIG, ...change };

    expect(() => runnerEnvironment(config)).toThrow(message);
  });
});

describe('proxmox/cloud-init runnerEnvFile', () => {
  it.each<[string, string]>([
    // [Redis URL, line written]: bare when safe, else double-quoted with \ " $ ` escaped.
    ['redis://127.0.0.1:6379', 'REDIS_URL=redis://127.0.0.1:6379'],
    ['redis://:s3cret@127.0.0.1:6379/0', 'REDIS_URL=redis://:s3cret@127.0.0.1:6379/0'],
    ['redis://:a b@127.0.0.1', 'REDIS_URL="redis://:a b@127.0.0.1"'],
    ['redis://:p$w@127.0.0.1', 'REDIS_URL="redis://:p\\$w@127.0.0.1"'],
    ['redis://:p"w\\x`y`@127.0.0.1', 'REDIS_URL="redis://:p\\"w\\\\x\\`y\\`@127.0.0.1"'],
    ["redis://:it's#1@127.0.0.1", 'REDIS_URL="redis://:it\'s#1@127.0.0.1"'],
  ])('writes %j as %j', (redisUrl, line) => {
    const text = runnerEnvFile({ ...CONFIG, redisUrl });

    expect(text.split('\n')).toContain(line);
  });

  it('is read back unchanged by a POSIX shell, whatever the Redis password holds', () => {
    const redisUrl = 'redis://:p"w\\x`id`$HOME it\'s #1;&|<>@127.0.0.1:6379/0';
    const text = runnerEnvFile({ ...CONFIG, redisUrl });

    const values = sourceWithShell(text, Object.keys(ENVIRONMENT));

    expect(values).toEqual({ ...ENVIRONMENT, REDIS_URL: redisUrl });
  });
});

describe('proxmox/cloud-init runnerUserData', () => {
  it('is #cloud-config that writes the env file (0600, root), sets the hostname and starts the unit', () => {
    const text = runnerUserData(CONFIG);

    const data = parse(text) as UserData;
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    expect(data.hostname).toBe('ai-provision-runner-105');
    expect(data.preserve_hostname).toBe(false);
    expect(data.write_files).toEqual([
      {
        path: '/etc/ai-provision/runner.env',
        owner: 'root:root',
        permissions: '0600',
        content: runnerEnvFile(CONFIG),
      },
    ]);
    expect(data.runcmd).toEqual([['systemctl', 'enable', '--now', 'ai-provision-runner.service']]);
  });

  it('keeps a long Redis URL with quotes on one line and parses back to the same file', () => {
    const redisUrl = `redis://:${'x'.repeat(200)}"'#: -@127.0.0.1:6379/0`;
    const config = { ...CONFIG, redisUrl };

    const data = parse(runnerUserData(config)) as UserData;

    expect(data.write_files[0]?.content).toBe(runnerEnvFile(config));
    expect(data.write_files[0]?.content.split('\n')).toHaveLength(7);
  });
});

describe('proxmox/cloud-init runnerLxcEnv', () => {
  it('is a NUL-separated KEY=value list with raw values', () => {
    const config = { ...CONFIG, redisUrl: 'redis://:a b$c@127.0.0.1' };

    const value = runnerLxcEnv(config);

    expect(value.split('\0')).toEqual([
      'AI_PROVISION_RUNNER_ID=ai-provision-runner-105',
      'AI_PROVISION_RUNNER_LABELS=llm_heavy,exec',
      'AI_PROVISION_RUNNER_CONCURRENCY=2',
      'REDIS_URL=redis://:a b$c@127.0.0.1',
      'AI_PROVISION_QUEUE_PREFIX=ai-provision',
      `AI_PROVISION_RUNNER_TOKEN=${TOKEN}`,
    ]);
  });

  it('refuses a NUL inside a value, which would split it', () => {
    const config = { ...CONFIG, queuePrefix: 'ai\0X=1' };

    expect(() => runnerLxcEnv(config)).toThrow('AI_PROVISION_QUEUE_PREFIX');
  });
});

describe('proxmox/cloud-init tokens', () => {
  it.each<[string, string]>([
    // sha256 test vectors, first 16 hex characters.
    ['abc', 'ba7816bf8f01cfea'],
    ['', 'e3b0c44298fc1c14'],
  ])('hashes %j to %j', (token, hash) => {
    expect(runnerTokenHash(token)).toBe(hash);
  });

  it('makes fresh base64url tokens of 32 bytes', () => {
    const tokens = Array.from({ length: 20 }, () => newRunnerToken());

    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(runnerTokenHash(token)).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});
