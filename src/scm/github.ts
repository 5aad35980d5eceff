/**
 * The ScmClient over an Octokit: one `octokit.request('METHOD /route', params)` per method (plus
 * `octokit.graphql` for minimizeComment), so it works the same with Probot's ProbotOctokit (retry,
 * throttling, installation auth) and with a plain @octokit/rest Octokit (GitHub Actions, tests).
 *
 * Responses are checked with small zod schemas holding only the fields we read; an unexpected
 * shape, like any non-2xx answer a method does not map to a value, becomes a ScmError whose message
 * names the route template, the status and GitHub's own `message` — never headers, URLs with
 * values, or tokens.
 */
import { z } from 'zod';
import {
  REPO_PERMISSIONS,
  ScmError,
  type CheckRunOutput,
  type PullRequestRef,
  type RepoPermission,
  type ScmClient,
} from './scm.js';

/** The part of an Octokit instance we use (@octokit/core's `request`, `graphql` and `auth`). */
export interface OctokitLike {
  request(
    route: string,
    parameters?: Record<string, unknown>,
  ): Promise<{
    status: number;
    // Octokit types untyped routes' data as any; we validate it with zod before reading it.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    data: any;
    headers: Record<string, unknown>;
  }>;
  graphql(query: string, parameters?: Record<string, unknown>): Promise<unknown>;
  auth?(options?: unknown): Promise<unknown>;
}

export interface GitHubScmOptions {
  /** The token git should use over https; when absent, cloneToken asks the Octokit's auth strategy. */
  token?: string;
}

const GRAPHQL_ROUTE = 'POST /graphql';

const MINIMIZE_COMMENT = `mutation ($id: ID!) {
  minimizeComment(input: { subjectId: $id, classifier: OUTDATED }) {
    minimizedComment { isMinimized }
  }
}`;

const RepoSchema = z.object({
  name: z.string(),
  full_name: z.string(),
  owner: z.object({ login: z.string() }),
  default_branch: z.string(),
  private: z.boolean(),
  clone_url: z.string(),
  html_url: z.string(),
});
const PermissionSchema = z.object({
  permission: z.string(),
  role_name: z.string().nullish(),
});
const ContentSchema = z.union([
  z.array(z.unknown()),
  z.object({
    type: z.string(),
    encoding: z.string().nullish(),
    content: z.string().nullish(),
  }),
]);
const CommentSchema = z.object({ id: z.number(), node_id: z.string(), html_url: z.string() });
const PullSchema = z.object({
  number: z.number(),
  html_url: z.string(),
  title: z.string(),
  body: z.string().nullish(),
  head: z.object({ sha: z.string(), ref: z.string() }),
  base: z.object({ ref: z.string() }),
});
const CommitSchema = z.object({
  sha: z.string(),
  tree: z.object({ sha: z.string() }),
  parents: z.array(z.object({ sha: z.string() })),
});
const ShaSchema = z.object({ sha: z.string() });
const RefSchema = z.object({ object: z.object({ sha: z.string() }) });
const IdSchema = z.object({ id: z.number() });

/**
 * Builds a ScmClient bound to the Octokit's credentials (normally one installation's).
 * `options.token` is what cloneToken returns when given (Actions: the workflow's GITHUB_TOKEN).
 */
export function createGitHubScm(octokit: OctokitLike, options: GitHubScmOptions = {}): ScmClient {
  /** One request; every non-2xx becomes a ScmError. */
  async function send(route: string, parameters: Record<string, unknown>) {
    try {
      return await octokit.request(route, parameters);
    } catch (error) {
      throw toScmError(route, error);
    }
  }

  /** One request; 404 reads as undefined, every other non-2xx is a ScmError. */
  async function sendOrUndefined(route: string, parameters: Record<string, unknown>) {
    try {
      return await send(route, parameters);
    } catch (error) {
      if (error instanceof ScmError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** The response data checked against `schema`; a mismatch is a ScmError naming the field. */
  function parsed<T>(
    route: string,
    response: { status: number; data: unknown },
    schema: z.ZodType<T>,
  ): T {
    const result = schema.safeParse(response.data);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'body';
    throw new ScmError(
      route,
      response.status,
      `${route} answered ${response.status} with an unexpected ${where}: ${issue?.message ?? 'invalid'}`,
    );
  }

  return {
    async getRepo(repo) {
      const route = 'GET /repos/{owner}/{repo}';
      const response = await sendOrUndefined(route, { ...repo });
      if (!response) return undefined;
      const data = parsed(route, response, RepoSchema);
      return {
        owner: data.owner.login,
        repo: data.name,
        fullName: data.full_name,
        defaultBranch: data.default_branch,
        private: data.private,
        cloneUrl: data.clone_url,
        htmlUrl: data.html_url,
      };
    },

    async permissionOf(repo, login) {
      const route = 'GET /repos/{owner}/{repo}/collaborators/{username}/permission';
      const response = await sendOrUndefined(route, { ...repo, username: login });
      if (!response) return 'none';
      const data = parsed(route, response, PermissionSchema);
      return permissionFrom(data.permission, data.role_name ?? undefined);
    },

    async readFile(repo, path, ref) {
      const route = 'GET /repos/{owner}/{repo}/contents/{path}';
      const parameters: Record<string, unknown> = { ...repo, path: path.replace(/^\/+/, '') };
      if (ref !== undefined) parameters.ref = ref;
      const response = await sendOrUndefined(route, parameters);
      if (!response) return undefined;
      const data = parsed(route, response, ContentSchema);
      // A directory answers with an array; files over 1 MB come with encoding "none" and no content.
      if (Array.isArray(data) || data.type !== 'file') return undefined;
      if (data.encoding !== 'base64' || typeof data.content !== 'string') return undefined;
      return Buffer.from(data.content, 'base64').toString('utf8');
    },

    async cloneToken() {
      if (options.token !== undefined) return options.token;
      if (!octokit.auth) return undefined;
      let authentication: unknown;
      try {
        authentication = await octokit.auth({ type: 'installation' });
      } catch (error) {
        throw toScmError('POST /app/installations/{installation_id}/access_tokens', error);
      }
      if (typeof authentication !== 'object' || authentication === null) return undefined;
      const token = (authentication as { token?: unknown }).token;
      return typeof token === 'string' && token !== '' ? token : undefined;
    },

    async addReaction(repo, commentId, content) {
      await send('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', {
        ...repo,
        comment_id: commentId,
        content,
      });
    },

    async createComment(repo, issueNumber, body) {
      const route = 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments';
      const response = await send(route, { ...repo, issue_number: issueNumber, body });
      const data = parsed(route, response, CommentSchema);
      return { id: data.id, nodeId: data.node_id, url: data.html_url };
    },

    async updateComment(repo, commentId, body) {
      await send('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
        ...repo,
        comment_id: commentId,
        body,
      });
    },

    async minimizeComment(nodeId) {
      try {
        await octokit.graphql(MINIMIZE_COMMENT, { id: nodeId });
      } catch (error) {
        throw toScmError(GRAPHQL_ROUTE, error);
      }
    },

    async getPullRequest(repo, number) {
      const route = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';
      const response = await sendOrUndefined(route, { ...repo, pull_number: number });
      return response && pullRequestFrom(parsed(route, response, PullSchema));
    },

    async findOpenPullRequest(repo, headBranch) {
      const route = 'GET /repos/{owner}/{repo}/pulls';
      const response = await send(route, {
        ...repo,
        head: `${repo.owner}:${headBranch}`,
        state: 'open',
      });
      const first = parsed(route, response, z.array(PullSchema))[0];
      return first && pullRequestFrom(first);
    },

    async getCommit(repo, sha) {
      const route = 'GET /repos/{owner}/{repo}/git/commits/{commit_sha}';
      const response = await send(route, { ...repo, commit_sha: sha });
      const data = parsed(route, response, CommitSchema);
      return {
        sha: data.sha,
        treeSha: data.tree.sha,
        parents: data.parents.map((parent) => parent.sha),
      };
    },

    async getBranchHead(repo, branch) {
      const route = 'GET /repos/{owner}/{repo}/git/ref/{ref}';
      const response = await sendOrUndefined(route, { ...repo, ref: `heads/${branch}` });
      return response && parsed(route, response, RefSchema).object.sha;
    },

    async createTree(repo, baseTreeSha, files) {
      const route = 'POST /repos/{owner}/{repo}/git/trees';
      const tree = files.map((file) => ({
        path: file.path,
        mode: '100644',
        type: 'blob',
        content: file.content,
      }));
      const response = await send(route, { ...repo, base_tree: baseTreeSha, tree });
      return parsed(route, response, ShaSchema).sha;
    },

    async createCommit(repo, input) {
      const route = 'POST /repos/{owner}/{repo}/git/commits';
      const response = await send(route, {
        ...repo,
        message: input.message,
        tree: input.treeSha,
        parents: input.parents,
      });
      return parsed(route, response, ShaSchema).sha;
    },

    async createBranch(repo, branch, sha) {
      const route = 'POST /repos/{owner}/{repo}/git/refs';
      try {
        await octokit.request(route, { ...repo, ref: `refs/heads/${branch}`, sha });
        return true;
      } catch (error) {
        if (statusOf(error) === 422 && /reference already exists/i.test(githubMessage(error))) {
          return false;
        }
        throw toScmError(route, error);
      }
    },

    async updateBranch(repo, branch, sha, force) {
      await send('PATCH /repos/{owner}/{repo}/git/refs/heads/{branch}', {
        ...repo,
        branch,
        sha,
        force,
      });
    },

    async createPullRequest(repo, input) {
      const route = 'POST /repos/{owner}/{repo}/pulls';
      const response = await send(route, { ...repo, ...input });
      return pullRequestFrom(parsed(route, response, PullSchema));
    },

    async updatePullRequest(repo, number, input) {
      await send('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        ...repo,
        pull_number: number,
        ...definedOnly({ title: input.title, body: input.body }),
      });
    },

    async addLabels(repo, issueNumber, labels) {
      await send('POST /repos/{owner}/{repo}/issues/{issue_number}/labels', {
        ...repo,
        issue_number: issueNumber,
        labels,
      });
    },

    async createCheckRun(repo, input) {
      const route = 'POST /repos/{owner}/{repo}/check-runs';
      const response = await send(route, {
        ...repo,
        name: input.name,
        head_sha: input.headSha,
        status: input.status,
        output: outputFor(input.output),
        ...definedOnly({ details_url: input.detailsUrl }),
      });
      return parsed(route, response, IdSchema).id;
    },

    async updateCheckRun(repo, id, input) {
      await send('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        ...repo,
        check_run_id: id,
        output: outputFor(input.output),
        ...definedOnly({ status: input.status, conclusion: input.conclusion }),
      });
    },
  };
}

/**
 * The role from GitHub's answer: `role_name` names maintain and triage (which `permission` folds
 * into write and read); a custom or empty role_name falls back to the base `permission`.
 */
export function permissionFrom(permission: string, roleName?: string): RepoPermission {
  const known = (value: string | undefined): RepoPermission | undefined =>
    REPO_PERMISSIONS.find((candidate) => candidate === value?.toLowerCase());
  return known(roleName) ?? known(permission) ?? 'none';
}

function pullRequestFrom(data: z.infer<typeof PullSchema>): PullRequestRef {
  return {
    number: data.number,
    url: data.html_url,
    headSha: data.head.sha,
    headRef: data.head.ref,
    baseRef: data.base.ref,
    body: data.body ?? '',
    title: data.title,
  };
}

function outputFor(output: CheckRunOutput): Record<string, string> {
  return { title: output.title, summary: output.summary, ...definedOnly({ text: output.text }) };
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/**
 * A ScmError for an error thrown by Octokit: RequestError carries `.status` and GitHub's JSON in
 * `.response.data`; a GraphQL answer with `errors` (HTTP 200) carries `.errors`. Anything else —
 * a bug, not an answer from GitHub — is returned unchanged.
 */
function toScmError(route: string, error: unknown): unknown {
  if (error instanceof ScmError) return error;
  const graphqlErrors = graphqlMessages(error);
  if (graphqlErrors !== undefined) {
    return new ScmError(
      route,
      200,
      redact(`${route} answered with GraphQL errors: ${graphqlErrors}`),
    );
  }
  const status = statusOf(error);
  if (status === undefined) return error;
  // No response body: the request never got an answer (Octokit reports that as status 500), so
  // the error's own message is the only clue.
  const detail =
    githubMessage(error) ||
    ((error as { response?: unknown }).response === undefined && error instanceof Error
      ? error.message
      : '');
  return new ScmError(
    route,
    status,
    redact(`${route} answered ${status}${detail ? `: ${detail}` : ''}`),
  );
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** GitHub's `message` plus each validation error's message or field/code, when present. */
function githubMessage(error: unknown): string {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data;
  if (typeof data !== 'object' || data === null) return '';
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  const parts = typeof message === 'string' ? [message] : [];
  if (Array.isArray(errors)) {
    for (const item of errors) {
      if (typeof item === 'string') parts.push(item);
      else if (typeof item === 'object' && item !== null) {
        const { message: text, field, code } = item as Record<string, unknown>;
        if (typeof text === 'string') parts.push(text);
        else if (typeof field === 'string') parts.push(`${field} ${String(code ?? 'invalid')}`);
      }
    }
  }
  return parts.join('; ');
}

function graphqlMessages(error: unknown): string | undefined {
  const errors = (error as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || statusOf(error) !== undefined) return undefined;
  return errors
    .map((item) => (item as { message?: unknown } | null)?.message)
    .filter((message): message is string => typeof message === 'string')
    .join('; ');
}

const MAX_MESSAGE = 500;

/** Strips anything shaped like a credential and bounds the length (messages end up in comments/logs). */
function redact(message: string): string {
  const clean = message
    .replace(/\b(?:gh[opsur]_[A-Za-z0-9_]+|github_pat_[A-Za-z0-9_]+)/g, '[redacted]')
    .replace(/\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]')
    .replace(/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted]');
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean;
}
