/**
 * `ai-provision status`: what the bot's store says about recent jobs, read straight from the same
 * database `serve` writes (SQLite in the data directory, or PostgreSQL with DATABASE_URL), so it
 * works while the bot runs and after it stopped. Formatting is pure; the command opens the store,
 * prints and closes it.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { defaultDataDir, openStore } from './store/open.js';
import {
  JOB_STATES,
  type ApprovalRecord,
  type Checkpoint,
  type JobRecord,
  type JobState,
} from './store/store.js';
import { errorText } from './outcome.js';

export const DEFAULT_STATUS_LIMIT = 20;
export const MAX_STATUS_LIMIT = 1_000;

/** Error text longer than this is cut in the table (the full text is in --job and --json). */
const ERROR_WIDTH = 60;

export interface StatusDeps {
  /** Opens the store; the real one by default (tests pass one over a memory store). */
  openStore?: typeof openStore;
  /** Where DATABASE_URL and AI_PROVISION_DATA_DIR are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Standard output; process.stdout by default. */
  out?: (s: string) => void;
  /** Standard error, for error messages; process.stderr by default. */
  err?: (s: string) => void;
  /** Clock for the AGE column; the system clock by default. */
  now?: () => Date;
}

/** One job in detail: `status --job <id>`. */
export interface JobDetail {
  job: JobRecord;
  /** Stages saved for the job, oldest first; values are left out (they can be large). */
  checkpoints: Pick<Checkpoint, 'stage' | 'savedAt'>[];
  approvals: ApprovalRecord[];
}

export type ParsedStates =
  { kind: 'ok'; states: JobState[] } | { kind: 'invalid'; message: string };

/** `--state queued,running` → the states, deduplicated; every unknown name is reported. */
export function parseStates(value: string): ParsedStates {
  const names = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const known: readonly string[] = JOB_STATES;
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    const got = names.length === 0 ? 'an empty list' : unknown.map((u) => `"${u}"`).join(', ');
    return {
      kind: 'invalid',
      message: `expected job states from ${JOB_STATES.join(', ')} (comma-separated, e.g. --state queued,running), got ${got}`,
    };
  }
  return { kind: 'ok', states: [...new Set(names)] as JobState[] };
}

/** `--limit 50` → 50; whole numbers from 1 to MAX_STATUS_LIMIT. */
export function parseLimit(value: string): number | undefined {
  if (!/^\d{1,7}$/.test(value.trim())) return undefined;
  const limit = Number(value.trim());
  return limit >= 1 && limit <= MAX_STATUS_LIMIT ? limit : undefined;
}

/**
 * Elapsed time the way kubectl prints AGE (k8s.io/apimachinery duration.HumanDuration): precise
 * when short, coarser as it grows ("45s", "5m30s", "3h12m", "2d4h", "40d", "2y3d").
 */
export function humanAge(ms: number): string {
  const secondsTotal = Math.floor(ms / 1000);
  // More than a second in the future: the clocks disagree, say so rather than invent an age.
  if (secondsTotal < -1) return '<invalid>';
  if (secondsTotal < 0) return '0s';
  if (secondsTotal < 120) return `${secondsTotal}s`;
  const minutes = Math.floor(secondsTotal / 60);
  if (minutes < 10) return withRest(`${minutes}m`, secondsTotal % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return withRest(`${hours}h`, minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return withRest(`${days}d`, hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return withRest(`${years}y`, days % 365, 'd');
  return `${years}y`;
}

function withRest(head: string, rest: number, unit: string): string {
  return rest === 0 ? head : `${head}${rest}${unit}`;
}

/**
 * One line of plain text from a stored value: error messages and stage names can carry
 * newlines, or escape sequences from a repository's content that would repaint the terminal.
 */
function cell(value: string): string {
  return (
    value
      // ESC [ … final byte (or the one-byte CSI): an ANSI control sequence, dropped whole.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]/g, '')
      // Other control characters, and the bidirectional overrides of "Trojan Source".
      .replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

function truncate(value: string, width: number): string {
  const chars = [...value];
  return chars.length <= width ? value : `${chars.slice(0, width - 1).join('')}…`;
}

function age(iso: string, now: Date): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '?' : humanAge(now.getTime() - at);
}

function prOrError(job: JobRecord): string {
  if (job.pullRequest !== undefined) return job.pullRequest.url;
  if (job.error !== undefined)
    return truncate(cell(`${job.error.code}: ${job.error.message}`), ERROR_WIDTH);
  return '-';
}

const COLUMNS = [
  'JOB',
  'STATE',
  'STAGE',
  'REPO@BRANCH',
  'LABEL',
  'ATTEMPTS',
  'AGE',
  'PR/ERROR',
] as const;

/** kubectl-style plain columns, in the order given (newest first from the store); a header line, no borders. */
export function formatJobsTable(jobs: JobRecord[], now: Date): string {
  const rows: string[][] = [
    [...COLUMNS],
    ...jobs.map((job) =>
      [
        job.id,
        job.state,
        job.stage ?? '-',
        job.lockKey,
        job.label,
        String(job.attempts),
        age(job.createdAt, now),
        prOrError(job),
      ].map((v) => cell(v) || '-'),
    ),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows
    .map((row) =>
      row
        .map((v, i) =>
          i === row.length - 1 ? v : v + ' '.repeat((widths[i] ?? 0) - [...v].length),
        )
        .join('   ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** " on owner/repo#12", " on owner/repo" or nothing. */
function originPlace(origin: JobRecord['request']['origin']): string {
  if (origin.repository === undefined) return '';
  const issue = origin.issueNumber === undefined ? '' : `#${origin.issueNumber}`;
  return ` on ${origin.repository}${issue}`;
}

/** `status --job <id>`: one "Field: value" line each, then the checkpoints and approvals. */
export function formatJobDetail(detail: JobDetail, now: Date): string {
  const { job } = detail;
  const { origin } = job.request;
  const fields: [string, string | undefined][] = [
    ['Job', job.id],
    ['State', job.state],
    ['Stage', job.stage],
    ['Kind', job.kind],
    ['Label', job.label],
    ['Priority', job.priority],
    ['Attempts', String(job.attempts)],
    ['Runner', job.runner],
    ['Repository', job.lockKey],
    ['Source', job.request.gitRepo],
    ['Target', job.request.target],
    ['Requested by', `${origin.requestedBy} (${origin.kind}${originPlace(origin)})`],
    [
      'Thread',
      job.thread === undefined
        ? undefined
        : `${job.thread.owner}/${job.thread.repo}#${job.thread.issueNumber}${job.thread.isPullRequest ? ' (pull request)' : ''}`,
    ],
    ['Created', `${job.createdAt} (${age(job.createdAt, now)} ago)`],
    ['Started', job.startedAt],
    ['Finished', job.finishedAt],
    ['Updated', job.updatedAt],
    [
      'Pull request',
      job.pullRequest === undefined
        ? undefined
        : `#${job.pullRequest.number} ${job.pullRequest.url}`,
    ],
    ['Error', job.error === undefined ? undefined : `${job.error.code}: ${job.error.message}`],
  ];
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(...shown.map(([name]) => name.length)) + 2;
  const lines = shown.map(([name, value]) => `${`${name}:`.padEnd(width)}${cell(value)}`);

  lines.push('Checkpoints:');
  if (detail.checkpoints.length === 0) lines.push('  (none)');
  for (const c of detail.checkpoints) lines.push(`  ${cell(c.stage)}   ${c.savedAt}`);
  lines.push('Approvals:');
  if (detail.approvals.length === 0) lines.push('  (none)');
  for (const a of detail.approvals) {
    const reason = a.reason === undefined ? '' : `: ${a.reason}`;
    lines.push(`  ${cell(`${a.decision} by ${a.by} at ${a.at}${reason}`)}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}

function states(value: string): JobState[] {
  const parsed = parseStates(value);
  if (parsed.kind === 'invalid') throw new InvalidArgumentError(parsed.message);
  return parsed.states;
}

function limit(value: string): number {
  const parsed = parseLimit(value);
  if (parsed === undefined)
    throw new InvalidArgumentError(
      `expected a whole number from 1 to ${MAX_STATUS_LIMIT}, got ${JSON.stringify(value)}`,
    );
  return parsed;
}

interface StatusOptions {
  limit: number;
  state?: JobState[];
  json?: boolean;
  job?: string;
}

async function runStatus(opts: StatusOptions, deps: Required<StatusDeps>): Promise<number> {
  const databaseUrl = deps.env.DATABASE_URL?.trim();
  const open = deps.openStore;
  let opened: Awaited<ReturnType<typeof open>>;
  try {
    opened = await open({
      ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
      // defaultDataDir prefers AI_PROVISION_DATA_DIR (and ignores a blank one).
      dataDir: defaultDataDir(deps.env),
    });
  } catch (error) {
    deps.err(`error: ${errorText(error)}\n`);
    return 1;
  }
  const where = opened.kind === 'sqlite' ? opened.path : 'PostgreSQL (DATABASE_URL)';
  const { store } = opened;

  try {
    if (opts.job !== undefined) {
      const job = await store.getJob(opts.job);
      if (job === undefined) {
        deps.err(`error: no job ${JSON.stringify(opts.job)} in ${where}.\n`);
        return 1;
      }
      const detail: JobDetail = {
        job,
        checkpoints: (await store.checkpoints(job.id)).map(({ stage, savedAt }) => ({
          stage,
          savedAt,
        })),
        approvals: await store.approvalsFor(job.id),
      };
      deps.out(
        opts.json ? `${JSON.stringify(detail, null, 2)}\n` : formatJobDetail(detail, deps.now()),
      );
      return 0;
    }

    const jobs = await store.recentJobs(opts.limit, opts.state);
    if (opts.json) deps.out(`${JSON.stringify(jobs, null, 2)}\n`);
    else if (jobs.length > 0) deps.out(formatJobsTable(jobs, deps.now()));
    else if (opts.state !== undefined)
      deps.out(`No ${opts.state.join(' or ')} jobs in ${where}.\n`);
    else deps.out(`No jobs yet in ${where}.\n`);
    return 0;
  } catch (error) {
    deps.err(`error: could not read jobs from ${where}: ${errorText(error)}\n`);
    return 1;
  } finally {
    await store.close().catch((error: unknown) => {
      deps.err(`warning: could not close ${where}: ${errorText(error)}\n`);
    });
  }
}

export function registerStatusCommand(program: Command, deps: StatusDeps = {}): void {
  const resolved: Required<StatusDeps> = {
    openStore: deps.openStore ?? openStore,
    env: deps.env ?? process.env,
    out: deps.out ?? ((s) => void process.stdout.write(s)),
    err: deps.err ?? ((s) => void process.stderr.write(s)),
    now: deps.now ?? ((): Date => new Date()),
  };
  program
    .command('status')
    .description(
      'List recent jobs from the store (SQLite in the data directory, or PostgreSQL with DATABASE_URL), or one job in detail.',
    )
    .option(
      '--limit <n>',
      `newest jobs to list (1–${MAX_STATUS_LIMIT})`,
      limit,
      DEFAULT_STATUS_LIMIT,
    )
    .option(
      '--state <states>',
      `only these states, comma-separated: ${JOB_STATES.join(', ')}`,
      states,
    )
    .option('--json', 'print JobRecord JSON instead of a table')
    .option('--job <id>', 'one job in detail: its record, checkpointed stages and approvals')
    .action(async (opts: StatusOptions) => {
      process.exitCode = await runStatus(opts, resolved);
    });
}
