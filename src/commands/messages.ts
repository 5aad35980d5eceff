/**
 * The answers of the small subcommands: help, status, approve and reject. Wording lives in
 * src/deliver/templates; this module only picks templates and fills them. Pure.
 */
import { renderTemplate } from '../deliver/templates.js';
import { ERROR_CODES, docsAnchor } from '../outcome.js';
import type { ErrorCode } from '../outcome.js';
import { codeSpanText, helpMessage, usageMessage } from '../request/index.js';
import type { ApprovalRecord, JobRecord } from '../store/store.js';

/** `/ai-provision help`. */
export function helpReply(): string {
  return helpMessage();
}

/** "2024-05-01T12:00:00.000Z" → "2024-05-01 12:00:00 UTC"; other text unchanged. */
function readableTime(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function reasonText(reason: string | undefined): string {
  const text = reason === undefined ? '' : codeSpanText(reason);
  return text === '' ? '' : renderTemplate('command-decision-reason', { reason: text });
}

function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

function errorText(error: JobRecord['error']): string {
  if (error === undefined) return '';
  const code = codeSpanText(error.code);
  return isErrorCode(error.code)
    ? renderTemplate('command-status-error', {
        code,
        docs: docsAnchor(error.code),
        message: error.message,
      })
    : renderTemplate('command-status-error-undocumented', { code, message: error.message });
}

function detailLines(job: JobRecord): string {
  const lines: string[] = [];
  if (job.stage !== undefined) {
    lines.push(renderTemplate('command-status-stage', { stage: codeSpanText(job.stage) }));
  }
  if (job.pullRequest !== undefined) {
    lines.push(
      renderTemplate('command-status-pull-request', {
        number: String(job.pullRequest.number),
        url: job.pullRequest.url,
      }),
    );
  }
  lines.push(renderTemplate('command-status-asked', { at: readableTime(job.createdAt) }));
  if (job.startedAt !== undefined) {
    lines.push(renderTemplate('command-status-started', { at: readableTime(job.startedAt) }));
  }
  if (job.finishedAt !== undefined) {
    lines.push(renderTemplate('command-status-finished', { at: readableTime(job.finishedAt) }));
  }
  return lines.join('\n');
}

function decisionLine(approval: ApprovalRecord): string {
  const vars = {
    by: codeSpanText(approval.by),
    at: readableTime(approval.at),
    reason: reasonText(approval.reason),
  };
  return approval.decision === 'approve'
    ? renderTemplate('command-status-approved', vars)
    : renderTemplate('command-status-rejected', vars);
}

function decisionsText(approvals: readonly ApprovalRecord[]): string {
  if (approvals.length === 0) return renderTemplate('command-status-no-decisions', {});
  const ordered = [...approvals].sort((a, b) => a.at.localeCompare(b.at));
  return renderTemplate('command-status-decisions', {
    list: ordered.map(decisionLine).join('\n'),
  });
}

/**
 * `/ai-provision status`: the thread's latest job (state, stage, pull request, error, times) and
 * every approval or rejection recorded for it, oldest first; without a job, says there is none and
 * how to ask for one.
 */
export function statusReply(job: JobRecord | undefined, approvals: ApprovalRecord[]): string {
  if (job === undefined) return renderTemplate('command-status-none', { usage: usageMessage() });
  return renderTemplate('command-status', {
    jobId: job.id,
    state: job.state,
    gitRepo: job.request.gitRepo,
    requestedBy: codeSpanText(job.request.origin.requestedBy),
    details: detailLines(job),
    error: errorText(job.error),
    decisions: decisionsText(approvals),
  });
}

export interface ApprovalReplyInput {
  decision: 'approve' | 'reject';
  /** Login of who commented. */
  by: string;
  /** The thread's latest job; undefined when the thread has none. */
  jobId?: string;
  reason?: string;
  /** False when the decision was not stored (nothing changed). */
  recorded: boolean;
}

/**
 * `/ai-provision approve|reject [reason]`: confirms a recorded decision; without a job in the
 * thread, says so and how to ask for a sizing.
 */
export function approvalReply(input: ApprovalReplyInput): string {
  const { decision, by, jobId } = input;
  if (jobId === undefined) {
    return renderTemplate('command-decision-no-job', { by, decision, usage: usageMessage() });
  }
  if (!input.recorded)
    return renderTemplate('command-decision-not-recorded', { by, decision, jobId });
  const vars = { by, jobId, reason: reasonText(input.reason) };
  return decision === 'approve'
    ? renderTemplate('command-approved', vars)
    : renderTemplate('command-rejected', vars);
}
