/**
 * Python: requirements files, pyproject.toml ([project] and [tool.poetry]), Pipfile, setup.py and
 * setup.cfg; the package manager from lockfiles; the version from pin files, then the declared range.
 */
import type { Framework } from '../schema.js';
import type {
  DetectorInput,
  DetectorResult,
  FoundFile,
  FrameworkSpec,
  StackDetector,
} from './detector.js';
import {
  addFramework,
  asRecord,
  asString,
  concreteVersion,
  escapeRegExp,
  evidenceAt,
  findUp,
  groupFiles,
  lineAt,
  lineOf,
  pinnedVersion,
  pushUnique,
  readToml,
  shallowest,
} from './detector.js';
import type { RepoTree } from '../tree.js';
import { dirOf } from '../tree.js';

/** PEP 503-normalised distribution name → framework. */
const FRAMEWORKS: ReadonlyMap<string, FrameworkSpec> = new Map([
  ['fastapi', { name: 'fastapi', kind: 'http' }],
  ['flask', { name: 'flask', kind: 'http' }],
  ['django', { name: 'django', kind: 'http' }],
  ['starlette', { name: 'starlette', kind: 'http' }],
  ['aiohttp', { name: 'aiohttp', kind: 'http' }],
  ['grpcio', { name: 'grpc', kind: 'grpc' }],
  ['celery', { name: 'celery', kind: 'worker' }],
]);

/** Lockfile → package manager, checked beside and above the manifest. */
const LOCKFILES: readonly (readonly [string, string])[] = [
  ['uv.lock', 'uv'],
  ['poetry.lock', 'poetry'],
  ['pdm.lock', 'pdm'],
  ['Pipfile.lock', 'pipenv'],
];
const LOCKFILE_NAMES = LOCKFILES.map(([name]) => name);

type Group =
  'pyproject' | 'requirements' | 'pipfile' | 'setup-py' | 'setup-cfg' | 'lock' | 'source';

function classify(name: string, rel: string): Group | undefined {
  if (name === 'pyproject.toml') return 'pyproject';
  // requirements.txt, requirements-dev.txt, and the requirements/base.txt layout
  if (/^requirements.*\.(?:txt|in)$/.test(name)) return 'requirements';
  if (/(?:^|\/)requirements\/[^/]+\.(?:txt|in)$/.test(rel)) return 'requirements';
  if (name === 'Pipfile') return 'pipfile';
  if (name === 'setup.py') return 'setup-py';
  if (name === 'setup.cfg') return 'setup-cfg';
  if (LOCKFILE_NAMES.includes(name)) return 'lock';
  // A conanfile.py is a C/C++ build recipe, not Python code of the service.
  if (name.endsWith('.py') && name !== 'conanfile.py') return 'source';
  return undefined;
}

/** One declared dependency: the name as written, its version spec and where it was found. */
interface Requirement {
  name: string;
  spec?: string;
  evidence: string;
}

/** Where a version came from, for the evidence list. */
interface Sourced {
  version: string;
  evidence: string;
}

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const sources = groups.get('source') ?? [];
  const evidence: string[] = [];
  const requirements: Requirement[] = [];
  const declaredVersions: Sourced[] = [];
  let manager: string | undefined;
  const seen: FoundFile[] = [];

  for (const file of groups.get('pyproject') ?? []) {
    const parsed = readToml(tree, file.path);
    if (!parsed) continue;
    seen.push(file);
    const project = asRecord(parsed.data.project);
    const tool = asRecord(parsed.data.tool);
    const poetry = asRecord(tool?.poetry);
    if (poetry) manager ??= 'poetry';
    else if (asRecord(tool?.uv)) manager ??= 'uv';
    else if (asRecord(tool?.pdm)) manager ??= 'pdm';
    const requires = asString(project?.['requires-python']);
    if (requires !== undefined) {
      const line = lineOf(parsed.text, /^[ \t]*requires-python\s*=/m);
      pushVersion(declaredVersions, requires, evidenceAt(file.path, line));
    }
    for (const entry of asArrayOfStrings(project?.dependencies)) {
      const requirement = pep508(entry, file.path, parsed.text);
      if (requirement) requirements.push(requirement);
    }
    for (const group of Object.values(asRecord(project?.['optional-dependencies']) ?? {})) {
      for (const entry of asArrayOfStrings(group)) {
        const requirement = pep508(entry, file.path, parsed.text);
        if (requirement) requirements.push(requirement);
      }
    }
    const poetryTables = [
      asRecord(poetry?.dependencies),
      ...Object.values(asRecord(poetry?.group) ?? {}).map((g) =>
        asRecord(asRecord(g)?.dependencies),
      ),
    ];
    for (const table of poetryTables) {
      for (const [name, value] of Object.entries(table ?? {})) {
        const spec = asString(value) ?? asString(asRecord(value)?.version);
        const line = lineOf(
          parsed.text,
          new RegExp(`^[ \\t]*["']?${escapeRegExp(name)}["']?\\s*=`, 'm'),
        );
        if (name.toLowerCase() === 'python') {
          if (spec !== undefined) pushVersion(declaredVersions, spec, evidenceAt(file.path, line));
          continue;
        }
        requirements.push({ name, spec, evidence: evidenceAt(file.path, line) });
      }
    }
  }

  for (const file of groups.get('pipfile') ?? []) {
    const parsed = readToml(tree, file.path);
    if (!parsed) continue;
    seen.push(file);
    manager ??= 'pipenv';
    const requires = asRecord(parsed.data.requires);
    const pinned = asString(requires?.python_full_version) ?? asString(requires?.python_version);
    if (pinned !== undefined) {
      const line = lineOf(parsed.text, /^[ \t]*python_(?:full_)?version\s*=/m);
      pushVersion(declaredVersions, pinned, evidenceAt(file.path, line));
    }
    for (const table of ['packages', 'dev-packages']) {
      for (const [name, value] of Object.entries(asRecord(parsed.data[table]) ?? {})) {
        const spec = asString(value) ?? asString(asRecord(value)?.version);
        const line = lineOf(
          parsed.text,
          new RegExp(`^[ \\t]*["']?${escapeRegExp(name)}["']?\\s*=`, 'm'),
        );
        requirements.push({ name, spec, evidence: evidenceAt(file.path, line) });
      }
    }
  }

  for (const file of groups.get('requirements') ?? []) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    seen.push(file);
    requirements.push(...requirementLines(text, file.path));
  }

  for (const file of groups.get('setup-py') ?? []) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    seen.push(file);
    requirements.push(...setupPyRequirements(text, file.path));
    const requires = /python_requires\s*=\s*["'](?<spec>[^"']+)["']/.exec(text);
    if (requires?.groups?.spec !== undefined) {
      pushVersion(
        declaredVersions,
        requires.groups.spec,
        evidenceAt(file.path, lineAt(text, requires.index)),
      );
    }
  }

  for (const file of groups.get('setup-cfg') ?? []) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    seen.push(file);
    requirements.push(...setupCfgRequirements(text, file.path));
  }

  const locks = groups.get('lock');
  const manifestDepth = shallowest(
    seen.sort((a, b) => a.depth - b.depth),
    locks,
  );
  if (manifestDepth === undefined && sources.length === 0) return undefined;

  const primary = seen[0] ?? locks?.[0];
  pushUnique(evidence, ...seen.map((f) => f.path));
  if (primary === undefined) pushUnique(evidence, sources[0]?.path ?? input.dir);
  const baseDir = dirOf(primary?.path ?? input.dir);

  const frameworks: Framework[] = [];
  for (const requirement of requirements) {
    const spec = FRAMEWORKS.get(normaliseName(requirement.name));
    if (spec)
      addFramework(frameworks, spec, concreteVersion(requirement.spec), requirement.evidence);
  }

  const pin = pinnedVersion(
    tree,
    baseDir,
    ['.python-version', 'runtime.txt', '.tool-versions'],
    ['python'],
  );
  const version = pin ?? declaredVersions[0];
  if (version) pushUnique(evidence, version.evidence);

  const result: DetectorResult = {
    language: 'python',
    otherLanguages: [],
    runtime: version ? { name: 'python', version: version.version } : { name: 'python' },
    frameworks,
    evidence,
    sourceFiles: sources.length,
  };
  const packageManager = packageManagerOf(tree, baseDir, manager, primary !== undefined, evidence);
  if (packageManager !== undefined) result.packageManager = packageManager;
  if (manifestDepth !== undefined) result.manifestDepth = manifestDepth;
  return result;
}

/** A lockfile is the strongest sign; then what the manifests implied; pip reads everything else. */
function packageManagerOf(
  tree: RepoTree,
  baseDir: string,
  implied: string | undefined,
  hasManifest: boolean,
  evidence: string[],
): string | undefined {
  const lockfile = findUp(tree, baseDir, LOCKFILE_NAMES);
  if (lockfile !== undefined) {
    pushUnique(evidence, lockfile);
    const name = lockfile.slice(lockfile.lastIndexOf('/') + 1);
    return LOCKFILES.find(([file]) => file === name)?.[1];
  }
  if (implied !== undefined) return implied;
  return hasManifest ? 'pip' : undefined;
}

function pushVersion(list: Sourced[], spec: string, evidence: string): void {
  const version = concreteVersion(spec);
  if (version !== undefined) list.push({ version, evidence });
}

function asArrayOfStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** PEP 503: case-insensitive, runs of "-", "_" and "." are equivalent. */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

const REQUIREMENT = /^\s*(?<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?<spec>[^;#]*)/;

/** A PEP 508 string from pyproject ("fastapi[all]>=0.110; python_version>'3.8'"). */
function pep508(entry: string, path: string, text: string): Requirement | undefined {
  const match = REQUIREMENT.exec(entry);
  const name = match?.groups?.name;
  if (name === undefined) return undefined;
  const line = lineOf(text, new RegExp(`["']\\s*${escapeRegExp(name)}(?![\\w.-])`, 'i'));
  return { name, spec: match?.groups?.spec?.trim(), evidence: evidenceAt(path, line) };
}

/** requirements.txt lines; options (-r, -e, --hash) and URLs are skipped. */
function requirementLines(text: string, path: string): Requirement[] {
  const found: Requirement[] = [];
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('-')) return;
    const match = REQUIREMENT.exec(trimmed);
    const name = match?.groups?.name;
    if (name === undefined) return;
    found.push({ name, spec: match?.groups?.spec?.trim(), evidence: `${path}:${index + 1}` });
  });
  return found;
}

/** Quoted strings inside `install_requires=[…]`; setup.py is never executed. */
function setupPyRequirements(text: string, path: string): Requirement[] {
  const block = /install_requires\s*=\s*\[(?<body>[^\]]*)\]/.exec(text);
  const body = block?.groups?.body;
  if (block === null || body === undefined) return [];
  const offset = block.index + block[0].indexOf(body);
  const found: Requirement[] = [];
  for (const quoted of body.matchAll(/["'](?<entry>[^"']+)["']/g)) {
    const match = REQUIREMENT.exec(quoted.groups?.entry ?? '');
    const name = match?.groups?.name;
    if (name === undefined) continue;
    const line = lineAt(text, offset + (quoted.index ?? 0));
    found.push({ name, spec: match?.groups?.spec?.trim(), evidence: `${path}:${line}` });
  }
  return found;
}

/** The indented lines after `install_requires =` in setup.cfg's [options]. */
function setupCfgRequirements(text: string, path: string): Requirement[] {
  const found: Requirement[] = [];
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s*install_requires\s*=/.test(l));
  if (start === -1) return found;
  const inline = lines[start]?.split('=').slice(1).join('=').trim();
  const entries: [string, number][] = inline ? [[inline, start]] : [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!/^\s+\S/.test(line)) break;
    entries.push([line.trim(), i]);
  }
  for (const [entry, index] of entries) {
    const match = REQUIREMENT.exec(entry);
    const name = match?.groups?.name;
    if (name === undefined || entry.startsWith('#')) continue;
    found.push({ name, spec: match?.groups?.spec?.trim(), evidence: `${path}:${index + 1}` });
  }
  return found;
}

export const pythonDetector: StackDetector = { id: 'python', detect };
