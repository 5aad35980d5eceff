/**
 * Shared benchmark output: a table on stdout, the headline `name=value` lines last, and the same
 * figures appended to bench/RESULTS.md with date, commit and machine.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function currentCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? sha : `${sha}+dirty`;
  } catch {
    return 'unknown';
  }
}

export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
}

export interface BenchReport {
  name: string;
  command: string;
  table: string;
  headline: Record<string, string | number>;
  notes?: string[];
}

/** Prints the report (headline lines last) and appends it to bench/RESULTS.md unless told not to. */
export function publish(report: BenchReport, record: boolean): void {
  const headline = Object.entries(report.headline).map(([k, v]) => `${k}=${v}`);
  process.stdout.write(
    `${report.table}\n\n${(report.notes ?? []).join('\n')}${report.notes?.length ? '\n\n' : ''}${headline.join('\n')}\n`,
  );
  if (!record) return;
  if (!existsSync(RESULTS_FILE))
    writeFileSync(
      RESULTS_FILE,
      '# Benchmark results\n\nAppended by `npm run bench:*`; newest last.\n',
    );
  const section = [
    '',
    `## ${report.name} — ${new Date().toISOString()}`,
    '',
    `- command: \`${report.command}\``,
    `- commit: ${currentCommit()}`,
    `- machine: ${machine()}`,
    ...(report.notes ?? []).map((n) => `- ${n}`),
    '',
    '```text',
    report.table,
    '```',
    '',
    '```text',
    ...headline,
    '```',
    '',
  ].join('\n');
  appendFileSync(RESULTS_FILE, section);
}
