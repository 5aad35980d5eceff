import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

function pkg(json: Record<string, unknown>): string {
  return JSON.stringify(json, null, 2);
}

describe('repo/stacks/node', () => {
  it.each([
    [
      'packageManager field over lockfile',
      { 'package.json': pkg({ packageManager: 'yarn@4.1.0' }), 'package-lock.json': '{}' },
      'yarn',
    ],
    ['pnpm lockfile', { 'package.json': '{}', 'pnpm-lock.yaml': '' }, 'pnpm'],
    ['binary bun lockfile', { 'package.json': '{}', 'bun.lockb': Buffer.from([0, 1, 2]) }, 'bun'],
    ['npm-shrinkwrap', { 'package.json': '{}', 'npm-shrinkwrap.json': '{}' }, 'npm'],
    ['no lockfile', { 'package.json': '{}' }, 'npm'],
    [
      'unknown packageManager falls back to the lockfile',
      { 'package.json': pkg({ packageManager: 'cargo@1' }), 'yarn.lock': '' },
      'yarn',
    ],
  ])('package manager: %s', (_label, files, expected) => {
    const facts = stackOf(files);

    expect(facts.packageManager).toBe(expected);
  });

  it('finds a workspace lockfile above the service directory', () => {
    const files = { 'pnpm-lock.yaml': '', 'apps/web/package.json': '{}' };

    const facts = stackOf(files, 'apps/web');

    expect(facts.packageManager).toBe('pnpm');
    expect(facts.evidence).toContain('pnpm-lock.yaml');
  });

  it.each([
    ['engines range', { 'package.json': pkg({ engines: { node: '>=18.0.0' } }) }, '18.0.0'],
    [
      '.nvmrc beats engines',
      { 'package.json': pkg({ engines: { node: '>=18' } }), '.nvmrc': 'v20.11.1\n' },
      '20.11.1',
    ],
    [
      'alias in .nvmrc falls back to engines',
      { 'package.json': pkg({ engines: { node: '^20.9' } }), '.nvmrc': 'lts/iron\n' },
      '20.9',
    ],
    ['.node-version', { 'package.json': '{}', '.node-version': '22.2.0' }, '22.2.0'],
    [
      '.tool-versions',
      { 'package.json': '{}', '.tool-versions': 'python 3.12.1\nnodejs 20.14.0\n' },
      '20.14.0',
    ],
    ['nothing pinned', { 'package.json': '{}' }, undefined],
  ])('runtime version: %s', (_label, files, expected) => {
    const facts = stackOf(files);

    expect(facts.runtime).toEqual({
      name: 'node',
      ...(expected === undefined ? {} : { version: expected }),
    });
  });

  it.each([
    ['koa', 'koa', 'http'],
    ['@hapi/hapi', 'hapi', 'http'],
    ['hapi', 'hapi', 'http'],
    ['vue', 'vue', 'frontend'],
    ['@angular/core', 'angular', 'frontend'],
    ['svelte', 'svelte', 'frontend'],
    ['@sveltejs/kit', 'svelte', 'frontend'],
    ['grpc', 'grpc', 'grpc'],
    ['@nestjs/core', 'nestjs', 'http'],
  ])('dependency %s → framework %s (%s)', (dep, name, kind) => {
    const files = { 'package.json': pkg({ name: 'x', devDependencies: { [dep]: '^3.1.0' } }) };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name, kind, version: '3.1.0', evidence: 'package.json:4' },
    ]);
  });

  it.each([['workspace:*'], ['latest'], ['*'], ['github:expressjs/express']])(
    'states no version for spec %p',
    (spec) => {
      const files = { 'package.json': pkg({ dependencies: { express: spec } }) };

      const facts = stackOf(files);

      expect(facts.frameworks).toEqual([
        { name: 'express', kind: 'http', evidence: 'package.json:3' },
      ]);
    },
  );

  it.each([
    [
      'typescript dependency without tsconfig',
      { 'package.json': pkg({ devDependencies: { typescript: '5' } }) },
      'typescript',
    ],
    [
      'tsconfig without the dependency',
      { 'package.json': '{}', 'tsconfig.build.json': '{}' },
      'typescript',
    ],
    ['plain package.json', { 'package.json': '{}', 'index.ts.bak': '' }, 'javascript'],
    ['only .ts sources', { 'src/a.ts': '', 'src/b.js': '' }, 'typescript'],
    [
      'only .js sources, declaration files ignored',
      { 'src/a.js': '', 'types/a.d.ts': '' },
      'javascript',
    ],
  ])('language: %s', (_label, files, expected) => {
    const facts = stackOf(files);

    expect(facts.language).toBe(expected);
  });

  it('has no package manager when there are only source files', () => {
    const facts = stackOf({ 'index.js': 'console.log(1)' });

    expect(facts.packageManager).toBeUndefined();
    expect(facts.evidence).toEqual(['index.js']);
  });

  it('collects frameworks from workspace packages below the service root', () => {
    const files = {
      'package.json': pkg({ workspaces: ['packages/*'] }),
      'packages/api/package.json': pkg({ dependencies: { fastify: '4.27.0' } }),
      'packages/ui/package.json': pkg({ dependencies: { react: '18.3.1' } }),
    };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => [f.name, f.evidence])).toEqual([
      ['fastify', 'packages/api/package.json:3'],
      ['react', 'packages/ui/package.json:3'],
    ]);
  });
});
