import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proxmoxApi } from 'proxmox-api';
import { Agent, fetch } from 'undici';
import {
  startFakeProxmoxApi,
  type FakeGuest,
  type FakeProxmox,
  type FakeProxmoxOptions,
} from '../../../src/bench/fake-proxmox-api.js';

const TOKEN_ID = 'ai-provision@pve!runners';
const TOKEN_SECRET = '0b9c4a52-3f7e-4d2a-9b1c-5e6f7a8b9c0d';
const TOKEN = `PVEAPIToken=${TOKEN_ID}=${TOKEN_SECRET}`;
const PASSWORD = 'correct horse battery staple';
const JSON_TYPE = 'application/json;charset=UTF-8';
const UPID_FORM =
  /^UPID:(?<node>[^:]+):(?<pid>[0-9A-F]{8}):(?<pstart>[0-9A-F]{8}):(?<starttime>[0-9A-F]{8}):(?<type>[a-z]+):(?<id>\d+):(?<user>[^:]+):$/;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

type Credentials = { token: string } | { ticket: string; csrf?: string } | undefined;

interface Answer {
  status: number;
  statusText: string;
  contentType: string | null;
  body: { data: unknown; errors?: Record<string, string> };
}

/** One raw call, as proxmox-api's engine sends it (query for GET/DELETE, form for POST/PUT). */
async function call(
  fake: FakeProxmox,
  method: string,
  path: string,
  options: {
    params?: Record<string, string | number>;
    auth?: Credentials;
    dispatcher?: Agent;
  } = {},
): Promise<Answer> {
  const auth = 'auth' in options ? options.auth : { token: TOKEN };
  const url = new URL(`${fake.url}/api2/json${path}`);
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(options.params ?? {})) {
    (method === 'POST' || method === 'PUT' ? form : url.searchParams).set(key, String(value));
  }
  const headers: Record<string, string> = {};
  if (auth && 'token' in auth) headers.Authorization = auth.token;
  if (auth && 'ticket' in auth) {
    headers.cookie = `PVEAuthCookie=${auth.ticket}`;
    if (auth.csrf !== undefined) headers.CSRFPreventionToken = auth.csrf;
  }
  let body: string | undefined;
  if (method === 'POST' || method === 'PUT') {
    body = form.toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  return {
    status: response.status,
    statusText: response.statusText,
    contentType: response.headers.get('content-type'),
    body: (await response.json()) as Answer['body'],
  };
}

async function login(fake: FakeProxmox): Promise<{ ticket: string; csrf: string }> {
  const answer = await call(fake, 'POST', '/access/ticket', {
    params: { username: 'root@pam', password: PASSWORD },
    auth: undefined,
  });
  const data = answer.body.data as { ticket: string; CSRFPreventionToken: string };
  return { ticket: data.ticket, csrf: data.CSRFPreventionToken };
}

async function taskStatus(fake: FakeProxmox, node: string, upid: string): Promise<unknown> {
  return (await call(fake, 'GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`)).body
    .data;
}

describe('bench/fake-proxmox-api', () => {
  let fake: FakeProxmox;
  let clock: number;
  let snippetsDir: string;
  let started: FakeGuest[];
  let stopped: FakeGuest[];

  async function start(overrides: Partial<FakeProxmoxOptions> = {}): Promise<void> {
    fake = await startFakeProxmoxApi({
      now: () => clock,
      tokens: { [TOKEN_ID]: TOKEN_SECRET },
      users: { 'root@pam': PASSWORD },
      nodes: [
        { name: 'pve1', cores: 8, memoryMiB: 16_384 },
        { name: 'pve2', cores: 4, memoryMiB: 8_192 },
      ],
      guests: [
        {
          vmid: 9000,
          node: 'pve1',
          kind: 'qemu',
          name: 'runner-template',
          template: true,
          tags: ['ai-provision-runner'],
          cores: 2,
          memoryMiB: 2048,
          config: { cicustom: 'user=local:snippets/base.yaml', net0: 'virtio,bridge=vmbr0' },
        },
        { vmid: 9100, node: 'pve1', kind: 'lxc', name: 'ct-template', template: true },
        {
          vmid: 101,
          node: 'pve1',
          kind: 'qemu',
          name: 'web',
          status: 'running',
          cores: 4,
          memoryMiB: 4096,
        },
      ],
      snippetsDir,
      onGuestStarted: (guest) => started.push(guest),
      onGuestStopped: (guest) => stopped.push(guest),
      ...overrides,
    });
  }

  beforeEach(() => {
    clock = 1_700_000_000_000;
    snippetsDir = mkdtempSync(join(tmpdir(), 'aip-fake-pve-'));
    started = [];
    stopped = [];
  });

  afterEach(async () => {
    await fake?.close();
    rmSync(snippetsDir, { recursive: true, force: true });
  });

  describe('wire format and auth', () => {
    beforeEach(() => start());

    it('answers {data} with the exact content type proxmox-api parses, and records the call', async () => {
      const answer = await call(fake, 'GET', '/version');

      expect(answer.status).toBe(200);
      expect(answer.contentType).toBe(JSON_TYPE);
      expect(answer.body).toEqual({
        data: { version: '9.1.1', release: '9.1', repoid: expect.any(String) },
      });
      expect(fake.requests.at(-1)).toEqual({
        method: 'GET',
        path: '/version',
        params: {},
        auth: 'token',
        status: 200,
      });
    });

    it.each<[string, Credentials, string]>([
      ['no credentials', undefined, 'No ticket'],
      [
        'a wrong token secret',
        { token: `PVEAPIToken=${TOKEN_ID}=00000000-0000-0000-0000-000000000000` },
        'permission denied - invalid token value!',
      ],
      [
        'an unknown token id',
        { token: `PVEAPIToken=root@pam!other=${TOKEN_SECRET}` },
        'permission denied - invalid token value!',
      ],
      [
        'a ticket it never issued',
        { ticket: 'PVE:root@pam:6740F0A1::Zm9v' },
        'permission denied - invalid PVE ticket',
      ],
    ])('refuses %s with 401 and Proxmox’s status text', async (_name, auth, text) => {
      const answer = await call(fake, 'GET', '/cluster/resources', { auth });

      expect(answer).toMatchObject({ status: 401, statusText: text, contentType: JSON_TYPE });
      expect(answer.body.data).toBeNull();
    });

    it('logs in with a password and takes the ticket, with the CSRF token on writes', async () => {
      const wrong = await call(fake, 'POST', '/access/ticket', {
        params: { username: 'root@pam', password: 'nope' },
        auth: undefined,
      });
      const { ticket, csrf } = await login(fake);

      const read = await call(fake, 'GET', '/cluster/nextid', { auth: { ticket } });
      const writeWithout = await call(fake, 'PUT', '/nodes/pve1/qemu/101/config', {
        params: { description: 'x' },
        auth: { ticket },
      });
      const writeWith = await call(fake, 'PUT', '/nodes/pve1/qemu/101/config', {
        params: { description: 'x' },
        auth: { ticket, csrf },
      });

      expect(wrong).toMatchObject({ status: 401, statusText: 'authentication failure' });
      expect(ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::\S+$/);
      expect(csrf).toMatch(/^[0-9A-F]{8}:\S+$/);
      expect(read).toMatchObject({ status: 200, body: { data: '100' } });
      expect(writeWithout).toMatchObject({
        status: 401,
        statusText: 'Permission denied - invalid csrf token',
      });
      expect(writeWith).toMatchObject({ status: 200, body: { data: null } });
      const logins = fake.requests.filter((r) => r.path === '/access/ticket');
      expect(logins.map((r) => [r.auth, r.params])).toEqual([
        ['none', { username: 'root@pam' }],
        ['none', { username: 'root@pam' }],
      ]);
      expect(fake.requests.at(-1)).toMatchObject({ auth: 'ticket', status: 200 });
    });

    it.each([
      ['expireTickets()', (): void => fake.expireTickets()],
      [
        'the ticket TTL passing on the clock',
        (): void => {
          clock += 2 * 3_600_000;
        },
      ],
    ])('refuses an old ticket after %s', async (_name, expire) => {
      const { ticket } = await login(fake);
      expect((await call(fake, 'GET', '/version', { auth: { ticket } })).status).toBe(200);

      expire();
      const answer = await call(fake, 'GET', '/version', { auth: { ticket } });

      expect(answer).toMatchObject({
        status: 401,
        statusText: 'permission denied - invalid PVE ticket',
      });
    });

    it('serves the real proxmox-api client, which logs in again after expireTickets', async () => {
      const api = proxmoxApi({
        host: fake.host,
        port: fake.port,
        schema: 'http',
        username: 'root@pam',
        password: PASSWORD,
      });
      await api.nodes.$('pve1').qemu.$(101).config.$put({ description: 'before' });

      fake.expireTickets();
      await api.nodes.$('pve1').qemu.$(101).config.$put({ description: 'after re-login' });

      expect(fake.guest(101)?.config.description).toBe('after re-login');
      expect(
        fake.requests.map((r) => [r.method, r.path.replace('/nodes/pve1/qemu/101', '…'), r.status]),
      ).toEqual([
        ['POST', '/access/ticket', 200],
        ['PUT', '…/config', 200],
        ['PUT', '…/config', 401],
        ['POST', '/access/ticket', 200],
        ['PUT', '…/config', 200],
      ]);
    });

    it('serves the real proxmox-api client with a token', async () => {
      const api = proxmoxApi({
        host: fake.host,
        port: fake.port,
        schema: 'http',
        tokenID: TOKEN_ID,
        tokenSecret: TOKEN_SECRET,
      });

      const rows = await api.cluster.resources.$get({ type: 'vm' });

      expect(rows.map((row) => row.vmid)).toEqual([101, 9000, 9100]);
    });

    it('answers every request with the outage until it is cleared', async () => {
      fake.setOutage({ status: 503, text: 'Service Unavailable' });
      const during = await call(fake, 'GET', '/version');
      const loginDuring = await call(fake, 'POST', '/access/ticket', {
        params: { username: 'root@pam', password: PASSWORD },
        auth: undefined,
      });

      fake.setOutage(undefined);
      const after = await call(fake, 'GET', '/version');

      expect(during).toMatchObject({ status: 503, statusText: 'Service Unavailable' });
      expect(during.contentType).toBe(JSON_TYPE);
      expect(loginDuring.status).toBe(503);
      expect(after.status).toBe(200);
    });

    it('answers 501 for a route it does not know', async () => {
      const answer = await call(fake, 'GET', '/nodes/pve1/storage');

      expect(answer).toMatchObject({
        status: 501,
        statusText: "Method 'GET /api2/json/nodes/pve1/storage' not implemented",
      });
    });
  });

  describe('TLS', () => {
    it('serves HTTPS with a self-signed certificate for 127.0.0.1 and localhost', async () => {
      await start({ tls: true });
      const trusting = new Agent({ connect: { ca: fake.caPem! } });
      const strict = new Agent();

      const answer = await call(fake, 'GET', '/version', { dispatcher: trusting });
      const refused = call(fake, 'GET', '/version', { dispatcher: strict });

      expect(fake.url).toBe(`https://127.0.0.1:${fake.port}`);
      expect(new X509Certificate(fake.caPem!).subjectAltName).toBe(
        'IP Address:127.0.0.1, DNS:localhost',
      );
      expect(answer.status).toBe(200);
      await expect(refused).rejects.toThrow();
      await trusting.close();
      await strict.close();
    });
  });

  describe('cluster reads', () => {
    beforeEach(() => start());

    it('lists guests with Proxmox’s fields, tags only when there are some', async () => {
      const answer = await call(fake, 'GET', '/cluster/resources', { params: { type: 'vm' } });

      const rows = answer.body.data as Record<string, unknown>[];
      expect(rows).toHaveLength(3);
      expect(rows[0]).toEqual({
        id: 'qemu/101',
        type: 'qemu',
        vmid: 101,
        node: 'pve1',
        name: 'web',
        status: 'running',
        template: 0,
        maxcpu: 4,
        cpu: expect.any(Number),
        maxmem: 4096 * MIB,
        mem: expect.any(Number),
        maxdisk: expect.any(Number),
        disk: 0,
        uptime: 0,
      });
      expect(rows[1]).toMatchObject({ vmid: 9000, template: 1, tags: 'ai-provision-runner' });
      expect(rows[2]).toMatchObject({ id: 'lxc/9100', type: 'lxc', name: 'ct-template' });
    });

    it('accounts running guests on their node and keeps offline nodes bare', async () => {
      fake.setOnline('pve2', false);

      const nodes = (await call(fake, 'GET', '/cluster/resources', { params: { type: 'node' } }))
        .body.data;
      const list = (await call(fake, 'GET', '/nodes')).body.data;

      expect(nodes).toEqual([
        {
          id: 'node/pve1',
          type: 'node',
          node: 'pve1',
          status: 'online',
          maxcpu: 8,
          cpu: (4 * 0.25) / 8,
          maxmem: 16_384 * MIB,
          mem: GIB + 4096 * MIB,
          maxdisk: expect.any(Number),
          disk: expect.any(Number),
          uptime: expect.any(Number),
        },
        { id: 'node/pve2', type: 'node', node: 'pve2', status: 'offline' },
      ]);
      expect(list).toEqual([
        expect.objectContaining({ node: 'pve1', status: 'online', maxmem: 16_384 * MIB }),
        { node: 'pve2', status: 'offline' },
      ]);
    });

    it('gives the next free vmid as a string, and checks a wanted one', async () => {
      const next = await call(fake, 'GET', '/cluster/nextid');
      const free = await call(fake, 'GET', '/cluster/nextid', { params: { vmid: 555 } });
      const taken = await call(fake, 'GET', '/cluster/nextid', { params: { vmid: 101 } });

      expect(next.body.data).toBe('100');
      expect(free.body.data).toBe('555');
      expect(taken).toMatchObject({
        status: 400,
        statusText: 'Parameter verification failed.',
        body: { data: null, errors: { vmid: 'VM 101 already exists' } },
      });
    });

    it('answers 595 for any path under an offline node and shows its guests as unknown', async () => {
      fake.setOnline('pve1', false);

      const answer = await call(fake, 'GET', '/nodes/pve1/qemu/101/status/current');
      const guests = (await call(fake, 'GET', '/cluster/resources', { params: { type: 'vm' } }))
        .body.data as { status: string }[];

      expect(answer).toMatchObject({ status: 595, statusText: 'No route to host' });
      expect(guests.map((g) => g.status)).toEqual(['unknown', 'unknown', 'unknown']);
      fake.setOnline('pve1', true);
      expect((await call(fake, 'GET', '/nodes/pve1/qemu/101/status/current')).status).toBe(200);
    });

    it.each([
      ['a guest that is not there', '/nodes/pve1/qemu/4242/config', 'nodes/pve1/qemu-server/4242'],
      ['a guest on another node', '/nodes/pve2/qemu/101/config', 'nodes/pve2/qemu-server/101'],
      ['a VM asked for as a container', '/nodes/pve1/lxc/101/config', 'nodes/pve1/lxc/101'],
    ])('answers 500 "does not exist" for %s', async (_name, path, file) => {
      const answer = await call(fake, 'GET', path);

      expect(answer).toMatchObject({
        status: 500,
        statusText: `Configuration file '${file}.conf' does not exist`,
      });
    });
  });

  describe('clone', () => {
    beforeEach(() => start());

    it('makes the clone at once, locked, and unlocks it when the task ends on the clock', async () => {
      const answer = await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 120, name: 'runner-120', full: 1, target: 'pve2', storage: 'local-lvm' },
      });
      const upid = answer.body.data as string;
      const during = fake.guest(120);
      const statusDuring = await taskStatus(fake, 'pve1', upid);

      clock += 199;
      const stillRunning = await taskStatus(fake, 'pve1', upid);
      clock += 1;
      const done = await taskStatus(fake, 'pve1', upid);

      expect(UPID_FORM.exec(upid)?.groups).toEqual({
        node: 'pve1',
        pid: expect.any(String),
        pstart: expect.any(String),
        starttime: Math.floor(1_700_000_000).toString(16).toUpperCase(),
        type: 'qmclone',
        id: '9000',
        user: TOKEN_ID,
      });
      expect(during).toMatchObject({
        vmid: 120,
        node: 'pve2',
        kind: 'qemu',
        name: 'runner-120',
        template: false,
        lock: 'clone',
        status: 'stopped',
        cores: 2,
        memoryMiB: 2048,
        tags: ['ai-provision-runner'],
      });
      expect(during?.config).toMatchObject({ cicustom: 'user=local:snippets/base.yaml' });
      expect(during?.config.template).toBeUndefined();
      expect(statusDuring).toMatchObject({
        upid,
        node: 'pve1',
        status: 'running',
        type: 'qmclone',
      });
      expect(statusDuring).not.toHaveProperty('exitstatus');
      expect(stillRunning).toMatchObject({ status: 'running' });
      expect(done).toMatchObject({ status: 'stopped', exitstatus: 'OK', id: '9000' });
      expect(fake.guest(120)?.lock).toBeUndefined();
      expect(fake.tasks()).toEqual([
        {
          upid,
          node: 'pve1',
          type: 'clone',
          id: '9000',
          startedAt: 1_700_000_000_000,
          endsAt: 1_700_000_000_200,
          exitstatus: 'OK',
        },
      ]);
    });

    it('removes the clone when failNext makes the task fail, once per count', async () => {
      fake.failNext({ type: 'clone', node: 'pve1' }, 'clone failed: no space left on device', 2);
      const upids: string[] = [];
      for (const newid of [130, 131, 132]) {
        const answer = await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
          params: { newid, name: `r${newid}` },
        });
        upids.push(answer.body.data as string);
      }

      clock += 1_000;
      fake.settle();

      expect(fake.tasks().map((t) => t.exitstatus)).toEqual([
        'clone failed: no space left on device',
        'clone failed: no space left on device',
        'OK',
      ]);
      expect(fake.guest(130)).toBeUndefined();
      expect(fake.guest(131)).toBeUndefined();
      expect(fake.guest(132)).toMatchObject({ node: 'pve1', name: 'r132' });
      expect(await taskStatus(fake, 'pve1', upids[0]!)).toMatchObject({
        status: 'stopped',
        exitstatus: 'clone failed: no space left on device',
      });
      const log = (
        await call(fake, 'GET', `/nodes/pve1/tasks/${encodeURIComponent(upids[0]!)}/log`)
      ).body.data as { n: number; t: string }[];
      expect(log.at(-1)).toEqual({
        n: log.length,
        t: 'TASK ERROR: clone failed: no space left on device',
      });
    });

    it('only fails tasks that match type and node', async () => {
      fake.failNext({ type: 'clone', node: 'pve2' }, 'boom');

      await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 140, name: 'a' },
      });
      clock += 1_000;
      fake.settle();

      expect(fake.tasks()[0]?.exitstatus).toBe('OK');
    });

    it.each([
      [
        'a linked clone to another node',
        '/nodes/pve1/qemu/9000/clone',
        { newid: 150, name: 'x', target: 'pve2' },
        400,
        'Parameter verification failed.',
      ],
      [
        'a vmid that exists',
        '/nodes/pve1/qemu/9000/clone',
        { newid: 101, name: 'x' },
        500,
        "unable to create VM 101 - VM 101 already exists on node 'pve1'",
      ],
      [
        'a container vmid that exists',
        '/nodes/pve1/lxc/9100/clone',
        { newid: 9000, hostname: 'x' },
        500,
        "VM 9000 already exists on node 'pve1'",
      ],
      [
        'a missing newid',
        '/nodes/pve1/qemu/9000/clone',
        { name: 'x' },
        400,
        'Parameter verification failed.',
      ],
      [
        'a source on another node',
        '/nodes/pve2/qemu/9000/clone',
        { newid: 150, name: 'x' },
        500,
        "Configuration file 'nodes/pve2/qemu-server/9000.conf' does not exist",
      ],
    ])('refuses %s', async (_name, path, params, status, text) => {
      const answer = await call(fake, 'POST', path, { params });

      expect(answer).toMatchObject({ status, statusText: text });
      expect(fake.guest(150)).toBeUndefined();
      expect(fake.tasks()).toEqual([]);
    });

    it('names the parameter a linked clone to another node breaks', async () => {
      const answer = await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 150, name: 'x', target: 'pve2', full: 0 },
      });

      expect(answer.body.errors).toEqual({ target: expect.stringContaining('Linked clone') });
    });

    it('clones onto an offline member node, where the guest is unknown and unreachable', async () => {
      fake.setOnline('pve2', false);

      const answer = await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 155, name: 'far', full: 1, target: 'pve2' },
      });
      clock += 200;
      const rows = (await call(fake, 'GET', '/cluster/resources', { params: { type: 'vm' } })).body
        .data as { vmid: number; status: string }[];
      const start = await call(fake, 'POST', '/nodes/pve2/qemu/155/status/start');
      const unknownNode = await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 156, name: 'nowhere', full: 1, target: 'pve9' },
      });

      expect(answer.status).toBe(200);
      expect(rows.find((row) => row.vmid === 155)?.status).toBe('unknown');
      expect(start).toMatchObject({ status: 595, statusText: 'No route to host' });
      expect(unknownNode).toMatchObject({ status: 500, statusText: "no such cluster node 'pve9'" });
    });

    it('clones a container with its hostname (vzclone)', async () => {
      const answer = await call(fake, 'POST', '/nodes/pve1/lxc/9100/clone', {
        params: { newid: 160, hostname: 'ct-160' },
      });

      expect(UPID_FORM.exec(answer.body.data as string)?.groups?.type).toBe('vzclone');
      expect(fake.guest(160)).toMatchObject({ kind: 'lxc', name: 'ct-160', lock: 'clone' });
      expect(fake.guest(160)?.config.hostname).toBe('ct-160');
    });
  });

  describe('create, config, power and destroy', () => {
    beforeEach(() => start());

    it('creates a container locked until its task ends, keeping the parameters as config', async () => {
      const answer = await call(fake, 'POST', '/nodes/pve2/lxc', {
        params: {
          vmid: 555,
          ostemplate: 'local:vztmpl/debian-12.tar.zst',
          hostname: 'orders',
          cores: 2,
          memory: 1024,
          unprivileged: 1,
          tags: 'ai-provision',
        },
      });
      const during = fake.guest(555);

      clock += 200;
      fake.settle();

      expect(UPID_FORM.exec(answer.body.data as string)?.groups).toMatchObject({
        node: 'pve2',
        type: 'vzcreate',
        id: '555',
      });
      expect(during).toMatchObject({ lock: 'create', name: 'orders', cores: 2, memoryMiB: 1024 });
      expect(fake.guest(555)).toMatchObject({ status: 'stopped', tags: ['ai-provision'] });
      expect(fake.guest(555)?.lock).toBeUndefined();
      expect(fake.guest(555)?.config).toEqual({
        ostemplate: 'local:vztmpl/debian-12.tar.zst',
        hostname: 'orders',
        cores: 2,
        memory: 1024,
        unprivileged: 1,
        tags: 'ai-provision',
      });
    });

    it('starts a created guest when asked to (start=1), and a container says CT when locked', async () => {
      await call(fake, 'POST', '/nodes/pve1/lxc', {
        params: { vmid: 557, ostemplate: 'local:vztmpl/alpine.tar.zst', start: 1 },
      });
      const locked = await call(fake, 'POST', '/nodes/pve1/lxc/557/status/start');

      clock += 200;
      fake.settle();

      expect(locked).toMatchObject({ status: 500, statusText: 'CT is locked (create)' });
      expect(fake.guest(557)).toMatchObject({ status: 'running', name: 'CT557' });
      expect(started.map((g) => g.vmid)).toEqual([557]);
    });

    it('removes a created guest whose task failed', async () => {
      fake.failNext({ type: 'create' }, 'unable to allocate disk');
      await call(fake, 'POST', '/nodes/pve1/qemu', { params: { vmid: 556, name: 'db' } });

      clock += 200;
      fake.settle();

      expect(fake.guest(556)).toBeUndefined();
    });

    it('sets and deletes config keys synchronously and refuses a locked guest', async () => {
      await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 170, name: 'r' },
      });
      const locked = await call(fake, 'PUT', '/nodes/pve1/qemu/170/config', {
        params: { cores: 4 },
      });
      clock += 200;

      const put = await call(fake, 'PUT', '/nodes/pve1/qemu/170/config', {
        params: { cores: 4, memory: 8192, tags: 'a;b', delete: 'net0,cicustom' },
      });
      const config = (await call(fake, 'GET', '/nodes/pve1/qemu/170/config')).body.data;

      expect(locked).toMatchObject({ status: 500, statusText: 'VM is locked (clone)' });
      expect(put).toMatchObject({ status: 200, body: { data: null } });
      expect(config).toEqual({
        name: 'r',
        cores: 4,
        memory: 8192,
        tags: 'a;b',
        digest: expect.stringMatching(/^[0-9a-f]{40}$/),
      });
      expect(fake.guest(170)).toMatchObject({ cores: 4, memoryMiB: 8192, tags: ['a', 'b'] });
    });

    it('starts and shuts down on the clock, calling the hooks', async () => {
      await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 180, name: 'r' },
      });
      writeFileSync(join(snippetsDir, 'base.yaml'), '#cloud-config\n');
      clock += 200;

      const startTask = await call(fake, 'POST', '/nodes/pve1/qemu/180/status/start');
      clock += 100;
      const status = (await call(fake, 'GET', '/nodes/pve1/qemu/180/status/current')).body.data;
      clock += 5_000;
      const shutdown = await call(fake, 'POST', '/nodes/pve1/qemu/180/status/shutdown', {
        params: { timeout: 60, forceStop: 1 },
      });
      const uptime = (await call(fake, 'GET', '/nodes/pve1/qemu/180/status/current')).body.data;
      clock += 100;
      fake.settle();

      expect(UPID_FORM.exec(startTask.body.data as string)?.groups?.type).toBe('qmstart');
      expect(UPID_FORM.exec(shutdown.body.data as string)?.groups?.type).toBe('qmshutdown');
      expect(status).toMatchObject({ vmid: 180, status: 'running', uptime: 0 });
      expect(uptime).toMatchObject({ status: 'running', uptime: 5 });
      expect(started.map((g) => [g.vmid, g.status])).toEqual([[180, 'running']]);
      expect(stopped.map((g) => [g.vmid, g.status])).toEqual([[180, 'stopped']]);
      expect(fake.guest(180)?.status).toBe('stopped');
    });

    it('fails a VM start whose cicustom user snippet is missing', async () => {
      await call(fake, 'POST', '/nodes/pve1/qemu/9000/clone', {
        params: { newid: 181, name: 'r' },
      });
      clock += 200;

      const startTask = await call(fake, 'POST', '/nodes/pve1/qemu/181/status/start');
      clock += 100;

      expect(await taskStatus(fake, 'pve1', startTask.body.data as string)).toMatchObject({
        status: 'stopped',
        exitstatus: "volume 'local:snippets/base.yaml' does not exist",
      });
      expect(fake.guest(181)?.status).toBe('stopped');
      expect(started).toEqual([]);
    });

    it.each([
      [
        'start a template',
        'POST',
        '/nodes/pve1/qemu/9000/status/start',
        "you can't start a vm if it's a template",
      ],
      ['start a running VM', 'POST', '/nodes/pve1/qemu/101/status/start', 'VM 101 already running'],
      [
        'destroy a running VM',
        'DELETE',
        '/nodes/pve1/qemu/101',
        'VM 101 is running - destroy failed',
      ],
    ])('refuses to %s', async (_name, method, path, text) => {
      const answer = await call(fake, method, path);

      expect(answer).toMatchObject({ status: 500, statusText: text });
      expect(fake.tasks()).toEqual([]);
    });

    it('stops then destroys a guest', async () => {
      const stop = await call(fake, 'POST', '/nodes/pve1/qemu/101/status/stop');
      clock += 50;
      fake.settle();

      const destroy = await call(fake, 'DELETE', '/nodes/pve1/qemu/101', {
        params: { purge: 1, 'destroy-unreferenced-disks': 1 },
      });
      const during = fake.guest(101);
      clock += 100;
      fake.settle();

      expect(UPID_FORM.exec(stop.body.data as string)?.groups?.type).toBe('qmstop');
      expect(UPID_FORM.exec(destroy.body.data as string)?.groups?.type).toBe('qmdestroy');
      expect(stopped.map((g) => g.vmid)).toEqual([101]);
      expect(during?.lock).toBe('destroyed');
      expect(fake.guest(101)).toBeUndefined();
      expect(fake.requests.at(-1)).toMatchObject({
        method: 'DELETE',
        path: '/nodes/pve1/qemu/101',
        params: { purge: '1', 'destroy-unreferenced-disks': '1' },
      });
    });

    it('times tasks with taskMs', async () => {
      await fake.close();
      await start({ taskMs: { stop: 1_000 } });

      const stop = await call(fake, 'POST', '/nodes/pve1/qemu/101/status/stop');
      clock += 999;
      const running = await taskStatus(fake, 'pve1', stop.body.data as string);
      clock += 1;
      const done = await taskStatus(fake, 'pve1', stop.body.data as string);

      expect(running).toMatchObject({ status: 'running' });
      expect(done).toMatchObject({ status: 'stopped', exitstatus: 'OK' });
    });
  });
});
