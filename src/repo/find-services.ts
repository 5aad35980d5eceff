/**
 * Where the services of a repository are: Dockerfiles first, compose services that build from this
 * repository next, Procfiles as a fallback, and a root language manifest as the last resort. Reads
 * only Procfiles; Dockerfile contents are the dockerfile detector's business.
 *
 * Decisions worth knowing:
 * - Dockerfiles under testdata/, fixtures/, __fixtures__/, node_modules/, vendor/, .devcontainer/ and
 *   .github/ (container actions) are not services; examples/ and test/ are kept, since they are real
 *   code more often than not.
 * - Variants of one Dockerfile (Dockerfile.dev, Dockerfile.prod, Dockerfile.alpine, …) are one
 *   service, built from the production variant when there is one, else the plain Dockerfile. Other
 *   suffixes are separate services: api/Dockerfile.worker → "api-worker", worker.Dockerfile in api/ →
 *   "api-worker". Templates (Dockerfile.j2, Dockerfile.template, …) are not Dockerfiles.
 * - A Dockerfile in a generic folder (docker/, dockerfiles/, .docker/, containers/) belongs to the
 *   folder above it, or to the compose build context that builds it: docker/api.Dockerfile → "api".
 * - A compose service that builds a Dockerfile names that service and is attached to it. A second
 *   service of the same compose directory building the same Dockerfile, or running the image another
 *   service builds (a worker on the api image), is a service of its own with source 'compose'.
 *   Image-only services (postgres, redis, nginx, …) are not ours; dependencies.ts reads them.
 * - When the same service appears in several compose files, the base file's entry is attached
 *   (compose.yaml/docker-compose.yml before *.override.yml before other variants).
 */
import { posix } from 'node:path';
import { composeFileRank, isIgnoredPath } from './compose.js';
import type { ComposeServiceFacts, Note, SERVICE_SOURCES } from './schema.js';
import { dirOf } from './tree.js';
import type { RepoTree } from './tree.js';

export type ServiceSource = (typeof SERVICE_SOURCES)[number];

export interface ProcfileProcess {
  process: string;
  command: string;
}

/**
 * One service of the repository. `path` is the directory its stack and dependencies are read from
 * ('.' for the root). `name` is unique, DNS-1123 safe and at most 63 characters.
 * source 'manifest' means no Dockerfile, compose build or Procfile exists: only a root language
 * manifest, so the service is inferred.
 */
export interface ServiceLocation {
  name: string;
  path: string;
  source: ServiceSource;
  dockerfilePath?: string;
  compose?: ComposeServiceFacts;
  procfile?: ProcfileProcess[];
}

export interface FindServicesResult {
  /** Sorted by path, then Dockerfile, then name. */
  locations: ServiceLocation[];
  notes: Note[];
}

/** Folders that only hold Dockerfiles for code that lives elsewhere. */
const GENERIC_DOCKER_DIRS = new Set(['docker', 'dockerfiles', '.docker', 'containers']);
const PRODUCTION_VARIANTS = new Set(['prod', 'production', 'release']);
const DEVELOPMENT_VARIANTS = new Set([
  'dev',
  'development',
  'local',
  'debug',
  'test',
  'tests',
  'testing',
  'ci',
  'e2e',
]);
const OTHER_VARIANTS = new Set([
  'staging',
  'stage',
  'alpine',
  'slim',
  'distroless',
  'debian',
  'ubuntu',
  'windows',
  'arm',
  'arm64',
  'amd64',
  'multiarch',
  'gpu',
  'cuda',
  'cpu',
]);
/** Suffixes that make Dockerfile.<x> a document, a template or a backup rather than a Dockerfile. */
const NOT_DOCKERFILE = new Set([
  'md',
  'markdown',
  'txt',
  'rst',
  'adoc',
  'html',
  'bak',
  'orig',
  'old',
  'swp',
  'tmp',
  'disabled',
  'sample',
  'example',
  'template',
  'tmpl',
  'tpl',
  'j2',
  'jinja',
  'jinja2',
  'erb',
  'mustache',
  'hbs',
  'in',
  'json',
  'yml',
  'yaml',
  'sh',
  // Source and build output of code that handles Dockerfiles (dockerfile.ts, dockerfile.js.map).
  'js',
  'mjs',
  'cjs',
  'jsx',
  'ts',
  'mts',
  'cts',
  'tsx',
  'map',
  'py',
  'pyc',
  'go',
  'rs',
  'rb',
  'java',
  'kt',
  'cs',
  'php',
  'ex',
  'exs',
  'c',
  'cc',
  'cpp',
  'h',
  'hpp',
  'snap',
  'toml',
  'xml',
  'log',
]);
const DOCKERFILE_SUFFIXED = /^(?:dockerfile|containerfile)\.(?<words>.+)$/i;
const DOCKERFILE_PREFIXED = /^(?<words>.+)\.(?:dockerfile|containerfile)$/i;
const PROCFILE_LINE = /^(?<process>[A-Za-z0-9_-]+)\s*:\s*(?<command>\S.*)$/;
const ROOT_MANIFESTS = new Set([
  'package.json',
  'go.mod',
  'pom.xml',
  'build.gradle',
  'build.gradle.kts',
  'requirements.txt',
  'pyproject.toml',
  'Pipfile',
  'Gemfile',
  'Cargo.toml',
  'composer.json',
  'mix.exs',
]);
const MAX_NAME = 63;

export interface DockerfileName {
  /** What distinguishes it from the directory's main Dockerfile ("worker"), '' for none. */
  role: string;
  /** Preference among variants of one role: 0 production, 1 plain, 2 other, 3 development. */
  rank: number;
}

interface Draft {
  location: ServiceLocation;
  /** Located in a generic docker/ folder: a compose build context is a better service path. */
  generic: boolean;
  /** Compose directory of the attached compose service, to tell api+worker from a duplicate file. */
  composeDir?: string;
  composeNames: Set<string>;
}

/** Lowercase DNS-1123 label: [a-z0-9-], starting and ending alphanumeric, at most 63 characters. */
export function dnsLabel(raw: string): string {
  const label = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_NAME)
    .replace(/-+$/, '');
  return label === '' ? 'app' : label;
}

/** Classifies a file name as a Dockerfile; undefined for anything else. */
export function dockerfileName(basename: string): DockerfileName | undefined {
  const lower = basename.toLowerCase();
  if (lower.endsWith('.dockerignore')) return undefined;
  if (lower === 'dockerfile' || lower === 'containerfile') return { role: '', rank: 1 };
  const words = (DOCKERFILE_SUFFIXED.exec(basename) ?? DOCKERFILE_PREFIXED.exec(basename))?.groups
    ?.words;
  if (words === undefined) return undefined;
  const tokens = words
    .toLowerCase()
    .split('.')
    .filter((t) => t !== '');
  if (tokens.some((t) => NOT_DOCKERFILE.has(t))) return undefined;
  const variants = tokens.filter(isVariant);
  const role = tokens.filter((t) => !isVariant(t)).join('-');
  if (variants.some((t) => PRODUCTION_VARIANTS.has(t))) return { role, rank: 0 };
  if (variants.length === 0) return { role, rank: 1 };
  return { role, rank: variants.some((t) => DEVELOPMENT_VARIANTS.has(t)) ? 3 : 2 };
}

/** Finds the services of a repository. Never throws; reads only Procfiles. */
export function findServices(
  tree: RepoTree,
  compose: ComposeServiceFacts[],
  repoName = 'app',
): FindServicesResult {
  const notes: Note[] = [];
  const dockerfiles = new Map<string, { path: string; rank: number }[]>();
  const dockerfileDirs = new Set<string>();
  const procfiles: string[] = [];
  let rootManifest: string | undefined;

  // One pass over the tree, by basename.
  for (const { path } of tree.files) {
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    if (slash < 0 && (ROOT_MANIFESTS.has(base) || base.endsWith('.csproj'))) rootManifest ??= base;
    if (base !== 'Procfile' && !/file/i.test(base)) continue;
    if (isIgnoredPath(path)) continue;
    if (base === 'Procfile') {
      procfiles.push(path);
      continue;
    }
    const kind = dockerfileName(base);
    if (kind === undefined) continue;
    const dir = dirOf(path);
    dockerfileDirs.add(dir);
    const key = `${dir}\0${kind.role}`;
    const group = dockerfiles.get(key) ?? [];
    group.push({ path, rank: kind.rank });
    dockerfiles.set(key, group);
  }

  const drafts: Draft[] = [];
  const byDockerfile = new Map<string, Draft>();
  for (const [key, group] of dockerfiles) {
    const [dir, role] = key.split('\0') as [string, string];
    group.sort((a, b) => a.rank - b.rank || compare(a.path, b.path));
    const draft = dockerfileDraft(dir, role, group[0]!.path, repoName);
    drafts.push(draft);
    // Every variant maps to the service, so a compose file building Dockerfile.dev still links.
    for (const { path } of group) byDockerfile.set(path, draft);
  }

  linkCompose(tree, compose, drafts, byDockerfile, notes);

  const located = new Set(drafts.map((d) => d.location.path));
  for (const path of procfiles) {
    const dir = dirOf(path);
    if (dockerfileDirs.has(dir) || located.has(dir)) continue;
    drafts.push({
      location: {
        name: dirName(dir, repoName),
        path: dir,
        source: 'procfile',
        procfile: readProcfile(tree, path),
      },
      generic: false,
      composeNames: new Set(),
    });
  }

  if (drafts.length === 0) {
    const fallback =
      rootManifest === undefined
        ? ''
        : ` The root ${rootManifest} is taken as one service at the repository root.`;
    notes.push({
      code: 'no-dockerfile',
      message: `No Dockerfile, Containerfile, compose build or Procfile was found; the repository was still analysed.${fallback}`,
    });
    if (rootManifest !== undefined) {
      drafts.push({
        location: { name: repoName, path: '.', source: 'manifest' },
        generic: false,
        composeNames: new Set(),
      });
    }
  }

  return { locations: finalise(drafts), notes };
}

function dockerfileDraft(
  dir: string,
  role: string,
  dockerfilePath: string,
  repoName: string,
): Draft {
  const folder = dir === '.' ? '' : posix.basename(dir);
  if (GENERIC_DOCKER_DIRS.has(folder.toLowerCase())) {
    const parent = dirOf(dir);
    return {
      location: {
        name: role || dirName(parent, repoName),
        path: parent,
        source: 'dockerfile',
        dockerfilePath,
      },
      generic: true,
      composeNames: new Set(),
    };
  }
  const base = dirName(dir, repoName);
  return {
    location: {
      name: role ? `${base}-${role}` : base,
      path: dir,
      source: 'dockerfile',
      dockerfilePath,
    },
    generic: false,
    composeNames: new Set(),
  };
}

/** Attaches compose services to the Dockerfiles they build, and adds the ones that are ours but unseen. */
function linkCompose(
  tree: RepoTree,
  compose: ComposeServiceFacts[],
  drafts: Draft[],
  byDockerfile: Map<string, Draft>,
  notes: Note[],
): void {
  const ordered = [...compose].sort(
    (a, b) =>
      compare(dirOf(a.file), dirOf(b.file)) ||
      composeFileRank(a.file) - composeFileRank(b.file) ||
      compare(a.file, b.file),
  );
  // One group per service name per compose directory: override files describe the same service.
  const groups = new Map<string, ComposeServiceFacts[]>();
  for (const entry of ordered) {
    const key = `${dirOf(entry.file)}\0${entry.service}`;
    const group = groups.get(key) ?? [];
    group.push(entry);
    groups.set(key, group);
  }

  const byImage = new Map<string, Draft>();
  const imageOnly: ComposeServiceFacts[][] = [];
  for (const group of groups.values()) {
    const builder = group.find((e) => e.buildContext !== undefined);
    if (builder === undefined) {
      if (group.some((e) => e.image !== undefined)) imageOnly.push(group);
      continue;
    }
    const draft = attachBuilder(tree, builder, drafts, byDockerfile, notes);
    for (const entry of group) {
      if (entry.image !== undefined) byImage.set(imageRepository(entry.image), draft);
    }
  }

  // Image-only services running an image this repository builds, e.g. a worker on the api image.
  for (const group of imageOnly) {
    const first = group[0]!;
    const image = group.find((e) => e.image !== undefined)?.image;
    const builder = image === undefined ? undefined : byImage.get(imageRepository(image));
    if (builder === undefined || builder.composeDir !== dirOf(first.file)) continue;
    if (builder.composeNames.has(first.service)) continue;
    builder.composeNames.add(first.service);
    drafts.push(composeDraft(first, builder.location.path, builder.location.dockerfilePath));
  }
}

function attachBuilder(
  tree: RepoTree,
  builder: ComposeServiceFacts,
  drafts: Draft[],
  byDockerfile: Map<string, Draft>,
  notes: Note[],
): Draft {
  const composeDir = dirOf(builder.file);
  const existing =
    builder.dockerfile === undefined ? undefined : byDockerfile.get(builder.dockerfile);
  if (existing !== undefined && existing.location.compose === undefined) {
    existing.location.compose = builder;
    existing.location.name = builder.service;
    if (existing.generic && builder.buildContext !== undefined)
      existing.location.path = builder.buildContext;
    existing.composeDir = composeDir;
    existing.composeNames.add(builder.service);
    return existing;
  }
  if (existing !== undefined) {
    if (existing.composeDir !== composeDir || existing.composeNames.has(builder.service))
      return existing;
    // Another service of the same compose directory builds the same Dockerfile: its own process.
    existing.composeNames.add(builder.service);
    const sibling = composeDraft(builder, existing.location.path, existing.location.dockerfilePath);
    drafts.push(sibling);
    return sibling;
  }

  const dockerfilePath =
    builder.dockerfile !== undefined && tree.has(builder.dockerfile)
      ? builder.dockerfile
      : undefined;
  if (builder.dockerfile !== undefined && dockerfilePath === undefined) {
    notes.push({
      code: 'dockerfile-unreadable',
      path: builder.file,
      message: `Service "${builder.service}" builds ${builder.dockerfile}, which is not in the repository; it is kept without Dockerfile facts.`,
    });
  }
  const draft = composeDraft(builder, builder.buildContext ?? '.', dockerfilePath);
  drafts.push(draft);
  if (dockerfilePath !== undefined) byDockerfile.set(dockerfilePath, draft);
  return draft;
}

function composeDraft(
  entry: ComposeServiceFacts,
  path: string,
  dockerfilePath: string | undefined,
): Draft {
  const location: ServiceLocation = {
    name: entry.service,
    path,
    source: 'compose',
    compose: entry,
  };
  if (dockerfilePath !== undefined) location.dockerfilePath = dockerfilePath;
  return {
    location,
    generic: false,
    composeDir: dirOf(entry.file),
    composeNames: new Set([entry.service]),
  };
}

function readProcfile(tree: RepoTree, path: string): ProcfileProcess[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const processes: ProcfileProcess[] = [];
  for (const line of text.split('\n')) {
    const match = PROCFILE_LINE.exec(line.trim());
    if (match?.groups)
      processes.push({ process: match.groups.process!, command: match.groups.command!.trim() });
  }
  return processes;
}

/** Sorts deterministically, then makes names DNS-safe and unique in that order. */
function finalise(drafts: Draft[]): ServiceLocation[] {
  const locations = drafts
    .map((d) => d.location)
    .sort(
      (a, b) =>
        compare(a.path, b.path) ||
        compare(a.dockerfilePath ?? '', b.dockerfilePath ?? '') ||
        compare(a.name, b.name),
    );
  const taken = new Set<string>();
  for (const location of locations) {
    location.name = uniqueName(dnsLabel(location.name), taken);
    taken.add(location.name);
  }
  return locations;
}

function uniqueName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = `${base.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

function dirName(dir: string, repoName: string): string {
  return dir === '.' ? repoName : posix.basename(dir);
}

function isVariant(token: string): boolean {
  return (
    PRODUCTION_VARIANTS.has(token) || DEVELOPMENT_VARIANTS.has(token) || OTHER_VARIANTS.has(token)
  );
}

/** "registry:5000/team/api:1.2@sha256:…" → "registry:5000/team/api", for matching built images. */
function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return (colon > slash ? withoutDigest.slice(0, colon) : withoutDigest).toLowerCase();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
