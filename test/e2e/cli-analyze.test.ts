/**
 * The real `ai-provision` binary (dist/cli.js, built by `pretest`) run as a user would run it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RepoFacts } from '../../src/repo/schema.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('e2e/cli analyze', () => {
  it('prints the services of an example as tables', () => {
    const { status, stdout } = run(['analyze', 'examples/shop-monorepo']);

    expect(status).toBe(0);
    expect(stdout).toMatch(/^SERVICE\s+PATH\s+SOURCE\s+STACK/m);
    expect(stdout).toMatch(/^orders\s+services\/orders\s+dockerfile\s+go 1\.22\s+gin/m);
    expect(stdout).toContain('Existing deployments');
  });

  it('prints schema-valid RepoFacts with --json', () => {
    const { status, stdout } = run(['analyze', 'examples/python-fastapi-worker', '--json']);

    expect(status).toBe(0);
    const facts = RepoFacts.parse(JSON.parse(stdout));
    expect(facts.services.map((s) => s.name)).toEqual(['api', 'worker']);
  });

  it.each([
    ['a missing path', ['analyze', 'no/such/dir'], 'repo-path-not-found'],
    ['a plain-http URL', ['analyze', 'http://github.com/a/b'], 'repo-url-rejected'],
    ['an ssh URL', ['analyze', 'git@github.com:a/b.git'], 'repo-url-rejected'],
    [
      'a private address',
      ['analyze', 'https://10.0.0.5/a/b', '--allowed-host', '10.0.0.5'],
      'repo-url-rejected',
    ],
    ['credentials in the URL', ['analyze', 'https://user:pw@github.com/a/b'], 'repo-url-rejected'],
  ])('refuses %s with exit code 2 and a pointer to the docs', (_case, args, code) => {
    const { status, stdout, stderr } = run(args);

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`error [${code}]`);
    expect(stderr).toContain(`docs/errors.md#${code}`);
  });

  it('explains a bad option instead of crashing', () => {
    const { status, stderr } = run(['analyze', 'examples/shop-monorepo', '--paths', ',']);

    expect(status).not.toBe(0);
    expect(stderr).toContain('expected a comma-separated list');
  });
});
