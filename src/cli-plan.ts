/**
 * `ai-provision plan` and `ai-provision schema`: argument parsing, building the adapters (knowledge
 * retriever, reasoners) and printing. The work itself is in pipeline.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { done, type Outcome } from './outcome.js';
import { runPlan, type PlanDeps, type PlanResult } from './pipeline.js';
import { createKnowledgeRetriever } from './rag/retriever.js';
import type { Retriever } from './rag/schema.js';
import type { LimiterFactory } from './pool/limiters.js';
import { createReasoners } from './reasoners/select.js';
import { REASONER_IDS, type ReasonerId } from './reasoners/reasoner.js';
import {
  DESCRIPTION_MAX,
  DESCRIPTION_MIN,
  ENVIRONMENTS,
  TARGETS,
  type Environment,
  type Target,
} from './request/schema.js';
import { SCHEMAS, schemaNames } from './schemas.js';

export const PLAN_FORMATS = ['markdown', 'yaml', 'json'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

export function planCommandOutput(result: PlanResult, format: PlanFormat): string {
  if (format === 'json') return `${JSON.stringify(result.document, null, 2)}\n`;
  if (format === 'yaml') return result.manifests;
  return result.report;
}

/** Writes every file and report.md under `outDir`, refusing paths that would leave it. */
export function writePlanFiles(outDir: string, result: PlanResult): string[] {
  const root = resolve(outDir);
  const written: string[] = [];
  for (const file of [...result.files, { path: 'report.md', content: result.report }]) {
    const target = resolve(join(root, file.path));
    if (target !== root && !target.startsWith(root + sep)) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    written.push(target);
  }
  return written;
}

/** The adapters a plan runs with, and how to release them once it is done. */
export interface PlanAdapters {
  deps: PlanDeps;
  /** Releases the reasoners' timers; call once the plan is finished. */
  close(): Promise<void>;
}

/**
 * Builds the knowledge retriever and the reasoners `plan` uses: Claude when asked for (or, unasked,
 * when `env` has ANTHROPIC_API_KEY), otherwise the offline reasoner. Shared by `plan` and `action`.
 */
export async function createPlanAdapters(
  reasoner: ReasonerId | undefined,
  env: NodeJS.ProcessEnv = process.env,
  /** A retriever to share (the server keeps one for every job); built when absent. */
  shared?: Retriever,
  /** The process's rate limiters (the server's, clustered through Redis); private ones when absent. */
  limiters?: LimiterFactory,
): Promise<Outcome<PlanAdapters>> {
  const retriever = shared ?? (await createKnowledgeRetriever());
  const setup = await createReasoners(reasoner, retriever, env, limiters);
  if (setup.kind !== 'done') return setup;
  const reasoners = setup.value;
  return done({
    deps: {
      retriever,
      reasonerFor: (target) => reasoners.reasonerFor(target),
      llmUsage: () => reasoners.llmUsage(),
    },
    close: () => reasoners.close(),
  });
}

function oneOf<T extends string>(values: readonly T[], what: string): (v: string) => T {
  return (v) => {
    if ((values as readonly string[]).includes(v)) return v as T;
    throw new InvalidArgumentError(
      `expected ${what} to be one of ${values.join(', ')}, got ${JSON.stringify(v)}`,
    );
  };
}

interface PlanOptions {
  description: string;
  format: PlanFormat;
  out?: string;
  target: Target;
  environment?: Environment;
  namespace?: string;
  ref?: string;
  paths?: string[];
  allowedHost?: string[];
  reasoner?: ReasonerId;
}

export function registerPlanCommands(
  program: Command,
  helpers: {
    list: (value: string, previous?: string[]) => string[];
    report: <T>(outcome: Outcome<T>) => number;
  },
): void {
  program
    .command('plan')
    .description(
      'Size every service of a repository: manifests and a report with the reason for each number.',
    )
    .argument('<repo>', 'https URL of a git repository, or a local path')
    .requiredOption(
      '-d, --description <text>',
      `what the workload is and needs (${DESCRIPTION_MIN}–${DESCRIPTION_MAX} characters)`,
    )
    .option(
      '--format <format>',
      'markdown (report with manifests), yaml (manifests only) or json',
      oneOf(PLAN_FORMATS, 'format'),
      'markdown',
    )
    .option(
      '--out <dir>',
      'also write the manifests, patched files and report.md under this directory',
    )
    .option(
      '--target <target>',
      'kubernetes, proxmox or both',
      oneOf(TARGETS, 'target'),
      'kubernetes',
    )
    .option('--environment <env>', 'dev, staging or prod', oneOf(ENVIRONMENTS, 'environment'))
    .option('--namespace <ns>', 'Kubernetes namespace for the generated objects')
    .option('--ref <ref>', 'branch, tag or commit to read')
    .option('--paths <paths>', 'only these service paths, comma-separated', helpers.list)
    .option(
      '--reasoner <name>',
      'offline or claude (default: claude when ANTHROPIC_API_KEY is set, else offline)',
      oneOf(REASONER_IDS, 'reasoner'),
    )
    .option('--allowed-host <host>', 'also accept git URLs on this host (repeatable)', helpers.list)
    .action(async (repo: string, opts: PlanOptions) => {
      const description = opts.description.trim();
      if (description.length < DESCRIPTION_MIN || description.length > DESCRIPTION_MAX) {
        process.stderr.write(
          `error: --description must be ${DESCRIPTION_MIN}–${DESCRIPTION_MAX} characters, got ${description.length}. ` +
            'Describe the workload, e.g. --description "Order API, 500 req/s peak, p99 < 100ms, PostgreSQL".\n',
        );
        process.exitCode = 2;
        return;
      }
      const adapters = await createPlanAdapters(opts.reasoner);
      if (adapters.kind !== 'done') {
        process.exitCode = helpers.report(adapters);
        return;
      }
      const outcome = await runPlan(
        {
          source: repo,
          description,
          target: opts.target,
          allowLocalPath: true,
          ...(opts.environment === undefined ? {} : { environment: opts.environment }),
          ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
          ...(opts.ref === undefined ? {} : { ref: opts.ref }),
          ...(opts.paths === undefined ? {} : { paths: opts.paths }),
          ...(opts.allowedHost === undefined
            ? {}
            : { allowedHosts: ['github.com', ...opts.allowedHost] }),
        },
        adapters.value.deps,
      );
      if (outcome.kind === 'done') {
        if (opts.out !== undefined) {
          const written = writePlanFiles(opts.out, outcome.value);
          process.stderr.write(`wrote ${written.length} files under ${opts.out}\n`);
        }
        process.stdout.write(planCommandOutput(outcome.value, opts.format));
      }
      await adapters.value.close();
      process.exitCode = helpers.report(outcome);
    });

  program
    .command('schema')
    .description(
      'Print a published JSON Schema: input (the SPEC §3 input standard), plan (--format json), request, knowledge.',
    )
    .argument('[name]', `one of ${schemaNames().join(', ')}`, 'input')
    .action((name: string) => {
      const schema = SCHEMAS.get(name);
      if (schema === undefined) {
        process.stderr.write(
          `error: no schema named ${JSON.stringify(name)}; choose one of ${schemaNames().join(', ')}\n`,
        );
        process.exitCode = 2;
        return;
      }
      process.stdout.write(`${JSON.stringify(schema(), null, 2)}\n`);
    });
}
