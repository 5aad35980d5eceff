/**
 * A recording, in-memory ScmClient for unit tests. It keeps GitHub's state in plain Maps and answers
 * like GitHub does where the core depends on it: an existing ref makes createBranch return false, a
 * missing pull request or repository reads as undefined, trees are content-addressed (the same files
 * on the same base give the same sha), an open pull request follows its branch, and bodies over
 * GitHub's limits are refused with 422. Every call is recorded, in order, with its arguments, and a
 * test can make the next calls of one method throw ScmError.
 */
import { createHash } from 'node:crypto';
import { ScmError } from '../../src/scm/index.js';
import type {
  CheckConclusion,
  CheckRunOutput,
  CreatedComment,
  PullRequestRef,
  ReactionContent,
  RepoInfo,
  RepoName,
  RepoPermission,
  ScmClient,
  TreeFile,
} from '../../src/scm/index.js';

/** GitHub refuses issue, comment and pull request bodies longer than this. */
const BODY_LIMIT = 65_536;
/** GitHub refuses check run summaries longer than this. */
const CHECK_RUN_SUMMARY_LIMIT = 65_535;

export type ScmMethod = keyof ScmClient;

export interface MemoryScmCall {
  method: ScmMethod;
  args: unknown[];
}

export interface MemoryScmRepo {
  owner: string;
  repo: string;
  /** Default 'main'. */
  defaultBranch?: string;
  private?: boolean;
  cloneUrl?: string;
  /**
   * Commits that exist already, sha → tree sha (or the tree's files, whose content-addressed sha is
   * then used) and parents.
   */
  commits?: Record<string, { tree?: string; files?: Record<string, string>; parents?: string[] }>;
  /** branch → commit sha. */
  branches?: Record<string, string>;
  /**
   * The default branch's files. When `branches` does not name the default branch, a root commit
   * holding these files is made for it.
   */
  files?: Record<string, string>;
  /** login → role; a login not listed reads as 'none' (GitHub answers 404 for non-collaborators). */
  permissions?: Record<string, RepoPermission>;
  /** Issue and pull request numbers that exist; when absent, every number is accepted. */
  issues?: number[];
}

export interface MemoryComment {
  id: number;
  nodeId: string;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  minimized: boolean;
  edits: number;
}

export interface MemoryPull {
  number: number;
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  /** The head commit; follows the branch while the pull request is open. */
  headSha: string;
  edits: number;
}

export interface MemoryCheckRun {
  id: number;
  owner: string;
  repo: string;
  name: string;
  headSha: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: CheckConclusion;
  output: CheckRunOutput;
  detailsUrl?: string;
  updates: number;
}

export interface MemoryCommit {
  owner: string;
  repo: string;
  message: string;
  tree: string;
  parents: string[];
}

export interface MemoryScm extends ScmClient {
  /** Every call, in order, including the ones made to fail. */
  readonly calls: MemoryScmCall[];
  /** The method names of `calls`, in order. */
  methods(): ScmMethod[];
  /** How many times `method` was called. */
  count(method: ScmMethod): number;
  /** Forgets the recorded calls (state stays), e.g. between a first run and a re-run. */
  clearCalls(): void;
  /** Makes the next `count` calls of `method` throw ScmError(status) without changing state. */
  failNext(method: ScmMethod, status?: number, count?: number): void;
  /** Closes a pull request; its branch stays, as on GitHub. */
  closePullRequest(repo: RepoName, number: number): void;
  readonly comments: MemoryComment[];
  readonly reactions: {
    owner: string;
    repo: string;
    commentId: number;
    content: ReactionContent;
  }[];
  readonly pulls: MemoryPull[];
  readonly checkRuns: MemoryCheckRun[];
  /** Commit sha → commit (`owner/repo` is kept on each). */
  readonly commits: Map<string, MemoryCommit>;
  /** Tree sha → path → content. */
  readonly trees: Map<string, Map<string, string>>;
  /** `owner/repo:refs/heads/<branch>` → sha. */
  readonly refs: Map<string, string>;
}

interface RepoState {
  info: RepoInfo;
  permissions: Map<string, RepoPermission>;
  issues?: Set<number>;
}

/** A content-addressed tree sha: the same entries give the same sha, like git. */
function treeSha(entries: Map<string, string>): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha1').update(JSON.stringify(sorted)).digest('hex');
}

function repoKey(repo: RepoName): string {
  return `${repo.owner}/${repo.repo}`.toLowerCase();
}

function refKey(repo: RepoName, branch: string): string {
  return `${repo.owner}/${repo.repo}:refs/heads/${branch}`;
}

export function createMemoryScm(
  options: { repos?: MemoryScmRepo[]; token?: string } = {},
): MemoryScm {
  const calls: MemoryScmCall[] = [];
  const failures = new Map<ScmMethod, { status: number; remaining: number }>();
  const repos = new Map<string, RepoState>();
  const comments: MemoryComment[] = [];
  const reactions: MemoryScm['reactions'] = [];
  const pulls: MemoryPull[] = [];
  const checkRuns: MemoryCheckRun[] = [];
  const commits = new Map<string, MemoryCommit>();
  const trees = new Map<string, Map<string, string>>();
  const refs = new Map<string, string>();
  const labels = new Map<string, string[]>();
  let nextCommentId = 1000;
  let nextCheckRunId = 5000;
  let commitCounter = 0;

  function addTree(entries: Map<string, string>): string {
    const sha = treeSha(entries);
    if (!trees.has(sha)) trees.set(sha, new Map(entries));
    return sha;
  }

  function seed(repo: MemoryScmRepo): void {
    const defaultBranch = repo.defaultBranch ?? 'main';
    repos.set(repoKey(repo), {
      info: {
        owner: repo.owner,
        repo: repo.repo,
        fullName: `${repo.owner}/${repo.repo}`,
        defaultBranch,
        private: repo.private ?? false,
        cloneUrl: repo.cloneUrl ?? `https://github.com/${repo.owner}/${repo.repo}.git`,
        htmlUrl: `https://github.com/${repo.owner}/${repo.repo}`,
      },
      permissions: new Map(
        Object.entries(repo.permissions ?? {}).map(([login, role]) => [login.toLowerCase(), role]),
      ),
      ...(repo.issues ? { issues: new Set(repo.issues) } : {}),
    });
    for (const [sha, commit] of Object.entries(repo.commits ?? {})) {
      const tree = commit.tree ?? addTree(new Map(Object.entries(commit.files ?? {})));
      if (!trees.has(tree)) trees.set(tree, new Map(Object.entries(commit.files ?? {})));
      commits.set(sha, {
        owner: repo.owner,
        repo: repo.repo,
        message: 'seed',
        tree,
        parents: commit.parents ?? [],
      });
    }
    for (const [branch, sha] of Object.entries(repo.branches ?? {})) {
      refs.set(refKey(repo, branch), sha);
    }
    if (repo.branches?.[defaultBranch] === undefined) {
      const tree = addTree(new Map(Object.entries(repo.files ?? {})));
      const sha = createHash('sha1')
        .update(`root ${repoKey(repo)} ${tree}`)
        .digest('hex');
      commits.set(sha, { owner: repo.owner, repo: repo.repo, message: 'root', tree, parents: [] });
      refs.set(refKey(repo, defaultBranch), sha);
    } else if (repo.files) {
      throw new Error('memory-scm: give `files` or a default branch in `branches`, not both');
    }
  }
  for (const repo of options.repos ?? []) seed(repo);

  /** Records the call and throws the failure a test asked for. */
  function enter(method: ScmMethod, args: unknown[]): void {
    calls.push({ method, args: structuredClone(args) });
    const failure = failures.get(method);
    if (failure && failure.remaining > 0) {
      failure.remaining -= 1;
      throw new ScmError(method, failure.status, `${method} failed with ${failure.status}`);
    }
  }

  function repoOrThrow(route: string, repo: RepoName): RepoState {
    const state = repos.get(repoKey(repo));
    if (!state) throw new ScmError(route, 404, `${route}: Not Found`);
    return state;
  }

  function issueOrThrow(route: string, repo: RepoName, issueNumber: number): void {
    const state = repoOrThrow(route, repo);
    const isPull = pulls.some((p) => repoKey(p) === repoKey(repo) && p.number === issueNumber);
    if (state.issues && !state.issues.has(issueNumber) && !isPull) {
      throw new ScmError(route, 404, `${route}: Not Found`);
    }
  }

  function commitOf(repo: RepoName, sha: string): MemoryCommit | undefined {
    const commit = commits.get(sha);
    return commit && repoKey(commit) === repoKey(repo) ? commit : undefined;
  }

  /** True when `ancestor` is `sha` or reachable through parents (bounded by the commit count). */
  function isAncestor(ancestor: string, sha: string): boolean {
    const queue = [sha];
    const seen = new Set<string>();
    while (queue.length > 0 && seen.size <= commits.size) {
      const current = queue.shift() as string;
      if (current === ancestor) return true;
      if (seen.has(current)) continue;
      seen.add(current);
      queue.push(...(commits.get(current)?.parents ?? []));
    }
    return false;
  }

  function pullRef(pull: MemoryPull): PullRequestRef {
    return {
      number: pull.number,
      url: `https://github.com/${pull.owner}/${pull.repo}/pull/${pull.number}`,
      headSha: pull.headSha,
      headRef: pull.head,
      baseRef: pull.base,
      body: pull.body,
      title: pull.title,
    };
  }

  function tooLong(route: string, body: string | undefined, limit = BODY_LIMIT): void {
    if (body !== undefined && body.length > limit) {
      throw new ScmError(route, 422, `${route}: body is too long (maximum is ${limit} characters)`);
    }
  }

  function commentOrThrow(route: string, repo: RepoName, id: number): MemoryComment {
    const comment = comments.find((c) => c.id === id && repoKey(c) === repoKey(repo));
    if (!comment) throw new ScmError(route, 404, `${route}: Not Found`);
    return comment;
  }

  const scm: MemoryScm = {
    calls,
    comments,
    reactions,
    pulls,
    checkRuns,
    commits,
    trees,
    refs,

    methods() {
      return calls.map((call) => call.method);
    },
    count(method) {
      return calls.filter((call) => call.method === method).length;
    },
    clearCalls() {
      calls.length = 0;
    },
    failNext(method, status = 500, count = 1) {
      failures.set(method, { status, remaining: count });
    },
    closePullRequest(repo, number) {
      const pull = pulls.find((p) => repoKey(p) === repoKey(repo) && p.number === number);
      if (!pull) throw new Error(`memory-scm: no pull request #${number}`);
      pull.state = 'closed';
    },

    async getRepo(repo) {
      enter('getRepo', [repo]);
      const state = repos.get(repoKey(repo));
      return state ? { ...state.info } : undefined;
    },

    async permissionOf(repo, login) {
      enter('permissionOf', [repo, login]);
      return repos.get(repoKey(repo))?.permissions.get(login.toLowerCase()) ?? 'none';
    },

    async readFile(repo, path, ref) {
      enter('readFile', [repo, path, ref]);
      const state = repos.get(repoKey(repo));
      if (!state) return undefined;
      const name = ref ?? state.info.defaultBranch;
      const sha = refs.get(refKey(repo, name)) ?? name;
      const commit = commitOf(repo, sha);
      return commit ? trees.get(commit.tree)?.get(path) : undefined;
    },

    async cloneToken() {
      enter('cloneToken', []);
      return options.token;
    },

    async addReaction(repo, commentId, content) {
      enter('addReaction', [repo, commentId, content]);
      commentOrThrow('addReaction', repo, commentId);
      reactions.push({ owner: repo.owner, repo: repo.repo, commentId, content });
    },

    async createComment(repo, issueNumber, body): Promise<CreatedComment> {
      enter('createComment', [repo, issueNumber, body]);
      issueOrThrow('createComment', repo, issueNumber);
      tooLong('createComment', body);
      const id = nextCommentId++;
      const comment: MemoryComment = {
        id,
        nodeId: `IC_${id}`,
        owner: repo.owner,
        repo: repo.repo,
        issueNumber,
        body,
        minimized: false,
        edits: 0,
      };
      comments.push(comment);
      return {
        id,
        nodeId: comment.nodeId,
        url: `https://github.com/${repo.owner}/${repo.repo}/issues/${issueNumber}#issuecomment-${id}`,
      };
    },

    async updateComment(repo, commentId, body) {
      enter('updateComment', [repo, commentId, body]);
      const comment = commentOrThrow('updateComment', repo, commentId);
      tooLong('updateComment', body);
      comment.body = body;
      comment.edits += 1;
    },

    async minimizeComment(nodeId) {
      enter('minimizeComment', [nodeId]);
      const comment = comments.find((c) => c.nodeId === nodeId);
      if (!comment) {
        throw new ScmError(
          'minimizeComment',
          404,
          `Could not resolve to a node with the global id`,
        );
      }
      comment.minimized = true;
    },

    async getPullRequest(repo, number) {
      enter('getPullRequest', [repo, number]);
      const pull = pulls.find((p) => repoKey(p) === repoKey(repo) && p.number === number);
      return pull ? pullRef(pull) : undefined;
    },

    async findOpenPullRequest(repo, headBranch) {
      enter('findOpenPullRequest', [repo, headBranch]);
      const pull = pulls.find(
        (p) => repoKey(p) === repoKey(repo) && p.head === headBranch && p.state === 'open',
      );
      return pull ? pullRef(pull) : undefined;
    },

    async getCommit(repo, sha) {
      enter('getCommit', [repo, sha]);
      repoOrThrow('getCommit', repo);
      const commit = commitOf(repo, sha);
      if (!commit) throw new ScmError('getCommit', 404, 'getCommit: Not Found');
      return { sha, treeSha: commit.tree, parents: [...commit.parents] };
    },

    async createTree(repo, baseTreeSha, files: TreeFile[]) {
      enter('createTree', [repo, baseTreeSha, files]);
      repoOrThrow('createTree', repo);
      const base = trees.get(baseTreeSha);
      if (!base) throw new ScmError('createTree', 422, 'createTree: base_tree is not a valid tree');
      const entries = new Map(base);
      for (const file of files) entries.set(file.path, file.content);
      return addTree(entries);
    },

    async createCommit(repo, input) {
      enter('createCommit', [repo, input]);
      repoOrThrow('createCommit', repo);
      if (!trees.has(input.treeSha)) {
        throw new ScmError('createCommit', 422, 'createCommit: Tree SHA does not exist');
      }
      if (input.parents.some((parent) => !commitOf(repo, parent))) {
        throw new ScmError('createCommit', 422, 'createCommit: Parent SHA does not exist');
      }
      commitCounter += 1;
      const sha = createHash('sha1')
        .update(`commit ${commitCounter} ${input.treeSha} ${input.parents.join(' ')}`)
        .digest('hex');
      commits.set(sha, {
        owner: repo.owner,
        repo: repo.repo,
        message: input.message,
        tree: input.treeSha,
        parents: [...input.parents],
      });
      return sha;
    },

    async createBranch(repo, branch, sha) {
      enter('createBranch', [repo, branch, sha]);
      repoOrThrow('createBranch', repo);
      if (refs.has(refKey(repo, branch))) return false;
      if (!commitOf(repo, sha)) {
        throw new ScmError('createBranch', 422, 'createBranch: Object does not exist');
      }
      refs.set(refKey(repo, branch), sha);
      return true;
    },

    async getBranchHead(repo, branch) {
      enter('getBranchHead', [repo, branch]);
      repoOrThrow('getBranchHead', repo);
      return refs.get(refKey(repo, branch));
    },

    async updateBranch(repo, branch, sha, force) {
      enter('updateBranch', [repo, branch, sha, force]);
      repoOrThrow('updateBranch', repo);
      const current = refs.get(refKey(repo, branch));
      if (current === undefined) {
        throw new ScmError('updateBranch', 422, 'updateBranch: Reference does not exist');
      }
      if (!commitOf(repo, sha)) {
        throw new ScmError('updateBranch', 422, 'updateBranch: Object does not exist');
      }
      if (!force && !isAncestor(current, sha)) {
        throw new ScmError('updateBranch', 422, 'updateBranch: Update is not a fast forward');
      }
      refs.set(refKey(repo, branch), sha);
      for (const pull of pulls) {
        if (repoKey(pull) === repoKey(repo) && pull.head === branch && pull.state === 'open') {
          pull.headSha = sha;
        }
      }
    },

    async createPullRequest(repo, input) {
      enter('createPullRequest', [repo, input]);
      const state = repoOrThrow('createPullRequest', repo);
      tooLong('createPullRequest', input.body);
      const head = refs.get(refKey(repo, input.head));
      const base = refs.get(refKey(repo, input.base));
      if (head === undefined || base === undefined) {
        throw new ScmError('createPullRequest', 422, 'createPullRequest: Validation Failed');
      }
      const open = pulls.some(
        (p) => repoKey(p) === repoKey(repo) && p.head === input.head && p.state === 'open',
      );
      if (open) {
        throw new ScmError(
          'createPullRequest',
          422,
          'createPullRequest: A pull request already exists',
        );
      }
      if (isAncestor(head, base)) {
        throw new ScmError('createPullRequest', 422, 'createPullRequest: No commits between');
      }
      const taken = [
        ...(state.issues ?? []),
        ...pulls.filter((p) => repoKey(p) === repoKey(repo)).map((p) => p.number),
      ];
      const pull: MemoryPull = {
        number: Math.max(0, ...taken) + 1,
        owner: repo.owner,
        repo: repo.repo,
        head: input.head,
        base: input.base,
        title: input.title,
        body: input.body,
        state: 'open',
        labels: [],
        headSha: head,
        edits: 0,
      };
      pulls.push(pull);
      return pullRef(pull);
    },

    async updatePullRequest(repo, number, input) {
      enter('updatePullRequest', [repo, number, input]);
      const pull = pulls.find((p) => repoKey(p) === repoKey(repo) && p.number === number);
      if (!pull) throw new ScmError('updatePullRequest', 404, 'updatePullRequest: Not Found');
      tooLong('updatePullRequest', input.body);
      if (input.title !== undefined) pull.title = input.title;
      if (input.body !== undefined) pull.body = input.body;
      pull.edits += 1;
    },

    async addLabels(repo, issueNumber, names) {
      enter('addLabels', [repo, issueNumber, names]);
      issueOrThrow('addLabels', repo, issueNumber);
      const key = `${repoKey(repo)}#${issueNumber}`;
      const merged = [...new Set([...(labels.get(key) ?? []), ...names])];
      labels.set(key, merged);
      const pull = pulls.find((p) => repoKey(p) === repoKey(repo) && p.number === issueNumber);
      if (pull) pull.labels = merged;
    },

    async createCheckRun(repo, input) {
      enter('createCheckRun', [repo, input]);
      repoOrThrow('createCheckRun', repo);
      if (!commitOf(repo, input.headSha)) {
        throw new ScmError('createCheckRun', 422, 'createCheckRun: No commit found for SHA');
      }
      tooLong('createCheckRun', input.output.summary, CHECK_RUN_SUMMARY_LIMIT);
      const id = nextCheckRunId++;
      checkRuns.push({
        id,
        owner: repo.owner,
        repo: repo.repo,
        name: input.name,
        headSha: input.headSha,
        status: input.status,
        output: { ...input.output },
        ...(input.detailsUrl === undefined ? {} : { detailsUrl: input.detailsUrl }),
        updates: 0,
      });
      return id;
    },

    async updateCheckRun(repo, id, input) {
      enter('updateCheckRun', [repo, id, input]);
      const run = checkRuns.find((r) => r.id === id && repoKey(r) === repoKey(repo));
      if (!run) throw new ScmError('updateCheckRun', 404, 'updateCheckRun: Not Found');
      tooLong('updateCheckRun', input.output.summary, CHECK_RUN_SUMMARY_LIMIT);
      if (input.status === 'completed' && input.conclusion === undefined) {
        throw new ScmError('updateCheckRun', 422, 'updateCheckRun: conclusion is required');
      }
      if (input.conclusion !== undefined) {
        run.status = 'completed';
        run.conclusion = input.conclusion;
      } else if (input.status !== undefined) {
        run.status = input.status;
      }
      run.output = { ...input.output };
      run.updates += 1;
    },
  };
  return scm;
}
