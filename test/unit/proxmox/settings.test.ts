import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_AUTOSCALER,
  readProxmoxSettings,
  RUNNER_TAG,
} from '../../../src/proxmox/settings.js';
import type { ProxmoxSettingsResult } from '../../../src/proxmox/settings.js';

type Env = Record<string, string | undefined>;
type Ok = Extract<ProxmoxSettingsResult, { kind: 'ok' }>;

const SECRET = 'd3b07384-d9a0-4c1f-8e2b-7a6c5f4e3d21';
const PASSWORD = 'hunter2-correct-horse';
const REDIS_PASSWORD = 'r3dis-pa55';
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/** The least a cluster needs: URL, token, template. */
const BASE: Env = {
  PROXMOX_URL: 'https://pve1.example.com:8006',
  PROXMOX_TOKEN_ID: 'ai-provision@pve!runners',
  PROXMOX_TOKEN_SECRET: SECRET,
  AI_PROVISION_PROXMOX_TEMPLATE: '9000',
};

/** A CA file reader over a fixed table; anything else is ENOENT. */
function files(table: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = table[path];
    if (text !== undefined) return text;
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {
      code: 'ENOENT',
    });
  };
}

const readCa = files({ '/etc/ai-provision/pve-root-ca.pem': CA_PEM, '/tmp/notes.txt': 'hello' });

function ok(env: Env): Ok {
  const parsed = readProxmoxSettings(env, readCa);
  if (parsed.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(parsed)}`);
  return parsed;
}

function problems(env: Env): string[] {
  const parsed = readProxmoxSettings(env, readCa);
  if (parsed.kind !== 'invalid') throw new Error(`expected invalid, got ${parsed.kind}`);
  return parsed.message.split('\n');
}

let snippetsDir: string;

beforeAll(() => {
  snippetsDir = mkdtempSync(join(tmpdir(), 'pve-snippets-'));
  writeFileSync(join(snippetsDir, 'a-file'), '');
});

afterAll(() => {
  rmSync(snippetsDir, { recursive: true, force: true });
});

describe('proxmox/settings readProxmoxSettings', () => {
  it.each<[string, Env]>([
    ['an empty environment', {}],
    ['a blank PROXMOX_URL', { ...BASE, PROXMOX_URL: ' ' }],
    ['Proxmox variables without PROXMOX_URL', { ...BASE, PROXMOX_URL: undefined }],
    ['autoscaling off without a cluster', { AI_PROVISION_AUTOSCALE: 'off' }],
  ])('is off for %s', (_name, env) => {
    expect(readProxmoxSettings(env)).toEqual({ kind: 'off' });
  });

  it('refuses autoscaling asked for without a cluster', () => {
    const message = problems({ AI_PROVISION_AUTOSCALE: 'on', REDIS_URL: 'redis://10.0.0.2:6379' });

    expect(message).toEqual([
      'PROXMOX_URL: AI_PROVISION_AUTOSCALE=on needs a cluster; expected the Proxmox VE API as https://host:port without a path (http only on a loopback host), such as https://pve1.example.com:8006, got nothing',
    ]);
  });

  it('gives the defaults around the required variables, blank ones counting as unset', () => {
    const blank = {
      PROXMOX_CA_FILE: '',
      PROXMOX_TIMEOUT_MS: ' ',
      AI_PROVISION_PROXMOX_NODES: '',
      AI_PROVISION_PROXMOX_RUNNER_LABELS: '',
      AI_PROVISION_AUTOSCALE_MAX: '',
    };

    const settings = ok({ ...BASE, ...blank });

    expect(settings).toEqual({
      kind: 'ok',
      connection: {
        url: 'https://pve1.example.com:8006',
        auth: { kind: 'token', tokenId: 'ai-provision@pve!runners', tokenSecret: SECRET },
        tls: { kind: 'verify' },
        timeoutMs: 30_000,
      },
      runners: {
        templates: [{ vmid: 9000 }],
        nodes: [],
        clone: 'auto',
        size: { cores: 2, memoryMiB: 4096 },
        labels: ['llm_heavy', 'exec'],
        concurrency: 2,
        redisUrl: '',
        queuePrefix: 'ai-provision',
        tag: 'ai-provision-runner',
      },
      autoscaler: { ...DEFAULT_AUTOSCALER, enabled: false },
    });
  });

  it('reads every variable', () => {
    const env: Env = {
      PROXMOX_URL: 'https://PVE1.example.com:8006/',
      PROXMOX_TOKEN_ID: 'ai-provision@pve!runners',
      PROXMOX_TOKEN_SECRET: SECRET,
      PROXMOX_CA_FILE: '/etc/ai-provision/pve-root-ca.pem',
      PROXMOX_TLS_INSECURE: 'false',
      PROXMOX_TIMEOUT_MS: '10000',
      AI_PROVISION_PROXMOX_TEMPLATE: 'pve1:9000, pve2:9001',
      AI_PROVISION_PROXMOX_NODES: 'pve1,pve2,pve1',
      AI_PROVISION_PROXMOX_STORAGE: 'local-lvm',
      AI_PROVISION_PROXMOX_POOL: 'ai-runners',
      AI_PROVISION_PROXMOX_CLONE: 'FULL',
      AI_PROVISION_PROXMOX_SNIPPETS: `shared:${snippetsDir}/`,
      AI_PROVISION_PROXMOX_RUNNER_CORES: '4',
      AI_PROVISION_PROXMOX_RUNNER_MEMORY_MIB: '8192',
      AI_PROVISION_PROXMOX_RUNNER_LABELS: 'llm,exec',
      AI_PROVISION_PROXMOX_RUNNER_CONCURRENCY: '3',
      AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: 'redis://10.0.0.2:6379/1',
      REDIS_URL: 'redis://127.0.0.1:6379',
      AI_PROVISION_QUEUE_PREFIX: 'team-a',
      AI_PROVISION_AUTOSCALE: 'on',
      AI_PROVISION_AUTOSCALE_MIN: '1',
      AI_PROVISION_AUTOSCALE_MAX: '8',
      AI_PROVISION_AUTOSCALE_POLL_MS: '15000',
      AI_PROVISION_AUTOSCALE_BACKLOG_PER_RUNNER: '1.5',
      AI_PROVISION_AUTOSCALE_SCALE_UP_POLLS: '3',
      AI_PROVISION_AUTOSCALE_COOLDOWN_MS: '0',
      AI_PROVISION_AUTOSCALE_BOOT_TIMEOUT_MS: '300000',
      AI_PROVISION_AUTOSCALE_DRAIN_TIMEOUT_MS: '900000',
      AI_PROVISION_AUTOSCALE_NODE_BACKOFF_MS: '60000',
      AI_PROVISION_AUTOSCALE_MAX_STEP: '2',
    };

    const settings = ok(env);

    expect(settings).toEqual({
      kind: 'ok',
      connection: {
        url: 'https://pve1.example.com:8006',
        auth: { kind: 'token', tokenId: 'ai-provision@pve!runners', tokenSecret: SECRET },
        tls: { kind: 'verify', caPem: CA_PEM, caFile: '/etc/ai-provision/pve-root-ca.pem' },
        timeoutMs: 10_000,
      },
      runners: {
        templates: [
          { node: 'pve1', vmid: 9000 },
          { node: 'pve2', vmid: 9001 },
        ],
        nodes: ['pve1', 'pve2'],
        storage: 'local-lvm',
        pool: 'ai-runners',
        clone: 'full',
        size: { cores: 4, memoryMiB: 8192 },
        labels: ['llm', 'exec'],
        concurrency: 3,
        redisUrl: 'redis://10.0.0.2:6379/1',
        queuePrefix: 'team-a',
        snippets: { storage: 'shared', dir: snippetsDir },
        tag: RUNNER_TAG,
      },
      autoscaler: {
        min: 1,
        max: 8,
        pollMs: 15_000,
        backlogPerRunner: 1.5,
        scaleUpPolls: 3,
        cooldownMs: 0,
        bootTimeoutMs: 300_000,
        drainTimeoutMs: 900_000,
        nodeBackoffMs: 60_000,
        maxStepUp: 2,
        enabled: true,
      },
    });
  });

  it.each<[string, string]>([
    ['https://pve1.example.com:8006', 'https://pve1.example.com:8006'],
    ['https://PVE1.Example.com:8006/', 'https://pve1.example.com:8006'],
    [' https://10.0.0.5:8006 ', 'https://10.0.0.5:8006'],
    ['https://pve.example.com:443', 'https://pve.example.com:443'],
    ['http://127.0.0.1:8006', 'http://127.0.0.1:8006'],
    ['http://localhost:18006', 'http://localhost:18006'],
    ['http://[::1]:8006', 'http://[::1]:8006'],
  ])('reads PROXMOX_URL %j as %j', (value, url) => {
    expect(ok({ ...BASE, PROXMOX_URL: value }).connection.url).toBe(url);
  });

  it.each<[string, string, object[]]>([
    ['9000', 'one template, wherever the cluster says it lives', [{ vmid: 9000 }]],
    [
      'pve1:9000,pve2:9001',
      'one per node',
      [
        { node: 'pve1', vmid: 9000 },
        { node: 'pve2', vmid: 9001 },
      ],
    ],
    [
      '9000, pve2:9001,',
      'a default and one node of its own',
      [{ vmid: 9000 }, { node: 'pve2', vmid: 9001 }],
    ],
  ])('reads AI_PROVISION_PROXMOX_TEMPLATE %j: %s', (value, _name, templates) => {
    expect(ok({ ...BASE, AI_PROVISION_PROXMOX_TEMPLATE: value }).runners.templates).toEqual(
      templates,
    );
  });

  it.each<[string, Env, { kind: string }]>([
    [
      'a user and password',
      {
        ...BASE,
        PROXMOX_TOKEN_ID: undefined,
        PROXMOX_TOKEN_SECRET: undefined,
        PROXMOX_USERNAME: 'root@pam',
        PROXMOX_PASSWORD: PASSWORD,
      },
      { kind: 'password', username: 'root@pam', password: PASSWORD } as { kind: string },
    ],
    [
      'a token over a user and password',
      { ...BASE, PROXMOX_USERNAME: 'root@pam', PROXMOX_PASSWORD: PASSWORD },
      { kind: 'token', tokenId: 'ai-provision@pve!runners', tokenSecret: SECRET } as {
        kind: string;
      },
    ],
  ])('authenticates with %s', (_name, env, auth) => {
    expect(ok(env).connection.auth).toEqual(auth);
  });

  it.each<[string, Env, object]>([
    ['the system CAs by default', BASE, { kind: 'verify' }],
    [
      'a CA file',
      { ...BASE, PROXMOX_CA_FILE: '/etc/ai-provision/pve-root-ca.pem' },
      { kind: 'verify', caPem: CA_PEM, caFile: '/etc/ai-provision/pve-root-ca.pem' },
    ],
    ['no check when asked for', { ...BASE, PROXMOX_TLS_INSECURE: 'TRUE' }, { kind: 'insecure' }],
  ])('checks the certificate against %s', (_name, env, tls) => {
    expect(ok(env).connection.tls).toEqual(tls);
  });

  it.each<[string, Env, boolean, string]>([
    // [case, env over BASE, autoscaler enabled, runners' Redis URL]
    ['no Redis: off, no runner Redis', {}, false, ''],
    [
      'REDIS_URL: on, runners use it',
      { REDIS_URL: 'redis://10.0.0.2:6379' },
      true,
      'redis://10.0.0.2:6379',
    ],
    [
      'REDIS_URL and the runners’ own',
      {
        REDIS_URL: 'redis://127.0.0.1:6379',
        AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: 'rediss://redis.lan:6380',
      },
      true,
      'rediss://redis.lan:6380',
    ],
    [
      'REDIS_URL but turned off',
      { REDIS_URL: 'redis://127.0.0.1:6379', AI_PROVISION_AUTOSCALE: 'off' },
      false,
      'redis://127.0.0.1:6379',
    ],
    [
      'a loopback REDIS_URL with a loopback cluster (a bench)',
      { REDIS_URL: 'redis://127.0.0.1:6379', PROXMOX_URL: 'http://127.0.0.1:8006' },
      true,
      'redis://127.0.0.1:6379',
    ],
  ])('autoscales with %s', (_name, env, enabled, redisUrl) => {
    const settings = ok({ ...BASE, ...env });

    expect(settings.autoscaler.enabled).toBe(enabled);
    expect(settings.runners.redisUrl).toBe(redisUrl);
  });

  it.each<[string, Env, string]>([
    [
      'PROXMOX_URL without a scheme',
      { PROXMOX_URL: 'pve1.example.com:8006' },
      'PROXMOX_URL: expected the Proxmox VE API as https://host:port without a path (http only on a loopback host), such as https://pve1.example.com:8006, got "pve1.example.com:8006"',
    ],
    [
      'PROXMOX_URL in http on the network',
      { PROXMOX_URL: 'http://pve1.example.com:8006' },
      'PROXMOX_URL: http is only allowed on a loopback host (the token would cross the network in clear); expected the Proxmox VE API as https://host:port without a path (http only on a loopback host), such as https://pve1.example.com:8006, got "http://pve1.example.com:8006"',
    ],
    [
      'PROXMOX_URL without a port',
      { PROXMOX_URL: 'https://pve1.example.com' },
      'PROXMOX_URL: give the port (Proxmox VE listens on 8006); expected the Proxmox VE API as https://host:port without a path (http only on a loopback host), such as https://pve1.example.com:8006, got "https://pve1.example.com"',
    ],
    [
      'PROXMOX_URL with the API path',
      { PROXMOX_URL: 'https://pve1.example.com:8006/api2/json' },
      'PROXMOX_URL: no path: the client adds /api2/json; expected the Proxmox VE API as https://host:port without a path (http only on a loopback host), such as https://pve1.example.com:8006, got "https://pve1.example.com:8006/api2/json"',
    ],
    [
      'a token id without its name',
      { PROXMOX_TOKEN_ID: 'ai-provision@pve' },
      'PROXMOX_TOKEN_ID: expected an API token id user@realm!name, such as ai-provision@pve!runners, got "ai-provision@pve"',
    ],
    [
      'a token secret in capitals',
      { PROXMOX_TOKEN_SECRET: SECRET.toUpperCase() },
      'PROXMOX_TOKEN_SECRET: expected the token’s secret, a lowercase UUID such as 5f0c2a9e-3b1d-4c8e-9f7a-2d6b8e1c4a30, got a value of 36 characters (not shown)',
    ],
    [
      'a token id without its secret',
      { PROXMOX_TOKEN_SECRET: undefined },
      'PROXMOX_TOKEN_SECRET: expected the secret of PROXMOX_TOKEN_ID’s token, a lowercase UUID such as 5f0c2a9e-3b1d-4c8e-9f7a-2d6b8e1c4a30, got nothing',
    ],
    [
      'a token secret without its id',
      { PROXMOX_TOKEN_ID: '' },
      'PROXMOX_TOKEN_ID: expected the id of PROXMOX_TOKEN_SECRET’s token, user@realm!name such as ai-provision@pve!runners, got nothing',
    ],
    [
      'no credentials',
      { PROXMOX_TOKEN_ID: undefined, PROXMOX_TOKEN_SECRET: undefined },
      'PROXMOX_TOKEN_ID: expected an API token (PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET) or PROXMOX_USERNAME and PROXMOX_PASSWORD when PROXMOX_URL is set, such as PROXMOX_TOKEN_ID=ai-provision@pve!runners, got nothing',
    ],
    [
      'a user without a password',
      {
        PROXMOX_TOKEN_ID: undefined,
        PROXMOX_TOKEN_SECRET: undefined,
        PROXMOX_USERNAME: 'root@pam',
      },
      'PROXMOX_PASSWORD: expected the password of PROXMOX_USERNAME (an API token is preferred), got nothing',
    ],
    [
      'a user without a realm',
      {
        PROXMOX_TOKEN_ID: undefined,
        PROXMOX_TOKEN_SECRET: undefined,
        PROXMOX_USERNAME: 'root',
        PROXMOX_PASSWORD: PASSWORD,
      },
      'PROXMOX_USERNAME: expected user@realm, such as ai-provision@pve or root@pam, got "root"',
    ],
    [
      'a missing CA file',
      { PROXMOX_CA_FILE: '/etc/ai-provision/missing.pem' },
      'PROXMOX_CA_FILE: cannot read it (ENOENT); expected a PEM file with the cluster’s CA certificate (/etc/pve/pve-root-ca.pem on a node), such as ./pve-root-ca.pem, got "/etc/ai-provision/missing.pem"',
    ],
    [
      'a CA file without a certificate',
      { PROXMOX_CA_FILE: '/tmp/notes.txt' },
      'PROXMOX_CA_FILE: it holds no "BEGIN CERTIFICATE"; expected a PEM file with the cluster’s CA certificate (/etc/pve/pve-root-ca.pem on a node), such as ./pve-root-ca.pem, got "/tmp/notes.txt"',
    ],
    [
      'TLS_INSECURE as yes',
      { PROXMOX_TLS_INSECURE: 'yes' },
      'PROXMOX_TLS_INSECURE: expected true or false, got "yes"',
    ],
    [
      'TLS_INSECURE with a CA file',
      { PROXMOX_TLS_INSECURE: 'true', PROXMOX_CA_FILE: '/etc/ai-provision/pve-root-ca.pem' },
      'PROXMOX_TLS_INSECURE: expected false (or unset) when PROXMOX_CA_FILE is set: a CA file means the certificate is checked, such as false, got "true"',
    ],
    [
      'a timeout in seconds',
      { PROXMOX_TIMEOUT_MS: '30s' },
      'PROXMOX_TIMEOUT_MS: expected a whole number of 1000 or more, such as 30000, got "30s"',
    ],
    [
      'no template',
      { AI_PROVISION_PROXMOX_TEMPLATE: undefined },
      'AI_PROVISION_PROXMOX_TEMPLATE: expected the runner template VMID, or node:vmid per node separated by commas, such as 9000 or pve1:9000,pve2:9001, got nothing',
    ],
    [
      'a template by name',
      { AI_PROVISION_PROXMOX_TEMPLATE: 'ubuntu-runner' },
      'AI_PROVISION_PROXMOX_TEMPLATE: "ubuntu-runner" is not one; expected the runner template VMID, or node:vmid per node separated by commas, such as 9000 or pve1:9000,pve2:9001, got "ubuntu-runner"',
    ],
    [
      'a template VMID below 100',
      { AI_PROVISION_PROXMOX_TEMPLATE: 'pve1:99' },
      'AI_PROVISION_PROXMOX_TEMPLATE: VMIDs run from 100 to 999999999, got 99; expected the runner template VMID, or node:vmid per node separated by commas, such as 9000 or pve1:9000,pve2:9001, got "pve1:99"',
    ],
    [
      'a node with two templates',
      { AI_PROVISION_PROXMOX_TEMPLATE: 'pve1:9000,pve1:9001' },
      'AI_PROVISION_PROXMOX_TEMPLATE: pve1 is given twice; expected the runner template VMID, or node:vmid per node separated by commas, such as 9000 or pve1:9000,pve2:9001, got "pve1:9000,pve1:9001"',
    ],
    [
      'two templates without a node',
      { AI_PROVISION_PROXMOX_TEMPLATE: '9000,9001' },
      'AI_PROVISION_PROXMOX_TEMPLATE: only one template may go without a node; expected the runner template VMID, or node:vmid per node separated by commas, such as 9000 or pve1:9000,pve2:9001, got "9000,9001"',
    ],
    [
      'a node name with a space',
      { AI_PROVISION_PROXMOX_NODES: 'pve1,pve 2' },
      'AI_PROVISION_PROXMOX_NODES: "pve 2" is not a node name (letters, digits and -); expected node names separated by commas, such as pve1,pve2, got "pve1,pve 2"',
    ],
    [
      'a storage path instead of its id',
      { AI_PROVISION_PROXMOX_STORAGE: '/var/lib/vz' },
      'AI_PROVISION_PROXMOX_STORAGE: expected a storage id (letters, digits, ., _ and -), such as local-lvm, got "/var/lib/vz"',
    ],
    [
      'a pool with a space',
      { AI_PROVISION_PROXMOX_POOL: 'ai runners' },
      'AI_PROVISION_PROXMOX_POOL: expected a resource pool id (letters, digits, ., _ and -), such as ai-runners, got "ai runners"',
    ],
    [
      'a clone mode that is not one',
      { AI_PROVISION_PROXMOX_CLONE: 'thin' },
      'AI_PROVISION_PROXMOX_CLONE: expected auto (linked clone on the template’s node, full elsewhere), full or linked, got "thin"',
    ],
    [
      'snippets without a storage',
      { AI_PROVISION_PROXMOX_SNIPPETS: '/mnt/pve/shared/snippets' },
      'AI_PROVISION_PROXMOX_SNIPPETS: expected <storage>:<absolute directory>, a storage with snippets content and its snippets directory as mounted on this host, such as shared:/mnt/pve/shared/snippets, got "/mnt/pve/shared/snippets"',
    ],
    [
      'snippets in a relative directory',
      { AI_PROVISION_PROXMOX_SNIPPETS: 'shared:snippets' },
      'AI_PROVISION_PROXMOX_SNIPPETS: expected <storage>:<absolute directory>, a storage with snippets content and its snippets directory as mounted on this host, such as shared:/mnt/pve/shared/snippets, got "shared:snippets"',
    ],
    [
      'a runner of 0 cores',
      { AI_PROVISION_PROXMOX_RUNNER_CORES: '0' },
      'AI_PROVISION_PROXMOX_RUNNER_CORES: expected a whole number of 1 or more, such as 2, got "0"',
    ],
    [
      'a runner of 256 MiB',
      { AI_PROVISION_PROXMOX_RUNNER_MEMORY_MIB: '256' },
      'AI_PROVISION_PROXMOX_RUNNER_MEMORY_MIB: expected a whole number of 512 or more, such as 4096, got "256"',
    ],
    [
      'runner memory in GiB',
      { AI_PROVISION_PROXMOX_RUNNER_MEMORY_MIB: '4G' },
      'AI_PROVISION_PROXMOX_RUNNER_MEMORY_MIB: expected a whole number of 512 or more, such as 4096, got "4G"',
    ],
    [
      'a runner label that is not one',
      { AI_PROVISION_PROXMOX_RUNNER_LABELS: 'llm,GPU' },
      'AI_PROVISION_PROXMOX_RUNNER_LABELS: "GPU" is not a label (lowercase letters, digits and _, starting with a letter, at most 32 characters); expected labels separated by commas, such as llm,exec, got "llm,GPU"',
    ],
    [
      'a runner concurrency of 0',
      { AI_PROVISION_PROXMOX_RUNNER_CONCURRENCY: '0' },
      'AI_PROVISION_PROXMOX_RUNNER_CONCURRENCY: expected a whole number of 1 or more, such as 2, got "0"',
    ],
    [
      'a runner Redis URL in http',
      { AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: 'http://10.0.0.2:6379' },
      'AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: expected a Redis URL as the runner guests reach it, such as redis://10.0.0.2:6379, got "http://10.0.0.2:6379"',
    ],
    [
      'a queue prefix with a colon',
      { AI_PROVISION_QUEUE_PREFIX: 'ai:provision' },
      'AI_PROVISION_QUEUE_PREFIX: expected letters, digits, - or _ (at most 40), such as ai-provision, got "ai:provision"',
    ],
    [
      'AUTOSCALE as true',
      { AI_PROVISION_AUTOSCALE: 'true' },
      'AI_PROVISION_AUTOSCALE: expected on or off, got "true"',
    ],
    [
      'autoscaling without Redis',
      { AI_PROVISION_AUTOSCALE: 'on' },
      'REDIS_URL: expected a Redis URL when AI_PROVISION_AUTOSCALE=on: runners register and take jobs through Redis, such as redis://10.0.0.2:6379, got nothing',
    ],
    [
      'runners told to reach Redis on loopback',
      { REDIS_URL: 'redis://127.0.0.1:6379' },
      'AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: expected the Redis URL as the runner guests reach it: REDIS_URL is on a loopback host, which inside a guest is the guest itself, such as redis://10.0.0.2:6379, got nothing',
    ],
    [
      'a negative minimum',
      { AI_PROVISION_AUTOSCALE_MIN: '-1' },
      'AI_PROVISION_AUTOSCALE_MIN: expected a whole number of 0 or more, such as 1, got "-1"',
    ],
    [
      'a maximum of 0',
      { AI_PROVISION_AUTOSCALE_MAX: '0' },
      'AI_PROVISION_AUTOSCALE_MAX: expected a whole number of 1 or more, such as 4, got "0"',
    ],
    [
      'a maximum below the minimum',
      { AI_PROVISION_AUTOSCALE_MIN: '3', AI_PROVISION_AUTOSCALE_MAX: '2' },
      'AI_PROVISION_AUTOSCALE_MAX: expected AI_PROVISION_AUTOSCALE_MAX (2) to be at least AI_PROVISION_AUTOSCALE_MIN (3), such as 0 and 4, got "2"',
    ],
    [
      'a minimum above the default maximum',
      { AI_PROVISION_AUTOSCALE_MIN: '6' },
      'AI_PROVISION_AUTOSCALE_MIN: expected AI_PROVISION_AUTOSCALE_MAX (4) to be at least AI_PROVISION_AUTOSCALE_MIN (6), such as 0 and 4, got "6"',
    ],
    [
      'a poll every 100 ms',
      { AI_PROVISION_AUTOSCALE_POLL_MS: '100' },
      'AI_PROVISION_AUTOSCALE_POLL_MS: expected a whole number of 1000 or more, such as 30000, got "100"',
    ],
    [
      'a backlog per runner of 0',
      { AI_PROVISION_AUTOSCALE_BACKLOG_PER_RUNNER: '0' },
      'AI_PROVISION_AUTOSCALE_BACKLOG_PER_RUNNER: expected a number above 0, such as 2, got "0"',
    ],
    [
      'scale-up polls of 0',
      { AI_PROVISION_AUTOSCALE_SCALE_UP_POLLS: '0' },
      'AI_PROVISION_AUTOSCALE_SCALE_UP_POLLS: expected a whole number of 1 or more, such as 2, got "0"',
    ],
    [
      'a cooldown in minutes',
      { AI_PROVISION_AUTOSCALE_COOLDOWN_MS: '10m' },
      'AI_PROVISION_AUTOSCALE_COOLDOWN_MS: expected a whole number of 0 or more, such as 600000, got "10m"',
    ],
    [
      'a boot timeout of 0',
      { AI_PROVISION_AUTOSCALE_BOOT_TIMEOUT_MS: '0' },
      'AI_PROVISION_AUTOSCALE_BOOT_TIMEOUT_MS: expected a whole number of 1000 or more, such as 600000, got "0"',
    ],
    [
      'a fractional drain timeout',
      { AI_PROVISION_AUTOSCALE_DRAIN_TIMEOUT_MS: '1.5' },
      'AI_PROVISION_AUTOSCALE_DRAIN_TIMEOUT_MS: expected a whole number of 0 or more, such as 1800000, got "1.5"',
    ],
    [
      'a negative node backoff',
      { AI_PROVISION_AUTOSCALE_NODE_BACKOFF_MS: '-5' },
      'AI_PROVISION_AUTOSCALE_NODE_BACKOFF_MS: expected a whole number of 0 or more, such as 300000, got "-5"',
    ],
    [
      'a step of 0',
      { AI_PROVISION_AUTOSCALE_MAX_STEP: '0' },
      'AI_PROVISION_AUTOSCALE_MAX_STEP: expected a whole number of 1 or more, such as 4, got "0"',
    ],
  ])('refuses %s, naming the variable, what was expected and an example', (_name, env, line) => {
    expect(problems({ ...BASE, ...env })).toEqual([line]);
  });

  it('refuses a snippets directory that does not exist, or a file', () => {
    const missing = join(snippetsDir, 'missing');
    const file = join(snippetsDir, 'a-file');

    const lines = [missing, file].map((dir) =>
      problems({ ...BASE, AI_PROVISION_PROXMOX_SNIPPETS: `shared:${dir}` }),
    );

    expect(lines).toEqual([
      [
        `AI_PROVISION_PROXMOX_SNIPPETS: ${missing} is not a directory on this host; expected <storage>:<absolute directory>, a storage with snippets content and its snippets directory as mounted on this host, such as shared:/mnt/pve/shared/snippets, got ${JSON.stringify(`shared:${missing}`)}`,
      ],
      [
        `AI_PROVISION_PROXMOX_SNIPPETS: ${file} is not a directory on this host; expected <storage>:<absolute directory>, a storage with snippets content and its snippets directory as mounted on this host, such as shared:/mnt/pve/shared/snippets, got ${JSON.stringify(`shared:${file}`)}`,
      ],
    ]);
  });

  it('lists every problem at once, one per line, in variable order', () => {
    const env: Env = {
      PROXMOX_URL: 'https://pve1.example.com',
      PROXMOX_TOKEN_ID: 'ai-provision@pve!runners',
      AI_PROVISION_PROXMOX_RUNNER_CORES: 'two',
      AI_PROVISION_AUTOSCALE_MIN: '5',
      AI_PROVISION_AUTOSCALE: 'on',
    };

    const lines = problems(env);

    expect(lines.map((line) => line.slice(0, line.indexOf(':')))).toEqual([
      'PROXMOX_URL',
      'PROXMOX_TOKEN_SECRET',
      'AI_PROVISION_PROXMOX_TEMPLATE',
      'AI_PROVISION_PROXMOX_RUNNER_CORES',
      'AI_PROVISION_AUTOSCALE_MIN',
      'REDIS_URL',
    ]);
  });

  it.each<[string, Env, string[]]>([
    // [case, env over BASE, secrets that must not appear]
    ['a bad token secret', { PROXMOX_TOKEN_SECRET: `X${SECRET}` }, [SECRET]],
    [
      'a token secret with a bad id',
      { PROXMOX_TOKEN_ID: 'nobody', PROXMOX_TOKEN_SECRET: SECRET },
      [SECRET],
    ],
    [
      'a password with a bad user',
      {
        PROXMOX_TOKEN_ID: undefined,
        PROXMOX_TOKEN_SECRET: undefined,
        PROXMOX_USERNAME: 'root',
        PROXMOX_PASSWORD: PASSWORD,
      },
      [PASSWORD],
    ],
    [
      'a password without a user',
      { PROXMOX_TOKEN_ID: undefined, PROXMOX_TOKEN_SECRET: undefined, PROXMOX_PASSWORD: PASSWORD },
      [PASSWORD],
    ],
    [
      'a password inside PROXMOX_URL',
      { PROXMOX_URL: `https://root:${PASSWORD}@pve1.example.com:8006` },
      [PASSWORD],
    ],
    [
      'a password inside a loopback REDIS_URL',
      { REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:6379` },
      [REDIS_PASSWORD],
    ],
    [
      'a password inside a malformed runner Redis URL',
      { AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: `redis:/:${REDIS_PASSWORD}@10.0.0.2:6379` },
      [REDIS_PASSWORD],
    ],
    [
      'a password with a slash inside a runner Redis URL',
      { AI_PROVISION_PROXMOX_RUNNER_REDIS_URL: `http://user:a/${REDIS_PASSWORD}@10.0.0.2` },
      [REDIS_PASSWORD],
    ],
  ])('never shows a secret: %s', (_name, env, secrets) => {
    const parsed = readProxmoxSettings({ ...BASE, ...env }, readCa);

    expect(parsed.kind).toBe('invalid');
    const message = parsed.kind === 'invalid' ? parsed.message : '';
    for (const secret of secrets) expect(message).not.toContain(secret);
  });

  it('masks only the password of a URL it shows', () => {
    const lines = problems({
      ...BASE,
      PROXMOX_URL: `https://root:${PASSWORD}@pve1.example.com:8006`,
    });

    expect(lines).toEqual([
      'PROXMOX_URL: credentials go in PROXMOX_TOKEN_ID/PROXMOX_TOKEN_SECRET, not in the URL; expected the Proxmox VE API as https://host:port without a path (http only on a loopback host), such as https://pve1.example.com:8006, got "https://root:***@pve1.example.com:8006"',
    ]);
  });
});
