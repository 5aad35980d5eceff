/**
 * The repository routes of the fake GitHub API (fake-github-api.ts owns the server, auth, recording
 * and the app/GraphQL routes). One small handler per route; a table maps `METHOD /path-regex` with
 * named groups to it; fake-github-state.ts holds the state queries and the JSON shapes.
 */
import type {
  FakeAnswer,
  FakeCheckRun,
  FakeComment,
  FakeGitHubRepo,
  FakeGitHubState,
  FakePull,
} from './fake-github-api.js';
import {
  BOT,
  CHECK_RUN_TEXT_LIMIT,
  apiBase,
  bodyProblem,
  characters,
  checkRunJson,
  commentJson,
  commitExists,
  commitJson,
  custom,
  findPull,
  isAncestor,
  isRecord,
  issueExists,
  message,
  numericId,
  pullJson,
  refExists,
  refJson,
  refKey,
  repoJson,
  repoKey,
  sameRepo,
  setRef,
  sha1,
  treeExists,
  validationFailed,
} from './fake-github-state.js';

export interface RepoRouteContext {
  method: string;
  /** URL-decoded, starting /repos/{owner}/{repo}. */
  path: string;
  query: Record<string, string>;
  body: unknown;
}

interface Request {
  state: FakeGitHubState;
  repo: FakeGitHubRepo;
  params: Record<string, string>;
  query: Record<string, string>;
  body: Record<string, unknown>;
  rawBody: unknown;
}

type Handler = (request: Request) => FakeAnswer;

const REACTIONS = ['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes'];
const TREE_MODES = ['100644', '100755', '040000', '160000', '120000'];
const CHECK_STATUSES = ['queued', 'in_progress', 'completed', 'waiting', 'requested', 'pending'];
const CONCLUSIONS = [
  'action_required',
  'cancelled',
  'failure',
  'neutral',
  'success',
  'skipped',
  'stale',
  'timed_out',
];

const ROUTES: [method: string, pattern: RegExp, handler: Handler][] = [
  ['GET', /^$/, getRepo],
  ['GET', /^\/collaborators\/(?<login>[^/]+)\/permission$/, getPermission],
  ['GET', /^\/contents(?:\/(?<path>.*))?$/, getContents],
  ['POST', /^\/issues\/comments\/(?<id>\d+)\/reactions$/, createReaction],
  ['POST', /^\/issues\/(?<number>\d+)\/comments$/, createComment],
  ['PATCH', /^\/issues\/comments\/(?<id>\d+)$/, updateComment],
  ['POST', /^\/issues\/(?<number>\d+)\/labels$/, addLabels],
  ['GET', /^\/pulls$/, listPulls],
  ['POST', /^\/pulls$/, createPull],
  ['GET', /^\/pulls\/(?<number>\d+)$/, getPull],
  ['PATCH', /^\/pulls\/(?<number>\d+)$/, updatePull],
  ['GET', /^\/git\/commits\/(?<sha>[0-9a-f]+)$/, getCommit],
  ['POST', /^\/git\/commits$/, createCommit],
  ['POST', /^\/git\/trees$/, createTree],
  ['GET', /^\/git\/ref\/heads\/(?<branch>.+)$/, getRef],
  ['POST', /^\/git\/refs$/, createRef],
  ['PATCH', /^\/git\/refs\/heads\/(?<branch>.+)$/, updateRef],
  ['POST', /^\/check-runs$/, createCheckRun],
  ['PATCH', /^\/check-runs\/(?<id>\d+)$/, updateCheckRun],
];

/** Answers a /repos/{owner}/{repo}… request (auth already checked). Unknown repo or route: 404. */
export function handleRepoRoute(state: FakeGitHubState, context: RepoRouteContext): FakeAnswer {
  const prefix = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(context.path);
  const repo = prefix && state.repos.get(repoKey(prefix[1] ?? '', prefix[2] ?? ''));
  if (!prefix || !repo) return message(404, 'Not Found');
  const rest = (prefix[3] ?? '').replace(/\/$/, '');
  for (const [method, pattern, handler] of ROUTES) {
    const match = method === context.method ? pattern.exec(rest) : null;
    if (!match) continue;
    const body = context.body;
    return handler({
      state,
      repo,
      params: { ...match.groups },
      query: context.query,
      body: isRecord(body) ? body : {},
      rawBody: body,
    });
  }
  return message(404, 'Not Found');
}

// ---- repository and permissions -------------------------------------------------------------

function getRepo({ state, repo }: Request): FakeAnswer {
  return { status: 200, body: repoJson(state, repo) };
}

const PERMISSION_BY_ROLE: Record<string, { permission: string; role_name: string }> = {
  admin: { permission: 'admin', role_name: 'admin' },
  maintain: { permission: 'write', role_name: 'maintain' },
  write: { permission: 'write', role_name: 'write' },
  triage: { permission: 'read', role_name: 'triage' },
  read: { permission: 'read', role_name: 'read' },
  none: { permission: 'none', role_name: '' },
};

function getPermission({ repo, params }: Request): FakeAnswer {
  const login = params.login ?? '';
  const entry = Object.entries(repo.permissions ?? {}).find(
    ([candidate]) => candidate.toLowerCase() === login.toLowerCase(),
  );
  const answer = entry && PERMISSION_BY_ROLE[entry[1]];
  if (!entry || !answer) return message(404, 'Not Found');
  return {
    status: 200,
    body: { ...answer, user: { login: entry[0], id: numericId(entry[0]), type: 'User' } },
  };
}

function getContents({ state, repo, params, query }: Request): FakeAnswer {
  if (query.ref !== undefined && !refExists(state, repo, query.ref)) {
    return message(404, `No commit found for the ref ${query.ref}`);
  }
  const path = (params.path ?? '').replace(/^\/+|\/+$/g, '');
  const files = repo.files ?? {};
  const content = files[path];
  if (content !== undefined) {
    const base64 = Buffer.from(content, 'utf8').toString('base64');
    return {
      status: 200,
      body: {
        type: 'file',
        encoding: 'base64',
        // GitHub wraps the base64 at 60 characters.
        content: base64.replace(/.{60}/g, '$&\n'),
        size: Buffer.byteLength(content),
        name: path.split('/').pop(),
        path,
        sha: sha1(`blob ${Buffer.byteLength(content)}\0${content}`),
      },
    };
  }
  const prefix = path === '' ? '' : `${path}/`;
  const names = new Map<string, 'file' | 'dir'>();
  for (const file of Object.keys(files).filter((candidate) => candidate.startsWith(prefix))) {
    const [name, ...deeper] = file.slice(prefix.length).split('/');
    if (name) names.set(name, deeper.length > 0 ? 'dir' : 'file');
  }
  if (names.size === 0) return message(404, 'Not Found');
  const entries = [...names].map(([name, type]) => ({ type, name, path: `${prefix}${name}` }));
  return { status: 200, body: entries };
}

// ---- comments, reactions, labels ------------------------------------------------------------

function createReaction({ state, repo, params, body }: Request): FakeAnswer {
  const content = String(body.content ?? '');
  if (!REACTIONS.includes(content)) return validationFailed('Reaction', 'content', 'invalid');
  const commentId = Number(params.id);
  const same = (reaction: FakeGitHubState['reactions'][number]): boolean =>
    repoKey(reaction.owner, reaction.repo) === repoKey(repo.owner, repo.repo) &&
    reaction.commentId === commentId &&
    reaction.content === content;
  // GitHub answers 200 (not 201) when this user already left this reaction.
  const existed = state.reactions.some(same);
  if (!existed) state.reactions.push({ owner: repo.owner, repo: repo.repo, commentId, content });
  const id = (state.counters.reaction += 1);
  return {
    status: existed ? 200 : 201,
    body: { id, node_id: `REA_fake${id}`, content, user: BOT },
  };
}

function createComment({ state, repo, params, body }: Request): FakeAnswer {
  const issueNumber = Number(params.number);
  if (!issueExists(state, repo, issueNumber)) return message(404, 'Not Found');
  const problem = bodyProblem('IssueComment', body.body, true);
  if (problem) return problem;
  const id = (state.counters.comment += 1);
  const comment: FakeComment = {
    id,
    nodeId: `IC_fake${id}`,
    owner: repo.owner,
    repo: repo.repo,
    issueNumber,
    body: body.body as string,
    minimized: false,
    edits: 0,
  };
  state.comments.push(comment);
  return { status: 201, body: commentJson(state, comment) };
}

function updateComment({ state, repo, params, body }: Request): FakeAnswer {
  const comment = state.comments.find(
    (candidate) => candidate.id === Number(params.id) && sameRepo(candidate, repo),
  );
  if (!comment) return message(404, 'Not Found');
  const problem = bodyProblem('IssueComment', body.body, true);
  if (problem) return problem;
  comment.body = body.body as string;
  comment.edits += 1;
  return { status: 200, body: commentJson(state, comment) };
}

function addLabels({ state, repo, params, body, rawBody }: Request): FakeAnswer {
  const issueNumber = Number(params.number);
  if (!issueExists(state, repo, issueNumber)) return message(404, 'Not Found');
  const given = Array.isArray(rawBody) ? rawBody : body.labels;
  if (!Array.isArray(given) || given.length === 0) {
    return validationFailed('Label', 'labels', 'missing_field');
  }
  const names = given.map((label) => (isRecord(label) ? String(label.name) : String(label)));
  const pull = findPull(state, repo, issueNumber);
  const key = `${repoKey(repo.owner, repo.repo)}#${issueNumber}`;
  const labels = pull?.labels ?? state.issueLabels.get(key) ?? [];
  for (const name of names) if (!labels.includes(name)) labels.push(name);
  if (!pull) state.issueLabels.set(key, labels);
  return { status: 200, body: labels.map((name) => ({ id: numericId(name), name })) };
}

// ---- pull requests --------------------------------------------------------------------------

function listPulls({ state, repo, query }: Request): FakeAnswer {
  const wanted = query.state ?? 'open';
  const [headOwner, headBranch] = query.head?.includes(':')
    ? query.head.split(/:(.*)/s)
    : [repo.owner, query.head];
  const pulls = state.pulls
    .filter((pull) => sameRepo(pull, repo))
    .filter((pull) => wanted === 'all' || pull.state === wanted)
    .filter(
      (pull) =>
        headBranch === undefined ||
        (pull.head === headBranch && headOwner?.toLowerCase() === repo.owner.toLowerCase()),
    )
    .filter((pull) => query.base === undefined || pull.base === query.base)
    .sort((a, b) => b.number - a.number);
  return { status: 200, body: pulls.map((pull) => pullJson(state, pull)) };
}

function createPull({ state, repo, body }: Request): FakeAnswer {
  if (typeof body.title !== 'string' || body.title === '') {
    return validationFailed('PullRequest', 'title', 'missing_field');
  }
  const problem = bodyProblem('PullRequest', body.body ?? '', false);
  if (problem) return problem;
  const head = String(body.head ?? '');
  const [headOwner, branch] = head.includes(':') ? head.split(/:(.*)/s) : [repo.owner, head];
  const base = String(body.base ?? '');
  const headSha = state.refs.get(refKey(repo, `refs/heads/${branch ?? ''}`));
  const baseSha = state.refs.get(refKey(repo, `refs/heads/${base}`));
  if (headOwner?.toLowerCase() !== repo.owner.toLowerCase() || !branch || !headSha) {
    return validationFailed('PullRequest', 'head', 'invalid');
  }
  if (!baseSha) return validationFailed('PullRequest', 'base', 'invalid');
  const label = `${repo.owner}:${branch}`;
  if (
    state.pulls.some(
      (pull) => sameRepo(pull, repo) && pull.state === 'open' && pull.head === branch,
    )
  ) {
    return custom('PullRequest', `A pull request already exists for ${label}.`);
  }
  if (headSha === baseSha) return custom('PullRequest', `No commits between ${base} and ${branch}`);
  const pull: FakePull = {
    number: state.counters.issue++,
    owner: repo.owner,
    repo: repo.repo,
    head: branch,
    base,
    title: body.title,
    body: typeof body.body === 'string' ? body.body : '',
    state: 'open',
    labels: [],
    headSha,
  };
  state.pulls.push(pull);
  return { status: 201, body: pullJson(state, pull) };
}

function getPull({ state, repo, params }: Request): FakeAnswer {
  const pull = findPull(state, repo, Number(params.number));
  return pull ? { status: 200, body: pullJson(state, pull) } : message(404, 'Not Found');
}

function updatePull({ state, repo, params, body }: Request): FakeAnswer {
  const pull = findPull(state, repo, Number(params.number));
  if (!pull) return message(404, 'Not Found');
  if (body.body !== undefined) {
    const problem = bodyProblem('PullRequest', body.body, false);
    if (problem) return problem;
    pull.body = body.body as string;
  }
  if (typeof body.title === 'string') pull.title = body.title;
  if (body.state === 'open' || body.state === 'closed') pull.state = body.state;
  if (typeof body.base === 'string') pull.base = body.base;
  return { status: 200, body: pullJson(state, pull) };
}

// ---- git data -------------------------------------------------------------------------------

function getCommit({ state, repo, params }: Request): FakeAnswer {
  const sha = params.sha ?? '';
  const commit = state.commits.get(sha);
  if (!commit || !sameRepo(commit, repo)) return message(404, 'Not Found');
  return { status: 200, body: commitJson(state, repo, sha) };
}

function createCommit({ state, repo, body }: Request): FakeAnswer {
  if (typeof body.message !== 'string')
    return validationFailed('Commit', 'message', 'missing_field');
  const tree = String(body.tree ?? '');
  if (!treeExists(state, repo, tree)) return message(422, 'Tree SHA does not exist');
  const parents = Array.isArray(body.parents) ? body.parents.map(String) : [];
  if (!parents.every((parent) => commitExists(state, repo, parent))) {
    return message(422, 'Parent SHA does not exist or is not a commit object');
  }
  const sha = sha1(JSON.stringify([repoKey(repo.owner, repo.repo), tree, parents, body.message]));
  state.commits.set(sha, {
    owner: repo.owner,
    repo: repo.repo,
    message: body.message,
    tree,
    parents,
  });
  return { status: 201, body: commitJson(state, repo, sha) };
}

function createTree({ state, repo, body }: Request): FakeAnswer {
  const baseTree = typeof body.base_tree === 'string' ? body.base_tree : '';
  if (baseTree !== '' && !treeExists(state, repo, baseTree)) {
    return message(422, 'base_tree is not a valid tree oid');
  }
  if (!Array.isArray(body.tree)) return validationFailed('Tree', 'tree', 'missing_field');
  const byPath = new Map<string, string>();
  for (const entry of body.tree as unknown[]) {
    if (!isRecord(entry) || typeof entry.path !== 'string' || typeof entry.content !== 'string') {
      return message(
        422,
        'This fake GitHub only accepts tree entries with a path and inline content',
      );
    }
    if (!TREE_MODES.includes(String(entry.mode)) || entry.type !== 'blob') {
      return message(422, `tree.mode/type is invalid for ${entry.path}`);
    }
    if (entry.path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      return message(422, 'tree.path contains a malformed path component');
    }
    byPath.set(entry.path, entry.content);
  }
  const entries = [...byPath]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, content]) => ({ path, content }));
  const sha = sha1(baseTree + JSON.stringify(entries));
  state.trees.set(sha, { owner: repo.owner, repo: repo.repo, baseTree, entries });
  const tree = entries.map((entry) => ({
    path: entry.path,
    mode: '100644',
    type: 'blob',
    size: Buffer.byteLength(entry.content),
    sha: sha1(`blob ${Buffer.byteLength(entry.content)}\0${entry.content}`),
  }));
  return {
    status: 201,
    body: { sha, url: `${apiBase(state, repo)}/git/trees/${sha}`, truncated: false, tree },
  };
}

function createRef({ state, repo, body }: Request): FakeAnswer {
  const ref = String(body.ref ?? '');
  const sha = String(body.sha ?? '');
  if (!/^refs\/(?:heads|tags)\/[^\s~^:?*[\\]+$/.test(ref) || ref.includes('..')) {
    return message(422, 'Reference name is invalid');
  }
  if (!commitExists(state, repo, sha)) return message(422, 'Object does not exist');
  if (state.refs.has(refKey(repo, ref))) return message(422, 'Reference already exists');
  setRef(state, repo, ref, sha);
  return { status: 201, body: refJson(state, repo, ref, sha) };
}

function getRef({ state, repo, params }: Request): FakeAnswer {
  const ref = `refs/heads/${params.branch ?? ''}`;
  const sha = state.refs.get(refKey(repo, ref));
  if (sha === undefined) return message(404, 'Not Found');
  return { status: 200, body: refJson(state, repo, ref, sha) };
}

function updateRef({ state, repo, params, body }: Request): FakeAnswer {
  const ref = `refs/heads/${params.branch ?? ''}`;
  const sha = String(body.sha ?? '');
  const current = state.refs.get(refKey(repo, ref));
  if (current === undefined) return message(422, 'Reference does not exist');
  if (!commitExists(state, repo, sha)) return message(422, 'Object does not exist');
  if (body.force !== true && current !== sha && !isAncestor(state, current, sha)) {
    return message(422, 'Update is not a fast forward');
  }
  setRef(state, repo, ref, sha);
  return { status: 200, body: refJson(state, repo, ref, sha) };
}

// ---- check runs -----------------------------------------------------------------------------

function createCheckRun({ state, repo, body }: Request): FakeAnswer {
  if (typeof body.name !== 'string' || body.name === '') {
    return validationFailed('CheckRun', 'name', 'missing_field');
  }
  if (typeof body.head_sha !== 'string')
    return validationFailed('CheckRun', 'head_sha', 'missing_field');
  const run: FakeCheckRun = {
    id: (state.counters.checkRun += 1),
    owner: repo.owner,
    repo: repo.repo,
    name: body.name,
    headSha: body.head_sha,
    status: 'queued',
    output: { title: '', summary: '' },
    updates: 0,
  };
  const problem = applyCheckRun(run, body);
  if (problem) return problem;
  state.checkRuns.push(run);
  return { status: 201, body: checkRunJson(state, repo, run) };
}

function updateCheckRun({ state, repo, params, body }: Request): FakeAnswer {
  const run = state.checkRuns.find(
    (candidate) => candidate.id === Number(params.id) && sameRepo(candidate, repo),
  );
  if (!run) return message(404, 'Not Found');
  const next = { ...run, output: { ...run.output } };
  const problem = applyCheckRun(next, body);
  if (problem) return problem;
  Object.assign(run, next, { updates: run.updates + 1 });
  return { status: 200, body: checkRunJson(state, repo, run) };
}

/** Applies status/conclusion/output from a request body; a 422 answer when they are invalid. */
function applyCheckRun(run: FakeCheckRun, body: Record<string, unknown>): FakeAnswer | undefined {
  if (body.status !== undefined && !CHECK_STATUSES.includes(String(body.status))) {
    return validationFailed('CheckRun', 'status', 'invalid');
  }
  if (body.conclusion !== undefined && !CONCLUSIONS.includes(String(body.conclusion))) {
    return validationFailed('CheckRun', 'conclusion', 'invalid');
  }
  if (
    body.status === 'completed' &&
    body.conclusion === undefined &&
    run.conclusion === undefined
  ) {
    return message(422, 'conclusion is required when status is completed');
  }
  if (body.output !== undefined) {
    const output = isRecord(body.output) ? body.output : {};
    if (typeof output.title !== 'string' || typeof output.summary !== 'string') {
      return validationFailed('CheckRun', 'output', 'missing_field');
    }
    for (const field of ['summary', 'text'] as const) {
      const text = output[field];
      if (typeof text === 'string' && characters(text) > CHECK_RUN_TEXT_LIMIT) {
        return custom(
          'CheckRun',
          `output.${field} is too long (maximum is ${CHECK_RUN_TEXT_LIMIT} characters)`,
          `output.${field}`,
        );
      }
    }
    run.output = { title: output.title, summary: output.summary };
    if (typeof output.text === 'string') run.output.text = output.text;
  }
  if (typeof body.status === 'string') run.status = body.status;
  if (typeof body.conclusion === 'string') {
    run.conclusion = body.conclusion;
    run.status = 'completed';
  }
  return undefined;
}
