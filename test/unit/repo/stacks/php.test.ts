import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

function composer(json: Record<string, unknown>): string {
  return JSON.stringify(json, null, 2);
}

describe('repo/stacks/php', () => {
  it.each([
    ['symfony/framework-bundle', '7.1.*', 'symfony', 'http', '7.1'],
    ['symfony/symfony', '^6.4', 'symfony', 'http', '6.4'],
    ['laravel/framework', '^11.0', 'laravel', 'http', '11.0'],
    ['grpc/grpc', '^1.57', 'grpc', 'grpc', '1.57'],
    ['spiral/roadrunner-grpc', '^3.3', 'grpc', 'grpc', '3.3'],
  ])('%s → %s', (dep, spec, name, kind, version) => {
    const files = { 'composer.json': composer({ require: { [dep]: spec } }) };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([{ name, kind, version, evidence: 'composer.json:3' }]);
    expect(facts.packageManager).toBe('composer');
  });

  it.each([
    ['require.php', { require: { php: '>=8.1' } }, '8.1'],
    [
      'config.platform.php over require.php',
      { require: { php: '^8.1' }, config: { platform: { php: '8.3.7' } } },
      '8.3.7',
    ],
    ['nothing', { require: {} }, undefined],
  ])('runtime version from %s', (_label, json, version) => {
    const facts = stackOf({ 'composer.json': composer(json) });

    expect(facts.runtime).toEqual({ name: 'php', ...(version === undefined ? {} : { version }) });
  });

  it('ignores composer.json files of vendored packages', () => {
    const files = {
      'composer.json': composer({ require: { php: '^8.2' } }),
      'vendor/laravel/framework/composer.json': composer({
        require: { 'laravel/framework': '11.0' },
      }),
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([]);
    expect(facts.evidence).not.toContain('vendor/laravel/framework/composer.json');
  });
});
