/**
 * Elixir: mix.exs (the `elixir:` requirement and `deps`), umbrella apps included. Read as text:
 * mix.exs is Elixir code and is never evaluated.
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
  concreteVersion,
  groupFiles,
  lineAt,
  pinnedVersion,
  pushUnique,
  shallowest,
} from './detector.js';
import { dirOf } from '../tree.js';

const FRAMEWORKS: ReadonlyMap<string, FrameworkSpec> = new Map([
  ['phoenix', { name: 'phoenix', kind: 'http' }],
  ['grpc', { name: 'grpc', kind: 'grpc' }],
]);

type Group = 'mix' | 'source';

function classify(name: string): Group | undefined {
  if (name === 'mix.exs') return 'mix';
  if (name.endsWith('.ex') || name.endsWith('.exs')) return 'source';
  return undefined;
}

const ELIXIR = /\belixir:\s*"(?<spec>[^"]+)"/;
/** A dependency tuple: {:phoenix, "~> 1.7.10"} or {:grpc, github: "…"}. */
const DEP = /\{\s*:(?<name>\w+)\s*(?:,\s*"(?<spec>[^"]*)")?/g;

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const sources = groups.get('source') ?? [];
  const read: FoundFile[] = [];
  const frameworks: Framework[] = [];
  let declared: { version: string; evidence: string } | undefined;
  for (const file of groups.get('mix') ?? []) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    read.push(file);
    const elixir = ELIXIR.exec(text);
    const version = concreteVersion(elixir?.groups?.spec);
    if (elixir && version !== undefined && declared === undefined) {
      declared = { version, evidence: `${file.path}:${lineAt(text, elixir.index)}` };
    }
    for (const match of text.matchAll(DEP)) {
      const spec = FRAMEWORKS.get(match.groups?.name ?? '');
      if (!spec) continue;
      const evidence = `${file.path}:${lineAt(text, match.index ?? 0)}`;
      addFramework(frameworks, spec, concreteVersion(match.groups?.spec), evidence);
    }
  }
  const manifestDepth = shallowest(read);
  if (manifestDepth === undefined && sources.length === 0) return undefined;
  const evidence = read.map((f) => f.path);
  if (manifestDepth === undefined) evidence.push(sources[0]?.path ?? input.dir);

  // .tool-versions pins the exact Elixir ("1.16.1-otp-26"); mix.exs states only a requirement.
  const pin = pinnedVersion(
    tree,
    dirOf(read[0]?.path ?? input.dir),
    ['.tool-versions'],
    ['elixir'],
  );
  const pinned = pin && { ...pin, version: pin.version.replace(/-otp-\d+$/, '') };
  const version = pinned ?? declared;
  if (version) pushUnique(evidence, version.evidence);

  const result: DetectorResult = {
    language: 'elixir',
    otherLanguages: [],
    runtime: version ? { name: 'elixir', version: version.version } : { name: 'elixir' },
    frameworks,
    evidence,
    sourceFiles: sources.length,
  };
  if (manifestDepth !== undefined) {
    result.manifestDepth = manifestDepth;
    result.packageManager = 'mix';
  }
  return result;
}

export const elixirDetector: StackDetector = { id: 'elixir', detect };
