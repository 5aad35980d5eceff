/**
 * C# on .NET: *.csproj (SDK, TargetFramework(s), PackageReference), Directory.Build.props, *.sln
 * and global.json. The web SDK is ASP.NET Core, whose version is the target framework's.
 */
import type { Framework } from '../schema.js';
import type {
  DetectorInput,
  DetectorResult,
  FoundFile,
  ParsedFile,
  StackDetector,
} from './detector.js';
import {
  addFramework,
  asArray,
  asRecord,
  asString,
  concreteVersion,
  escapeRegExp,
  evidenceAt,
  findUp,
  groupFiles,
  lineOf,
  pushUnique,
  readJson,
  readXml,
  shallowest,
} from './detector.js';
import { dirOf } from '../tree.js';

type Group = 'csproj' | 'props' | 'sln' | 'source';

function classify(name: string): Group | undefined {
  if (name.endsWith('.csproj')) return 'csproj';
  if (name === 'Directory.Build.props') return 'props';
  if (name.endsWith('.sln') || name.endsWith('.slnx')) return 'sln';
  if (name.endsWith('.cs')) return 'source';
  return undefined;
}

interface Project {
  file: ParsedFile;
  web: boolean;
  targetFramework?: string;
}

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const sources = groups.get('source') ?? [];
  const solutions = groups.get('sln') ?? [];
  const frameworks: Framework[] = [];
  const projects: Project[] = [];
  const projectFiles: FoundFile[] = [];

  let sharedTarget: string | undefined;
  for (const file of groups.get('props') ?? []) {
    const parsed = readXml(tree, file.path);
    sharedTarget ??= parsed && targetFrameworkOf(asRecord(parsed.data.Project));
  }

  for (const file of groups.get('csproj') ?? []) {
    const parsed = readXml(tree, file.path);
    const project = asRecord(parsed?.data.Project);
    if (!parsed || !project) continue;
    projectFiles.push(file);
    const items = asArray(project.ItemGroup).map(asRecord);
    const sdk = asString(project['@_Sdk']) ?? '';
    const web =
      sdk.startsWith('Microsoft.NET.Sdk.Web') ||
      items.some((item) =>
        asArray(item?.FrameworkReference).some(
          (ref) => asString(asRecord(ref)?.['@_Include']) === 'Microsoft.AspNetCore.App',
        ),
      );
    const targetFramework = targetFrameworkOf(project) ?? sharedTarget;
    projects.push({ file: parsed, web, targetFramework });
    if (web) {
      const line = lineOf(parsed.text, /Microsoft\.NET\.Sdk\.Web|Microsoft\.AspNetCore\.App/);
      addFramework(
        frameworks,
        { name: 'aspnet-core', kind: 'http' },
        dotnetVersion(targetFramework),
        evidenceAt(parsed.path, line),
      );
    }
    for (const item of items) {
      for (const ref of asArray(item?.PackageReference).map(asRecord)) {
        const name = asString(ref?.['@_Include']) ?? '';
        if (!/^Grpc\.AspNetCore(?:\.Server)?$/.test(name)) continue;
        const version = concreteVersion(asString(ref?.['@_Version']) ?? asString(ref?.Version));
        const line = lineOf(parsed.text, new RegExp(`Include="${escapeRegExp(name)}"`));
        addFramework(
          frameworks,
          { name: 'grpc', kind: 'grpc' },
          version,
          evidenceAt(parsed.path, line),
        );
      }
    }
  }

  const manifestDepth = shallowest(projectFiles, solutions);
  if (manifestDepth === undefined && sources.length === 0) return undefined;
  const evidence: string[] = [];
  const manifests = [...solutions, ...projectFiles].sort((a, b) => a.depth - b.depth);
  pushUnique(evidence, ...manifests.map((f) => f.path));
  if (manifestDepth === undefined) evidence.push(sources[0]?.path ?? input.dir);

  // The service's runtime is the web project's when there is one, else the shallowest project's.
  const main = projects.find((p) => p.web) ?? projects[0];
  let version = dotnetVersion(main?.targetFramework);
  let runtimeName = main?.targetFramework?.match(/^net4/) ? 'dotnet-framework' : 'dotnet';
  if (version === undefined) {
    const globalJson = findUp(tree, dirOf(main?.file.path ?? solutions[0]?.path ?? input.dir), [
      'global.json',
    ]);
    const sdk = globalJson === undefined ? undefined : readJson(tree, globalJson);
    const sdkVersion = /^(?<version>\d+\.\d+)/.exec(
      asString(asRecord(sdk?.data.sdk)?.version) ?? '',
    )?.groups?.version;
    if (globalJson !== undefined && sdkVersion !== undefined) {
      version = sdkVersion;
      runtimeName = 'dotnet';
      evidence.push(globalJson);
    }
  }

  const result: DetectorResult = {
    language: 'csharp',
    otherLanguages: [],
    runtime: version === undefined ? { name: runtimeName } : { name: runtimeName, version },
    frameworks,
    evidence,
    sourceFiles: sources.length,
  };
  if (manifestDepth !== undefined) {
    result.manifestDepth = manifestDepth;
    result.packageManager = 'dotnet';
  }
  return result;
}

/** TargetFramework, or the highest of TargetFrameworks ("net8.0;net6.0"). */
function targetFrameworkOf(project: Record<string, unknown> | undefined): string | undefined {
  const monikers: string[] = [];
  for (const group of asArray(project?.PropertyGroup).map(asRecord)) {
    const single = asString(group?.TargetFramework);
    if (single) monikers.push(single);
    for (const many of (asString(group?.TargetFrameworks) ?? '').split(';')) {
      if (many.trim() !== '') monikers.push(many.trim());
    }
  }
  return monikers.sort(compareMonikers).at(-1);
}

function compareMonikers(a: string, b: string): number {
  const va = (dotnetVersion(a) ?? '0').split('.').map(Number);
  const vb = (dotnetVersion(b) ?? '0').split('.').map(Number);
  return (va[0] ?? 0) - (vb[0] ?? 0) || (va[1] ?? 0) - (vb[1] ?? 0);
}

/**
 * "net8.0" → "8.0", "net8.0-windows" → "8.0", "netcoreapp3.1" → "3.1", "net48" → "4.8".
 * netstandard is a library contract, not a runtime.
 */
function dotnetVersion(moniker: string | undefined): string | undefined {
  const match = /^net(?:coreapp)?(?<version>\d+(?:\.\d+)*)/.exec(moniker ?? '');
  const version = match?.groups?.version;
  if (version === undefined) return undefined;
  if (!version.includes('.') && version.startsWith('4')) return version.split('').join('.');
  return version;
}

export const dotnetDetector: StackDetector = { id: 'dotnet', detect };
