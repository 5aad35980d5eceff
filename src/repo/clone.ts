/**
 * Fetching a repository into a job's workspace: a shallow, hardened clone for URLs, the directory
 * itself for a working tree named on the CLI. Limits on time, file count and size; every expected
 * failure is an Outcome with a message the user can act on.
 *
 * Nothing from the repository is ever executed. What could run code during a clone, and why it
 * cannot here:
 * - hooks: a clone never receives hooks, and `core.hooksPath=/dev/null` covers template hooks;
 * - submodules: `--no-recurse-submodules`, `submodule.recurse=false`, and `protocol.allow=never`
 *   for every transport not allowed (submodule URLs could otherwise reach `file://` or `ext::`);
 * - LFS and other checkout filters: a filter command comes only from configuration, never from the
 *   repository's `.gitattributes`; system and global configuration are not read
 *   (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), `filter.lfs.*` is emptied and
 *   `GIT_LFS_SKIP_SMUDGE=1` is set in case an LFS binary is installed anyway;
 * - credential helpers and prompts: `credential.helper=` empties the list, no askpass program is
 *   in the environment and `GIT_TERMINAL_PROMPT=0` makes a private repository fail at once
 *   instead of waiting for a password.
 * Symlinks are checked out as symlinks (the default `core.symlinks=true`), so the tree walker can
 * note them; it never follows them, and callers resolving user-given paths use `isInside`.
 */
import { readdirSync, lstatSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GitError, GitPluginError, simpleGit } from 'simple-git';
import type { SimpleGit } from 'simple-git';
import { renderTemplate } from '../deliver/templates.js';
import { done, failed, refused } from '../outcome.js';
import type { Failed, Outcome, Refused } from '../outcome.js';
import type { Workspace } from './workspace.js';

/** Transports a fetch may use. `http` exists only for tests and is never a default. */
export type FetchProtocol = 'https' | 'file' | 'http';

/** A remote repository; the URL was validated by the request layer. */
export interface UrlSource {
  kind: 'url';
  url: string;
}

/** A local directory, accepted only from the CLI. */
export interface PathSource {
  kind: 'path';
  path: string;
}

export type RepoSource = UrlSource | PathSource;

export interface FetchOptions {
  /** Clones go into a fresh subdirectory of it; the caller removes the workspace. */
  workspace: Workspace;
  /** Branch, tag (short or `refs/heads/…`, `refs/tags/…`) or full commit SHA; default branch when absent. */
  ref?: string;
  /** Whole fetch, all git processes together. Default 120 000. */
  timeoutMs?: number;
  /** Bytes of checked-out files (`.git` excluded). Default 1 GiB. */
  maxBytes?: number;
  /** Number of checked-out files (`.git` excluded). Default 200 000. */
  maxFiles?: number;
  /** Default `['https']`. Cloning a local bare repository needs `'file'`. */
  allowedProtocols?: FetchProtocol[];
  /** GitHub installation token for private repositories; sent as a header, never stored. */
  token?: string;
  /** CA bundle to trust for https instead of the system one (tests use a self-signed server). */
  caFile?: string;
  /** Cancels the fetch (e.g. the worker is draining); reported as a retryable failure. */
  signal?: AbortSignal;
}

export interface FetchedRepo {
  /** Absolute path of the checkout (for a working tree: the directory itself). */
  dir: string;
  /** The checked-out commit; undefined for a directory that is not in a git repository. */
  commit?: string;
  /** The tree of that commit (clones only): a pull request's new tree builds on it without an API call. */
  tree?: string;
  /** The ref that was asked for, or the default branch's name when none was. */
  ref?: string;
  /** Bytes of files, `.git` excluded. */
  bytes: number;
  /** Number of files (symlinks included, `.git` excluded). */
  files: number;
  /** False when a working tree was used in place. */
  cloned: boolean;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_BYTES = 1024 ** 3;
export const DEFAULT_MAX_FILES = 200_000;
export const DEFAULT_PROTOCOLS: readonly FetchProtocol[] = ['https'];

/** The copyable example attached to a refusal about the repository URL. */
function urlExample(): string {
  return renderTemplate('repo-example-url', {});
}

/** The copyable example attached to a refusal about the ref. */
function refExample(): string {
  return renderTemplate('repo-example-ref', {});
}

interface Limits {
  timeoutMs: number;
  maxBytes: number;
  maxFiles: number;
  protocols: readonly FetchProtocol[];
}

/**
 * Brings the repository into the workspace (or points at a local working tree) and checks the
 * limits. Refused: the user can fix it (bad ref, private repository, too large). Failed: network,
 * timeout or cancellation, with `retryable` set for the queue. Throws only on bugs and on local
 * I/O errors such as a full disk.
 */
export async function fetchRepository(
  source: RepoSource,
  options: FetchOptions,
): Promise<Outcome<FetchedRepo>> {
  const limits: Limits = {
    timeoutMs: options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    maxFiles: options.maxFiles ?? DEFAULT_MAX_FILES,
    protocols: options.allowedProtocols ?? DEFAULT_PROTOCOLS,
  };
  const ref = options.ref === undefined ? undefined : normaliseRef(options.ref);
  if (ref === '' || (ref !== undefined && !isValidRefName(ref))) {
    return refused(
      'repo-ref-not-found',
      renderTemplate('repo-ref-invalid', { ref: redactSecrets(options.ref ?? '') }),
      refExample(),
    );
  }
  if (source.kind === 'path') return fetchPath(source.path, ref, options, limits);
  return fetchUrl(source.url, ref, options, limits);
}

async function fetchUrl(
  url: string,
  ref: string | undefined,
  options: FetchOptions,
  limits: Limits,
): Promise<Outcome<FetchedRepo>> {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed) {
    return refused(
      'repo-url-rejected',
      renderTemplate('repo-not-a-url', { url: redactSecrets(url) }),
      urlExample(),
    );
  }
  const protocol = parsed.protocol.replace(/:$/, '');
  if (!limits.protocols.some((allowed) => allowed === protocol)) {
    return refused(
      'repo-url-rejected',
      renderTemplate('repo-protocol-not-allowed', { url: displayUrl(url), protocol }),
      urlExample(),
    );
  }
  return cloneInto(url, ref, options, limits);
}

async function fetchPath(
  path: string,
  ref: string | undefined,
  options: FetchOptions,
  limits: Limits,
): Promise<Outcome<FetchedRepo>> {
  const dir = resolve(path);
  const stats = await stat(dir).catch(() => undefined);
  if (!stats) {
    return refused('repo-path-not-found', renderTemplate('repo-path-not-found', { dir }));
  }
  if (!stats.isDirectory()) {
    return refused('repo-path-not-found', renderTemplate('repo-path-not-directory', { dir }));
  }
  // A bare repository has no files to read, and a ref other than what is checked out must not
  // be applied to the user's own tree: both are cloned into the workspace instead.
  if (isGitDir(dir) || ref !== undefined) {
    if (!limits.protocols.includes('file')) {
      return refused(
        'repo-url-rejected',
        renderTemplate('repo-local-repository', { dir }),
        urlExample(),
      );
    }
    return cloneInto(pathToFileURL(dir).href, ref, options, limits);
  }

  const count = countFiles(dir, limits);
  const overLimit = limitRefusal(dir, count, limits);
  if (overLimit) return overLimit;
  const fetched: FetchedRepo = { dir, bytes: count.bytes, files: count.files, cloned: false };
  const deadline = startDeadline(limits.timeoutMs, options.signal);
  try {
    const git = hardenedGit(dir, gitEnvironment(options.workspace.dir), limits, deadline.signal);
    const commit = await revParse(git, 'HEAD');
    if (commit) fetched.commit = commit;
  } catch (error) {
    if (isOwnBug(error)) throw error;
    // The commit is only informative for a local tree: a stuck or cancelled rev-parse leaves
    // it out, unless the caller cancelled the whole job.
    if (deadline.cancelled()) return outcomeOfError(error, deadline, errorContext(dir, limits));
  } finally {
    deadline.dispose();
  }
  return done(fetched);
}

function errorContext(display: string, limits: Limits): ErrorContext {
  return { url: display, ref: undefined, secrets: [], limits };
}

async function cloneInto(
  url: string,
  ref: string | undefined,
  options: FetchOptions,
  limits: Limits,
): Promise<Outcome<FetchedRepo>> {
  const display = displayUrl(url);
  const auth = options.token ? authHeader(url, options.token) : undefined;
  const secrets = options.token && auth ? [options.token, auth.encoded] : [];
  const env = gitEnvironment(options.workspace.dir, auth?.config);
  const config = hardenedGitConfig(limits.protocols, options.caFile);
  const dest = await mkdtemp(join(options.workspace.dir, 'repo-'));
  const deadline = startDeadline(limits.timeoutMs, options.signal);
  let outcome: Outcome<FetchedRepo> | undefined;
  try {
    const git = hardenedGit(dest, env, limits, deadline.signal, config);
    outcome = await cloneSteps(git, { url, display, ref, dest, limits });
  } catch (error) {
    outcome = outcomeOfError(error, deadline, { url: display, ref, secrets, limits });
  } finally {
    deadline.dispose();
    // Refused, failed or thrown: nothing half-fetched stays in the workspace.
    if (outcome?.kind !== 'done') await rm(dest, { recursive: true, force: true, maxRetries: 3 });
  }
  return outcome;
}

interface CloneTarget {
  url: string;
  display: string;
  ref: string | undefined;
  dest: string;
  limits: Limits;
}

async function cloneSteps(git: SimpleGit, target: CloneTarget): Promise<Outcome<FetchedRepo>> {
  const { url, display, ref, dest, limits } = target;
  const bySha = ref !== undefined && isCommitSha(ref);
  if (bySha) {
    // `clone --branch` takes only branch and tag names; a commit is fetched by id instead.
    await git.raw(['init', '-q']);
    await git.raw(['remote', 'add', 'origin', '--', url]);
    await git.raw([
      'fetch',
      '--depth',
      '1',
      '--no-tags',
      '--no-recurse-submodules',
      '--',
      'origin',
      ref,
    ]);
  } else {
    // --no-checkout: the limits are checked on the tree listing before any file is written.
    const branch = ref === undefined ? [] : ['--branch', ref];
    await git.raw([
      'clone',
      '--depth',
      '1',
      '--single-branch',
      '--no-tags',
      '--no-recurse-submodules',
      '--no-checkout',
      ...branch,
      '--',
      url,
      '.',
    ]);
  }

  const commit = await revParse(git, bySha ? 'FETCH_HEAD' : 'HEAD');
  if (!commit) {
    return refused(
      'repo-ref-not-found',
      ref
        ? renderTemplate('repo-no-commits-at-ref', { url: display, ref })
        : renderTemplate('repo-no-commits', { url: display }),
      refExample(),
    );
  }
  const count = countTreeEntries(
    await git.raw(['ls-tree', '-r', '-l', '-z', '--full-tree', commit]),
  );
  const overLimit = limitRefusal(display, count, limits);
  if (overLimit) return overLimit;
  await git.raw(bySha ? ['checkout', '-q', '-f', '--detach', commit] : ['checkout', '-q', '-f']);
  const resolvedRef = ref ?? (await defaultBranch(git));
  const fetched: FetchedRepo = {
    dir: dest,
    commit,
    bytes: count.bytes,
    files: count.files,
    cloned: true,
  };
  if (resolvedRef) fetched.ref = resolvedRef;
  const tree = await revParse(git, commit, 'tree');
  if (tree) fetched.tree = tree;
  return done(fetched);
}

async function revParse(
  git: SimpleGit,
  name: string,
  kind: 'commit' | 'tree' = 'commit',
): Promise<string | undefined> {
  try {
    const out = (await git.raw(['rev-parse', '--verify', '-q', `${name}^{${kind}}`])).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : undefined;
  } catch (error) {
    // Only git's own "no such ref" is an answer; timeouts and guard errors are not.
    if (error instanceof GitPluginError) throw error;
    return undefined;
  }
}

async function defaultBranch(git: SimpleGit): Promise<string | undefined> {
  try {
    const out = (await git.raw(['symbolic-ref', '-q', '--short', 'HEAD'])).trim();
    return out === '' ? undefined : out;
  } catch (error) {
    // Only git's own "no such ref" is an answer; timeouts and guard errors are not.
    if (error instanceof GitPluginError) throw error;
    return undefined;
  }
}

/**
 * The `-c` settings every git command of a fetch runs with. Exported so tests can show that each
 * one does what its comment says, against real git.
 */
export function hardenedGitConfig(
  protocols: readonly FetchProtocol[] = DEFAULT_PROTOCOLS,
  caFile?: string,
): string[] {
  return [
    // Only the allowed transports, also for redirects and submodule URLs.
    'protocol.allow=never',
    ...protocols.map((protocol) => `protocol.${protocol}.allow=always`),
    // Hooks never come with a clone, but templates could supply them.
    'core.hooksPath=/dev/null',
    // No helper is asked for credentials or given the token to store.
    'credential.helper=',
    // LFS pointers stay pointers; an empty command means no filter runs.
    'filter.lfs.smudge=',
    'filter.lfs.process=',
    'filter.lfs.required=false',
    // Later git commands in the clone must not start fetching submodules either.
    'submodule.recurse=false',
    'fetch.recurseSubmodules=false',
    // Checking out a tag or a commit is expected, not advice-worthy.
    'advice.detachedHead=false',
    ...(caFile ? [`http.sslCAInfo=${caFile}`] : []),
    // `transfer.fsckObjects` stays off: old public repositories often carry fsck errors (bad
    // dates, odd modes) and would be refused; checkout rejects `.git` and `..` paths anyway.
  ];
}

interface AuthHeader {
  /** The base64 part, itself a secret to redact. */
  encoded: string;
  config: { key: string; value: string };
}

function authHeader(url: string, token: string): AuthHeader | undefined {
  if (!URL.canParse(url)) return undefined;
  const origin = new URL(url).origin;
  if (origin === 'null') return undefined;
  const encoded = Buffer.from(`x-access-token:${token}`).toString('base64');
  // Scoped to the repository's origin so a redirect elsewhere does not receive it.
  return {
    encoded,
    config: { key: `http.${origin}/.extraheader`, value: `Authorization: Basic ${encoded}` },
  };
}

const PROXY_VARIABLES = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'ALL_PROXY',
  'all_proxy',
  'NO_PROXY',
  'no_proxy',
];

/**
 * The complete environment of every git process: nothing else of ours leaks in (simple-git
 * also strips inherited GIT_* variables, such as a GIT_DIR or GIT_SSL_CAINFO of the host).
 * The token travels as GIT_CONFIG_COUNT/KEY/VALUE: like `-c` it applies to this one command and
 * is never written to `.git/config`, and unlike `-c` it does not show in `ps` to other users.
 */
export function gitEnvironment(
  home: string,
  extraConfig?: { key: string; value: string },
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    // The operator's ~/.gitconfig, ~/.git-credentials and ~/.netrc are not ours to use.
    HOME: home,
    // English messages, so classifyGitError can read them.
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_LFS_SKIP_SMUDGE: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
  for (const name of PROXY_VARIABLES) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  if (extraConfig) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = extraConfig.key;
    env.GIT_CONFIG_VALUE_0 = extraConfig.value;
  }
  return env;
}

function hardenedGit(
  baseDir: string,
  env: Record<string, string>,
  limits: Limits,
  signal: AbortSignal,
  config: string[] = hardenedGitConfig(limits.protocols),
): SimpleGit {
  return simpleGit({
    baseDir,
    maxConcurrentProcesses: 1,
    config,
    abort: signal,
    // Kills a git process that stays silent this long; the deadline covers the whole fetch.
    timeout: { block: limits.timeoutMs },
    allowEnvironment: Object.keys(env).filter((name) => name.startsWith('GIT_')),
    // simple-git refuses these settings by default because they are dangerous when a caller
    // passes user input into them. Ours are the constants above; user input (URL, ref) only
    // reaches argv as a validated positional after `--` or as a validated `--branch` value.
    unsafe: {
      allowUnsafeProtocolOverride: true, // protocol.allow=never, protocol.<allowed>.allow
      allowUnsafeHooksPath: true, // core.hooksPath=/dev/null
      allowUnsafeCredentialHelper: true, // credential.helper= (empties the list)
      allowUnsafeFilter: true, // filter.lfs.*= (disables the filter)
      allowUnsafeConfigPaths: true, // GIT_CONFIG_GLOBAL=/dev/null
      allowUnsafeConfigEnvCount: true, // GIT_CONFIG_COUNT carries the token header
    },
  }).env(env);
}

interface Deadline {
  signal: AbortSignal;
  timedOut(): boolean;
  cancelled(): boolean;
  dispose(): void;
}

function startDeadline(timeoutMs: number, external: AbortSignal | undefined): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onExternal = (): void => controller.abort();
  if (external?.aborted) controller.abort();
  external?.addEventListener('abort', onExternal, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    cancelled: () => !timedOut && external?.aborted === true,
    dispose() {
      clearTimeout(timer);
      external?.removeEventListener('abort', onExternal);
    },
  };
}

interface ErrorContext {
  url: string;
  ref: string | undefined;
  secrets: string[];
  limits: Limits;
}

function outcomeOfError(
  error: unknown,
  deadline: Deadline,
  context: ErrorContext,
): Refused | Failed {
  if (deadline.cancelled()) {
    return failed(
      'repo-clone-timeout',
      renderTemplate('repo-clone-cancelled', { url: context.url }),
      true,
    );
  }
  const blockTimeout = error instanceof GitPluginError && error.plugin === 'timeout';
  if (deadline.timedOut() || blockTimeout) {
    return failed(
      'repo-clone-timeout',
      renderTemplate('repo-clone-timeout', {
        url: context.url,
        timeout: formatSeconds(context.limits.timeoutMs),
      }),
      true,
    );
  }
  if (isOwnBug(error) || !(error instanceof GitError)) throw error;
  const gitContext: GitErrorContext = { url: context.url, secrets: context.secrets };
  if (context.ref !== undefined) gitContext.ref = context.ref;
  return classifyGitError(error.message, gitContext);
}

/** simple-git's own guards firing means our arguments are wrong: a bug, not user input. */
function isOwnBug(error: unknown): boolean {
  return (
    error instanceof GitPluginError &&
    (error.plugin === 'unsafe' || error.plugin === 'allowEnvironment')
  );
}

export interface GitErrorContext {
  /** The repository as shown to the user (no credentials). */
  url: string;
  ref?: string;
  /** Literal strings that must never appear in a message (the token and its encodings). */
  secrets?: readonly string[];
}

interface GitErrorRule {
  pattern: RegExp;
  outcome(context: GitErrorContext, detail: string): Refused | Failed;
}

/** First match wins; more specific rules come first. */
const GIT_ERROR_RULES: GitErrorRule[] = [
  {
    pattern: /transport '(?<protocol>[^']+)' not allowed/i,
    outcome: (context) =>
      refused(
        'repo-url-rejected',
        renderTemplate('repo-transport-not-allowed', { url: context.url }),
        urlExample(),
      ),
  },
  {
    pattern:
      /Remote branch .* not found|Could not find remote branch|couldn't find remote ref|not our ref|unadvertised object/i,
    outcome: (context) => refused('repo-ref-not-found', refNotFoundMessage(context), refExample()),
  },
  {
    pattern:
      /could not read (?:Username|Password)|terminal prompts disabled|Authentication failed|Repository not found|repository '[^']*' not found|returned error: 40[134]|HTTP 40[134]|does not appear to be a git repository/i,
    outcome: (context) =>
      refused(
        'repo-unreachable',
        renderTemplate('repo-not-found', { url: context.url }),
        urlExample(),
      ),
  },
  {
    pattern:
      /SSL certificate problem|server certificate verification failed|certificate verify failed|unable to get local issuer certificate/i,
    outcome: (context, detail) =>
      failed(
        'repo-unreachable',
        renderTemplate('repo-tls-failed', { host: hostOf(context.url), url: context.url, detail }),
        false,
      ),
  },
  {
    pattern:
      /Could not resolve host|Couldn't resolve|Failed to connect|Connection refused|Couldn't connect to server|Connection timed out|Operation timed out|Network is unreachable|Connection reset|early EOF|unexpected disconnect|remote end hung up|RPC failed|returned error: 5\d\d|HTTP 5\d\d/i,
    outcome: (context, detail) =>
      failed(
        'repo-unreachable',
        renderTemplate('repo-unreachable', { host: hostOf(context.url), url: context.url, detail }),
        true,
      ),
  },
];

function refNotFoundMessage(context: GitErrorContext): string {
  const { ref, url } = context;
  if (ref === undefined) return renderTemplate('repo-default-branch-not-found', { url });
  // An abbreviated SHA looks like a ref the user meant as a commit; say why it cannot work.
  return /^[0-9a-f]{7,39}$/i.test(ref)
    ? renderTemplate('repo-ref-not-found-short-sha', { ref, url })
    : renderTemplate('repo-ref-not-found', { ref, url });
}

/**
 * Turns git's stderr into a user-facing outcome. Secrets are redacted before anything is matched
 * or quoted. Unknown errors are internal failures with git's last line as the detail.
 */
export function classifyGitError(stderr: string, context: GitErrorContext): Refused | Failed {
  const text = redactSecrets(stderr, context.secrets);
  const safeContext: GitErrorContext = {
    ...context,
    url: redactSecrets(context.url, context.secrets),
  };
  const detail = summaryLine(text);
  for (const rule of GIT_ERROR_RULES) {
    if (rule.pattern.test(text)) return rule.outcome(safeContext, detail);
  }
  return failed(
    'internal',
    renderTemplate('repo-fetch-failed', { url: safeContext.url, detail }),
    false,
  );
}

/** The most telling line: git's last `fatal:`/`error:` line, else its last non-empty one. */
function summaryLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const fatal = lines.filter((line) => /^(?:fatal|error):/i.test(line)).at(-1);
  const line = fatal ?? lines.at(-1) ?? renderTemplate('repo-git-no-output', {});
  return line.replace(/^(?:fatal|error):\s*/i, '').slice(0, 300);
}

/**
 * Removes credentials from text meant for users or logs: userinfo in URLs, Authorization header
 * values, and each literal secret given.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out
    .replace(/(?<scheme>\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$<scheme>***@')
    .replace(
      /(?<header>authorization:\s*)(?<kind>(?:basic|bearer|token)\s+)?[^\s'"]+/gi,
      '$<header>$<kind>***',
    );
}

/** The URL without credentials; a file URL as its path. */
function displayUrl(url: string): string {
  if (!URL.canParse(url)) return redactSecrets(url);
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') return fileURLToPath(parsed);
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

function hostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).host || url : url;
}

/** A full SHA-1 or SHA-256 object id; abbreviations cannot be fetched by id. */
export function isCommitSha(ref: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref);
}

/** `refs/heads/x` and `refs/tags/x` become `x`, which is what `clone --branch` accepts. */
function normaliseRef(ref: string): string {
  const trimmed = ref.trim();
  const match = /^refs\/(?:heads|tags)\/(?<name>.+)$/.exec(trimmed);
  const name = match?.groups?.name ?? trimmed;
  return isCommitSha(name) ? name.toLowerCase() : name;
}

/** The rules of `git check-ref-format`, plus: no leading '-', so a ref is never an option. */
export function isValidRefName(ref: string): boolean {
  if (ref.length === 0 || ref.length > 255) return false;
  if (ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.')) {
    return false;
  }
  if (/\.\.|\/\/|@\{|[\p{Cc}\s~^:?*[\\]/u.test(ref) || ref === '@') return false;
  return ref.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

interface FileCount {
  files: number;
  bytes: number;
  /** False when counting stopped early because a limit was already exceeded. */
  complete: boolean;
}

/** Counts blobs (files and symlinks; not submodule gitlinks) in `ls-tree -r -l -z` output. */
function countTreeEntries(listing: string): FileCount {
  let files = 0;
  let bytes = 0;
  for (const record of listing.split('\0')) {
    const match = /^\d+ (?<type>\w+) [0-9a-f]+ +(?<size>\d+|-)\t/.exec(record);
    if (match?.groups?.type !== 'blob') continue;
    files++;
    bytes += Number(match.groups.size) || 0;
  }
  return { files, bytes, complete: true };
}

/**
 * Counts a working tree on disk, `.git` excluded, without following symlinks. Synchronous: this
 * path is only taken by the CLI. Stops as soon as a limit is exceeded, so a huge tree costs no
 * more than the limit.
 */
function countFiles(root: string, limits: Limits): FileCount {
  let files = 0;
  let bytes = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        stack.push(path);
        continue;
      }
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      files++;
      try {
        bytes += lstatSync(path).size;
      } catch {
        // vanished while counting: the walker will not see it either
      }
      if (files > limits.maxFiles || bytes > limits.maxBytes) {
        return { files, bytes, complete: false };
      }
    }
  }
  return { files, bytes, complete: true };
}

function limitRefusal(display: string, count: FileCount, limits: Limits): Refused | undefined {
  // A count that stopped early is a lower bound: "more than N".
  const atLeast = (amount: string): string =>
    count.complete ? amount : renderTemplate('repo-more-than', { count: amount });
  if (count.files > limits.maxFiles) {
    return refused(
      'repo-too-many-files',
      renderTemplate('repo-too-many-files', {
        url: display,
        files: atLeast(String(count.files)),
        maxFiles: String(limits.maxFiles),
      }),
    );
  }
  if (count.bytes > limits.maxBytes) {
    return refused(
      'repo-too-large',
      renderTemplate('repo-too-large', {
        url: display,
        size: atLeast(formatBytes(count.bytes)),
        bytes: String(count.bytes),
        maxSize: formatBytes(limits.maxBytes),
        maxBytes: String(limits.maxBytes),
      }),
    );
  }
  return undefined;
}

/** A directory that is itself a git directory (bare repository or a `.git` folder). */
function isGitDir(dir: string): boolean {
  try {
    return (
      lstatSync(join(dir, 'HEAD')).isFile() &&
      lstatSync(join(dir, 'objects')).isDirectory() &&
      lstatSync(join(dir, 'refs')).isDirectory()
    );
  } catch {
    return false;
  }
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
