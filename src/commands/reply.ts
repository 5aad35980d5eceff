/**
 * Answers in the thread a command came from. A Refused reads the same here as in the CLI: the
 * message, a corrected example to copy, and the docs anchor of its code.
 */
import { fitBody } from '../deliver/fit.js';
import { renderTemplate } from '../deliver/templates.js';
import { docsAnchor, type Refused } from '../outcome.js';
import { codeBlock } from '../request/index.js';
import type { ScmClient } from '../scm/index.js';
import type { AppSettings, CommentEvent } from './deps.js';

/** Posts `body` as a new comment in the event's thread, fitted under GitHub's limit. */
export async function reply(scm: ScmClient, event: CommentEvent, body: string): Promise<void> {
  await scm.createComment(event.repository, event.thread.issueNumber, fitBody(body).body);
}

export function refusalText(refusal: Refused, settings: AppSettings, login: string): string {
  return renderTemplate('app-refused', {
    login,
    message: refusal.userMessage,
    example:
      refusal.example === undefined
        ? ''
        : renderTemplate('app-refused-example', { example: codeBlock(refusal.example, 'text') }),
    docs: `${settings.docsUrl}/${docsAnchor(refusal.code)}`,
    code: refusal.code,
  });
}

export async function replyRefused(
  scm: ScmClient,
  event: CommentEvent,
  refusal: Refused,
  settings: AppSettings,
): Promise<void> {
  await reply(scm, event, refusalText(refusal, settings, event.sender.login));
}
