/**
 * Docker Compose files → ComposeServiceFacts. Every compose file in the tree is read on its own:
 * when the same service appears in several files (docker-compose.yml plus docker-compose.prod.yml),
 * there is one entry per file and the caller decides how they combine (find-services prefers the
 * base file, manifests keeps each file's resources). Environment values are never kept: only keys,
 * and for classification the URL scheme of a value (see ComposeService).
 */
import { posix } from 'node:path';
import { parseDocument } from 'yaml';
import { bytes, millicoresFromCpuQuantity } from '../units.js';
import type { Bytes } from '../units.js';
import type { ComposeServiceFacts, CpuMemory, Note, ResourceSettings } from './schema.js';
import { dirOf, normalise } from './tree.js';
import type { RepoTree } from './tree.js';

/**
 * ComposeServiceFacts plus what dependency detection needs from environment values: the URL scheme
 * per key ({DATABASE_URL: 'postgres'}), never the value. Not part of RepoFacts (RepoFacts.parse
 * strips it); computed here so that no later stage parses a compose file again per service.
 */
export interface ComposeService extends ComposeServiceFacts {
  environmentSchemes: Record<string, string>;
}

export interface ComposeReadResult {
  /** One entry per service per compose file, files in path order, services in file order. */
  services: ComposeService[];
  notes: Note[];
}

/** One KEY=value line of an env file; the value is for classification only, never for output. */
export interface EnvEntry {
  key: string;
  value: string;
  /** 1-based line number. */
  line: number;
}

type YamlMap = Record<string, unknown>;

const COMPOSE_FILE = /^(?:docker-)?compose(?:\.(?<variant>[\w.-]+))?\.ya?ml$/;
const BASE_COMPOSE_FILES = new Set([
  'compose.yaml',
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
]);
/** Git URLs and remote tarballs: built from elsewhere, not from this repository. */
const REMOTE_CONTEXT = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/)/i;
const INTERPOLATION = /\$\{(?<name>\w+)(?:(?<op>:?-)(?<fallback>[^}]*))?\}/g;
const ENV_LINE = /^\s*(?:export\s+)?(?<key>[A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?<value>.*)$/;
const URL_SCHEME = /^(?:jdbc:)?(?<scheme>[a-z][a-z0-9+.-]*):\/\//i;
const CONTAINER_PORT = /^(?<port>\d+)(?:-\d+)?$/;
const COMPOSE_MEMORY = /^(?<num>\d+(?:\.\d+)?)\s*(?<unit>[bkmgt])?(?:ib|i|b)?$/i;
const BINARY_POWER: Record<string, number> = { b: 0, k: 1, m: 2, g: 3, t: 4 };

/**
 * Directories whose Dockerfiles, compose files and Procfiles are not services of the repository:
 * vendored code, test fixtures, dev containers and GitHub container actions.
 */
const IGNORED_DIRS = new Set([
  'testdata',
  'fixtures',
  '__fixtures__',
  'node_modules',
  'vendor',
  '.devcontainer',
  '.github',
]);

/** Whether a path lies in a directory that never holds services (vendored code, test fixtures). */
export function isIgnoredPath(path: string): boolean {
  const segments = path.split('/');
  for (let i = 0; i < segments.length - 1; i++) {
    if (IGNORED_DIRS.has(segments[i]!)) return true;
  }
  return false;
}

/** Whether a file name is a compose file: compose.yaml, docker-compose.yml, docker-compose.prod.yml, … */
export function isComposeFileName(basename: string): boolean {
  return COMPOSE_FILE.test(basename);
}

/** 0 for a base compose file, 1 for an override file, 2 for other variants (prod, dev, …). */
export function composeFileRank(path: string): number {
  const base = posix.basename(path);
  if (BASE_COMPOSE_FILES.has(base)) return 0;
  return /\.override\.ya?ml$/.test(base) ? 1 : 2;
}

/** Reads every compose file in the tree (outside vendored and fixture directories). Never throws. */
export function readComposeFiles(tree: RepoTree): ComposeReadResult {
  const services: ComposeService[] = [];
  const notes: Note[] = [];
  for (const file of tree.files) {
    if (!isComposeFileName(posix.basename(file.path)) || isIgnoredPath(file.path)) continue;
    const parsed = parseComposeFile(tree, file.path, notes);
    if (parsed === undefined) continue;
    for (const [name, raw] of parsed) {
      services.push(serviceFacts(tree, file.path, name, raw));
    }
  }
  return { services, notes };
}

/** KEY=value lines of a .env file; comments, blanks and malformed lines are skipped. */
export function parseEnvFile(text: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trimStart().startsWith('#')) continue;
    const match = ENV_LINE.exec(line);
    if (!match?.groups) continue;
    entries.push({ key: match.groups.key!, value: unquote(match.groups.value!), line: index + 1 });
  }
  return entries;
}

/** "postgres://u:p@db/app" → "postgres"; "jdbc:mysql://…" → "mysql"; not a URL → undefined. */
export function urlScheme(value: string): string | undefined {
  return URL_SCHEME.exec(unquote(value))?.groups?.scheme?.toLowerCase();
}

/**
 * Compose memory ("512M", "1.5g", "256mb", 1073741824) → bytes. Compose units b/k/m/g are binary,
 * so 512M is 512 MiB, unlike Kubernetes where 512M is 512 × 10^6.
 */
export function bytesFromComposeMemory(value: unknown): Bytes | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? bytes(Math.round(value)) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = COMPOSE_MEMORY.exec(withDefaults(value)?.trim() ?? '');
  if (!match?.groups) return undefined;
  const power = BINARY_POWER[(match.groups.unit ?? 'b').toLowerCase()] ?? 0;
  return bytes(Math.round(Number(match.groups.num) * 1024 ** power));
}

/** Parses one compose file into [name, definition] pairs; undefined (with a note) when unusable. */
function parseComposeFile(
  tree: RepoTree,
  path: string,
  notes: Note[],
): [string, YamlMap][] | undefined {
  const text = tree.read(path);
  // Binary or oversized: the tree has already noted it.
  if (text === undefined) return undefined;
  const invalid = (message: string): undefined => {
    notes.push({ code: 'compose-invalid', path, message });
    return undefined;
  };

  const doc = parseDocument(text, { merge: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const line = error.linePos?.[0].line;
    const where = line === undefined ? '' : ` at line ${line}`;
    // The parser repeats the position at the end of its first line; the note says it once.
    const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    return invalid(`Invalid YAML${where}: ${reason}`);
  }
  let root: unknown;
  try {
    // Aliases can expand exponentially ("billion laughs"); the limit makes toJS throw instead.
    root = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    return invalid(`Unusable YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isMap(root)) return invalid('A compose file must be a mapping with a `services` key.');

  const entries = serviceEntries(root);
  if (entries === undefined) return invalid('`services` must be a mapping of service names.');
  const usable: [string, YamlMap][] = [];
  for (const [name, raw] of entries) {
    if (isMap(raw)) usable.push([name, raw]);
    else
      notes.push({
        code: 'compose-invalid',
        path,
        message: `Service "${name}" is not a mapping; skipped.`,
      });
  }
  return usable;
}

function serviceEntries(root: YamlMap): [string, unknown][] | undefined {
  if ('services' in root) {
    const services = root.services;
    if (services === null || services === undefined) return [];
    return isMap(services)
      ? Object.entries(services).filter(([name]) => !name.startsWith('x-'))
      : undefined;
  }
  // Compose file format v1 has no `services` key: services sit at the top level.
  return Object.entries(root).filter(
    ([name, value]) =>
      !name.startsWith('x-') && isMap(value) && ('image' in value || 'build' in value),
  );
}

function serviceFacts(tree: RepoTree, file: string, service: string, raw: YamlMap): ComposeService {
  const dir = dirOf(file);
  const environment = environmentEntries(tree, dir, raw);
  const environmentSchemes: Record<string, string> = {};
  for (const { key, value } of environment) {
    const scheme = value === undefined ? undefined : urlScheme(value);
    if (scheme !== undefined) environmentSchemes[key] ??= scheme;
  }
  const facts: ComposeService = {
    file,
    service,
    ports: containerPorts(raw),
    dependsOn: dependsOn(raw),
    environmentKeys: unique(environment.map((e) => e.key)),
    environmentSchemes,
  };
  if (typeof raw.image === 'string' && raw.image.trim() !== '') facts.image = raw.image.trim();
  const build = buildTarget(tree, dir, raw.build);
  if (build.context !== undefined) facts.buildContext = build.context;
  if (build.dockerfile !== undefined) facts.dockerfile = build.dockerfile;
  const replicas =
    intFrom(isMap(raw.deploy) ? raw.deploy.replicas : undefined) ?? intFrom(raw.scale);
  if (replicas !== undefined) facts.replicas = replicas;
  const resources = resourceSettings(raw);
  if (resources !== undefined) facts.resources = resources;
  return facts;
}

/** Build context and Dockerfile as repository-relative paths; empty when remote or outside. */
function buildTarget(
  tree: RepoTree,
  composeDir: string,
  build: unknown,
): { context?: string; dockerfile?: string } {
  if (build === undefined || build === null) return {};
  const spec = isMap(build) ? build : { context: build };
  const rawContext = spec.context ?? '.';
  if (typeof rawContext !== 'string' || REMOTE_CONTEXT.test(rawContext)) return {};
  const context = resolveInRepo(composeDir, rawContext);
  if (context === undefined) return {};
  if (typeof spec.dockerfile === 'string' && spec.dockerfile.trim() !== '') {
    return { context, dockerfile: resolveInRepo(context, spec.dockerfile) };
  }
  // An inline Dockerfile has no file to point at.
  if (spec.dockerfile_inline !== undefined) return { context };
  const candidates = ['Dockerfile', 'Containerfile'].map((name) => joinRepo(context, name));
  return { context, dockerfile: candidates.find((c) => tree.has(c)) ?? candidates[0] };
}

/** Joins a relative path onto a repository directory; undefined when it leaves the repository. */
function resolveInRepo(baseDir: string, relative: string): string | undefined {
  const expanded = withDefaults(relative.trim());
  if (expanded === undefined || expanded === '' || posix.isAbsolute(expanded)) return undefined;
  const joined = normalise(posix.join(baseDir, expanded));
  if (joined === '..' || joined.startsWith('../')) return undefined;
  return joined === '' ? '.' : joined;
}

function joinRepo(dir: string, name: string): string {
  return dir === '.' ? name : `${dir}/${name}`;
}

/** Substitutes `${VAR:-default}` with its default; undefined when a variable has none. */
function withDefaults(value: string): string | undefined {
  let unresolved = false;
  const out = value.replace(INTERPOLATION, (...args: unknown[]) => {
    const groups = args.at(-1) as { op?: string; fallback?: string };
    if (groups.op === undefined) unresolved = true;
    return groups.fallback ?? '';
  });
  return unresolved ? undefined : out;
}

/** Container-side ports of `ports` (short and long syntax) and `expose`, first of a range. */
function containerPorts(raw: YamlMap): number[] {
  const ports: number[] = [];
  const add = (port: number | undefined): void => {
    if (port !== undefined && port > 0 && port <= 65535 && !ports.includes(port)) ports.push(port);
  };
  for (const entry of asArray(raw.ports)) {
    if (isMap(entry)) add(portNumber(entry.target));
    else add(portNumber(entry, true));
  }
  for (const entry of asArray(raw.expose)) add(portNumber(entry));
  return ports;
}

/** 80, "80", "8080:80", "127.0.0.1:8080:80/tcp", "9000-9001:8000-8001" → container port. */
function portNumber(value: unknown, mapping = false): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const spec = withDefaults(value.trim())?.replace(/\/\w+$/, '');
  if (spec === undefined) return undefined;
  const container = mapping ? spec.slice(spec.lastIndexOf(':') + 1) : spec;
  const match = CONTAINER_PORT.exec(container);
  return match?.groups ? Number(match.groups.port) : undefined;
}

function dependsOn(raw: YamlMap): string[] {
  const names = isMap(raw.depends_on)
    ? Object.keys(raw.depends_on)
    : asArray(raw.depends_on).filter((d): d is string => typeof d === 'string');
  // Legacy links ("db:database") also start the linked service first.
  const links = asArray(raw.links)
    .filter((l): l is string => typeof l === 'string')
    .map((l) => l.split(':')[0]!);
  return unique([...names, ...links].map((n) => n.trim()).filter((n) => n !== ''));
}

/** `environment` (list or map) then `env_file` entries; values undefined when not given inline. */
function environmentEntries(
  tree: RepoTree,
  composeDir: string,
  raw: YamlMap,
): { key: string; value: string | undefined }[] {
  const entries: { key: string; value: string | undefined }[] = [];
  const env = raw.environment;
  if (isMap(env)) {
    for (const [key, value] of Object.entries(env)) {
      entries.push({
        key,
        value: value === null || value === undefined ? undefined : String(value),
      });
    }
  } else {
    for (const item of asArray(env)) {
      if (typeof item !== 'string') continue;
      const eq = item.indexOf('=');
      const key = (eq < 0 ? item : item.slice(0, eq)).trim();
      if (key !== '') entries.push({ key, value: eq < 0 ? undefined : item.slice(eq + 1) });
    }
  }
  for (const envFile of envFilePaths(composeDir, raw.env_file)) {
    const text = tree.read(envFile);
    if (text === undefined) continue;
    for (const { key, value } of parseEnvFile(text)) entries.push({ key, value });
  }
  return entries;
}

function envFilePaths(composeDir: string, value: unknown): string[] {
  const paths: string[] = [];
  for (const item of typeof value === 'string' ? [value] : asArray(value)) {
    const path = typeof item === 'string' ? item : isMap(item) ? item.path : undefined;
    if (typeof path !== 'string') continue;
    const resolved = resolveInRepo(composeDir, path);
    if (resolved !== undefined) paths.push(resolved);
  }
  return paths;
}

/** deploy.resources first, legacy service-level `cpus`/`mem_limit`/`mem_reservation` as fallback. */
function resourceSettings(raw: YamlMap): ResourceSettings | undefined {
  const deploy = isMap(raw.deploy) ? raw.deploy : {};
  const resources = isMap(deploy.resources) ? deploy.resources : {};
  const limits = cpuMemory(resources.limits, raw.cpus, raw.mem_limit);
  const requests = cpuMemory(resources.reservations, undefined, raw.mem_reservation);
  if (limits === undefined && requests === undefined) return undefined;
  const settings: ResourceSettings = {};
  if (requests !== undefined) settings.requests = requests;
  if (limits !== undefined) settings.limits = limits;
  return settings;
}

function cpuMemory(
  block: unknown,
  legacyCpus: unknown,
  legacyMemory: unknown,
): CpuMemory | undefined {
  const spec = isMap(block) ? block : {};
  const cpu = cpuFrom(spec.cpus) ?? cpuFrom(legacyCpus);
  const memory = bytesFromComposeMemory(spec.memory) ?? bytesFromComposeMemory(legacyMemory);
  if (cpu === undefined && memory === undefined) return undefined;
  const out: CpuMemory = {};
  if (cpu !== undefined) out.cpu = cpu;
  if (memory !== undefined) out.memory = memory;
  return out;
}

function cpuFrom(value: unknown): number | undefined {
  if (typeof value === 'number') return millicoresFromCpuQuantity(value);
  if (typeof value !== 'string') return undefined;
  const expanded = withDefaults(value);
  return expanded === undefined ? undefined : millicoresFromCpuQuantity(expanded);
}

function intFrom(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(withDefaults(value.trim()) ?? NaN) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  const match = /^(?<quote>["'])(?<inner>.*)\k<quote>$/.exec(trimmed);
  return match?.groups ? match.groups.inner! : trimmed.replace(/\s+#.*$/, '');
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
