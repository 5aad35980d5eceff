/**
 * The contract every stack detector implements, and the small helpers they share: finding a
 * service's manifests in one pass over its file list, reading them without ever throwing, and
 * turning version ranges into the first concrete version. Detectors read only manifests and pin
 * files, never every source file: source files are only counted.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parse as parseToml } from 'smol-toml';
import type { Framework, Language } from '../schema.js';
import type { RepoFile, RepoTree } from '../tree.js';
import { dirOf, normalise } from '../tree.js';

export interface DetectorInput {
  tree: RepoTree;
  /** The service directory, repository-relative ('.' for the root). */
  dir: string;
  /** Files under `dir`. Leaving out nested services' directories is the caller's job. */
  files: RepoFile[];
}

export interface Runtime {
  name: string;
  version?: string;
}

export type FrameworkKind = Framework['kind'];

/** What one detector learned about a service. Fields it has no evidence for stay undefined. */
export interface DetectorResult {
  /**
   * The detector's main language. Undefined for detectors that only contribute frameworks (for
   * example .proto service definitions, which say nothing about the implementation language).
   */
  language?: Language;
  /** Further languages this detector saw (java beside kotlin, c beside cpp). */
  otherLanguages: Language[];
  runtime?: Runtime;
  packageManager?: string;
  frameworks: Framework[];
  /** Repository-relative paths, optionally with ":line", that justify the facts. */
  evidence: string[];
  /**
   * Directory depth, below the service directory, of the shallowest manifest or marker file that
   * named this stack (0 = at the service root). Undefined when only source files were seen.
   */
  manifestDepth?: number;
  /** Number of source files of this detector's languages; used only to rank detectors. */
  sourceFiles: number;
}

/** Detectors must never throw on repository content: unreadable or invalid files are no evidence. */
export interface StackDetector {
  id: string;
  detect(input: DetectorInput): DetectorResult | undefined;
}

/**
 * Directories that hold dependencies, build output, vendored code or test data rather than the
 * service's own manifests (PHP and Ruby vendor trees and Elixir `deps/` are full of other projects'
 * composer.json, Gemfiles and mix.exs files).
 */
const IGNORED_DIRS = new Set([
  'node_modules',
  'vendor',
  'target',
  'build',
  'dist',
  'out',
  'obj',
  'bin',
  '_build',
  'deps',
  '.bundle',
  'testdata',
  'fixtures',
  '__fixtures__',
  'examples',
  'third_party',
  'third-party',
]);

export interface FoundFile {
  /** Repository-relative path. */
  path: string;
  /** Base name. */
  name: string;
  /** Number of directories between the service directory and the file (0 = at its root). */
  depth: number;
}

/**
 * One pass over the service's files: `classify` gets each base name (and the path relative to the
 * service directory) and returns a group key or undefined. Files under ignored directories are dropped. Each group is ordered by depth, then
 * path, so `[0]` is always the shallowest.
 */
export function groupFiles<K extends string>(
  input: DetectorInput,
  classify: (name: string, rel: string) => K | undefined,
): Map<K, FoundFile[]> {
  const base = normalise(input.dir);
  const prefix = base === '' ? '' : `${base}/`;
  const groups = new Map<K, FoundFile[]>();
  for (const file of input.files) {
    const slash = file.path.lastIndexOf('/');
    const name = file.path.slice(slash + 1);
    const rel = file.path.startsWith(prefix) ? file.path.slice(prefix.length) : file.path;
    const key = classify(name, rel);
    if (key === undefined) continue;
    const parts = rel.split('/');
    parts.pop();
    if (parts.some((part) => IGNORED_DIRS.has(part))) continue;
    const found: FoundFile = { path: file.path, name, depth: parts.length };
    const list = groups.get(key);
    if (list) list.push(found);
    else groups.set(key, [found]);
  }
  for (const list of groups.values()) {
    list.sort((a, b) => a.depth - b.depth || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  return groups;
}

/** The lowest depth among the given groups, or undefined when they are all empty. */
export function shallowest(...lists: (FoundFile[] | undefined)[]): number | undefined {
  let best: number | undefined;
  for (const list of lists) {
    const depth = list?.[0]?.depth;
    if (depth !== undefined && (best === undefined || depth < best)) best = depth;
  }
  return best;
}

/** Base-name extension without the dot, lower-cased ("main.go" → "go", "Makefile" → ""). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/**
 * The first of `names` found in `startDir` or any directory above it, up to the repository root.
 * Pin files (.nvmrc, .python-version) and lockfiles often live at a monorepo's root.
 */
export function findUp(
  tree: RepoTree,
  startDir: string,
  names: readonly string[],
): string | undefined {
  let dir = normalise(startDir);
  for (;;) {
    for (const name of names) {
      const path = dir === '' ? name : `${dir}/${name}`;
      if (tree.has(path)) return path;
    }
    if (dir === '') return undefined;
    const parent = dirOf(dir);
    dir = parent === '.' ? '' : parent;
  }
}

/** A manifest read and parsed: its text (for line numbers) and its top-level object. */
export interface ParsedFile {
  path: string;
  text: string;
  data: Record<string, unknown>;
}

/** Parsed JSON object, or undefined when the file is unreadable, invalid or not an object. */
export function readJson(tree: RepoTree, path: string): ParsedFile | undefined {
  return readParsed(tree, path, (text) => JSON.parse(text) as unknown);
}

/** Parsed TOML table, or undefined when the file is unreadable or invalid. */
export function readToml(tree: RepoTree, path: string): ParsedFile | undefined {
  return readParsed(tree, path, parseToml);
}

/**
 * Parsed XML document, or undefined when the file is unreadable or not well-formed. Values stay
 * strings ("1.10" must not become 1.1); attributes are prefixed "@_".
 */
export function readXml(tree: RepoTree, path: string): ParsedFile | undefined {
  return readParsed(tree, path, (text) => {
    if (XMLValidator.validate(text) !== true) return undefined;
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      parseTagValue: false,
      parseAttributeValue: false,
    });
    return parser.parse(text) as unknown;
  });
}

function readParsed(
  tree: RepoTree,
  path: string,
  parse: (text: string) => unknown,
): ParsedFile | undefined {
  const text = tree.read(path);
  if (text === undefined) return undefined;
  let data: Record<string, unknown> | undefined;
  try {
    data = asRecord(parse(text));
  } catch {
    // fall through: invalid content is no evidence, never an error
  }
  if (data) return { path, text, data };
  noteInvalid(tree, path);
  return undefined;
}

/** Notes (once per file) that a manifest could not be parsed and was ignored. */
function noteInvalid(tree: RepoTree, path: string): void {
  if (tree.notes.some((n) => n.code === 'manifest-invalid' && n.path === path)) return;
  tree.notes.push({
    code: 'manifest-invalid',
    path,
    message: 'Could not be parsed; ignored as evidence of the language and frameworks.',
  });
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  return undefined;
}

/** XML and TOML give one element or a list of them; always a list. */
export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The first concrete version in a version spec: "^4.18.2" → "4.18.2", ">=3.11,<4" → "3.11",
 * "~> 1.16" → "1.16", "v1.9.1" → "1.9.1". Undefined for "*", "latest", tags and protocol specs
 * ("workspace:*", "npm:…", "git+https:…", "file:…"), which name no version.
 */
export function concreteVersion(spec: string | undefined): string | undefined {
  if (spec === undefined) return undefined;
  const trimmed = spec.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return undefined;
  const match = /(?<![\w.])v?(?<version>\d+(?:\.\d+){0,3}(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?)/.exec(
    trimmed,
  );
  return match?.groups?.version;
}

/** 1-based line of the first match of `pattern` in `text`, or undefined. */
export function lineOf(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  if (!match) return undefined;
  return lineAt(text, match.index);
}

/** 1-based line of a character offset. */
export function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** "path:line" when the line is known, else "path". */
export function evidenceAt(path: string, line: number | undefined): string {
  return line === undefined ? path : `${path}:${line}`;
}

/** Escapes a literal for use inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface FrameworkSpec {
  name: string;
  kind: FrameworkKind;
}

/**
 * Adds a framework unless one of that name is already listed; a later sighting only fills in a
 * version the first one lacked.
 */
export function addFramework(
  list: Framework[],
  spec: FrameworkSpec,
  version: string | undefined,
  evidence: string,
): void {
  const existing = list.find((f) => f.name === spec.name);
  if (existing) {
    if (existing.version === undefined && version !== undefined) existing.version = version;
    return;
  }
  list.push(
    version === undefined
      ? { name: spec.name, kind: spec.kind, evidence }
      : { name: spec.name, kind: spec.kind, version, evidence },
  );
}

/**
 * The version pinned for `tool` in an asdf/mise `.tool-versions` file ("nodejs 20.11.0"), or
 * undefined. `names` lists the tool's spellings.
 */
export function toolVersion(text: string, names: readonly string[]): string | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*(?<tool>[\w-]+)\s+(?<version>\S+)/.exec(line);
    if (match?.groups && names.includes(match.groups.tool ?? '')) {
      return concreteVersion(match.groups.version);
    }
  }
  return undefined;
}

/**
 * Runtime version from the nearest pin file in or above `startDir` (nearer directories first, then
 * the order of `files`). `.tool-versions` is read through `toolNames`; other pin files hold just
 * a version ("v20.11.0", "python-3.12.1").
 */
export function pinnedVersion(
  tree: RepoTree,
  startDir: string,
  files: readonly string[],
  toolNames: readonly string[],
): { version: string; evidence: string } | undefined {
  let dir = normalise(startDir);
  for (;;) {
    for (const name of files) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const text = tree.has(path) ? tree.read(path) : undefined;
      if (text === undefined) continue;
      const version =
        name === '.tool-versions'
          ? toolVersion(text, toolNames)
          : concreteVersion(text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')));
      if (version !== undefined) return { version, evidence: path };
    }
    if (dir === '') return undefined;
    const parent = dirOf(dir);
    dir = parent === '.' ? '' : parent;
  }
}

/** Appends items not already present, keeping first-seen order. */
export function pushUnique<T>(list: T[], ...items: T[]): void {
  for (const item of items) if (!list.includes(item)) list.push(item);
}
