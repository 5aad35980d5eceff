/**
 * What the GitHub Action hands back to its workflow, as text in the formats the runner reads: the
 * step summary (Markdown, fitted under GitHub's per-step limit), the step outputs (the
 * `GITHUB_OUTPUT` file's `name<<delimiter` syntax) and workflow commands (`::error::`,
 * `::add-mask::`). Pure; the only randomness, the output delimiter, is injectable.
 */
import { randomUUID } from 'node:crypto';
import { renderTemplate } from './templates.js';

/** GitHub's limit per step summary: 1024 KiB, counted in bytes of UTF-8. */
export const STEP_SUMMARY_LIMIT_BYTES = 1024 * 1024;

const FENCE = /^\s{0,3}(?:```|~~~)/;

/** The largest prefix of `text` of at most `maxBytes` UTF-8 bytes, ending on a whole line when it can. */
function utf8Prefix(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Step back off continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  const cut = bytes.subarray(0, end).toString('utf8');
  const lastNewline = cut.lastIndexOf('\n');
  return lastNewline > 0 ? cut.slice(0, lastNewline + 1) : cut;
}

/**
 * The report as a step summary: unchanged (with a final newline) when it fits `limitBytes`, else cut
 * at a line boundary, an open code fence closed, and a note saying how much was kept and where the
 * full report is. The result never exceeds `limitBytes`.
 */
export function stepSummary(report: string, limitBytes: number = STEP_SUMMARY_LIMIT_BYTES): string {
  const whole = report.endsWith('\n') ? report : `${report}\n`;
  const totalBytes = Buffer.byteLength(whole, 'utf8');
  if (totalBytes <= limitBytes) return whole;

  const totalKiB = String(Math.ceil(totalBytes / 1024));
  // The note rendered with the largest numbers it can hold bounds the space it needs.
  const noteBound = renderTemplate('action-summary-cut', { shown: totalKiB, total: totalKiB });
  const closingFence = '```\n';
  const reserve = Buffer.byteLength(`${closingFence}\n${noteBound}\n`, 'utf8');
  let kept = utf8Prefix(whole, limitBytes - reserve);
  if (!kept.endsWith('\n') && kept !== '') kept += '\n';
  const fences = kept.split('\n').filter((line) => FENCE.test(line)).length;
  if (fences % 2 === 1) kept += closingFence;
  const note = renderTemplate('action-summary-cut', {
    shown: String(Math.floor(Buffer.byteLength(kept, 'utf8') / 1024)),
    total: totalKiB,
  });
  return `${kept}\n${note}\n`;
}

const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const DELIMITER_ATTEMPTS = 100;

/**
 * Step outputs in the `GITHUB_OUTPUT` file syntax, one `name<<delimiter` block each, safe for any
 * value (multi-line, `=`, Markdown): the delimiter is random (as GitHub's documentation asks) and
 * drawn again until it occurs nowhere in the value. Values come back exactly, trailing newlines
 * included. Throws on an output name the runner would not accept (a bug in the caller).
 */
export function formatOutputs(
  outputs: Record<string, string>,
  randomId: () => string = randomUUID,
): string {
  let text = '';
  for (const [name, value] of Object.entries(outputs)) {
    if (!OUTPUT_NAME.test(name))
      throw new Error(`invalid step output name ${JSON.stringify(name)}`);
    let delimiter = `ghadelimiter_${randomId()}`;
    for (let attempt = 1; value.includes(delimiter); attempt += 1) {
      if (attempt >= DELIMITER_ATTEMPTS)
        throw new Error(`no delimiter absent from output ${name} after ${attempt} attempts`);
      delimiter = `ghadelimiter_${randomId()}`;
    }
    text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
  }
  return text;
}

/** Workflow commands this action writes to stdout. */
export type WorkflowCommand = 'error' | 'warning' | 'notice' | 'add-mask';

function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

/**
 * One workflow command line (`::error title=…::message`), escaped as the runner unescapes it, so a
 * multi-line message stays one annotation and a value cannot end the command early.
 */
export function workflowCommand(
  command: WorkflowCommand,
  message: string,
  properties: Record<string, string> = {},
): string {
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(value)}`)
    .join(',');
  return `::${command}${props === '' ? '' : ` ${props}`}::${escapeData(message)}\n`;
}
