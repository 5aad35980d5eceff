/**
 * A read-only view of a checked-out repository: the list of regular files (walked once, never
 * following symlinks) and a guarded reader. Every detector reads through this, so the limits on
 * binary, huge and out-of-tree files hold everywhere.
 */
import {
  closeSync,
  lstatSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import type { Note } from './schema.js';

export interface RepoFile {
  /** Repository-relative, '/'-separated. */
  path: string;
  size: number;
}

export interface TreeLimits {
  /** Files larger than this are listed but never read (noted when a detector asks). */
  maxReadBytes: number;
  /** The walk stops after this many files, with a note. */
  maxFiles: number;
}

export const DEFAULT_TREE_LIMITS: TreeLimits = { maxReadBytes: 1024 * 1024, maxFiles: 200_000 };

/** Directories that hold dependencies or build output, never a service's own sources. */
const SKIPPED_DIRS = new Set([
  '.git',
  'node_modules',
  'bower_components',
  '.venv',
  'venv',
  '__pycache__',
  '.tox',
  '.mypy_cache',
  '.pytest_cache',
  '.gradle',
  '.idea',
  '.next',
  '.nuxt',
  '.terraform',
]);

export interface RepoTree {
  /** Absolute path of the workspace root. */
  root: string;
  /** Regular files, sorted by path. */
  files: RepoFile[];
  /** Total bytes of all listed files. */
  bytes: number;
  /** Number of entries skipped (dependency dirs are not counted; symlinks and limit overflow are). */
  skipped: number;
  notes: Note[];
  /** Whether a file exists in the tree. */
  has(path: string): boolean;
  /** Files directly or indirectly under `dir` ('.' for all). */
  under(dir: string): RepoFile[];
  /**
   * The file's text, or undefined when it is missing, binary or larger than the limit (a note is
   * added once per file). CRLF is normalised to LF.
   */
  read(path: string): string | undefined;
}

const BINARY_SNIFF_BYTES = 8000;

/** Walks `root` once. Never throws for content problems; a missing root is the caller's check. */
export function walkTree(root: string, limits: TreeLimits = DEFAULT_TREE_LIMITS): RepoTree {
  const absRoot = resolve(root);
  const files: RepoFile[] = [];
  const notes: Note[] = [];
  let bytes = 0;
  let skipped = 0;
  let limitHit = false;

  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(join(absRoot, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) stack.push(childRel);
      } else if (entry.isSymbolicLink()) {
        skipped++;
        notes.push(symlinkNote(absRoot, childRel));
      } else if (entry.isFile()) {
        if (files.length >= limits.maxFiles) {
          skipped++;
          limitHit = true;
          continue;
        }
        let size = 0;
        try {
          size = statSync(join(absRoot, childRel)).size;
        } catch {
          continue;
        }
        files.push({ path: childRel, size });
        bytes += size;
      }
    }
  }
  if (limitHit) {
    notes.push({
      code: 'walk-limit',
      message: `Only the first ${limits.maxFiles} files were analysed; ${skipped} entries were skipped.`,
    });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const byPath = new Map(files.map((f) => [f.path, f]));
  const noted = new Set<string>();

  function noteOnce(path: string, note: Note): undefined {
    if (!noted.has(path)) {
      noted.add(path);
      notes.push(note);
    }
    return undefined;
  }

  return {
    root: absRoot,
    files,
    bytes,
    skipped,
    notes,
    has: (path) => byPath.has(normalise(path)),
    under(dir) {
      const d = normalise(dir);
      if (d === '' || d === '.') return files;
      const prefix = `${d}/`;
      return files.filter((f) => f.path.startsWith(prefix));
    },
    read(path) {
      const p = normalise(path);
      const file = byPath.get(p);
      if (!file) return undefined;
      if (file.size > limits.maxReadBytes) {
        return noteOnce(p, {
          code: 'file-too-large',
          path: p,
          message: `Skipped: ${file.size} bytes is over the ${limits.maxReadBytes}-byte limit for files the analysis reads.`,
        });
      }
      let buffer: Buffer;
      try {
        buffer = readBounded(join(absRoot, p), file.size);
      } catch {
        // Listed at walk time but gone or unreadable now: repository content never throws.
        return noteOnce(p, {
          code: 'file-unreadable',
          path: p,
          message: 'Skipped: could not be read.',
        });
      }
      if (buffer.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
        return noteOnce(p, { code: 'file-binary', path: p, message: 'Skipped: binary content.' });
      }
      return buffer.toString('utf8').replace(/\r\n?/g, '\n');
    },
  };
}

function readBounded(absPath: string, size: number): Buffer {
  const fd = openSync(absPath, 'r');
  try {
    const buffer = Buffer.alloc(size);
    let offset = 0;
    while (offset < size) {
      const n = readSync(fd, buffer, offset, size - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

function symlinkNote(absRoot: string, rel: string): Note {
  let target = '';
  try {
    target = readlinkSync(join(absRoot, rel));
  } catch {
    // unreadable link: treat as pointing outside
  }
  const resolved = isAbsolute(target) ? target : resolve(join(absRoot, dirname(rel)), target);
  const inside = target !== '' && (resolved === absRoot || resolved.startsWith(absRoot + sep));
  return inside
    ? {
        code: 'symlink-skipped',
        path: rel,
        message: `Symlink to ${relative(absRoot, resolved) || '.'} not followed.`,
      }
    : {
        code: 'symlink-outside',
        path: rel,
        message: 'Symlink points outside the repository; not followed.',
      };
}

/** Repository-relative '/'-separated path without leading './' or trailing '/'. */
export function normalise(path: string): string {
  const p = posix.normalize(path.split(sep).join('/'));
  return p === '.' ? '' : p.replace(/^\.\//, '').replace(/\/$/, '');
}

/** Directory of a repository-relative path, '.' for the root. */
export function dirOf(path: string): string {
  const d = posix.dirname(normalise(path));
  return d === '' ? '.' : d;
}

/**
 * Reads one repository-relative text file, exactly as written, outside a walk and with the walk's rules: never through a
 * symlink, never outside `root`, never binary or larger than `maxBytes`. Undefined otherwise.
 */
export function readRepoFile(
  root: string,
  path: string,
  maxBytes = DEFAULT_TREE_LIMITS.maxReadBytes,
): string | undefined {
  const rel = normalise(path);
  if (rel === '' || rel.startsWith('../') || rel === '..' || isAbsolute(rel)) return undefined;
  try {
    const absRoot = realpathSync(root);
    const abs = join(absRoot, rel);
    // Every component must be a real directory or file: a symlink anywhere on the way is refused.
    let current = absRoot;
    for (const part of rel.split('/')) {
      current = join(current, part);
      if (lstatSync(current).isSymbolicLink()) return undefined;
    }
    const stats = statSync(abs);
    if (!stats.isFile() || stats.size > maxBytes) return undefined;
    const buffer = readBounded(abs, stats.size);
    if (buffer.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return undefined;
    // As written: in-place patches must keep the file's own line endings.
    return buffer.toString('utf8');
  } catch {
    return undefined;
  }
}
