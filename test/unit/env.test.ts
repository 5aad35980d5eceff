import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readServerSettings, readWorkerSettings } from '../../src/env.js';

const KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n';

describe('env readServerSettings', () => {
  it('accepts a registered App and fills the defaults', () => {
    const settings = readServerSettings({ APP_ID: '42', PRIVATE_KEY: KEY, WEBHOOK_SECRET: 's' });

    expect(settings).toMatchObject({
      kind: 'ok',
      appId: '42',
      privateKey: KEY,
      webhookSecret: 's',
    });
    expect(settings.kind === 'ok' && settings.env).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      WEBHOOK_PATH: '/api/github/webhooks',
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_HOST: 'github.com',
      AI_PROVISION_STATUS_EDIT_MS: 1000,
      AI_PROVISION_LOCAL_RUNNER: true,
      AI_PROVISION_QUEUE_PREFIX: 'ai-provision',
    });
    expect(settings.kind === 'ok' && settings.pool).toMatchObject({
      concurrency: 2,
      maxAttempts: 3,
    });
  });

  it('turns \\n in PRIVATE_KEY into newlines and reads PRIVATE_KEY_PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aip-env-'));
    writeFileSync(join(dir, 'app.pem'), KEY);

    const inline = readServerSettings({
      APP_ID: '1',
      PRIVATE_KEY: KEY.replace(/\n/g, '\\n'),
      WEBHOOK_SECRET: 's',
    });
    const fromFile = readServerSettings({
      APP_ID: '1',
      PRIVATE_KEY_PATH: join(dir, 'app.pem'),
      WEBHOOK_SECRET: 's',
    });

    expect(inline.kind === 'ok' && inline.privateKey).toBe(KEY);
    expect(fromFile.kind === 'ok' && fromFile.privateKey).toBe(KEY);
  });

  it('starts the registration flow without an App outside production, and refuses in production', () => {
    expect(readServerSettings({}).kind).toBe('setup');

    const production = readServerSettings({ NODE_ENV: 'production' });

    expect(production).toEqual({
      kind: 'invalid',
      problems: [
        'APP_ID: missing; set the App ID',
        'PRIVATE_KEY: missing; set PRIVATE_KEY or PRIVATE_KEY_PATH to the App private key',
      ],
    });
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT: expected a port number, got "abc"$/],
    [{ PORT: '70000' }, /^PORT: expected 0–65535/],
    [{ APP_ID: 'my-app' }, /^APP_ID: expected the numeric App ID/],
    [{ GITHUB_API_URL: 'api.github.com' }, /^GITHUB_API_URL: /],
    [{ AI_PROVISION_CONCURRENCY: '0' }, /^AI_PROVISION_CONCURRENCY: expected a whole number/],
    [
      { AI_PROVISION_LABEL_LIMITS: 'llm=lots' },
      /^AI_PROVISION_LABEL_LIMITS: llm: expected a concurrency/,
    ],
    [{ DATABASE_URL: 'mysql://db/x' }, /^DATABASE_URL: expected a PostgreSQL URL/],
    [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL: expected a Redis URL/],
    [{ AI_PROVISION_LOCAL_RUNNER: 'yes' }, /^AI_PROVISION_LOCAL_RUNNER: expected true or false/],
    [{ AI_PROVISION_RUNNER_LABELS: 'llm,Bad Label' }, /^AI_PROVISION_RUNNER_LABELS: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ PRIVATE_KEY: 'not a key' }, /^PRIVATE_KEY: expected a PEM private key/],
    [{ WEBHOOK_SECRET: undefined }, /^WEBHOOK_SECRET: missing/],
    [
      { PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: '/nonexistent/app.pem' },
      /^PRIVATE_KEY_PATH: cannot read/,
    ],
  ])('names the variable that is wrong: %j', (override, message) => {
    const env = { APP_ID: '1', PRIVATE_KEY: KEY, WEBHOOK_SECRET: 's', ...override };

    const settings = readServerSettings(env as NodeJS.ProcessEnv);

    expect(settings.kind).toBe('invalid');
    expect(settings.kind === 'invalid' && settings.problems[0]).toMatch(message);
  });
});

describe('env readWorkerSettings', () => {
  const WORKER = {
    APP_ID: '1',
    PRIVATE_KEY: KEY,
    REDIS_URL: 'redis://127.0.0.1:6379',
    DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  };
  const TOKEN = 'Zm9vYmFyLXJ1bm5lci10b2tlbi0xMjM0NTY3ODkwYWI';

  it('reads the runner id, token, concurrency and labels a Proxmox runner is started with', () => {
    const settings = readWorkerSettings({
      ...WORKER,
      AI_PROVISION_RUNNER_ID: 'ai-provision-runner-105',
      AI_PROVISION_RUNNER_TOKEN: TOKEN,
      AI_PROVISION_RUNNER_CONCURRENCY: '3',
      AI_PROVISION_RUNNER_LABELS: 'llm_heavy,exec',
    });

    expect(settings.kind === 'ok' && settings.runner).toEqual({
      id: 'ai-provision-runner-105',
      token: TOKEN,
      concurrency: 3,
      labels: ['llm_heavy', 'exec'],
    });
  });

  it('leaves them out when unset or empty', () => {
    const unset = readWorkerSettings(WORKER);
    const empty = readWorkerSettings({
      ...WORKER,
      AI_PROVISION_RUNNER_ID: '',
      AI_PROVISION_RUNNER_TOKEN: ' ',
      AI_PROVISION_RUNNER_CONCURRENCY: '',
    });

    expect(unset.kind === 'ok' && unset.runner).toEqual({});
    expect(empty.kind === 'ok' && empty.runner).toEqual({});
  });

  it.each([
    [
      { AI_PROVISION_RUNNER_ID: 'runner 1' },
      /^AI_PROVISION_RUNNER_ID: expected letters.*got "runner 1"$/,
    ],
    [{ AI_PROVISION_RUNNER_ID: '-x' }, /^AI_PROVISION_RUNNER_ID: /],
    [
      { AI_PROVISION_RUNNER_CONCURRENCY: '0' },
      /^AI_PROVISION_RUNNER_CONCURRENCY: expected a whole number above 0.*got "0"$/,
    ],
    [{ AI_PROVISION_RUNNER_CONCURRENCY: '1.5' }, /^AI_PROVISION_RUNNER_CONCURRENCY: /],
    [
      { AI_PROVISION_RUNNER_TOKEN: 'short' },
      /^AI_PROVISION_RUNNER_TOKEN: .*got a value of 5 characters/,
    ],
  ])('names the runner variable that is wrong: %j', (override, message) => {
    const settings = readWorkerSettings({ ...WORKER, ...override });

    expect(settings.kind).toBe('invalid');
    expect(settings.kind === 'invalid' && settings.problems).toEqual([
      expect.stringMatching(message),
    ]);
  });

  it('never echoes a bad token, and reports runner problems with the others', () => {
    const secret = 'has a space but is long enough';

    const settings = readWorkerSettings({
      ...WORKER,
      PORT: 'abc',
      AI_PROVISION_RUNNER_TOKEN: secret,
    });

    expect(settings.kind === 'invalid' && settings.problems).toEqual([
      expect.stringMatching(/^PORT: /),
      expect.stringMatching(/^AI_PROVISION_RUNNER_TOKEN: /),
    ]);
    expect(JSON.stringify(settings)).not.toContain(secret);
  });
});
