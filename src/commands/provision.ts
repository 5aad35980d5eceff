/**
 * `/ai-provision` with a request: the webhook side accepts it (target check → dedupe → 👀 →
 * "queued" status → enqueue) and returns; the worker side (runProvisionJob) runs the pipeline
 * and answers with a pull request. Nothing here builds a client or reads a raw payload.
 */
import type { Logger } from 'pino';
import type { JobContext, JobHandler, Queue, SubmitResult } from '../pool/index.js';
import { docsAnchor, refused, type ErrorCode } from '../outcome.js';
import type { PlanCheckpoints, PlanDeps, PlanResult } from '../pipeline.js';
import { runPlan } from '../pipeline.js';
import { postQueuedStatus, createProgress, type Progress } from '../deliver/status-comment.js';
import type { FinalStatus, ProgressStage } from '../deliver/status-text.js';
import { planSummary } from '../deliver/status-text.js';
import { pullRequestBranch, pullRequestContent } from '../deliver/pr-body.js';
import { upsertPullRequest } from '../deliver/pull-request.js';
import { renderTemplate } from '../deliver/templates.js';
import { codeSpanText, type ProvisionRequest } from '../request/index.js';
import type { RepoName, ScmClient } from '../scm/index.js';
import type { JobRecord, JobTarget, JobThread, Store } from '../store/index.js';
import { repoNameFromUrl, sameRepo } from './authorize.js';
import type { AppSettings, CommandRunner, EventRepository } from './deps.js';
import { replyRefused } from './reply.js';

/** Provision jobs are routed to runners with the llm label: the agents are most of their work. */
export const PROVISION_ROUTING = { kind: 'provision', label: 'llm', priority: 'NORMAL' } as const;

/** Hands a stored job to the queue: ids and routing only, the job itself stays in the Store. */
export function submitJob(queue: Queue, job: JobRecord): Promise<SubmitResult> {
  return queue.submit({
    id: job.id,
    kind: job.kind,
    label: job.label,
    priority: job.priority,
    lockKey: job.lockKey,
  });
}

/** Jobs on the same repository and branch run one at a time. */
export function lockKeyFor(target: RepoName, branch: string): string {
  return `${target.owner}/${target.repo}@${branch}`.toLowerCase();
}

/**
 * Where a request will be read from and delivered to. The thread's own repository needs no API
 * call (the webhook describes it); another one is looked up with the installation's token, which
 * also proves the installation can read it.
 */
export async function resolveTarget(
  request: ProvisionRequest,
  repository: EventRepository,
  scm: ScmClient,
  githubHost: string,
): Promise<
  { kind: 'ok'; target: JobTarget } | { kind: 'refused'; code: ErrorCode; message: string }
> {
  const name = repoNameFromUrl(request.gitRepo, githubHost);
  if (name === undefined) {
    return {
      kind: 'refused',
      code: 'repo-url-rejected',
      message: renderTemplate('app-repo-not-github', {
        url: codeSpanText(request.gitRepo),
        host: githubHost,
      }),
    };
  }
  const info = sameRepo(name, repository) ? repository : await scm.getRepo(name);
  if (info === undefined) {
    return {
      kind: 'refused',
      code: 'repo-not-readable',
      message: renderTemplate('app-repo-not-readable', { repo: `${name.owner}/${name.repo}` }),
    };
  }
  const branch = request.ref ?? info.defaultBranch;
  return {
    kind: 'ok',
    target: {
      owner: info.owner,
      repo: info.repo,
      branch,
      defaultBranch: info.defaultBranch,
      cloneUrl: info.cloneUrl,
    },
  };
}

/** The webhook side of `/ai-provision` with a request. */
export const acceptProvision: CommandRunner = async (command, event, _config, deps) => {
  if (command.subcommand !== 'provision') return;
  const { scm, store, log } = deps;
  const resolved = await resolveTarget(
    command.request,
    event.repository,
    scm,
    deps.settings.githubHost,
  );
  if (resolved.kind === 'refused') {
    await replyRefused(scm, event, refused(resolved.code, resolved.message), deps.settings);
    return;
  }
  const target = resolved.target;
  const lockKey = lockKeyFor(target, target.branch);
  const previous = await store.latestJobForThread(
    event.thread.owner,
    event.thread.repo,
    event.thread.issueNumber,
  );
  const { created, job } = await store.createJob({
    dedupeKey: `comment:${event.repository.owner}/${event.repository.repo}#${event.comment.id}`,
    request: command.request,
    lockKey,
    installationId: event.installationId,
    thread: event.thread,
    target,
    ...PROVISION_ROUTING,
  });
  if (!created) {
    log.info({ jobId: job.id, commentId: event.comment.id }, 'comment already has a job');
    return;
  }
  await scm.addReaction(event.repository, event.comment.id, 'eyes');
  const waitingBehind = await deps.queue.holderOf(lockKey);
  const statusComment = await postQueuedStatus(scm, {
    thread: event.thread,
    jobId: job.id,
    requestedBy: event.sender.login,
    gitRepo: command.request.gitRepo,
    ...(waitingBehind === undefined ? {} : { waitingBehind }),
    ...(previous?.statusComment === undefined
      ? {}
      : { supersedes: { nodeId: previous.statusComment.nodeId } }),
  });
  await store.updateJob(job.id, { statusComment, stage: 'queued' });
  await store.audit({
    at: new Date().toISOString(),
    actor: event.sender.login,
    action: 'provision.accepted',
    target: lockKey,
    jobId: job.id,
  });
  const submitted = await submitJob(deps.queue, job);
  log.info(
    {
      jobId: job.id,
      lockKey,
      accepted: submitted.accepted,
      waitingBehind: submitted.waitingBehind,
    },
    'job queued',
  );
};

// ---------------------------------------------------------------------------------------------
// The worker side

export interface JobDeps {
  store: Store;
  /** Re-authenticates as the job's installation (jobs carry an installation id, never a token). */
  scmFor(installationId: number | undefined): Promise<ScmClient>;
  /** Builds the pipeline's adapters for one job; `close` releases them. */
  planDeps(): Promise<{ deps: Omit<PlanDeps, 'onStage'>; close(): Promise<void> }>;
  settings: AppSettings;
  log: Logger;
  /** Told how long each stage took (metrics). */
  observeStage?: (stage: ProgressStage, seconds: number) => void;
  /** True once this process is shutting down: an aborted job is then left to resume, not cancelled. */
  shuttingDown?: () => boolean;
  /**
   * Most runs a job gets in all, whichever queue delivered them. A queue's own attempt count starts
   * again when a job is resubmitted (a restart, Redis losing its data), so a job that kills every
   * runner it lands on would otherwise come back for ever. Unlimited when absent.
   */
  maxRuns?: number;
}

/** The pool's handler for provision jobs. */
export function provisionHandler(deps: JobDeps): JobHandler {
  return (job, context) => runProvisionJob(job.id, context, deps);
}

/** A progress reporter that reports nowhere (dispatch jobs have no thread). */
function silentProgress(): Progress {
  return {
    stage: async () => {},
    finish: async () => {},
    statusComment: undefined,
    checkRunId: undefined,
  };
}

async function progressFor(job: JobRecord, scm: ScmClient, deps: JobDeps): Promise<Progress> {
  const thread: JobThread | undefined = job.thread;
  if (thread === undefined) return silentProgress();
  let headSha: string | undefined;
  if (thread.isPullRequest && job.checkRunId === undefined) {
    headSha = (await scm.getPullRequest(thread, thread.issueNumber))?.headSha;
  }
  return createProgress({
    scm,
    jobId: job.id,
    requestedBy: job.request.origin.requestedBy,
    gitRepo: job.request.gitRepo,
    thread,
    ...(job.statusComment === undefined ? {} : { statusComment: job.statusComment }),
    ...(headSha === undefined ? {} : { checkRunHeadSha: headSha }),
    ...(job.checkRunId === undefined ? {} : { existingCheckRunId: job.checkRunId }),
    minEditIntervalMs: deps.settings.statusEditMs,
    onError: (error) => deps.log.warn({ err: error, jobId: job.id }, 'progress update failed'),
  });
}

/** Thrown to ask the pool for another attempt; the job is back in the Store as queued. */
export class JobAttemptFailed extends Error {
  override name = 'JobAttemptFailed';
}

/**
 * Runs one stored job to its end and records the outcome. Expected failures (bad ref, config,
 * unreachable repository) end as `refused` with the user's message; anything else is `failed`,
 * shown as "internal error, job <id>", with the detail only in the log — but only on the last
 * attempt: before that the job goes back to `queued` and the error is thrown, so the pool retries
 * it after a backoff, resuming from the agents' checkpoints. A job the Store says is finished is
 * not run again, however often a queue delivers it.
 */
export async function runProvisionJob(
  jobId: string,
  context: JobContext,
  deps: JobDeps,
): Promise<void> {
  const { store } = deps;
  const job = await store.claimJob(jobId, context.runner);
  if (job === undefined) return;
  const log = deps.log.child({ jobId, attempt: context.attempt });
  if (deps.maxRuns !== undefined && job.attempts > deps.maxRuns) {
    log.error({ runs: job.attempts }, 'job started too often without finishing; giving up');
    const scm = await deps.scmFor(job.installationId);
    await (await progressFor(job, scm, deps)).finish({ kind: 'failed', jobId, retryable: false });
    await store.updateJob(jobId, {
      state: 'failed',
      finishedAt: new Date().toISOString(),
      error: { code: 'internal', message: `started ${job.attempts - 1} times without finishing` },
    });
    return;
  }
  const target = job.target;
  if (target === undefined) throw new Error(`job ${jobId} has no target`);
  const scm = await deps.scmFor(job.installationId);
  const progress = await progressFor(job, scm, deps);
  let current: { stage: ProgressStage; at: number } | undefined;
  const stage = (name: ProgressStage): void => {
    const at = performance.now();
    if (current !== undefined) deps.observeStage?.(current.stage, (at - current.at) / 1000);
    current = { stage: name, at };
    void progress.stage(name);
    void store.updateJob(jobId, { stage: name }).catch(() => undefined);
  };
  let final: FinalStatus;
  let state: JobRecord['state'];
  let pullRequest: JobRecord['pullRequest'];
  let error: JobRecord['error'];
  /** Set when this attempt should end as a retry instead of a final outcome. */
  let retry: { code: string; message: string; cause?: unknown } | undefined;
  let adapters: Awaited<ReturnType<JobDeps['planDeps']>> | undefined;
  try {
    adapters = await deps.planDeps();
    const token = await scm.cloneToken();
    const outcome = await runPlan(
      {
        source: job.request.gitRepo,
        description: job.request.appDescription,
        target: job.request.target,
        allowLocalPath: false,
        allowedHosts: [deps.settings.githubHost],
        cloneUrl: target.cloneUrl,
        fetch: {
          ...(token === undefined ? {} : { token }),
          ...(deps.settings.gitCaFile === undefined ? {} : { caFile: deps.settings.gitCaFile }),
          signal: context.signal,
        },
        ...(job.request.ref === undefined ? {} : { ref: job.request.ref }),
        ...(job.request.paths === undefined ? {} : { paths: job.request.paths }),
        ...(job.request.environment === undefined ? {} : { environment: job.request.environment }),
        ...(job.request.namespace === undefined ? {} : { namespace: job.request.namespace }),
      },
      { ...adapters.deps, onStage: stage, checkpoints: storeCheckpoints(store, jobId) },
    );
    if (outcome.kind === 'done' && outcome.value.document.services.length === 0) {
      const message = renderTemplate('app-no-services', { repo: job.request.gitRepo });
      final = {
        kind: 'refused',
        code: 'repo-no-services',
        message,
        docs: `${deps.settings.docsUrl}/${docsAnchor('repo-no-services')}`,
      };
      state = 'refused';
      error = { code: 'repo-no-services', message };
    } else if (outcome.kind === 'done') {
      const delivered = await deliver(outcome.value, job, target, scm, stage);
      final = delivered;
      state = 'done';
      if (delivered.kind === 'done') pullRequest = delivered.pullRequest;
    } else if (outcome.kind === 'refused') {
      final = {
        kind: 'refused',
        code: outcome.code,
        message: outcome.userMessage,
        ...(outcome.example === undefined ? {} : { example: outcome.example }),
        docs: `${deps.settings.docsUrl}/${docsAnchor(outcome.code)}`,
      };
      state = 'refused';
      error = { code: outcome.code, message: outcome.userMessage };
    } else {
      final = { kind: 'failed', jobId, retryable: outcome.retryable };
      state = 'failed';
      error = { code: outcome.code, message: outcome.userMessage };
      if (outcome.retryable) retry = { code: outcome.code, message: outcome.userMessage };
      log.warn({ code: outcome.code }, 'job failed');
    }
  } catch (thrown) {
    log.error({ err: thrown }, 'job crashed');
    final = { kind: 'failed', jobId, retryable: true };
    state = 'failed';
    error = { code: 'internal', message: 'internal error' };
    retry = { code: 'internal', message: 'internal error', cause: thrown };
  } finally {
    await adapters?.close();
  }
  if (current !== undefined)
    deps.observeStage?.(current.stage, (performance.now() - current.at) / 1000);
  if (context.signal.aborted) {
    if (deps.shuttingDown?.() === true) {
      // Shutting down: leave it queued, so the next start (or another runner) resumes it.
      await store.updateJob(jobId, { state: 'queued' });
      log.info('job interrupted by shutdown; it resumes at the next start');
      throw new JobAttemptFailed(`job ${jobId} was interrupted by a shutdown`);
    }
    final = { kind: 'cancelled', jobId };
    state = 'cancelled';
    retry = undefined;
    error = undefined;
  }
  if (retry !== undefined && !context.lastAttempt) {
    await store.updateJob(jobId, {
      state: 'queued',
      error: { code: retry.code, message: retry.message },
    });
    log.warn({ code: retry.code }, 'attempt failed; the pool retries the job after a backoff');
    throw new JobAttemptFailed(`job ${jobId} attempt ${context.attempt} failed: ${retry.code}`, {
      cause: retry.cause,
    });
  }
  await progress.finish(final);
  await store.updateJob(jobId, {
    state,
    finishedAt: new Date().toISOString(),
    ...(pullRequest === undefined ? {} : { pullRequest }),
    ...(error === undefined ? {} : { error }),
    ...(progress.checkRunId === undefined ? {} : { checkRunId: progress.checkRunId }),
  });
  await store.audit({
    at: new Date().toISOString(),
    actor: job.request.origin.requestedBy,
    action: `provision.${state}`,
    target: job.lockKey,
    jobId,
    ...(pullRequest === undefined ? {} : { detail: pullRequest.url }),
  });
}

/** The agents' checkpoints of one job, kept in the Store as '<stage>@<commit>'. */
function storeCheckpoints(store: Store, jobId: string): PlanCheckpoints {
  return {
    load: async (stage, commit) => (await store.loadCheckpoint(jobId, `${stage}@${commit}`))?.value,
    save: (stage, commit, value) => store.saveCheckpoint(jobId, `${stage}@${commit}`, value),
  };
}

/** Opens or updates the job's pull request; a plan with nothing to change opens none. */
async function deliver(
  result: PlanResult,
  job: JobRecord,
  target: JobTarget,
  scm: ScmClient,
  stage: (name: ProgressStage) => void,
): Promise<FinalStatus> {
  if (result.files.length === 0) {
    return { kind: 'no-change', summary: planSummary(result.document) };
  }
  if (result.base.commit === undefined) throw new Error('a cloned plan has no base commit');
  stage('opening-pr');
  const branch = pullRequestBranch({
    serviceNames: result.document.services.map((s) => s.name),
    repoName: target.repo,
    ...(job.request.environment === undefined ? {} : { environment: job.request.environment }),
  });
  const content = pullRequestContent({
    document: result.document,
    report: result.report,
    request: {
      gitRepo: job.request.gitRepo,
      appDescription: job.request.appDescription,
      requestedBy: job.request.origin.requestedBy,
      target: job.request.target,
      ...(job.request.environment === undefined ? {} : { environment: job.request.environment }),
    },
    reportPath: `${branch.replace(/^ai-provision\//, 'deploy/ai-provision/')}/report.md`,
    jobId: job.id,
    ...(job.thread === undefined
      ? {}
      : {
          thread: {
            owner: job.thread.owner,
            repo: job.thread.repo,
            issueNumber: job.thread.issueNumber,
          },
        }),
  });
  const pr = await upsertPullRequest(scm, {
    repo: { owner: target.owner, repo: target.repo },
    base: target.branch,
    baseCommit: result.base.commit,
    ...(result.base.tree === undefined ? {} : { baseTree: result.base.tree }),
    content,
    files: result.files.map((f) => ({ path: f.path, content: f.content })),
  });
  return {
    kind: 'done',
    pullRequest: { number: pr.number, url: pr.url, created: pr.created, changed: pr.changed },
    summary: planSummary(result.document),
    warnings: result.document.warnings,
  };
}
