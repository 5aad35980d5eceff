/**
 * `npm run bench:accuracy`: how close `ai-provision plan` comes to the resource settings that
 * maintainers published for their own services (bench/ground-truth.json, fixtures under
 * bench/fixtures/), against constant Bitnami presets. Each service is planned by the built CLI in
 * a child process, exactly as a user would run it; the metric functions below are pure and
 * exported for tests. How the set was assembled: bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { done, failed, refused, type Outcome } from '../outcome.js';
import { formatTable } from '../render/repo-table.js';
import { Language } from '../repo/schema.js';
import { parseDescription } from '../request/parse-description.js';
import {
  bytes,
  bytesFromMemoryQuantity,
  memoryQuantityFromBytes,
  millicores,
  cpuQuantityFromMillicores,
  millicoresFromCpuQuantity,
} from '../units.js';
import { median, publish } from './results.js';
import { bleu, codeBleu } from './similarity.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
export const GROUND_TRUTH_FILE = fileURLToPath(
  new URL('../../bench/ground-truth.json', import.meta.url),
);

/**
 * Repositories kept for an independent evaluation: nothing of theirs may enter the development set
 * (nor knowledge/). Matched case-insensitively against each source URL.
 */
export const HELD_OUT_REPOSITORIES = [
  'GoogleCloudPlatform/microservices-demo',
  'GoogleCloudPlatform/bank-of-anthos',
  'Azure-Samples/aks-store-demo',
  'open-telemetry/opentelemetry-demo',
  'open-telemetry/opentelemetry-helm-charts',
  'stefanprodan/podinfo',
  'instana/robot-shop',
  'kubernetes/examples',
  'zalando/postgres-operator',
  'kubernetes-sigs/metrics-server',
] as const;

// ---------------------------------------------------------------------------------------------
// Ground truth

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

const CpuQuantity = z
  .string()
  .refine((v) => (millicoresFromCpuQuantity(v) ?? 0) > 0, 'expected a positive CPU quantity');
const MemoryQuantity = z
  .string()
  .refine((v) => (bytesFromMemoryQuantity(v) ?? 0) > 0, 'expected a positive memory quantity');

export const GroundTruthService = z
  .object({
    /** DNS-1123 label; also the fixture directory's name, so the planned service is named alike. */
    id: z.string().regex(DNS_LABEL),
    name: z.string().min(1),
    language: Language,
    framework: z.string().min(1).optional(),
    project: z.string().min(1),
    /** The app_description handed to `plan`: purpose and stack, numbers only where docs state them. */
    description: z.string().min(40).max(2000),
    /** Repository-relative path of the fixture: bench/fixtures/<id>. */
    fixture: z.string(),
    /** The published image, for the reconstructed ground-truth Deployment. */
    image: z.string().min(1),
    /** Container ports of the published workload, for the reconstructed Deployment. */
    ports: z.array(z.number().int().min(1).max(65535)).default([]),
    /** The figures exactly as the source states them (Kubernetes quantities). */
    truth: z
      .object({
        replicas: z.number().int().positive().optional(),
        requests: z.object({ cpu: CpuQuantity, memory: MemoryQuantity }).strict(),
        limits: z
          .object({ cpu: CpuQuantity.optional(), memory: MemoryQuantity.optional() })
          .strict()
          .optional(),
      })
      .strict(),
    source: z
      .object({
        url: z.url(),
        /** Path of the file inside the source repository. */
        file: z.string().min(1),
        /** Commit the figures were read at. */
        ref: z.string().optional(),
        note: z.string().optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.fixture !== `bench/fixtures/${s.id}`)
      ctx.addIssue({
        code: 'custom',
        path: ['fixture'],
        message: `expected bench/fixtures/${s.id}, got ${s.fixture}`,
      });
    const url = s.source.url.toLowerCase();
    const heldOut = HELD_OUT_REPOSITORIES.find((r) => url.includes(r.toLowerCase()));
    if (heldOut !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['source', 'url'],
        message: `${heldOut} is held out for the independent evaluation`,
      });
  });
export type GroundTruthService = z.infer<typeof GroundTruthService>;

export const GroundTruth = z
  .object({
    $comment: z.string().optional(),
    version: z.literal(1),
    baselineSource: z.object({ url: z.url(), note: z.string() }).strict(),
    services: z.array(GroundTruthService).min(1),
  })
  .strict()
  .superRefine((g, ctx) => {
    const seen = new Set<string>();
    g.services.forEach((s, i) => {
      if (seen.has(s.id))
        ctx.addIssue({
          code: 'custom',
          path: ['services', i, 'id'],
          message: `duplicate id ${s.id}`,
        });
      seen.add(s.id);
    });
  });
export type GroundTruth = z.infer<typeof GroundTruth>;

/** Reads and validates the development set; a broken file is our bug, reported with its paths. */
export function loadGroundTruth(file: string = GROUND_TRUTH_FILE): Outcome<GroundTruth> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return failed('internal', `cannot read ${file}: ${(err as Error).message}`, false);
  }
  const parsed = GroundTruth.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ');
    return failed('internal', `${file} does not match its schema: ${issues}`, false);
  }
  return done(parsed.data);
}

// ---------------------------------------------------------------------------------------------
// Metrics (pure)

export const METRICS = [
  'cpuRequest',
  'memoryRequest',
  'cpuLimit',
  'memoryLimit',
  'replicas',
] as const;
export type Metric = (typeof METRICS)[number];

/** A sizing in base units: millicores, bytes, pod count. Absent means "not set". */
export type Sizing = Partial<Record<Metric, number>>;

export interface QuantitySizing {
  replicas?: number;
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
}

/** Kubernetes quantity strings → base units; an unparsable quantity counts as not set. */
export function sizingFromQuantities(q: QuantitySizing): Sizing {
  const out: Sizing = {};
  const set = (metric: Metric, value: number | undefined): void => {
    if (value !== undefined && value > 0) out[metric] = value;
  };
  set('replicas', q.replicas);
  set(
    'cpuRequest',
    q.requests?.cpu === undefined ? undefined : millicoresFromCpuQuantity(q.requests.cpu),
  );
  set(
    'memoryRequest',
    q.requests?.memory === undefined ? undefined : bytesFromMemoryQuantity(q.requests.memory),
  );
  set(
    'cpuLimit',
    q.limits?.cpu === undefined ? undefined : millicoresFromCpuQuantity(q.limits.cpu),
  );
  set(
    'memoryLimit',
    q.limits?.memory === undefined ? undefined : bytesFromMemoryQuantity(q.limits.memory),
  );
  return out;
}

/** log2(predicted / truth): positive means over-provisioned, negative under. */
export function log2Ratio(predicted: number, truth: number): number {
  return Math.log2(predicted / truth);
}

// Quantities round to whole millicores and bytes, so an exact 2× can miss by a hair in floating point.
const EPSILON = 1e-9;

/** Within a factor of the truth, boundaries included: 2× and ½× both count. */
export function withinFactor(predicted: number, truth: number, factor = 2): boolean {
  return Math.abs(log2Ratio(predicted, truth)) <= Math.log2(factor) + EPSILON;
}

export interface MetricSummary {
  /** Services whose ground truth sets this metric. */
  n: number;
  /** Of those, services the predictor also set (the log-ratio statistics are over these). */
  scored: number;
  /** Share of the n services predicted within 2×; a missing prediction is a miss. */
  within2x: number;
  /** Median |log2(predicted / truth)| over the scored services. */
  medianAbsLog2: number;
  /** Mean log2(predicted / truth) over the scored services: the bias. */
  meanLog2: number;
}

export interface Pair {
  predicted?: number;
  truth?: number;
}

export function summarizeMetric(pairs: readonly Pair[]): MetricSummary {
  const withTruth = pairs.filter((p): p is Pair & { truth: number } => p.truth !== undefined);
  const scored = withTruth.filter(
    (p): p is { predicted: number; truth: number } => p.predicted !== undefined,
  );
  const logs = scored.map((p) => log2Ratio(p.predicted, p.truth));
  const hits = scored.filter((p) => withinFactor(p.predicted, p.truth)).length;
  return {
    n: withTruth.length,
    scored: scored.length,
    within2x: withTruth.length === 0 ? Number.NaN : hits / withTruth.length,
    medianAbsLog2: median(logs.map(Math.abs)),
    meanLog2: logs.length === 0 ? Number.NaN : logs.reduce((a, b) => a + b, 0) / logs.length,
  };
}

/** Both CPU and memory requests within 2× of the truth; a missing prediction fails. */
export function bothRequestsWithin2x(predicted: Sizing | undefined, truth: Sizing): boolean {
  if (predicted === undefined) return false;
  const { cpuRequest: pc, memoryRequest: pm } = predicted;
  const { cpuRequest: tc, memoryRequest: tm } = truth;
  if (pc === undefined || pm === undefined || tc === undefined || tm === undefined) return false;
  return withinFactor(pc, tc) && withinFactor(pm, tm);
}

export interface SetScore {
  metrics: Record<Metric, MetricSummary>;
  /** Share of services with both requests within 2×. */
  bothRequestsWithin2x: number;
}

export interface ScoredRow {
  truth: Sizing;
  /** Undefined when the predictor produced nothing for this service (a failed plan). */
  predicted?: Sizing;
}

export function scoreSet(rows: readonly ScoredRow[]): SetScore {
  const metrics = Object.fromEntries(
    METRICS.map((m) => [
      m,
      summarizeMetric(rows.map((r) => ({ predicted: r.predicted?.[m], truth: r.truth[m] }))),
    ]),
  ) as Record<Metric, MetricSummary>;
  const both = rows.filter((r) => bothRequestsWithin2x(r.predicted, r.truth)).length;
  return { metrics, bothRequestsWithin2x: rows.length === 0 ? Number.NaN : both / rows.length };
}

export type PresetName = 'nano' | 'micro' | 'small';
export const PRESET_NAMES: readonly PresetName[] = ['nano', 'micro', 'small'];

/**
 * Bitnami common chart `resourcesPreset` values (limits are the requests plus 50 %); see
 * bench/README.md for the source. A constant predictor: every service gets the same.
 */
export const BITNAMI_PRESETS: Record<PresetName, QuantitySizing> = {
  nano: {
    replicas: 1,
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '150m', memory: '192Mi' },
  },
  micro: {
    replicas: 1,
    requests: { cpu: '250m', memory: '256Mi' },
    limits: { cpu: '375m', memory: '384Mi' },
  },
  small: {
    replicas: 1,
    requests: { cpu: '500m', memory: '512Mi' },
    limits: { cpu: '750m', memory: '768Mi' },
  },
};

export function baselineSizing(preset: PresetName): Sizing {
  return sizingFromQuantities(BITNAMI_PRESETS[preset]);
}

/** A development-set service as the leave-one-out reference sees it: its group and its truth. */
export interface GroupedTruth {
  /** The workload class the description names, else the language. */
  group: string;
  language: string;
  truth: Sizing;
}

const PRIOR_STEPS = [0.5, Math.SQRT1_2, 1, Math.SQRT2, 2];

/**
 * The constant request pair that puts the most of `fitOn` within 2× on both CPU and memory (ties:
 * the smaller total |log2| error). Candidates are the fitted services' own figures in half-doubling
 * steps, so the fit is as good as a constant can be on them.
 */
export function bestConstantRequests(fitOn: readonly Sizing[]): Sizing {
  const usable = fitOn.filter((t) => t.cpuRequest !== undefined && t.memoryRequest !== undefined);
  let best: { hits: number; error: number; cpu: number; memory: number } | undefined;
  for (const cpu of usable.flatMap((t) => PRIOR_STEPS.map((f) => t.cpuRequest! * f))) {
    for (const memory of usable.flatMap((t) => PRIOR_STEPS.map((f) => t.memoryRequest! * f))) {
      let hits = 0;
      let error = 0;
      for (const t of usable) {
        if (withinFactor(cpu, t.cpuRequest!) && withinFactor(memory, t.memoryRequest!)) hits++;
        error +=
          Math.abs(log2Ratio(cpu, t.cpuRequest!)) + Math.abs(log2Ratio(memory, t.memoryRequest!));
      }
      if (best === undefined || hits > best.hits || (hits === best.hits && error < best.error))
        best = { hits, error, cpu, memory };
    }
  }
  return best === undefined ? {} : { cpuRequest: best.cpu, memoryRequest: best.memory };
}

/**
 * A reference, not a baseline: for each service, the best constant requests fitted on the OTHER
 * services of its group (its workload class, else its language; then its language; then all). It
 * shows how far priors keyed on the signals the planner has can go on this set, out of sample.
 */
export function leaveOneOutPrior(services: readonly GroupedTruth[]): Sizing[] {
  return services.map((service, i) => {
    const others = services.filter((_, j) => j !== i);
    const fitOn =
      [
        others.filter((o) => o.group === service.group),
        others.filter((o) => o.language === service.language),
        others,
      ].find((g) => g.length > 0) ?? [];
    return bestConstantRequests(fitOn.map((o) => o.truth));
  });
}

// ---------------------------------------------------------------------------------------------
// Manifests (pure)

/**
 * The ground-truth Deployment rebuilt from the recorded figures: the fixture's name (which is what
 * the planner names a root service), the published image, ports, resources and replicas. Built by
 * code so it contains nothing but the facts; replicas is omitted when the source does not state it.
 */
export function groundTruthDeployment(service: GroundTruthService): Record<string, unknown> {
  const labels = (): Record<string, string> => ({ 'app.kubernetes.io/name': service.id });
  const { requests, limits, replicas } = service.truth;
  const container: Record<string, unknown> = { name: service.id, image: service.image };
  if (service.ports.length > 0)
    container.ports = service.ports.map((containerPort) => ({ containerPort }));
  container.resources =
    limits === undefined
      ? { requests: { ...requests } }
      : { requests: { ...requests }, limits: { ...limits } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: service.id, labels: labels() },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: labels() },
      template: { metadata: { labels: labels() }, spec: { containers: [container] } },
    },
  };
}

/** Sorted keys and one style, so BLEU compares content rather than key order or quoting. */
export function canonicalYaml(value: unknown): string {
  // No anchors: a rendered manifest may share objects, and aliases would hide content from BLEU.
  return stringify(value, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false });
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/**
 * The workload object from a rendered YAML stream: the one named `name` if present, else the first
 * workload. Undefined when there is none or the stream does not parse.
 */
export function workloadDocument(
  yamlText: string,
  name?: string,
): Record<string, unknown> | undefined {
  const workloads: Record<string, unknown>[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const obj = value as Record<string, unknown>;
    if (typeof obj.kind === 'string' && WORKLOAD_KINDS.has(obj.kind)) workloads.push(obj);
  }
  const named = workloads.find(
    (w) => (w.metadata as Record<string, unknown> | undefined)?.name === name,
  );
  return named ?? workloads[0];
}

// ---------------------------------------------------------------------------------------------
// Reading `plan --format json`

const PlanQuantities = z.object({ cpu: z.string().optional(), memory: z.string().optional() });
const PlanJson = z.object({
  services: z.array(
    z.object({
      name: z.string(),
      path: z.string(),
      replicas: z.number(),
      resources: z.object({ requests: PlanQuantities, limits: PlanQuantities.optional() }),
    }),
  ),
});

export type PlanReading =
  | { ok: true; name: string; quantities: QuantitySizing; sizing: Sizing }
  | { ok: false; error: string };

/** The service at path '.' (or the only service) from the plan's JSON document. */
export function readPlanJson(text: string): PlanReading {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'plan output is not JSON' };
  }
  const parsed = PlanJson.safeParse(raw);
  if (!parsed.success) return { ok: false, error: 'plan JSON lacks services[].resources' };
  const { services } = parsed.data;
  const service =
    services.find((s) => s.path === '.') ?? (services.length === 1 ? services[0] : undefined);
  if (service === undefined)
    return { ok: false, error: `no service at path '.' among ${services.length}` };
  const quantities: QuantitySizing = {
    replicas: service.replicas,
    requests: service.resources.requests,
    limits: service.resources.limits ?? {},
  };
  return { ok: true, name: service.name, quantities, sizing: sizingFromQuantities(quantities) };
}

// ---------------------------------------------------------------------------------------------
// The run

interface PlanRun {
  ok: boolean;
  stdout: string;
  error: string;
  ms: number;
}

function runPlan(service: GroundTruthService, format: 'json' | 'yaml'): PlanRun {
  const args = [
    CLI,
    'plan',
    join(ROOT, service.fixture),
    '--description',
    service.description,
    '--format',
    format,
  ];
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: 300_000,
  });
  const ms = performance.now() - started;
  if (result.error !== undefined) return { ok: false, stdout: '', error: result.error.message, ms };
  if (result.status !== 0) {
    const lastLine = result.stderr.trim().split('\n').at(-1) ?? '';
    return { ok: false, stdout: result.stdout, error: `exit ${result.status}: ${lastLine}`, ms };
  }
  return { ok: true, stdout: result.stdout, error: '', ms };
}

export interface ServiceResult {
  service: GroundTruthService;
  truth: Sizing;
  predicted?: QuantitySizing;
  sizing?: Sizing;
  error?: string;
  /** Every run gave the same figures (the offline reasoner must be deterministic). */
  deterministic: boolean;
  medianMs: number;
  bleu?: number;
  codeBleu?: number;
  keyPath?: number;
}

function sameSizing(a: Sizing, b: Sizing): boolean {
  return METRICS.every((m) => a[m] === b[m]);
}

function measureService(service: GroundTruthService, runs: number): ServiceResult {
  const truth = sizingFromQuantities(service.truth);
  const readings: PlanReading[] = [];
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = runPlan(service, 'json');
    ms.push(run.ms);
    readings.push(run.ok ? readPlanJson(run.stdout) : { ok: false, error: run.error });
  }
  const base = { service, truth, medianMs: median(ms) };
  const first = readings[0];
  if (first === undefined || !first.ok)
    return { ...base, error: first?.ok === false ? first.error : 'no run', deterministic: true };
  const deterministic = readings.every((r) => r.ok && sameSizing(r.sizing, first.sizing));

  const yamlRun = runPlan(service, 'yaml');
  const reference = canonicalYaml(groundTruthDeployment(service));
  const workload = yamlRun.ok ? workloadDocument(yamlRun.stdout, first.name) : undefined;
  const candidate = workload === undefined ? '' : canonicalYaml(workload);
  const similarity = codeBleu(candidate, reference);
  return {
    ...base,
    predicted: first.quantities,
    sizing: first.sizing,
    deterministic,
    bleu: bleu(candidate, reference).score,
    codeBleu: similarity.score,
    keyPath: similarity.keyPath,
    ...(yamlRun.ok ? {} : { error: `yaml: ${yamlRun.error}` }),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function pct(share: number): string {
  return Number.isNaN(share) ? '-' : (share * 100).toFixed(1);
}

function num(value: number, digits = 2): string {
  return Number.isNaN(value) ? '-' : value.toFixed(digits);
}

function cpuCell(m: number | undefined): string {
  return m === undefined ? '-' : cpuQuantityFromMillicores(millicores(m));
}

function memoryCell(b: number | undefined): string {
  return b === undefined ? '-' : memoryQuantityFromBytes(bytes(Math.round(b / 2 ** 20) * 2 ** 20));
}

function pairCell(
  truth: number | undefined,
  predicted: number | undefined,
  show: (v: number | undefined) => string,
): string {
  if (truth === undefined && predicted === undefined) return '-';
  const ratio =
    truth !== undefined && predicted !== undefined ? ` (${num(predicted / truth)}×)` : '';
  return `${show(truth)} → ${show(predicted)}${ratio}`;
}

function serviceTable(results: readonly ServiceResult[]): string {
  const count = (v: number | undefined): string => (v === undefined ? '-' : String(v));
  return formatTable(
    [
      'SERVICE',
      'LANG',
      'CPU REQ truth → plan',
      'MEM REQ truth → plan',
      'CPU LIM',
      'MEM LIM',
      'REPLICAS',
      'BOTH ≤2×',
      'BLEU',
      'CODEBLEU',
      'NOTE',
    ],
    results.map((r) => [
      r.service.id,
      r.service.language,
      pairCell(r.truth.cpuRequest, r.sizing?.cpuRequest, cpuCell),
      pairCell(r.truth.memoryRequest, r.sizing?.memoryRequest, memoryCell),
      pairCell(r.truth.cpuLimit, r.sizing?.cpuLimit, cpuCell),
      pairCell(r.truth.memoryLimit, r.sizing?.memoryLimit, memoryCell),
      pairCell(r.truth.replicas, r.sizing?.replicas, count),
      bothRequestsWithin2x(r.sizing, r.truth) ? 'yes' : 'no',
      r.bleu === undefined ? '-' : num(r.bleu),
      r.codeBleu === undefined ? '-' : num(r.codeBleu),
      [r.error ?? '', r.deterministic ? '' : 'NON-DETERMINISTIC']
        .filter((s) => s !== '')
        .join('; '),
    ]),
  );
}

const METRIC_LABELS: Record<Metric, string> = {
  cpuRequest: 'cpu request',
  memoryRequest: 'memory request',
  cpuLimit: 'cpu limit',
  memoryLimit: 'memory limit',
  replicas: 'replicas',
};

function summaryTable(predictors: ReadonlyArray<{ name: string; score: SetScore }>): string {
  const rows: string[][] = [
    ['both requests', '% within 2×', ...predictors.map((p) => pct(p.score.bothRequestsWithin2x))],
  ];
  for (const m of METRICS) {
    const label = `${METRIC_LABELS[m]} (n=${predictors[0]?.score.metrics[m].n ?? 0})`;
    rows.push([label, '% within 2×', ...predictors.map((p) => pct(p.score.metrics[m].within2x))]);
    rows.push([
      '',
      'median |log2|',
      ...predictors.map((p) => num(p.score.metrics[m].medianAbsLog2)),
    ]);
    rows.push(['', 'mean log2', ...predictors.map((p) => num(p.score.metrics[m].meanLog2))]);
  }
  return formatTable(['METRIC', 'STATISTIC', ...predictors.map((p) => p.name.toUpperCase())], rows);
}

export interface AccuracyReport {
  results: ServiceResult[];
  plan: SetScore;
  baselines: Record<PresetName, SetScore>;
}

/**
 * Plans every service of the development set (or the `only` ids) `runs` times with the built CLI,
 * scores the first run against the ground truth and the Bitnami presets, prints the tables and the
 * headline, and appends them to bench/RESULTS.md when `record` is set.
 */
export async function runAccuracyBench(options: {
  runs?: number;
  record: boolean;
  only?: string[];
}): Promise<Outcome<AccuracyReport>> {
  const runs = Math.max(1, Math.floor(options.runs ?? 1));
  const loaded = loadGroundTruth();
  if (loaded.kind !== 'done') return loaded;
  const all = loaded.value.services;
  const unknown = (options.only ?? []).filter((id) => !all.some((s) => s.id === id));
  if (unknown.length > 0)
    return refused(
      'request-invalid-field',
      `unknown service id(s): ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}`,
    );
  if (!existsSync(CLI))
    return failed('internal', `${CLI} is missing; run npm run build first`, false);
  const services =
    options.only === undefined || options.only.length === 0
      ? all
      : all.filter((s) => options.only?.includes(s.id));

  const results: ServiceResult[] = [];
  for (const service of services) {
    process.stderr.write(`planning ${service.id} …\n`);
    results.push(measureService(service, runs));
  }

  const plan = scoreSet(results.map((r) => ({ truth: r.truth, predicted: r.sizing })));
  const baselines = Object.fromEntries(
    PRESET_NAMES.map((p) => {
      const predicted = baselineSizing(p);
      return [p, scoreSet(results.map((r) => ({ truth: r.truth, predicted })))];
    }),
  ) as Record<PresetName, SetScore>;
  const best = PRESET_NAMES.reduce((a, b) =>
    baselines[b].bothRequestsWithin2x > baselines[a].bothRequestsWithin2x ? b : a,
  );
  const priors = leaveOneOutPrior(
    results.map((r) => ({
      group: parseDescription(r.service.description).workloadClass ?? r.service.language,
      language: r.service.language,
      truth: r.truth,
    })),
  );
  const reference = scoreSet(results.map((r, i) => ({ truth: r.truth, predicted: priors[i] })));

  const similarities = results.map((r) => r.bleu ?? 0);
  const codeSimilarities = results.map((r) => r.codeBleu ?? 0);
  const mean = (xs: number[]): number =>
    xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
  const failures = results.filter((r) => r.sizing === undefined).length;
  const languages = new Set(services.map((s) => s.language)).size;

  const table = [
    serviceTable(results),
    '',
    summaryTable([
      { name: 'ai-provision', score: plan },
      ...PRESET_NAMES.map((p) => ({ name: `bitnami ${p}`, score: baselines[p] })),
      { name: 'loo class prior', score: reference },
    ]),
  ].join('\n');
  publish(
    {
      name: 'bench:accuracy',
      command: `npm run bench:accuracy -- --runs ${runs}${options.only?.length ? ` --only ${options.only.join(',')}` : ''}`,
      table,
      notes: [
        `${services.length} services in ${languages} languages from bench/ground-truth.json; ${runs} run(s) each, scored on the first`,
        'shares are percentages of the services whose ground truth sets the figure; a failed plan counts as a miss',
        'log2 ratio = log2(plan / truth): median |log2| is the typical error in doublings, mean log2 the bias (positive = over-provisioned)',
        'baselines: Bitnami common resourcesPreset nano / micro / small with 1 replica, the same for every service',
        'loo class prior (a reference, fitted on this set): per service, the best constant requests for the other services of its workload class (else language), scored out of sample; it sets no limits or replicas',
        'BLEU-4 and CodeBLEU-style score of the rendered workload against a Deployment rebuilt from the recorded figures (src/bench/similarity.ts); 0 when no workload was rendered',
      ],
      headline: {
        services: services.length,
        plan_failures: failures,
        both_requests_within_2x: pct(plan.bothRequestsWithin2x),
        cpu_request_within_2x: pct(plan.metrics.cpuRequest.within2x),
        memory_request_within_2x: pct(plan.metrics.memoryRequest.within2x),
        cpu_limit_within_2x: pct(plan.metrics.cpuLimit.within2x),
        memory_limit_within_2x: pct(plan.metrics.memoryLimit.within2x),
        replicas_within_2x: pct(plan.metrics.replicas.within2x),
        best_baseline: best,
        best_baseline_both_within_2x: pct(baselines[best].bothRequestsWithin2x),
        margin_over_best_baseline_points: num(
          (plan.bothRequestsWithin2x - baselines[best].bothRequestsWithin2x) * 100,
          1,
        ),
        loo_class_prior_both_within_2x: pct(reference.bothRequestsWithin2x),
        median_abs_log2_cpu_request: num(plan.metrics.cpuRequest.medianAbsLog2),
        mean_log2_cpu_request: num(plan.metrics.cpuRequest.meanLog2),
        median_abs_log2_memory_request: num(plan.metrics.memoryRequest.medianAbsLog2),
        mean_log2_memory_request: num(plan.metrics.memoryRequest.meanLog2),
        bleu_deployment_mean: num(mean(similarities), 3),
        codebleu_deployment_mean: num(mean(codeSimilarities), 3),
      },
    },
    options.record,
  );
  return done({ results, plan, baselines });
}
