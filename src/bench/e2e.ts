/**
 * `bench:e2e`: comment-to-pull-request wall time on the example monorepo (offline reasoner) and
 * GitHub API calls per request, with `ai-provision serve` as a real process, a git server and a
 * fake GitHub API on loopback. Each run uses its own repository so every run opens a new pull
 * request; a last run repeats a request to measure an update.
 */
import { join } from 'node:path';
import { done, type Outcome } from '../outcome.js';
import { formatTable } from '../render/repo-table.js';
import { filesOf, startAppHarness, type AppHarness } from './app-harness.js';
import type { FakeGitHubCall } from './fake-github-api.js';
import { median, publish } from './results.js';

export interface E2eBenchOptions {
  runs: number;
  record: boolean;
}

/**
 * Pause between runs so the App's GitHub write bucket (src/scm/throttle.ts) is full again: each
 * run measures a request that does not arrive on the heels of another one from the same
 * installation. Back-to-back requests are paced to ≤ 60 writes a minute by design.
 */
const REFILL_PAUSE_MS = 16_000;

const DESCRIPTION =
  'Online shop: Go orders API, Spring Boot inventory, Next.js storefront; 2k QPS peak, 99.95% availability, PostgreSQL, Kafka, Redis';

/** Which part of the work a GitHub API call served. */
export function callKind(call: Pick<FakeGitHubCall, 'method' | 'path'>): string {
  const p = call.path;
  if (p.includes('/access_tokens')) return 'auth';
  if (/\/git\/|\/pulls|\/labels$/.test(p)) return 'pull request';
  if (/\/comments|\/reactions|\/check-runs|^\/graphql/.test(p)) return 'progress';
  return 'checks'; // config, permission, repository lookups
}

interface RunFigures {
  run: string;
  ms: number;
  calls: FakeGitHubCall[];
}

function requestBody(owner: string, repo: string): string {
  return [
    '/ai-provision',
    '',
    `git_repo: "https://github.com/${owner}/${repo}"`,
    `app_description: "${DESCRIPTION}"`,
  ].join('\n');
}

async function oneRun(
  h: AppHarness,
  repo: string,
  label: string,
  issueNumber: number,
): Promise<RunFigures> {
  const start = h.github.calls.length;
  const t0 = performance.now();
  await h.comment({
    owner: 'acme',
    repo,
    body: requestBody('acme', repo),
    login: 'alice',
    issueNumber,
  });
  await h.waitFor(
    () =>
      h.github.comments.find(
        (c) => c.repo === repo && c.issueNumber === issueNumber && /\/pull\/\d+/.test(c.body),
      ),
    120_000,
    `the pull request of ${label}`,
  );
  const ms = performance.now() - t0;
  // The job has ended; wait a moment for nothing, so late calls would still be counted.
  await new Promise((r) => setTimeout(r, 200));
  return { run: label, ms, calls: h.github.calls.slice(start) };
}

export async function runE2eBench(options: E2eBenchOptions): Promise<Outcome<void>> {
  const files = filesOf(join(process.cwd(), 'examples', 'shop-monorepo'));
  const repos = Array.from({ length: options.runs + 1 }, (_, i) => `shop-${i}`);
  const h = await startAppHarness({
    repos: repos.map((repo) => ({
      owner: 'acme',
      repo,
      // One file differs so each copy has its own commit, as separate repositories would.
      files: { ...files, 'COPY.txt': `${repo}\n` },
      permissions: { alice: 'write' },
      issues: [1, 2],
    })),
  });
  const results: RunFigures[] = [];
  try {
    // One unmeasured warm-up: the first job loads the knowledge index in the server.
    await oneRun(h, repos[0]!, 'warm-up', 1);
    for (const repo of repos.slice(1)) {
      await new Promise((r) => setTimeout(r, REFILL_PAUSE_MS));
      results.push(await oneRun(h, repo, `new PR (${repo})`, 1));
    }
    await new Promise((r) => setTimeout(r, REFILL_PAUSE_MS));
    results.push(await oneRun(h, repos[1]!, `update PR (${repos[1]})`, 2));
  } finally {
    await h.close();
  }

  const kinds = ['checks', 'progress', 'pull request', 'auth'];
  const rows = results.map((r) => [
    r.run,
    `${Math.round(r.ms)}`,
    `${r.calls.length}`,
    ...kinds.map((k) => `${r.calls.filter((c) => callKind(c) === k).length}`),
  ]);
  const created = results.filter((r) => r.run.startsWith('new'));
  const perPr = created.map((r) => r.calls.filter((c) => callKind(c) === 'pull request').length);
  const total = created.map((r) => r.calls.length);
  const table = formatTable(
    ['run', 'comment → PR ms', 'API calls', ...kinds.map((k) => `${k} calls`)],
    rows,
  );
  publish(
    {
      name: 'bench:e2e',
      command: `npm run bench:e2e -- --runs ${options.runs}`,
      table,
      notes: [
        'ai-provision serve (child process, offline reasoner) ← signed webhooks; clones over https from a loopback git server; GitHub API = loopback fake recording every call.',
        'Time: from sending the comment webhook until the status comment links the pull request. Each "new PR" run sizes its own copy of examples/shop-monorepo; "update PR" repeats the first request.',
        `Runs are ${REFILL_PAUSE_MS / 1000} s apart so the per-installation GitHub write bucket (15 at once, then 1/s) is full; back-to-back requests are paced by it.`,
        '"pull request" calls are the git data API + pulls + labels; "progress" = reaction, status comment and its edits; "checks" = config file, permission; "auth" = installation token.',
      ],
      headline: {
        comment_to_pr_median_ms: Math.round(median(created.map((r) => r.ms))),
        comment_to_pr_update_ms: Math.round(results.at(-1)!.ms),
        pr_api_calls_median: median(perPr),
        api_calls_per_request_median: median(total),
        runs: created.length,
      },
    },
    options.record,
  );
  return done(undefined);
}
