import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { dirOf, normalise, readRepoFile, walkTree } from '../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

afterAll(removeTempRepos);

describe('repo/tree', () => {
  it('lists regular files sorted, skipping dependency directories', () => {
    const root = tempRepo({
      'b.txt': 'b',
      'a/x.ts': 'x',
      'node_modules/dep/index.js': 'nope',
      '.git/HEAD': 'ref',
      'svc/.venv/lib.py': 'nope',
    });

    const tree = walkTree(root);

    expect(tree.files.map((f) => f.path)).toEqual(['a/x.ts', 'b.txt']);
    expect(tree.bytes).toBe(2);
    expect(tree.under('a').map((f) => f.path)).toEqual(['a/x.ts']);
    expect(tree.has('./a/x.ts')).toBe(true);
  });

  it('normalises CRLF when reading', () => {
    const root = tempRepo({ Dockerfile: 'FROM node:20\r\nEXPOSE 3000\r\n' });

    const text = walkTree(root).read('Dockerfile');

    expect(text).toBe('FROM node:20\nEXPOSE 3000\n');
  });

  it('refuses binary and oversized files once each, with a note', () => {
    const root = tempRepo({
      'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]),
      'big.json': 'x'.repeat(2048),
    });
    const tree = walkTree(root, { maxReadBytes: 1024, maxFiles: 100 });

    const binary = [tree.read('logo.png'), tree.read('logo.png')];
    const big = tree.read('big.json');

    expect(binary).toEqual([undefined, undefined]);
    expect(big).toBeUndefined();
    expect(tree.notes.map((n) => [n.code, n.path])).toEqual([
      ['file-binary', 'logo.png'],
      ['file-too-large', 'big.json'],
    ]);
  });

  it('notes a file that disappeared after the walk instead of throwing', () => {
    const root = tempRepo({ 'gone.txt': 'here for now' });
    const tree = walkTree(root);
    rmSync(join(root, 'gone.txt'));

    const text = tree.read('gone.txt');

    expect(text).toBeUndefined();
    expect(tree.notes).toEqual([
      { code: 'file-unreadable', path: 'gone.txt', message: 'Skipped: could not be read.' },
    ]);
  });

  it('never follows symlinks, and says which point outside', () => {
    const root = tempRepo({ 'real/file.txt': 'inside' });
    const outside = tempRepo({ 'secret.txt': 'outside' });
    symlinkSync(join(outside, 'secret.txt'), join(root, 'leak.txt'));
    symlinkSync(outside, join(root, 'leakdir'));
    symlinkSync('real/file.txt', join(root, 'alias.txt'));
    mkdirSync(join(root, 'loop'));
    symlinkSync('..', join(root, 'loop', 'up'));

    const tree = walkTree(root);

    expect(tree.files.map((f) => f.path)).toEqual(['real/file.txt']);
    expect(tree.read('leak.txt')).toBeUndefined();
    expect(tree.notes.map((n) => [n.code, n.path]).sort()).toEqual([
      ['symlink-outside', 'leak.txt'],
      ['symlink-outside', 'leakdir'],
      ['symlink-skipped', 'alias.txt'],
      ['symlink-skipped', 'loop/up'],
    ]);
  });

  it('stops at the file limit with a note', () => {
    const root = tempRepo(
      Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}.txt`, 'x'])),
    );

    const tree = walkTree(root, { maxReadBytes: 1024, maxFiles: 10 });

    expect(tree.files).toHaveLength(10);
    expect(tree.skipped).toBe(2);
    expect(tree.notes.map((n) => n.code)).toEqual(['walk-limit']);
  });

  it.each([
    ['./a/b/', 'a/b'],
    ['.', ''],
    ['a//b', 'a/b'],
  ])('normalise(%p) = %p', (input, expected) => {
    expect(normalise(input)).toBe(expected);
  });

  it.each([
    ['Dockerfile', '.'],
    ['services/api/Dockerfile', 'services/api'],
  ])('dirOf(%p) = %p', (input, expected) => {
    expect(dirOf(input)).toBe(expected);
  });
});

describe('repo/tree readRepoFile', () => {
  it('reads a file inside the repository exactly as written, CRLF kept', () => {
    const root = tempRepo({ '.github/ai-provision.yml': 'policy:\r\n  max_replicas: 5\r\n' });

    expect(readRepoFile(root, '.github/ai-provision.yml')).toBe('policy:\r\n  max_replicas: 5\r\n');
  });

  it.each([
    ['a missing file', 'nope.yml'],
    ['a path escaping the repository', '../outside.txt'],
    ['an absolute path', '/etc/hostname'],
    ['a symlinked file', 'link.txt'],
    ['a file under a symlinked directory', 'linkdir/secret.txt'],
    ['a binary file', 'bin.dat'],
    ['a file over the size limit', 'big.txt'],
  ])('refuses %s', (_case, path) => {
    const outside = tempRepo({ 'secret.txt': 'secret' });
    const root = tempRepo({ 'bin.dat': Buffer.from([1, 0, 2]), 'big.txt': 'x'.repeat(64) });
    symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
    symlinkSync(outside, join(root, 'linkdir'));

    expect(readRepoFile(root, path, 32)).toBeUndefined();
  });
});
