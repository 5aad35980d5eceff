import { jest } from '@jest/globals';
import { ScmError } from '../../../src/scm/index.js';
import type { CheckConclusion } from '../../../src/scm/index.js';
import type { JobThread } from '../../../src/store/index.js';
import {
  CHECK_RUN_SUMMARY_LIMIT,
  checkRunOutput,
  createProgress,
  postQueuedStatus,
} from '../../../src/deliver/status-comment.js';
import type { Progress, ProgressOptions } from '../../../src/deliver/status-comment.js';
import { finalComment, progressComment } from '../../../src/deliver/status-text.js';
import type { FinalStatus, ProgressStage } from '../../../src/deliver/status-text.js';
import { createMemoryScm } from '../../support/memory-scm.js';
import type { MemoryScm } from '../../support/memory-scm.js';

const HEAD_SHA = 'a'.repeat(40);
const ISSUE: JobThread = { owner: 'acme', repo: 'shop', issueNumber: 7, isPullRequest: false };
const PULL: JobThread = { ...ISSUE, issueNumber: 8, isPullRequest: true };
const WHO = {
  jobId: 'job-0123456789ab',
  requestedBy: 'octocat',
  gitRepo: 'https://github.com/acme/shop',
};

const DONE: FinalStatus = {
  kind: 'done',
  pullRequest: {
    number: 9,
    url: 'https://github.com/acme/shop/pull/9',
    created: true,
    changed: true,
  },
  summary: '- shop: 250m CPU, 256Mi',
  warnings: [],
};
const NO_CHANGE: FinalStatus = { kind: 'no-change', summary: '- shop: unchanged' };
const REFUSED: FinalStatus = {
  kind: 'refused',
  code: 'repo-not-allowed',
  message: 'acme/other is not in allowed_repos.',
  docs: 'docs/errors.md#repo-not-allowed',
};
const FAILED: FinalStatus = { kind: 'failed', jobId: WHO.jobId, retryable: true };

function memoryScm(): MemoryScm {
  return createMemoryScm({
    repos: [
      { owner: 'acme', repo: 'shop', commits: { [HEAD_SHA]: {} }, branches: { main: HEAD_SHA } },
    ],
  });
}

function progressBody(stage: ProgressStage, detail?: string): string {
  return progressComment({ ...WHO, stage, ...(detail === undefined ? {} : { detail }) });
}

function finalBody(status: FinalStatus): string {
  return finalComment({ ...WHO, status });
}

/** The bodies written to the status comment, in order (created or edited). */
function writtenBodies(scm: MemoryScm): string[] {
  return scm.calls
    .filter((call) => call.method === 'createComment' || call.method === 'updateComment')
    .map((call) => call.args[2] as string);
}

function start(
  scm: MemoryScm,
  overrides: Partial<ProgressOptions> = {},
  onError: (error: unknown) => void = () => undefined,
): Progress {
  return createProgress({
    scm,
    ...WHO,
    thread: ISSUE,
    minEditIntervalMs: 1000,
    onError,
    ...overrides,
  });
}

describe('deliver/status-comment', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('creates the status comment on the first write and edits it afterwards', async () => {
    const scm = memoryScm();
    const progress = start(scm);

    await progress.stage('cloning');
    await jest.advanceTimersByTimeAsync(1000);
    await progress.stage('analysing');
    await progress.finish(DONE);

    expect(scm.methods()).toEqual(['createComment', 'updateComment', 'updateComment']);
    expect(progress.statusComment).toEqual({
      id: scm.comments[0]?.id,
      nodeId: scm.comments[0]?.nodeId,
    });
    expect(scm.comments).toHaveLength(1);
    expect(scm.comments[0]?.body).toBe(finalBody(DONE));
    expect(writtenBodies(scm)).toEqual([
      progressBody('cloning'),
      progressBody('analysing'),
      finalBody(DONE),
    ]);
  });

  it('edits the existing status comment from acceptance', async () => {
    const scm = memoryScm();
    const existing = await postQueuedStatus(scm, { ...WHO, thread: ISSUE });
    scm.clearCalls();
    const progress = start(scm, { statusComment: existing });

    await progress.stage('cloning', 'fetching 12 MiB');

    expect(scm.methods()).toEqual(['updateComment']);
    expect(scm.comments[0]?.body).toBe(progressBody('cloning', 'fetching 12 MiB'));
    expect(progress.statusComment).toEqual(existing);
  });

  it.each<{ name: string; steps: [number, ProgressStage | 'finish'][]; bodies: string[] }>([
    {
      name: '5 stages in 100 ms make 2 edits: the first at once, the latest one interval later',
      steps: [
        [0, 'cloning'],
        [25, 'analysing'],
        [25, 'agent-1'],
        [25, 'agent-2'],
        [25, 'agent-3'],
      ],
      bodies: [progressBody('cloning'), progressBody('agent-3')],
    },
    {
      name: 'a stage after an idle interval writes at once',
      steps: [
        [0, 'cloning'],
        [1500, 'analysing'],
        [1500, 'agent-1'],
      ],
      bodies: [progressBody('cloning'), progressBody('analysing'), progressBody('agent-1')],
    },
    {
      name: 'finish cancels the pending edit and writes the final body',
      steps: [
        [0, 'cloning'],
        [10, 'analysing'],
        [10, 'finish'],
      ],
      bodies: [progressBody('cloning'), finalBody(DONE)],
    },
    {
      name: 'stages after finish are ignored',
      steps: [
        [0, 'cloning'],
        [10, 'finish'],
        [10, 'rendering'],
        [1500, 'opening-pr'],
      ],
      bodies: [progressBody('cloning'), finalBody(DONE)],
    },
  ])('coalesces: $name', async ({ steps, bodies }) => {
    const scm = memoryScm();
    const progress = start(scm);

    for (const [wait, step] of steps) {
      await jest.advanceTimersByTimeAsync(wait);
      if (step === 'finish') await progress.finish(DONE);
      else await progress.stage(step);
    }
    await jest.advanceTimersByTimeAsync(5000);

    expect(writtenBodies(scm)).toEqual(bodies);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('finish clears the pending timer, so nothing is left to fire', async () => {
    const scm = memoryScm();
    const progress = start(scm);
    await progress.stage('cloning');
    await progress.stage('analysing');
    const pending = jest.getTimerCount();

    await progress.finish(DONE);

    expect(pending).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
    expect(writtenBodies(scm)).toEqual([progressBody('cloning'), finalBody(DONE)]);
  });

  it('writes the coalesced edit exactly one interval after the previous write', async () => {
    const scm = memoryScm();
    const progress = start(scm);

    await progress.stage('cloning');
    await jest.advanceTimersByTimeAsync(400);
    await progress.stage('analysing');
    await jest.advanceTimersByTimeAsync(599);
    const before = scm.calls.length;
    await jest.advanceTimersByTimeAsync(1);

    expect(before).toBe(1);
    expect(writtenBodies(scm)).toEqual([progressBody('cloning'), progressBody('analysing')]);
  });

  it('reports a failed write through onError and carries on with the job', async () => {
    const scm = memoryScm();
    const errors: unknown[] = [];
    const progress = start(scm, {}, (error) => errors.push(error));
    scm.failNext('createComment', 502);

    await expect(progress.stage('cloning')).resolves.toBeUndefined();
    await jest.advanceTimersByTimeAsync(1000);
    await progress.stage('analysing');
    scm.failNext('updateComment', 500);
    await expect(progress.finish(FAILED)).resolves.toBeUndefined();

    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(ScmError);
    expect(errors[1]).toMatchObject({ name: 'ScmError', status: 500 });
    expect(scm.methods()).toEqual(['createComment', 'createComment', 'updateComment']);
    expect(scm.comments.map((comment) => comment.body)).toEqual([progressBody('analysing')]);
  });

  it('carries on when onError itself throws', async () => {
    const scm = memoryScm();
    const progress = start(scm, {}, () => {
      throw new Error('logger down');
    });
    scm.failNext('createComment', 500);

    const staged = progress.stage('cloning');

    await expect(staged).resolves.toBeUndefined();
    await expect(progress.finish(DONE)).resolves.toBeUndefined();
    expect(scm.comments.map((comment) => comment.body)).toEqual([finalBody(DONE)]);
  });

  it('swallows a failed coalesced (timer) write into onError', async () => {
    const scm = memoryScm();
    const errors: unknown[] = [];
    const progress = start(scm, {}, (error) => errors.push(error));

    await progress.stage('cloning');
    scm.failNext('updateComment', 503);
    await progress.stage('analysing');
    await jest.advanceTimersByTimeAsync(1000);
    await progress.finish(DONE);

    expect(errors).toEqual([expect.objectContaining({ status: 503 })]);
    expect(writtenBodies(scm)).toEqual([
      progressBody('cloning'),
      progressBody('analysing'),
      finalBody(DONE),
    ]);
    expect(scm.comments[0]?.body).toBe(finalBody(DONE));
  });

  it.each<[FinalStatus, CheckConclusion]>([
    [DONE, 'success'],
    [NO_CHANGE, 'neutral'],
    [REFUSED, 'failure'],
    [FAILED, 'failure'],
  ])(
    'check run: created on the first stage, completed by finish(%j) as %s',
    async (status, conclusion) => {
      const scm = memoryScm();
      const progress = start(scm, { thread: PULL, checkRunHeadSha: HEAD_SHA });

      await progress.stage('cloning');
      await jest.advanceTimersByTimeAsync(1000);
      await progress.stage('analysing');
      await progress.finish(status);

      expect(scm.methods()).toEqual([
        'createComment',
        'createCheckRun',
        'updateComment',
        'updateComment',
        'updateCheckRun',
      ]);
      expect(progress.checkRunId).toBe(scm.checkRuns[0]?.id);
      expect(scm.calls[1]?.args[1]).toEqual({
        name: 'ai-provision',
        headSha: HEAD_SHA,
        status: 'in_progress',
        output: checkRunOutput(progressBody('cloning')),
      });
      expect(scm.checkRuns).toEqual([
        expect.objectContaining({
          headSha: HEAD_SHA,
          status: 'completed',
          conclusion,
          output: { title: expect.any(String), summary: finalBody(status) },
          updates: 1,
        }),
      ]);
      expect(scm.comments[0]).toMatchObject({ issueNumber: 8, body: finalBody(status) });
    },
  );

  it('check run: completes an existing one without creating another', async () => {
    const scm = memoryScm();
    const existing = await scm.createCheckRun(ISSUE, {
      name: 'ai-provision',
      headSha: HEAD_SHA,
      status: 'queued',
      output: { title: 'queued', summary: 'queued' },
    });
    scm.clearCalls();
    const progress = start(scm, {
      thread: PULL,
      checkRunHeadSha: HEAD_SHA,
      existingCheckRunId: existing,
    });

    await progress.stage('cloning');
    await progress.finish(NO_CHANGE);

    expect(scm.methods()).toEqual(['createComment', 'updateComment', 'updateCheckRun']);
    expect(progress.checkRunId).toBe(existing);
    expect(scm.checkRuns[0]).toMatchObject({ status: 'completed', conclusion: 'neutral' });
  });

  it('check run: a job finished before any stage still gets a completed one', async () => {
    const scm = memoryScm();
    const progress = start(scm, { thread: PULL, checkRunHeadSha: HEAD_SHA });

    await progress.finish(REFUSED);

    expect(scm.methods()).toEqual(['createComment', 'createCheckRun', 'updateCheckRun']);
    expect(scm.checkRuns[0]).toMatchObject({ status: 'completed', conclusion: 'failure' });
  });

  it('check run: a failed creation is reported once, and finish still writes the comment', async () => {
    const scm = memoryScm();
    const errors: unknown[] = [];
    const progress = start(scm, { thread: PULL, checkRunHeadSha: HEAD_SHA }, (e) => errors.push(e));
    scm.failNext('createCheckRun', 403);

    await progress.stage('cloning');
    await progress.finish(DONE);

    expect(errors).toEqual([expect.objectContaining({ status: 403 })]);
    expect(scm.methods()).toEqual(['createComment', 'createCheckRun', 'updateComment']);
    expect(progress.checkRunId).toBeUndefined();
  });

  it('no check run without a head sha', async () => {
    const scm = memoryScm();
    const progress = start(scm, { thread: PULL });

    await progress.stage('cloning');
    await progress.finish(DONE);

    expect(scm.methods()).toEqual(['createComment', 'updateComment']);
    expect(scm.checkRuns).toEqual([]);
    expect(progress.checkRunId).toBeUndefined();
  });

  it.each<[string, string, string]>([
    [
      'marker line and heading marks',
      '<!-- ai-provision:status job=x -->\n### ⏳ Sizing **shop**\n\nrest',
      '⏳ Sizing shop',
    ],
    ['no text at all', '<!-- marker -->\n\n', 'ai-provision'],
    ['inline code', '`job-1` failed', 'job-1 failed'],
    [
      'a link',
      '⏳ Sizing [acme/shop](https://github.com/acme/shop), as `octocat` asked.',
      '⏳ Sizing acme/shop, as octocat asked.',
    ],
  ])('checkRunOutput: the title from %s', (_name, body, title) => {
    const output = checkRunOutput(body);

    expect(output).toEqual({ title, summary: body });
  });

  it('checkRunOutput: fits the summary into GitHub’s check run limit', () => {
    const body = `# Result\n\n${'## Section\n\n' + 'x'.repeat(40_000) + '\n\n'}${'## Other\n\n' + 'y'.repeat(40_000)}`;

    const output = checkRunOutput(body);

    expect(body.length).toBeGreaterThan(CHECK_RUN_SUMMARY_LIMIT);
    expect(output.summary.length).toBeLessThanOrEqual(CHECK_RUN_SUMMARY_LIMIT);
    expect(output.title).toBe('Result');
  });

  it.each<{ name: string; supersedes?: { nodeId: string }; fail?: boolean; minimized: boolean[] }>([
    { name: 'no previous comment', minimized: [false] },
    { name: 'a previous comment', supersedes: { nodeId: 'IC_1000' }, minimized: [true, false] },
    {
      name: 'a previous comment that cannot be minimized',
      supersedes: { nodeId: 'IC_1000' },
      fail: true,
      minimized: [false, false],
    },
  ])('postQueuedStatus: posts "queued" with $name', async ({ supersedes, fail, minimized }) => {
    const scm = memoryScm();
    if (supersedes) await scm.createComment(ISSUE, ISSUE.issueNumber, 'previous job');
    if (fail) scm.failNext('minimizeComment', 502);
    scm.clearCalls();

    const posted = await postQueuedStatus(scm, {
      ...WHO,
      thread: ISSUE,
      waitingBehind: 'job-aaaaaaaaaaaa',
      ...(supersedes ? { supersedes } : {}),
    });

    expect(scm.methods()).toEqual(
      supersedes ? ['createComment', 'minimizeComment'] : ['createComment'],
    );
    const created = scm.comments.at(-1);
    expect(posted).toEqual({ id: created?.id, nodeId: created?.nodeId });
    expect(created?.body).toBe(
      progressComment({ ...WHO, stage: 'queued', waitingBehind: 'job-aaaaaaaaaaaa' }),
    );
    expect(scm.comments.map((comment) => comment.minimized)).toEqual(minimized);
  });

  it('postQueuedStatus: a failed comment creation propagates', async () => {
    const scm = memoryScm();
    scm.failNext('createComment', 404);

    const posting = postQueuedStatus(scm, { ...WHO, thread: ISSUE });

    await expect(posting).rejects.toMatchObject({ name: 'ScmError', status: 404 });
  });
});
