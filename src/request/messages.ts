/**
 * Reply texts for the request standard. The wording lives in src/deliver/templates; this module
 * only chooses templates, fills them and formats the copyable example, so a refusal reads the
 * same in a comment, in Slack and on the command line.
 */
import { renderTemplate } from '../deliver/templates.js';
import type { CorrectedFields, Problem } from './parse-comment.js';

const CODE_SPAN_MAX = 80;

/** Makes user text safe inside a Markdown code span: no backticks, one line, bounded length. */
export function codeSpanText(value: string): string {
  const flat = value.replace(/`/g, "'").replace(/\s+/g, ' ').trim();
  return flat.length > CODE_SPAN_MAX ? `${flat.slice(0, CODE_SPAN_MAX - 1)}…` : flat;
}

/** A fenced block whose fence is longer than any backtick run inside, so content cannot end it. */
export function codeBlock(text: string, info = 'text'): string {
  const longestRun = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}

export function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? '' : renderTemplate('did-you-mean', { suggestion });
}

export function usageMessage(): string {
  return renderTemplate('usage', {});
}

export function helpMessage(): string {
  return renderTemplate('help', { usage: usageMessage() });
}

/** For `/ai-provision` with nothing after it. */
export function emptyRequestMessage(): string {
  return renderTemplate('request-empty', { usage: usageMessage() });
}

export function unknownSubcommandMessage(
  given: string,
  suggestion: string | undefined,
  subcommands: readonly string[],
): string {
  return renderTemplate('unknown-subcommand', {
    given: codeSpanText(given),
    didYouMean: didYouMean(suggestion),
    subcommands: subcommands.map((s) => `\`${s}\``).join(', '),
  });
}

/** The request as a comment, fields in the documented order, every value double-quoted. */
export function commentExample(fields: CorrectedFields): string {
  // JSON strings are valid YAML double-quoted scalars, so any text round-trips exactly.
  const lines = [
    `git_repo: ${JSON.stringify(fields.git_repo)}`,
    `app_description: ${JSON.stringify(fields.app_description)}`,
  ];
  if (fields.ref !== undefined) lines.push(`ref: ${JSON.stringify(fields.ref)}`);
  if (fields.paths !== undefined) lines.push(`paths: ${JSON.stringify(fields.paths)}`);
  if (fields.target !== undefined) lines.push(`target: ${JSON.stringify(fields.target)}`);
  if (fields.environment !== undefined) {
    lines.push(`environment: ${JSON.stringify(fields.environment)}`);
  }
  if (fields.namespace !== undefined) lines.push(`namespace: ${JSON.stringify(fields.namespace)}`);
  return ['/ai-provision', '', ...lines].join('\n');
}

/** Every problem at once, then a corrected request built from what the user sent. */
export function rejectionMessage(
  problems: readonly Problem[],
  corrected: CorrectedFields,
  knownFields: readonly string[],
): string {
  return renderTemplate('request-rejected', {
    problems: problems.map((p) => `- ${p.message}`).join('\n'),
    example: codeBlock(commentExample(corrected)),
    knownFields: knownFields.map((f) => `\`${f}\``).join(', '),
  });
}
