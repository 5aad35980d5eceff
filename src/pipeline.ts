/**
 * The ordered stages of a plan, top to bottom, each timed:
 *   fetch + analyse → repository config → description → agent 1 (context) → agent 2 (prediction)
 *   → agent 3 (refinement) → render (new files | in-place patches) → report.
 * Adapters (retriever, reasoners) are built by the caller; this file only sequences them.
 */
import { buildContext } from './agents/context.js';
import { predictPlan } from './agents/prediction.js';
import { refinePlan } from './agents/refinement.js';
import { z } from 'zod';
import { ContextBundle, DraftPlan, FinalPlan } from './agents/schema.js';
import { loadRepoConfig, REPO_CONFIG_FILE, type ResolvedConfig } from './config.js';
import { done, refused, type Outcome } from './outcome.js';
import type { Retriever } from './rag/schema.js';
import type { Reasoner } from './reasoners/reasoner.js';
import {
  withAnalyzedSource,
  type AnalyzeSourceOptions,
  type AnalyzedSource,
} from './repo/analyze-source.js';
import type { ExistingDeployment } from './repo/schema.js';
import { renderKubernetes, validateKubernetesObject } from './render/kubernetes.js';
import { patchExisting } from './render/patch.js';
import {
  PlanDocument,
  plannedService,
  type LlmUsage,
  type PlannedService,
} from './render/plan-document.js';
import { renderProxmox } from './render/proxmox.js';
import { renderReport, type ReportService } from './render/report.js';
import { parseDescription } from './request/parse-description.js';
import type { Environment, Target } from './request/schema.js';

export interface PlanRequest {
  /** https URL or (CLI) local path. */
  source: string;
  description: string;
  ref?: string;
  paths?: string[];
  target: Target;
  environment?: Environment;
  namespace?: string;
  allowLocalPath: boolean;
  allowedHosts?: string[];
  /** Clone from here instead of `source` (the GitHub API's clone_url); `source` is still validated and reported. */
  cloneUrl?: string;
  /** Fetch settings from the caller: installation token, CA, timeouts, cancellation. */
  fetch?: AnalyzeSourceOptions['fetch'];
}

/** Stages a plan reports as it moves, for progress comments. */
export type PlanStage = 'cloning' | 'analysing' | 'agent-1' | 'agent-2' | 'agent-3' | 'rendering';

export interface PlanDeps {
  retriever: Retriever;
  /** A reasoner per sizing target (the offline reasoner needs to know which it sizes for). */
  reasonerFor(target: 'kubernetes' | 'proxmox'): Reasoner;
  /** Calls, tokens and cost of a model reasoner so far; absent for the offline reasoner. */
  llmUsage?: () => LlmUsage | undefined;
  /** Told as each stage starts; must not throw. */
  onStage?: (stage: PlanStage) => void;
  /** Saved agent outputs of an earlier run of the same job, so a retried job resumes where it stopped. */
  checkpoints?: PlanCheckpoints;
}

/** The stages whose output is saved: the three agents, the costly part of a plan. */
export type CheckpointStage = 'agent-1' | 'agent-2' | 'agent-3';

/**
 * Where a job's agent outputs are kept between runs (the Store, for the App). Keyed by stage and
 * the commit that was read, so a retry that finds a new commit starts over instead of resuming.
 */
export interface PlanCheckpoints {
  load(stage: CheckpointStage, commit: string): Promise<unknown>;
  save(stage: CheckpointStage, commit: string, value: unknown): Promise<void>;
}

const Agent1Output = z.array(ContextBundle);
const Agent2Output = z.array(z.object({ bundle: z.number().int().min(0), draft: DraftPlan }));
const Agent3Output = z.array(z.object({ bundle: z.number().int().min(0), plan: FinalPlan }));

/**
 * Runs `compute` unless a checkpoint of this stage for this commit parses; saves what it computed.
 * Without a commit (a local path) there is nothing to key on, so nothing is saved.
 */
async function checkpointed<T>(
  checkpoints: PlanCheckpoints | undefined,
  commit: string | undefined,
  stage: CheckpointStage,
  schema: z.ZodType<T>,
  compute: () => Promise<T>,
): Promise<T> {
  if (checkpoints === undefined || commit === undefined) return compute();
  const saved = schema.safeParse(await checkpoints.load(stage, commit));
  if (saved.success) return saved.data;
  const value = await compute();
  await checkpoints.save(stage, commit, value);
  return value;
}

export interface PlanFile {
  path: string;
  kind: 'new' | 'patch';
  content: string;
  /** For patches: a unified diff of the change. */
  diff?: string;
}

export interface PlanResult {
  document: PlanDocument;
  report: string;
  files: PlanFile[];
  /** All new manifests as one multi-document YAML stream. */
  manifests: string;
  timings: Record<string, number>;
  /** The commit and tree that were read (clones): a pull request builds on them. */
  base: { commit?: string; tree?: string };
}

async function timed<T>(
  timings: Record<string, number>,
  stage: string,
  run: () => Promise<T> | T,
): Promise<T> {
  const started = performance.now();
  try {
    return await run();
  } finally {
    timings[stage] = Math.round(performance.now() - started);
  }
}

function outputDir(
  config: ResolvedConfig,
  service: string,
  environment: string,
  namespace: string | undefined,
): string {
  return config.output.path
    .replaceAll('{service}', service)
    .replaceAll('{environment}', environment)
    .replaceAll('{namespace}', namespace ?? 'default')
    .replace(/\/?$/, '/');
}

/** Renders one final plan into files: a patch of the repository's own manifests when it has them. */
function renderPlan(
  plan: FinalPlan,
  bundle: ContextBundle,
  existing: ExistingDeployment | undefined,
  config: ResolvedConfig,
  source: AnalyzedSource,
  request: PlanRequest,
): { files: PlanFile[]; artifacts: ReportService['artifacts']; yaml: string; notes: string[] } {
  const notes: string[] = [];
  const environment = bundle.input.deployment_context.environment;
  const namespace = request.namespace ?? config.defaults.namespace;
  if (plan.target === 'proxmox') {
    const rendered = renderProxmox({ plan, hints: bundle.hints });
    notes.push(...rendered.warnings);
    const dir = outputDir(config, plan.service.name, environment, namespace).replace(
      /k8s/,
      'proxmox',
    );
    const files: PlanFile[] = [
      { path: `${dir}${plan.service.name}.proxmox.yaml`, kind: 'new', content: rendered.yaml },
      { path: `${dir}${plan.service.name}.tf`, kind: 'new', content: rendered.terraform },
    ];
    return {
      files,
      artifacts: [
        { path: files[0]!.path, kind: 'new', language: 'yaml', content: rendered.yaml },
        { path: files[1]!.path, kind: 'new', language: 'hcl', content: rendered.terraform },
      ],
      yaml: '',
      notes,
    };
  }
  if (existing !== undefined && config.output.mode !== 'new-files') {
    const patched = patchExisting({ existing, plan, readFile: source.readFile });
    if (patched.kind === 'patched') {
      const files = patched.files.map((f) => ({
        path: f.path,
        kind: 'patch' as const,
        content: f.after,
        diff: f.diff,
      }));
      return {
        files,
        artifacts: patched.files.map((f) => ({
          path: f.path,
          kind: 'patch' as const,
          language: 'diff' as const,
          content: f.diff,
        })),
        yaml: '',
        notes,
      };
    }
    if (patched.kind === 'unchanged') {
      notes.push(
        `${plan.service.name}: ${existing.file} already has these values; nothing to change.`,
      );
      return { files: [], artifacts: [], yaml: '', notes };
    }
    notes.push(
      `${plan.service.name}: could not patch ${existing.file} in place (${patched.reason}); new manifests are proposed instead.`,
    );
  }
  const rendered = renderKubernetes({
    plan,
    hints: bundle.hints,
    environment,
    ...(namespace === undefined ? {} : { namespace }),
  });
  notes.push(...rendered.warnings);
  const dir = outputDir(config, plan.service.name, environment, namespace);
  const files = rendered.files.map((f) => ({
    path: `${dir}${f.path}`,
    kind: 'new' as const,
    content: f.content,
  }));
  return {
    files,
    artifacts: files.map((f) => ({
      path: f.path,
      kind: 'new' as const,
      language: 'yaml' as const,
      content: f.content,
    })),
    yaml: rendered.yaml,
    notes,
  };
}

/** The whole plan for one request. Expected failures (bad URL, bad config, unreachable repo) are values. */
export async function runPlan(request: PlanRequest, deps: PlanDeps): Promise<Outcome<PlanResult>> {
  const timings: Record<string, number> = {};
  const started = performance.now();
  return withAnalyzedSource(
    request.source,
    {
      allowLocalPath: request.allowLocalPath,
      ...(request.ref === undefined ? {} : { ref: request.ref }),
      ...(request.paths === undefined ? {} : { paths: request.paths }),
      ...(request.allowedHosts === undefined ? {} : { allowedHosts: request.allowedHosts }),
      ...(request.cloneUrl === undefined ? {} : { cloneUrl: request.cloneUrl }),
      ...(request.fetch === undefined ? {} : { fetch: request.fetch }),
      ...(deps.onStage === undefined ? {} : { onStage: deps.onStage }),
    },
    async (source) => {
      timings['fetch+analyze'] = Math.round(performance.now() - started);
      const loaded = await timed(timings, 'config', () =>
        loadRepoConfig(source.readFile(REPO_CONFIG_FILE), REPO_CONFIG_FILE),
      );
      if (loaded.kind === 'invalid') return refused('config-invalid', loaded.message);
      const config = loaded.config;
      const profile = await timed(timings, 'description', () =>
        parseDescription(request.description),
      );
      const environment = request.environment ?? config.defaults.environment;
      const targets: ('kubernetes' | 'proxmox')[] =
        request.target === 'both'
          ? ['kubernetes', 'proxmox']
          : [request.target === 'proxmox' ? 'proxmox' : 'kubernetes'];

      const commit = source.facts.commit;
      deps.onStage?.('agent-1');
      const bundles = await timed(timings, 'agent-1-context', () =>
        checkpointed(deps.checkpoints, commit, 'agent-1', Agent1Output, () =>
          buildContext(
            {
              facts: source.facts,
              profile,
              description: request.description,
              ...(environment === undefined ? {} : { environment }),
              ...((request.namespace ?? config.defaults.namespace)
                ? { namespace: request.namespace ?? config.defaults.namespace }
                : {}),
            },
            { reasoner: deps.reasonerFor(targets[0]!), retriever: deps.retriever },
          ),
        ),
      );

      deps.onStage?.('agent-2');
      const draftsAt = await timed(timings, 'agent-2-prediction', () =>
        checkpointed(deps.checkpoints, commit, 'agent-2', Agent2Output, async () => {
          const out: { bundle: number; draft: DraftPlan }[] = [];
          for (const target of targets) {
            for (const [index, bundle] of bundles.entries())
              out.push({
                bundle: index,
                draft: await predictPlan(bundle, deps.reasonerFor(target)),
              });
          }
          return out;
        }),
      );
      const bundleAt = (index: number): ContextBundle => {
        const bundle = bundles[index];
        if (bundle === undefined)
          throw new Error(`checkpoint names context bundle ${index}, which does not exist`);
        return bundle;
      };

      deps.onStage?.('agent-3');
      const finalsAt = await timed(timings, 'agent-3-refinement', () =>
        checkpointed(deps.checkpoints, commit, 'agent-3', Agent3Output, async () => {
          const out: { bundle: number; plan: FinalPlan }[] = [];
          for (const { bundle: index, draft } of draftsAt) {
            const bundle = bundleAt(index);
            const plan = await refinePlan(draft, bundle, {
              reasoner: deps.reasonerFor(draft.target),
              retriever: deps.retriever,
              config,
              renderErrors: (candidate) =>
                candidate.target === 'kubernetes'
                  ? renderKubernetes({
                      plan: candidate,
                      hints: bundle.hints,
                      environment: bundle.input.deployment_context.environment,
                    }).objects.flatMap((o) => validateKubernetesObject(o))
                  : [],
            });
            out.push({ bundle: index, plan });
          }
          return out;
        }),
      );
      const finals = finalsAt.map(({ bundle, plan }) => ({ bundle: bundleAt(bundle), plan }));

      const files: PlanFile[] = [];
      const services: PlannedService[] = [];
      const reportServices: ReportService[] = [];
      const warnings: string[] = [];
      const yamlParts: string[] = [];
      deps.onStage?.('rendering');
      await timed(timings, 'render', () => {
        for (const { bundle, plan } of finals) {
          const existing = source.facts.deployments.find(
            (d) => d.service === plan.service.name && d.source !== 'compose',
          );
          const rendered = renderPlan(plan, bundle, existing, config, source, request);
          files.push(...rendered.files);
          warnings.push(...rendered.notes);
          if (rendered.yaml !== '') yamlParts.push(rendered.yaml.trimEnd());
          services.push(
            plannedService(
              plan,
              rendered.files.map((f) => ({ path: f.path, kind: f.kind })),
            ),
          );
          reportServices.push({
            plan,
            artifacts: rendered.artifacts,
            renderNotes: rendered.notes,
          });
        }
      });
      if (source.facts.services.length === 0) {
        warnings.push(
          'No service was found in the repository, so there is nothing to size. Add a Dockerfile or name the service paths.',
        );
      }
      const knowledgeLinks = new Map(
        deps.retriever
          .entries()
          .flatMap((e) => (e.sources[0] === undefined ? [] : [[e.id, e.sources[0].url] as const])),
      );
      const shared = [...new Set(finals.flatMap((f) => f.bundle.warnings))];
      const llm = deps.llmUsage?.();
      const document = PlanDocument.parse({
        schemaVersion: 1,
        source: request.source,
        ...(source.facts.commit === undefined ? {} : { commit: source.facts.commit }),
        reasoner: deps.reasonerFor(targets[0]!).id,
        services,
        warnings: [...shared, ...warnings],
        ...(llm === undefined ? {} : { llm }),
      });
      const report = renderReport({
        source: request.source,
        ...(source.facts.commit === undefined ? {} : { commit: source.facts.commit }),
        reasoner: document.reasoner,
        services: reportServices,
        warnings: document.warnings,
        ...(document.llm === undefined ? {} : { llm: document.llm }),
        knowledgeLinks,
      });
      return done({
        document,
        report,
        files,
        manifests: yamlParts.join('\n---\n') + (yamlParts.length > 0 ? '\n' : ''),
        timings,
        base: {
          ...(source.facts.commit === undefined ? {} : { commit: source.facts.commit }),
          ...(source.tree === undefined ? {} : { tree: source.tree }),
        },
      });
    },
  );
}
