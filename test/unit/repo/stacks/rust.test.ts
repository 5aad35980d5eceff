import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

describe('repo/stacks/rust', () => {
  it.each([
    ['rocket = "0.5.1"', 'rocket', 'http', '0.5.1'],
    ['axum = { version = "0.7", features = ["macros"] }', 'axum', 'http', '0.7'],
    ['tonic = "0.11.0"', 'grpc', 'grpc', '0.11.0'],
    ['actix-web = { git = "https://github.com/actix/actix-web" }', 'actix-web', 'http', undefined],
  ])('%s → %s', (dependency, name, kind, version) => {
    const files = { 'Cargo.toml': `[package]\nname = "x"\n\n[dependencies]\n${dependency}\n` };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name, kind, ...(version === undefined ? {} : { version }), evidence: 'Cargo.toml:5' },
    ]);
  });

  it('reads target-specific dependencies but not dev-dependencies', () => {
    const files = {
      'Cargo.toml':
        '[package]\nname = "x"\n[dev-dependencies]\naxum = "0.7"\n[target.\'cfg(unix)\'.dependencies]\nrocket = "0.5"\n',
    };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => f.name)).toEqual(['rocket']);
  });

  it.each([
    [
      'rust-toolchain.toml channel',
      { 'rust-toolchain.toml': '[toolchain]\nchannel = "1.79.0"\n' },
      '1.79.0',
    ],
    ['legacy rust-toolchain', { 'rust-toolchain': '1.77.2\n' }, '1.77.2'],
    [
      'legacy rust-toolchain in TOML',
      { 'rust-toolchain': '[toolchain]\nchannel = "1.76"\n' },
      '1.76',
    ],
    [
      'a named channel falls back to rust-version',
      { 'rust-toolchain.toml': '[toolchain]\nchannel = "stable"\n' },
      '1.70',
    ],
    ['rust-version alone', {}, '1.70'],
  ])('runtime version from %s', (_label, extra, version) => {
    const files = { 'Cargo.toml': '[package]\nname = "x"\nrust-version = "1.70"\n', ...extra };

    const facts = stackOf(files);

    expect(facts.runtime).toEqual({ name: 'rust', version });
    expect(facts.packageManager).toBe('cargo');
  });

  it('ignores crates under target/', () => {
    const facts = stackOf({ 'target/package/x/Cargo.toml': '[package]\nname = "x"\n' });

    expect(facts.language).toBeUndefined();
  });
});
