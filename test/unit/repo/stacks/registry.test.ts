import type { Framework, StackFacts } from '../../../../src/repo/schema.js';
import { STACK_DETECTORS, detectStack } from '../../../../src/repo/stacks/registry.js';
import { walkTree } from '../../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../../support/temp-repo.js';
import { detectValid, fixtureTree, stackOf } from './stack-of.js';

afterAll(removeTempRepos);

interface Expected {
  language: StackFacts['language'];
  otherLanguages?: StackFacts['otherLanguages'];
  runtime: StackFacts['runtime'];
  packageManager: string | undefined;
  frameworks: Framework[];
}

function fw(name: string, kind: Framework['kind'], version: string | undefined, evidence: string) {
  return version === undefined ? { name, kind, evidence } : { name, kind, version, evidence };
}

describe('repo/stacks/registry', () => {
  describe('fixture repositories', () => {
    const cases: [string, Expected][] = [
      [
        'node-express',
        {
          language: 'javascript',
          runtime: { name: 'node', version: '20.11' },
          packageManager: 'npm',
          frameworks: [fw('express', 'http', '4.19.2', 'package.json:11')],
        },
      ],
      [
        'node-fastify-ts',
        {
          language: 'typescript',
          runtime: { name: 'node', version: '20.12.2' },
          packageManager: 'pnpm',
          frameworks: [fw('fastify', 'http', '4.27.0', 'package.json:7')],
        },
      ],
      [
        'node-nestjs',
        {
          language: 'typescript',
          runtime: { name: 'node', version: '18.20.3' },
          packageManager: 'yarn',
          frameworks: [fw('nestjs', 'http', '10.3.8', 'package.json:7')],
        },
      ],
      [
        'node-nextjs',
        {
          language: 'typescript',
          runtime: { name: 'node', version: '20.14.0' },
          packageManager: 'bun',
          frameworks: [
            fw('nextjs', 'http', '14.2.3', 'package.json:6'),
            fw('react', 'frontend', '18.3.1', 'package.json:7'),
          ],
        },
      ],
      [
        'node-grpc',
        {
          language: 'javascript',
          runtime: { name: 'node' },
          packageManager: 'npm',
          frameworks: [fw('grpc', 'grpc', '1.10.8', 'package.json:6')],
        },
      ],
      [
        'python-fastapi',
        {
          language: 'python',
          runtime: { name: 'python', version: '3.12' },
          packageManager: 'uv',
          frameworks: [fw('fastapi', 'http', '0.111.0', 'pyproject.toml:6')],
        },
      ],
      [
        'python-flask',
        {
          language: 'python',
          runtime: { name: 'python', version: '3.11.9' },
          packageManager: 'pip',
          frameworks: [fw('flask', 'http', '3.0.3', 'requirements.txt:2')],
        },
      ],
      [
        'python-django',
        {
          language: 'python',
          runtime: { name: 'python', version: '3.11.9' },
          packageManager: 'poetry',
          frameworks: [
            fw('django', 'http', '5.0.6', 'pyproject.toml:9'),
            fw('celery', 'worker', '5.4.0', 'pyproject.toml:10'),
          ],
        },
      ],
      [
        'python-grpc',
        {
          language: 'python',
          runtime: { name: 'python', version: '3.12' },
          packageManager: 'pipenv',
          frameworks: [fw('grpc', 'grpc', '1.64.0', 'Pipfile:7')],
        },
      ],
      [
        'python-aiohttp-setup',
        {
          language: 'python',
          runtime: { name: 'python', version: '3.10' },
          packageManager: 'pip',
          frameworks: [fw('aiohttp', 'http', '3.9.5', 'setup.py:9')],
        },
      ],
      [
        'go-gin',
        {
          language: 'go',
          runtime: { name: 'go', version: '1.22.4' },
          packageManager: 'go',
          frameworks: [fw('gin', 'http', '1.10.0', 'go.mod:8')],
        },
      ],
      [
        'go-echo',
        {
          language: 'go',
          runtime: { name: 'go', version: '1.21' },
          packageManager: 'go',
          frameworks: [fw('echo', 'http', '4.12.0', 'go.mod:5')],
        },
      ],
      [
        'go-fiber',
        {
          language: 'go',
          runtime: { name: 'go', version: '1.22' },
          packageManager: 'go',
          frameworks: [fw('fiber', 'http', '2.52.4', 'go.mod:6')],
        },
      ],
      [
        'go-grpc',
        {
          language: 'go',
          runtime: { name: 'go', version: '1.21.5' },
          packageManager: 'go',
          frameworks: [fw('grpc', 'grpc', '1.64.0', 'go.mod:6')],
        },
      ],
      [
        'java-spring-boot-maven',
        {
          language: 'java',
          runtime: { name: 'java', version: '21' },
          packageManager: 'maven',
          frameworks: [fw('spring-boot', 'http', '3.3.0', 'pom.xml:8')],
        },
      ],
      [
        'java-quarkus-maven',
        {
          language: 'java',
          runtime: { name: 'java', version: '17' },
          packageManager: 'maven',
          frameworks: [fw('quarkus', 'http', '3.11.0', 'pom.xml:17')],
        },
      ],
      [
        'java-micronaut-gradle',
        {
          language: 'java',
          runtime: { name: 'java', version: '17' },
          packageManager: 'gradle',
          frameworks: [fw('micronaut', 'http', '4.4.3', 'build.gradle:3')],
        },
      ],
      [
        'kotlin-ktor-gradle',
        {
          language: 'kotlin',
          runtime: { name: 'java', version: '17' },
          packageManager: 'gradle',
          frameworks: [fw('ktor', 'http', '2.3.11', 'build.gradle.kts:6')],
        },
      ],
      [
        'kotlin-java-spring-grpc',
        {
          language: 'kotlin',
          otherLanguages: ['java'],
          runtime: { name: 'java', version: '21' },
          packageManager: 'gradle',
          frameworks: [
            fw('spring-boot', 'http', '3.3.0', 'build.gradle.kts:2'),
            fw('grpc', 'grpc', '3.1.0', 'build.gradle.kts:16'),
          ],
        },
      ],
      [
        'dotnet-aspnet-grpc',
        {
          language: 'csharp',
          runtime: { name: 'dotnet', version: '8.0' },
          packageManager: 'dotnet',
          frameworks: [
            fw('aspnet-core', 'http', '8.0', 'src/Orders.Api/Orders.Api.csproj:1'),
            fw('grpc', 'grpc', '2.63.0', 'src/Orders.Api/Orders.Api.csproj:10'),
          ],
        },
      ],
      [
        'rust-actix',
        {
          language: 'rust',
          runtime: { name: 'rust', version: '1.79.0' },
          packageManager: 'cargo',
          frameworks: [fw('actix-web', 'http', '4.8', 'Cargo.toml:8')],
        },
      ],
      [
        'rust-axum-workspace',
        {
          language: 'rust',
          runtime: { name: 'rust', version: '1.78' },
          packageManager: 'cargo',
          frameworks: [
            fw('axum', 'http', '0.7.5', 'Cargo.toml:10'),
            fw('grpc', 'grpc', '0.11', 'Cargo.toml:11'),
          ],
        },
      ],
      [
        'ruby-rails',
        {
          language: 'ruby',
          runtime: { name: 'ruby', version: '3.3.1' },
          packageManager: 'bundler',
          frameworks: [
            fw('rails', 'http', '7.1.3.4', 'Gemfile:5'),
            fw('sidekiq', 'worker', '7.2.4', 'Gemfile:8'),
          ],
        },
      ],
      [
        'ruby-sinatra',
        {
          language: 'ruby',
          runtime: { name: 'ruby', version: '3.2.4' },
          packageManager: 'bundler',
          frameworks: [fw('sinatra', 'http', '4.0', 'Gemfile:3')],
        },
      ],
      [
        'php-laravel',
        {
          language: 'php',
          otherLanguages: ['javascript'],
          runtime: { name: 'php', version: '8.2' },
          packageManager: 'composer',
          frameworks: [fw('laravel', 'http', '11.9', 'composer.json:6')],
        },
      ],
      [
        'elixir-phoenix',
        {
          language: 'elixir',
          runtime: { name: 'elixir', version: '1.16.3' },
          packageManager: 'mix',
          frameworks: [fw('phoenix', 'http', '1.7.12', 'mix.exs:15')],
        },
      ],
      [
        'cpp-cmake-grpc',
        {
          language: 'cpp',
          runtime: undefined,
          packageManager: 'conan',
          frameworks: [fw('grpc', 'grpc', '1.54.3', 'conanfile.txt:2')],
        },
      ],
      ['c-make', { language: 'c', runtime: undefined, packageManager: 'make', frameworks: [] }],
    ];

    it.each(cases)('%s', (name, expected) => {
      const tree = fixtureTree(name);

      const facts = detectValid(tree);

      expect(facts.language).toBe(expected.language);
      expect(facts.otherLanguages).toEqual(expected.otherLanguages ?? []);
      expect(facts.runtime).toEqual(expected.runtime);
      expect(facts.packageManager).toBe(expected.packageManager);
      expect(facts.frameworks).toEqual(expected.frameworks);
      expect(facts.evidence.length).toBeGreaterThan(0);
      expect(tree.notes).toEqual([]);
    });
  });

  describe('monorepo scoping', () => {
    it.each([
      ['services/api', 'go', { name: 'go', version: '1.22' }, 'go', ['chi']],
      [
        'services/web',
        'javascript',
        { name: 'node', version: '20.14.0' },
        'npm',
        ['nextjs', 'react'],
      ],
      ['services/worker', 'python', { name: 'python' }, 'pip', ['celery']],
    ])('%s sees only its own files', (dir, language, runtime, packageManager, frameworks) => {
      const tree = fixtureTree('monorepo');

      const facts = detectValid(tree, dir);

      expect(facts.language).toBe(language);
      expect(facts.otherLanguages).toEqual([]);
      expect(facts.runtime).toEqual(runtime);
      expect(facts.packageManager).toBe(packageManager);
      expect(facts.frameworks.map((f) => f.name)).toEqual(frameworks);
      expect(facts.evidence.every((e) => e.startsWith(`${dir}/`) || !e.includes('/'))).toBe(true);
    });

    it('uses only the files the caller assigns to the service', () => {
      const tree = fixtureTree('monorepo');
      const apiOnly = tree.files.filter((f) => f.path.startsWith('services/api/'));

      const facts = detectStack(tree, '.', apiOnly);

      expect(facts.language).toBe('go');
      expect(facts.otherLanguages).toEqual([]);
      expect(facts.frameworks.map((f) => f.name)).toEqual(['chi']);
    });
  });

  describe('broken manifests', () => {
    it.each([
      ['broken-node', 'package.json', 'typescript', 'yarn', { name: 'node' }, []],
      ['broken-jvm', 'pom.xml', 'java', undefined, { name: 'java' }, []],
      ['broken-rust', 'Cargo.toml', 'rust', undefined, { name: 'rust', version: '1.79.0' }, []],
      ['broken-python', 'pyproject.toml', 'python', 'pip', { name: 'python' }, ['flask']],
      ['broken-dotnet', 'Api.csproj', 'csharp', undefined, { name: 'dotnet' }, []],
    ])(
      '%s: invalid %s is noted and ignored, the rest still counts',
      (name, manifest, language, packageManager, runtime, frameworks) => {
        const tree = fixtureTree(name);

        const facts = detectValid(tree);

        expect(facts.language).toBe(language);
        expect(facts.packageManager).toBe(packageManager);
        expect(facts.runtime).toEqual(runtime);
        expect(facts.frameworks.map((f) => f.name)).toEqual(frameworks);
        expect(facts.evidence).not.toContain(manifest);
        expect(tree.notes).toEqual([
          expect.objectContaining({ code: 'manifest-invalid', path: manifest }),
        ]);
      },
    );

    it('notes an invalid manifest once however often it is analysed', () => {
      const tree = fixtureTree('broken-node');

      detectStack(tree, '.');
      detectStack(tree, '.');

      expect(tree.notes).toHaveLength(1);
    });

    it.each([
      ['binary package.json', { 'package.json': Buffer.from([0x7b, 0x00, 0x7d]), 'index.js': '' }],
      ['package.json that is an array', { 'package.json': '[1, 2]', 'index.js': '' }],
      ['dependencies that are a string', { 'package.json': '{"dependencies": "express"}' }],
      ['pom without a project', { 'pom.xml': '<?xml version="1.0"?><settings/>', 'A.java': '' }],
      ['Cargo.toml with dependencies as a string', { 'Cargo.toml': 'dependencies = "axum"' }],
      ['composer.json with require as a list', { 'composer.json': '{"require": ["php"]}' }],
    ])('survives %s', (_label, files) => {
      const facts = stackOf(files);

      expect(facts.frameworks).toEqual([]);
    });
  });

  describe('empty directory', () => {
    it.each([['empty'], ['does/not/exist']])('%s → no language and empty lists', (dir) => {
      const tree = fixtureTree('empty-dir');

      const facts = detectValid(tree, dir);

      expect(facts).toEqual({ frameworks: [], otherLanguages: [], evidence: [] });
      expect(facts.language).toBeUndefined();
    });
  });

  describe('primary language', () => {
    it.each([
      [
        'a server framework beats a tooling package.json at the same depth',
        {
          'package.json': '{"devDependencies": {"prettier": "3"}}',
          'requirements.txt': 'django==5.0\n',
        },
        'python',
        ['javascript'],
      ],
      [
        'a root manifest beats a nested one',
        {
          'go.mod': 'module x\n\ngo 1.22\n',
          'web/package.json': '{"dependencies": {"next": "14"}}',
        },
        'go',
        ['javascript'],
      ],
      [
        'any manifest beats source files alone',
        { 'tools/Cargo.toml': '[package]\nname = "t"\n', 'a.py': '', 'b.py': '', 'c.py': '' },
        'rust',
        ['python'],
      ],
      [
        'more source files break a tie',
        { 'package.json': '{}', 'go.mod': 'module x\n', 'a.go': '', 'b.go': '', 'c.js': '' },
        'go',
        ['javascript'],
      ],
      [
        'registry order breaks a full tie',
        { 'package.json': '{}', 'go.mod': 'module x\n' },
        'javascript',
        ['go'],
      ],
      [
        'a Makefile that only runs go is no C evidence',
        { 'go.mod': 'module x\n', Makefile: 'build:\n\tgo build ./...\n' },
        'go',
        [],
      ],
    ])('%s', (_label, files, language, otherLanguages) => {
      const facts = stackOf(files);

      expect(facts.language).toBe(language);
      expect(facts.otherLanguages).toEqual(otherLanguages);
    });

    it('takes runtime and package manager from the primary language only', () => {
      const files = {
        'package.json': '{"engines": {"node": "20"}}',
        'yarn.lock': '',
        Gemfile: 'gem "rails", "7.1.0"\n',
        '.ruby-version': '3.3.0\n',
      };

      const facts = stackOf(files);

      expect(facts.language).toBe('ruby');
      expect(facts.runtime).toEqual({ name: 'ruby', version: '3.3.0' });
      expect(facts.packageManager).toBe('bundler');
      expect(facts.otherLanguages).toEqual(['javascript']);
    });

    it('de-duplicates frameworks, keeping the language-specific sighting', () => {
      const files = {
        'go.mod': 'module x\n\nrequire google.golang.org/grpc v1.64.0\n',
        'api/a.proto': 'service A {\n}\n',
      };

      const facts = stackOf(files);

      expect(facts.frameworks).toEqual([
        { name: 'grpc', kind: 'grpc', version: '1.64.0', evidence: 'go.mod:3' },
      ]);
    });
  });

  describe('STACK_DETECTORS', () => {
    it.each([
      ['node'],
      ['python'],
      ['go'],
      ['jvm'],
      ['dotnet'],
      ['rust'],
      ['ruby'],
      ['php'],
      ['elixir'],
      ['native'],
      ['proto'],
    ])('registers %s under its own id', (id) => {
      const detector = STACK_DETECTORS.get(id);

      expect(detector?.id).toBe(id);
    });

    it('has one entry per detector', () => {
      const ids = [...STACK_DETECTORS.values()].map((d) => d.id);

      expect(ids).toEqual([...STACK_DETECTORS.keys()]);
      expect(new Set(ids).size).toBe(11);
    });
  });

  describe('performance', () => {
    it('reads only manifests, never source files', () => {
      const files: Record<string, string> = {
        'package.json': '{"dependencies": {"express": "4"}}',
      };
      for (let i = 0; i < 50; i++) files[`src/m${i}.js`] = 'require("x")';
      const tree = walkTree(tempRepo(files));
      const read: string[] = [];
      const spied = { ...tree, read: (path: string) => (read.push(path), tree.read(path)) };

      detectStack(spied, '.');

      expect(read.filter((p) => p.endsWith('.js'))).toEqual([]);
    });
  });
});
