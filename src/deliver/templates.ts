/**
 * Every user-visible message is a Markdown file in templates/, one file per message, so wording is
 * reviewed in one place and reads the same in a comment, Slack and the CLI. Placeholders are
 * `{{name}}`; nothing else is interpreted.
 */
import { readFileSync } from 'node:fs';

/**
 * Each template and the variables it uses. A unit test keeps this table, the files and their
 * placeholders in step, so a caller that forgets a variable fails to compile.
 */
export const TEMPLATES = {
  usage: [],
  help: ['usage'],
  'request-empty': ['usage'],
  'request-rejected': ['problems', 'example', 'knownFields'],
  'unknown-subcommand': ['given', 'didYouMean', 'subcommands'],
  'did-you-mean': ['suggestion'],
  'example-placeholder-repo': [],
  'example-placeholder-description': [],
  'problem-missing-git-repo': [],
  'problem-missing-app-description': [],
  'problem-unknown-field': ['field'],
  'problem-wrong-type': ['field', 'expected', 'actual'],
  'problem-description-too-short': ['length', 'min'],
  'problem-description-too-long': ['length', 'max'],
  'problem-repo-url': ['reason'],
  'problem-choice': ['field', 'value', 'choices'],
  'problem-namespace': ['value'],
  'problem-ref': ['value'],
  'problem-path': ['value'],
  'problem-paths-empty': [],
  'problem-yaml-syntax': ['line', 'text', 'detail'],
  'problem-not-mapping': [],
  'problem-yaml-too-complex': [],
  'problem-request-too-long': ['max'],
  'repo-url-empty': [],
  'repo-url-spaces': [],
  'repo-url-ssh': [],
  'repo-url-http': [],
  'repo-url-scheme': ['scheme'],
  'repo-url-no-scheme': [],
  'repo-url-local-path': [],
  'repo-url-credentials': [],
  'repo-url-query': [],
  'repo-url-invalid': [],
  'repo-url-blocked-host': ['what', 'host'],
  'repo-url-host-not-allowed': ['host', 'allowed'],
  'repo-url-github-shape': [],
  'repo-url-bad-path': [],
  'repo-example-url': [],
  'repo-example-ref': [],
  'repo-ref-invalid': ['ref'],
  'repo-not-a-url': ['url'],
  'repo-protocol-not-allowed': ['url', 'protocol'],
  'repo-path-not-found': ['dir'],
  'repo-path-not-directory': ['dir'],
  'repo-local-repository': ['dir'],
  'repo-no-commits': ['url'],
  'repo-no-commits-at-ref': ['url', 'ref'],
  'repo-clone-cancelled': ['url'],
  'repo-clone-timeout': ['url', 'timeout'],
  'repo-transport-not-allowed': ['url'],
  'repo-ref-not-found': ['ref', 'url'],
  'repo-ref-not-found-short-sha': ['ref', 'url'],
  'repo-default-branch-not-found': ['url'],
  'repo-not-found': ['url'],
  'repo-tls-failed': ['host', 'url', 'detail'],
  'repo-unreachable': ['host', 'url', 'detail'],
  'repo-fetch-failed': ['url', 'detail'],
  'repo-git-no-output': [],
  'repo-too-many-files': ['url', 'files', 'maxFiles'],
  'repo-too-large': ['url', 'size', 'bytes', 'maxSize', 'maxBytes'],
  'repo-more-than': ['count'],
  'repo-source-rejected': ['input', 'reason'],
  // issue 5: jobs
  // issue 5: delivery-text
  // issue 5: delivery-flows
  // issue 5: commands
  // issue 5: action
  // issue 5: app
} as const satisfies Record<string, readonly string[]>;

export type TemplateId = keyof typeof TEMPLATES;
export type TemplateVars<Id extends TemplateId> = Record<(typeof TEMPLATES)[Id][number], string>;

export const TEMPLATE_IDS = Object.keys(TEMPLATES) as TemplateId[];

const PLACEHOLDER = /\{\{\s*(?<name>[A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

// Template files are immutable program data, so one process-wide cache is safe under concurrency.
const sources = new Map<TemplateId, string>();

/** The raw text of a template file, read once. Throws when the file is missing: that is a bug. */
export function templateSource(id: TemplateId): string {
  const cached = sources.get(id);
  if (cached !== undefined) return cached;
  const text = readFileSync(new URL(`./templates/${id}.md`, import.meta.url), 'utf8');
  sources.set(id, text);
  return text;
}

/** The placeholder names a template's text uses, in order of first use. */
export function templatePlaceholders(id: TemplateId): string[] {
  const names = [...templateSource(id).matchAll(PLACEHOLDER)].map((m) => m.groups!.name!);
  return [...new Set(names)];
}

/**
 * Fills a template. A missing variable throws: the caller has a bug, not the user. Paragraphs left
 * empty by an empty variable collapse, and the trailing newline of the file is dropped so messages
 * can be embedded in one another.
 */
export function renderTemplate<Id extends TemplateId>(id: Id, vars: TemplateVars<Id>): string {
  const values: Record<string, string> = vars;
  const filled = templateSource(id).replace(PLACEHOLDER, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template "${id}" needs variable "${name}"`);
    return value;
  });
  return filled
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd();
}
