/**
 * Node.js: package.json (every one under the service, shallowest first), lockfiles, tsconfig and
 * the usual runtime pin files. TypeScript is a language of its own here; its runtime is still node.
 */
import type { Framework } from '../schema.js';
import type {
  DetectorInput,
  DetectorResult,
  FrameworkSpec,
  ParsedFile,
  StackDetector,
} from './detector.js';
import {
  addFramework,
  asRecord,
  asString,
  concreteVersion,
  escapeRegExp,
  evidenceAt,
  extensionOf,
  findUp,
  groupFiles,
  lineOf,
  pinnedVersion,
  pushUnique,
  readJson,
  shallowest,
} from './detector.js';
import { dirOf } from '../tree.js';

const HAPI: FrameworkSpec = { name: 'hapi', kind: 'http' };
const SVELTE: FrameworkSpec = { name: 'svelte', kind: 'frontend' };
const GRPC: FrameworkSpec = { name: 'grpc', kind: 'grpc' };

/** npm package → framework. Next.js is both a frontend and a server; we size it as a server. */
const FRAMEWORKS: ReadonlyMap<string, FrameworkSpec> = new Map([
  ['@nestjs/core', { name: 'nestjs', kind: 'http' }],
  ['next', { name: 'nextjs', kind: 'http' }],
  ['express', { name: 'express', kind: 'http' }],
  ['fastify', { name: 'fastify', kind: 'http' }],
  ['koa', { name: 'koa', kind: 'http' }],
  ['@hapi/hapi', HAPI],
  ['hapi', HAPI],
  ['@grpc/grpc-js', GRPC],
  ['grpc', GRPC],
  ['react', { name: 'react', kind: 'frontend' }],
  ['vue', { name: 'vue', kind: 'frontend' }],
  ['@angular/core', { name: 'angular', kind: 'frontend' }],
  ['@sveltejs/kit', SVELTE],
  ['svelte', SVELTE],
]);

const DEPENDENCY_FIELDS = [
  'dependencies',
  'devDependencies',
  'peerDependencies',
  'optionalDependencies',
] as const;

/** Lockfile → package manager, most specific first. */
const LOCKFILES: readonly (readonly [string, string])[] = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
];
const LOCKFILE_NAMES = LOCKFILES.map(([name]) => name);
const PACKAGE_MANAGERS = new Set(['npm', 'yarn', 'pnpm', 'bun']);

type Group = 'manifest' | 'tsconfig' | 'lockfile' | 'ts' | 'js';

function classify(name: string): Group | undefined {
  if (name === 'package.json') return 'manifest';
  if (/^tsconfig(?:\.[\w-]+)?\.json$/.test(name)) return 'tsconfig';
  if (LOCKFILE_NAMES.includes(name)) return 'lockfile';
  if (name.endsWith('.d.ts')) return undefined;
  const ext = extensionOf(name);
  if (ext === 'ts' || ext === 'tsx' || ext === 'mts' || ext === 'cts') return 'ts';
  if (ext === 'js' || ext === 'jsx' || ext === 'mjs' || ext === 'cjs') return 'js';
  return undefined;
}

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const tsconfigs = groups.get('tsconfig');
  const lockfiles = groups.get('lockfile');
  const tsSources = groups.get('ts')?.length ?? 0;
  const jsSources = groups.get('js')?.length ?? 0;

  const manifests: ParsedFile[] = [];
  for (const file of groups.get('manifest') ?? []) {
    const parsed = readJson(tree, file.path);
    if (parsed) manifests.push(parsed);
  }
  const manifestDepth = shallowest(
    groups.get('manifest')?.filter((f) => manifests.some((m) => m.path === f.path)),
    tsconfigs,
    lockfiles,
  );
  if (manifestDepth === undefined && tsSources + jsSources === 0) return undefined;

  const evidence: string[] = [];
  const frameworks: Framework[] = [];
  let usesTypeScript = tsconfigs !== undefined;
  for (const manifest of manifests) {
    evidence.push(manifest.path);
    for (const field of DEPENDENCY_FIELDS) {
      const deps = asRecord(manifest.data[field]);
      if (!deps) continue;
      if ('typescript' in deps) usesTypeScript = true;
      for (const [dep, spec] of FRAMEWORKS) {
        if (!(dep in deps)) continue;
        const line = lineOf(manifest.text, new RegExp(`"${escapeRegExp(dep)}"\\s*:`));
        addFramework(
          frameworks,
          spec,
          concreteVersion(asString(deps[dep])),
          evidenceAt(manifest.path, line),
        );
      }
    }
  }
  if (tsconfigs?.[0]) evidence.push(tsconfigs[0].path);
  if (manifestDepth === undefined) {
    usesTypeScript = tsSources > 0;
    evidence.push(groups.get(usesTypeScript ? 'ts' : 'js')?.[0]?.path ?? input.dir);
  }

  const root = manifests[0];
  const baseDir = dirOf(root?.path ?? tsconfigs?.[0]?.path ?? lockfiles?.[0]?.path ?? input.dir);
  const pin = pinnedVersion(
    tree,
    baseDir,
    ['.nvmrc', '.node-version', '.tool-versions'],
    ['nodejs', 'node'],
  );
  const engines = asRecord(root?.data.engines);
  const engineVersion = concreteVersion(asString(engines?.node));
  const version = pin?.version ?? engineVersion;
  if (pin) evidence.push(pin.evidence);
  else if (engineVersion !== undefined && root) {
    evidence.push(evidenceAt(root.path, lineOf(root.text, /"node"\s*:/)));
  }

  const packageManager = packageManagerOf(input, root, baseDir, lockfiles?.[0]?.path, evidence);

  const result: DetectorResult = {
    language: usesTypeScript ? 'typescript' : 'javascript',
    otherLanguages: [],
    runtime: version === undefined ? { name: 'node' } : { name: 'node', version },
    frameworks,
    evidence: [],
    sourceFiles: tsSources + jsSources,
  };
  pushUnique(result.evidence, ...evidence);
  if (packageManager !== undefined) result.packageManager = packageManager;
  if (manifestDepth !== undefined) result.manifestDepth = manifestDepth;
  return result;
}

/**
 * The `packageManager` field (corepack) wins; then a lockfile beside or above the manifest (a
 * workspace keeps its lockfile at the root); then npm, which is what a bare package.json implies.
 */
function packageManagerOf(
  input: DetectorInput,
  root: ParsedFile | undefined,
  baseDir: string,
  nestedLockfile: string | undefined,
  evidence: string[],
): string | undefined {
  const declared = /^(?<name>[a-z]+)@/.exec(asString(root?.data.packageManager) ?? '')?.groups
    ?.name;
  if (declared !== undefined && PACKAGE_MANAGERS.has(declared)) return declared;
  const lockfile = findUp(input.tree, baseDir, LOCKFILE_NAMES) ?? nestedLockfile;
  if (lockfile !== undefined) {
    evidence.push(lockfile);
    const name = lockfile.slice(lockfile.lastIndexOf('/') + 1);
    return LOCKFILES.find(([file]) => file === name)?.[1];
  }
  return root ? 'npm' : undefined;
}

export const nodeDetector: StackDetector = { id: 'node', detect };
