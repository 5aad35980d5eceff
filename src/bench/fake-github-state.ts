/**
 * State queries and answer shapes of the fake GitHub API: which commits, trees, refs, issues and
 * pull requests a repository has, and the JSON GitHub answers with — trimmed to the fields clients
 * read plus ids, node_id, url and html_url. fake-github-routes.ts holds the handlers.
 */
import { createHash } from 'node:crypto';
import type {
  FakeAnswer,
  FakeCheckRun,
  FakeComment,
  FakeGitHubRepo,
  FakeGitHubState,
  FakePull,
} from './fake-github-api.js';

/** GitHub refuses issue, comment and pull request bodies longer than this. */
export const BODY_LIMIT = 65_536;
/** GitHub refuses check run output summaries and texts longer than this. */
export const CHECK_RUN_TEXT_LIMIT = 65_535;
export const DOCS = 'https://docs.github.com/rest';
const HTML = 'https://github.com';
/** The author of everything the app writes. */
export const BOT = { login: 'ai-provision[bot]', id: 41_000_001, type: 'Bot' };

/** The key repos are stored under: GitHub's owner and repository names are case-insensitive. */
export function repoKey(owner: string, repo: string): string {
  return `${owner}/${repo}`.toLowerCase();
}

/** GitHub's error shape: `{message, documentation_url}`. */
export function message(status: number, text: string): FakeAnswer {
  return { status, body: { message: text, documentation_url: DOCS } };
}

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

// ---- state helpers --------------------------------------------------------------------------

export function sameRepo(item: { owner: string; repo: string }, repo: FakeGitHubRepo): boolean {
  return repoKey(item.owner, item.repo) === repoKey(repo.owner, repo.repo);
}

export function refKey(repo: FakeGitHubRepo, ref: string): string {
  return `${repo.owner}/${repo.repo}:${ref}`;
}

/** Sets a ref; open pull requests from that branch follow it, as on GitHub. */
export function setRef(
  state: FakeGitHubState,
  repo: FakeGitHubRepo,
  ref: string,
  sha: string,
): void {
  state.refs.set(refKey(repo, ref), sha);
  for (const pull of state.pulls) {
    if (sameRepo(pull, repo) && pull.state === 'open' && `refs/heads/${pull.head}` === ref) {
      pull.headSha = sha;
    }
  }
}

function branchHeads(state: FakeGitHubState, repo: FakeGitHubRepo): Map<string, string> {
  const prefix = refKey(repo, 'refs/heads/');
  const heads = new Map<string, string>();
  for (const [key, sha] of state.refs)
    if (key.startsWith(prefix)) heads.set(key.slice(prefix.length), sha);
  return heads;
}

/** A commit of this repo, or the head of one of its branches (tests may give heads without commits). */
export function commitExists(state: FakeGitHubState, repo: FakeGitHubRepo, sha: string): boolean {
  const commit = state.commits.get(sha);
  if (commit) return sameRepo(commit, repo);
  return [...branchHeads(state, repo).values()].includes(sha);
}

export function treeExists(state: FakeGitHubState, repo: FakeGitHubRepo, sha: string): boolean {
  const tree = state.trees.get(sha);
  if (tree && sameRepo(tree, repo)) return true;
  return [...state.commits.values()].some(
    (commit) => commit.tree === sha && sameRepo(commit, repo),
  );
}

export function refExists(state: FakeGitHubState, repo: FakeGitHubRepo, ref: string): boolean {
  const name = ref.replace(/^refs\/heads\//, '');
  return branchHeads(state, repo).has(name) || commitExists(state, repo, ref);
}

/** Whether `ancestor` is reachable from `sha` through parents (breadth-first, each commit once). */
export function isAncestor(state: FakeGitHubState, ancestor: string, sha: string): boolean {
  const seen = new Set<string>();
  const queue = [sha];
  while (queue.length > 0) {
    const next = queue.shift() as string;
    if (next === ancestor) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(state.commits.get(next)?.parents ?? []));
  }
  return false;
}

export function issueExists(state: FakeGitHubState, repo: FakeGitHubRepo, number: number): boolean {
  return (repo.issues ?? []).includes(number) || findPull(state, repo, number) !== undefined;
}

export function findPull(
  state: FakeGitHubState,
  repo: FakeGitHubRepo,
  number: number,
): FakePull | undefined {
  return state.pulls.find((pull) => pull.number === number && sameRepo(pull, repo));
}

// ---- answers --------------------------------------------------------------------------------

export function validationFailed(resource: string, field: string, code: string): FakeAnswer {
  return {
    status: 422,
    body: {
      message: 'Validation Failed',
      errors: [{ resource, field, code }],
      documentation_url: DOCS,
    },
  };
}

export function custom(resource: string, text: string, field?: string): FakeAnswer {
  const error = { resource, code: 'custom', message: text, ...(field ? { field } : {}) };
  return {
    status: 422,
    body: { message: 'Validation Failed', errors: [error], documentation_url: DOCS },
  };
}

/** 422 when a comment/PR body is missing (when required), not text, or over GitHub's limit. */
export function bodyProblem(
  resource: string,
  body: unknown,
  required: boolean,
): FakeAnswer | undefined {
  if (body === undefined || body === null) {
    return required ? validationFailed(resource, 'body', 'missing_field') : undefined;
  }
  if (typeof body !== 'string') return validationFailed(resource, 'body', 'invalid');
  if (characters(body) > BODY_LIMIT) {
    return custom(resource, `body is too long (maximum is ${BODY_LIMIT} characters)`, 'body');
  }
  return undefined;
}

/** GitHub counts characters (code points), not UTF-16 units. */
export function characters(text: string): number {
  return text.length <= CHECK_RUN_TEXT_LIMIT ? text.length : Array.from(text).length;
}

export function apiBase(state: FakeGitHubState, repo: FakeGitHubRepo): string {
  return `${state.apiUrl}/repos/${repo.owner}/${repo.repo}`;
}

export function repoJson(state: FakeGitHubState, repo: FakeGitHubRepo): Record<string, unknown> {
  const fullName = `${repo.owner}/${repo.repo}`;
  return {
    id: numericId(fullName),
    node_id: `R_fake${numericId(fullName)}`,
    name: repo.repo,
    full_name: fullName,
    owner: { login: repo.owner, id: numericId(repo.owner), type: 'Organization' },
    private: repo.private ?? false,
    visibility: repo.private ? 'private' : 'public',
    html_url: `${HTML}/${fullName}`,
    url: apiBase(state, repo),
    clone_url: repo.cloneUrl,
    default_branch: repo.defaultBranch ?? 'main',
  };
}

export function commentJson(state: FakeGitHubState, comment: FakeComment): Record<string, unknown> {
  const repo = state.repos.get(repoKey(comment.owner, comment.repo)) as FakeGitHubRepo;
  const kind = findPull(state, repo, comment.issueNumber) ? 'pull' : 'issues';
  return {
    id: comment.id,
    node_id: comment.nodeId,
    url: `${apiBase(state, repo)}/issues/comments/${comment.id}`,
    html_url: `${HTML}/${repo.owner}/${repo.repo}/${kind}/${comment.issueNumber}#issuecomment-${comment.id}`,
    issue_url: `${apiBase(state, repo)}/issues/${comment.issueNumber}`,
    body: comment.body,
    user: BOT,
    author_association: 'NONE',
  };
}

export function pullJson(state: FakeGitHubState, pull: FakePull): Record<string, unknown> {
  const repo = state.repos.get(repoKey(pull.owner, pull.repo)) as FakeGitHubRepo;
  const baseSha = state.refs.get(refKey(repo, `refs/heads/${pull.base}`)) ?? '';
  return {
    id: numericId(`${pull.owner}/${pull.repo}#${pull.number}`),
    node_id: `PR_fake${pull.number}`,
    number: pull.number,
    state: pull.state,
    title: pull.title,
    body: pull.body,
    draft: false,
    merged: false,
    html_url: `${HTML}/${repo.owner}/${repo.repo}/pull/${pull.number}`,
    url: `${apiBase(state, repo)}/pulls/${pull.number}`,
    user: BOT,
    labels: pull.labels.map((name) => ({ id: numericId(name), name })),
    head: { ref: pull.head, sha: pull.headSha, label: `${repo.owner}:${pull.head}` },
    base: { ref: pull.base, sha: baseSha, label: `${repo.owner}:${pull.base}` },
  };
}

export function commitJson(
  state: FakeGitHubState,
  repo: FakeGitHubRepo,
  sha: string,
): Record<string, unknown> {
  const commit = state.commits.get(sha);
  const api = apiBase(state, repo);
  return {
    sha,
    node_id: `C_fake${sha.slice(0, 12)}`,
    url: `${api}/git/commits/${sha}`,
    html_url: `${HTML}/${repo.owner}/${repo.repo}/commit/${sha}`,
    message: commit?.message ?? '',
    tree: { sha: commit?.tree ?? '', url: `${api}/git/trees/${commit?.tree ?? ''}` },
    parents: (commit?.parents ?? []).map((parent) => ({
      sha: parent,
      url: `${api}/git/commits/${parent}`,
      html_url: `${HTML}/${repo.owner}/${repo.repo}/commit/${parent}`,
    })),
    verification: { verified: false, reason: 'unsigned' },
  };
}

export function refJson(
  state: FakeGitHubState,
  repo: FakeGitHubRepo,
  ref: string,
  sha: string,
): Record<string, unknown> {
  const api = apiBase(state, repo);
  return {
    ref,
    node_id: `REF_fake${numericId(ref)}`,
    url: `${api}/git/${ref}`,
    object: { type: 'commit', sha, url: `${api}/git/commits/${sha}` },
  };
}

export function checkRunJson(
  state: FakeGitHubState,
  repo: FakeGitHubRepo,
  run: FakeCheckRun,
): Record<string, unknown> {
  return {
    id: run.id,
    node_id: `CR_fake${run.id}`,
    name: run.name,
    head_sha: run.headSha,
    status: run.status,
    conclusion: run.conclusion ?? null,
    output: { text: null, ...run.output },
    url: `${apiBase(state, repo)}/check-runs/${run.id}`,
    html_url: `${HTML}/${repo.owner}/${repo.repo}/runs/${run.id}`,
  };
}

/** A stable positive integer for a name (ids of users, repos, labels). */
export function numericId(text: string): number {
  return Number.parseInt(sha1(text).slice(0, 7), 16) + 1;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
