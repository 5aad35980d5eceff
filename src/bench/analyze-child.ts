/**
 * One measured analysis in a fresh process, so peak RSS belongs to this run alone.
 * Usage: node dist/bench/analyze-child.js <path-or-url>; prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
import { analyzeSource } from '../repo/analyze-source.js';

const target = process.argv[2];
if (target === undefined) {
  process.stderr.write('usage: analyze-child <path-or-url>\n');
  process.exit(2);
}
const started = performance.now();
const outcome = await analyzeSource(target, { allowLocalPath: true });
const ms = performance.now() - started;
if (outcome.kind !== 'done') {
  process.stderr.write(`${outcome.code}: ${outcome.userMessage}\n`);
  process.exit(1);
}
process.stdout.write(
  `${JSON.stringify({
    ms,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    files: outcome.value.stats.files,
    services: outcome.value.services.length,
    endpoints: outcome.value.services.reduce((n, s) => n + s.endpoints.length, 0),
    deployments: outcome.value.deployments.length,
  })}\n`,
);
