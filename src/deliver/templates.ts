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
  'lock-held': ['key', 'heldBy'],
  // issue 5: delivery-text
  'pr-body': ['header', 'table', 'reasons', 'chart', 'checks', 'report'],
  'pr-chart-none': [],
  'pr-chart-subset': ['shown', 'total'],
  'pr-chart': ['orientation', 'labels', 'cpuMax', 'cpu', 'memoryMax', 'memory', 'note'],
  'pr-checks-none': [],
  'pr-commit-message': ['subject', 'services'],
  'pr-commit-service': ['name', 'cpu', 'memory', 'replicas', 'confidence', 'cost'],
  'pr-commit-subject-environment': ['subject', 'environment'],
  'pr-commit-subject': ['subject'],
  'pr-footer-no-thread': ['jobId'],
  'pr-footer': ['jobId', 'thread'],
  'pr-header-commit': ['commit'],
  'pr-header-environment': ['environment'],
  'pr-header-thread': ['thread'],
  'pr-header': [
    'requestedBy',
    'thread',
    'subject',
    'repository',
    'target',
    'environment',
    'reasoner',
    'commit',
    'description',
  ],
  'pr-more': ['count'],
  'pr-no-limit': [],
  'pr-reasons-service': ['service', 'rows', 'cpuBounds', 'memoryBounds', 'findings'],
  'pr-report-file': ['link'],
  'pr-report-inline': ['report'],
  'pr-source-description': [],
  'pr-subject-services': ['count'],
  'pr-table-proxmox': ['rows'],
  'pr-table': ['rows', 'total', 'totalAtMax', 'proxmox'],
  'pr-title-environment': ['subject', 'environment'],
  'pr-title': ['subject'],
  'pr-truncated-see-report': ['limit', 'link'],
  'pr-truncated': ['limit'],
  'status-cancelled': ['repository', 'jobId'],
  'status-done-created': ['repository', 'requestedBy', 'pullRequest'],
  'status-done-unchanged': ['repository', 'requestedBy', 'pullRequest'],
  'status-done-updated': ['repository', 'requestedBy', 'pullRequest'],
  'status-done': ['headline', 'summary', 'warnings'],
  'status-failed-permanent': ['jobId'],
  'status-failed-retryable': [],
  'status-failed': ['repository', 'jobId', 'retry'],
  'status-footer': ['jobId'],
  'status-no-change': ['repository', 'requestedBy', 'summary'],
  'status-progress': ['repository', 'requestedBy', 'checklist', 'waiting'],
  'status-refused-example': ['block'],
  'status-refused': ['repository', 'requestedBy', 'message', 'example', 'docs'],
  'status-stage-agent-1': [],
  'status-stage-agent-2': [],
  'status-stage-agent-3': [],
  'status-stage-analysing': [],
  'status-stage-cloning': [],
  'status-stage-opening-pr': [],
  'status-stage-queued': [],
  'status-stage-rendering': [],
  'status-summary-none': [],
  'status-summary-service': ['name', 'cpu', 'memory', 'replicas', 'confidence', 'cost'],
  'status-summary-total': ['total'],
  'status-waiting': ['jobId'],
  'status-warnings': ['count', 'list'],
  // issue 5: delivery-flows
  // issue 5: commands
  'auth-permission-denied': ['login', 'action', 'need', 'repo', 'have', 'hint'],
  'auth-hint-access': ['file'],
  'auth-hint-approvals': ['file'],
  'auth-hint-read': ['repo'],
  'auth-not-listed': ['login', 'file', 'repo'],
  'auth-repo-not-allowed': ['target', 'thread', 'file', 'ownerPattern', 'owner'],
  'dispatch-rejected': ['problems', 'body', 'repo', 'knownFields'],
  'dispatch-not-object': ['actual'],
  'dispatch-payload-is-string': [],
  'dispatch-too-long': ['max'],
  'dispatch-placeholder-repo': [],
  'command-status-none': ['usage'],
  'command-status': ['jobId', 'gitRepo', 'requestedBy', 'state', 'details', 'error', 'decisions'],
  'command-status-stage': ['stage'],
  'command-status-pull-request': ['number', 'url'],
  'command-status-asked': ['at'],
  'command-status-started': ['at'],
  'command-status-finished': ['at'],
  'command-status-error': ['code', 'docs', 'message'],
  'command-status-error-undocumented': ['code', 'message'],
  'command-status-decisions': ['list'],
  'command-status-no-decisions': [],
  'command-status-approved': ['by', 'at', 'reason'],
  'command-status-rejected': ['by', 'at', 'reason'],
  'command-decision-reason': ['reason'],
  'command-approved': ['by', 'jobId', 'reason'],
  'command-rejected': ['by', 'jobId', 'reason'],
  'command-decision-not-recorded': ['by', 'decision', 'jobId'],
  'command-decision-no-job': ['by', 'decision', 'usage'],
  // issue 5: action
  'action-done': ['services', 'reasoner', 'planFile'],
  'action-env-missing': ['variable'],
  'action-failed': ['message', 'code', 'docs'],
  'action-input-boolean': ['input', 'value'],
  'action-input-choice': ['input', 'value', 'choices'],
  'action-input-exclusive': [],
  'action-input-missing-description': [],
  'action-input-namespace': ['input', 'value'],
  'action-input-needs-key': [],
  'action-input-needs-token': [],
  'action-input-path-outside': ['value', 'workspace'],
  'action-input-too-long': ['input', 'length', 'max'],
  'action-input-too-short': ['input', 'length', 'min'],
  'action-pull-request-failed': ['detail'],
  'action-pull-request-forbidden': ['detail'],
  'action-pull-request-opened': ['number', 'url'],
  'action-pull-request-unchanged': ['number', 'url'],
  'action-pull-request-updated': ['number', 'url'],
  'action-summary-cut': ['shown', 'total'],
  // issue 5: app
  'app-refused': ['login', 'message', 'example', 'docs', 'code'],
  'app-refused-example': ['example'],
  'app-repo-not-github': ['url', 'host'],
  'app-repo-not-readable': ['repo'],
  'app-dispatch-refused': ['message', 'docs'],
  'app-no-services': ['repo'],
  // issue 7: apply
  'apply-approval-required': [],
  'apply-approval-rejected': ['by', 'at', 'reason'],
  'apply-dry-run-failed': ['guest', 'node', 'checks'],
  'apply-cluster-unreadable': ['guest', 'detail'],
  'apply-create-failed': ['guest', 'node', 'detail', 'rollback'],
  'apply-create-timeout': ['guest', 'node', 'timeout', 'upid'],
  'apply-rollback-gone': [],
  'apply-rollback-destroyed': ['vmid'],
  'apply-rollback-untagged': ['vmid'],
  'apply-rollback-failed': ['vmid', 'detail'],
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
