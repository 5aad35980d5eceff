/**
 * Rust: Cargo.toml (packages and workspaces, `{ workspace = true }` dependencies resolved against
 * the workspace root) and rust-toolchain(.toml) / `rust-version` for the compiler version.
 */
import type { Framework } from '../schema.js';
import type {
  DetectorInput,
  DetectorResult,
  FoundFile,
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
  findUp,
  groupFiles,
  lineOf,
  pushUnique,
  readToml,
  shallowest,
} from './detector.js';
import { dirOf } from '../tree.js';

const FRAMEWORKS: ReadonlyMap<string, FrameworkSpec> = new Map([
  ['actix-web', { name: 'actix-web', kind: 'http' }],
  ['axum', { name: 'axum', kind: 'http' }],
  ['rocket', { name: 'rocket', kind: 'http' }],
  ['tonic', { name: 'grpc', kind: 'grpc' }],
]);

type Group = 'cargo' | 'source';

function classify(name: string): Group | undefined {
  if (name === 'Cargo.toml') return 'cargo';
  if (name.endsWith('.rs')) return 'source';
  return undefined;
}

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const sources = groups.get('source') ?? [];
  const manifests: { file: FoundFile; parsed: ParsedFile }[] = [];
  for (const file of groups.get('cargo') ?? []) {
    const parsed = readToml(tree, file.path);
    if (parsed) manifests.push({ file, parsed });
  }
  const manifestDepth = shallowest(manifests.map((m) => m.file));
  if (manifestDepth === undefined && sources.length === 0) return undefined;

  const evidence = manifests.map((m) => m.file.path);
  if (manifestDepth === undefined) evidence.push(sources[0]?.path ?? input.dir);
  const workspaceDeps = new Map<string, unknown>();
  let declaredRust: { version: string; evidence: string } | undefined;
  for (const { parsed } of manifests) {
    const workspace = asRecord(parsed.data.workspace);
    for (const [name, value] of Object.entries(asRecord(workspace?.dependencies) ?? {})) {
      if (!workspaceDeps.has(name)) workspaceDeps.set(name, value);
    }
    const rustVersion =
      asString(asRecord(parsed.data.package)?.['rust-version']) ??
      asString(asRecord(workspace?.package)?.['rust-version']);
    const version = concreteVersion(rustVersion);
    if (declaredRust === undefined && version !== undefined) {
      const line = lineOf(parsed.text, /^[ \t]*rust-version\s*=/m);
      declaredRust = { version, evidence: evidenceAt(parsed.path, line) };
    }
  }

  const frameworks: Framework[] = [];
  for (const { parsed } of manifests) {
    const tables = [
      asRecord(parsed.data.dependencies),
      asRecord(asRecord(parsed.data.workspace)?.dependencies),
      ...Object.values(asRecord(parsed.data.target) ?? {}).map((t) =>
        asRecord(asRecord(t)?.dependencies),
      ),
    ];
    for (const table of tables) {
      for (const [crate, spec] of FRAMEWORKS) {
        if (!table || !(crate in table)) continue;
        const value =
          asRecord(table[crate])?.workspace === true ? workspaceDeps.get(crate) : table[crate];
        const version = concreteVersion(asString(value) ?? asString(asRecord(value)?.version));
        const line = lineOf(parsed.text, new RegExp(`^[ \\t]*${escapeRegExp(crate)}\\s*=`, 'm'));
        addFramework(frameworks, spec, version, evidenceAt(parsed.path, line));
      }
    }
  }

  // rust-toolchain pins the compiler actually used; rust-version is only the minimum supported.
  const baseDir = dirOf(manifests[0]?.file.path ?? input.dir);
  const toolchain = toolchainVersion(input, baseDir);
  const version = toolchain ?? declaredRust;
  if (version) pushUnique(evidence, version.evidence);

  const result: DetectorResult = {
    language: 'rust',
    otherLanguages: [],
    runtime: version ? { name: 'rust', version: version.version } : { name: 'rust' },
    frameworks,
    evidence,
    sourceFiles: sources.length,
  };
  if (manifestDepth !== undefined) {
    result.manifestDepth = manifestDepth;
    result.packageManager = 'cargo';
  }
  return result;
}

function toolchainVersion(
  input: DetectorInput,
  baseDir: string,
): { version: string; evidence: string } | undefined {
  const path = findUp(input.tree, baseDir, ['rust-toolchain.toml', 'rust-toolchain']);
  if (path === undefined) return undefined;
  const toml = path.endsWith('.toml') ? readToml(input.tree, path) : undefined;
  // The legacy file is either a bare channel ("1.77.2") or TOML like the new one.
  const legacy = toml ? undefined : input.tree.read(path);
  const legacyToml = legacy?.includes('[toolchain]') ? readToml(input.tree, path) : undefined;
  const channel =
    asString(asRecord((toml ?? legacyToml)?.data.toolchain)?.channel) ?? legacy?.trim();
  const version = /^(?<version>\d+\.\d+(?:\.\d+)?)/.exec(channel ?? '')?.groups?.version;
  return version === undefined ? undefined : { version, evidence: path };
}

export const rustDetector: StackDetector = { id: 'rust', detect };
