/**
 * HTTP endpoints from route definitions, by regex over source text (repository code is never run).
 * This is the only part of the analysis that reads source files, so it is the one that must stay
 * cheap on a 20,000-file monorepo: only files a detected framework can route from are read, tests,
 * vendored, generated and minified files are skipped, a cheap substring check comes before any
 * regex, and the files read and endpoints kept per service are capped.
 */
import type { Endpoint } from './schema.js';
import { HTTP_METHODS } from './schema.js';
import type { RepoFile, RepoTree } from './tree.js';
import { normalise } from './tree.js';
import type { EndpointExtractor, FoundRoute, Mount, SourceFile } from './endpoints/extractor.js';
import { ENDPOINT_EXTRACTORS } from './endpoints/registry.js';
import type { Syntax } from './endpoints/text.js';
import { bracketPairs, joinPath, stripComments } from './endpoints/text.js';

export interface EndpointLimits {
  /** Source files read per service; route-looking files are read first. */
  maxFiles: number;
  /** Endpoints kept per service, after sorting. */
  maxEndpoints: number;
  /** Larger files are never route definitions worth the read. */
  maxFileBytes: number;
}

export const DEFAULT_ENDPOINT_LIMITS: EndpointLimits = {
  maxFiles: 400,
  maxEndpoints: 200,
  maxFileBytes: 256 * 1024,
};

export interface EndpointScan {
  /** Deduplicated by method and path, sorted by path then method (in HTTP_METHODS order). */
  endpoints: Endpoint[];
  /** A cap on files read or endpoints kept was hit, so the list is incomplete. */
  truncated: boolean;
}

/**
 * Endpoints of the service in `dir`, for the frameworks the stack detector found (canonical names;
 * unknown ones are ignored). `files` defaults to every file under `dir`; pass the list without
 * nested services. Prefixes are resolved within a file and across files where a router is imported
 * and mounted (Express/Fastify, FastAPI/Flask, Django `include`). Evidence is
 * "repo/relative/path:line" (1-based). Never throws on repository content.
 */
export function findEndpoints(
  tree: RepoTree,
  dir: string,
  frameworks: readonly string[],
  files: RepoFile[] = tree.under(dir),
  limits: EndpointLimits = DEFAULT_ENDPOINT_LIMITS,
): EndpointScan {
  const extractors = [
    ...new Set(frameworks.map((name) => ENDPOINT_EXTRACTORS.get(name)).filter(isDefined)),
  ];
  if (extractors.length === 0) return { endpoints: [], truncated: false };

  const base = normalise(dir);
  const candidates: Candidate[] = [];
  for (const file of files) {
    if (file.size > limits.maxFileBytes) continue;
    if (base !== '' && !file.path.startsWith(`${base}/`)) continue;
    const local = base === '' ? file.path : file.path.slice(base.length + 1);
    if (isSkippedSource(local)) continue;
    const accepting = extractors.filter((e) => e.accepts(local));
    if (accepting.length > 0) candidates.push({ file, local, extractors: accepting });
  }
  let truncated = candidates.length > limits.maxFiles;
  const selected = truncated ? mostRouteLike(candidates).slice(0, limits.maxFiles) : candidates;

  const found: Array<{ source: SourceFile; routes: FoundRoute[] }> = [];
  const mounts: MountFrom[] = [];
  for (const candidate of selected) {
    const text = readQuietly(tree, candidate.file.path);
    if (text === undefined || looksGenerated(text)) continue;
    const source = sourceFile(candidate.file.path, candidate.local, text);
    for (const extractor of candidate.extractors) {
      if (extractor.mounts?.markers.some((m) => text.includes(m))) {
        const finder = extractor.mounts;
        const fileMounts = quietly(() => finder.find(source), []);
        for (const mount of fileMounts) mounts.push({ from: source.local, ...mount });
      }
      if (extractor.markers.length > 0 && !extractor.markers.some((m) => text.includes(m))) {
        continue;
      }
      if (extractor.probe && !extractor.probe.test(text)) continue;
      const routes = quietly(() => extractor.extract(source), []);
      if (routes.length > 0) found.push({ source, routes });
    }
  }

  const prefixes = resolveMounts(mounts, new Set(selected.map((c) => c.local)));
  const byKey = new Map<string, Endpoint>();
  for (const { source, routes } of found) {
    for (const prefix of prefixes.get(source.local) ?? [[]]) {
      for (const route of routes) {
        const path = prefix.length > 0 ? joinPath(...prefix, route.path) : route.path;
        const key = `${route.method} ${path}`;
        if (byKey.has(key)) continue;
        byKey.set(key, { method: route.method, path, evidence: `${source.path}:${route.line}` });
      }
    }
  }
  const endpoints = [...byKey.values()].sort(byPathThenMethod);
  if (endpoints.length > limits.maxEndpoints) truncated = true;
  return { endpoints: endpoints.slice(0, limits.maxEndpoints), truncated };
}

interface Candidate {
  file: RepoFile;
  local: string;
  extractors: EndpointExtractor[];
}

/** A file that vanished or is unreadable (permissions) since the walk is no route file. */
function readQuietly(tree: RepoTree, path: string): string | undefined {
  return quietly(() => tree.read(path), undefined);
}

/**
 * Extractors are regex scans that should never throw; should one trip on strange content anyway,
 * that file contributes nothing rather than failing the whole analysis.
 */
function quietly<T>(run: () => T, fallback: T): T {
  try {
    return run();
  } catch {
    return fallback;
  }
}

interface MountFrom extends Mount {
  /** Service-relative path of the file that mounts. */
  from: string;
}

/** Mounts followed this deep at most; deeper chains (or cycles) keep the prefixes found so far. */
const MAX_MOUNT_DEPTH = 8;
/** A router mounted under many prefixes keeps the first few. */
const MAX_PREFIXES_PER_FILE = 8;

/**
 * Service-relative file → the prefixes its routes are served under, following mounts across
 * files (server.ts mounts api.ts at /api, which mounts users.ts at /users). Files nobody mounts are
 * absent, meaning "as written".
 */
function resolveMounts(mounts: MountFrom[], files: Set<string>): Map<string, string[][]> {
  const incoming = new Map<string, Array<{ from: string; prefix: string[] }>>();
  for (const { from, candidates, prefix } of mounts) {
    const target = candidates.find((c) => files.has(c));
    if (target === undefined || target === from) continue;
    incoming.set(target, [...(incoming.get(target) ?? []), { from, prefix }]);
  }
  const resolved = new Map<string, string[][]>();

  function prefixesOf(local: string, depth: number): string[][] {
    const known = resolved.get(local);
    if (known) return known;
    const sources = incoming.get(local);
    if (!sources || depth > MAX_MOUNT_DEPTH) return [[]];
    resolved.set(local, [[]]); // a cycle back here sees no prefix
    const result: string[][] = [];
    for (const { from, prefix } of sources) {
      for (const outer of prefixesOf(from, depth + 1)) result.push([...outer, ...prefix]);
    }
    const capped = result.slice(0, MAX_PREFIXES_PER_FILE);
    resolved.set(local, capped);
    return capped;
  }

  for (const local of incoming.keys()) prefixesOf(local, 0);
  return resolved;
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/**
 * Directories that hold tests, fixtures, vendored or generated code, build output or static
 * assets: never the service's own route definitions.
 */
const SKIPPED_DIRS = new Set([
  'test',
  'tests',
  '__tests__',
  '__test__',
  'spec',
  'specs',
  '__mocks__',
  'mocks',
  'fixtures',
  '__fixtures__',
  'testdata',
  'test-data',
  'testfixtures',
  'integrationtest',
  'e2e',
  'cypress',
  'playwright',
  'vendor',
  'vendors',
  'third_party',
  'third-party',
  'thirdparty',
  'external',
  'generated',
  '__generated__',
  'gen',
  'dist',
  'build',
  'out',
  'target',
  'obj',
  'coverage',
  'public',
  'static',
  'assets',
  'site-packages',
  'node_modules',
  'migrations',
  'docs',
  'examples',
  'samples',
  'storybook',
  '.storybook',
]);

const SKIPPED_FILE =
  /(?:\.(?:test|spec|e2e-spec|e2e|stories|story)\.[cm]?[jt]sx?|\.d\.[cm]?ts|\.min\.[cm]?js|\.bundle\.js|\.chunk\.js|_test\.go|\.pb(?:\.gw)?\.go|_gen\.go|(?:^|\/)test_[^/]*\.py|_tests?\.py|(?:^|\/)conftest\.py|_pb2(?:_grpc)?\.py|(?:Tests?|IT|Spec)\.(?:java|kt|cs)|\.(?:designer|g|generated)\.\w+|_(?:spec|test)\.rb|_test\.exs|Test\.php)$/;

/** Tests, fixtures, vendored, generated and minified files, by service-relative path. */
export function isSkippedSource(local: string): boolean {
  if (SKIPPED_FILE.test(local)) return true;
  const segments = local.split('/');
  for (let i = 0; i < segments.length - 1; i++) {
    if (SKIPPED_DIRS.has((segments[i] ?? '').toLowerCase())) return true;
  }
  return false;
}

/** Minified bundles and files stamped as generated, judged from the first few KiB. */
function looksGenerated(text: string): boolean {
  const head = text.slice(0, 4000);
  if (/Code generated .* DO NOT EDIT|@generated|<auto-generated/.test(head.slice(0, 600)))
    return true;
  // Hand-written code has dozens of lines in 4 KiB; a bundle has one or two.
  let lines = 0;
  for (let i = head.indexOf('\n'); i >= 0 && lines < 8; i = head.indexOf('\n', i + 1)) lines++;
  return text.length > 4000 && lines < 8;
}

const ROUTE_LIKE =
  /(?:rout|url|controller|endpoint|handler|api|server|app|main|view|resource|web|http|service)/i;

/** Candidates with route-looking names first, otherwise in path order. */
function mostRouteLike(candidates: Candidate[]): Candidate[] {
  const first: Candidate[] = [];
  const rest: Candidate[] = [];
  for (const c of candidates) (ROUTE_LIKE.test(c.local) ? first : rest).push(c);
  return [...first, ...rest];
}

function sourceFile(path: string, local: string, text: string): SourceFile {
  const stripped = new Map<string, string>();
  const pairs = new Map<string, Map<number, number>>();
  let lineStarts: number[] | undefined;

  function memo(key: string, make: () => string): string {
    let value = stripped.get(key);
    if (value === undefined) {
      value = make();
      stripped.set(key, value);
    }
    return value;
  }
  function code(syntax: Syntax): string {
    return memo(syntax.id, () => stripComments(text, syntax));
  }
  function masked(syntax: Syntax): string {
    return memo(`${syntax.id}/masked`, () => stripComments(text, syntax, true));
  }
  function closing(syntax: Syntax, open: number): number {
    let found = pairs.get(syntax.id);
    if (!found) {
      found = bracketPairs(code(syntax), syntax);
      pairs.set(syntax.id, found);
    }
    return found.get(open) ?? -1;
  }
  function lineAt(offset: number): number {
    lineStarts ??= newlineOffsets(text);
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }
  return { path, local, text, code, masked, closing, lineAt };
}

function newlineOffsets(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

const METHOD_ORDER = new Map<string, number>(HTTP_METHODS.map((m, i) => [m, i]));

function byPathThenMethod(a: Endpoint, b: Endpoint): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return (METHOD_ORDER.get(a.method) ?? 0) - (METHOD_ORDER.get(b.method) ?? 0);
}
