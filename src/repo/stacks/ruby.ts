/**
 * Ruby: Gemfile (gems and the `ruby` directive) and Gemfile.lock, whose resolved versions are more
 * precise than the Gemfile's constraints. Read as text: a Gemfile is Ruby and is never evaluated.
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
  ['rails', { name: 'rails', kind: 'http' }],
  ['sinatra', { name: 'sinatra', kind: 'http' }],
  ['grpc', { name: 'grpc', kind: 'grpc' }],
  ['sidekiq', { name: 'sidekiq', kind: 'worker' }],
]);

type Group = 'gemfile' | 'lock' | 'gemspec' | 'rack' | 'source';

function classify(name: string): Group | undefined {
  if (name === 'Gemfile' || name === 'gems.rb') return 'gemfile';
  if (name === 'Gemfile.lock' || name === 'gems.locked') return 'lock';
  if (name.endsWith('.gemspec')) return 'gemspec';
  if (name === 'config.ru') return 'rack';
  if (name.endsWith('.rb') || name.endsWith('.rake')) return 'source';
  return undefined;
}

interface Gem {
  name: string;
  version?: string;
  evidence: string;
}

const GEM = /^[ \t]*gem\s*\(?\s*["'](?<name>[\w.-]+)["'](?:\s*,\s*["'](?<spec>[^"']+)["'])?/gm;
const RUBY = /^[ \t]*ruby\s*\(?\s*["'](?<spec>[^"']+)["']/m;
/** Top-level specs in a lockfile are indented by exactly four spaces: "    rails (7.1.3)". */
const LOCKED = /^ {4}(?<name>[\w.-]+) \((?<version>[^)]+)\)$/gm;
const LOCKED_RUBY = /^RUBY VERSION\n\s+ruby (?<version>[\d.]+)/m;

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const sources = groups.get('source') ?? [];
  const evidence: string[] = [];
  const declared: Gem[] = [];
  const locked = new Map<string, Gem>();
  const read: FoundFile[] = [];
  let gemfileRuby: { version: string; evidence: string } | undefined;
  let lockedRuby: { version: string; evidence: string } | undefined;

  for (const file of groups.get('gemfile') ?? []) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    read.push(file);
    for (const match of text.matchAll(GEM)) {
      const name = match.groups?.name;
      if (name === undefined) continue;
      const evidenceLine = `${file.path}:${lineAt(text, match.index ?? 0)}`;
      declared.push({ name, version: concreteVersion(match.groups?.spec), evidence: evidenceLine });
    }
    const ruby = RUBY.exec(text);
    const version = concreteVersion(ruby?.groups?.spec);
    if (ruby && version !== undefined && gemfileRuby === undefined) {
      gemfileRuby = { version, evidence: `${file.path}:${lineAt(text, ruby.index)}` };
    }
  }
  for (const file of groups.get('lock') ?? []) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    read.push(file);
    for (const match of text.matchAll(LOCKED)) {
      const name = match.groups?.name;
      if (name === undefined || locked.has(name)) continue;
      const evidenceLine = `${file.path}:${lineAt(text, match.index ?? 0)}`;
      locked.set(name, {
        name,
        version: concreteVersion(match.groups?.version),
        evidence: evidenceLine,
      });
    }
    const ruby = LOCKED_RUBY.exec(text);
    if (ruby?.groups?.version !== undefined && lockedRuby === undefined) {
      lockedRuby = {
        version: ruby.groups.version,
        evidence: `${file.path}:${lineAt(text, ruby.index) + 1}`,
      };
    }
  }
  const others = [...(groups.get('gemspec') ?? []), ...(groups.get('rack') ?? [])];
  read.sort((a, b) => a.depth - b.depth);
  const manifestDepth = shallowest(read, others);
  if (manifestDepth === undefined && sources.length === 0) return undefined;
  pushUnique(evidence, ...read.map((f) => f.path), ...others.map((f) => f.path));
  if (manifestDepth === undefined) evidence.push(sources[0]?.path ?? input.dir);

  // Declared gems are the service's own choices and the lockfile adds their exact versions. The
  // lockfile also lists transitive gems, so it stands in for the Gemfile only when there is none.
  const gems = declared.length > 0 ? declared : [...locked.values()];
  const frameworks: Framework[] = [];
  for (const gem of gems) {
    const spec = FRAMEWORKS.get(gem.name);
    if (spec)
      addFramework(frameworks, spec, locked.get(gem.name)?.version ?? gem.version, gem.evidence);
  }

  const baseDir = dirOf(read[0]?.path ?? input.dir);
  const pin = pinnedVersion(tree, baseDir, ['.ruby-version', '.tool-versions'], ['ruby']);
  const version = pin ?? gemfileRuby ?? lockedRuby;
  if (version) pushUnique(evidence, version.evidence);

  const result: DetectorResult = {
    language: 'ruby',
    otherLanguages: [],
    runtime: version ? { name: 'ruby', version: version.version } : { name: 'ruby' },
    frameworks,
    evidence,
    sourceFiles: sources.length,
  };
  if (manifestDepth !== undefined) result.manifestDepth = manifestDepth;
  if (read.length > 0) result.packageManager = 'bundler';
  return result;
}

export const rubyDetector: StackDetector = { id: 'ruby', detect };
