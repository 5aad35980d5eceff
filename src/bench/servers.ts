/**
 * Real Redis and PostgreSQL servers on loopback, for tests and benches: Debian's `redis-server` and
 * PostgreSQL's `initdb`/`postgres`, each in a fresh temporary directory on a free port. `.ci/run`
 * installs the packages; when a binary is missing the start fails with the package to install,
 * never silently skipping. PostgreSQL refuses to run as root, so as root it runs as the
 * `postgres` user the Debian package creates.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A port the kernel says is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds; rejects after `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(50 * (attempt + 1), 250)));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function findBinary(name: string, dirs: string[], pkg: string): string {
  for (const dir of dirs) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `${name} not found in ${dirs.join(', ')}: install it with apt-get install ${pkg}`,
  );
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Redis

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Kills the server (SIGKILL, as a crash) and starts it again on the same port. With `keepData`, it reloads its append-only file. */
  restart(options?: { keepData?: boolean; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Append-only persistence, as production Redis for a job queue should run; default true. */
  appendOnly?: boolean;
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findBinary('redis-server', ['/usr/bin', '/usr/local/bin'], 'redis-server');
  const dir = await mkdtemp(join(tmpdir(), 'ai-provision-redis-'));
  const port = await freePort();
  const appendOnly = options.appendOnly ?? true;
  let child: ChildProcess;

  async function launch(): Promise<void> {
    child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        appendOnly ? 'yes' : 'no',
        '--appendfsync',
        'everysec',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port, 10_000, child);
  }

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(restartOptions = {}) {
      await stopChild(child, 'SIGKILL');
      if (restartOptions.keepData === false) {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
      }
      if (restartOptions.downMs !== undefined && restartOptions.downMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs));
      }
      await launch();
    },
    async stop() {
      await stopChild(child, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, loopback only). */
  url: string;
  port: number;
  /** A new empty database on this server; its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return [...versions.map((v) => join(root, v, 'bin')), '/usr/local/bin', '/usr/bin'];
}

export async function startPostgres(): Promise<PostgresServer> {
  const dirs = postgresBinDirs();
  const initdb = findBinary('initdb', dirs, 'postgresql');
  const postgres = findBinary('postgres', dirs, 'postgresql');
  const dir = await mkdtemp(join(tmpdir(), 'ai-provision-pg-'));
  const dataDir = join(dir, 'data');
  // Run as the postgres user when we are root: spawn's uid/gid, so signals reach postgres itself.
  let ids: { uid: number; gid: number } | undefined;
  if (userInfo().uid === 0) {
    const id = async (flag: string): Promise<number> =>
      Number((await run('id', [flag, 'postgres'])).stdout.trim());
    try {
      ids = { uid: await id('-u'), gid: await id('-g') };
    } catch {
      throw new Error('running as root needs the postgres user: apt-get install postgresql');
    }
    await chown(dir, ids.uid, ids.gid);
    await chmod(dir, 0o700);
  }
  const env = { ...process.env, LC_ALL: 'C' };
  await run(
    initdb,
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { cwd: dir, env, ...(ids ?? {}) },
  );
  const port = await freePort();
  const child = spawn(
    postgres,
    [
      '-D',
      dataDir,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    { stdio: 'ignore', cwd: dir, env, ...(ids ?? {}) },
  );
  await waitForPort(port, 20_000, child);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  return {
    url,
    port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // SIGINT is PostgreSQL's "fast shutdown".
      await stopChild(child, 'SIGINT');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
