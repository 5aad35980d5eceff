/**
 * `ai-provision action` as a GitHub runner runs it (action.yml): the built CLI (dist/, built by
 * `pretest`) as a child process with the runner's variables — INPUT_* as action.yml passes them,
 * temporary GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, RUNNER_TEMP — and, for pull requests, the
 * real @octokit/rest client against the loopback fake GitHub API in this process (hence an async
 * child process: a synchronous one would block the fake's event loop).
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeGitHub, type FakeGitHub } from '../../src/bench/fake-github-api.js';
import { PR_LABEL, PR_MARKER } from '../../src/deliver/pr-body.js';
import { PlanDocument } from '../../src/render/plan-document.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const run = promisify(execFile);

const TOKEN = 'ghs_workflowtoken';
const BASE_SHA = 'a'.repeat(40);
const BASE_TREE = 'b'.repeat(40);
const DESCRIPTION =
  'Online shop: Go orders API, Spring Boot inventory, Next.js storefront; 2k QPS peak, 99.95% availability';

/** Every input as action.yml passes it: declared defaults, empty strings for unset inputs. */
const ACTION_DEFAULTS: Record<string, string> = {
  INPUT_GIT_REPO: '',
  INPUT_PATH: '',
  INPUT_APP_DESCRIPTION: '',
  INPUT_REASONER: 'auto',
  INPUT_TARGET: 'kubernetes',
  INPUT_ENVIRONMENT: '',
  INPUT_NAMESPACE: '',
  INPUT_OPEN_PULL_REQUEST: 'false',
  INPUT_GITHUB_TOKEN: TOKEN,
  INPUT_ANTHROPIC_API_KEY: '',
};

interface Runner {
  dir: string;
  outputFile: string;
  summaryFile: string;
  runnerTemp: string;
}

const runners: string[] = [];
afterAll(() => {
  for (const dir of runners) rmSync(dir, { recursive: true, force: true });
});

function newRunner(): Runner {
  const dir = mkdtempSync(join(tmpdir(), 'ai-provision-action-test-'));
  runners.push(dir);
  const runner = {
    dir,
    outputFile: join(dir, 'github_output'),
    summaryFile: join(dir, 'step_summary'),
    runnerTemp: join(dir, 'runner-temp'),
  };
  writeFileSync(runner.outputFile, '');
  writeFileSync(runner.summaryFile, '');
  mkdirSync(runner.runnerTemp);
  return runner;
}

interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/**
 * Runs the action with only the variables a runner would set (no ANTHROPIC_API_KEY, GITHUB_* or
 * INPUT_* leaking in from the environment the tests run in).
 */
async function runAction(runner: Runner, env: Record<string, string>): Promise<ActionRun> {
  const childEnv = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? runner.dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: ROOT,
    GITHUB_OUTPUT: runner.outputFile,
    GITHUB_STEP_SUMMARY: runner.summaryFile,
    RUNNER_TEMP: runner.runnerTemp,
    ...ACTION_DEFAULTS,
    ...env,
  };
  let code: number | null = 0;
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run(process.execPath, [CLI, 'action'], {
      cwd: ROOT,
      env: childEnv,
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    }));
  } catch (error) {
    const failure = error as ExecFileException & { stdout: string; stderr: string };
    code = typeof failure.code === 'number' ? failure.code : null;
    stdout = failure.stdout;
    stderr = failure.stderr;
  }
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputs(readFileSync(runner.outputFile, 'utf8')),
    summary: readFileSync(runner.summaryFile, 'utf8'),
  };
}

/** Reads a GITHUB_OUTPUT file as the runner does: `name=value` lines and `name<<DELIMITER` blocks. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  let index = 0;
  while (index < lines.length) {
    const line = lines[index]!;
    index += 1;
    if (line === '') continue;
    const heredoc = /^(?<name>[^=]+?)<<(?<delimiter>.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc.groups!.delimiter!, index);
      if (end < 0) throw new Error(`output ${heredoc.groups!.name} has no closing delimiter`);
      outputs[heredoc.groups!.name!] = lines.slice(index, end).join('\n');
      index = end + 1;
      continue;
    }
    const equals = line.indexOf('=');
    if (equals < 0) throw new Error(`not an output line: ${line}`);
    outputs[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return outputs;
}

const planEnv = {
  INPUT_PATH: 'examples/shop-monorepo',
  INPUT_APP_DESCRIPTION: DESCRIPTION,
  INPUT_REASONER: 'offline',
};

describe('e2e/action', () => {
  it('plans the workspace and hands back outputs, plan files and the step summary', async () => {
    const runner = newRunner();

    const result = await runAction(runner, planEnv);

    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    expect(Object.keys(result.outputs).sort()).toEqual(['plan', 'plan_file', 'pull_request_url']);
    expect(result.outputs.plan).not.toContain('\n');
    const document = PlanDocument.parse(JSON.parse(result.outputs.plan!));
    expect(document.reasoner).toBe('offline');
    expect(document.source).toBe('examples/shop-monorepo');
    expect(document.services.map((s) => s.name)).toEqual(['inventory', 'orders', 'storefront']);
    expect(result.outputs.pull_request_url).toBe('');
    const outDir = join(runner.runnerTemp, 'ai-provision');
    expect(result.outputs.plan_file).toBe(join(outDir, 'plan.json'));
    const fromFile = PlanDocument.parse(
      JSON.parse(readFileSync(result.outputs.plan_file!, 'utf8')),
    );
    expect(fromFile).toEqual(document);
    for (const file of document.services.flatMap((s) => s.files))
      expect(existsSync(join(outDir, file.path))).toBe(true);
    const report = readFileSync(join(outDir, 'report.md'), 'utf8');
    expect(result.summary).toBe(report.endsWith('\n') ? report : `${report}\n`);
    expect(result.summary).toContain('| field | value | reason | source |');
  });

  it('masks the token first and never prints it', async () => {
    const runner = newRunner();

    const result = await runAction(runner, planEnv);

    expect(result.stdout.split('\n')[0]).toBe(`::add-mask::${TOKEN}`);
    const everywhere = [
      result.stdout,
      result.stderr,
      result.summary,
      JSON.stringify(result.outputs),
    ];
    expect(everywhere.join('\n').split(TOKEN)).toHaveLength(2);
  });

  describe('with open_pull_request', () => {
    let fake: FakeGitHub;
    beforeAll(async () => {
      fake = await startFakeGitHub({
        repos: [
          {
            owner: 'acme',
            repo: 'shop',
            cloneUrl: 'https://github.com/acme/shop.git',
            commits: { [BASE_SHA]: { tree: BASE_TREE } },
            branches: { main: BASE_SHA },
          },
        ],
        acceptTokens: [TOKEN],
      });
    });
    afterAll(async () => {
      await fake.close();
    });

    const prEnv = (): Record<string, string> => ({
      ...planEnv,
      INPUT_OPEN_PULL_REQUEST: 'true',
      GITHUB_API_URL: fake.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_SHA: BASE_SHA,
      GITHUB_REF_NAME: 'main',
      GITHUB_BASE_REF: '',
      GITHUB_ACTOR: 'octocat',
      GITHUB_RUN_ID: '4242',
    });

    it('commits every file in one commit on the workflow’s commit and opens one pull request', async () => {
      const runner = newRunner();

      const result = await runAction(runner, prEnv());

      expect(result.stderr).not.toContain('error');
      expect(result.code).toBe(0);
      const document = PlanDocument.parse(JSON.parse(result.outputs.plan!));
      expect(fake.pulls).toHaveLength(1);
      const pull = fake.pulls[0]!;
      expect(pull).toMatchObject({ owner: 'acme', repo: 'shop', base: 'main', state: 'open' });
      expect(pull.head).toMatch(/^ai-provision\/[a-z0-9-]+$/);
      expect(pull.body.startsWith(PR_MARKER)).toBe(true);
      expect(pull.labels).toEqual([PR_LABEL]);
      expect(pull.body).not.toContain(ROOT);
      expect(result.outputs.pull_request_url).toMatch(
        new RegExp(`/acme/shop/pull/${pull.number}$`),
      );
      expect(result.summary).toContain(`[#${pull.number}](${result.outputs.pull_request_url})`);

      const trees = [...fake.trees.values()];
      expect(trees).toHaveLength(1);
      expect(trees[0]!.baseTree).toBe(BASE_TREE);
      const paths = trees[0]!.entries.map((e) => e.path);
      const planned = document.services.flatMap((s) =>
        s.files.map((f) => `examples/shop-monorepo/${f.path}`),
      );
      expect(planned.length).toBeGreaterThan(0);
      expect(paths).toEqual(expect.arrayContaining(planned));
      for (const path of planned) expect(path).toMatch(/^examples\/shop-monorepo\/deploy\//);
      const orders = trees[0]!.entries.find(
        (e) => e.path === 'examples/shop-monorepo/deploy/k8s/base/orders.yaml',
      );
      expect(orders?.content).toContain('kind: Deployment');

      const newCommits = [...fake.commits.entries()].filter(([sha]) => sha !== BASE_SHA);
      expect(newCommits).toHaveLength(1);
      const [commitSha, commit] = newCommits[0]!;
      expect(commit.parents).toEqual([BASE_SHA]);
      expect(fake.trees.get(commit.tree)).toBe(trees[0]);
      expect(fake.refs.get(`acme/shop:refs/heads/${pull.head}`)).toBe(commitSha);
      expect(fake.calls.every((c) => c.auth === 'token')).toBe(true);
    });

    it('finds the same pull request on a re-run and opens no second one', async () => {
      const before = { pulls: fake.pulls.length, commits: fake.commits.size };
      const number = fake.pulls[0]?.number;
      const runner = newRunner();

      const result = await runAction(runner, prEnv());

      expect(result.code).toBe(0);
      expect(before.pulls).toBe(1);
      expect(fake.pulls).toHaveLength(1);
      expect(fake.pulls[0]!.number).toBe(number);
      expect(fake.commits.size).toBe(before.commits);
      expect(result.outputs.pull_request_url).toMatch(new RegExp(`/pull/${number}$`));
      expect(result.summary).toContain('already holds these changes');
    });

    it('reports a refused write as an error naming the permissions to grant', async () => {
      fake.failNext('POST', /\/git\/trees$/, 403);
      const runner = newRunner();

      const result = await runAction(runner, prEnv());

      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^::error title=ai-provision%3A pull request::.*403/m);
      expect(result.stdout).toContain('pull-requests: write');
      expect(result.outputs.pull_request_url).toBe('');
      expect(PlanDocument.safeParse(JSON.parse(result.outputs.plan!)).success).toBe(true);
      expect(result.summary).toContain('could not be opened');
    });
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['no app_description', { INPUT_APP_DESCRIPTION: '' }, ['app_description']],
    ['a too short app_description', { INPUT_APP_DESCRIPTION: 'an api' }, ['app_description']],
    [
      'both git_repo and path',
      { INPUT_GIT_REPO: 'https://github.com/acme/shop', INPUT_PATH: 'examples/shop-monorepo' },
      ['git_repo'],
    ],
    ['an unknown reasoner', { INPUT_REASONER: 'gpt' }, ['reasoner']],
    [
      'several problems at once',
      { INPUT_TARGET: 'aws', INPUT_ENVIRONMENT: 'qa', INPUT_NAMESPACE: 'Bad_NS' },
      ['target', 'environment', 'namespace'],
    ],
    ['a non-boolean open_pull_request', { INPUT_OPEN_PULL_REQUEST: 'yes' }, ['open_pull_request']],
    [
      'open_pull_request without a token',
      { INPUT_OPEN_PULL_REQUEST: 'true', INPUT_GITHUB_TOKEN: '' },
      ['github_token'],
    ],
    [
      'open_pull_request outside a workflow run',
      { INPUT_OPEN_PULL_REQUEST: 'true' },
      ['open_pull_request', 'open_pull_request', 'open_pull_request'],
    ],
    ['reasoner claude without a key', { INPUT_REASONER: 'claude' }, ['anthropic_api_key']],
  ])('refuses %s with exit 2 and an ::error:: naming the input', async (_name, env, inputs) => {
    const runner = newRunner();

    const result = await runAction(runner, {
      INPUT_APP_DESCRIPTION: DESCRIPTION,
      INPUT_PATH: 'examples/shop-monorepo',
      ...env,
    });

    expect(result.code).toBe(2);
    const errors = result.stdout.split('\n').filter((line) => line.startsWith('::error'));
    expect(
      errors.map((line) => /^::error title=ai-provision input (\w+)::/.exec(line)?.[1]),
    ).toEqual(inputs);
    for (const [index, input] of inputs.entries()) expect(errors[index]).toContain(`\`${input}\``);
    expect(result.outputs).toEqual({});
    expect(result.summary).toBe('');
  });

  it('refuses a git_repo URL it may not fetch with exit 2, in the log and the summary', async () => {
    const runner = newRunner();

    const result = await runAction(runner, {
      INPUT_GIT_REPO: 'ssh://git@github.com/acme/shop.git',
      INPUT_APP_DESCRIPTION: DESCRIPTION,
      INPUT_REASONER: 'offline',
    });

    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^::error title=ai-provision%3A repo-url-rejected::git_repo /m);
    expect(result.stderr).toContain('error [repo-url-rejected]');
    expect(result.summary).toContain('docs/errors.md#repo-url-rejected');
    expect(result.outputs).toEqual({});
  });
});
