/**
 * From what a user typed (a URL, or a local path from the CLI) to RepoFacts: validate, fetch into a
 * per-job workspace, analyse, and always remove the workspace.
 */
import { renderTemplate } from '../deliver/templates.js';
import { refused, done, type Outcome } from '../outcome.js';
import { DEFAULT_ALLOWED_HOSTS, validateRepoUrl } from '../request/validate-repo-url.js';
import { fetchRepository, type FetchOptions } from './clone.js';
import { analyzeRepo } from './index.js';
import type { RepoFacts } from './schema.js';
import { readRepoFile } from './tree.js';
import { withWorkspace } from './workspace.js';

export interface AnalyzeSourceOptions {
  ref?: string;
  paths?: string[];
  allowedHosts?: string[];
  /** Local paths are accepted only from the CLI. */
  allowLocalPath: boolean;
  /** Passed through to the clone (timeouts, size limits, CA, protocols for tests). */
  fetch?: Omit<FetchOptions, 'workspace' | 'ref'>;
  workspaceDir?: string;
  /**
   * Where to clone from, when it differs from what the user typed: the GitHub API's `clone_url`
   * of a repository the user named (GitHub Enterprise, tests). `input` is still validated.
   */
  cloneUrl?: string;
  /** Told when the fetch starts and when the analysis starts, for progress reports. */
  onStage?: (stage: 'cloning' | 'analysing') => void;
}

export async function analyzeSource(
  input: string,
  options: AnalyzeSourceOptions,
): Promise<Outcome<RepoFacts>> {
  return withAnalyzedSource(input, options, async ({ facts }) => done(facts));
}

/** A checked-out, analysed repository, alive while the callback runs. */
export interface AnalyzedSource {
  facts: RepoFacts;
  /** Absolute path of the checkout. */
  dir: string;
  /** Reads a repository-relative text file of the checkout; undefined when absent or unreadable. */
  readFile(path: string): string | undefined;
  /** The checked-out commit's tree, for clones. */
  tree?: string;
}

/**
 * Like analyzeSource, but runs `use` while the checkout still exists (later stages read the
 * repository config and the files they patch), then removes the workspace.
 */
export async function withAnalyzedSource<T>(
  input: string,
  options: AnalyzeSourceOptions,
  use: (source: AnalyzedSource) => Promise<Outcome<T>>,
): Promise<Outcome<T>> {
  const target = validateRepoUrl(input, {
    allowedHosts: options.allowedHosts ?? [...DEFAULT_ALLOWED_HOSTS],
    allowLocalPath: options.allowLocalPath,
  });
  if (target.kind === 'rejected') {
    return refused(
      'repo-url-rejected',
      renderTemplate('repo-source-rejected', {
        input: JSON.stringify(input),
        reason: target.reason,
      }),
    );
  }
  const source =
    target.kind === 'url'
      ? { kind: 'url' as const, url: options.cloneUrl ?? target.url }
      : { kind: 'path' as const, path: target.path };
  const protocols: NonNullable<FetchOptions['allowedProtocols']> =
    options.fetch?.allowedProtocols ?? (target.kind === 'path' ? ['https', 'file'] : ['https']);

  return withWorkspace(
    async (workspace) => {
      options.onStage?.('cloning');
      const fetched = await fetchRepository(source, {
        ...options.fetch,
        allowedProtocols: protocols,
        workspace,
        ...(options.ref === undefined ? {} : { ref: options.ref }),
      });
      if (fetched.kind !== 'done') return fetched;
      options.onStage?.('analysing');
      const facts = analyzeRepo(fetched.value.dir, {
        source: input,
        ...(fetched.value.ref === undefined ? {} : { ref: fetched.value.ref }),
        ...(fetched.value.commit === undefined ? {} : { commit: fetched.value.commit }),
        ...(options.paths === undefined ? {} : { paths: options.paths }),
      });
      const dir = fetched.value.dir;
      return use({
        facts,
        dir,
        readFile: (path) => readRepoFile(dir, path),
        ...(fetched.value.tree === undefined ? {} : { tree: fetched.value.tree }),
      });
    },
    options.workspaceDir === undefined ? {} : { baseDir: options.workspaceDir },
  );
}
