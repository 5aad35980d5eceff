import {
  concreteVersion,
  findUp,
  groupFiles,
  lineOf,
  toolVersion,
} from '../../../../src/repo/stacks/detector.js';
import { walkTree } from '../../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../../support/temp-repo.js';

afterAll(removeTempRepos);

describe('repo/stacks/detector', () => {
  describe('concreteVersion', () => {
    it.each([
      ['^4.18.2', '4.18.2'],
      ['~5.4.5', '5.4.5'],
      ['>=3.11,<4', '3.11'],
      ['~> 1.16', '1.16'],
      ['== 4.2.*', '4.2'],
      ['v1.9.1', '1.9.1'],
      ['18.x', '18'],
      ['python-3.12.1', '3.12.1'],
      ['ruby-3.3.1', '3.3.1'],
      ['3.2.0-SNAPSHOT', '3.2.0-SNAPSHOT'],
      ['2.15.0.RELEASE', '2.15.0'],
      ['14.2.3', '14.2.3'],
      ['*', undefined],
      ['latest', undefined],
      ['lts/iron', undefined],
      ['workspace:^1.0.0', undefined],
      ['npm:react@18.0.0', undefined],
      ['git+https://github.com/a/b.git#v1.2.3', undefined],
      ['file:../lib', undefined],
      ['', undefined],
      [undefined, undefined],
    ])('%p → %p', (spec, expected) => {
      const version = concreteVersion(spec);

      expect(version).toBe(expected);
    });
  });

  describe('lineOf', () => {
    it.each([
      [/"express"\s*:/, 3],
      [/^[ \t]*gem "rails"/m, 4],
      [/nowhere/, undefined],
    ])('%p → line %p', (pattern, expected) => {
      const text = '{\n  "description": "an express app",\n  "express": "4"\ngem "rails"\n';

      const line = lineOf(text, pattern);

      expect(line).toBe(expected);
    });
  });

  describe('toolVersion', () => {
    it.each([
      [['nodejs', 'node'], '20.11.0'],
      [['python'], '3.12.1'],
      [['elixir'], '1.16.3-otp-26'],
      [['ruby'], undefined],
    ])('%p → %p', (names, expected) => {
      const text = '# pins\nnodejs 20.11.0\npython 3.12.1 3.11.9\nelixir 1.16.3-otp-26\n';

      const version = toolVersion(text, names);

      expect(version).toBe(expected);
    });
  });

  describe('groupFiles', () => {
    it.each([
      ['.', ['package.json', 'web/package.json', 'packages/a/package.json']],
      ['web', ['web/package.json']],
    ])(
      'in %p finds manifests shallowest first, skipping vendored and output dirs',
      (dir, expected) => {
        const tree = walkTree(
          tempRepo({
            'packages/a/package.json': '{}',
            'web/package.json': '{}',
            'package.json': '{}',
            'vendor/x/package.json': '{}',
            'dist/package.json': '{}',
            'test/fixtures/app/package.json': '{}',
            'web/node_modules/y/package.json': '{}',
          }),
        );

        const groups = groupFiles({ tree, dir, files: tree.under(dir) }, (name) =>
          name === 'package.json' ? 'manifest' : undefined,
        );

        expect(groups.get('manifest')?.map((f) => f.path)).toEqual(expected);
      },
    );

    it('reports depth relative to the service directory', () => {
      const tree = walkTree(tempRepo({ 'svc/a/b/go.mod': '' }));

      const groups = groupFiles({ tree, dir: 'svc', files: tree.under('svc') }, () => 'any');

      expect(groups.get('any')).toEqual([{ path: 'svc/a/b/go.mod', name: 'go.mod', depth: 2 }]);
    });
  });

  describe('findUp', () => {
    it.each([
      ['services/web', 'services/web/yarn.lock'],
      ['services/api', 'pnpm-lock.yaml'],
      ['.', 'pnpm-lock.yaml'],
    ])('from %p finds %p', (start, expected) => {
      const tree = walkTree(
        tempRepo({ 'pnpm-lock.yaml': '', 'services/web/yarn.lock': '', 'services/api/x.js': '' }),
      );

      const found = findUp(tree, start, ['yarn.lock', 'pnpm-lock.yaml']);

      expect(found).toBe(expected);
    });

    it('returns undefined when nothing matches up to the root', () => {
      const tree = walkTree(tempRepo({ 'a/b/c.txt': '' }));

      const found = findUp(tree, 'a/b', ['.nvmrc']);

      expect(found).toBeUndefined();
    });
  });
});
