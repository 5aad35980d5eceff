/**
 * What a command runner is given: the event, as typed values taken from the webhook, and the
 * adapters app.ts built. Runners never read the raw payload or build clients themselves.
 */
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config.js';
import type { Queue } from '../pool/index.js';
import type { Command } from '../request/index.js';
import type { RepoName, ScmClient } from '../scm/index.js';
import type { JobThread, Store } from '../store/index.js';

/** The repository a comment was posted in, as the webhook describes it (no API call needed). */
export interface EventRepository extends RepoName {
  defaultBranch: string;
  private: boolean;
  cloneUrl: string;
  htmlUrl: string;
}

/** A `/ai-provision` comment, after the payload was checked. */
export interface CommentEvent {
  deliveryId: string;
  installationId: number;
  repository: EventRepository;
  thread: JobThread;
  comment: { id: number; body: string };
  sender: { login: string; type: string };
}

export interface AppSettings {
  /** Host `git_repo` must be on: github.com or a GitHub Enterprise host. */
  githubHost: string;
  /** Base URL for links to docs/errors.md. */
  docsUrl: string;
  /** Coalescing interval of progress edits. */
  statusEditMs: number;
  /** CA bundle for clones, when the git host uses a private CA. */
  gitCaFile?: string;
}

export interface CommandDeps {
  /** The client of the installation the event came from. */
  scm: ScmClient;
  store: Store;
  /** Where accepted jobs wait for a runner; runners find the job's handler by its kind. */
  queue: Queue;
  settings: AppSettings;
  log: Logger;
}

/** One runner per subcommand (Atlantis CommentCommandRunnerByCmd). */
export type CommandRunner = (
  command: Command,
  event: CommentEvent,
  config: ResolvedConfig,
  deps: CommandDeps,
) => Promise<void>;
