/**
 * The GitHub port: the narrow set of GitHub operations the core uses (Atlantis vcs.Client, Renovate
 * Platform). commands/ and deliver/ take a ScmClient; only app.ts and the CLI build one.
 */
export interface RepoName {
  owner: string;
  repo: string;
}
/** GitHub's repository roles, weakest first. */
export const REPO_PERMISSIONS = ['none', 'read', 'triage', 'write', 'maintain', 'admin'] as const;
export type RepoPermission = (typeof REPO_PERMISSIONS)[number];
export interface RepoInfo {
  owner: string;
  repo: string;
  fullName: string;
  defaultBranch: string;
  private: boolean;
  /** https clone URL as the API reports it (on GHE / tests: another host). */
  cloneUrl: string;
  htmlUrl: string;
}
export interface CreatedComment {
  id: number;
  nodeId: string;
  url: string;
}
export interface TreeFile {
  path: string;
  content: string;
}
export interface PullRequestRef {
  number: number;
  url: string;
  headSha: string;
  headRef: string;
  baseRef: string;
  body: string;
  title: string;
}
export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'action_required';
export interface CheckRunOutput {
  title: string;
  summary: string;
  text?: string;
}
export type ReactionContent = 'eyes' | '+1' | '-1' | 'confused' | 'rocket';
/** Thrown by ScmClient methods for responses the method does not map to a value. */
export class ScmError extends Error {
  /** The HTTP status GitHub answered (200 for a GraphQL answer that carries `errors`). */
  readonly status: number;
  /** The route template, e.g. 'GET /repos/{owner}/{repo}' — never the values or credentials. */
  readonly route: string;
  constructor(route: string, status: number, message: string) {
    // The message is built from the route and status only, never from headers, so no token leaks.
    super(message);
    this.name = 'ScmError';
    this.route = route;
    this.status = status;
  }
}

/**
 * The narrow GitHub port the core uses (Atlantis vcs.Client / Renovate Platform). One instance is
 * bound to one installation's credentials. Methods documented "undefined on 404" return undefined
 * for 404; every other non-2xx throws ScmError. One method = one HTTP request unless stated.
 */
export interface ScmClient {
  /** GET /repos/{o}/{r}; undefined on 404 (missing, or this installation cannot read it). */
  getRepo(repo: RepoName): Promise<RepoInfo | undefined>;
  /** GET /repos/{o}/{r}/collaborators/{login}/permission → role ("maintain"/"triage" from role_name). 404 → 'none'. */
  permissionOf(repo: RepoName, login: string): Promise<RepoPermission>;
  /** GET /repos/{o}/{r}/contents/{path}?ref= ; decoded UTF-8 text; undefined on 404 or when not a file. */
  readFile(repo: RepoName, path: string, ref?: string): Promise<string | undefined>;
  /** The installation token for git over https (no HTTP request when cached by the auth strategy); undefined for unauthenticated clients. */
  cloneToken(): Promise<string | undefined>;
  /** POST /repos/{o}/{r}/issues/comments/{id}/reactions */
  addReaction(repo: RepoName, commentId: number, content: ReactionContent): Promise<void>;
  /** POST /repos/{o}/{r}/issues/{n}/comments */
  createComment(repo: RepoName, issueNumber: number, body: string): Promise<CreatedComment>;
  /** PATCH /repos/{o}/{r}/issues/comments/{id} */
  updateComment(repo: RepoName, commentId: number, body: string): Promise<void>;
  /** GraphQL minimizeComment(classifier: OUTDATED) — collapses a superseded comment. */
  minimizeComment(nodeId: string): Promise<void>;
  /** GET /repos/{o}/{r}/pulls/{n}; undefined on 404. */
  getPullRequest(repo: RepoName, number: number): Promise<PullRequestRef | undefined>;
  /** GET /repos/{o}/{r}/pulls?head={owner}:{branch}&state=open ; the first, or undefined. */
  findOpenPullRequest(repo: RepoName, headBranch: string): Promise<PullRequestRef | undefined>;
  /** GET /repos/{o}/{r}/git/commits/{sha} */
  getCommit(
    repo: RepoName,
    sha: string,
  ): Promise<{ sha: string; treeSha: string; parents: string[] }>;
  /** GET /repos/{o}/{r}/git/ref/heads/{branch} → the branch's head commit; undefined on 404. */
  getBranchHead(repo: RepoName, branch: string): Promise<string | undefined>;
  /** POST /repos/{o}/{r}/git/trees with base_tree and inline `content` entries (mode 100644, type blob) → tree sha. */
  createTree(repo: RepoName, baseTreeSha: string, files: TreeFile[]): Promise<string>;
  /** POST /repos/{o}/{r}/git/commits → commit sha. */
  createCommit(
    repo: RepoName,
    input: { message: string; treeSha: string; parents: string[] },
  ): Promise<string>;
  /** POST /repos/{o}/{r}/git/refs (refs/heads/{branch}); returns false (no throw) on 422 "Reference already exists". */
  createBranch(repo: RepoName, branch: string, sha: string): Promise<boolean>;
  /** PATCH /repos/{o}/{r}/git/refs/heads/{branch} with force. */
  updateBranch(repo: RepoName, branch: string, sha: string, force: boolean): Promise<void>;
  /** POST /repos/{o}/{r}/pulls */
  createPullRequest(
    repo: RepoName,
    input: { title: string; head: string; base: string; body: string },
  ): Promise<PullRequestRef>;
  /** PATCH /repos/{o}/{r}/pulls/{n} */
  updatePullRequest(
    repo: RepoName,
    number: number,
    input: { title?: string; body?: string },
  ): Promise<void>;
  /** POST /repos/{o}/{r}/issues/{n}/labels */
  addLabels(repo: RepoName, issueNumber: number, labels: string[]): Promise<void>;
  /** POST /repos/{o}/{r}/check-runs → id. */
  createCheckRun(
    repo: RepoName,
    input: {
      name: string;
      headSha: string;
      status: 'queued' | 'in_progress';
      output: CheckRunOutput;
      detailsUrl?: string;
    },
  ): Promise<number>;
  /** PATCH /repos/{o}/{r}/check-runs/{id} */
  updateCheckRun(
    repo: RepoName,
    id: number,
    input: {
      status?: 'in_progress' | 'completed';
      conclusion?: CheckConclusion;
      output: CheckRunOutput;
    },
  ): Promise<void>;
}
