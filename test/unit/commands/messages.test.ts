import { approvalReply, helpReply, statusReply } from '../../../src/commands/messages.js';
import type { ApprovalReplyInput } from '../../../src/commands/messages.js';
import { helpMessage, parseCommand, usageMessage } from '../../../src/request/index.js';
import type { ApprovalRecord, JobRecord } from '../../../src/store/store.js';

const JOB: JobRecord = {
  id: 'job-0123456789ab',
  dedupeKey: 'comment:acme/shop#7',
  kind: 'provision',
  label: 'llm',
  priority: 'NORMAL',
  attempts: 0,
  state: 'queued',
  request: {
    gitRepo: 'https://github.com/acme/shop',
    appDescription: 'Shop API in Go with PostgreSQL, 300 QPS peak',
    target: 'kubernetes',
    origin: { kind: 'comment', requestedBy: 'alice', repository: 'acme/shop', issueNumber: 7 },
  },
  lockKey: 'acme/shop@main',
  createdAt: '2025-03-01T10:00:00.000Z',
  updatedAt: '2025-03-01T10:00:00.000Z',
};

function jobWith(patch: Partial<JobRecord>): JobRecord {
  return { ...JOB, ...patch };
}

function approval(patch: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    jobId: JOB.id,
    decision: 'approve',
    by: 'carol',
    at: '2025-03-01T12:00:00.000Z',
    ...patch,
  };
}

function isCommand(text: string): boolean {
  return parseCommand(text, { origin: { kind: 'comment', requestedBy: 'x' } }).kind !== 'ignore';
}

describe('commands/messages', () => {
  describe('helpReply', () => {
    it('is the request standard’s help', () => {
      const text = helpReply();

      expect(text).toBe(helpMessage());
    });
  });

  describe('statusReply: no job in the thread', () => {
    it('says there is none and how to ask for one', () => {
      const text = statusReply(undefined, []);

      expect(text).toContain('No sizing has been asked for in this thread yet');
      expect(text).toContain(usageMessage());
    });
  });

  describe('statusReply: a job', () => {
    it('a queued job shows its id, repository, requester, state and when it was asked', () => {
      const text = statusReply(JOB, []);

      expect(text).toBe(
        [
          '### Sizing status',
          '',
          'The latest sizing in this thread is job `job-0123456789ab` for https://github.com/acme/shop, asked by `@alice`: **queued**.',
          '',
          '- Asked: 2025-03-01 10:00:00 UTC',
          '',
          'No one has approved or rejected this job yet; comment `/ai-provision approve` or `/ai-provision reject` with an optional reason.',
        ].join('\n'),
      );
    });

    it.each<[string, Partial<JobRecord>, string[], string[]]>([
      [
        'running, with a stage and start time',
        { state: 'running', stage: 'agent-2', startedAt: '2025-03-01T10:00:05.000Z' },
        ['**running**', '- Stage: `agent-2`', '- Started: 2025-03-01 10:00:05 UTC'],
        ['Finished', 'Pull request', 'Error'],
      ],
      [
        'done, with its pull request',
        {
          state: 'done',
          stage: 'opening-pr',
          startedAt: '2025-03-01T10:00:05.000Z',
          finishedAt: '2025-03-01T10:02:00.000Z',
          pullRequest: { number: 42, url: 'https://github.com/acme/shop/pull/42' },
        },
        [
          '**done**',
          '- Pull request: [#42](https://github.com/acme/shop/pull/42)',
          '- Finished: 2025-03-01 10:02:00 UTC',
        ],
        ['Error'],
      ],
      [
        'refused, with a documented error',
        {
          state: 'refused',
          error: {
            code: 'repo-too-large',
            message: 'The repository is 3 GiB; the limit is 1 GiB.',
          },
        },
        [
          '**refused**',
          'Error `repo-too-large` (see `docs/errors.md#repo-too-large`):\n\nThe repository is 3 GiB; the limit is 1 GiB.',
        ],
        ['Pull request'],
      ],
      [
        'failed, with a code the docs do not know',
        { state: 'failed', error: { code: 'worker-lost', message: 'internal error, job job-1' } },
        ['**failed**', 'Error `worker-lost`:\n\ninternal error, job job-1'],
        ['docs/errors.md'],
      ],
      [
        'a time that is not ISO is shown as stored',
        { createdAt: 'yesterday' },
        ['- Asked: yesterday'],
        [],
      ],
    ])('%s', (_name, patch, present, absent) => {
      const text = statusReply(jobWith(patch), []);

      for (const part of present) expect(text).toContain(part);
      for (const part of absent) expect(text).not.toContain(part);
    });

    it('lists every decision, oldest first, with reasons as inert code', () => {
      const approvals = [
        approval({
          decision: 'reject',
          by: 'dave',
          at: '2025-03-01T13:00:00.000Z',
          reason: 'too big, ask @team `now`',
        }),
        approval({ by: 'carol' }),
      ];

      const text = statusReply(jobWith({ state: 'done' }), approvals);

      expect(text).toContain(
        [
          'Decisions on this job:',
          '',
          '- ✅ approved by `@carol` at 2025-03-01 12:00:00 UTC',
          "- ❌ rejected by `@dave` at 2025-03-01 13:00:00 UTC (reason: `too big, ask @team 'now'`)",
        ].join('\n'),
      );
      expect(text).not.toContain('No one has approved');
    });

    it('cannot itself be read as a command, even with an error and decisions', () => {
      const job = jobWith({ state: 'refused', error: { code: 'internal', message: 'x' } });

      const text = statusReply(job, [approval({ reason: 'fine' })]);

      expect(isCommand(text)).toBe(false);
    });
  });

  describe('approvalReply', () => {
    it.each<[string, ApprovalReplyInput, string]>([
      [
        'an approval with a reason',
        { decision: 'approve', by: 'carol', jobId: 'job-1', reason: 'looks right', recorded: true },
        '✅ @carol approved job `job-1` (reason: `looks right`)\n\nRecorded; the approval gate acts on it when plans are applied. `/ai-provision status` lists every decision on the job.',
      ],
      [
        'a rejection without a reason',
        { decision: 'reject', by: 'dave', jobId: 'job-1', recorded: true },
        '❌ @dave rejected job `job-1`\n\nRecorded; the approval gate acts on it when plans are applied. `/ai-provision status` lists every decision on the job.',
      ],
      [
        'a blank reason, shown as none',
        { decision: 'approve', by: 'carol', jobId: 'job-1', reason: '   ', recorded: true },
        '✅ @carol approved job `job-1`\n\nRecorded; the approval gate acts on it when plans are applied. `/ai-provision status` lists every decision on the job.',
      ],
      [
        'a decision that was not stored',
        { decision: 'reject', by: 'dave', jobId: 'job-1', recorded: false },
        '@dave, your `/ai-provision reject` for job `job-1` was not recorded; nothing changed. `/ai-provision status` shows the job and the decisions it has.',
      ],
    ])('%s', (_name, input, expected) => {
      const text = approvalReply(input);

      expect(text).toBe(expected);
    });

    it.each(['approve', 'reject'] as const)(
      '%s with no job says so and how to start one',
      (decision) => {
        const text = approvalReply({ decision, by: 'carol', recorded: false });

        expect(text).toContain(
          `@carol, there is no sizing in this thread for \`/ai-provision ${decision}\` to act on, so nothing was recorded.`,
        );
        expect(text).toContain(usageMessage());
      },
    );

    it('a reason holding Markdown stays on one line inside code', () => {
      const text = approvalReply({
        decision: 'approve',
        by: 'carol',
        jobId: 'job-1',
        reason: 'ok\n\n/ai-provision reject `x`',
        recorded: true,
      });

      expect(text).toContain("(reason: `ok /ai-provision reject 'x'`)");
      expect(isCommand(text)).toBe(false);
    });
  });
});
