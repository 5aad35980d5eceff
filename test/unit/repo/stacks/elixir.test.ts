import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

function mix(deps: string, elixir = '~> 1.15'): string {
  return `defmodule X.MixProject do\n  def project, do: [app: :x, elixir: "${elixir}", deps: deps()]\n  defp deps do\n    [${deps}]\n  end\nend\n`;
}

describe('repo/stacks/elixir', () => {
  it.each([
    ['{:phoenix, "~> 1.7.14"}', 'phoenix', 'http', '1.7.14'],
    ['{:grpc, "~> 0.8"}', 'grpc', 'grpc', '0.8'],
    ['{:phoenix, github: "phoenixframework/phoenix"}', 'phoenix', 'http', undefined],
  ])('%s → %s', (dep, name, kind, version) => {
    const facts = stackOf({ 'mix.exs': mix(dep) });

    expect(facts.frameworks).toEqual([
      { name, kind, ...(version === undefined ? {} : { version }), evidence: 'mix.exs:4' },
    ]);
    expect(facts.runtime).toEqual({ name: 'elixir', version: '1.15' });
    expect(facts.packageManager).toBe('mix');
  });

  it('reads umbrella apps and skips fetched deps', () => {
    const files = {
      'mix.exs': mix(''),
      'apps/web/mix.exs': mix('{:phoenix, "1.7.14"}'),
      'deps/grpc/mix.exs': mix('{:grpc, "0.8.0"}'),
    };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => [f.name, f.evidence])).toEqual([
      ['phoenix', 'apps/web/mix.exs:4'],
    ]);
  });
});
