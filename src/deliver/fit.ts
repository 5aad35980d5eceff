/**
 * Fits Markdown into GitHub's size limit for comment and pull-request bodies. When the text is too
 * long, the `## ` sections that take the most room are folded into `<details>` and cut, each with
 * a note saying so, so the headings of every section stay visible and short sections stay whole.
 * Cuts fall on line ends where possible, and a cut inside a fenced code block or a `<details>`
 * element closes it again, so what follows still renders.
 *
 * Beside it, the escaping every body we post needs: text that came from a user or a repository
 * is shown literally, mentions no one and links no issue. Pure.
 */
import { renderTemplate } from './templates.js';

/** GitHub rejects issue, comment and pull-request bodies longer than this many characters. */
export const GITHUB_BODY_LIMIT = 65_536;

/** How far back a cut may move to end on a line break, or at least on a space. */
const LINE_SLACK = 2_000;
const WORD_SLACK = 200;

interface Fence {
  char: '`' | '~';
  length: number;
  /** Matches the line that closes this fence. */
  close: RegExp;
}

/** What is still open at the end of a piece of Markdown. */
interface OpenState {
  fence: Fence | undefined;
  /** `<details>` elements opened outside code and not closed. */
  details: number;
}

interface Segment {
  /** A `## ` heading starts a section that may be folded and cut; everything else stays as it is. */
  kind: 'fixed' | 'section';
  /** The heading line of a section. */
  heading: string;
  /** The text under the heading (for fixed segments: the whole text). */
  content: string;
}

const FENCE_OPEN = /^ {0,3}(?<marker>`{3,}|~{3,})/;
const HEADING = /^ {0,3}(?<level>#{1,2})(?:[ \t]|\r?$)/;

/** Follows fences and `<details>` nesting line by line. */
function step(state: OpenState, line: string): OpenState {
  if (state.fence !== undefined) {
    return state.fence.close.test(line) ? { fence: undefined, details: state.details } : state;
  }
  const open = FENCE_OPEN.exec(line)?.groups?.marker;
  // A backtick fence's info string cannot hold a backtick: such a line is inline code instead.
  if (
    open !== undefined &&
    !(open[0] === '`' && line.slice(line.indexOf(open) + open.length).includes('`'))
  ) {
    const char = open[0] as Fence['char'];
    const close = new RegExp(`^ {0,3}\\${char}{${open.length},}[ \\t\\r]*$`);
    return { fence: { char, length: open.length, close }, details: state.details };
  }
  const opened = line.match(/<details\b/gi)?.length ?? 0;
  const closed = line.match(/<\/details\s*>/gi)?.length ?? 0;
  return { fence: undefined, details: Math.max(0, state.details + opened - closed) };
}

function openStateOf(text: string): OpenState {
  let state: OpenState = { fence: undefined, details: 0 };
  for (const line of text.split('\n')) state = step(state, line);
  return state;
}

/** The lines that close what `text` left open: its code fence, then its `<details>` elements. */
function closers(text: string): string {
  const state = openStateOf(text);
  const lines: string[] = [];
  if (state.fence !== undefined) lines.push(state.fence.char.repeat(state.fence.length));
  for (let i = 0; i < state.details; i += 1) lines.push('', '</details>');
  return lines.join('\n');
}

/** Where to cut `text` so that it is at most `end` characters: a line end, else a space. */
function cutPoint(text: string, end: number): number {
  const newline = text.lastIndexOf('\n', end);
  if (newline >= 0 && end - newline <= LINE_SLACK) return newline;
  const space = text.lastIndexOf(' ', end);
  if (space >= 0 && end - space <= WORD_SLACK) return space;
  // Never split a surrogate pair.
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}

/**
 * The longest prefix of `text` (cut at a line end where possible) that, with whatever it leaves
 * open closed again, is at most `budget` characters. Empty when nothing fits.
 */
function cutMarkdown(text: string, budget: number): string {
  if (text.length <= budget) return text;
  let end = budget;
  // Each round shortens the cut by what the closers need; a handful of rounds always settles.
  for (let round = 0; round < 8 && end > 0; round += 1) {
    const head = text.slice(0, cutPoint(text, end)).replace(/\s+$/, '');
    const tail = closers(head);
    const result = tail === '' ? head : `${head}\n${tail}`;
    if (result.length <= budget) return result;
    end = Math.min(end - 1, head.length - (result.length - budget));
  }
  return '';
}

function parse(markdown: string): Segment[] {
  const segments: Segment[] = [];
  let current: { kind: Segment['kind']; heading: string; lines: string[] } = {
    kind: 'fixed',
    heading: '',
    lines: [],
  };
  const flush = (): void => {
    if (current.kind === 'section' || current.lines.length > 0) {
      segments.push({
        kind: current.kind,
        heading: current.heading,
        content: current.lines.join('\n'),
      });
    }
  };
  let state: OpenState = { fence: undefined, details: 0 };
  for (const line of markdown.split('\n')) {
    const level =
      state.fence === undefined && state.details === 0
        ? HEADING.exec(line)?.groups?.level
        : undefined;
    if (level === '##') {
      flush();
      current = { kind: 'section', heading: line, lines: [] };
    } else if (level === '#') {
      flush();
      current = { kind: 'fixed', heading: '', lines: [line] };
    } else {
      current.lines.push(line);
    }
    state = step(state, line);
  }
  flush();
  return segments;
}

/** A heading's text as HTML for `<summary>`, where Markdown is not rendered. */
function summaryHtml(heading: string): string {
  const title = heading
    .replace(/^ {0,3}##[ \t]*/, '')
    .replace(/[ \t]+#+[ \t\r]*$/, '')
    .trim();
  const escaped = title.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped.replace(
    /(`+)(.+?)\1/g,
    (_m, _ticks: string, code: string) => `<code>${code.trim()}</code>`,
  );
}

function trimBlankLines(text: string): string {
  return text.replace(/^(?:[ \t]*\r?\n)+/, '').replace(/\s+$/, '');
}

function collapsed(segment: Segment, content: string, note: string): string {
  const body = trimBlankLines(content);
  return [
    `<details><summary>${summaryHtml(segment.heading)}</summary>`,
    '',
    ...(body === '' ? [] : [body, '']),
    note,
    '',
    '</details>',
    '',
  ].join('\n');
}

function joined(segments: readonly Segment[], render: (segment: Segment) => string): string {
  return segments.map(render).join('\n');
}

function plain(segment: Segment): string {
  return segment.kind === 'section' ? `${segment.heading}\n${segment.content}` : segment.content;
}

/** Keeps the start of `text` and ends it with the note, within `limit`. */
function hardCut(text: string, limit: number, note: string): string {
  const suffix = `\n\n${note}`;
  if (suffix.length > limit) return note.slice(0, limit);
  return `${cutMarkdown(text, limit - suffix.length)}${suffix}`;
}

/** The default note at a cut: "…cut here to fit GitHub's limit of 65,536 characters." */
export function overflowNote(limit: number = GITHUB_BODY_LIMIT): string {
  return renderTemplate('pr-truncated', { limit: limit.toLocaleString('en-US') });
}

/**
 * Collapses `## ` sections (longest first) into <details><summary>title</summary>…</details>, then
 * truncates the longest collapsed ones with a note, until the text fits `limit` characters
 * (counted as JS string length, GitHub counts characters). Pure.
 *
 * Sections longer than a common cap are folded and cut to that cap, the cap being the largest that
 * fits: the longest sections give up the most and short ones stay whole and open. Text outside
 * sections (before the first `## ` heading, or under a `# ` heading) is kept, unless it alone is too
 * long: then the end of the whole text is cut. Text that already fits is returned unchanged, so
 * fitting twice gives the same result as fitting once.
 */
export function fitBody(
  markdown: string,
  limit: number = GITHUB_BODY_LIMIT,
  note?: string,
): { body: string; fitted: boolean } {
  if (markdown.length <= limit) return { body: markdown, fitted: false };
  const overflow = note ?? overflowNote(limit);
  const segments = parse(markdown);
  const sections = segments.filter((s) => s.kind === 'section');
  const withCap = (cap: number): string =>
    joined(segments, (s) =>
      s.kind === 'section' && s.content.length > cap
        ? collapsed(s, cutMarkdown(s.content, cap), overflow)
        : plain(s),
    );

  let body: string;
  const smallest = withCap(0);
  if (sections.length === 0 || smallest.length > limit) {
    body = hardCut(sections.length === 0 ? markdown : smallest, limit, overflow);
  } else {
    // Invariant: withCap(low) fits; withCap(high) does not (at the longest section's length
    // nothing is folded, which is the original text).
    let low = 0;
    let high = sections.reduce((most, s) => Math.max(most, s.content.length), 0);
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (withCap(mid).length <= limit) low = mid;
      else high = mid;
    }
    body = withCap(low);
  }
  // The steps above stay within the limit; this only guards the promise.
  return { body: body.length <= limit ? body : body.slice(0, limit), fitted: true };
}

/** Inserted after `@` and `#` so GitHub neither notifies a user nor cross-references an issue. */
const ZERO_WIDTH_JOINER = '\u200d';
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
const URL = /https?:\/\/[^\s<>()[\]`]+/g;

/**
 * Breaks `@user`, `@org/team`, `#123`, `owner/repo#123` and `GH-123` so GitHub renders them as
 * text: no notification, no cross-reference. URLs are left as they are; HTML entities (`&#64;`)
 * are not references.
 */
export function neutraliseReferences(text: string): string {
  const parts = text.split(URL);
  const urls = text.match(URL) ?? [];
  return parts
    .map((part, i) => {
      const safe = part
        .replace(/(^|[^A-Za-z0-9_])@(?=[A-Za-z0-9])/g, `$1@${ZERO_WIDTH_JOINER}`)
        .replace(/(?<!&)#(?=\d)/g, `#${ZERO_WIDTH_JOINER}`)
        .replace(/\b(GH-)(?=\d)/gi, `$1${ZERO_WIDTH_JOINER}`);
      return i < urls.length ? safe + urls[i] : safe;
    })
    .join('');
}

/** `neutraliseReferences` on Markdown we rendered ourselves, leaving code blocks and spans exact. */
export function neutraliseOutsideCode(markdown: string): string {
  let state: OpenState = { fence: undefined, details: 0 };
  return markdown
    .split('\n')
    .map((line) => {
      const inCode = state.fence !== undefined;
      state = step(state, line);
      if (inCode || state.fence !== undefined) return line;
      // Split on code spans (a run of backticks up to the same run); odd pieces are code.
      return line
        .split(/((`+)[^`][\s\S]*?\2(?!`))/)
        .map((piece, i) => (i % 3 === 0 ? neutraliseReferences(piece) : piece))
        .filter((_piece, i) => i % 3 !== 2)
        .join('');
    })
    .join('\n');
}

/** HTML-escapes text and drops control characters, which no message needs. */
function escapeHtml(text: string): string {
  return text
    .replace(CONTROL, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * User or repository text for a paragraph or a table cell: HTML and Markdown syntax shown as
 * typed, references neutralised, one line.
 */
export function escapeInline(text: string): string {
  const escaped = escapeHtml(text.replace(/\s*[\r\n]+\s*/g, ' ')).replace(/[\\`*_[\]|~]/g, '\\$&');
  return neutraliseReferences(escaped);
}

/**
 * User text as a Markdown blockquote: every line quoted and escaped, so nothing in it can end the
 * quote, open a block (heading, list, fence, HTML), mention anyone or link an issue.
 */
export function quoteUserText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => {
      const escaped = neutraliseReferences(
        escapeHtml(line).replace(/[\\`*_[\]|~]/g, '\\$&'),
      ).replace(
        /^(\s*)(?:([#+=-])|(\d+)([.)]))/,
        (_m, space: string, mark?: string, n?: string, dot?: string) =>
          mark !== undefined ? `${space}\\${mark}` : `${space}${n}\\${dot}`,
      );
      return escaped.trim() === '' ? '>' : `> ${escaped}`;
    })
    .join('\n');
}

/** Text as an inline code span, whatever backticks it holds. Mentions do not work inside code. */
export function inlineCode(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat.trim() === '' ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** A table cell: pipes escaped (also inside code spans, as GFM tables need), one line. */
export function tableCell(markdown: string): string {
  return markdown.replace(/\s*[\r\n]+\s*/g, ' ').replace(/(?<!\\)\|/g, '\\|');
}
