/**
 * Who may do what, decided from values the caller has already fetched: the sender, their role on
 * the thread's repository, that repository's configuration and the repository the request names.
 * Pure: no GitHub calls, no clock. Bots are ignored (never answered, so two bots cannot loop);
 * everyone else who is refused gets a reply saying what they have, what is needed and which key a
 * maintainer can change.
 */
import type { ResolvedConfig } from '../config.js';
import { REPO_CONFIG_FILE } from '../config.js';
import { renderTemplate } from '../deliver/templates.js';
import { refused } from '../outcome.js';
import type { Refused } from '../outcome.js';
import { REPO_PERMISSIONS } from '../scm/scm.js';
import type { RepoName, RepoPermission } from '../scm/scm.js';

export type CommandAction = 'provision' | 'approve' | 'reject' | 'status' | 'help';

export interface AuthorizeInput {
  /** `type` as GitHub sends it: 'User', 'Bot' or 'Organization'. */
  sender: { login: string; type: string };
  /** The sender's permission on the thread repository. */
  permission: RepoPermission;
  /** The thread repository's configuration. */
  config: ResolvedConfig;
  /** Where the command was posted. */
  threadRepo: RepoName;
  /**
   * The repository `git_repo` names (repoNameFromUrl); undefined for subcommands without a target
   * and for a request that did not parse. Checked for provision only.
   */
  targetRepo: RepoName | undefined;
  action: CommandAction;
}

export type Authorization =
  | { kind: 'allowed' }
  /** Bots: logged, never answered. */
  | { kind: 'ignored'; why: string }
  | Refused;

/** GitHub owners: 1–39 letters, digits or single hyphens (the rule allowed_repos uses too). */
const OWNER = /^(?=.{1,39}$)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
/** GitHub repository names: letters, digits, ".", "_", "-"; never "." or "..". */
const NAME = /^(?!\.+$)[A-Za-z0-9._-]{1,100}$/;

function rank(permission: RepoPermission): number {
  return REPO_PERMISSIONS.indexOf(permission);
}

function lowerOf(a: RepoPermission, b: RepoPermission): RepoPermission {
  return rank(a) <= rank(b) ? a : b;
}

function fullName(repo: RepoName): string {
  return `${repo.owner}/${repo.repo}`;
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The same repository, as GitHub compares names: case-insensitively. */
export function sameRepo(a: RepoName, b: RepoName): boolean {
  return sameText(a.owner, b.owner) && sameText(a.repo, b.repo);
}

/** The refusal for a `git_repo` that `allowed_repos` of the thread repository does not list. */
export function repoNotAllowed(target: RepoName, threadRepo: RepoName): Refused {
  return refused(
    'repo-not-allowed',
    renderTemplate('auth-repo-not-allowed', {
      target: fullName(target),
      thread: fullName(threadRepo),
      file: REPO_CONFIG_FILE,
      owner: target.owner,
      ownerPattern: `${target.owner}/*`,
    }),
  );
}

/** Accounts of type Bot, and logins GitHub gives apps ("name[bot]"), whatever type they claim. */
export function isBotSender(sender: { login: string; type: string }): boolean {
  return sender.type === 'Bot' || /\[bot\]$/i.test(sender.login);
}

/** The role an action needs, and the reply hint that names the key a maintainer can change. */
function requirement(input: AuthorizeInput): { need: RepoPermission; hint: string } {
  const file = REPO_CONFIG_FILE;
  switch (input.action) {
    case 'provision':
      return {
        need: input.config.access.minPermission,
        hint: renderTemplate('auth-hint-access', { file }),
      };
    case 'approve':
    case 'reject':
      return {
        need: input.config.approvals.minPermission,
        hint: renderTemplate('auth-hint-approvals', { file }),
      };
    case 'help':
    case 'status':
      // A repository that lets anyone ask (access.min_permission below read) lets anyone read help.
      return {
        need: lowerOf('read', input.config.access.minPermission),
        hint: renderTemplate('auth-hint-read', { repo: fullName(input.threadRepo) }),
      };
  }
}

/**
 * Decides whether the sender may run the action: bots are ignored for every action; help and
 * status need read (or less, when access.min_permission is lower); provision needs
 * access.min_permission, a place in access.users when that list is set, and a target (when there
 * is one) that is the thread repository or listed in allowed_repos; approve and reject need
 * approvals.min_permission. Logins and repository names compare case-insensitively.
 */
export function authorize(input: AuthorizeInput): Authorization {
  const { sender, permission, config, threadRepo, action } = input;
  if (isBotSender(sender))
    return { kind: 'ignored', why: `bot sender ${sender.login} (${sender.type})` };

  const { need, hint } = requirement(input);
  if (rank(permission) < rank(need)) {
    return refused(
      'permission-denied',
      renderTemplate('auth-permission-denied', {
        login: sender.login,
        action,
        need,
        have: permission,
        repo: fullName(threadRepo),
        hint,
      }),
    );
  }
  if (action !== 'provision') return { kind: 'allowed' };

  const users = config.access.users;
  if (users.length > 0 && !users.some((user) => sameText(user, sender.login))) {
    return refused(
      'permission-denied',
      renderTemplate('auth-not-listed', {
        login: sender.login,
        file: REPO_CONFIG_FILE,
        repo: fullName(threadRepo),
      }),
    );
  }

  const target = input.targetRepo;
  if (target !== undefined && !repoAllowed(target, threadRepo, config.allowedRepos)) {
    return repoNotAllowed(target, threadRepo);
  }
  return { kind: 'allowed' };
}

/**
 * owner/repo from an https git URL on the GitHub host (".git" suffix and trailing slashes
 * tolerated, case kept). Undefined when the address is not exactly https://host/owner/repo: another
 * scheme or host (www. included, as validateRepoUrl refuses it), credentials, a port other than
 * the host's, a query or fragment, or more path (".../tree/main"), which validateRepoUrl refuses too.
 */
export function repoNameFromUrl(url: string, host = 'github.com'): RepoName | undefined {
  const text = url.trim();
  // The URL parser would turn "\" into "/" and drop an empty "?" or "#"; such text is no address.
  if (!/^https:\/\//i.test(text) || /[\\?#\s]/.test(text)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  if (parsed.username !== '' || parsed.password !== '') return undefined;
  const wanted = host.trim().toLowerCase().replace(/\.$/, '');
  if (parsed.host.toLowerCase().replace(/\.(?=:|$)/, '') !== wanted) return undefined;

  const parts = parsed.pathname.split('/');
  // "", owner, repo, then only empty parts (trailing slashes).
  if (parts.length < 3 || parts.slice(3).some((part) => part !== '')) return undefined;
  const owner = parts[1]!;
  const repo = parts[2]!.replace(/\.git$/i, '');
  if (!OWNER.test(owner) || !NAME.test(repo)) return undefined;
  return { owner, repo };
}

/**
 * Whether a command in `thread` may size `target`: the thread repository always may; others when
 * an allowed_repos pattern ("owner/name" or "owner/*") matches, case-insensitively.
 */
export function repoAllowed(target: RepoName, thread: RepoName, allowedRepos: string[]): boolean {
  if (sameRepo(target, thread)) return true;
  return allowedRepos.some((pattern) => {
    const slash = pattern.indexOf('/');
    if (slash === -1) return false;
    const owner = pattern.slice(0, slash);
    const name = pattern.slice(slash + 1);
    return sameText(owner, target.owner) && (name === '*' || sameText(name, target.repo));
  });
}
