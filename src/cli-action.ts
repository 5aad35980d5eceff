/**
 * `ai-provision action`: what action.yml runs on a GitHub Actions runner. Reads the action's inputs
 * from the `INPUT_*` variables, runs the same pipeline with the same adapters as `plan`, and hands
 * back the plan files (under $RUNNER_TEMP), the step outputs ($GITHUB_OUTPUT), the report as the
 * step summary ($GITHUB_STEP_SUMMARY) and, when asked, one pull request in the workflow's own
 * repository. Problems are `::error::` workflow commands so they show in the Actions UI.
 */
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Octokit } from '@octokit/rest';
import type { Command } from 'commander';
import { z } from 'zod';
import { createPlanAdapters, writePlanFiles } from './cli-plan.js';
import { formatOutputs, stepSummary, workflowCommand } from './deliver/actions-summary.js';
import { pullRequestContent } from './deliver/pr-body.js';
import { upsertPullRequest, type PullRequestResult } from './deliver/pull-request.js';
import { renderTemplate } from './deliver/templates.js';
import { docsAnchor, type Failed, type Outcome, type Refused } from './outcome.js';
import { runPlan, type PlanResult } from './pipeline.js';
import type { ReasonerId } from './reasoners/reasoner.js';
import {
  DESCRIPTION_MAX,
  DESCRIPTION_MIN,
  ENVIRONMENTS,
  ProvisionRequest,
  TARGETS,
  type Environment,
  type Target,
} from './request/schema.js';
import { createGitHubScm, ScmError, type RepoName, type TreeFile } from './scm/index.js';

/** The inputs action.yml declares, as the workflow's `with:` names them. */
export const ACTION_INPUTS = [
  'git_repo',
  'path',
  'app_description',
  'reasoner',
  'target',
  'environment',
  'namespace',
  'open_pull_request',
  'github_token',
  'anthropic_api_key',
] as const;
export type ActionInputName = (typeof ACTION_INPUTS)[number];

/** Inputs whose values are masked in the log before anything else is written, and never printed. */
const SECRET_INPUTS: readonly ActionInputName[] = ['github_token', 'anthropic_api_key'];

export const ACTION_REASONERS = ['auto', 'offline', 'claude'] as const;

/** Where the plan files go: `$RUNNER_TEMP/ai-provision`. */
export const ACTION_OUTPUT_DIR = 'ai-provision';

/**
 * The environment variable GitHub sets for an input: `INPUT_` + the name upper-cased, spaces
 * replaced by `_`, hyphens and underscores kept as written.
 */
export function inputVariable(name: string): string {
  return `INPUT_${name.replaceAll(' ', '_').toUpperCase()}`;
}

/** One input problem; `input` is the name the workflow's `with:` uses. */
export interface InputProblem {
  input: string;
  message: string;
}

/** Where a pull request goes, taken from the runner's GITHUB_* variables. */
export interface PullRequestTarget {
  token: string;
  repo: RepoName;
  /** The branch the pull request targets: GITHUB_BASE_REF, else GITHUB_REF_NAME. */
  base: string;
  /** GITHUB_SHA: the commit the workflow runs on; the pull request's one commit has it as parent. */
  baseCommit: string;
  apiUrl: string;
  /** Prefix of the plan's repository-relative paths inside this repository ('' or ending in '/'). */
  pathPrefix: string;
}

export interface ActionInputs {
  /** `git_repo` as given, or `path` resolved against GITHUB_WORKSPACE (else the working directory). */
  source: { kind: 'url'; url: string } | { kind: 'path'; path: string };
  appDescription: string;
  /** undefined = choose as `plan` does: Claude when a key is set, else offline. */
  reasoner: ReasonerId | undefined;
  target: Target;
  environment?: Environment;
  namespace?: string;
  anthropicApiKey?: string;
  pullRequest?: PullRequestTarget;
}

function choice<const T extends readonly [string, ...string[]]>(input: ActionInputName, values: T) {
  return z.enum(values, {
    error: (issue) =>
      renderTemplate('action-input-choice', {
        input,
        value: String(issue.input),
        choices: values.map((v) => `\`${v}\``).join(', '),
      }),
  });
}

const YAML_BOOLEANS = ['true', 'True', 'TRUE', 'false', 'False', 'FALSE'] as const;

/** The inputs' own rules, one field each; rules across inputs and the runner are in parseActionInputs. */
const RawInputs = z.object({
  git_repo: z.string().optional(),
  path: z.string().optional(),
  app_description: z
    .string({ error: () => renderTemplate('action-input-missing-description', {}) })
    .min(DESCRIPTION_MIN, {
      error: (issue) =>
        renderTemplate('action-input-too-short', {
          input: 'app_description',
          length: String(String(issue.input).length),
          min: String(DESCRIPTION_MIN),
        }),
    })
    .max(DESCRIPTION_MAX, {
      error: (issue) =>
        renderTemplate('action-input-too-long', {
          input: 'app_description',
          length: String(String(issue.input).length),
          max: String(DESCRIPTION_MAX),
        }),
    }),
  reasoner: choice('reasoner', ACTION_REASONERS).optional(),
  target: choice('target', TARGETS).optional(),
  environment: choice('environment', ENVIRONMENTS).optional(),
  namespace: z
    .string()
    .refine((value) => ProvisionRequest.shape.namespace.safeParse(value).success, {
      error: (issue) =>
        renderTemplate('action-input-namespace', {
          input: 'namespace',
          value: String(issue.input),
        }),
    })
    .optional(),
  open_pull_request: z
    .enum(YAML_BOOLEANS, {
      error: (issue) =>
        renderTemplate('action-input-boolean', {
          input: 'open_pull_request',
          value: String(issue.input),
        }),
    })
    .optional(),
  github_token: z.string().optional(),
  anthropic_api_key: z.string().optional(),
});

/** Each input's value, trimmed as `core.getInput` does; an empty value counts as not given. */
function rawInputs(env: NodeJS.ProcessEnv): Partial<Record<ActionInputName, string>> {
  const raw: Partial<Record<ActionInputName, string>> = {};
  for (const name of ACTION_INPUTS) {
    const value = env[inputVariable(name)]?.trim();
    if (value !== undefined && value !== '') raw[name] = value;
  }
  return raw;
}

function pullRequestTarget(
  env: NodeJS.ProcessEnv,
  token: string,
  pathPrefix: string,
): { target?: PullRequestTarget; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const missing = (variable: string): void => {
    problems.push({
      input: 'open_pull_request',
      message: renderTemplate('action-env-missing', { variable }),
    });
  };
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo || rest.length > 0) missing('GITHUB_REPOSITORY');
  const baseCommit = env.GITHUB_SHA?.trim() ?? '';
  if (baseCommit === '') missing('GITHUB_SHA');
  const base = (env.GITHUB_BASE_REF?.trim() || env.GITHUB_REF_NAME?.trim()) ?? '';
  if (base === '') missing('GITHUB_REF_NAME');
  if (problems.length > 0) return { problems };
  return {
    problems,
    target: {
      token,
      repo: { owner: owner!, repo: repo! },
      base,
      baseCommit,
      apiUrl: env.GITHUB_API_URL?.trim() || 'https://api.github.com',
      pathPrefix,
    },
  };
}

/**
 * Reads and checks every input at once, so the workflow author sees all problems in one run. Reads
 * only `env`. Problems name the input and say how to fix it.
 */
export function parseActionInputs(
  env: NodeJS.ProcessEnv,
): { kind: 'ok'; inputs: ActionInputs } | { kind: 'invalid'; problems: InputProblem[] } {
  const raw = rawInputs(env);
  const parsed = RawInputs.safeParse(raw);
  const problems: InputProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({
        input: String(issue.path[0] ?? 'inputs'),
        message: issue.message,
      }));

  if (raw.git_repo !== undefined && raw.path !== undefined)
    problems.push({ input: 'git_repo', message: renderTemplate('action-input-exclusive', {}) });
  const hasKey = raw.anthropic_api_key !== undefined || (env.ANTHROPIC_API_KEY ?? '').trim() !== '';
  if (raw.reasoner === 'claude' && !hasKey)
    problems.push({
      input: 'anthropic_api_key',
      message: renderTemplate('action-input-needs-key', {}),
    });

  const workspace = resolve(env.GITHUB_WORKSPACE?.trim() || process.cwd());
  const localPath = resolve(workspace, raw.path ?? '.');
  const inWorkspace = relative(workspace, localPath);
  const outside = inWorkspace.startsWith('..') || isAbsolute(inWorkspace);

  const openPullRequest = raw.open_pull_request?.toLowerCase() === 'true';
  let pullRequest: PullRequestTarget | undefined;
  if (openPullRequest) {
    if (raw.github_token === undefined) {
      problems.push({
        input: 'github_token',
        message: renderTemplate('action-input-needs-token', {}),
      });
    } else {
      if (raw.git_repo === undefined && outside) {
        problems.push({
          input: 'path',
          message: renderTemplate('action-input-path-outside', {
            value: raw.path ?? '.',
            workspace,
          }),
        });
      }
      const prefix =
        raw.git_repo !== undefined || inWorkspace === '' || outside
          ? ''
          : `${inWorkspace.split(sep).join('/')}/`;
      const found = pullRequestTarget(env, raw.github_token, prefix);
      problems.push(...found.problems);
      pullRequest = found.target;
    }
  }

  if (!parsed.success || problems.length > 0) return { kind: 'invalid', problems };
  const value = parsed.data;
  const reasoner = value.reasoner ?? 'auto';
  return {
    kind: 'ok',
    inputs: {
      source:
        value.git_repo === undefined
          ? { kind: 'path', path: localPath }
          : { kind: 'url', url: value.git_repo },
      appDescription: value.app_description,
      reasoner: reasoner === 'auto' ? undefined : reasoner,
      target: value.target ?? 'kubernetes',
      ...(value.environment === undefined ? {} : { environment: value.environment }),
      ...(value.namespace === undefined ? {} : { namespace: value.namespace }),
      ...(value.anthropic_api_key === undefined
        ? {}
        : { anthropicApiKey: value.anthropic_api_key }),
      ...(pullRequest === undefined ? {} : { pullRequest }),
    },
  };
}

/**
 * A local source as the plan and report show it: relative to the working directory (the workspace
 * on a runner) when inside it, so no runner path ends up in a pull request; else absolute.
 */
function pathLabel(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  if (fromCwd === '') return '.';
  return fromCwd.startsWith('..') || isAbsolute(fromCwd) ? path : fromCwd;
}

/** Hosts a `git_repo` URL may name: github.com, plus this GitHub Enterprise Server's host. */
function allowedHosts(env: NodeJS.ProcessEnv): string[] {
  const hosts = ['github.com'];
  try {
    const host = new URL(env.GITHUB_SERVER_URL ?? '').hostname;
    if (host !== '' && !hosts.includes(host)) hosts.push(host);
  } catch {
    // No or no valid server URL: github.com only.
  }
  return hosts;
}

/** The directory for the plan files: $RUNNER_TEMP/ai-provision, else a fresh temporary directory. */
function outputDirectory(env: NodeJS.ProcessEnv): string {
  const runnerTemp = env.RUNNER_TEMP?.trim();
  if (runnerTemp) {
    const dir = join(runnerTemp, ACTION_OUTPUT_DIR);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  return mkdtempSync(join(tmpdir(), `${ACTION_OUTPUT_DIR}-`));
}

/** Writes the manifests, patched files, report.md, manifests.yaml and plan.json; returns plan.json's path. */
function writeActionFiles(dir: string, result: PlanResult): string {
  writePlanFiles(dir, result);
  if (result.manifests !== '') writeFileSync(join(dir, 'manifests.yaml'), result.manifests);
  const planFile = join(dir, 'plan.json');
  writeFileSync(planFile, `${JSON.stringify(result.document, null, 2)}\n`);
  return planFile;
}

async function openPullRequest(
  target: PullRequestTarget,
  inputs: ActionInputs,
  result: PlanResult,
  env: NodeJS.ProcessEnv,
): Promise<PullRequestResult> {
  const octokit = new Octokit({
    auth: target.token,
    baseUrl: target.apiUrl,
    userAgent: 'ai-provision-action',
  });
  const scm = createGitHubScm(octokit, { token: target.token });
  const server = (env.GITHUB_SERVER_URL?.trim() || 'https://github.com').replace(/\/$/, '');
  const thisRepo = `${server}/${target.repo.owner}/${target.repo.repo}`;
  const content = pullRequestContent({
    document: result.document,
    report: result.report,
    request: {
      gitRepo: inputs.source.kind === 'url' ? inputs.source.url : thisRepo,
      appDescription: inputs.appDescription,
      requestedBy: env.GITHUB_ACTOR?.trim() || 'github-actions',
      target: inputs.target,
      ...(inputs.environment === undefined ? {} : { environment: inputs.environment }),
    },
    reportPath: `${target.pathPrefix}ai-provision-report.md`,
    jobId: `actions-run-${env.GITHUB_RUN_ID?.trim() || 'local'}`,
  });
  const files: TreeFile[] = result.files.map((file) => ({
    path: `${target.pathPrefix}${file.path}`,
    content: file.content,
  }));
  return upsertPullRequest(scm, {
    repo: target.repo,
    base: target.base,
    baseCommit: target.baseCommit,
    content,
    files,
  });
}

function pullRequestLine(pr: PullRequestResult): string {
  const vars = { number: String(pr.number), url: pr.url };
  if (pr.created) return renderTemplate('action-pull-request-opened', vars);
  if (pr.changed) return renderTemplate('action-pull-request-updated', vars);
  return renderTemplate('action-pull-request-unchanged', vars);
}

function pullRequestFailure(error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error);
  return error instanceof ScmError && error.status === 403
    ? renderTemplate('action-pull-request-forbidden', { detail })
    : renderTemplate('action-pull-request-failed', { detail });
}

/** Appends to the step summary file when the runner gave one. */
function appendSummary(env: NodeJS.ProcessEnv, markdown: string): void {
  const file = env.GITHUB_STEP_SUMMARY?.trim();
  if (file) appendFileSync(file, stepSummary(markdown));
}

/** Step outputs go to $GITHUB_OUTPUT; outside a runner, to stdout so a local run still shows them. */
function writeOutputs(env: NodeJS.ProcessEnv, outputs: Record<string, string>): void {
  const text = formatOutputs(outputs);
  const file = env.GITHUB_OUTPUT?.trim();
  if (file) appendFileSync(file, text);
  else process.stdout.write(text);
}

function reportFailure(
  env: NodeJS.ProcessEnv,
  outcome: Refused | Failed,
  report: (o: Outcome<never>) => number,
): number {
  process.stdout.write(
    workflowCommand('error', outcome.userMessage, { title: `ai-provision: ${outcome.code}` }),
  );
  appendSummary(
    env,
    renderTemplate('action-failed', {
      code: outcome.code,
      message: outcome.userMessage,
      docs: docsAnchor(outcome.code),
    }),
  );
  return report(outcome);
}

/** The whole action; returns the exit code (0 done, 1 failed, 2 inputs or request refused). */
export async function runAction(
  env: NodeJS.ProcessEnv,
  helpers: { report<T>(outcome: Outcome<T>): number },
): Promise<number> {
  // Mask secrets before anything else is written, so no later line can show them.
  for (const name of SECRET_INPUTS) {
    const value = env[inputVariable(name)]?.trim();
    if (value) process.stdout.write(workflowCommand('add-mask', value));
  }
  const parsed = parseActionInputs(env);
  // Child processes (git) have no use for the secrets.
  for (const name of SECRET_INPUTS) delete process.env[inputVariable(name)];
  if (parsed.kind === 'invalid') {
    for (const problem of parsed.problems) {
      process.stdout.write(
        workflowCommand('error', problem.message, { title: `ai-provision input ${problem.input}` }),
      );
    }
    return 2;
  }
  const inputs = parsed.inputs;

  const reasonerEnv =
    inputs.anthropicApiKey === undefined
      ? env
      : { ...env, ANTHROPIC_API_KEY: inputs.anthropicApiKey };
  const adapters = await createPlanAdapters(inputs.reasoner, reasonerEnv);
  if (adapters.kind !== 'done') return reportFailure(env, adapters, helpers.report);
  let outcome: Outcome<PlanResult>;
  try {
    outcome = await runPlan(
      {
        source: inputs.source.kind === 'url' ? inputs.source.url : pathLabel(inputs.source.path),
        description: inputs.appDescription,
        target: inputs.target,
        allowLocalPath: inputs.source.kind === 'path',
        allowedHosts: allowedHosts(env),
        ...(inputs.environment === undefined ? {} : { environment: inputs.environment }),
        ...(inputs.namespace === undefined ? {} : { namespace: inputs.namespace }),
      },
      adapters.value.deps,
    );
  } finally {
    await adapters.value.close();
  }
  if (outcome.kind !== 'done') return reportFailure(env, outcome, helpers.report);
  const result = outcome.value;

  const planFile = writeActionFiles(outputDirectory(env), result);
  process.stderr.write(
    `${renderTemplate('action-done', {
      services: String(result.document.services.length),
      reasoner: result.document.reasoner,
      planFile,
    })}\n`,
  );

  let pullRequest: PullRequestResult | undefined;
  let pullRequestError: string | undefined;
  if (inputs.pullRequest !== undefined) {
    try {
      pullRequest = await openPullRequest(inputs.pullRequest, inputs, result, env);
    } catch (error) {
      pullRequestError = pullRequestFailure(error);
      process.stdout.write(
        workflowCommand('error', pullRequestError, { title: 'ai-provision: pull request' }),
      );
    }
  }

  const header = pullRequest === undefined ? pullRequestError : pullRequestLine(pullRequest);
  appendSummary(env, header === undefined ? result.report : `${header}\n\n${result.report}`);
  writeOutputs(env, {
    plan: JSON.stringify(result.document),
    plan_file: planFile,
    pull_request_url: pullRequest?.url ?? '',
  });
  return pullRequestError === undefined ? 0 : 1;
}

/** Adds `ai-provision action`, the entry action.yml runs. */
export function registerActionCommand(
  program: Command,
  helpers: { report<T>(outcome: Outcome<T>): number },
): void {
  program
    .command('action')
    .description(
      'Run as the GitHub Action: inputs from INPUT_* variables, outputs to $GITHUB_OUTPUT, the report to $GITHUB_STEP_SUMMARY, optionally a pull request.',
    )
    .action(async () => {
      process.exitCode = await runAction(process.env, helpers);
    });
}
