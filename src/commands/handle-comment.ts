/**
 * One `/ai-provision` comment, from typed event to answer: parse → exactly-once → who may ask →
 * the subcommand's runner. Cheap refusals come first so a comment that is not for us costs no API
 * call, and a bot's comment costs none at all.
 */
import { loadRepoConfig, REPO_CONFIG_FILE } from '../config.js';
import { refused } from '../outcome.js';
import { parseCommand, type ParsedCommand } from '../request/index.js';
import { authorize, isBotSender, repoNameFromUrl } from './authorize.js';
import type { CommandDeps, CommentEvent } from './deps.js';
import { COMMAND_RUNNERS } from './registry.js';
import { reply, replyRefused } from './reply.js';

export type CommentHandling =
  | 'not-a-command'
  | 'edit-ignored'
  | 'duplicate-delivery'
  | 'bot-ignored'
  | 'config-invalid'
  | 'refused'
  | 'replied'
  | 'handled';

function parse(event: CommentEvent, text: string, githubHost: string): ParsedCommand {
  return parseCommand(text, {
    allowedHosts: [githubHost],
    origin: {
      kind: 'comment',
      requestedBy: event.sender.login,
      repository: `${event.repository.owner}/${event.repository.repo}`,
      issueNumber: event.thread.issueNumber,
      eventId: String(event.comment.id),
    },
  });
}

/**
 * Handles a created or edited comment. An edit counts only when the command first appears in it
 * (`previousBody` held none); edits of a comment that already asked are ignored, as bots do.
 */
export async function handleComment(
  event: CommentEvent,
  deps: CommandDeps,
  edit?: { previousBody: string },
): Promise<CommentHandling> {
  const githubHost = deps.settings.githubHost;
  const parsed = parse(event, event.comment.body, githubHost);
  if (parsed.kind === 'ignore') return 'not-a-command';
  if (edit !== undefined && parse(event, edit.previousBody, githubHost).kind !== 'ignore') {
    return 'edit-ignored';
  }
  if (!(await deps.store.markDelivery(event.deliveryId))) return 'duplicate-delivery';
  // Bots never get an answer: two bots replying to each other is the failure to avoid.
  if (isBotSender(event.sender)) return 'bot-ignored';

  const loaded = loadRepoConfig(
    await deps.scm.readFile(event.repository, REPO_CONFIG_FILE),
    REPO_CONFIG_FILE,
  );
  if (loaded.kind === 'invalid') {
    await replyRefused(deps.scm, event, refused('config-invalid', loaded.message), deps.settings);
    return 'config-invalid';
  }
  const config = loaded.config;
  const permission = await deps.scm.permissionOf(event.repository, event.sender.login);
  const action = parsed.kind === 'command' ? parsed.command.subcommand : 'provision';
  const gitRepo =
    parsed.kind === 'command' && parsed.command.subcommand === 'provision'
      ? parsed.command.request.gitRepo
      : undefined;
  const decision = authorize({
    sender: event.sender,
    permission,
    config,
    threadRepo: event.repository,
    targetRepo: gitRepo === undefined ? undefined : repoNameFromUrl(gitRepo, githubHost),
    action,
  });
  if (decision.kind === 'ignored') return 'bot-ignored';
  if (decision.kind === 'refused') {
    await replyRefused(deps.scm, event, decision, deps.settings);
    deps.log.info({ login: event.sender.login, code: decision.code }, 'command refused');
    return 'refused';
  }
  if (parsed.kind === 'reply') {
    await reply(deps.scm, event, `@${event.sender.login} ${parsed.message}`);
    return 'replied';
  }
  const runner = COMMAND_RUNNERS.get(parsed.command.subcommand);
  if (runner === undefined) throw new Error(`no runner for ${parsed.command.subcommand}`);
  await runner(parsed.command, event, config, deps);
  return 'handled';
}
