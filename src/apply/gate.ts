/**
 * The approval gate: whether a plan may change a real cluster, read from the decisions recorded
 * with `/ai-provision approve|reject`. Pure: records in, a verdict out.
 */
import { renderTemplate } from '../deliver/templates.js';
import { refused, type Refused } from '../outcome.js';
import { codeSpanText } from '../request/index.js';
import type { ApprovalRecord } from '../store/store.js';

/** `allowed` carries who approved and when (ISO 8601), for the audit log. */
export type ApplyGate = { kind: 'allowed'; by: string; at: string } | Refused;

/**
 * The latest decision wins: by `at`, and between equal times the one recorded later (the store
 * returns approvals in the order they were recorded). No decision at all → refused
 * 'approval-required'; a latest reject → refused 'approval-rejected'. Both messages say how to
 * approve. Records are not checked against a job: the caller passes the job's own.
 */
export function applyGate(approvals: readonly ApprovalRecord[]): ApplyGate {
  const latest = latestDecision(approvals);
  if (latest === undefined)
    return refused('approval-required', renderTemplate('apply-approval-required', {}));
  if (latest.decision === 'approve') return { kind: 'allowed', by: latest.by, at: latest.at };
  const reason = latest.reason === undefined ? '' : codeSpanText(latest.reason);
  return refused(
    'approval-rejected',
    renderTemplate('apply-approval-rejected', {
      by: codeSpanText(latest.by),
      at: readableTime(latest.at),
      reason: reason === '' ? '' : ` ${renderTemplate('command-decision-reason', { reason })}`,
    }),
  );
}

function latestDecision(approvals: readonly ApprovalRecord[]): ApprovalRecord | undefined {
  let latest: ApprovalRecord | undefined;
  for (const approval of approvals) {
    // `>=`: a later record with the same time is the later decision.
    if (latest === undefined || timeOf(approval.at) >= timeOf(latest.at)) latest = approval;
  }
  return latest;
}

/** Milliseconds; an unreadable time sorts first so a readable decision always beats it. */
function timeOf(iso: string): number {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

/** "2024-05-01T12:00:00.000Z" → "2024-05-01 12:00:00 UTC"; other text unchanged. */
function readableTime(iso: string): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
