import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

describe('repo/stacks/go', () => {
  it.each([
    ['github.com/go-chi/chi/v5 v5.0.12', 'chi', '5.0.12'],
    ['github.com/go-chi/chi v1.5.5', 'chi', '1.5.5'],
    ['github.com/gorilla/mux v1.8.1', 'gorilla-mux', '1.8.1'],
    ['github.com/gofiber/fiber/v3 v3.0.0-beta.2', 'fiber', '3.0.0-beta.2'],
    ['github.com/labstack/echo/v4 v4.12.0', 'echo', '4.12.0'],
    ['google.golang.org/grpc v1.64.0', 'grpc', '1.64.0'],
  ])('single-line require %s → %s', (requirement, name, version) => {
    const files = { 'go.mod': `module x\n\ngo 1.22\n\nrequire ${requirement}\n` };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => [f.name, f.version, f.evidence])).toEqual([
      [name, version, 'go.mod:5'],
    ]);
  });

  it('ignores indirect requirements', () => {
    const files = {
      'go.mod':
        'module x\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.10.0 // indirect\n\tgithub.com/gorilla/mux v1.8.1\n)\n',
    };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => f.name)).toEqual(['gorilla-mux']);
  });

  it.each([
    ['go directive', 'module x\n\ngo 1.21\n', '1.21'],
    ['patch-level go directive', 'module x\n\ngo 1.22.3\n', '1.22.3'],
    ['toolchain over go', 'module x\n\ngo 1.21\ntoolchain go1.22.5\n', '1.22.5'],
    ['neither', 'module x\n', undefined],
  ])('runtime from the %s', (_label, goMod, expected) => {
    const facts = stackOf({ 'go.mod': goMod });

    expect(facts.runtime).toEqual({
      name: 'go',
      ...(expected === undefined ? {} : { version: expected }),
    });
  });

  it('reads go.work when there is no go.mod', () => {
    const facts = stackOf({ 'go.work': 'go 1.22\n\nuse ./svc\n' });

    expect(facts.language).toBe('go');
    expect(facts.runtime).toEqual({ name: 'go', version: '1.22' });
  });

  it('detects Go from sources alone, without a package manager', () => {
    const facts = stackOf({ 'main.go': 'package main' });

    expect(facts.language).toBe('go');
    expect(facts.packageManager).toBeUndefined();
    expect(facts.evidence).toEqual(['main.go']);
  });

  it('ignores go files under testdata and vendor', () => {
    const facts = stackOf({ 'testdata/a.go': '', 'vendor/b/b.go': '', 'vendor/modules.txt': '' });

    expect(facts.language).toBeUndefined();
  });
});
