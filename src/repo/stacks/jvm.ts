/**
 * Java and Kotlin on the JVM: Maven (pom.xml, with ${property} resolution) and Gradle (Groovy and
 * Kotlin DSL, gradle.properties, version catalogs). Gradle scripts are read as text, never run.
 * Kotlin is the language when its sources outnumber Java's, or on a tie when there is any Kotlin
 * evidence (the plugin or .kt files); the other language goes to otherLanguages.
 */
import type { Framework, Language } from '../schema.js';
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
  asArray,
  asRecord,
  asString,
  concreteVersion,
  escapeRegExp,
  evidenceAt,
  groupFiles,
  lineAt,
  lineOf,
  pushUnique,
  readToml,
  readXml,
  shallowest,
} from './detector.js';
import type { RepoTree } from '../tree.js';

const SPRING_BOOT: FrameworkSpec = { name: 'spring-boot', kind: 'http' };
const QUARKUS: FrameworkSpec = { name: 'quarkus', kind: 'http' };
const MICRONAUT: FrameworkSpec = { name: 'micronaut', kind: 'http' };
const KTOR: FrameworkSpec = { name: 'ktor', kind: 'http' };
const GRPC: FrameworkSpec = { name: 'grpc', kind: 'grpc' };

/** Maven coordinates → the frameworks they imply (a gRPC starter is Spring Boot and gRPC). */
function frameworksOf(group: string, artifact: string): FrameworkSpec[] {
  const found: FrameworkSpec[] = [];
  if (group === 'org.springframework.boot') found.push(SPRING_BOOT);
  if (group === 'io.quarkus' || group === 'io.quarkus.platform') found.push(QUARKUS);
  if (group.startsWith('io.micronaut')) found.push(MICRONAUT);
  if (group === 'io.ktor' && artifact.startsWith('ktor-server')) found.push(KTOR);
  const grpcServer =
    group === 'io.grpc' ||
    group === 'org.springframework.grpc' ||
    /grpc-(?:server-)?spring-boot-starter/.test(artifact) ||
    artifact === 'quarkus-grpc' ||
    artifact.startsWith('micronaut-grpc');
  if (grpcServer) found.push(GRPC);
  return found;
}

/** Gradle plugin id → framework, and whether the plugin's own version is the framework's. */
const PLUGINS: ReadonlyMap<string, { spec: FrameworkSpec; versioned: boolean }> = new Map([
  ['org.springframework.boot', { spec: SPRING_BOOT, versioned: true }],
  ['io.quarkus', { spec: QUARKUS, versioned: true }],
  ['io.micronaut.application', { spec: MICRONAUT, versioned: false }],
  ['io.micronaut.minimal.application', { spec: MICRONAUT, versioned: false }],
  ['io.micronaut.library', { spec: MICRONAUT, versioned: false }],
  ['io.ktor.plugin', { spec: KTOR, versioned: true }],
]);

/** A coordinate or plugin seen in a build file. */
interface Declared {
  group: string;
  artifact: string;
  version?: string;
  evidence: string;
}

interface BuildFacts {
  declared: Declared[];
  /** Frameworks implied by Gradle plugins, with the version when the plugin carries it. */
  plugins: { spec: FrameworkSpec; version?: string; evidence: string }[];
  javaVersion?: { version: string; evidence: string };
  kotlinPlugin: boolean;
}

type Group =
  'pom' | 'gradle' | 'settings' | 'properties' | 'catalog' | 'java' | 'kotlin' | 'kotlin-script';

function classify(name: string): Group | undefined {
  if (name === 'pom.xml') return 'pom';
  if (name === 'build.gradle' || name === 'build.gradle.kts') return 'gradle';
  if (name === 'settings.gradle' || name === 'settings.gradle.kts') return 'settings';
  if (name === 'gradle.properties') return 'properties';
  if (name.endsWith('.versions.toml')) return 'catalog';
  if (name.endsWith('.java')) return 'java';
  if (name.endsWith('.kt')) return 'kotlin';
  return undefined;
}

function detect(input: DetectorInput): DetectorResult | undefined {
  const { tree } = input;
  const groups = groupFiles(input, classify);
  const javaFiles = groups.get('java') ?? [];
  const kotlinFiles = groups.get('kotlin') ?? [];
  const facts: BuildFacts = { declared: [], plugins: [], kotlinPlugin: false };
  const evidence: string[] = [];

  const poms: FoundFile[] = [];
  const pomProperties = new Map<string, string>();
  const parsedPoms: ParsedFile[] = [];
  for (const file of groups.get('pom') ?? []) {
    const parsed = readXml(tree, file.path);
    if (!parsed) continue;
    poms.push(file);
    parsedPoms.push(parsed);
    // Shallowest first: a parent pom's properties are the defaults its modules inherit.
    for (const [key, value] of Object.entries(asRecord(projectOf(parsed)?.properties) ?? {})) {
      const text = asString(value);
      if (text !== undefined && !pomProperties.has(key)) pomProperties.set(key, text);
    }
  }
  for (const parsed of parsedPoms) readPom(parsed, pomProperties, facts);

  const gradleProperties = readGradleProperties(tree, groups.get('properties'));
  const catalogs = groups.get('catalog') ?? [];
  for (const file of catalogs) readCatalog(tree, file.path, facts);
  const gradleFiles: FoundFile[] = [];
  for (const file of [...(groups.get('gradle') ?? []), ...(groups.get('settings') ?? [])]) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    gradleFiles.push(file);
    readGradle(substitute(text, gradleProperties), file.path, facts);
  }
  gradleFiles.sort((a, b) => a.depth - b.depth);

  const pomDepth = shallowest(poms);
  const gradleDepth = shallowest(gradleFiles);
  const manifestDepth = shallowest(poms, gradleFiles);
  const sourceFiles = javaFiles.length + kotlinFiles.length;
  if (manifestDepth === undefined && sourceFiles === 0) return undefined;
  pushUnique(evidence, ...poms.map((f) => f.path), ...gradleFiles.map((f) => f.path));
  pushUnique(evidence, ...catalogs.map((f) => f.path));
  if (manifestDepth === undefined)
    pushUnique(evidence, (kotlinFiles[0] ?? javaFiles[0])?.path ?? input.dir);

  const frameworks: Framework[] = [];
  for (const plugin of facts.plugins) {
    addFramework(frameworks, plugin.spec, plugin.version, plugin.evidence);
  }
  for (const declared of facts.declared) {
    for (const spec of frameworksOf(declared.group, declared.artifact)) {
      addFramework(frameworks, spec, declared.version, declared.evidence);
    }
  }
  // Micronaut's Gradle plugin is versioned apart from the framework, which sits in a property.
  const micronaut = frameworks.find((f) => f.name === 'micronaut');
  const micronautVersion = concreteVersion(gradleProperties.get('micronautVersion'));
  if (micronaut && micronaut.version === undefined && micronautVersion !== undefined) {
    micronaut.version = micronautVersion;
  }

  const { language, otherLanguages } = languagesOf(
    javaFiles.length,
    kotlinFiles.length,
    facts.kotlinPlugin,
  );
  if (facts.javaVersion) pushUnique(evidence, facts.javaVersion.evidence);
  const result: DetectorResult = {
    language,
    otherLanguages,
    runtime: facts.javaVersion
      ? { name: 'java', version: facts.javaVersion.version }
      : { name: 'java' },
    frameworks,
    evidence,
    sourceFiles,
  };
  if (manifestDepth !== undefined) {
    result.manifestDepth = manifestDepth;
    result.packageManager =
      gradleDepth !== undefined && (pomDepth === undefined || gradleDepth < pomDepth)
        ? 'gradle'
        : 'maven';
  }
  return result;
}

function languagesOf(
  javaFiles: number,
  kotlinFiles: number,
  kotlinPlugin: boolean,
): { language: Language; otherLanguages: Language[] } {
  const kotlin =
    kotlinFiles > javaFiles || (kotlinFiles === javaFiles && (kotlinPlugin || kotlinFiles > 0));
  if (kotlin) return { language: 'kotlin', otherLanguages: javaFiles > 0 ? ['java'] : [] };
  return {
    language: 'java',
    otherLanguages: kotlinFiles > 0 || kotlinPlugin ? ['kotlin'] : [],
  };
}

function projectOf(parsed: ParsedFile): Record<string, unknown> | undefined {
  return asRecord(parsed.data.project);
}

/** Java 8 is still written "1.8" in many builds; report the feature release number. */
function javaRelease(version: string | undefined): string | undefined {
  if (version === undefined) return undefined;
  const normal = version.replace(/_/g, '.');
  const legacy = /^1\.(?<release>\d+)$/.exec(normal)?.groups?.release;
  return concreteVersion(legacy ?? normal);
}

function readPom(parsed: ParsedFile, inherited: Map<string, string>, facts: BuildFacts): void {
  const project = projectOf(parsed);
  if (!project) return;
  const own = asRecord(project.properties) ?? {};
  const parent = asRecord(project.parent);
  function resolve(value: unknown): string | undefined {
    const text = asString(value);
    if (text === undefined) return undefined;
    return text.replace(/\$\{(?<key>[^}]+)\}/g, (whole, key: string) => {
      if (key === 'project.version') return asString(project?.version) ?? whole;
      if (key === 'project.parent.version') return asString(parent?.version) ?? whole;
      return asString(own[key]) ?? inherited.get(key) ?? whole;
    });
  }
  function at(needle: string): string {
    return evidenceAt(parsed.path, lineOf(parsed.text, new RegExp(escapeRegExp(needle))));
  }
  function declare(entry: unknown): void {
    const record = asRecord(entry);
    const group = resolve(record?.groupId);
    const artifact = resolve(record?.artifactId);
    if (group === undefined || artifact === undefined) return;
    const version = concreteVersion(resolve(record?.version)?.replace(/\$\{[^}]*\}/g, ''));
    // Look for the artifactId as written, which may still be a ${property}.
    const written = asString(record?.artifactId) ?? artifact;
    facts.declared.push({ group, artifact, version, evidence: at(`<artifactId>${written}<`) });
    if (group === 'org.jetbrains.kotlin') facts.kotlinPlugin = true;
  }

  if (parent) declare(parent);
  const build = asRecord(project.build);
  const plugins = [
    ...asArray(asRecord(build?.plugins)?.plugin),
    ...asArray(asRecord(asRecord(build?.pluginManagement)?.plugins)?.plugin),
  ];
  plugins.forEach(declare);
  asArray(asRecord(asRecord(project.dependencyManagement)?.dependencies)?.dependency).forEach(
    declare,
  );
  asArray(asRecord(project.dependencies)?.dependency).forEach(declare);

  if (facts.javaVersion) return;
  const compiler = plugins
    .map(asRecord)
    .find((p) => asString(p?.artifactId) === 'maven-compiler-plugin');
  const configuration = asRecord(compiler?.configuration);
  const candidates: [string, unknown][] = [
    ['<java.version>', own['java.version'] ?? inherited.get('java.version')],
    [
      '<maven.compiler.release>',
      own['maven.compiler.release'] ?? inherited.get('maven.compiler.release'),
    ],
    ['<release>', configuration?.release],
    [
      '<maven.compiler.target>',
      own['maven.compiler.target'] ?? inherited.get('maven.compiler.target'),
    ],
    ['<target>', configuration?.target],
    [
      '<maven.compiler.source>',
      own['maven.compiler.source'] ?? inherited.get('maven.compiler.source'),
    ],
    ['<source>', configuration?.source],
  ];
  for (const [needle, value] of candidates) {
    const version = javaRelease(resolve(value));
    if (version !== undefined) {
      facts.javaVersion = { version, evidence: at(needle) };
      return;
    }
  }
}

/** gradle.properties of the service, shallowest winning: `key=value` lines. */
function readGradleProperties(tree: RepoTree, files: FoundFile[] | undefined): Map<string, string> {
  const properties = new Map<string, string>();
  for (const file of files ?? []) {
    const text = tree.read(file.path);
    if (text === undefined) continue;
    for (const line of text.split('\n')) {
      const match = /^\s*(?<key>[\w.-]+)\s*[=:]\s*(?<value>.*?)\s*$/.exec(line)?.groups;
      if (match?.key !== undefined && !properties.has(match.key)) {
        properties.set(match.key, match.value ?? '');
      }
    }
  }
  return properties;
}

/** Replaces "$name" and "${name}" with gradle.properties values, keeping the text's length in lines. */
function substitute(text: string, properties: Map<string, string>): string {
  if (properties.size === 0) return text;
  return text.replace(
    /\$\{(?<braced>[\w.]+)\}|\$(?<bare>\w+)/g,
    (whole, braced?: string, bare?: string) => properties.get(braced ?? bare ?? '') ?? whole,
  );
}

const COORDINATE =
  /["'](?<group>[\w.-]+):(?<artifact>[\w.-]+)(?::(?<version>[^"'@:\s]+))?(?::[\w-]+)?(?:@\w+)?["']/g;
const PLUGIN_ID =
  /\bid\s*\(?\s*["'](?<id>[\w.-]+)["']\s*\)?(?:\s*version\s*\(?\s*["'](?<version>[^"']+)["'])?/g;
const KOTLIN_PLUGIN =
  /\bkotlin\s*\(\s*["'](?:jvm|multiplatform|android|plugin\.[\w.]+)["']\s*\)|\bid\s*\(?\s*["']org\.jetbrains\.kotlin[\w.]*["']|apply\s+plugin\s*:\s*["']kotlin/;
/** Toolchains first: they name the JDK that runs; compatibility settings only the bytecode level. */
const GRADLE_JAVA_VERSION: readonly RegExp[] = [
  /JavaLanguageVersion\.of\(\s*["']?(?<version>\d+)["']?\s*\)/,
  /jvmToolchain\(\s*(?<version>\d+)\s*\)/,
  /sourceCompatibility\s*=\s*(?:JavaVersion\.VERSION_(?<version>[\d_]+)|JavaVersion\.toVersion\(\s*["']?(?<call>[\d.]+)["']?\s*\)|["']?(?<literal>[\d.]+)["']?)/,
  /targetCompatibility\s*=\s*(?:JavaVersion\.VERSION_(?<version>[\d_]+)|["']?(?<literal>[\d.]+)["']?)/,
  /jvmTarget(?:\.set\(|\s*=)\s*(?:JvmTarget\.JVM_(?<version>[\d_]+)|["'](?<literal>[\d.]+)["'])/,
];

function readGradle(text: string, path: string, facts: BuildFacts): void {
  for (const match of text.matchAll(COORDINATE)) {
    const { group, artifact, version } = match.groups ?? {};
    if (group === undefined || artifact === undefined) continue;
    facts.declared.push({
      group,
      artifact,
      version: concreteVersion(version),
      evidence: `${path}:${lineAt(text, match.index ?? 0)}`,
    });
  }
  for (const match of text.matchAll(PLUGIN_ID)) {
    const plugin = PLUGINS.get(match.groups?.id ?? '');
    if (!plugin) continue;
    const version = plugin.versioned ? concreteVersion(match.groups?.version) : undefined;
    facts.plugins.push({
      spec: plugin.spec,
      version,
      evidence: `${path}:${lineAt(text, match.index ?? 0)}`,
    });
  }
  const applied = /apply\s+plugin\s*:\s*["'](?<id>[\w.-]+)["']/g;
  for (const match of text.matchAll(applied)) {
    const plugin = PLUGINS.get(match.groups?.id ?? '');
    if (plugin) {
      facts.plugins.push({
        spec: plugin.spec,
        evidence: `${path}:${lineAt(text, match.index ?? 0)}`,
      });
    }
  }
  if (KOTLIN_PLUGIN.test(text)) facts.kotlinPlugin = true;
  if (facts.javaVersion) return;
  for (const pattern of GRADLE_JAVA_VERSION) {
    const match = pattern.exec(text);
    const groups = match?.groups;
    const version = javaRelease(groups?.version ?? groups?.call ?? groups?.literal);
    if (match && version !== undefined) {
      facts.javaVersion = { version, evidence: `${path}:${lineAt(text, match.index)}` };
      return;
    }
  }
}

/**
 * A Gradle version catalog: libraries and plugins count as declared, since build files refer to
 * them by alias (`libs.spring.boot.starter.web`), which cannot be resolved without running Gradle.
 */
function readCatalog(tree: RepoTree, path: string, facts: BuildFacts): void {
  const parsed = readToml(tree, path);
  if (!parsed) return;
  const versions = asRecord(parsed.data.versions) ?? {};
  function versionOf(entry: Record<string, unknown> | undefined): string | undefined {
    const version = entry?.version;
    const ref = asString(asRecord(version)?.ref) ?? asString(entry?.['version.ref']);
    return concreteVersion(ref !== undefined ? asString(versions[ref]) : asString(version));
  }
  function at(needle: string): string {
    return evidenceAt(path, lineOf(parsed?.text ?? '', new RegExp(escapeRegExp(needle))));
  }
  for (const value of Object.values(asRecord(parsed.data.libraries) ?? {})) {
    const entry = asRecord(value);
    const notation = asString(value) ?? asString(entry?.module);
    const [group, artifact, inline] = notation?.split(':') ?? [
      asString(entry?.group),
      asString(entry?.name),
    ];
    if (group === undefined || artifact === undefined) continue;
    facts.declared.push({
      group,
      artifact,
      version: concreteVersion(inline) ?? versionOf(entry),
      evidence: at(`${group}:${artifact}`),
    });
    if (group === 'org.jetbrains.kotlin') facts.kotlinPlugin = true;
  }
  for (const value of Object.values(asRecord(parsed.data.plugins) ?? {})) {
    const entry = asRecord(value);
    const [id, inline] = (asString(value) ?? asString(entry?.id) ?? '').split(':');
    if (id?.startsWith('org.jetbrains.kotlin')) facts.kotlinPlugin = true;
    const plugin = PLUGINS.get(id ?? '');
    if (!plugin) continue;
    facts.plugins.push({
      spec: plugin.spec,
      version: plugin.versioned ? (concreteVersion(inline) ?? versionOf(entry)) : undefined,
      evidence: at(`"${id}"`),
    });
  }
}

export const jvmDetector: StackDetector = { id: 'jvm', detect };
