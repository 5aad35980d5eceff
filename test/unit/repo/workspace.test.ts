import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createWorkspace, isInside, withWorkspace } from '../../../src/repo/workspace.js';
import type { Workspace } from '../../../src/repo/workspace.js';

let base: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'aip-ws-test-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('repo/workspace createWorkspace', () => {
  it('creates a private directory under the base, named after the job', async () => {
    const workspace = await createWorkspace({ baseDir: join(base, 'a'), jobId: 'job 42/../x' });

    const stats = statSync(workspace.dir);

    expect(stats.isDirectory()).toBe(true);
    expect(stats.mode & 0o777).toBe(0o700);
    expect(dirname(workspace.dir)).toBe(join(base, 'a'));
    expect(basename(workspace.dir)).toMatch(/^job-42-\.\.-x-\w+$/);
    expect(statSync(join(base, 'a')).mode & 0o777).toBe(0o700);
    await workspace.remove();
  });

  it('gives every job its own directory', async () => {
    const first = await createWorkspace({ baseDir: base, jobId: 'same' });
    const second = await createWorkspace({ baseDir: base, jobId: 'same' });

    const dirs = [first.dir, second.dir];

    expect(new Set(dirs).size).toBe(2);
    await Promise.all([first.remove(), second.remove()]);
  });

  it('removes the directory and its contents, and a second remove is harmless', async () => {
    const workspace = await createWorkspace({ baseDir: base });
    await mkdir(join(workspace.dir, 'repo', 'deep'), { recursive: true });
    await writeFile(join(workspace.dir, 'repo', 'deep', 'file.txt'), 'x');

    await Promise.all([workspace.remove(), workspace.remove()]);
    await workspace.remove();

    expect(existsSync(workspace.dir)).toBe(false);
  });

  it('tightens a base directory that others could write to', async () => {
    const loose = join(base, 'loose');
    await mkdir(loose);
    await chmod(loose, 0o777);

    const workspace = await createWorkspace({ baseDir: loose });

    expect(statSync(loose).mode & 0o777).toBe(0o700);
    await workspace.remove();
  });

  it('refuses a base directory that is a symlink', async () => {
    const real = join(base, 'real-base');
    const link = join(base, 'link-base');
    await mkdir(real);
    await symlink(real, link);

    const attempt = createWorkspace({ baseDir: link });

    await expect(attempt).rejects.toThrow(/not a directory/);
  });
});

describe('repo/workspace withWorkspace', () => {
  it('returns what the job returns and removes the workspace', async () => {
    let seen: Workspace | undefined;

    const result = await withWorkspace(
      async (workspace) => {
        seen = workspace;
        await writeFile(join(workspace.dir, 'f'), 'x');
        return 'analysed';
      },
      { baseDir: base },
    );

    expect(result).toBe('analysed');
    expect(seen && existsSync(seen.dir)).toBe(false);
  });

  it('removes the workspace when the job throws, and rethrows', async () => {
    let seen: Workspace | undefined;

    const run = withWorkspace(
      async (workspace) => {
        seen = workspace;
        await writeFile(join(workspace.dir, 'f'), 'x');
        throw new Error('boom');
      },
      { baseDir: base },
    );

    await expect(run).rejects.toThrow('boom');
    expect(seen).toBeDefined();
    expect(existsSync(seen!.dir)).toBe(false);
  });
});

describe('repo/workspace isInside', () => {
  let root: string;
  let outside: string;

  beforeAll(async () => {
    root = await mkdtemp(join(base, 'root-'));
    outside = await mkdtemp(join(base, 'outside-'));
    await mkdir(join(root, 'services', 'api'), { recursive: true });
    await writeFile(join(root, 'services', 'api', 'Dockerfile'), 'FROM scratch\n');
    await mkdir(join(root, '..foo'));
    await writeFile(join(outside, 'secret'), 'x');
    await symlink(outside, join(root, 'escape'));
    await symlink('/etc/passwd', join(root, 'passwd'));
    await symlink('services/api', join(root, 'api-link'));
  });

  it.each([
    ['the root itself', '.', true],
    ['a directory inside', 'services/api', true],
    ['a file inside', 'services/api/Dockerfile', true],
    ['a name starting with two dots', '..foo', true],
    ['a symlink that stays inside', 'api-link/Dockerfile', true],
    ['a parent path', '..', false],
    ['a path climbing out', 'services/../../', false],
    ['a symlink to a directory outside', 'escape/secret', false],
    ['a symlink to a file outside', 'passwd', false],
    ['a path that does not exist', 'services/missing', false],
  ])('%s (%s) → %s', async (_label, candidate, expected) => {
    const inside = await isInside(root, candidate);

    expect(inside).toBe(expected);
  });

  it('accepts absolute candidates', async () => {
    const inside = await isInside(root, join(root, 'services'));
    const escaped = await isInside(root, outside);

    expect(inside).toBe(true);
    expect(escaped).toBe(false);
  });

  it('is false when the root does not exist', async () => {
    const inside = await isInside(join(base, 'nowhere'), '.');

    expect(inside).toBe(false);
  });
});
