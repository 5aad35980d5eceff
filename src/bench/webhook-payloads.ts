/**
 * Builders for the webhook payloads the app receives, shaped like GitHub's `issue_comment` and
 * `repository_dispatch` deliveries (field names as in GitHub's webhook schema; only the fields a
 * handler might read, plus ids, node_id, url and html_url). Ids derived from names are stable, so
 * a test can build the same payload twice and get the same delivery.
 */
import { createHash } from 'node:crypto';

const HTML = 'https://github.com';
const API = 'https://api.github.com';

export interface WebhookUser {
  login: string;
  id: number;
  node_id: string;
  type: 'User' | 'Bot' | 'Organization';
  html_url: string;
}

export interface WebhookRepository {
  id: number;
  node_id: string;
  name: string;
  full_name: string;
  owner: WebhookUser;
  private: boolean;
  default_branch: string;
  clone_url: string;
  html_url: string;
  url: string;
}

export interface WebhookInstallation {
  id: number;
  node_id: string;
}

export type AuthorAssociation =
  | 'OWNER'
  | 'MEMBER'
  | 'COLLABORATOR'
  | 'CONTRIBUTOR'
  | 'FIRST_TIME_CONTRIBUTOR'
  | 'FIRST_TIMER'
  | 'MANNEQUIN'
  | 'NONE';

export interface IssueCommentPayload {
  action: 'created' | 'edited';
  issue: {
    id: number;
    node_id: string;
    number: number;
    title: string;
    state: 'open';
    body: string;
    user: WebhookUser;
    labels: { name: string }[];
    author_association: AuthorAssociation;
    html_url: string;
    url: string;
    /** Present when the thread is a pull request. */
    pull_request?: { url: string; html_url: string; diff_url: string; patch_url: string };
  };
  comment: {
    id: number;
    node_id: string;
    body: string;
    user: WebhookUser;
    author_association: AuthorAssociation;
    html_url: string;
    url: string;
    issue_url: string;
    created_at: string;
    updated_at: string;
  };
  /** Present on `edited`. */
  changes?: { body?: { from: string } };
  repository: WebhookRepository;
  sender: WebhookUser;
  installation: WebhookInstallation;
}

export interface RepositoryDispatchPayload {
  /** The `event_type` of the POST /repos/{owner}/{repo}/dispatches request. */
  action: string;
  /** The repository's default branch. */
  branch: string;
  client_payload: unknown;
  repository: WebhookRepository;
  sender: WebhookUser;
  installation: WebhookInstallation;
}

export interface IssueCommentPayloadInput {
  owner: string;
  repo: string;
  cloneUrl: string;
  issueNumber: number;
  commentId: number;
  body: string;
  /** The comment's author (and the sender). */
  login: string;
  /** Default 'User'. */
  senderType?: 'User' | 'Bot';
  /** Default 'created'. */
  action?: 'created' | 'edited';
  /** On 'edited': the previous body (changes.body.from). */
  changesBodyFrom?: string;
  isPullRequest?: boolean;
  installationId: number;
  /** Default 'main'. */
  defaultBranch?: string;
  private?: boolean;
  /** Default: OWNER when login is the owner, else COLLABORATOR. */
  authorAssociation?: AuthorAssociation;
  /** The thread's author; default `login`. */
  issueAuthor?: string;
  /** Default "Provision this service". */
  issueTitle?: string;
}

export interface RepositoryDispatchPayloadInput {
  owner: string;
  repo: string;
  cloneUrl: string;
  clientPayload: unknown;
  login: string;
  installationId: number;
  /** The event_type; default 'ai-provision'. */
  action?: string;
  /** Default 'main'. */
  defaultBranch?: string;
  private?: boolean;
}

/** An `issue_comment` delivery (created, or edited with changes.body.from). */
export function issueCommentPayload(input: IssueCommentPayloadInput): IssueCommentPayload {
  const repository = repositoryFor(input);
  const fullName = repository.full_name;
  const kind = input.isPullRequest ? 'pull' : 'issues';
  const issueApi = `${repository.url}/issues/${input.issueNumber}`;
  const threadHtml = `${HTML}/${fullName}/${kind}/${input.issueNumber}`;
  const at = '2026-01-01T00:00:00Z';
  const association =
    input.authorAssociation ??
    (input.login.toLowerCase() === input.owner.toLowerCase() ? 'OWNER' : 'COLLABORATOR');
  const sender = userFor(input.login, input.senderType ?? 'User');
  const payload: IssueCommentPayload = {
    action: input.action ?? 'created',
    issue: {
      id: stableId(`issue:${fullName}#${input.issueNumber}`),
      node_id: `I_fake${input.issueNumber}`,
      number: input.issueNumber,
      title: input.issueTitle ?? 'Provision this service',
      state: 'open',
      body: '',
      user: userFor(input.issueAuthor ?? input.login, 'User'),
      labels: [],
      author_association: association,
      html_url: threadHtml,
      url: issueApi,
    },
    comment: {
      id: input.commentId,
      node_id: `IC_fake${input.commentId}`,
      body: input.body,
      user: sender,
      author_association: association,
      html_url: `${threadHtml}#issuecomment-${input.commentId}`,
      url: `${repository.url}/issues/comments/${input.commentId}`,
      issue_url: issueApi,
      created_at: at,
      updated_at: at,
    },
    repository,
    sender,
    installation: installationFor(input.installationId),
  };
  if (input.isPullRequest) {
    const pullApi = `${repository.url}/pulls/${input.issueNumber}`;
    payload.issue.pull_request = {
      url: pullApi,
      html_url: threadHtml,
      diff_url: `${threadHtml}.diff`,
      patch_url: `${threadHtml}.patch`,
    };
  }
  if (payload.action === 'edited') {
    payload.changes =
      input.changesBodyFrom === undefined ? {} : { body: { from: input.changesBodyFrom } };
  }
  return payload;
}

/** A `repository_dispatch` delivery: action = the event_type, branch = the default branch. */
export function repositoryDispatchPayload(
  input: RepositoryDispatchPayloadInput,
): RepositoryDispatchPayload {
  const repository = repositoryFor(input);
  return {
    action: input.action ?? 'ai-provision',
    branch: repository.default_branch,
    client_payload: input.clientPayload,
    repository,
    sender: userFor(input.login, 'User'),
    installation: installationFor(input.installationId),
  };
}

function repositoryFor(input: {
  owner: string;
  repo: string;
  cloneUrl: string;
  defaultBranch?: string;
  private?: boolean;
}): WebhookRepository {
  const fullName = `${input.owner}/${input.repo}`;
  return {
    id: stableId(`repo:${fullName}`),
    node_id: `R_fake${stableId(`repo:${fullName}`)}`,
    name: input.repo,
    full_name: fullName,
    owner: userFor(input.owner, 'Organization'),
    private: input.private ?? false,
    default_branch: input.defaultBranch ?? 'main',
    clone_url: input.cloneUrl,
    html_url: `${HTML}/${fullName}`,
    url: `${API}/repos/${fullName}`,
  };
}

function userFor(login: string, type: WebhookUser['type']): WebhookUser {
  const id = stableId(`user:${login}`);
  return { login, id, node_id: `U_fake${id}`, type, html_url: `${HTML}/${login}` };
}

function installationFor(id: number): WebhookInstallation {
  return { id, node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u${id}` };
}

/** A stable positive integer for a name. */
function stableId(text: string): number {
  return Number.parseInt(createHash('sha1').update(text).digest('hex').slice(0, 7), 16) + 1;
}
