#!/usr/bin/env node
/**
 * Entry point: `ai-provision <command>`. Parses arguments, builds adapters, prints; no logic here.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runAccuracyBench } from './bench/accuracy.js';
import { runAnalyzeBench } from './bench/analyze.js';
import { runAutoscaleBench } from './bench/autoscale.js';
import { runE2eBench } from './bench/e2e.js';
import { runLlmBench } from './bench/llm.js';
import { runPoolBench } from './bench/pool.js';
import { readProxmoxSettings } from './proxmox/settings.js';
import { docsAnchor, type Outcome, errorText } from './outcome.js';
import { analyzeSource } from './repo/analyze-source.js';
import { formatRepoFacts } from './render/repo-table.js';
import { registerActionCommand } from './cli-action.js';
import { positiveInt, unusableSettings } from './cli-args.js';
import { registerPlanCommands } from './cli-plan.js';
import { registerRunnersCommand } from './cli-runners.js';
import { registerStatusCommand } from './cli-status.js';
import { readServerSettings, readWorkerSettings } from './env.js';
import { KNOWN_LABELS, parseLabels } from './pool/index.js';
import { startServer, startSetup } from './serve.js';
import { startWorker } from './worker.js';

function list(value: string, previous: string[] = []): string[] {
  const items = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (items.length === 0)
    throw new InvalidArgumentError('expected a comma-separated list, got an empty value');
  return [...previous, ...items];
}

/** Prints a Refused/Failed the same way for every command; returns the exit code. */
function report<T>(outcome: Outcome<T>): number {
  if (outcome.kind === 'done') return 0;
  process.stderr.write(`error [${outcome.code}]: ${outcome.userMessage}\n`);
  if (outcome.kind === 'refused' && outcome.example !== undefined)
    process.stderr.write(`\n${outcome.example}\n`);
  process.stderr.write(`see ${docsAnchor(outcome.code)}\n`);
  return outcome.kind === 'refused' ? 2 : 1;
}

const program = new Command()
  .name('ai-provision')
  .description('Size and provision workloads for Kubernetes and Proxmox, explaining every number.')
  .showHelpAfterError();

program
  .command('analyze')
  .description(
    'Read a repository (https URL or local path) and print what it holds: services, stacks, hints, manifests.',
  )
  .argument('<repo>', 'https URL of a git repository, or a local path')
  .option('--json', 'print RepoFacts as JSON instead of tables')
  .option('--ref <ref>', 'branch, tag or commit to read (default branch when absent)')
  .option('--paths <paths>', 'only these service paths, comma-separated', list)
  .option(
    '--allowed-host <host>',
    'also accept git URLs on this host (repeatable; default github.com)',
    list,
  )
  .action(
    async (
      repo: string,
      opts: { json?: boolean; ref?: string; paths?: string[]; allowedHost?: string[] },
    ) => {
      const outcome = await analyzeSource(repo, {
        allowLocalPath: true,
        ...(opts.ref === undefined ? {} : { ref: opts.ref }),
        ...(opts.paths === undefined ? {} : { paths: opts.paths }),
        ...(opts.allowedHost === undefined
          ? {}
          : { allowedHosts: ['github.com', ...opts.allowedHost] }),
      });
      if (outcome.kind === 'done') {
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(outcome.value, null, 2)}\n`
            : formatRepoFacts(outcome.value),
        );
      }
      process.exitCode = report(outcome);
    },
  );

registerPlanCommands(program, { list, report });
registerActionCommand(program, { report });

program
  .command('serve')
  .description(
    'Run the GitHub App: receive webhooks, answer /ai-provision comments and repository_dispatch with pull requests.',
  )
  .action(async () => {
    const settings = readServerSettings(process.env);
    if (settings.kind === 'invalid') {
      process.stderr.write(unusableSettings('server', settings.problems, 'Running the GitHub App'));
      process.exitCode = 2;
      return;
    }
    if (settings.kind === 'setup') {
      process.stderr.write(
        'No APP_ID / PRIVATE_KEY: starting the App registration page (Probot manifest flow from app.yml).\n',
      );
      await startSetup();
      return;
    }
    const proxmox = readProxmoxSettings(process.env);
    if (proxmox.kind === 'invalid') {
      process.stderr.write(
        unusableSettings('Proxmox', proxmox.message.split('\n'), 'Connect a Proxmox cluster'),
      );
      process.exitCode = 2;
      return;
    }
    let server;
    try {
      server = await startServer({ ...settings, proxmox });
    } catch (error) {
      process.stderr.write(`error: ${errorText(error)}\n`);
      process.exitCode = 1;
      return;
    }
    const stop = (): void => {
      void server.close().then(() => process.exit(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError(`expected a port number 0–65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

function labels(value: string): string[] {
  const parsed = parseLabels(value);
  if (parsed.kind === 'invalid') throw new InvalidArgumentError(parsed.message);
  return parsed.labels;
}

program
  .command('worker')
  .description(
    'Run a runner on this host: take jobs with these labels from Redis and run them. Needs REDIS_URL, DATABASE_URL (the store the bot writes), APP_ID and PRIVATE_KEY.',
  )
  .option('--labels <labels>', 'comma-separated labels of the jobs to take', labels, [
    ...KNOWN_LABELS,
  ])
  .option(
    '--concurrency <n>',
    'jobs at once on this runner (default: AI_PROVISION_CONCURRENCY)',
    positiveInt,
  )
  .option('--metrics-port <port>', 'serve GET /metrics and /healthz on this port (HOST)', port)
  .action(
    async (
      options: { labels: string[]; concurrency?: number; metricsPort?: number },
      command: Command,
    ) => {
      const settings = readWorkerSettings(process.env);
      if (settings.kind === 'invalid') {
        process.stderr.write(
          unusableSettings(
            'runner',
            settings.problems,
            'Jobs: durable by default, and scaling out',
          ),
        );
        process.exitCode = 2;
        return;
      }
      let worker;
      try {
        // Options win; then the runner's environment (a Proxmox runner's boot config); then defaults.
        const labelsGiven = command.getOptionValueSource('labels') === 'cli';
        worker = await startWorker({
          settings,
          labels: labelsGiven ? options.labels : (settings.runner.labels ?? options.labels),
          concurrency:
            options.concurrency ?? settings.runner.concurrency ?? settings.pool.concurrency,
          ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
        });
      } catch (error) {
        process.stderr.write(`error: ${errorText(error)}\n`);
        process.exitCode = 1;
        return;
      }
      const stop = (): void => {
        void worker.stop().then(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      // Drained on request (the autoscaler retiring this runner): everything is closed; exit 0 so
      // the unit is not restarted into a machine about to be destroyed.
      worker.drained.then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`error: closing after a drain: ${errorText(error)}\n`);
          process.exit(1);
        },
      );
    },
  );

registerStatusCommand(program);
registerRunnersCommand(program);

const bench = program
  .command('bench')
  .description('Run a benchmark and append its figures to bench/RESULTS.md.');
bench
  .command('analyze')
  .description(
    'Analysis speed and memory on a generated 20,000-file monorepo and the examples, against git clone.',
  )
  .option('--files <n>', 'files in the generated monorepo', (v) => Number.parseInt(v, 10), 20_000)
  .option('--services <n>', 'services in the generated monorepo', (v) => Number.parseInt(v, 10), 50)
  .option(
    '--runs <n>',
    'repetitions per measurement (median reported)',
    (v) => Number.parseInt(v, 10),
    5,
  )
  .option('--no-record', 'do not append to bench/RESULTS.md')
  .action(async (opts: { files: number; services: number; runs: number; record: boolean }) => {
    await runAnalyzeBench(opts);
  });

bench
  .command('accuracy')
  .description(
    'Sizing accuracy on bench/ground-truth.json against the maintainers’ own settings and Bitnami presets.',
  )
  .option(
    '--runs <n>',
    'plans per service (more than 1 checks determinism)',
    (v) => Number.parseInt(v, 10),
    1,
  )
  .option('--only <ids>', 'only these ground-truth ids, comma-separated', list)
  .option('--no-record', 'do not append to bench/RESULTS.md')
  .action(async (opts: { runs: number; only?: string[]; record: boolean }) => {
    process.exitCode = report(
      await runAccuracyBench({
        runs: opts.runs,
        record: opts.record,
        ...(opts.only === undefined ? {} : { only: opts.only }),
      }),
    );
  });

bench
  .command('llm')
  .description(
    'Claude calls, tokens and cost per service on the example, via the real SDK against a local fake Messages API.',
  )
  .option('--no-record', 'do not append to bench/RESULTS.md')
  .action(async (opts: { record: boolean }) => {
    process.exitCode = report(await runLlmBench({ record: opts.record }));
  });

bench
  .command('e2e')
  .description(
    'Comment-to-pull-request time and GitHub API calls per request: serve, git server and a fake GitHub API on loopback.',
  )
  .option('--runs <n>', 'measured requests (median reported)', (v) => Number.parseInt(v, 10), 5)
  .option('--no-record', 'do not append to bench/RESULTS.md')
  .action(async (opts: { runs: number; record: boolean }) => {
    process.exitCode = report(await runE2eBench(opts));
  });

bench
  .command('autoscale')
  .description(
    'A 24-hour backlog trace replayed in simulated time: Proxmox runners autoscaled through a fake Proxmox VE API against a static pool sized for the peak.',
  )
  .option('--seed <n>', 'seed of the trace', positiveInt, 20261121)
  .option('--no-record', 'do not append to bench/RESULTS.md')
  .action(async (opts: { seed: number; record: boolean }) => {
    process.exitCode = report(await runAutoscaleBench(opts));
  });

bench
  .command('pool')
  .description(
    '10,000 no-op jobs through the in-process pool and the Redis pool (1 and 2 runners) against raw bottleneck and BullMQ; needs redis-server.',
  )
  .option('--jobs <n>', 'jobs per row', positiveInt, 10_000)
  .option('--concurrency <n>', 'concurrency of each pool and runner', positiveInt, 50)
  .option('--in-flight <n>', 'submits in flight at once', positiveInt, 100)
  .option('--no-record', 'do not append to bench/RESULTS.md')
  .action(
    async (opts: { jobs: number; concurrency: number; inFlight: number; record: boolean }) => {
      process.exitCode = report(await runPoolBench(opts));
    },
  );

await program.parseAsync(process.argv);
