/**
 * Scanning helpers shared by the endpoint extractors: comment blanking that keeps offsets, bracket
 * matching that skips strings, string literals, path joining, method names and do/end blocks.
 * Everything is linear in the text it is given and nothing throws.
 */
import { HTTP_METHODS } from '../schema.js';
import type { HttpMethod, SourceFile } from './extractor.js';

/** Just enough of a language's lexical rules to tell code from comments and strings. */
export interface Syntax {
  /** Unique per syntax; memoisation key. */
  id: string;
  /** Tokens that start a comment running to the end of the line. */
  lineComments: readonly string[];
  blockComment?: readonly [open: string, close: string];
  /** Characters that open a string literal. */
  quotes: string;
  /** `'x'` is a character literal, so a lone `'` (a Rust lifetime) opens nothing. */
  charLiterals?: boolean;
  /** """ and ''' strings (Python, Kotlin, Elixir). */
  tripleQuotes?: boolean;
  /** PHP: `#[` opens an attribute, and `/** … *\/` doc blocks hold route annotations, so both stay. */
  php?: boolean;
}

export const JS_SYNTAX: Syntax = {
  id: 'js',
  lineComments: ['//'],
  blockComment: ['/*', '*/'],
  quotes: `'"\``,
};
export const GO_SYNTAX: Syntax = {
  id: 'go',
  lineComments: ['//'],
  blockComment: ['/*', '*/'],
  quotes: '"`',
  charLiterals: true,
};
/** Java, Kotlin, C#, Rust and protobuf are alike here. */
export const C_FAMILY_SYNTAX: Syntax = {
  id: 'c-family',
  lineComments: ['//'],
  blockComment: ['/*', '*/'],
  quotes: '"',
  charLiterals: true,
  tripleQuotes: true,
};
export const PYTHON_SYNTAX: Syntax = {
  id: 'python',
  lineComments: ['#'],
  quotes: `'"`,
  tripleQuotes: true,
};
/** Ruby and Elixir. */
export const HASH_SYNTAX: Syntax = {
  id: 'hash',
  lineComments: ['#'],
  quotes: `'"`,
  tripleQuotes: true,
};
export const PHP_SYNTAX: Syntax = {
  id: 'php',
  lineComments: ['//', '#'],
  blockComment: ['/*', '*/'],
  quotes: `'"`,
  php: true,
};

const lexers = new Map<string, RegExp>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * One global regex per syntax whose alternatives are: (1) a PHP doc block, kept as is (it holds
 * route annotations), (2) a comment, or otherwise a string or character literal. One native regex
 * pass is about twice as fast as stepping through the text in script.
 */
function lexer(syntax: Syntax): RegExp {
  const cached = lexers.get(syntax.id);
  if (cached) return cached;
  const comments = syntax.lineComments.map(
    (token) => `${escapeRegExp(token)}${syntax.php && token === '#' ? '(?!\\[)' : ''}[^\\n]*`,
  );
  const block = syntax.blockComment;
  if (block) {
    comments.push(`${escapeRegExp(block[0])}[\\s\\S]*?(?:${escapeRegExp(block[1])}|$)`);
  }
  const docBlock = syntax.php ? '\\/\\*\\*(?!\\/)[\\s\\S]*?(?:\\*\\/|$)' : '(?!)';
  const literals: string[] = [];
  for (const q of syntax.quotes) {
    const e = escapeRegExp(q);
    if (syntax.tripleQuotes && q !== '`') literals.push(`${e}{3}[\\s\\S]*?(?:${e}{3}|$)`);
    // Backtick strings span lines; an unterminated ' or " must not swallow the rest of the file.
    literals.push(
      q === '`' ? `${e}(?:\\\\[\\s\\S]|[^${e}\\\\])*${e}?` : `${e}(?:\\\\.|[^${e}\\\\\\n])*${e}?`,
    );
  }
  // 'x', '\n', '\u{1F600}'; a lone ' (a Rust lifetime) matches nothing.
  if (syntax.charLiterals) literals.push("'(?:\\\\[^'\\n]{1,10}|[^'\\\\\\n])'");
  const lexer = new RegExp(`(${docBlock})|(${comments.join('|')})|${literals.join('|')}`, 'g');
  lexers.set(syntax.id, lexer);
  return lexer;
}

/**
 * The text with every comment replaced by spaces (newlines kept), so offsets and line numbers still
 * point into the original. String literals are skipped, so "http://x" survives — or, with
 * `blankStrings`, emptied too (quotes kept), for finding structure that must not be inside a string.
 */
export function stripComments(text: string, syntax: Syntax, blankStrings = false): string {
  return text.replace(lexer(syntax), (token: string, doc?: string, comment?: string) => {
    if (comment !== undefined) return blank(token);
    if (doc !== undefined || !blankStrings || token.length <= 2) return token;
    return token.charAt(0) + blank(token.slice(1, -1)) + token.charAt(token.length - 1);
  });
}

function blank(text: string): string {
  if (!text.includes('\n')) return ' '.repeat(text.length);
  return text
    .split('\n')
    .map((line) => ' '.repeat(line.length))
    .join('\n');
}

/** Offset just past a string or character literal starting at `at`, or `at + 1` if none starts there. */
export function skipLiteral(text: string, at: number, syntax: Syntax): number {
  const quote = text.charAt(at);
  if (syntax.charLiterals && quote === "'") return skipCharLiteral(text, at);
  if (!syntax.quotes.includes(quote)) return at + 1;
  if (syntax.tripleQuotes && text.startsWith(quote.repeat(3), at)) {
    const close = text.indexOf(quote.repeat(3), at + 3);
    return close < 0 ? text.length : close + 3;
  }
  for (let j = at + 1; j < text.length; j++) {
    const c = text.charAt(j);
    if (c === '\\') j++;
    else if (c === quote) return j + 1;
    // An unterminated ' or " must not swallow the rest of the file.
    else if (c === '\n' && quote !== '`') return j;
  }
  return text.length;
}

function skipCharLiteral(text: string, at: number): number {
  if (text.charAt(at + 1) === '\\') {
    const close = text.indexOf("'", at + 2);
    return close > 0 && close - at <= 12 ? close + 1 : at + 1;
  }
  return text.charAt(at + 2) === "'" ? at + 3 : at + 1;
}

const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const bracketFinders = new Map<string, RegExp>();

function bracketFinder(syntax: Syntax): RegExp {
  let finder = bracketFinders.get(syntax.id);
  if (!finder) {
    const quotes = [...syntax.quotes, ...(syntax.charLiterals ? ["'"] : [])].map((c) => `\\${c}`);
    finder = new RegExp(`[()\\[\\]{}${quotes.join('')}]`, 'g');
    bracketFinders.set(syntax.id, finder);
  }
  return finder;
}

/**
 * Every opening bracket's partner in one linear pass, strings skipped; unbalanced openers are
 * absent. Backs `SourceFile.closing`.
 */
export function bracketPairs(code: string, syntax: Syntax): Map<number, number> {
  const finder = bracketFinder(syntax);
  const pairs = new Map<number, number>();
  const stack: number[] = [];
  for (let i = 0; i < code.length;) {
    finder.lastIndex = i;
    const found = finder.exec(code);
    if (!found) break;
    const at = found.index;
    const c = found[0];
    if (c === '(' || c === '[' || c === '{') stack.push(at);
    else if (c === ')' || c === ']' || c === '}') {
      const open = stack.pop();
      if (open !== undefined) pairs.set(open, at);
    } else {
      i = skipLiteral(code, at, syntax);
      continue;
    }
    i = at + 1;
  }
  return pairs;
}

/** Arguments longer than this are cut: paths and methods come first, and slices stay cheap. */
export const MAX_ARGUMENT_CHARS = 2000;

/**
 * The text inside the bracket at `open` in the file's code (at most `MAX_ARGUMENT_CHARS` of it),
 * or undefined when the bracket is unbalanced.
 */
export function argumentsAt(file: SourceFile, syntax: Syntax, open: number): string | undefined {
  const close = file.closing(syntax, open);
  if (close < 0) return undefined;
  return file.code(syntax).slice(open + 1, Math.min(close, open + 1 + MAX_ARGUMENT_CHARS));
}

/** Regex matches over a file, at most `limit` of them, so degenerate files cost a bounded amount. */
export function matchesOf(code: string, pattern: RegExp, limit = 5000): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  for (const m of code.matchAll(pattern)) {
    found.push(m);
    if (found.length >= limit) break;
  }
  return found;
}

/**
 * Offset of the bracket closing the one at `open` in a short snippet, skipping strings; -1 when
 * unbalanced. For a whole file use `SourceFile.closing`, which is linear over all openers.
 */
export function closingIndex(text: string, open: number, syntax: Syntax): number {
  if (OPENERS[text.charAt(open)] === undefined) return -1;
  const finder = bracketFinder(syntax);
  let depth = 0;
  let i = open;
  while (i < text.length) {
    finder.lastIndex = i;
    const found = finder.exec(text);
    if (!found) return -1;
    const at = found.index;
    const c = found[0];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return at;
    } else {
      i = skipLiteral(text, at, syntax);
      continue;
    }
    i = at + 1;
  }
  return -1;
}

/** The text between the bracket at `open` and its partner, or undefined when unbalanced. */
export function bracketed(text: string, open: number, syntax: Syntax): string | undefined {
  const close = closingIndex(text, open, syntax);
  return close < 0 ? undefined : text.slice(open + 1, close);
}

const STRING_LITERAL = /(?<q>["'`])(?<value>(?:\\.|(?!\k<q>)[^\\\n])*)\k<q>/g;

/** The values of the string literals in a snippet, in order (escapes left as written). */
export function stringLiterals(snippet: string): string[] {
  return [...snippet.matchAll(STRING_LITERAL)].map((m) => m.groups?.value ?? '');
}

/** The string literal the snippet starts with (after optional prefixes such as r, f, @, $). */
export function leadingString(snippet: string): string | undefined {
  const m = /^\s*[rRuUbBfF@$]{0,2}(?<q>["'`])(?<value>(?:\\.|(?!\k<q>)[^\\\n])*)\k<q>/.exec(
    snippet,
  );
  return m?.groups?.value;
}

/** The value of a `key = "x"` / `key: "x"` / `'key' => 'x'` argument in a snippet. */
export function keywordString(snippet: string, keys: string): string | undefined {
  const re = new RegExp(
    String.raw`(?<![\w$])['"]?(?:${keys})['"]?\s*(?:=>|[=:])\s*[rRuUbBfF]?(?<q>["'\`])(?<value>[^"'\`\n]*)\k<q>`,
  );
  return re.exec(snippet)?.groups?.value;
}

/** The strings of a `key = [..]`, `key: {..}` or `key = "x"` argument. */
export function keywordStrings(snippet: string, keys: string): string[] | undefined {
  const re = new RegExp(
    String.raw`(?<![\w$])['"]?(?:${keys})['"]?\s*(?:=>|[=:])\s*(?:[\[{(](?<list>[^\]})]*)[\]})]|(?<one>[rRuUbB]?["'\`][^"'\`\n]*["'\`]))`,
  );
  const m = re.exec(snippet);
  if (!m?.groups) return undefined;
  return stringLiterals(m.groups.list ?? m.groups.one ?? '');
}

const METHOD_ALIASES: Record<string, HttpMethod> = {
  DEL: 'DELETE',
  ALL: 'ANY',
  ANY: 'ANY',
  '*': 'ANY',
  MATCH: 'ANY',
};

/** A verb as written in some framework ("get", "Delete", "del", "all", "*") as an HTTP method. */
export function toMethod(word: string): HttpMethod | undefined {
  const upper = word.trim().toUpperCase();
  const alias = METHOD_ALIASES[upper];
  if (alias) return alias;
  return (HTTP_METHODS as readonly string[]).includes(upper) ? (upper as HttpMethod) : undefined;
}

/** Methods named in a snippet such as `["GET", "POST"]`; `fallback` when none is recognised. */
export function methodsIn(words: readonly string[], fallback: HttpMethod): HttpMethod[] {
  const methods = words.map(toMethod).filter((m): m is HttpMethod => m !== undefined);
  return methods.length > 0 ? [...new Set(methods)] : [fallback];
}

/**
 * Joins route fragments with exactly one '/' between them, always starting with '/'. A fragment
 * that is only '/' adds nothing (`/items` + `/` is `/items`, as most routers treat it); the last
 * fragment keeps a trailing slash it was written with (Django and Flask routes care).
 */
export function joinPath(...parts: readonly (string | undefined)[]): string {
  const segments: string[] = [];
  let trailing = false;
  for (const part of parts) {
    if (part === undefined) continue;
    const trimmed = part.trim();
    const inner = trimmed.replace(/^\/+|\/+$/g, '');
    if (inner === '') continue;
    segments.push(inner);
    trailing = trimmed.endsWith('/');
  }
  if (segments.length === 0) return '/';
  return `/${segments.join('/')}${trailing ? '/' : ''}`.replace(/\/{2,}/g, '/');
}

/** Naive English singular, as route helpers derive nested parameter names ("users" → "user"). */
export function singular(word: string): string {
  if (/ies$/.test(word)) return word.slice(0, -3) + 'y';
  if (/(?:ss|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (/[^s]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/** A region of a file whose routes all get `prefix` (a chi `Route` body, an axum `nest`). */
export interface Scope {
  start: number;
  end: number;
  prefix: string;
}

/** Prefixes of the scopes containing `offset`, outermost first. */
export function prefixesAt(scopes: readonly Scope[], offset: number): string[] {
  return scopes
    .filter((s) => s.start <= offset && offset <= s.end)
    .sort((a, b) => a.start - b.start)
    .map((s) => s.prefix);
}

/** Prefix chains by variable name (`v1 := r.Group("/v1")`), resolved in definition order. */
export type PrefixTable = Map<string, string[]>;

/** Records that `name` routes under `parent`'s prefixes plus `prefix`. */
export function definePrefix(
  table: PrefixTable,
  name: string,
  parent: string | undefined,
  ...prefix: string[]
): void {
  const base = parent === undefined ? [] : (table.get(parent) ?? []);
  table.set(name, [...base, ...prefix]);
}

/** Line-oriented walk over do/end blocks (Ruby, Elixir), calling `visit` with each line. */
export interface BlockLine<T> {
  /** The line with comments blanked and surrounding space trimmed. */
  text: string;
  line: number;
  /** The line ends in `do` (or opens a Ruby keyword block) and pushes a frame. */
  opens: boolean;
  /** The innermost frame. */
  frame: T;
  stack: readonly T[];
}

const DO_AT_END = /\bdo\s*(?:\|[^|]*\|)?\s*$/;
const RUBY_KEYWORD_OPENER = /^(?:if|unless|case|while|until|begin|def|class|module|for)\b/;

/**
 * Walks `code` line by line keeping a stack of frames: a line ending in `do` pushes what `visit`
 * returns (or a copy of the current frame), a line starting with `end` pops. Unbalanced input only
 * ever empties the stack down to the root.
 */
export function walkBlocks<T>(
  code: string,
  root: T,
  keywordOpeners: boolean,
  visit: (line: BlockLine<T>) => T | undefined,
): void {
  const stack: T[] = [root];
  const lines = code.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const text = (lines[index] ?? '').trim();
    // No route declaration is that long; skipping keeps the per-line regexes cheap.
    if (text === '' || text.length > MAX_ARGUMENT_CHARS) continue;
    if (/^end\b/.test(text)) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const opens =
      DO_AT_END.test(text) ||
      (keywordOpeners && RUBY_KEYWORD_OPENER.test(text) && !/\bend\b/.test(text));
    const frame = stack.at(-1) ?? root;
    const pushed = visit({ text, line: index + 1, opens, frame, stack });
    if (opens) stack.push(pushed ?? frame);
  }
}

function isIdentifierChar(code: number, dotted: boolean): boolean {
  return (
    (code >= 97 && code <= 122) || // a-z
    (code >= 65 && code <= 90) || // A-Z
    (code >= 48 && code <= 57) || // 0-9
    code === 95 || // _
    code === 36 || // $
    (dotted && code === 46) // .
  );
}

/**
 * The identifier ending just before `end` (whitespace skipped), e.g. the receiver of `app.get(`;
 * '' when there is none. Regexes start at a literal such as `.get(` and look back with this, because
 * a regex that starts with an identifier class is tried at every character and is many times slower.
 */
export function identifierBefore(
  code: string,
  end: number,
  dotted = false,
): { name: string; start: number } {
  let stop = end;
  while (stop > 0 && /\s/.test(code.charAt(stop - 1))) stop--;
  let start = stop;
  while (start > 0 && isIdentifierChar(code.charCodeAt(start - 1), dotted)) start--;
  const name = code.slice(start, stop);
  return /^[A-Za-z_$]/.test(name) ? { name, start } : { name: '', start: stop };
}

/**
 * The variable a value starting at `start` is assigned to: `x = …`, `x := …` (Go),
 * `x: Type = …` (Python, TypeScript); '' when it is not an assignment.
 */
export function assignedName(code: string, start: number): string {
  let at = start;
  while (at > 0 && /\s/.test(code.charAt(at - 1))) at--;
  if (code.charAt(at - 1) !== '=' || /[=!<>]/.test(code.charAt(at - 2))) return '';
  at--;
  if (code.charAt(at - 1) === ':') at--;
  const target = identifierBefore(code, at, true);
  let before = target.start;
  while (before > 0 && /\s/.test(code.charAt(before - 1))) before--;
  // `name: Type =` — the name is before the annotation.
  if (code.charAt(before - 1) === ':') return identifierBefore(code, before - 1).name;
  return target.name;
}

/** Does the service-relative path end with one of the extensions (each with its dot)? */
export function hasExtension(local: string, extensions: ReadonlySet<string>): boolean {
  const dot = local.lastIndexOf('.');
  return dot >= 0 && extensions.has(local.slice(dot).toLowerCase());
}
