/**
 * One private directory per job, removed when the job ends. Clones live here and nowhere else,
 * and `isInside` is the containment check for paths a user names inside a checkout.
 */
import { chmod, lstat, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A private (0700) temporary directory that belongs to one job. */
export interface Workspace {
  /** Absolute path; exists until `remove()` resolves. */
  dir: string;
  /** Deletes the directory and everything in it. Safe to call more than once, or concurrently. */
  remove(): Promise<void>;
}

export interface WorkspaceOptions {
  /** Parent of every workspace; default `<os tmpdir>/ai-provision`. Created 0700 when missing. */
  baseDir?: string;
  /** Makes the directory name recognisable in `ls` and logs; sanitised, never trusted as a path. */
  jobId?: string;
}

export function defaultWorkspaceBase(): string {
  return join(tmpdir(), 'ai-provision');
}

/**
 * Creates a fresh workspace. Throws when the base directory cannot be made private (it is a
 * symlink, not a directory, or owned by another user): that is a deployment problem, not input.
 */
export async function createWorkspace(options: WorkspaceOptions = {}): Promise<Workspace> {
  const base = resolve(options.baseDir ?? defaultWorkspaceBase());
  await ensurePrivateBase(base);
  // mkdtemp creates the directory 0700 with a random suffix, so two jobs never share one.
  const dir = await mkdtemp(join(base, `${jobPrefix(options.jobId)}-`));
  await chmod(dir, 0o700);
  let removal: Promise<void> | undefined;
  return {
    dir,
    remove() {
      removal ??= rm(dir, { recursive: true, force: true, maxRetries: 3 });
      return removal;
    },
  };
}

/** Runs `fn` in a new workspace and removes it afterwards, also when `fn` throws. */
export async function withWorkspace<T>(
  fn: (workspace: Workspace) => Promise<T>,
  options: WorkspaceOptions = {},
): Promise<T> {
  const workspace = await createWorkspace(options);
  try {
    return await fn(workspace);
  } finally {
    await workspace.remove();
  }
}

/**
 * Whether `candidate` (absolute, or relative to `root`) really lies inside `root` once every
 * symlink on both paths is resolved. A user-given path such as `services/api` may be a symlink
 * to `/etc`; the lexical path says inside, the real path says outside. False when either path
 * does not exist, so callers report a missing path and an escaping one the same way.
 */
export async function isInside(root: string, candidate: string): Promise<boolean> {
  const realRoot = await realpathOrUndefined(root);
  if (realRoot === undefined) return false;
  const target = isAbsolute(candidate) ? candidate : join(root, candidate);
  const realTarget = await realpathOrUndefined(target);
  if (realTarget === undefined) return false;
  const rel = relative(realRoot, realTarget);
  if (rel === '') return true;
  // '..foo' is a legal name inside the root; only a whole '..' segment leaves it.
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

async function realpathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

function jobPrefix(jobId: string | undefined): string {
  const cleaned = (jobId ?? '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 64);
  return cleaned === '' ? 'job' : cleaned;
}

async function ensurePrivateBase(base: string): Promise<void> {
  await mkdir(base, { recursive: true, mode: 0o700 });
  const stats = await lstat(base);
  if (stats.isSymbolicLink() || !stats.isDirectory()) {
    throw new Error(`Workspace base ${base} is not a directory`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    // Another user could rename our job directories away and plant symlinks in their place.
    throw new Error(`Workspace base ${base} is owned by uid ${stats.uid}, not by this process`);
  }
  if ((stats.mode & 0o077) !== 0) await chmod(base, 0o700);
}
