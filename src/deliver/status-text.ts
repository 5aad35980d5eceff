/**
 * The text of the one status comment a job keeps in its thread: a checklist while it runs, then
 * the outcome (the pull request, nothing to change, a refusal that says what to fix, or an
 * internal error with its job id). Every body starts with a hidden marker naming the job and fits
 * GitHub's limit. Pure.
 */
import type { PlanDocument } from '../render/plan-document.js';
import { codeBlock } from '../request/index.js';
import {
  GITHUB_BODY_LIMIT,
  escapeInline,
  fitBody,
  inlineCode,
  neutraliseOutsideCode,
  overflowNote,
} from './fit.js';
import { repositoryLink, serviceFigures } from './pr-body.js';
import { renderTemplate } from './templates.js';
import type { TemplateId } from './templates.js';

export const PROGRESS_STAGES = [
  'queued',
  'cloning',
  'analysing',
  'agent-1',
  'agent-2',
  'agent-3',
  'rendering',
  'opening-pr',
] as const;
export type ProgressStage = (typeof PROGRESS_STAGES)[number];

export type FinalStatus =
  | {
      kind: 'done';
      pullRequest: { number: number; url: string; created: boolean; changed: boolean };
      /** Short markdown: per-service one-liners. */
      summary: string;
      warnings: string[];
    }
  /** The plan equals what the repository already has. */
  | { kind: 'no-change'; summary: string }
  | { kind: 'refused'; code: string; message: string; example?: string; docs: string }
  /** Shown as "internal error, job <id>". */
  | { kind: 'failed'; jobId: string; retryable: boolean }
  /** Someone cancelled it, or the bot shut down before it could finish. */
  | { kind: 'cancelled'; jobId: string };

/** Where `docs/errors.md#<code>` links point when the caller names no other base. */
export const DEFAULT_DOCS_BASE_URL = 'https://github.com/ai-provision/ai-provision/blob/main/';

const STAGE_NAME: Record<ProgressStage, TemplateId & `status-stage-${string}`> = {
  queued: 'status-stage-queued',
  cloning: 'status-stage-cloning',
  analysing: 'status-stage-analysing',
  'agent-1': 'status-stage-agent-1',
  'agent-2': 'status-stage-agent-2',
  'agent-3': 'status-stage-agent-3',
  rendering: 'status-stage-rendering',
  'opening-pr': 'status-stage-opening-pr',
};

/** The first line of every status body: lets a later job find, edit or minimise this comment. */
export function statusMarker(jobId: string): string {
  const safe = jobId.replace(/[^A-Za-z0-9_.-]/g, '').replace(/-{2,}/g, '-');
  return `<!-- ai-provision:status job=${safe} -->`;
}

/** Marker, then the text cut to fit, then the footer (which is never cut). */
function statusBody(jobId: string, main: string): string {
  const marker = statusMarker(jobId);
  const footer = renderTemplate('status-footer', { jobId: inlineCode(jobId) });
  const room = GITHUB_BODY_LIMIT - marker.length - footer.length - 3;
  return `${marker}\n${fitBody(main, room, overflowNote()).body}\n\n${footer}`;
}

/** A checklist of stages (✅ done, ⏳ current, ⬜ to do), job id, queued-behind note. ≤ GITHUB_BODY_LIMIT. */
export function progressComment(input: {
  jobId: string;
  stage: ProgressStage;
  requestedBy: string;
  gitRepo: string;
  waitingBehind?: string;
  detail?: string;
}): string {
  const current = PROGRESS_STAGES.indexOf(input.stage);
  const checklist = PROGRESS_STAGES.map((stage, i) => {
    const name = renderTemplate(STAGE_NAME[stage], {});
    if (i < current) return `- ✅ ${name}`;
    if (i > current) return `- ⬜ ${name}`;
    const detail =
      input.detail === undefined || input.detail.trim() === ''
        ? ''
        : ` — ${escapeInline(input.detail.trim())}`;
    return `- ⏳ **${name}**${detail}`;
  }).join('\n');
  const main = renderTemplate('status-progress', {
    repository: repositoryLink(input.gitRepo),
    requestedBy: inlineCode(input.requestedBy),
    checklist,
    waiting:
      input.waitingBehind === undefined
        ? ''
        : renderTemplate('status-waiting', { jobId: inlineCode(input.waitingBehind) }),
  });
  return statusBody(input.jobId, main);
}

function pullRequestLink(pr: { number: number; url: string }): string {
  return `[#${pr.number}](${pr.url.replace(/[\s()<>]/g, (c) => encodeURIComponent(c))})`;
}

function warningsBlock(warnings: readonly string[]): string {
  if (warnings.length === 0) return '';
  return renderTemplate('status-warnings', {
    count: String(warnings.length),
    list: warnings
      .map((w) => `- ${neutraliseOutsideCode(w.replace(/\s*[\r\n]+\s*/g, ' ').trim())}`)
      .join('\n'),
  });
}

function docsLink(docs: string, base: string): string {
  const url = /^https?:\/\//.test(docs)
    ? docs
    : `${base.replace(/\/*$/, '/')}${docs.replace(/^\/+/, '')}`;
  return `[${escapeInline(docs)}](${url.replace(/[\s()<>]/g, (c) => encodeURIComponent(c))})`;
}

/**
 * The job's last word: a link to the pull request (opened, updated or unchanged) with the plan's
 * summary and warnings, the refusal with its example and docs link, or "internal error, job <id>".
 * `docsBaseUrl` is what `docs/errors.md#<code>` is relative to (a relative link does not work in a
 * comment); default DEFAULT_DOCS_BASE_URL.
 */
export function finalComment(input: {
  jobId: string;
  requestedBy: string;
  gitRepo: string;
  status: FinalStatus;
  docsBaseUrl?: string;
}): string {
  const repository = repositoryLink(input.gitRepo);
  const requestedBy = inlineCode(input.requestedBy);
  const status = input.status;
  let main: string;
  switch (status.kind) {
    case 'done': {
      const pr = status.pullRequest;
      const vars = { repository, requestedBy, pullRequest: pullRequestLink(pr) };
      const headline = pr.created
        ? renderTemplate('status-done-created', vars)
        : pr.changed
          ? renderTemplate('status-done-updated', vars)
          : renderTemplate('status-done-unchanged', vars);
      main = renderTemplate('status-done', {
        headline,
        summary: status.summary,
        warnings: warningsBlock(status.warnings),
      });
      break;
    }
    case 'no-change':
      main = renderTemplate('status-no-change', {
        repository,
        requestedBy,
        summary: status.summary,
      });
      break;
    case 'refused': {
      const example = status.example?.trim() ?? '';
      main = renderTemplate('status-refused', {
        repository,
        requestedBy,
        message: status.message,
        example:
          example === ''
            ? ''
            : renderTemplate('status-refused-example', {
                block: /^(`{3,}|~{3,})/.test(example) ? example : codeBlock(example),
              }),
        docs: docsLink(status.docs, input.docsBaseUrl ?? DEFAULT_DOCS_BASE_URL),
      });
      break;
    }
    case 'failed': {
      const jobId = inlineCode(status.jobId);
      main = renderTemplate('status-failed', {
        repository,
        jobId,
        retry: status.retryable
          ? renderTemplate('status-failed-retryable', {})
          : renderTemplate('status-failed-permanent', { jobId }),
      });
      break;
    }
    case 'cancelled': {
      main = renderTemplate('status-cancelled', { repository, jobId: inlineCode(status.jobId) });
      break;
    }
  }
  return statusBody(input.jobId, main);
}

/** One-line-per-service summary of a plan for the final comment (cpu, memory, replicas, confidence, cost). */
export function planSummary(document: PlanDocument): string {
  if (document.services.length === 0) return renderTemplate('status-summary-none', {});
  const lines = document.services.map((s) =>
    renderTemplate('status-summary-service', { name: escapeInline(s.name), ...serviceFigures(s) }),
  );
  const total = document.services.reduce((sum, s) => sum + s.cost.monthlyUsd, 0);
  return `${lines.join('\n')}\n\n${renderTemplate('status-summary-total', { total: `$${total.toFixed(2)}` })}`;
}
