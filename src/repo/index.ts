/**
 * repo/ — reads a checked-out repository into RepoFacts. Owns fetching (clone, workspace), the
 * file walk and every detector. Never executes repository content, never talks to GitHub's API,
 * and knows nothing about sizing: it reports what is there, with notes for what it skipped.
 */
import { basename } from 'node:path';
import { readComposeFiles } from './compose.js';
import { findDependencies } from './dependencies.js';
import { parseDockerfile } from './dockerfile.js';
import { findEndpoints } from './endpoints.js';
import { runsAsWorker } from './service-kind.js';
import { dnsLabel, findServices, type ServiceLocation } from './find-services.js';
import { deploymentsFromCompose, matchDeployments, readDeployments } from './manifests.js';
import { RepoFacts, type Note, type ServiceFacts } from './schema.js';
import { detectStack } from './stacks/registry.js';
import {
  DEFAULT_TREE_LIMITS,
  normalise,
  walkTree,
  type RepoFile,
  type TreeLimits,
} from './tree.js';

export { fetchRepository } from './clone.js';
export type { FetchOptions, FetchedRepo, RepoSource } from './clone.js';
export { createWorkspace, withWorkspace } from './workspace.js';
export type { Workspace } from './workspace.js';
export * from './schema.js';

export interface AnalyzeOptions {
  /** What to call the source in RepoFacts: the URL or the path as the user gave it. */
  source: string;
  ref?: string;
  commit?: string;
  /** Name for a service at the repository root (defaults to the last segment of `source`). */
  repoName?: string;
  /** Only keep services under these repository-relative paths. */
  paths?: string[];
  limits?: TreeLimits;
}

/** Analyses the checked-out tree at `root`. Pure over the file system: no network, no execution. */
export function analyzeRepo(root: string, options: AnalyzeOptions): RepoFacts {
  const tree = walkTree(root, options.limits ?? DEFAULT_TREE_LIMITS);
  const notes: Note[] = [];
  const compose = readComposeFiles(tree);
  notes.push(...compose.notes);
  const found = findServices(
    tree,
    compose.services,
    options.repoName ?? repoNameFrom(options.source, tree.root),
  );
  notes.push(...found.notes);

  const locations = selectPaths(found.locations, options.paths);
  const filesByService = assignFiles(tree.files, locations);
  const services = nameFromMetadata(
    locations.map((location) =>
      analyzeService(
        location,
        filesByService.get(location.path) ?? [],
        compose.services,
        tree,
        notes,
      ),
    ),
  );

  const manifests = readDeployments(tree);
  const existing = [...manifests.deployments, ...deploymentsFromCompose(compose.services)];
  const matched = matchDeployments(
    existing,
    services.map((s, i) => ({
      name: s.name,
      path: s.path,
      images: s.compose?.image === undefined ? [] : [s.compose.image],
      // The name found before a metadata header renamed it, and the compose service name.
      aliases: [locations[i]!.name, ...(s.compose === undefined ? [] : [s.compose.service])],
    })),
  );
  notes.push(...manifests.notes, ...matched.notes);

  return RepoFacts.parse({
    schemaVersion: 1,
    source: options.source,
    ref: options.ref,
    commit: options.commit,
    stats: { files: tree.files.length, bytes: tree.bytes, skippedFiles: tree.skipped },
    services,
    deployments: matched.deployments,
    // Tree notes last: detectors add to them as they read.
    notes: [...notes, ...tree.notes],
  });
}

function analyzeService(
  location: ServiceLocation,
  files: RepoFile[],
  composeAll: Parameters<typeof findDependencies>[0]['composeAll'],
  tree: ReturnType<typeof walkTree>,
  notes: Note[],
): ServiceFacts {
  let dockerfile: ServiceFacts['dockerfile'];
  if (location.dockerfilePath !== undefined) {
    const text = tree.read(location.dockerfilePath);
    if (text !== undefined && text.length > MAX_DOCKERFILE_CHARS) {
      notes.push({
        code: 'file-too-large',
        path: location.dockerfilePath,
        message: `Dockerfile skipped: ${text.length} characters is over the ${MAX_DOCKERFILE_CHARS}-character limit for Dockerfiles.`,
      });
    } else if (text === undefined) {
      notes.push({
        code: 'dockerfile-unreadable',
        path: location.dockerfilePath,
        message:
          'Dockerfile could not be read (binary or too large); the service is analysed without it.',
      });
    } else {
      const parsed = parseDockerfile(text, location.dockerfilePath);
      dockerfile = parsed.facts;
      notes.push(...parsed.notes);
    }
  }
  const stack = detectStack(tree, location.path, files);
  if (stack.runtime === undefined && dockerfile?.runtime !== undefined)
    stack.runtime = dockerfile.runtime;
  const scan = findEndpoints(
    tree,
    location.path,
    stack.frameworks.map((f) => f.name),
    files,
  );
  if (scan.truncated) {
    notes.push({
      code: 'endpoints-truncated',
      path: location.path,
      message: `Only the first ${scan.endpoints.length} endpoints of ${location.name} are listed; the route scan stopped at its limit.`,
    });
  }
  // A queue worker built from an API's codebase shares its route files but serves none of them.
  const endpoints = runsAsWorker(dockerfile, stack) ? [] : scan.endpoints;
  const dependencies = findDependencies({
    tree,
    dir: location.path,
    files,
    compose: location.compose,
    composeAll,
  });
  return {
    name: location.name,
    path: location.path,
    source: location.source,
    dockerfile,
    compose: location.compose,
    procfile: location.procfile,
    stack,
    endpoints,
    dependencies,
  };
}

/** Real Dockerfiles are a few KiB; parsing cost grows steeply, so a hostile one must not stall a job. */
const MAX_DOCKERFILE_CHARS = 128 * 1024;

/**
 * The Dockerfile's metadata header names the service when it says so, unless another service
 * already has that name (then the found name stays, so names remain unique).
 */
function nameFromMetadata(services: ServiceFacts[]): ServiceFacts[] {
  const taken = new Set(services.map((s) => s.name));
  return services.map((service) => {
    const wanted = service.dockerfile?.metadata?.name;
    if (wanted === undefined) return service;
    const label = dnsLabel(wanted);
    if (label === service.name || taken.has(label)) return service;
    taken.delete(service.name);
    taken.add(label);
    return { ...service, name: label };
  });
}

function selectPaths(locations: ServiceLocation[], paths: string[] | undefined): ServiceLocation[] {
  if (paths === undefined || paths.length === 0) return locations;
  const wanted = paths.map((p) => normalise(p) || '.');
  return locations.filter((l) =>
    wanted.some((w) => w === '.' || l.path === w || l.path.startsWith(`${w}/`)),
  );
}

/**
 * Gives each file to the deepest service directory that contains it, so a root service in a
 * monorepo does not claim its sub-services' manifests. One pass over the files.
 */
export function assignFiles(
  files: RepoFile[],
  locations: ServiceLocation[],
): Map<string, RepoFile[]> {
  const byDir = new Map<string, RepoFile[]>(locations.map((l) => [l.path, []]));
  const hasRoot = byDir.has('.');
  for (const file of files) {
    let dir = file.path;
    for (;;) {
      const slash = dir.lastIndexOf('/');
      if (slash < 0) {
        if (hasRoot) byDir.get('.')!.push(file);
        break;
      }
      dir = dir.slice(0, slash);
      const bucket = byDir.get(dir);
      if (bucket) {
        bucket.push(file);
        break;
      }
    }
  }
  return byDir;
}

/** The repository's own name: the URL's or path's last segment, or the directory's for "." and "..". */
function repoNameFrom(source: string, root: string): string {
  const last = source
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split(/[/\\]/)
    .pop();
  if (last !== undefined && last !== '' && last !== '.' && last !== '..') return last;
  return basename(root) || 'app';
}
