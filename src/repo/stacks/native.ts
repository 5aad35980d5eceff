/**
 * C and C++: CMake, Make, Meson, Conan and vcpkg. Which of the two it is comes from the source files
 * present, then from what the build declares (CMake/Meson languages, the compiler a Makefile calls);
 * C++ when nothing says. A Makefile counts only when it calls a C or C++ compiler: Go and Python
 * projects use Make as a task runner.
 */
import type { Framework, Language } from '../schema.js';
import type { DetectorInput, DetectorResult, FoundFile, StackDetector } from './detector.js';
import {
  addFramework,
  asArray,
  asRecord,
  asString,
  concreteVersion,
  extensionOf,
  groupFiles,
  lineAt,
  pushUnique,
  readJson,
  shallowest,
} from './detector.js';

type Group = 'cmake' | 'make' | 'meson' | 'conan' | 'vcpkg' | 'c' | 'cpp';

const CPP_EXTENSIONS = new Set(['cc', 'cpp', 'cxx', 'c++', 'hpp', 'hh', 'hxx', 'ipp']);

function classify(name: string): Group | undefined {
  if (name === 'CMakeLists.txt') return 'cmake';
  if (name === 'Makefile' || name === 'makefile' || name === 'GNUmakefile') return 'make';
  if (name === 'meson.build') return 'meson';
  if (name === 'conanfile.txt' || name === 'conanfile.py') return 'conan';
  if (name === 'vcpkg.json') return 'vcpkg';
  const ext = extensionOf(name);
  // Headers named .h are shared by both languages, so they decide nothing.
  if (ext === 'c') return 'c';
  if (CPP_EXTENSIONS.has(ext)) return 'cpp';
  return undefined;
}

/** What the build files say about the language, and the gRPC they link. */
interface Declared {
  c: boolean;
  cpp: boolean;
}

const GRPC = { name: 'grpc', kind: 'grpc' } as const;
const CPP_COMPILER = /(?:^|[\s=(])(?:g\+\+|clang\+\+|c\+\+)(?=[\s;)]|$)|\$\(CXX\)|\bCXXFLAGS\b/m;
const C_COMPILER = /(?:^|[\s=(])(?:gcc|clang|cc)(?=[\s;)]|$)|\$\(CC\)|\bCFLAGS\b/m;

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const cFiles = groups.get('c') ?? [];
  const cppFiles = groups.get('cpp') ?? [];
  const declared: Declared = { c: false, cpp: false };
  const frameworks: Framework[] = [];
  const used: { group: Group; file: FoundFile }[] = [];

  for (const group of ['conan', 'vcpkg', 'cmake', 'meson', 'make'] as const) {
    for (const file of groups.get(group) ?? []) {
      const text = tree.read(file.path);
      if (text === undefined) continue;
      if (readBuildFile(group, file.path, text, declared, frameworks, input)) {
        used.push({ group, file });
      }
    }
  }

  const manifests = used.map((u) => u.file).sort((a, b) => a.depth - b.depth);
  const manifestDepth = shallowest(manifests);
  const sourceFiles = cFiles.length + cppFiles.length;
  if (manifestDepth === undefined && sourceFiles === 0) return undefined;
  const evidence = manifests.map((f) => f.path);
  if (manifestDepth === undefined)
    pushUnique(evidence, (cppFiles[0] ?? cFiles[0])?.path ?? input.dir);

  const language: Language =
    cFiles.length > cppFiles.length || (sourceFiles === 0 && declared.c && !declared.cpp)
      ? 'c'
      : 'cpp';
  const other: Language = language === 'c' ? 'cpp' : 'c';
  const otherPresent =
    (other === 'c' ? cFiles.length : cppFiles.length) > 0 ||
    (other === 'c' ? declared.c : declared.cpp);

  const result: DetectorResult = {
    language,
    otherLanguages: otherPresent ? [other] : [],
    frameworks,
    evidence,
    sourceFiles,
  };
  // The first group in priority order that was read names the tool: a dependency manager (conan,
  // vcpkg) over the build system generator (cmake, meson) over plain make.
  if (used[0]) result.packageManager = used[0].group;
  if (manifestDepth !== undefined) result.manifestDepth = manifestDepth;
  return result;
}

/** Reads one build file; false when it is not evidence of C/C++ (a Makefile with no compiler). */
function readBuildFile(
  group: Group,
  path: string,
  text: string,
  declared: Declared,
  frameworks: Framework[],
  input: DetectorInput,
): boolean {
  if (group === 'cmake') {
    for (const project of text.matchAll(/\bproject\s*\((?<args>[^)]*)\)/gi)) {
      const args = (project.groups?.args ?? '').split(/\s+/);
      if (args.includes('CXX')) declared.cpp = true;
      if (args.includes('C')) declared.c = true;
    }
    if (/CMAKE_CXX_STANDARD/.test(text)) declared.cpp = true;
    if (/CMAKE_C_STANDARD/.test(text)) declared.c = true;
    const grpc = /find_package\s*\(\s*gRPC\b/.exec(text);
    if (grpc) addFramework(frameworks, GRPC, undefined, `${path}:${lineAt(text, grpc.index)}`);
    return true;
  }
  if (group === 'meson') {
    const project = /\bproject\s*\((?<args>[^)]*)\)/.exec(text)?.groups?.args ?? '';
    if (/["']cpp["']/.test(project)) declared.cpp = true;
    if (/["']c["']/.test(project)) declared.c = true;
    return true;
  }
  if (group === 'make') {
    const cpp = CPP_COMPILER.test(text);
    const c = C_COMPILER.test(text);
    if (cpp) declared.cpp = true;
    else if (c) declared.c = true;
    return cpp || c;
  }
  if (group === 'conan') {
    const grpc = /^[ \t]*["']?grpc\/(?<version>[\w.-]+)/m.exec(text);
    if (grpc) {
      const evidence = `${path}:${lineAt(text, grpc.index)}`;
      addFramework(frameworks, GRPC, concreteVersion(grpc.groups?.version), evidence);
    }
    return true;
  }
  // vcpkg.json: dependencies are names or { name } objects.
  const manifest = readJson(input.tree, path);
  if (!manifest) return false;
  const names = asArray(manifest.data.dependencies).map(
    (d) => asString(d) ?? asString(asRecord(d)?.name),
  );
  if (names.includes('grpc')) {
    const index = text.indexOf('"grpc"');
    addFramework(
      frameworks,
      GRPC,
      undefined,
      index === -1 ? path : `${path}:${lineAt(text, index)}`,
    );
  }
  return true;
}

export const nativeDetector: StackDetector = { id: 'native', detect };
