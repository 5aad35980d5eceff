/**
 * The comment form of the request standard: a line starting with `/ai-provision`, optionally a
 * subcommand, then YAML fields. Turns any comment into a command, a reply or nothing, and never
 * throws. `requestFromFields` is the one place where fields become a ProvisionRequest, shared by
 * every entry point.
 */
import { parseDocument } from 'yaml';
import type { ErrorCode } from '../outcome.js';
import { renderTemplate } from '../deliver/templates.js';
import {
  DESCRIPTION_MAX,
  DESCRIPTION_MIN,
  ENVIRONMENTS,
  ProvisionRequest,
  SUBCOMMANDS,
  TARGETS,
} from './schema.js';
import type { Environment, Origin, Target } from './schema.js';
import {
  codeSpanText,
  didYouMean,
  emptyRequestMessage,
  rejectionMessage,
  unknownSubcommandMessage,
} from './messages.js';
import { DEFAULT_ALLOWED_HOSTS, validateRepoUrl } from './validate-repo-url.js';

/** The comment's field names, in the order examples show them. */
export const FIELD_NAMES = [
  'git_repo',
  'app_description',
  'ref',
  'paths',
  'target',
  'environment',
  'namespace',
] as const;
export type FieldName = (typeof FIELD_NAMES)[number];

/** One thing wrong with a request: which field, and a sentence for the user. */
export interface Problem {
  /** A field name, or "request" when the text as a whole cannot be read. */
  field: string;
  code: ErrorCode;
  message: string;
}

/** What the corrected example shows: the user's valid values, fixes, or placeholders. */
export interface CorrectedFields {
  git_repo: string;
  app_description: string;
  ref?: string;
  paths?: string[];
  target?: string;
  environment?: string;
  namespace?: string;
}

export type FieldsResult =
  | { kind: 'ok'; request: ProvisionRequest }
  | { kind: 'invalid'; problems: Problem[]; corrected: CorrectedFields };

export interface FieldsOptions {
  allowedHosts?: readonly string[] | undefined;
  allowLocalPath: boolean;
  origin: Origin;
}

export type Command =
  | { subcommand: 'provision'; request: ProvisionRequest }
  | { subcommand: 'help' }
  | { subcommand: 'status' }
  | { subcommand: 'approve' | 'reject'; reason?: string };

export type ParsedCommand =
  | { kind: 'command'; command: Command }
  | { kind: 'reply'; code: ErrorCode; message: string }
  | { kind: 'ignore' };

export interface ParseCommandOptions {
  allowedHosts?: readonly string[] | undefined;
  origin: Origin;
}

/** Far above any honest request (the description is capped at 2,000), far below a YAML bomb. */
export const REQUEST_MAX_CHARS = 10_000;

const COMMAND_LINE = /^\s*\/ai-provision(?<rest>\s.*)?$/i;
const FENCE_OPEN = /^ {0,3}(?<fence>`{3,}|~{3,})(?<info>[^`]*)$/;
/** A `key:` line, also as a list item, which YAML would read as fields. */
const KEY_LINE = /^\s*(?:-\s+)?(?<key>[A-Za-z_][\w-]*)\s*:(?:\s|$)/;

/** Words people use for a field; suggested, never silently accepted. */
const FIELD_SYNONYMS: Record<string, FieldName> = {
  repo: 'git_repo',
  repository: 'git_repo',
  url: 'git_repo',
  git_url: 'git_repo',
  repo_url: 'git_repo',
  description: 'app_description',
  desc: 'app_description',
  branch: 'ref',
  tag: 'ref',
  commit: 'ref',
  path: 'paths',
  services: 'paths',
  env: 'environment',
  ns: 'namespace',
};

const TARGET_ALIASES: Record<string, Target> = {
  k8s: 'kubernetes',
  kube: 'kubernetes',
  pve: 'proxmox',
};
const ENVIRONMENT_ALIASES: Record<string, Environment> = {
  production: 'prod',
  prd: 'prod',
  development: 'dev',
  develop: 'dev',
  stage: 'staging',
  stg: 'staging',
  preprod: 'staging',
  'pre-prod': 'staging',
};

const REPLY_PRIORITY: readonly ErrorCode[] = [
  'request-malformed',
  'request-missing-field',
  'request-unknown-field',
  'repo-url-rejected',
  'request-invalid-field',
];

// ---------------------------------------------------------------------------------------------
// Did you mean

/** Edit distance (insert, delete, substitute), for "did you mean" suggestions. */
export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The closest candidate within `maxDistance` edits, or undefined. A candidate that would need
 * every letter replaced is never a suggestion. Ties go to the earlier candidate.
 */
export function closestMatch(
  input: string,
  candidates: readonly string[],
  maxDistance = 2,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = levenshtein(input, candidate);
    if (distance <= maxDistance && distance < candidate.length && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Lookup that ignores Object.prototype, so `target: constructor` is just an unknown value. */
function ownValue<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function suggestField(key: string): FieldName | undefined {
  const normal = key
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  const synonym = ownValue(FIELD_SYNONYMS, normal);
  if (synonym !== undefined) return synonym;
  return closestMatch(normal, FIELD_NAMES) as FieldName | undefined;
}

// ---------------------------------------------------------------------------------------------
// Fields → ProvisionRequest

function isFieldName(key: string): key is FieldName {
  return (FIELD_NAMES as readonly string[]).includes(key);
}

/** How a value reads to a user, for "must be text, not a list". */
function describeValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a set of fields';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'true/false';
  return 'text';
}

/** Absent, null and blank all mean "not given": YAML turns `field:` into an empty string. */
function isBlank(value: unknown): boolean {
  return (
    value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
  );
}

function problem(field: string, code: ErrorCode, message: string): Problem {
  return { field, code, message };
}

function wrongType(field: FieldName, expected: string, value: unknown): Problem {
  return problem(
    field,
    'request-invalid-field',
    renderTemplate('problem-wrong-type', { field, expected, actual: describeValue(value) }),
  );
}

interface Examined {
  problems: Problem[];
  corrected: CorrectedFields;
  values: {
    gitRepo?: string;
    appDescription?: string;
    ref?: string;
    paths?: string[];
    target?: Target;
    environment?: Environment;
    namespace?: string;
  };
}

function placeholderRepo(options: FieldsOptions): string {
  const hosts = (options.allowedHosts ?? DEFAULT_ALLOWED_HOSTS).map((h) => h.toLowerCase());
  const repository = options.origin.repository;
  // A comment on owner/name most likely asks about owner/name itself.
  if (
    repository !== undefined &&
    /^[\w.-]+\/[\w.-]+$/.test(repository) &&
    hosts.includes('github.com')
  ) {
    return `https://github.com/${repository}`;
  }
  return renderTemplate('example-placeholder-repo', {});
}

function examineGitRepo(value: unknown, options: FieldsOptions, out: Examined): void {
  if (isBlank(value)) {
    out.problems.push(
      problem('git_repo', 'request-missing-field', renderTemplate('problem-missing-git-repo', {})),
    );
    out.corrected.git_repo = placeholderRepo(options);
    return;
  }
  if (typeof value !== 'string') {
    out.problems.push(wrongType('git_repo', 'an https:// URL', value));
    out.corrected.git_repo = placeholderRepo(options);
    return;
  }
  const location = validateRepoUrl(value, {
    allowedHosts: options.allowedHosts,
    allowLocalPath: options.allowLocalPath,
  });
  if (location.kind === 'rejected') {
    out.problems.push(
      problem(
        'git_repo',
        'repo-url-rejected',
        renderTemplate('problem-repo-url', {
          // The reason is a standalone sentence; here it continues ours after a colon.
          reason: location.reason.replace(/^[A-Z](?=[a-z ])/, (c) => c.toLowerCase()),
        }),
      ),
    );
    out.corrected.git_repo = location.suggestion ?? placeholderRepo(options);
    return;
  }
  const gitRepo = location.kind === 'url' ? location.url : location.path;
  out.values.gitRepo = gitRepo;
  out.corrected.git_repo = gitRepo;
}

function examineDescription(value: unknown, out: Examined): void {
  const placeholder = renderTemplate('example-placeholder-description', {});
  if (isBlank(value)) {
    out.problems.push(
      problem(
        'app_description',
        'request-missing-field',
        renderTemplate('problem-missing-app-description', {}),
      ),
    );
    out.corrected.app_description = placeholder;
    return;
  }
  if (typeof value !== 'string') {
    out.problems.push(wrongType('app_description', 'text', value));
    out.corrected.app_description = placeholder;
    return;
  }
  const text = value.trim();
  if (text.length < DESCRIPTION_MIN) {
    out.problems.push(
      problem(
        'app_description',
        'request-invalid-field',
        renderTemplate('problem-description-too-short', {
          length: String(text.length),
          min: String(DESCRIPTION_MIN),
        }),
      ),
    );
    out.corrected.app_description = placeholder;
    return;
  }
  if (text.length > DESCRIPTION_MAX) {
    out.problems.push(
      problem(
        'app_description',
        'request-invalid-field',
        renderTemplate('problem-description-too-long', {
          length: String(text.length),
          max: String(DESCRIPTION_MAX),
        }),
      ),
    );
    // Their own words, cut at a word boundary, make a valid example they can edit down.
    const cut = text.slice(0, DESCRIPTION_MAX);
    const space = cut.lastIndexOf(' ');
    out.corrected.app_description = space > DESCRIPTION_MIN ? cut.slice(0, space) : cut;
    return;
  }
  out.values.appDescription = text;
  out.corrected.app_description = text;
}

function examineRef(value: unknown, out: Examined): void {
  if (isBlank(value)) return;
  if (typeof value !== 'string') {
    out.problems.push(wrongType('ref', 'a branch, tag or commit name', value));
    return;
  }
  const ref = value.trim();
  if (ProvisionRequest.shape.ref.safeParse(ref).success) {
    out.values.ref = ref;
    out.corrected.ref = ref;
    return;
  }
  out.problems.push(
    problem(
      'ref',
      'request-invalid-field',
      renderTemplate('problem-ref', { value: codeSpanText(ref) }),
    ),
  );
  const fix = ref
    .replace(/[^A-Za-z0-9._/+-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^-+/, '')
    .slice(0, 200);
  if (fix !== '' && ProvisionRequest.shape.ref.safeParse(fix).success) out.corrected.ref = fix;
}

/** A folder inside the repository: relative, no "..", no backslashes; "./a/" becomes "a". */
function normalisePath(raw: string): string | undefined {
  const trimmed = raw.trim();
  // "." and "./" name the repository root, which is a service folder like any other.
  if (/^\.(?:\/+\.?)*$/.test(trimmed)) return '.';
  const path = trimmed
    .replace(/^(?:\.\/+)+/, '')
    .replace(/\/+/g, '/')
    .replace(/(.)\/$/, '$1');
  if (path === '' || path.startsWith('/') || path.includes('\\')) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters never name a folder
  if (/[\u0000-\u001f\u007f]/.test(path)) return undefined;
  if (path.split('/').some((part) => part === '..')) return undefined;
  return path;
}

function examinePaths(value: unknown, out: Examined): void {
  if (value === undefined || value === null) return;
  let entries: unknown[];
  if (typeof value === 'string') entries = value.split(/[,\n]/);
  else if (Array.isArray(value)) entries = value;
  else {
    out.problems.push(wrongType('paths', 'a list of folders or one comma-separated line', value));
    return;
  }
  const good: string[] = [];
  let reported = false;
  for (const entry of entries) {
    if (typeof entry === 'string' && entry.trim() === '') continue;
    const path = typeof entry === 'string' ? normalisePath(entry) : undefined;
    if (path !== undefined) {
      if (!good.includes(path)) good.push(path);
      continue;
    }
    reported = true;
    const shown = typeof entry === 'string' ? entry : describeValue(entry);
    out.problems.push(
      problem(
        'paths',
        'request-invalid-field',
        renderTemplate('problem-path', { value: codeSpanText(shown) }),
      ),
    );
  }
  if (good.length > 0) {
    out.corrected.paths = good;
    if (!reported) out.values.paths = good;
    return;
  }
  if (!reported) {
    out.problems.push(
      problem('paths', 'request-invalid-field', renderTemplate('problem-paths-empty', {})),
    );
  }
}

function examineChoice<T extends string>(
  field: 'target' | 'environment',
  value: unknown,
  choices: readonly T[],
  aliases: Record<string, T>,
  out: Examined,
): T | undefined {
  if (isBlank(value)) return undefined;
  if (typeof value !== 'string') {
    out.problems.push(wrongType(field, `one of ${choices.join(', ')}`, value));
    return undefined;
  }
  const normal = value.trim().toLowerCase();
  const chosen = (choices as readonly string[]).includes(normal)
    ? (normal as T)
    : ownValue(aliases, normal);
  if (chosen !== undefined) {
    out.corrected[field] = chosen;
    return chosen;
  }
  const suggestion = closestMatch(normal, [...choices, ...Object.keys(aliases)]);
  const fix =
    suggestion === undefined ? undefined : (ownValue(aliases, suggestion) ?? (suggestion as T));
  const message = [
    renderTemplate('problem-choice', {
      field,
      value: codeSpanText(value),
      choices: choices.map((c) => `\`${c}\``).join(', '),
    }),
    didYouMean(fix),
  ];
  out.problems.push(problem(field, 'request-invalid-field', message.filter(Boolean).join(' ')));
  if (fix !== undefined) out.corrected[field] = fix;
  return undefined;
}

function examineNamespace(value: unknown, out: Examined): void {
  if (isBlank(value)) return;
  if (typeof value !== 'string') {
    out.problems.push(wrongType('namespace', 'a Kubernetes namespace name', value));
    return;
  }
  const namespace = value.trim();
  if (ProvisionRequest.shape.namespace.safeParse(namespace).success) {
    out.values.namespace = namespace;
    out.corrected.namespace = namespace;
    return;
  }
  const fix = namespace
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  const suggestion = ProvisionRequest.shape.namespace.safeParse(fix).success ? fix : undefined;
  out.problems.push(
    problem(
      'namespace',
      'request-invalid-field',
      [
        renderTemplate('problem-namespace', { value: codeSpanText(namespace) }),
        didYouMean(suggestion),
      ]
        .filter(Boolean)
        .join(' '),
    ),
  );
  if (suggestion !== undefined) out.corrected.namespace = suggestion;
}

function examine(fields: Record<string, unknown>, options: FieldsOptions): Examined {
  const out: Examined = {
    problems: [],
    corrected: { git_repo: '', app_description: '' },
    values: {},
  };
  examineGitRepo(fields.git_repo, options, out);
  examineDescription(fields.app_description, out);
  examineRef(fields.ref, out);
  examinePaths(fields.paths, out);
  const target = examineChoice('target', fields.target, TARGETS, TARGET_ALIASES, out);
  if (target !== undefined) out.values.target = target;
  const environment = examineChoice(
    'environment',
    fields.environment,
    ENVIRONMENTS,
    ENVIRONMENT_ALIASES,
    out,
  );
  if (environment !== undefined) out.values.environment = environment;
  examineNamespace(fields.namespace, out);
  for (const key of Object.keys(fields)) {
    if (isFieldName(key)) continue;
    const message = [
      renderTemplate('problem-unknown-field', { field: codeSpanText(key) }),
      didYouMean(suggestField(key)),
    ];
    out.problems.push(problem(key, 'request-unknown-field', message.filter(Boolean).join(' ')));
  }
  return out;
}

/** Moves misspelled keys onto the field they were meant for, for the example only. */
function withMisspellingsFixed(fields: Record<string, unknown>): Record<string, unknown> {
  const fixed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (isFieldName(key)) fixed[key] = value;
  for (const [key, value] of Object.entries(fields)) {
    if (isFieldName(key)) continue;
    const meant = suggestField(key);
    if (meant !== undefined && fixed[meant] === undefined) fixed[meant] = value;
  }
  return fixed;
}

/**
 * Turns snake_case fields (as in the comment standard) into a validated ProvisionRequest. Every
 * entry point uses this, so the rules and the wording of refusals are the same everywhere. All
 * problems are reported at once, with a corrected example built from the user's valid values.
 */
export function requestFromFields(
  fields: Record<string, unknown>,
  options: FieldsOptions,
): FieldsResult {
  const examined = examine(fields, options);
  if (examined.problems.length > 0) {
    const forExample = examine(withMisspellingsFixed(fields), options);
    return { kind: 'invalid', problems: examined.problems, corrected: forExample.corrected };
  }
  const { values } = examined;
  const candidate = {
    gitRepo: values.gitRepo,
    appDescription: values.appDescription,
    ...(values.ref !== undefined && { ref: values.ref }),
    ...(values.paths !== undefined && { paths: values.paths }),
    target: values.target ?? 'kubernetes',
    ...(values.environment !== undefined && { environment: values.environment }),
    ...(values.namespace !== undefined && { namespace: values.namespace }),
    origin: options.origin,
  };
  const parsed = ProvisionRequest.safeParse(candidate);
  if (parsed.success) return { kind: 'ok', request: parsed.data };
  // Only reachable with a bad origin from the caller; still a value, never a throw.
  return {
    kind: 'invalid',
    problems: parsed.error.issues.map((issue) =>
      problem(issue.path.join('.') || 'request', 'request-invalid-field', issue.message),
    ),
    corrected: examined.corrected,
  };
}

// ---------------------------------------------------------------------------------------------
// Comment text → command

interface SourceLine {
  /** 1-based line number in the comment. */
  number: number;
  text: string;
}

function isBlankLine(text: string): boolean {
  return text.trim() === '';
}

function isFenceLine(text: string): boolean {
  return /^ {0,3}(?:`{3,}|~{3,})/.test(text);
}

/** Where the command starts: the first `/ai-provision` line outside quotes and code blocks. */
function findCommandLine(lines: readonly string[]): number {
  let fence: string | undefined;
  for (const [index, line] of lines.entries()) {
    if (fence !== undefined) {
      if (new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(line)) fence = undefined;
      continue;
    }
    const opener = FENCE_OPEN.exec(line)?.groups?.fence;
    // Code blocks hold examples (ours included), not requests: a command there would loop.
    if (opener !== undefined) {
      fence = opener;
      continue;
    }
    if (COMMAND_LINE.test(line)) return index;
  }
  return -1;
}

function keyOf(text: string): string | undefined {
  return KEY_LINE.exec(text)?.groups?.key;
}

/** A paragraph after the first one still belongs to the request only if it looks like more of it. */
function continuesYaml(paragraph: readonly SourceLine[]): boolean {
  const first = paragraph.find((line) => !/^\s*#/.test(line.text));
  if (first === undefined) return true;
  if (/^\s/.test(first.text) || /^-(?:\s|$)/.test(first.text)) return true;
  const key = keyOf(first.text);
  return key !== undefined && (isFieldName(key) || suggestField(key) !== undefined);
}

function paragraphAt(lines: readonly SourceLine[], start: number): SourceLine[] {
  const paragraph: SourceLine[] = [];
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (isBlankLine(line.text) || isFenceLine(line.text)) break;
    paragraph.push(line);
  }
  return paragraph;
}

/**
 * The YAML part of the body. A fenced block is taken whole up to its closing fence. Otherwise
 * the first paragraph containing a `field:` line starts the YAML (prose paragraphs before it are
 * skipped), and later paragraphs join only while they look like YAML: indented, a list item, or a
 * line whose key is a field or a near miss. A fence or any other paragraph ends it, so comments
 * may carry prose after the request as long as a blank line separates them.
 */
function extractYaml(body: readonly SourceLine[]): SourceLine[] {
  let i = 0;
  while (i < body.length) {
    const line = body[i]!;
    if (isBlankLine(line.text)) {
      i++;
      continue;
    }
    const opener = FENCE_OPEN.exec(line.text)?.groups?.fence;
    if (opener !== undefined) {
      const closing = new RegExp(`^ {0,3}${opener[0]}{${opener.length},}\\s*$`);
      const end = body.findIndex((l, j) => j > i && closing.test(l.text));
      return body.slice(i + 1, end === -1 ? body.length : end);
    }
    const paragraph = paragraphAt(body, i);
    if (paragraph.length === 0) {
      i++;
      continue;
    }
    if (paragraph.some((l) => keyOf(l.text) !== undefined)) break;
    i += paragraph.length;
  }
  if (i >= body.length) return [];

  const yaml = paragraphAt(body, i);
  let next = i + yaml.length;
  for (;;) {
    let j = next;
    while (j < body.length && isBlankLine(body[j]!.text)) j++;
    if (j >= body.length || isFenceLine(body[j]!.text)) break;
    const paragraph = paragraphAt(body, j);
    if (!continuesYaml(paragraph)) break;
    // Keep the blank lines: they are part of multi-paragraph block scalars.
    yaml.push(...body.slice(next, j), ...paragraph);
    next = j + paragraph.length;
  }
  return yaml;
}

function dedent(lines: readonly SourceLine[]): string {
  const indents = lines
    .filter((l) => !isBlankLine(l.text))
    .map((l) => /^[ \t]*/.exec(l.text)![0].length);
  const common = indents.length === 0 ? 0 : Math.min(...indents);
  return lines.map((l) => l.text.slice(common).trimEnd()).join('\n');
}

/** Field values read line by line, only to build the example after a YAML syntax error. */
function recoverFields(lines: readonly SourceLine[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const line of lines) {
    const match = /^\s*(?<key>[A-Za-z_][\w-]*)\s*:\s*(?<value>.*)$/.exec(line.text)?.groups;
    if (!match || Object.hasOwn(fields, match.key!)) continue;
    fields[match.key!] = match.value!.trim().replace(/^(?<q>["'])(?<inner>.*)\k<q>$/, '$<inner>');
  }
  return fields;
}

type YamlRead = { kind: 'value'; value: unknown } | { kind: 'problems'; problems: Problem[] };

/** Parses the YAML once; syntax errors become problems that quote the comment's own line. */
function readYaml(lines: readonly SourceLine[], text: string): YamlRead {
  // failsafe: every scalar stays a string, so `ref: 1.10` is "1.10", not the number 1.1.
  const document = parseDocument(text, {
    schema: 'failsafe',
    uniqueKeys: true,
    prettyErrors: true,
  });
  const seen = new Set<number>();
  const problems: Problem[] = [];
  for (const error of document.errors) {
    const lineIndex = (error.linePos?.[0]?.line ?? 1) - 1;
    const source = lines[Math.min(lineIndex, lines.length - 1)];
    const number = source?.number ?? lineIndex + 1;
    if (seen.has(number)) continue;
    seen.add(number);
    const detail = (error.message.split('\n')[0] ?? '')
      .replace(/ at line \d+, column \d+:?$/, '')
      .replace(/^./, (c) => c.toLowerCase());
    problems.push(
      problem(
        'request',
        'request-malformed',
        renderTemplate('problem-yaml-syntax', {
          line: String(number),
          text: codeSpanText(source?.text ?? ''),
          detail,
        }),
      ),
    );
  }
  if (problems.length > 0) return { kind: 'problems', problems };
  try {
    return { kind: 'value', value: document.toJS() };
  } catch {
    // The yaml package refuses alias bombs by throwing; for us that is a malformed request.
    const tooComplex = problem(
      'request',
      'request-malformed',
      renderTemplate('problem-yaml-too-complex', {}),
    );
    return { kind: 'problems', problems: [tooComplex] };
  }
}

/** The code a reply with several problems carries: the most basic problem wins. */
export function replyCode(problems: readonly Problem[]): ErrorCode {
  return REPLY_PRIORITY.find((c) => problems.some((p) => p.code === c)) ?? 'request-invalid-field';
}

function reply(problems: readonly Problem[], corrected: CorrectedFields): ParsedCommand {
  const code = replyCode(problems);
  return { kind: 'reply', code, message: rejectionMessage(problems, corrected, FIELD_NAMES) };
}

function parseProvision(body: readonly SourceLine[], options: ParseCommandOptions): ParsedCommand {
  const fieldsOptions: FieldsOptions = {
    allowedHosts: options.allowedHosts,
    allowLocalPath: false,
    origin: options.origin,
  };
  const yamlLines = extractYaml(body);
  const text = dedent(yamlLines);
  if (text.trim() === '') {
    return { kind: 'reply', code: 'request-missing-field', message: emptyRequestMessage() };
  }
  if (text.length > REQUEST_MAX_CHARS) {
    const tooLong = problem(
      'request',
      'request-malformed',
      renderTemplate('problem-request-too-long', { max: String(REQUEST_MAX_CHARS) }),
    );
    return reply([tooLong], examine({}, fieldsOptions).corrected);
  }

  const read = readYaml(yamlLines, text);
  if (read.kind === 'problems') {
    const recovered = withMisspellingsFixed(recoverFields(yamlLines));
    return reply(read.problems, examine(recovered, fieldsOptions).corrected);
  }
  const value = read.value;
  if (value === null || value === undefined || value === '') {
    return { kind: 'reply', code: 'request-missing-field', message: emptyRequestMessage() };
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    const notMapping = problem(
      'request',
      'request-malformed',
      renderTemplate('problem-not-mapping', {}),
    );
    return reply([notMapping], examine({}, fieldsOptions).corrected);
  }

  const result = requestFromFields(value as Record<string, unknown>, fieldsOptions);
  if (result.kind === 'invalid') return reply(result.problems, result.corrected);
  return { kind: 'command', command: { subcommand: 'provision', request: result.request } };
}

/**
 * Reads a comment. `ignore` when no line starts with `/ai-provision` (quoted `>` lines and code
 * blocks do not count); a `reply` for help-worthy mistakes (nothing is queued for those); a
 * `command` otherwise. Never throws.
 */
export function parseCommand(text: string, options: ParseCommandOptions): ParsedCommand {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const at = findCommandLine(lines);
  if (at === -1) return { kind: 'ignore' };

  const rest = (COMMAND_LINE.exec(lines[at]!)?.groups?.rest ?? '').trim();
  const word = rest.split(/\s+/)[0] ?? '';
  const argument = rest.slice(word.length).trim();
  const subcommand = word.toLowerCase().replace(/[:,.!]+$/, '');
  const body: SourceLine[] = lines
    .slice(at + 1)
    .map((line, i) => ({ number: at + 2 + i, text: line }));

  switch (subcommand) {
    case 'help':
      return { kind: 'command', command: { subcommand: 'help' } };
    case 'status':
      return { kind: 'command', command: { subcommand: 'status' } };
    case 'approve':
    case 'reject':
      return {
        kind: 'command',
        command: argument === '' ? { subcommand } : { subcommand, reason: argument },
      };
    case '':
      return parseProvision(body, options);
    case 'provision':
      return parseProvision(
        argument === '' ? body : [{ number: at + 1, text: argument }, ...body],
        options,
      );
  }
  // "/ai-provision git_repo: …" on one line: the fields started early.
  if (word.includes(':')) return parseProvision([{ number: at + 1, text: rest }, ...body], options);
  return {
    kind: 'reply',
    code: 'request-malformed',
    message: unknownSubcommandMessage(word, closestMatch(subcommand, SUBCOMMANDS), SUBCOMMANDS),
  };
}
