/**
 * The Probot app: turns webhook payloads into typed events and routes them to commands/. No
 * decisions are made here (see DESIGN "Patterns we do not copy": logic inside app.on()).
 * Handlers acknowledge fast — the sizing itself runs on the queue, after the response.
 */
import type { ApplicationFunction, Context, Probot } from 'probot';
import { z } from 'zod';
import { handleComment } from './commands/handle-comment.js';
import { handleDispatch } from './commands/handle-dispatch.js';
import type { CommandDeps, EventRepository } from './commands/deps.js';
import type { ScmClient } from './scm/index.js';

/** The parts of a payload we read; anything else GitHub sends is ignored. */
const Repository = z.object({
  name: z.string(),
  owner: z.object({ login: z.string() }),
  default_branch: z.string(),
  private: z.boolean(),
  clone_url: z.string(),
  html_url: z.string(),
});
const Sender = z.object({ login: z.string(), type: z.string() });
const Installation = z.object({ id: z.number().int() });

const IssueCommentPayload = z.object({
  action: z.enum(['created', 'edited', 'deleted']),
  issue: z.object({ number: z.number().int(), pull_request: z.unknown().optional() }),
  comment: z.object({ id: z.number().int(), body: z.string().nullable() }),
  changes: z.object({ body: z.object({ from: z.string() }).optional() }).optional(),
  repository: Repository,
  sender: Sender,
  installation: Installation,
});

const DispatchPayload = z.object({
  action: z.string(),
  client_payload: z.unknown().optional(),
  repository: Repository,
  sender: Sender,
  installation: Installation,
});

function eventRepository(repo: z.infer<typeof Repository>): EventRepository {
  return {
    owner: repo.owner.login,
    repo: repo.name,
    defaultBranch: repo.default_branch,
    private: repo.private,
    cloneUrl: repo.clone_url,
    htmlUrl: repo.html_url,
  };
}

export interface AppDeps extends Omit<CommandDeps, 'scm'> {
  /** The installation's client, built from the event's authenticated octokit. */
  scmFromContext(context: Context): ScmClient;
}

/** The routes; everything else is answered 200 and dropped by Probot. */
export function createApp(deps: AppDeps): ApplicationFunction {
  return (app: Probot) => {
    app.on(['issue_comment.created', 'issue_comment.edited'], async (context) => {
      const payload = IssueCommentPayload.safeParse(context.payload);
      if (!payload.success) {
        deps.log.warn({ deliveryId: context.id }, 'issue_comment payload not understood');
        return;
      }
      const p = payload.data;
      const result = await handleComment(
        {
          deliveryId: context.id,
          installationId: p.installation.id,
          repository: eventRepository(p.repository),
          thread: {
            owner: p.repository.owner.login,
            repo: p.repository.name,
            issueNumber: p.issue.number,
            isPullRequest: p.issue.pull_request !== undefined && p.issue.pull_request !== null,
          },
          comment: { id: p.comment.id, body: p.comment.body ?? '' },
          sender: p.sender,
        },
        { ...deps, scm: deps.scmFromContext(context) },
        p.action === 'edited' ? { previousBody: p.changes?.body?.from ?? '' } : undefined,
      );
      if (result !== 'not-a-command') {
        deps.log.info({ deliveryId: context.id, result }, 'comment handled');
      }
    });

    app.on('repository_dispatch', async (context) => {
      const payload = DispatchPayload.safeParse(context.payload);
      if (!payload.success) {
        deps.log.warn({ deliveryId: context.id }, 'repository_dispatch payload not understood');
        return;
      }
      const p = payload.data;
      const result = await handleDispatch(
        {
          deliveryId: context.id,
          installationId: p.installation.id,
          repository: eventRepository(p.repository),
          eventType: p.action,
          clientPayload: p.client_payload,
          sender: p.sender,
        },
        { ...deps, scm: deps.scmFromContext(context) },
      );
      deps.log.info({ deliveryId: context.id, result }, 'dispatch handled');
    });
  };
}
