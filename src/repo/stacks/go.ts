/**
 * Go: go.mod (the `go` and `toolchain` directives, direct requirements) and go.work. Indirect
 * requirements are not frameworks the service uses itself.
 */
import type { Framework } from '../schema.js';
import type {
  DetectorInput,
  DetectorResult,
  FoundFile,
  FrameworkSpec,
  StackDetector,
} from './detector.js';
import { addFramework, concreteVersion, groupFiles, pushUnique, shallowest } from './detector.js';

/** Module path without its /vN major-version suffix → framework. */
const FRAMEWORKS: ReadonlyMap<string, FrameworkSpec> = new Map([
  ['github.com/gin-gonic/gin', { name: 'gin', kind: 'http' }],
  ['github.com/labstack/echo', { name: 'echo', kind: 'http' }],
  ['github.com/gofiber/fiber', { name: 'fiber', kind: 'http' }],
  ['github.com/go-chi/chi', { name: 'chi', kind: 'http' }],
  ['github.com/gorilla/mux', { name: 'gorilla-mux', kind: 'http' }],
  ['google.golang.org/grpc', { name: 'grpc', kind: 'grpc' }],
]);

type Group = 'mod' | 'work' | 'source';

function classify(name: string): Group | undefined {
  if (name === 'go.mod') return 'mod';
  if (name === 'go.work') return 'work';
  if (name.endsWith('.go')) return 'source';
  return undefined;
}

interface GoMod {
  go?: { version: string; line: number };
  toolchain?: { version: string; line: number };
  requires: { module: string; version: string; line: number }[];
}

function detect(input: DetectorInput): DetectorResult | undefined {
  const groups = groupFiles(input, classify);
  const sources = groups.get('source') ?? [];
  const evidence: string[] = [];
  const frameworks: Framework[] = [];
  let runtime: { version: string; evidence: string } | undefined;
  const read: FoundFile[] = [];
  for (const file of [...(groups.get('mod') ?? []), ...(groups.get('work') ?? [])]) {
    const text = input.tree.read(file.path);
    if (text === undefined) continue;
    read.push(file);
    const mod = parseGoMod(text);
    evidence.push(file.path);
    // The toolchain line names the exact Go that builds the module; `go` is the language floor.
    const pinned = mod.toolchain ?? mod.go;
    if (runtime === undefined && pinned) {
      runtime = { version: pinned.version, evidence: `${file.path}:${pinned.line}` };
    }
    for (const require of mod.requires) {
      const spec = FRAMEWORKS.get(require.module.replace(/\/v\d+$/, ''));
      if (spec) {
        addFramework(
          frameworks,
          spec,
          concreteVersion(require.version),
          `${file.path}:${require.line}`,
        );
      }
    }
  }
  const manifestDepth = shallowest(read.sort((a, b) => a.depth - b.depth));
  if (manifestDepth === undefined && sources.length === 0) return undefined;
  if (manifestDepth === undefined) evidence.push(sources[0]?.path ?? input.dir);
  if (runtime) pushUnique(evidence, runtime.evidence);

  const result: DetectorResult = {
    language: 'go',
    otherLanguages: [],
    runtime: runtime ? { name: 'go', version: runtime.version } : { name: 'go' },
    frameworks,
    evidence: [],
    sourceFiles: sources.length,
  };
  pushUnique(result.evidence, ...evidence);
  if (manifestDepth !== undefined) {
    result.packageManager = 'go';
    result.manifestDepth = manifestDepth;
  }
  return result;
}

/** Line-based: go.mod is simple enough that a parser is not worth a dependency. */
function parseGoMod(text: string): GoMod {
  const mod: GoMod = { requires: [] };
  let inRequire = false;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\/\/(?!\s*indirect).*$/, '').trim();
    const number = index + 1;
    if (inRequire) {
      if (line.startsWith(')')) inRequire = false;
      else addRequire(mod, line, number);
      return;
    }
    const directive = /^(?<keyword>go|toolchain|require)\s+(?<rest>.*)$/.exec(line)?.groups;
    if (!directive) return;
    const rest = directive.rest ?? '';
    if (directive.keyword === 'go') {
      const version = concreteVersion(rest);
      if (version !== undefined) mod.go = { version, line: number };
    } else if (directive.keyword === 'toolchain') {
      const version = /^go(?<version>\d+(?:\.\d+)*)/.exec(rest)?.groups?.version;
      if (version !== undefined) mod.toolchain = { version, line: number };
    } else if (rest.startsWith('(')) {
      inRequire = true;
    } else {
      addRequire(mod, rest, number);
    }
  });
  return mod;
}

function addRequire(mod: GoMod, line: string, number: number): void {
  if (/\/\/\s*indirect/.test(line)) return;
  const match = /^(?<module>\S+)\s+(?<version>v\S+)/.exec(line)?.groups;
  if (match?.module !== undefined && match.version !== undefined) {
    mod.requires.push({ module: match.module, version: match.version, line: number });
  }
}

export const goDetector: StackDetector = { id: 'go', detect };
