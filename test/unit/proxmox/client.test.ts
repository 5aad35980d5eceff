import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  startFakeProxmoxApi,
  type FakeProxmox,
  type FakeProxmoxOptions,
} from '../../../src/bench/fake-proxmox-api.js';
import {
  createLimiterFactory,
  type ApiLimiter,
  type ScheduleOptions,
} from '../../../src/pool/limiters.js';
import { createProxmoxClient, parseUpid } from '../../../src/proxmox/client.js';
import {
  ProxmoxError,
  SimulatedClock,
  type GuestRef,
  type ProxmoxClient,
  type ProxmoxConnection,
  type ProxmoxErrorCode,
} from '../../../src/proxmox/types.js';
import { delay } from '../../support/timing.js';

const TOKEN_ID = 'ai-provision@pve!runners';
const TOKEN_SECRET = '3f1c2b9a-8d4e-4f6a-9b7c-1e2d3c4b5a69';
const USERNAME = 'root@pam';
const PASSWORD = 'correct-horse-battery';
const MIB = 1024 * 1024;

const TEMPLATE: GuestRef = { node: 'pve1', kind: 'qemu', vmid: 9000 };
const LXC_TEMPLATE: GuestRef = { node: 'pve1', kind: 'lxc', vmid: 9100 };
const RUNNING: GuestRef = { node: 'pve2', kind: 'qemu', vmid: 101 };
const ON_OFFLINE_NODE: GuestRef = { node: 'pve3', kind: 'qemu', vmid: 102 };

function fakeOptions(overrides: Partial<FakeProxmoxOptions> = {}): FakeProxmoxOptions {
  return {
    tokens: { [TOKEN_ID]: TOKEN_SECRET },
    users: { [USERNAME]: PASSWORD },
    nodes: [
      { name: 'pve1', cores: 16, memoryMiB: 65536 },
      { name: 'pve2', cores: 8, memoryMiB: 32768 },
      { name: 'pve3', cores: 8, memoryMiB: 32768, online: false },
    ],
    guests: [
      {
        vmid: 9000,
        node: 'pve1',
        kind: 'qemu',
        name: 'runner-template',
        template: true,
        tags: ['base'],
        cores: 2,
        memoryMiB: 2048,
      },
      {
        vmid: 9100,
        node: 'pve1',
        kind: 'lxc',
        name: 'ct-template',
        template: true,
        cores: 1,
        memoryMiB: 1024,
      },
      {
        vmid: 101,
        node: 'pve2',
        kind: 'qemu',
        name: 'web',
        status: 'running',
        tags: ['Prod', 'web'],
        cores: 4,
        memoryMiB: 8192,
      },
      { vmid: 102, node: 'pve3', kind: 'qemu', name: 'far', cores: 1, memoryMiB: 1024 },
    ],
    ...overrides,
  };
}

function tokenConnection(
  fake: FakeProxmox,
  overrides: Partial<ProxmoxConnection> = {},
): ProxmoxConnection {
  return {
    url: fake.url,
    auth: { kind: 'token', tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET },
    tls: { kind: 'verify' },
    timeoutMs: 5000,
    ...overrides,
  };
}

function passwordConnection(fake: FakeProxmox, password = PASSWORD): ProxmoxConnection {
  return {
    url: fake.url,
    auth: { kind: 'password', username: USERNAME, password },
    tls: { kind: 'verify' },
    timeoutMs: 5000,
  };
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<ProxmoxError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProxmoxError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/**
 * Runs `promise` to its end while moving `clock` forward: `stepMs` whenever something sleeps on
 * it, a real 5 ms turn while an HTTP call is in flight. Bounded by `maxTurns`.
 */
async function onClock<T>(
  clock: SimulatedClock,
  promise: Promise<T>,
  stepMs = 50,
  maxTurns = 2000,
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => undefined);
  for (let turn = 0; turn < maxTurns && !settled; turn++) {
    if (clock.pending() > 0) await clock.advance(stepMs);
    else await delay(5);
  }
  return watched;
}

interface RawServer {
  url: string;
  /** Requests that reached it (first bytes of each connection). */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A TCP server that never answers: it either leaves each connection hanging or (`reset`) drops it
 * as soon as the request arrives.
 */
async function startRawServer(behaviour: 'silent' | 'reset'): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      requests.push(chunk.toString('latin1').split('\r\n')[0] ?? '');
      if (behaviour === 'reset') socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function rawConnection(url: string, timeoutMs: number): ProxmoxConnection {
  return {
    url,
    auth: { kind: 'token', tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET },
    tls: { kind: 'verify' },
    timeoutMs,
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('src/proxmox/client', () => {
  describe('parseUpid', () => {
    it.each([
      {
        upid: 'UPID:pve1:0001A2B3:0FEDCBA9:6740F0A1:qmclone:9000:root@pam:',
        expected: {
          node: 'pve1',
          type: 'qmclone',
          id: '9000',
          user: 'root@pam',
          starttime: 0x6740f0a1,
        },
      },
      {
        upid: 'UPID:pve-2:00000F00:00ABCDEF:6740F0A2:vzdestroy:105:ai-provision@pve!runners:',
        expected: {
          node: 'pve-2',
          type: 'vzdestroy',
          id: '105',
          user: 'ai-provision@pve!runners',
          starttime: 0x6740f0a2,
        },
      },
      {
        upid: 'UPID:pve1:00001234:000ABCDE:6740F0A3:aptupdate::root@pam:',
        expected: {
          node: 'pve1',
          type: 'aptupdate',
          id: '',
          user: 'root@pam',
          starttime: 0x6740f0a3,
        },
      },
    ])('splits $upid', ({ upid, expected }) => {
      const parsed = parseUpid(upid);

      expect(parsed).toEqual(expected);
    });

    it.each([
      '',
      'UPID:pve1:0001A2B3:0FEDCBA9:6740F0A1:qmclone:9000:root@pam',
      'UPID:pve1:xyz:0FEDCBA9:6740F0A1:qmclone:9000:root@pam:',
      'pve1:0001A2B3:0FEDCBA9:6740F0A1:qmclone:9000:root@pam:',
    ])('refuses %j', (upid) => {
      const parsed = parseUpid(upid);

      expect(parsed).toBeUndefined();
    });
  });

  describe('reads over HTTP with a token', () => {
    let fake: FakeProxmox;
    let client: ProxmoxClient;

    beforeAll(async () => {
      fake = await startFakeProxmoxApi(fakeOptions());
      client = createProxmoxClient({ connection: tokenConnection(fake) });
    });

    afterAll(async () => {
      await fake.close();
    });

    it('reads the version with the token header', async () => {
      const version = await client.version();

      expect(version).toEqual({ version: '9.1.1', release: '9.1' });
      expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', auth: 'token', status: 200 });
    });

    it('lists guests with tags, template flag and sizes', async () => {
      const guests = await client.guests();

      const byVmid = new Map(guests.map((guest) => [guest.vmid, guest]));
      expect(byVmid.get(9000)).toMatchObject({
        node: 'pve1',
        kind: 'qemu',
        name: 'runner-template',
        template: true,
        tags: ['base'],
        cores: 2,
        memoryBytes: 2048 * MIB,
      });
      expect(byVmid.get(9100)).toMatchObject({ kind: 'lxc', template: true, tags: [] });
      expect(byVmid.get(101)).toMatchObject({
        status: 'running',
        template: false,
        tags: ['prod', 'web'],
        cores: 4,
        memoryBytes: 8192 * MIB,
      });
      expect(byVmid.get(101)?.lock).toBeUndefined();
      expect(byVmid.get(102)).toMatchObject({ node: 'pve3', status: 'unknown' });
    });

    it('lists nodes, offline ones included, with the memory in use', async () => {
      const nodes = await client.nodes();

      const byName = new Map(nodes.map((node) => [node.node, node]));
      expect(byName.get('pve1')).toMatchObject({
        online: true,
        cores: 16,
        memoryBytes: 65536 * MIB,
        memoryUsedBytes: 1024 * MIB,
      });
      // 4 running cores × 0.25 over 8 cores
      expect(byName.get('pve2')).toMatchObject({
        online: true,
        memoryUsedBytes: (1024 + 8192) * MIB,
      });
      expect(byName.get('pve2')?.coresUsed).toBeCloseTo(1, 6);
      expect(byName.get('pve3')).toEqual({
        node: 'pve3',
        online: false,
        cores: 0,
        coresUsed: 0,
        memoryBytes: 0,
        memoryUsedBytes: 0,
      });
    });

    it('reads the next free vmid as a number', async () => {
      const vmid = await client.nextVmid();

      expect(vmid).toBe(100);
    });

    it('reads a guest config and status', async () => {
      const config = await client.config(RUNNING);
      const status = await client.status(RUNNING);

      expect(config).toMatchObject({ name: 'web', cores: 4, memory: 8192 });
      expect(status).toMatchObject({ status: 'running' });
      expect(status.uptimeS).toBeGreaterThanOrEqual(0);
    });
  });

  describe('authentication', () => {
    let fake: FakeProxmox;

    beforeAll(async () => {
      fake = await startFakeProxmoxApi(fakeOptions());
    });

    afterAll(async () => {
      await fake.close();
    });

    it('logs in with a password, sends the ticket, and logs in again once it expires', async () => {
      const client = createProxmoxClient({ connection: passwordConnection(fake) });
      const before = fake.requests.length;

      await client.guests();
      fake.expireTickets();
      await client.updateConfig(RUNNING, { description: 'after re-login' });

      const requests = fake.requests.slice(before);
      const logins = requests.filter(
        (r) => r.method === 'POST' && r.path.endsWith('/access/ticket'),
      );
      expect(logins).toHaveLength(2);
      expect(requests.filter((r) => r.auth === 'ticket' && r.status === 200)).toHaveLength(2);
      expect(requests.some((r) => r.status === 401)).toBe(true);
      expect(fake.guest(101)?.config.description).toBe('after re-login');
    });

    it.each([
      {
        what: 'a wrong password',
        connection: (f: FakeProxmox) => passwordConnection(f, 'wrong-password-123'),
        secret: 'wrong-password-123',
      },
      {
        what: 'an unknown token secret',
        connection: (f: FakeProxmox) =>
          tokenConnection(f, {
            auth: {
              kind: 'token',
              tokenId: TOKEN_ID,
              tokenSecret: '00000000-0000-4000-8000-000000000000',
            },
          }),
        secret: '00000000-0000-4000-8000-000000000000',
      },
    ])('maps $what to auth without echoing the secret', async ({ connection, secret }) => {
      const client = createProxmoxClient({ connection: connection(fake) });

      const error = await rejectionOf(client.version());

      expect(error.code).toBe('auth');
      expect(error.status).toBe(401);
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error)).not.toContain(secret);
    });

    it.each([
      { tokenId: 'runners', tokenSecret: TOKEN_SECRET, names: 'PROXMOX_TOKEN_ID' },
      { tokenId: TOKEN_ID, tokenSecret: TOKEN_SECRET.toUpperCase(), names: 'PROXMOX_TOKEN_SECRET' },
    ])('refuses a malformed token ($names) before any call', ({ tokenId, tokenSecret, names }) => {
      const connection = tokenConnection(fake, { auth: { kind: 'token', tokenId, tokenSecret } });

      const create = (): ProxmoxClient => createProxmoxClient({ connection });

      expect(create).toThrow(ProxmoxError);
      expect(create).toThrow(names);
    });
  });

  describe('TLS', () => {
    let fake: FakeProxmox;

    beforeAll(async () => {
      fake = await startFakeProxmoxApi(fakeOptions({ tls: true }));
    });

    afterAll(async () => {
      await fake.close();
    });

    it('trusts the cluster CA given as caPem', async () => {
      const client = createProxmoxClient({
        connection: tokenConnection(fake, { tls: { kind: 'verify', caPem: fake.caPem! } }),
      });

      const version = await client.version();

      expect(fake.url).toMatch(/^https:/);
      expect(version.release).toBe('9.1');
    });

    it('refuses a self-signed certificate without the CA, pointing at PROXMOX_CA_FILE', async () => {
      const client = createProxmoxClient({ connection: tokenConnection(fake) });
      const before = fake.requests.length;

      const error = await rejectionOf(client.version());

      expect(error.code).toBe('tls');
      expect(error.message).toContain('PROXMOX_CA_FILE');
      expect(error.message).toContain('PROXMOX_TLS_INSECURE=true');
      expect(error.message).not.toContain(TOKEN_SECRET);
      expect(fake.requests.length).toBe(before);
    });

    it('skips verification only when insecure', async () => {
      const client = createProxmoxClient({
        connection: tokenConnection(fake, { tls: { kind: 'insecure' } }),
      });

      const version = await client.version();

      expect(version.version).toBe('9.1.1');
    });
  });

  describe('rate limiting and timeouts', () => {
    it('schedules every call through the limiter, one request per slot', async () => {
      const fake = await startFakeProxmoxApi(fakeOptions());
      const factory = createLimiterFactory();
      const inner = factory.for('proxmox');
      let scheduled = 0;
      let inFlight = 0;
      let mostInFlight = 0;
      const limiter: ApiLimiter = {
        schedule<T>(call: () => Promise<T>, options?: ScheduleOptions): Promise<T> {
          scheduled++;
          return inner.schedule(async () => {
            inFlight++;
            mostInFlight = Math.max(mostInFlight, inFlight);
            try {
              return await call();
            } finally {
              inFlight--;
            }
          }, options);
        },
      };
      const client = createProxmoxClient({ connection: tokenConnection(fake), limiter });
      const before = fake.requests.length;

      await Promise.all([
        client.version(),
        client.guests(),
        client.nodes(),
        client.nextVmid(),
        client.config(RUNNING),
        client.status(RUNNING),
        rejectionOf(client.config({ ...RUNNING, vmid: 4242 })),
      ]);

      expect(scheduled).toBe(7);
      expect(fake.requests.length - before).toBe(7);
      // The proxmox preset: at most 3 in flight.
      expect(mostInFlight).toBeLessThanOrEqual(3);
      await factory.close();
      await fake.close();
    });

    it('gives up on a server that never answers within timeoutMs', async () => {
      const silent = await startRawServer('silent');
      const client = createProxmoxClient({ connection: rawConnection(silent.url, 300) });
      const startedAt = Date.now();

      const error = await rejectionOf(client.status(TEMPLATE));
      const elapsed = Date.now() - startedAt;

      expect(error.code).toBe('unreachable');
      expect(error.node).toBe('pve1');
      expect(error.message).toContain('300 ms');
      // One deadline for the whole call; 300 ms of slack for a loaded CI machine.
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(600);
      expect(silent.requests).toHaveLength(1);
      await silent.close();
    });

    it('sends a POST that timed out only once (a clone must not be repeated)', async () => {
      const silent = await startRawServer('silent');
      const client = createProxmoxClient({ connection: rawConnection(silent.url, 200) });

      const error = await rejectionOf(
        client.clone(TEMPLATE, { newid: 500, name: 'once', full: true }),
      );

      expect(error.code).toBe('unreachable');
      expect(silent.requests).toEqual(['POST /api2/json/nodes/pve1/qemu/9000/clone HTTP/1.1']);
      await silent.close();
    });

    it.each([
      { what: 'a GET', method: 'GET', sent: 2, call: (c: ProxmoxClient) => c.guests() },
      { what: 'a POST', method: 'POST', sent: 1, call: (c: ProxmoxClient) => c.start(RUNNING) },
      {
        what: 'a DELETE',
        method: 'DELETE',
        sent: 1,
        call: (c: ProxmoxClient) => c.destroy(RUNNING),
      },
    ])(
      'retries $what whose connection dropped $sent time(s) in all',
      async ({ call, method, sent }) => {
        const reset = await startRawServer('reset');
        const client = createProxmoxClient({ connection: rawConnection(reset.url, 2000) });

        const error = await rejectionOf(call(client));

        expect(error.code).toBe('unreachable');
        expect(reset.requests).toHaveLength(sent);
        expect(reset.requests.every((line) => line.startsWith(`${method} `))).toBe(true);
        await reset.close();
      },
    );

    it('maps a refused connection to unreachable', async () => {
      const port = await closedPort();
      const client = createProxmoxClient({
        connection: rawConnection(`http://127.0.0.1:${port}`, 2000),
      });

      const error = await rejectionOf(client.guests());

      expect(error.code).toBe('unreachable');
      expect(error.node).toBeUndefined();
      expect(error.message).toContain('ECONNREFUSED');
    });
  });

  describe('tasks on a simulated clock', () => {
    let clock: SimulatedClock;
    let fake: FakeProxmox;
    let client: ProxmoxClient;

    beforeEach(async () => {
      clock = new SimulatedClock(1_700_000_000_000);
      fake = await startFakeProxmoxApi(fakeOptions({ now: () => clock.now(), firstVmid: 200 }));
      client = createProxmoxClient({ connection: tokenConnection(fake), clock });
    });

    afterEach(async () => {
      await fake.close();
    });

    it('clones, configures, starts, stops and destroys a VM', async () => {
      const newid = await client.nextVmid();
      const ref: GuestRef = { node: 'pve1', kind: 'qemu', vmid: newid };

      const clone = await client.clone(TEMPLATE, {
        newid,
        name: 'ai-provision-runner-200',
        full: false,
        description: 'runner',
      });
      const whileCloning = await client.taskStatus(clone);
      const locked = await client.status(ref);
      await onClock(clock, client.waitForTask(clone, { pollMs: 50, timeoutMs: 5000 }));
      await client.updateConfig(ref, { tags: 'base;ai-provision-runner', cores: 2, memory: 4096 });
      const config = await client.config(ref);
      const started = await client.start(ref);
      await onClock(clock, client.waitForTask(started, { pollMs: 50 }));
      const running = await client.status(ref);
      const stopped = await client.stop(ref);
      await onClock(clock, client.waitForTask(stopped, { pollMs: 50 }));
      const destroyed = await client.destroy(ref);
      await onClock(clock, client.waitForTask(destroyed, { pollMs: 50 }));
      const gone = await rejectionOf(client.config(ref));

      expect(newid).toBe(200);
      expect(clone.node).toBe('pve1');
      expect(parseUpid(clone.upid)).toMatchObject({ node: 'pve1', type: 'qmclone', id: '9000' });
      expect(whileCloning).toEqual({ state: 'running' });
      expect(locked.lock).toBe('clone');
      expect(config).toMatchObject({ name: 'ai-provision-runner-200', cores: 2, memory: 4096 });
      expect(String(config.tags)).toContain('ai-provision-runner');
      expect(config.template).toBeUndefined();
      expect(parseUpid(started.upid)?.type).toBe('qmstart');
      expect(running.status).toBe('running');
      expect(parseUpid(stopped.upid)?.type).toBe('qmstop');
      expect(parseUpid(destroyed.upid)?.type).toBe('qmdestroy');
      expect(gone.code).toBe('not-found');
      expect(fake.guest(newid)).toBeUndefined();
      const deletes = fake.requests.filter((r) => r.method === 'DELETE');
      expect(deletes.at(-1)?.params).toMatchObject({
        purge: '1',
        'destroy-unreferenced-disks': '1',
      });
      const clonePost = fake.requests.find((r) => r.path.endsWith('/qemu/9000/clone'));
      expect(clonePost?.params).toMatchObject({
        newid: '200',
        name: 'ai-provision-runner-200',
        full: '0',
      });
    });

    it('clones an LXC with hostname, full, onto another node', async () => {
      const clone = await client.clone(LXC_TEMPLATE, {
        newid: 201,
        name: 'ai-provision-runner-201',
        target: 'pve2',
        full: true,
      });
      await onClock(clock, client.waitForTask(clone, { pollMs: 50 }));

      const guest = fake.guest(201);
      expect(clone.node).toBe('pve1');
      expect(parseUpid(clone.upid)?.type).toBe('vzclone');
      expect(guest).toMatchObject({ node: 'pve2', kind: 'lxc', name: 'ai-provision-runner-201' });
      expect(guest?.lock).toBeUndefined();
      const clonePost = fake.requests.find((r) => r.path.endsWith('/lxc/9100/clone'));
      expect(clonePost?.params).toMatchObject({ hostname: 'ai-provision-runner-201', full: '1' });
    });

    it('creates a container and shuts a running VM down', async () => {
      const create = await client.create('pve2', 'lxc', {
        vmid: 210,
        hostname: 'made',
        ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
        cores: 1,
        memory: 512,
        unprivileged: true,
      });
      await onClock(clock, client.waitForTask(create, { pollMs: 50 }));
      const shutdown = await client.shutdown(RUNNING, { timeoutS: 30, forceStop: true });
      await onClock(clock, client.waitForTask(shutdown, { pollMs: 50 }));

      expect(parseUpid(create.upid)?.type).toBe('vzcreate');
      expect(fake.guest(210)).toMatchObject({ node: 'pve2', kind: 'lxc' });
      expect(fake.guest(210)?.config.unprivileged).toBe(1);
      expect(parseUpid(shutdown.upid)?.type).toBe('qmshutdown');
      expect(fake.guest(101)?.status).toBe('stopped');
      const shutdownPost = fake.requests.find((r) => r.path.endsWith('/status/shutdown'));
      expect(shutdownPost?.params).toMatchObject({ timeout: '30', forceStop: '1' });
    });

    it('throws task-failed with the exit status when the task fails', async () => {
      fake.failNext({ type: 'clone' }, 'clone failed: no space left on device');
      const clone = await client.clone(TEMPLATE, { newid: 202, name: 'doomed', full: true });

      const error = await rejectionOf(onClock(clock, client.waitForTask(clone, { pollMs: 50 })));

      expect(error.code).toBe('task-failed');
      expect(error.message).toBe('clone failed: no space left on device');
      expect(error.node).toBe('pve1');
      expect(fake.guest(202)).toBeUndefined();
    });

    it('throws timeout when the task outlives timeoutMs on the clock', async () => {
      const clone = await client.clone(TEMPLATE, { newid: 203, name: 'slow', full: true });

      const error = await rejectionOf(
        onClock(clock, client.waitForTask(clone, { pollMs: 50, timeoutMs: 120 })),
      );
      const after = await client.taskStatus(clone);

      expect(error.code).toBe('timeout');
      expect(error.message).toContain(clone.upid);
      // The clone takes 200 ms on the clock; the wait gave up at 120.
      expect(after).toEqual({ state: 'running' });
    });

    it('stops waiting when the signal aborts', async () => {
      const clone = await client.clone(TEMPLATE, { newid: 204, name: 'aborted', full: true });
      const controller = new AbortController();
      const reason = new Error('shutting down');

      const waiting = client.waitForTask(clone, { pollMs: 50, signal: controller.signal });
      waiting.catch(() => undefined);
      for (let turn = 0; turn < 200 && clock.pending() === 0; turn++) await delay(5);
      controller.abort(reason);

      await expect(waiting).rejects.toBe(reason);
    });
  });

  describe('error mapping', () => {
    let fake: FakeProxmox;
    let client: ProxmoxClient;

    beforeAll(async () => {
      // Long tasks: the clone below stays locked for the whole describe.
      fake = await startFakeProxmoxApi(fakeOptions({ taskMs: { clone: 3_600_000 } }));
      client = createProxmoxClient({ connection: tokenConnection(fake) });
      await client.clone(TEMPLATE, { newid: 300, name: 'locked', full: true });
    });

    afterEach(() => {
      fake.setOutage(undefined);
    });

    afterAll(async () => {
      await fake.close();
    });

    const cases: {
      what: string;
      call: (client: ProxmoxClient) => Promise<unknown>;
      code: ProxmoxErrorCode;
      status?: number;
      node?: string;
      message?: string;
    }[] = [
      {
        what: 'a missing guest',
        call: (c) => c.config({ node: 'pve1', kind: 'qemu', vmid: 4242 }),
        code: 'not-found',
        status: 500,
        node: 'pve1',
        message: 'does not exist',
      },
      {
        what: 'a missing container',
        call: (c) => c.status({ node: 'pve1', kind: 'lxc', vmid: 4243 }),
        code: 'not-found',
        node: 'pve1',
      },
      {
        what: 'a clone onto a taken vmid',
        call: (c) => c.clone(TEMPLATE, { newid: 101, name: 'dup', full: true }),
        code: 'conflict',
        status: 500,
        node: 'pve1',
        message: 'already exists',
      },
      {
        what: 'a config change on a locked guest',
        call: (c) => c.updateConfig({ node: 'pve1', kind: 'qemu', vmid: 300 }, { cores: 4 }),
        code: 'conflict',
        message: 'locked',
      },
      {
        what: 'destroying a running guest',
        call: (c) => c.destroy(RUNNING),
        code: 'conflict',
        node: 'pve2',
        message: 'is running',
      },
      {
        what: 'a linked clone to another node',
        call: (c) => c.clone(TEMPLATE, { newid: 301, name: 'linked', target: 'pve2', full: false }),
        code: 'rejected',
        status: 400,
        message: 'target',
      },
      {
        what: 'a guest on an offline node',
        call: (c) => c.status(ON_OFFLINE_NODE),
        code: 'unreachable',
        status: 595,
        node: 'pve3',
      },
      {
        what: 'a task status on an offline node',
        call: (c) =>
          c.taskStatus({
            node: 'pve3',
            upid: 'UPID:pve3:00001234:000ABCDE:6740F0A3:qmstart:102:root@pam:',
          }),
        code: 'unreachable',
        node: 'pve3',
      },
    ];

    it.each(cases)('maps $what to $code', async ({ call, code, status, node, message }) => {
      const error = await rejectionOf(call(client));

      expect(error.code).toBe(code);
      if (status !== undefined) expect(error.status).toBe(status);
      if (node !== undefined) expect(error.node).toBe(node);
      if (message !== undefined) expect(error.message).toContain(message);
      expect(error.message).not.toContain(TOKEN_SECRET);
    });

    it.each([
      {
        outage: { status: 403, text: 'Permission check failed (/vms/9000, VM.Clone)' },
        code: 'forbidden',
      },
      { outage: { status: 401, text: 'permission denied - invalid token value!' }, code: 'auth' },
      { outage: { status: 596, text: 'Broken pipe' }, code: 'unreachable' },
      { outage: { status: 500, text: 'unable to parse value of cores' }, code: 'rejected' },
    ] satisfies { outage: { status: number; text: string }; code: ProxmoxErrorCode }[])(
      'maps an answer $outage.status to $code',
      async ({ outage, code }) => {
        fake.setOutage(outage);

        const error = await rejectionOf(
          client.clone(TEMPLATE, { newid: 302, name: 'x', full: true }),
        );

        expect(error.code).toBe(code);
        expect(error.status).toBe(outage.status);
        expect(error.node).toBe('pve1');
        expect(error.message).toContain(outage.text);
      },
    );

    it.each([502, 503, 504])(
      'maps a %i from the API (or a proxy in front of it) to unreachable, not blamed on the node',
      async (status) => {
        fake.setOutage({ status, text: 'Service Unavailable' });

        const error = await rejectionOf(
          client.clone(TEMPLATE, { newid: 302, name: 'x', full: true }),
        );

        expect(error.code).toBe('unreachable');
        expect(error.status).toBe(status);
        expect(error.node).toBeUndefined();
        expect(error.message).toContain('the Proxmox API is not available');
      },
    );
  });
});
