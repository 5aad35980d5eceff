/**
 * Subcommand → runner (Atlantis CommentCommandRunnerByCmd). A new subcommand is one runner and
 * one line here; the TypeScript `satisfies` keeps every subcommand covered.
 */
import type { Subcommand } from '../request/index.js';
import type { CommandRunner } from './deps.js';
import { helpReply, statusReply, approvalReply } from './messages.js';
import { acceptProvision } from './provision.js';
import { reply } from './reply.js';

const help: CommandRunner = async (_command, event, _config, deps) => {
  await reply(deps.scm, event, helpReply());
};

const status: CommandRunner = async (_command, event, _config, deps) => {
  const job = await deps.store.latestJobForThread(
    event.thread.owner,
    event.thread.repo,
    event.thread.issueNumber,
  );
  const approvals = job === undefined ? [] : await deps.store.approvalsFor(job.id);
  await reply(deps.scm, event, statusReply(job, approvals));
};

/** approve / reject: recorded against the thread's latest job; acted on by the apply gate later. */
const decide: CommandRunner = async (command, event, _config, deps) => {
  if (command.subcommand !== 'approve' && command.subcommand !== 'reject') return;
  const job = await deps.store.latestJobForThread(
    event.thread.owner,
    event.thread.repo,
    event.thread.issueNumber,
  );
  const at = new Date().toISOString();
  if (job !== undefined) {
    await deps.store.recordApproval({
      jobId: job.id,
      decision: command.subcommand,
      by: event.sender.login,
      at,
      ...(command.reason === undefined ? {} : { reason: command.reason }),
    });
    await deps.store.audit({
      at,
      actor: event.sender.login,
      action: command.subcommand,
      target: job.lockKey,
      jobId: job.id,
      ...(command.reason === undefined ? {} : { detail: command.reason }),
    });
  }
  await reply(
    deps.scm,
    event,
    approvalReply({
      decision: command.subcommand,
      by: event.sender.login,
      recorded: job !== undefined,
      ...(job === undefined ? {} : { jobId: job.id }),
      ...(command.reason === undefined ? {} : { reason: command.reason }),
    }),
  );
};

export const COMMAND_RUNNERS = new Map<Subcommand, CommandRunner>([
  ['provision', acceptProvision],
  ['help', help],
  ['status', status],
  ['approve', decide],
  ['reject', decide],
] satisfies [Subcommand, CommandRunner][]);
