import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

function pom(inner: string): string {
  return `<?xml version="1.0"?>\n<project>\n  <modelVersion>4.0.0</modelVersion>\n${inner}\n</project>\n`;
}

describe('repo/stacks/jvm', () => {
  it.each([
    [
      'maven-compiler-plugin release',
      '<build><plugins><plugin><artifactId>maven-compiler-plugin</artifactId><configuration><release>11</release></configuration></plugin></plugins></build>',
      '11',
    ],
    [
      'legacy 1.8 source level',
      '<properties><maven.compiler.source>1.8</maven.compiler.source></properties>',
      '8',
    ],
    [
      'java.version over compiler target',
      '<properties><maven.compiler.target>17</maven.compiler.target><java.version>21</java.version></properties>',
      '21',
    ],
    [
      'a property reference',
      '<properties><jdk>17</jdk><maven.compiler.release>${jdk}</maven.compiler.release></properties>',
      '17',
    ],
    [
      'an unresolvable reference',
      '<properties><maven.compiler.release>${jdk}</maven.compiler.release></properties>',
      undefined,
    ],
  ])('maven java version from %s', (_label, inner, expected) => {
    const facts = stackOf({ 'pom.xml': pom(inner) });

    expect(facts.runtime).toEqual({
      name: 'java',
      ...(expected === undefined ? {} : { version: expected }),
    });
    expect(facts.packageManager).toBe('maven');
  });

  it('inherits properties from the parent pom of a multi-module build', () => {
    const files = {
      'pom.xml': pom(
        '<properties><java.version>17</java.version><boot.version>3.2.5</boot.version></properties><modules><module>app</module></modules>',
      ),
      'app/pom.xml': pom(
        '<dependencies><dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-web</artifactId><version>${boot.version}</version></dependency></dependencies>',
      ),
    };

    const facts = stackOf(files);

    expect(facts.runtime).toEqual({ name: 'java', version: '17' });
    expect(facts.frameworks).toEqual([
      { name: 'spring-boot', kind: 'http', version: '3.2.5', evidence: 'app/pom.xml:4' },
    ]);
  });

  it.each([
    [
      'micronaut parent',
      '<parent><groupId>io.micronaut.platform</groupId><artifactId>micronaut-parent</artifactId><version>4.4.2</version></parent>',
      'micronaut',
      '4.4.2',
    ],
    [
      'grpc-java',
      '<dependencies><dependency><groupId>io.grpc</groupId><artifactId>grpc-netty-shaded</artifactId><version>1.64.0</version></dependency></dependencies>',
      'grpc',
      '1.64.0',
    ],
    [
      'lognet grpc starter',
      '<dependencies><dependency><groupId>io.github.lognet</groupId><artifactId>grpc-spring-boot-starter</artifactId><version>5.1.5</version></dependency></dependencies>',
      'grpc',
      '5.1.5',
    ],
    [
      'ktor server',
      '<dependencies><dependency><groupId>io.ktor</groupId><artifactId>ktor-server-netty-jvm</artifactId><version>2.3.11</version></dependency></dependencies>',
      'ktor',
      '2.3.11',
    ],
  ])('maven framework from %s', (_label, inner, name, version) => {
    const facts = stackOf({ 'pom.xml': pom(inner) });

    expect(facts.frameworks.map((f) => [f.name, f.version])).toEqual([[name, version]]);
  });

  it('ignores a ktor client, which serves nothing', () => {
    const inner =
      '<dependencies><dependency><groupId>io.ktor</groupId><artifactId>ktor-client-cio</artifactId></dependency></dependencies>';

    const facts = stackOf({ 'pom.xml': pom(inner) });

    expect(facts.frameworks).toEqual([]);
  });

  it('treats the kotlin-maven-plugin as Kotlin', () => {
    const inner =
      '<build><plugins><plugin><groupId>org.jetbrains.kotlin</groupId><artifactId>kotlin-maven-plugin</artifactId></plugin></plugins></build>';

    const facts = stackOf({ 'pom.xml': pom(inner) });

    expect(facts.language).toBe('kotlin');
  });

  it.each([
    ['JavaVersion enum', 'sourceCompatibility = JavaVersion.VERSION_1_8', '8'],
    ['JavaVersion 17 enum', 'java { sourceCompatibility = JavaVersion.VERSION_17 }', '17'],
    ['quoted Groovy literal', "sourceCompatibility = '11'", '11'],
    [
      'toolchain set()',
      'java { toolchain { languageVersion.set(JavaLanguageVersion.of(21)) } }',
      '21',
    ],
    [
      'toolchain over compatibility',
      "sourceCompatibility = '11'\njava { toolchain { languageVersion = JavaLanguageVersion.of(17) } }",
      '17',
    ],
    ['kotlin jvmTarget', 'kotlin { compilerOptions { jvmTarget.set(JvmTarget.JVM_17) } }', '17'],
    ['nothing', 'plugins { id("java") }', undefined],
  ])('gradle java version from %s', (_label, script, expected) => {
    const facts = stackOf({ 'build.gradle': script });

    expect(facts.runtime).toEqual({
      name: 'java',
      ...(expected === undefined ? {} : { version: expected }),
    });
    expect(facts.packageManager).toBe('gradle');
  });

  it.each([
    ["apply plugin: 'org.springframework.boot'", 'spring-boot', undefined],
    ["id 'io.quarkus' version '3.11.0'", 'quarkus', '3.11.0'],
    ['implementation("io.quarkus:quarkus-grpc")', 'quarkus', undefined],
    [
      "implementation 'org.springframework.boot:spring-boot-starter-webflux:3.2.1'",
      'spring-boot',
      '3.2.1',
    ],
    ['implementation("io.micronaut.grpc:micronaut-grpc-runtime")', 'micronaut', undefined],
  ])('gradle framework from %s', (script, name, version) => {
    const facts = stackOf({ 'build.gradle': `plugins { id 'java' }\n${script}\n` });

    expect(facts.frameworks[0]).toEqual({
      name,
      kind: 'http',
      ...(version === undefined ? {} : { version }),
      evidence: 'build.gradle:2',
    });
  });

  it('resolves gradle.properties in an enforced Quarkus platform', () => {
    const files = {
      'gradle.properties':
        'quarkusPlatformGroupId=io.quarkus.platform\nquarkusPlatformArtifactId=quarkus-bom\nquarkusPlatformVersion=3.11.0\n',
      'build.gradle':
        'dependencies {\n    implementation enforcedPlatform("${quarkusPlatformGroupId}:${quarkusPlatformArtifactId}:${quarkusPlatformVersion}")\n}\n',
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name: 'quarkus', kind: 'http', version: '3.11.0', evidence: 'build.gradle:2' },
    ]);
  });

  it('reads plugins and libraries from a version catalog', () => {
    const files = {
      'settings.gradle.kts': 'rootProject.name = "x"\n',
      'app/build.gradle.kts': 'plugins {\n    alias(libs.plugins.spring.boot)\n}\n',
      'gradle/libs.versions.toml': [
        '[versions]',
        'boot = "3.3.1"',
        'grpc = "1.64.0"',
        '[libraries]',
        'grpc-netty = { module = "io.grpc:grpc-netty", version.ref = "grpc" }',
        '[plugins]',
        'spring-boot = { id = "org.springframework.boot", version.ref = "boot" }',
      ].join('\n'),
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      {
        name: 'spring-boot',
        kind: 'http',
        version: '3.3.1',
        evidence: 'gradle/libs.versions.toml:7',
      },
      { name: 'grpc', kind: 'grpc', version: '1.64.0', evidence: 'gradle/libs.versions.toml:5' },
    ]);
  });

  it.each([
    [
      'more Java than Kotlin, with the Kotlin plugin',
      'kotlin("jvm")',
      ['A.java', 'B.java', 'C.kt'],
      'java',
      ['kotlin'],
    ],
    ['Kotlin plugin and no sources', 'kotlin("jvm") version "1.9.24"', [], 'kotlin', []],
    ['Kotlin sources, no plugin', '', ['A.kt'], 'kotlin', []],
    ['only Java', '', ['A.java'], 'java', []],
    [
      'equal counts with the Kotlin plugin',
      'id("org.jetbrains.kotlin.jvm")',
      ['A.java', 'B.kt'],
      'kotlin',
      ['java'],
    ],
    ['equal counts without it', '', ['A.java', 'B.kt'], 'kotlin', ['java']],
  ])('polyglot: %s', (_label, plugin, sources, language, otherLanguages) => {
    const files: Record<string, string> = { 'build.gradle.kts': `plugins {\n  ${plugin}\n}\n` };
    for (const source of sources) files[`src/main/x/${source}`] = '';

    const facts = stackOf(files);

    expect(facts.language).toBe(language);
    expect(facts.otherLanguages).toEqual(otherLanguages);
  });

  it('ignores poms under build output', () => {
    const facts = stackOf({
      'target/classes/META-INF/maven/x/pom.xml': pom(''),
      'build/pom.xml': pom(''),
    });

    expect(facts.language).toBeUndefined();
  });
});
