/**
 * PHP: composer.json (`require.php`, `config.platform.php`, framework packages). Laravel and
 * Symfony projects also carry `artisan` / `symfony.lock`, which count as markers.
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
  groupFiles,
  lineOf,
  pushUnique,
  readJson,
  shallowest,
} from './detector.js';

const SYMFONY: FrameworkSpec = { name: 'symfony', kind: 'http' };
const GRPC: FrameworkSpec = { name: 'grpc', kind: 'grpc' };

const FRAMEWORKS: ReadonlyMap<string, FrameworkSpec> = new Map([
  ['laravel/framework', { name: 'laravel', kind: 'http' }],
  ['symfony/framework-bundle', SYMFONY],
  ['symfony/symfony', SYMFONY],
  ['grpc/grpc', GRPC],
  ['spiral/roadrunner-grpc', GRPC],
]);

type Group = 'composer' | 'marker' | 'source';

function classify(name: string): Group | undefined {
  if (name === 'composer.json') return 'composer';
  if (name === 'composer.lock' || name === 'artisan' || name === 'symfony.lock') return 'marker';
  if (name.endsWith('.php')) return 'source';
  return undefined;
}

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const sources = groups.get('source') ?? [];
  const markers = groups.get('marker') ?? [];
  const manifests: ParsedFile[] = [];
  const manifestFiles: FoundFile[] = [];
  for (const file of groups.get('composer') ?? []) {
    const parsed = readJson(tree, file.path);
    if (!parsed) continue;
    manifests.push(parsed);
    manifestFiles.push(file);
  }
  const manifestDepth = shallowest(manifestFiles, markers);
  if (manifestDepth === undefined && sources.length === 0) return undefined;

  const evidence: string[] = [];
  pushUnique(evidence, ...manifests.map((m) => m.path), ...markers.map((f) => f.path));
  if (manifestDepth === undefined) evidence.push(sources[0]?.path ?? input.dir);

  const frameworks: Framework[] = [];
  let version: string | undefined;
  for (const manifest of manifests) {
    const require = asRecord(manifest.data.require) ?? {};
    for (const [name, spec] of FRAMEWORKS) {
      if (!(name in require)) continue;
      const line = lineOf(manifest.text, new RegExp(`"${escapeRegExp(name)}"\\s*:`));
      const stated = concreteVersion(asString(require[name]));
      addFramework(frameworks, spec, stated, evidenceAt(manifest.path, line));
    }
    if (version !== undefined) continue;
    // The platform pin is what composer resolves against; `require.php` is only a range.
    const platform = asString(asRecord(asRecord(manifest.data.config)?.platform)?.php);
    const declared = concreteVersion(platform) ?? concreteVersion(asString(require.php));
    if (declared !== undefined) {
      version = declared;
      const pattern = platform !== undefined ? /"platform"/ : /"php"\s*:/;
      pushUnique(evidence, evidenceAt(manifest.path, lineOf(manifest.text, pattern)));
    }
  }

  const result: DetectorResult = {
    language: 'php',
    otherLanguages: [],
    runtime: version === undefined ? { name: 'php' } : { name: 'php', version },
    frameworks,
    evidence,
    sourceFiles: sources.length,
  };
  if (manifestDepth !== undefined) result.manifestDepth = manifestDepth;
  if (manifests.length > 0) result.packageManager = 'composer';
  return result;
}

export const phpDetector: StackDetector = { id: 'php', detect };
