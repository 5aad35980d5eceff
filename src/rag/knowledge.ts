/**
 * Reads the knowledge base: one markdown file per subject, YAML front matter validated against
 * `KnowledgeEntry`. A broken file never stops the others from loading; it becomes a problem that
 * names the file and, where it can be found, the line.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { Document } from 'yaml';
import { KnowledgeEntry } from './schema.js';

export interface KnowledgeProblem {
  /** File name inside the knowledge directory (or the directory itself when it cannot be read). */
  file: string;
  message: string;
}

export interface LoadedKnowledge {
  /** Valid entries, sorted by id. Files with problems are left out. */
  entries: KnowledgeEntry[];
  problems: KnowledgeProblem[];
  /** sha256 over every entry file's name and content, valid or not: changes with any edit. */
  hash: string;
}

/** `knowledge/` at the package root; this file sits two levels below it in src/ and in dist/. */
export function defaultKnowledgeDir(): string {
  return fileURLToPath(new URL('../../knowledge/', import.meta.url));
}

/** The package root, for defaults that live beside the package (the cache). */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

const FRONT_MATTER =
  /^\uFEFF?---[ \t]*\r?\n(?<front>(?:[\s\S]*?\r?\n)?)---[ \t]*(?:\r?\n(?<body>[\s\S]*))?$/;

/** Loads every `*.md` in `dir` except README.md. Never throws for bad content or a missing dir. */
export function loadKnowledge(dir: string): LoadedKnowledge {
  let files: string[];
  try {
    files = readdirSync(dir, { withFileTypes: true })
      .filter((dirent) => dirent.isFile() && isEntryFile(dirent.name))
      .map((dirent) => dirent.name)
      .sort();
  } catch (error) {
    return {
      entries: [],
      problems: [{ file: dir, message: `cannot read the knowledge directory: ${reason(error)}` }],
      hash: sha256Of([]),
    };
  }

  const entries: KnowledgeEntry[] = [];
  const problems: KnowledgeProblem[] = [];
  const contents: [string, string][] = [];
  for (const file of files) {
    let content: string;
    try {
      content = readFileSync(join(dir, file), 'utf8');
    } catch (error) {
      problems.push({ file, message: `cannot read: ${reason(error)}` });
      continue;
    }
    contents.push([file, content]);
    const parsed = parseKnowledgeFile(file, content);
    if (parsed.kind === 'entry') entries.push(parsed.entry);
    else problems.push({ file, message: parsed.message });
  }

  entries.sort((a, b) => compareStrings(a.id, b.id));
  return { entries, problems, hash: sha256Of(contents) };
}

function isEntryFile(name: string): boolean {
  return name.endsWith('.md') && name.toLowerCase() !== 'readme.md';
}

export type ParsedKnowledgeFile =
  { kind: 'entry'; entry: KnowledgeEntry } | { kind: 'problem'; message: string };

/** Parses one file's text; `file` is its name, which the entry's id must equal (without `.md`). */
export function parseKnowledgeFile(file: string, content: string): ParsedKnowledgeFile {
  const match = FRONT_MATTER.exec(content);
  if (match?.groups === undefined) {
    return {
      kind: 'problem',
      message: 'no front matter: the file must start with a line "---" and close it with another',
    };
  }
  const front = match.groups['front'] ?? '';
  const body = match.groups['body'] ?? '';

  const lineCounter = new LineCounter();
  const document = parseDocument(front, { lineCounter, prettyErrors: false });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) {
    const line = frontMatterLine(lineCounter, yamlError.pos[0]);
    return {
      kind: 'problem',
      message: `line ${line}: invalid YAML: ${firstLine(yamlError.message)}`,
    };
  }
  const data: unknown = document.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { kind: 'problem', message: 'line 2: the front matter must be a YAML mapping' };
  }
  if ('body' in data) {
    const line = lineOfPath(document, lineCounter, ['body']);
    return {
      kind: 'problem',
      message: `line ${line}: "body" is not a front matter field; the markdown after the front matter is the body`,
    };
  }

  const result = KnowledgeEntry.safeParse({ ...data, body });
  if (!result.success) {
    return { kind: 'problem', message: describeIssues(result.error.issues, document, lineCounter) };
  }
  const entry = result.data;

  const expectedId = file.replace(/\.md$/, '');
  if (entry.id !== expectedId) {
    const line = lineOfPath(document, lineCounter, ['id']);
    return {
      kind: 'problem',
      message: `line ${line}: id "${entry.id}" must equal the file name without .md ("${expectedId}")`,
    };
  }
  for (const [name, figure] of Object.entries(entry.figures)) {
    if (figure.source === undefined || figure.source < entry.sources.length) continue;
    const line = lineOfPath(document, lineCounter, ['figures', name, 'source']);
    return {
      kind: 'problem',
      message: `line ${line}: figures.${name}.source is ${figure.source}, but there are only ${entry.sources.length} sources (indexes start at 0)`,
    };
  }
  return { kind: 'entry', entry };
}

function describeIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  document: Document,
  lineCounter: LineCounter,
): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String);
      const where = path.length === 0 ? '(front matter)' : path.join('.');
      const line = lineOfPath(document, lineCounter, path);
      return `line ${line}: ${where}: ${issue.message}`;
    })
    .join('; ');
}

/** Line (1-based, in the file) of the deepest node along `path` that exists in the front matter. */
function lineOfPath(document: Document, lineCounter: LineCounter, path: readonly string[]): number {
  for (let depth = path.length; depth > 0; depth -= 1) {
    const node: unknown = document.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return frontMatterLine(lineCounter, node.range[0]);
  }
  const root = document.contents;
  if (isNode(root) && root.range) return frontMatterLine(lineCounter, root.range[0]);
  return 2;
}

/** The opening "---" is line 1 of the file, so front matter line n is file line n + 1. */
function frontMatterLine(lineCounter: LineCounter, offset: number): number {
  return lineCounter.linePos(offset).line + 1;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

/** The errno code when there is one (ENOENT, EACCES); duck-typed because errors may cross realms. */
function reason(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  if ('code' in error && typeof error.code === 'string') return error.code;
  return 'message' in error && typeof error.message === 'string' ? error.message : String(error);
}

function sha256Of(contents: readonly (readonly [string, string])[]): string {
  const hash = createHash('sha256');
  for (const [file, content] of contents) {
    // NUL separators keep ("ab","c") and ("a","bc") apart.
    hash.update(file).update('\0').update(content).update('\0');
  }
  return hash.digest('hex');
}

/** Locale-independent ordering, so ids sort the same on every machine. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
