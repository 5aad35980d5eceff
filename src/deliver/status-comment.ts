/**
 * Shows a job's progress where it was asked: ONE status comment in the thread, edited per stage
 * (Atlantis "Processing..." then the result), and on pull requests an "ai-provision" check run.
 * Stage edits are coalesced so a fast job does not spend GitHub's rate limit on edits nobody reads;
 * the final write always happens. Progress is best effort: a failed write is reported through
 * onError and never fails the job. All text comes from status-text.ts.
 */
import type { CheckConclusion, CheckRunOutput, RepoName, ScmClient } from '../scm/index.js';
import type { JobThread } from '../store/index.js';
import { fitBody } from './fit.js';
import { finalComment, progressComment } from './status-text.js';
import type { FinalStatus, ProgressStage } from './status-text.js';

/** The check run's name on pull requests. */
export const CHECK_RUN_NAME = 'ai-provision';
/** GitHub refuses check run summaries longer than this many characters. */
export const CHECK_RUN_SUMMARY_LIMIT = 65_535;
/** Default minimum time between two edits of the status comment. */
export const DEFAULT_MIN_EDIT_INTERVAL_MS = 1000;

export interface ProgressOptions {
  scm: ScmClient;
  jobId: string;
  requestedBy: string;
  gitRepo: string;
  thread: JobThread;
  /** Existing status comment to edit (created at acceptance); else one is created on first write. */
  statusComment?: { id: number; nodeId: string };
  /** PR threads: head sha for a check run named "ai-provision" (created on first stage, completed by finish). */
  checkRunHeadSha?: string;
  existingCheckRunId?: number;
  /**
   * Edits closer together than this are coalesced (only the latest is written, at most one edit per
   * interval); the final write always happens. Default 1000 ms. Uses setTimeout; clock injectable.
   */
  minEditIntervalMs?: number;
  now?: () => number;
}

export interface Progress {
  /** Records the stage; writes the comment now or within the coalescing interval. Never throws (logs via onError). */
  stage(stage: ProgressStage, detail?: string): Promise<void>;
  /** Writes the final comment (cancelling any pending coalesced edit) and completes the check run (success/neutral/failure). */
  finish(status: FinalStatus): Promise<void>;
  readonly statusComment: { id: number; nodeId: string } | undefined;
  readonly checkRunId: number | undefined;
}

const CONCLUSIONS: Record<FinalStatus['kind'], CheckConclusion> = {
  done: 'success',
  'no-change': 'neutral',
  refused: 'failure',
  failed: 'failure',
  cancelled: 'cancelled',
};

/** The check run conclusion for a job's final status. */
export function checkConclusion(status: FinalStatus): CheckConclusion {
  return CONCLUSIONS[status.kind];
}

/**
 * A check run output from a status comment body: the title is its first line of text as plain text
 * (markers, heading marks, links and emphasis stripped), the summary the body fitted to GitHub's
 * summary limit.
 */
export function checkRunOutput(body: string): CheckRunOutput {
  const line =
    body
      .split('\n')
      .map((text) =>
        text
          .replace(/<!--.*?-->/g, '')
          .replace(/^\s*#+\s*/, '')
          .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
          .replace(/[*`]/g, '')
          .trim(),
      )
      .find((text) => text !== '') ?? CHECK_RUN_NAME;
  return { title: line, summary: fitBody(body, CHECK_RUN_SUMMARY_LIMIT).body };
}

function repoOf(thread: JobThread): RepoName {
  return { owner: thread.owner, repo: thread.repo };
}

export function createProgress(
  options: ProgressOptions & { onError?: (error: unknown) => void },
): Progress {
  const { scm, thread } = options;
  const repo = repoOf(thread);
  const interval = options.minEditIntervalMs ?? DEFAULT_MIN_EDIT_INTERVAL_MS;
  const now = options.now ?? Date.now;
  const onError = options.onError ?? (() => undefined);

  let comment = options.statusComment;
  let checkRunId = options.existingCheckRunId;
  let checkRunTried = checkRunId !== undefined;
  /** When the last comment write started; undefined while idle. */
  let lastWriteAt: number | undefined;
  let latest: { stage: ProgressStage; detail?: string } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  /** Writes run one after another, so the final body always lands last. */
  let writes: Promise<void> = Promise.resolve();

  async function writeComment(body: string): Promise<void> {
    if (comment === undefined) {
      const created = await scm.createComment(repo, thread.issueNumber, body);
      comment = { id: created.id, nodeId: created.nodeId };
    } else {
      await scm.updateComment(repo, comment.id, body);
    }
  }

  async function createCheckRun(body: string): Promise<void> {
    if (checkRunTried || options.checkRunHeadSha === undefined) return;
    checkRunTried = true;
    checkRunId = await scm.createCheckRun(repo, {
      name: CHECK_RUN_NAME,
      headSha: options.checkRunHeadSha,
      status: 'in_progress',
      output: checkRunOutput(body),
    });
  }

  /** Runs one write; its failure goes to onError and the job goes on. */
  async function attempt(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      try {
        onError(error);
      } catch {
        // A failing reporter must not fail the job either.
      }
    }
  }

  /** Queues a write behind the ones in flight, so they land in order and the final body last. */
  function enqueue(write: () => Promise<void>): Promise<void> {
    writes = writes.then(() => attempt(write));
    return writes;
  }

  function writeLatest(): Promise<void> {
    const current = latest;
    if (current === undefined) return writes;
    latest = undefined;
    lastWriteAt = now();
    return enqueue(async () => {
      const body = progressComment({
        jobId: options.jobId,
        stage: current.stage,
        requestedBy: options.requestedBy,
        gitRepo: options.gitRepo,
        ...(current.detail === undefined ? {} : { detail: current.detail }),
      });
      await attempt(() => writeComment(body));
      await createCheckRun(body);
    });
  }

  async function stage(name: ProgressStage, detail?: string): Promise<void> {
    if (finished) return;
    latest = { stage: name, ...(detail === undefined ? {} : { detail }) };
    if (timer !== undefined) return;
    const wait = lastWriteAt === undefined ? 0 : lastWriteAt + interval - now();
    if (wait <= 0) {
      await writeLatest();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      void writeLatest();
    }, wait);
  }

  async function finish(status: FinalStatus): Promise<void> {
    if (finished) return;
    finished = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    latest = undefined;
    await enqueue(async () => {
      const body = finalComment({
        jobId: options.jobId,
        requestedBy: options.requestedBy,
        gitRepo: options.gitRepo,
        status,
      });
      await attempt(() => writeComment(body));
      // A job that ends before its first stage still gets a check run: created, then completed.
      await attempt(() => createCheckRun(body));
      if (checkRunId === undefined) return;
      await scm.updateCheckRun(repo, checkRunId, {
        status: 'completed',
        conclusion: checkConclusion(status),
        output: checkRunOutput(body),
      });
    });
  }

  return {
    stage,
    finish,
    get statusComment() {
      return comment;
    },
    get checkRunId() {
      return checkRunId;
    },
  };
}

/**
 * Creates the first "queued" status comment at acceptance and minimizes `supersedes` (the previous
 * job's status comment in the thread); a failed minimize is ignored, it is cosmetic.
 */
export async function postQueuedStatus(
  scm: ScmClient,
  input: {
    thread: JobThread;
    jobId: string;
    requestedBy: string;
    gitRepo: string;
    waitingBehind?: string;
    supersedes?: { nodeId: string };
  },
): Promise<{ id: number; nodeId: string }> {
  const body = progressComment({
    jobId: input.jobId,
    stage: 'queued',
    requestedBy: input.requestedBy,
    gitRepo: input.gitRepo,
    ...(input.waitingBehind === undefined ? {} : { waitingBehind: input.waitingBehind }),
  });
  const created = await scm.createComment(repoOf(input.thread), input.thread.issueNumber, body);
  if (input.supersedes !== undefined && input.supersedes.nodeId !== created.nodeId) {
    try {
      await scm.minimizeComment(input.supersedes.nodeId);
    } catch {
      // Collapsing the old comment is cosmetic; the new one is posted either way.
    }
  }
  return { id: created.id, nodeId: created.nodeId };
}
