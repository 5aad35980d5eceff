/**
 * `npm run bench:analyze`: wall time and peak RSS of repository analysis on a generated monorepo and
 * on the examples, and the whole `ai-provision analyze <repo>` (clone + analysis) against a plain
 * `git clone --depth 1` of the same repository, measured alternately in one run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../render/repo-table.js';
import { generateMonorepo } from './generate-monorepo.js';
import { median, publish } from './results.js';

const CHILD = fileURLToPath(new URL('./analyze-child.js', import.meta.url));
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));

interface ChildResult {
  ms: number;
  maxRssMiB: number;
  files: number;
  services: number;
  endpoints: number;
  deployments: number;
}

function runChild(target: string): ChildResult {
  const out = execFileSync(process.execPath, [CHILD, target], {
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
  });
  return JSON.parse(out) as ChildResult;
}

function timed(command: string, args: string[]): number {
  const started = performance.now();
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

interface Row {
  subject: string;
  files: number;
  services: number;
  ms: number[];
  rss: number[];
}

function measure(subject: string, target: string, runs: number): Row {
  const results = Array.from({ length: runs }, () => runChild(target));
  const first = results[0]!;
  return {
    subject,
    files: first.files,
    services: first.services,
    ms: results.map((r) => r.ms),
    rss: results.map((r) => r.maxRssMiB),
  };
}

export async function runAnalyzeBench(options: {
  files: number;
  services: number;
  runs: number;
  record: boolean;
}): Promise<void> {
  const base = join(tmpdir(), 'ai-provision-bench');
  process.stderr.write(
    `generating a ${options.files}-file monorepo with ${options.services} services under ${base} …\n`,
  );
  const repo = generateMonorepo(base, options.files, options.services);

  const rows: Row[] = [];
  for (const example of readdirSync(EXAMPLES).sort()) {
    const path = join(EXAMPLES, example);
    if (statSync(path).isDirectory()) rows.push(measure(`examples/${example}`, path, options.runs));
  }
  const big = measure(`generated monorepo (working tree)`, repo.dir, options.runs);
  rows.push(big);

  // Clone + analysis through the CLI, alternating with plain git clones of the same bare repository.
  const cloneMs: number[] = [];
  const analyzeUrlMs: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const dest = mkdtempSync(join(tmpdir(), 'aip-bench-clone-'));
    try {
      cloneMs.push(
        timed('git', [
          'clone',
          '-q',
          '--depth',
          '1',
          '--no-tags',
          `file://${repo.bare}`,
          join(dest, 'r'),
        ]),
      );
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
    analyzeUrlMs.push(timed(process.execPath, [CLI, 'analyze', repo.bare, '--json']));
  }
  const viaClone = measure(
    'generated monorepo (clone + analysis, in-process)',
    repo.bare,
    options.runs,
  );
  rows.push(viaClone);

  const table = formatTable(
    ['SUBJECT', 'FILES', 'SERVICES', 'MEDIAN ms', 'MIN ms', 'MAX ms', 'PEAK RSS MiB'],
    [
      ...rows.map((r) => [
        r.subject,
        String(r.files),
        String(r.services),
        median(r.ms).toFixed(0),
        Math.min(...r.ms).toFixed(0),
        Math.max(...r.ms).toFixed(0),
        Math.max(...r.rss).toFixed(0),
      ]),
      [
        'git clone --depth 1 (plain)',
        String(repo.files),
        '-',
        median(cloneMs).toFixed(0),
        Math.min(...cloneMs).toFixed(0),
        Math.max(...cloneMs).toFixed(0),
        '-',
      ],
      [
        'ai-provision analyze <bare repo> (CLI process)',
        String(repo.files),
        '-',
        median(analyzeUrlMs).toFixed(0),
        Math.min(...analyzeUrlMs).toFixed(0),
        Math.max(...analyzeUrlMs).toFixed(0),
        '-',
      ],
    ],
  );
  const examplesMax = Math.max(
    ...rows.filter((r) => r.subject.startsWith('examples/')).map((r) => median(r.ms)),
  );
  publish(
    {
      name: 'bench:analyze',
      command: `npm run bench:analyze -- --files ${options.files} --services ${options.services} --runs ${options.runs}`,
      table,
      notes: [
        `runs per row: ${options.runs}; medians; peak RSS is the analysing process's maxRSS (Node baseline included)`,
        'clone comparison: the CLI clones the generated bare repository through file:// with the same shallow options it uses for https, so both sides use the same transport',
      ],
      headline: {
        analyze_20k_median_ms: median(big.ms).toFixed(0),
        analyze_20k_peak_rss_mib: Math.max(...big.rss).toFixed(0),
        analyze_examples_max_median_ms: examplesMax.toFixed(0),
        clone_plus_analyze_peak_rss_mib: Math.max(...viaClone.rss).toFixed(0),
        plain_clone_median_ms: median(cloneMs).toFixed(0),
        analyze_url_median_ms: median(analyzeUrlMs).toFixed(0),
        analyze_url_vs_clone_ratio: (median(analyzeUrlMs) / median(cloneMs)).toFixed(2),
      },
    },
    options.record,
  );
}
