import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

describe('repo/stacks/ruby', () => {
  it.each([
    ["gem 'grpc', '~> 1.64'", 'grpc', 'grpc', '1.64'],
    ['gem "sidekiq"', 'sidekiq', 'worker', undefined],
    ['gem("sinatra", "4.0.0")', 'sinatra', 'http', '4.0.0'],
    ['  gem "rails", github: "rails/rails"', 'rails', 'http', undefined],
  ])('%s → %s', (line, name, kind, version) => {
    const files = { Gemfile: `source "https://rubygems.org"\n\n${line}\n` };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name, kind, ...(version === undefined ? {} : { version }), evidence: 'Gemfile:3' },
    ]);
    expect(facts.packageManager).toBe('bundler');
  });

  it('takes frameworks from Gemfile.lock when there is no Gemfile', () => {
    const files = {
      'Gemfile.lock':
        'GEM\n  specs:\n    rack (3.0.11)\n    sinatra (4.0.0)\n      rack (>= 3.0)\n',
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name: 'sinatra', kind: 'http', version: '4.0.0', evidence: 'Gemfile.lock:4' },
    ]);
  });

  it('does not report transitive gems from the lockfile when a Gemfile exists', () => {
    const files = {
      Gemfile: 'gem "my-engine"\n',
      'Gemfile.lock':
        'GEM\n  specs:\n    my-engine (1.0)\n      sidekiq (>= 7)\n    sidekiq (7.2.4)\n',
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([]);
  });

  it.each([
    ['.ruby-version', { '.ruby-version': '3.3.1\n', Gemfile: 'ruby "3.2.0"\n' }, '3.3.1'],
    ['Gemfile ruby directive', { Gemfile: "ruby '~> 3.2.2'\n" }, '3.2.2'],
    [
      'Gemfile.lock RUBY VERSION',
      { Gemfile: '', 'Gemfile.lock': 'RUBY VERSION\n   ruby 3.1.4p223\n' },
      '3.1.4',
    ],
    ['.tool-versions', { Gemfile: '', '.tool-versions': 'ruby 3.3.0\n' }, '3.3.0'],
  ])('runtime version from %s', (_label, files, version) => {
    const facts = stackOf(files);

    expect(facts.runtime).toEqual({ name: 'ruby', version });
  });

  it('ignores vendored bundles', () => {
    const facts = stackOf({ 'vendor/bundle/ruby/3.3.0/gems/rails-7.1.3/Gemfile': 'gem "rails"\n' });

    expect(facts.language).toBeUndefined();
  });

  it('detects Ruby from a rack config without a Gemfile', () => {
    const facts = stackOf({ 'config.ru': 'run App' });

    expect(facts.language).toBe('ruby');
    expect(facts.packageManager).toBeUndefined();
  });
});
