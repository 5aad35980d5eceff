/**
 * Delivers a plan as one pull request, idempotently (Renovate's "stateless" delivery): GitHub is the
 * source of truth, the branch name comes from the request, and a re-run with the same content writes
 * nothing but, at most, a changed title or body.
 */
import type { RepoName, ScmClient, TreeFile } from '../scm/index.js';
import type { PullRequestContent } from './pr-body.js';

export interface PullRequestPlan {
  repo: RepoName;
  /** The branch the pull request targets. */
  base: string;
  /** The commit the plan was made from; the single commit on the branch has it as parent. */
  baseCommit: string;
  /** baseCommit's tree sha when known locally (saves one call); else read with getCommit. */
  baseTree?: string;
  content: PullRequestContent;
  /** The plan's files; upsertPullRequest appends content.extraFiles itself. */
  files: TreeFile[];
}

export interface PullRequestResult {
  number: number;
  url: string;
  /** A pull request was opened (none was open for the branch). */
  created: boolean;
  /** A new commit was written to the branch. */
  changed: boolean;
  /** ScmClient calls made. */
  calls: number;
}

/**
 * The files to commit: the plan's files, then content.extraFiles, one entry per path (the later one
 * wins), sorted by path so the same plan always builds the same tree request.
 */
export function commitFiles(files: TreeFile[], extraFiles: TreeFile[]): TreeFile[] {
  const byPath = new Map<string, string>();
  for (const file of [...files, ...extraFiles]) byPath.set(file.path, file.content);
  return [...byPath]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, content]) => ({ path, content }));
}

/**
 * Upserts branch content.branch with ONE commit (parent baseCommit) holding every file, via the git
 * data API, and one open pull request for it:
 *
 * 1. findOpenPullRequest
 * 2. getCommit(baseCommit) for its tree, unless baseTree is given
 * 3. createTree on that base
 * 4. with an open pull request: getCommit(head); when the head has this tree and parent baseCommit,
 *    nothing is committed (changed: false) and only a differing title/body is updated
 * 5. createCommit, then updateBranch (open pull request) or createBranch, falling back to a forced
 *    updateBranch when the branch outlived its pull request
 * 6. createPullRequest + addLabels (labels only on a new pull request), or updatePullRequest when
 *    title or body differ
 *
 * First run: at most 7 calls (6 with baseTree); re-run with the same content: at most 4 and no
 * commit; re-run with new content: at most 7. ScmError propagates: delivery is the job's result.
 */
export async function upsertPullRequest(
  scm: ScmClient,
  plan: PullRequestPlan,
): Promise<PullRequestResult> {
  const { repo, content } = plan;
  let calls = 0;
  function count<T>(call: Promise<T>): Promise<T> {
    calls += 1;
    return call;
  }

  const open = await count(scm.findOpenPullRequest(repo, content.branch));
  const baseTree = plan.baseTree ?? (await count(scm.getCommit(repo, plan.baseCommit))).treeSha;
  const tree = await count(
    scm.createTree(repo, baseTree, commitFiles(plan.files, content.extraFiles)),
  );

  if (open) {
    const head = await count(scm.getCommit(repo, open.headSha));
    const upToDate =
      head.treeSha === tree && head.parents.length === 1 && head.parents[0] === plan.baseCommit;
    if (!upToDate) {
      const commit = await count(
        scm.createCommit(repo, {
          message: content.commitMessage,
          treeSha: tree,
          parents: [plan.baseCommit],
        }),
      );
      await count(scm.updateBranch(repo, content.branch, commit, true));
    }
    const edit = {
      ...(open.title === content.title ? {} : { title: content.title }),
      ...(open.body === content.body ? {} : { body: content.body }),
    };
    if (Object.keys(edit).length > 0) {
      await count(scm.updatePullRequest(repo, open.number, edit));
    }
    return { number: open.number, url: open.url, created: false, changed: !upToDate, calls };
  }

  const commit = await count(
    scm.createCommit(repo, {
      message: content.commitMessage,
      treeSha: tree,
      parents: [plan.baseCommit],
    }),
  );
  const branchCreated = await count(scm.createBranch(repo, content.branch, commit));
  if (!branchCreated) {
    // The branch outlived its pull request (closed, or a run stopped half-way): replace its content.
    await count(scm.updateBranch(repo, content.branch, commit, true));
  }
  const pull = await count(
    scm.createPullRequest(repo, {
      title: content.title,
      head: content.branch,
      base: plan.base,
      body: content.body,
    }),
  );
  const labels = [...new Set(content.labels)];
  if (labels.length > 0) await count(scm.addLabels(repo, pull.number, labels));
  return { number: pull.number, url: pull.url, created: true, changed: true, calls };
}
