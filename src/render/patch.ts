/**
 * In-place patches of deployment files the repository already has: Kubernetes manifests,
 * kustomize overlays, Helm values and compose files. A patch changes only the values a plan sizes
 * and keeps every other byte — comments, document separators, key order, quoting, line endings.
 *
 * How: the yaml Document API locates each value with its source range, the text is edited at
 * those ranges (a value replaced, a line inserted or deleted), and the result is parsed again and
 * compared with the intended values before it is returned. A collection written in flow style
 * (`{requests: {cpu: 100m}}`) is rewritten as a whole through the Document API (`setIn`), keeping
 * its quoting and padding. Anything that cannot be edited safely — a template, a value shared
 * through an anchor, a value set from a variable — is `unsupported` with the reason.
 *
 * Pure: text in, text out. It owns no file system access; `readFile` is given.
 */
import { bytesFromComposeMemory } from '../repo/compose.js';
import { posix } from 'node:path';
import {
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parse,
  parseAllDocuments,
  Scalar,
  visit,
} from 'yaml';
import type { Pair, YAMLMap, YAMLSeq } from 'yaml';
import type { DraftPlan, ReasoningStep } from '../agents/schema.js';
import type { ExistingDeployment } from '../repo/schema.js';
import {
  bytes,
  bytesFromMemoryQuantity,
  cpuQuantityFromMillicores,
  memoryQuantityFromBytes,
  millicores,
  millicoresFromCpuQuantity,
} from '../units.js';

// ---------------------------------------------------------------------------------------------
// Public shapes

export interface PatchedFile {
  /** Repository-relative path. */
  path: string;
  /** The file as it was; '' for a file the patch creates. */
  before: string;
  after: string;
  /** Unified diff of before → after with three lines of context. */
  diff: string;
}

export interface PatchChange {
  /** Where, in the file's own terms: "Deployment/api containers[api].resources.limits.cpu". */
  field: string;
  /** The value as written before; absent when the field is new. */
  from?: string;
  /** The value written, or "removed" when the field was deleted. */
  to: string;
}

/**
 * `patched` lists every file written (created files have `before: ''`) and every value changed;
 * `unchanged` means the files already say what the plan says, so there is nothing to deliver;
 * `unsupported` says why the file cannot be patched in place (the caller renders new files).
 */
export type PatchResult =
  | { kind: 'patched'; files: PatchedFile[]; changes: PatchChange[] }
  | { kind: 'unchanged' }
  | { kind: 'unsupported'; reason: string };

export interface PatchInput {
  existing: ExistingDeployment;
  plan: DraftPlan;
  /** Repository-relative path → text, or undefined when the file does not exist. */
  readFile: (path: string) => string | undefined;
}

/** Written in place of a deleted value in `PatchChange.to`. */
export const REMOVED = 'removed';

/**
 * Patches the file an existing deployment comes from so that it carries the plan's replicas,
 * requests, limits and autoscaler bounds. Idempotent: patching the patched files again with the
 * same plan returns `unchanged`. Never throws for repository content.
 */
export function patchExisting(input: PatchInput): PatchResult {
  const { existing, plan } = input;
  if (plan.target !== 'kubernetes') {
    return unsupported(
      `The plan targets ${plan.target}; only Kubernetes plans patch ${existing.file}.`,
    );
  }
  const text = input.readFile(existing.file);
  if (text === undefined) return unsupported(`${existing.file} could not be read.`);
  const sizing = sizingOf(plan);
  switch (existing.source) {
    case 'kubernetes':
      return patchKubernetes(existing, sizing, text);
    case 'kustomize':
      return patchKustomize(existing, sizing, text, input.readFile);
    case 'helm-values':
      return patchHelmValues(existing, sizing, text);
    case 'compose':
      return patchCompose(existing, sizing, text);
  }
}

function unsupported(reason: string): PatchResult {
  return { kind: 'unsupported', reason };
}

// ---------------------------------------------------------------------------------------------
// What the plan asks for, in canonical units

const CPU_STEP_MILLICORES = 10;
const MIB = 2 ** 20;
/** A trailing `# ai-provision: …` comment is kept under this many characters. */
const MAX_COMMENT = 100;
const COMMENT_PREFIX = '# ai-provision: ';

interface Sizing {
  service: string;
  cpuRequest: number;
  /** undefined = no CPU limit: an existing one is removed. */
  cpuLimit: number | undefined;
  memoryRequest: number;
  memoryLimit: number;
  replicas: number;
  autoscaling: DraftPlan['autoscaling'];
  reasons: ReasoningStep[];
}

/** CPU to the nearest 10m (at least 10m), memory up to a whole MiB, as the manifests carry them. */
function sizingOf(plan: DraftPlan): Sizing {
  const r = plan.resources;
  return {
    service: plan.service.name,
    cpuRequest: roundCpu(r.cpuRequest.target),
    cpuLimit: r.cpuLimit === undefined ? undefined : roundCpu(r.cpuLimit.target),
    memoryRequest: roundMemory(r.memoryRequest.target),
    memoryLimit: roundMemory(r.memoryLimit.target),
    replicas: plan.replicas,
    autoscaling: plan.autoscaling,
    reasons: plan.reasoning,
  };
}

function roundCpu(m: number): number {
  return Math.max(CPU_STEP_MILLICORES, Math.round(m / CPU_STEP_MILLICORES) * CPU_STEP_MILLICORES);
}

function roundMemory(b: number): number {
  return Math.max(1, Math.ceil(b / MIB)) * MIB;
}

function reasonFor(sizing: Sizing, field: ReasoningStep['field']): string {
  const step = sizing.reasons.find((s) => s.field === field);
  const reason = step?.reason.replace(/\s+/g, ' ').trim();
  return reason || 'no reason recorded';
}

/** One trailing comment for one or more reasons, cut at a word to stay short. */
function commentOf(reasons: string[]): string | undefined {
  const distinct = [...new Set(reasons)];
  if (distinct.length === 0) return undefined;
  const room = MAX_COMMENT - COMMENT_PREFIX.length;
  let text = distinct.join('; ');
  if (text.length > room) {
    const cut = text.slice(0, room - 1);
    const space = cut.lastIndexOf(' ');
    text = `${space > room / 2 ? cut.slice(0, space) : cut}…`;
  }
  return `${COMMENT_PREFIX}${text}`;
}

type ResourceBlock = 'requests' | 'limits';
type ResourceName = 'cpu' | 'memory';

interface ResourceField {
  block: ResourceBlock;
  resource: ResourceName;
  reason: ReasoningStep['field'];
  want(s: Sizing): number | undefined;
}

const RESOURCE_FIELDS: ResourceField[] = [
  { block: 'requests', resource: 'cpu', reason: 'cpu.request', want: (s) => s.cpuRequest },
  { block: 'requests', resource: 'memory', reason: 'memory.request', want: (s) => s.memoryRequest },
  { block: 'limits', resource: 'cpu', reason: 'cpu.limit', want: (s) => s.cpuLimit },
  { block: 'limits', resource: 'memory', reason: 'memory.limit', want: (s) => s.memoryLimit },
];

/** How one file format spells and compares a CPU or memory figure. */
interface QuantityFormat {
  text(resource: ResourceName, amount: number): string;
  amount(resource: ResourceName, written: unknown): number | undefined;
}

const KUBERNETES_QUANTITIES: QuantityFormat = {
  text: (resource, amount) =>
    resource === 'cpu'
      ? cpuQuantityFromMillicores(millicores(amount))
      : memoryQuantityFromBytes(bytes(amount)),
  amount: (resource, written) => {
    if (typeof written !== 'string' && typeof written !== 'number') return undefined;
    return resource === 'cpu'
      ? millicoresFromCpuQuantity(written)
      : bytesFromMemoryQuantity(written);
  },
};

/** Compose writes CPUs as a decimal string ("0.50") and memory in binary units ("512M" = 512 MiB). */
const COMPOSE_QUANTITIES: QuantityFormat = {
  text: (resource, amount) => {
    if (resource === 'cpu') return (amount / 1000).toFixed(2);
    const mib = amount / MIB;
    return mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`;
  },
  amount: (resource, written) => {
    if (resource === 'cpu') {
      const cores = typeof written === 'string' ? Number(written.trim()) : written;
      return typeof cores === 'number' && Number.isFinite(cores) && written !== ''
        ? Math.round(cores * 1000)
        : undefined;
    }
    // The same reading of compose sizes as the analysis uses.
    return bytesFromComposeMemory(written);
  },
};

// ---------------------------------------------------------------------------------------------
// Plain values

type Obj = Record<string, unknown>;
type Key = string | number;
type Value = string | number | null;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function getPath(value: unknown, path: Key[]): unknown {
  let current = value;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isObj(current) && typeof key === 'string') current = current[key];
    else return undefined;
  }
  return current;
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Deep equality of plain YAML values, ignoring key order. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]))
    );
  }
  return false;
}

/** `${VAR}` (compose, envsubst) or `{{ }}` (templates): a value someone else fills in. */
const VARIABLE = /\$\{|\{\{/;
const TEMPLATE = /\{\{/;

// ---------------------------------------------------------------------------------------------
// Parsed files

interface Stream {
  path: string;
  text: string;
  docs: Document.Parsed[];
  /** Each document as plain data (aliases expanded, merge keys left as `<<`). */
  values: unknown[];
}

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

function parseStream(path: string, text: string): Outcome<Stream> {
  const docs = [...parseAllDocuments(text, { logLevel: 'error' })];
  const values: unknown[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      const reason = (error.message.split('\n')[0] ?? '').replace(
        / at line \d+, column \d+:?$/,
        '',
      );
      const where = line === undefined ? '' : ` at line ${line}`;
      return { ok: false, reason: `${path} is not valid YAML${where}: ${reason}.` };
    }
    try {
      // The alias limit stops "billion laughs" documents from exhausting memory.
      values.push(doc.toJS({ maxAliasCount: 100 }));
    } catch {
      return { ok: false, reason: `${path} uses too many aliases to read safely.` };
    }
  }
  return { ok: true, value: { path, text, docs, values } };
}

/** The source text of a scalar ("0.50" rather than 0.5), for `PatchChange.from`. */
function writtenAt(stream: Stream, doc: number, path: Key[], value: unknown): string {
  const node = stream.docs[doc]?.getIn(path, true);
  if (isScalar(node) && typeof node.source === 'string' && node.source !== '') return node.source;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Edits: what a patch does to one file, before it becomes text

/** New content to insert, with an optional trailing comment on each value. */
type NewNode =
  | { kind: 'leaf'; value: Value; comment?: string }
  | { kind: 'map'; entries: [string, NewNode][] }
  | { kind: 'seq'; items: NewNode[] };

type Edit =
  | { op: 'set'; doc: number; path: Key[]; value: Value; reason?: string }
  | { op: 'remove'; doc: number; path: Key[]; reason?: string }
  | { op: 'append'; doc: number; path: Key[]; item: NewNode };

/** Edits for one file plus the changes they make, as reported to people. */
interface Draft {
  edits: Edit[];
  changes: PatchChange[];
}

function emptyDraft(): Draft {
  return { edits: [], changes: [] };
}

interface NumberField {
  doc: number;
  path: Key[];
  label: string;
  /** undefined = the field should not exist. */
  want: number | undefined;
  text(amount: number): Value;
  same(written: unknown, amount: number): boolean;
  reason: string;
}

/** Adds the edit (and change) one field needs, if any; returns a refusal reason when it cannot. */
function editField(draft: Draft, stream: Stream, field: NumberField): string | undefined {
  const written = getPath(stream.values[field.doc], field.path);
  const present = isPresent(written);
  const from = present ? writtenAt(stream, field.doc, field.path, written) : undefined;
  if (field.want === undefined) {
    if (!present) return undefined;
    draft.edits.push({ op: 'remove', doc: field.doc, path: field.path, reason: field.reason });
    draft.changes.push({ field: field.label, from: from!, to: REMOVED });
    return undefined;
  }
  if (present && field.same(written, field.want)) return undefined;
  if (typeof written === 'string' && VARIABLE.test(written)) {
    return `${field.label} in ${stream.path} is set from a variable (${written}); change the variable's value instead.`;
  }
  const value = field.text(field.want);
  draft.edits.push({ op: 'set', doc: field.doc, path: field.path, value, reason: field.reason });
  draft.changes.push({
    field: field.label,
    ...(from === undefined ? {} : { from }),
    to: String(value),
  });
  return undefined;
}

function resourceFields(
  doc: number,
  resourcesPath: Key[],
  label: string,
  sizing: Sizing,
  format: QuantityFormat,
  keys: Record<ResourceBlock | ResourceName, string>,
): NumberField[] {
  return RESOURCE_FIELDS.map((f) => ({
    doc,
    path: [...resourcesPath, keys[f.block], keys[f.resource]],
    label: `${label}.${keys[f.block]}.${keys[f.resource]}`,
    want: f.want(sizing),
    text: (amount) => format.text(f.resource, amount),
    same: (written, amount) => format.amount(f.resource, written) === amount,
    reason: reasonFor(sizing, f.reason),
  }));
}

const KUBERNETES_KEYS = { requests: 'requests', limits: 'limits', cpu: 'cpu', memory: 'memory' };

function countField(
  doc: number,
  path: Key[],
  label: string,
  want: number,
  reason: string,
): NumberField {
  return {
    doc,
    path,
    label,
    want,
    text: (n) => n,
    same: (written, n) => written === n,
    reason,
  };
}

/** Applies a draft to a file and checks the result; the new text, or why it cannot be patched. */
function editedText(stream: Stream, edits: Edit[]): Outcome<string> {
  const edited = applyEdits(stream, edits);
  if (!edited.ok) return { ok: false, reason: `${stream.path}: ${edited.reason}` };
  const problem = verify(stream, edited.value, edits);
  if (problem) {
    return {
      ok: false,
      reason: `${stream.path} could not be edited in place without disturbing other content (${problem}); patch it by hand.`,
    };
  }
  return edited;
}

function patchedFile(path: string, before: string, after: string): PatchedFile {
  return { path, before, after, diff: unifiedDiff(before, after, path) };
}

/** The result for one file edited in place. */
function singleFileResult(stream: Stream, draft: Draft): PatchResult {
  if (draft.edits.length === 0) return { kind: 'unchanged' };
  const after = editedText(stream, draft.edits);
  if (!after.ok) return unsupported(after.reason);
  if (after.value === stream.text) return { kind: 'unchanged' };
  return {
    kind: 'patched',
    files: [patchedFile(stream.path, stream.text, after.value)],
    changes: draft.changes,
  };
}

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests

const POD_SPEC_PATHS: Record<string, Key[]> = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  Rollout: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Rollout: 'argoproj.io/v1alpha1',
};
/** Kinds whose `spec.replicas` is a pod count. */
const REPLICATED_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'Rollout']);

/** An object of a stream: its document, its path inside it (for `List` items), its data. */
interface Located {
  doc: number;
  base: Key[];
  obj: Obj;
}

function objectsOf(values: unknown[]): Located[] {
  const out: Located[] = [];
  values.forEach((value, doc) => {
    if (!isObj(value)) return;
    const kind = str(value.kind) ?? '';
    if (kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item, i) => {
        if (isObj(item)) out.push({ doc, base: ['items', i], obj: item });
      });
      return;
    }
    out.push({ doc, base: [], obj: value });
  });
  return out;
}

function sameNamespace(obj: Obj, namespace: string | undefined): boolean {
  const own = str(getPath(obj, ['metadata', 'namespace']));
  return !namespace || !own || own === namespace;
}

function findWorkload(
  values: unknown[],
  kind: string,
  name: string,
  namespace: string | undefined,
): Located | undefined {
  return objectsOf(values).find(
    (o) =>
      o.obj.kind === kind &&
      getPath(o.obj, ['metadata', 'name']) === name &&
      sameNamespace(o.obj, namespace),
  );
}

function findHpa(
  values: unknown[],
  kind: string,
  name: string,
  namespace: string | undefined,
): Located | undefined {
  return objectsOf(values).find(
    (o) =>
      o.obj.kind === 'HorizontalPodAutoscaler' &&
      getPath(o.obj, ['spec', 'scaleTargetRef', 'kind']) === kind &&
      getPath(o.obj, ['spec', 'scaleTargetRef', 'name']) === name &&
      sameNamespace(o.obj, namespace),
  );
}

interface ContainerRef {
  name?: string;
  image?: string;
}

/** "ghcr.io/acme/api:1.2@sha256:…" → "api". */
function imageBaseName(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const last = withoutDigest.split('/').pop() ?? withoutDigest;
  return last.split(':')[0] ?? last;
}

/**
 * The container a plan sizes: the only one, else the one named after the service (or its
 * workload), else the only one whose image is. Sidecars and init containers are never chosen.
 */
function pickContainer(
  containers: ContainerRef[],
  existing: ExistingDeployment,
  sizing: Sizing,
  workloadName = existing.name,
): Outcome<number> {
  if (containers.length === 1) return { ok: true, value: 0 };
  const names = [sizing.service, existing.service, workloadName]
    .filter((n): n is string => typeof n === 'string' && n !== '')
    .map((n) => n.toLowerCase());
  for (const wanted of names) {
    const byName = containers.findIndex((c) => c.name?.toLowerCase() === wanted);
    if (byName >= 0) return { ok: true, value: byName };
    const byImage = containers.flatMap((c, i) =>
      c.image && imageBaseName(c.image).toLowerCase() === wanted ? [i] : [],
    );
    if (byImage.length === 1) return { ok: true, value: byImage[0]! };
  }
  const listed = containers.map((c) => c.name ?? '?').join(', ');
  return {
    ok: false,
    reason:
      containers.length === 0
        ? `${existing.objectKind} "${existing.name}" has no containers.`
        : `${existing.objectKind} "${existing.name}" has several containers (${listed}) and none is named after the service "${sizing.service}".`,
  };
}

function containerRefs(value: unknown): ContainerRef[] {
  if (!Array.isArray(value)) return [];
  return value.map((c) => {
    const ref: ContainerRef = {};
    const name = str(getPath(c, ['name']));
    const image = str(getPath(c, ['image']));
    if (name) ref.name = name;
    if (image) ref.image = image;
    return ref;
  });
}

function patchKubernetes(existing: ExistingDeployment, sizing: Sizing, text: string): PatchResult {
  const { file, objectKind: kind, name } = existing;
  const templated = unsupported(
    `${file} is a template ({{ … }}); its sizes come from the values that fill it, not from the file.`,
  );
  const parsed = parseStream(file, text);
  if (!parsed.ok) return TEMPLATE.test(text) ? templated : unsupported(parsed.reason);
  const stream = parsed.value;
  const podSpecPath = POD_SPEC_PATHS[kind];
  if (!podSpecPath) return unsupported(`${kind} "${name}" is not a workload ai-provision sizes.`);
  const workload = findWorkload(stream.values, kind, name, existing.namespace);
  if (!workload) {
    return TEMPLATE.test(text) ? templated : unsupported(`${file} has no ${kind} named "${name}".`);
  }
  // `{{ }}` can read as YAML (a flow mapping); in the workload itself it means a template. Elsewhere
  // in the stream (a ConfigMap holding alert templates, say) it is just text.
  const range = stream.docs[workload.doc]?.range;
  if (TEMPLATE.test(range ? text.slice(range[0], range[2]) : text)) return templated;

  const containersPath = [...workload.base, ...podSpecPath, 'containers'];
  const containers = containerRefs(getPath(stream.values[workload.doc], containersPath));
  const picked = pickContainer(containers, existing, sizing);
  if (!picked.ok) return unsupported(picked.reason);
  const containerName = containers[picked.value]?.name ?? `${picked.value}`;
  const label = `${kind}/${name}`;
  const fields = resourceFields(
    workload.doc,
    [...containersPath, picked.value, 'resources'],
    `${label} containers[${containerName}].resources`,
    sizing,
    KUBERNETES_QUANTITIES,
    KUBERNETES_KEYS,
  );

  const hpa = findHpa(stream.values, kind, name, existing.namespace);
  if (hpa) {
    if (sizing.autoscaling) fields.push(...hpaFields(hpa, sizing));
  } else if (existing.autoscaling === undefined && REPLICATED_KINDS.has(kind)) {
    // An HPA elsewhere owns the count; writing spec.replicas would fight it on every apply.
    fields.push(
      countField(
        workload.doc,
        [...workload.base, 'spec', 'replicas'],
        `${label} spec.replicas`,
        sizing.replicas,
        reasonFor(sizing, 'replicas'),
      ),
    );
  }

  const draft = emptyDraft();
  for (const field of fields) {
    const problem = editField(draft, stream, field);
    if (problem) return unsupported(problem);
  }
  return singleFileResult(stream, draft);
}

/** Where an HPA keeps its CPU utilisation target (v1, v2 or v2beta1), if it has one. */
function hpaCpuTargetPath(obj: Obj): Key[] | undefined {
  const spec = getPath(obj, ['spec']);
  if (
    obj.apiVersion === 'autoscaling/v1' ||
    isPresent(getPath(spec, ['targetCPUUtilizationPercentage']))
  ) {
    return ['spec', 'targetCPUUtilizationPercentage'];
  }
  const metrics = getPath(spec, ['metrics']);
  if (!Array.isArray(metrics)) return undefined;
  const index = metrics.findIndex(
    (m) => getPath(m, ['type']) === 'Resource' && getPath(m, ['resource', 'name']) === 'cpu',
  );
  if (index < 0) return undefined;
  const resource = getPath(metrics[index], ['resource']);
  if (isObj(getPath(resource, ['target']))) {
    return getPath(resource, ['target', 'type']) === 'Utilization'
      ? ['spec', 'metrics', index, 'resource', 'target', 'averageUtilization']
      : undefined;
  }
  return isPresent(getPath(resource, ['targetAverageUtilization']))
    ? ['spec', 'metrics', index, 'resource', 'targetAverageUtilization']
    : undefined;
}

function hpaFields(hpa: Located, sizing: Sizing): NumberField[] {
  const autoscaling = sizing.autoscaling!;
  const label = `HorizontalPodAutoscaler/${str(getPath(hpa.obj, ['metadata', 'name'])) ?? '?'}`;
  const reason = reasonFor(sizing, 'autoscaling');
  const out = [
    countField(
      hpa.doc,
      [...hpa.base, 'spec', 'minReplicas'],
      `${label} spec.minReplicas`,
      autoscaling.minReplicas,
      reason,
    ),
    countField(
      hpa.doc,
      [...hpa.base, 'spec', 'maxReplicas'],
      `${label} spec.maxReplicas`,
      autoscaling.maxReplicas,
      reason,
    ),
  ];
  const target = hpaCpuTargetPath(hpa.obj);
  if (target) {
    out.push(
      countField(
        hpa.doc,
        [...hpa.base, ...target],
        `${label} ${pathText(target)}`,
        autoscaling.targetCpuUtilization,
        reason,
      ),
    );
  }
  return out;
}

function pathText(path: Key[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`))
    .join('');
}

// ---------------------------------------------------------------------------------------------
// Helm values

/** The values block a deployment reads from: `resources` → [], `api.resources` → ['api']. */
function helmPrefix(existing: ExistingDeployment): Key[] {
  const written = existing.containers[0]?.rawResources?._path;
  if (typeof written === 'string' && /(?:^|\.)resources$/.test(written)) {
    return written.split('.').slice(0, -1);
  }
  const slash = existing.name.indexOf('/');
  return slash < 0 ? [] : existing.name.slice(slash + 1).split('.');
}

function patchHelmValues(existing: ExistingDeployment, sizing: Sizing, text: string): PatchResult {
  const parsed = parseStream(existing.file, text);
  if (!parsed.ok) return unsupported(parsed.reason);
  const stream = parsed.value;
  const values = stream.values[0];
  if (!isObj(values)) return unsupported(`${existing.file} holds no values mapping.`);
  const prefix = helmPrefix(existing);
  const block = getPath(values, prefix);
  if (prefix.length > 0 && !isObj(block)) {
    return unsupported(`${existing.file} has no "${pathText(prefix)}" block.`);
  }
  const fields = resourceFields(
    0,
    [...prefix, 'resources'],
    pathText([...prefix, 'resources']),
    sizing,
    KUBERNETES_QUANTITIES,
    KUBERNETES_KEYS,
  );

  const autoscaling = getPath(block, ['autoscaling']);
  if (isObj(autoscaling) && autoscaling.enabled === true) {
    // The chart renders an HPA and ignores replicaCount; the HPA bounds are what count.
    if (sizing.autoscaling) {
      const reason = reasonFor(sizing, 'autoscaling');
      const settings: [string, number][] = [
        ['minReplicas', sizing.autoscaling.minReplicas],
        ['maxReplicas', sizing.autoscaling.maxReplicas],
        ['targetCPUUtilizationPercentage', sizing.autoscaling.targetCpuUtilization],
      ];
      for (const [key, want] of settings) {
        const path = [...prefix, 'autoscaling', key];
        fields.push(countField(0, path, pathText(path), want, reason));
      }
    }
  } else if (isPresent(getPath(block, ['replicaCount']))) {
    const path = [...prefix, 'replicaCount'];
    fields.push(
      countField(0, path, pathText(path), sizing.replicas, reasonFor(sizing, 'replicas')),
    );
  }

  const draft = emptyDraft();
  for (const field of fields) {
    const problem = editField(draft, stream, field);
    if (problem) return unsupported(problem);
  }
  return singleFileResult(stream, draft);
}

// ---------------------------------------------------------------------------------------------
// Compose

/** Service-level keys older compose files use instead of `deploy.resources`. */
const COMPOSE_LEGACY: Partial<Record<`${ResourceBlock}.${ResourceName}`, string>> = {
  'limits.cpu': 'cpus',
  'limits.memory': 'mem_limit',
  'requests.memory': 'mem_reservation',
};
const COMPOSE_KEYS = { requests: 'reservations', limits: 'limits', cpu: 'cpus', memory: 'memory' };

function patchCompose(existing: ExistingDeployment, sizing: Sizing, text: string): PatchResult {
  const parsed = parseStream(existing.file, text);
  if (!parsed.ok) return unsupported(parsed.reason);
  const stream = parsed.value;
  const servicePath: Key[] = ['services', existing.name];
  const service = getPath(stream.values[0], servicePath);
  if (!isObj(service)) return unsupported(`${existing.file} has no service "${existing.name}".`);

  const resourcesPath = [...servicePath, 'deploy', 'resources'];
  const fields = resourceFields(
    0,
    resourcesPath,
    pathText(resourcesPath),
    sizing,
    COMPOSE_QUANTITIES,
    COMPOSE_KEYS,
  ).map((field, i) => {
    const f = RESOURCE_FIELDS[i]!;
    const legacy = COMPOSE_LEGACY[`${f.block}.${f.resource}`];
    const modern = getPath(stream.values[0], field.path);
    if (!legacy || isPresent(modern) || !isPresent(service[legacy])) return field;
    const path = [...servicePath, legacy];
    return { ...field, path, label: pathText(path) };
  });

  const deployReplicas = getPath(service, ['deploy', 'replicas']);
  const replicasKey = isPresent(deployReplicas)
    ? ['deploy', 'replicas']
    : isPresent(service.scale)
      ? ['scale']
      : undefined;
  if (replicasKey) {
    const path = [...servicePath, ...replicasKey];
    fields.push(
      countField(0, path, pathText(path), sizing.replicas, reasonFor(sizing, 'replicas')),
    );
  }

  const draft = emptyDraft();
  for (const field of fields) {
    const problem = editField(draft, stream, field);
    if (problem) return unsupported(problem);
  }
  return singleFileResult(stream, draft);
}

// ---------------------------------------------------------------------------------------------
// Kustomize

/** One value the overlay's strategic-merge patch must carry. */
interface PatchSetting {
  /** Path inside the container entry, or from the object root when `root` is set. */
  path: Key[];
  root: boolean;
  /** null deletes the field from the base (strategic merge). */
  value: Value;
  /** Whether the patch file does not say this yet; only such settings are written. */
  changed: boolean;
  reason?: string;
}

/** The overlay's own patch file as it is now (`before` undefined when it does not exist yet). */
interface OwnPatch {
  path: string;
  fileName: string;
  before?: string;
  stream?: Stream;
  located?: Located;
  /** The container's entry in the patch, -1 when it has none. */
  containerIndex: number;
}

function stripAffixes(name: string, prefix: unknown, suffix: unknown): string {
  let out = name;
  const before = str(prefix);
  const after = str(suffix);
  if (before && out.startsWith(before) && out.length > before.length) {
    out = out.slice(before.length);
  }
  if (after && out.endsWith(after) && out.length > after.length) out = out.slice(0, -after.length);
  return out;
}

function slug(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned || 'workload';
}

function sameEntryPath(entry: unknown, file: string): boolean {
  return typeof entry === 'string' && posix.normalize(entry) === file;
}

function readOwnPatch(
  readFile: (path: string) => string | undefined,
  kustomizationFile: string,
  target: { kind: string; name: string; podSpecPath: Key[]; container: string },
): Outcome<OwnPatch> {
  const dir = posix.dirname(kustomizationFile);
  const fileName = `ai-provision-${slug(target.name)}.yaml`;
  const path = dir === '.' ? fileName : `${dir}/${fileName}`;
  const before = readFile(path);
  if (before === undefined) return { ok: true, value: { path, fileName, containerIndex: -1 } };
  const parsed = parseStream(path, before);
  if (!parsed.ok) return parsed;
  const located = findWorkload(parsed.value.values, target.kind, target.name, undefined);
  if (!located) {
    return {
      ok: false,
      reason: `${path} exists but patches no ${target.kind} named "${target.name}".`,
    };
  }
  const containers = getPath(located.obj, [...target.podSpecPath, 'containers']);
  const containerIndex = Array.isArray(containers)
    ? containers.findIndex((c) => getPath(c, ['name']) === target.container)
    : -1;
  return {
    ok: true,
    value: { path, fileName, before, stream: parsed.value, located, containerIndex },
  };
}

function valueInPatch(own: OwnPatch, podSpecPath: Key[], path: Key[], root: boolean): unknown {
  if (!own.located) return undefined;
  if (root) return getPath(own.located.obj, path);
  if (own.containerIndex < 0) return undefined;
  return getPath(own.located.obj, [...podSpecPath, 'containers', own.containerIndex, ...path]);
}

/**
 * What the patch must say about the container's resources: every value that differs from what the
 * overlay builds today, plus whatever the patch already sets (so an earlier patch is updated, never
 * left to contradict the plan).
 */
function resourceSettings(
  container: ExistingDeployment['containers'][number],
  sizing: Sizing,
  label: string,
  inPatch: (path: Key[]) => unknown,
): { settings: PatchSetting[]; changes: PatchChange[] } {
  const settings: PatchSetting[] = [];
  const changes: PatchChange[] = [];
  for (const f of RESOURCE_FIELDS) {
    const path = ['resources', f.block, f.resource];
    const patched = inPatch(path);
    const raw = getPath(container.rawResources, [f.block, f.resource]);
    const built = container.resources?.[f.block]?.[f.resource];
    const from = isPresent(raw) ? { from: String(raw) } : {};
    const field = `${label} containers[${container.name}].resources.${f.block}.${f.resource}`;
    const want = f.want(sizing);
    if (want === undefined) {
      const exists =
        isPresent(patched) || (patched === undefined && (isPresent(raw) || built !== undefined));
      if (patched === null) settings.push({ path, root: false, value: null, changed: false });
      if (!exists) continue;
      const reason = `removed: ${reasonFor(sizing, f.reason)}`;
      settings.push({ path, root: false, value: null, changed: true, reason });
      changes.push({ field, ...from, to: REMOVED });
      continue;
    }
    const text = KUBERNETES_QUANTITIES.text(f.resource, want);
    const same = isPresent(patched)
      ? KUBERNETES_QUANTITIES.amount(f.resource, patched) === want
      : built === want;
    if (same) {
      if (isPresent(patched)) settings.push({ path, root: false, value: text, changed: false });
      continue;
    }
    settings.push({
      path,
      root: false,
      value: text,
      changed: true,
      reason: reasonFor(sizing, f.reason),
    });
    changes.push({ field, ...from, to: text });
  }
  return { settings, changes };
}

/**
 * Writes (or updates) `<overlay>/ai-provision-<name>.yaml`, a strategic-merge patch with the
 * values that differ from what the overlay builds today, and lists it under the kustomization's
 * `patches:`. Replica counts the overlay already sets in `replicas:` are changed there, because
 * kustomize applies that list after every patch.
 */
function patchKustomize(
  existing: ExistingDeployment,
  sizing: Sizing,
  text: string,
  readFile: (path: string) => string | undefined,
): PatchResult {
  const kind = existing.objectKind;
  const apiVersion = API_VERSIONS[kind];
  const podSpecPath = POD_SPEC_PATHS[kind];
  if (!apiVersion || !podSpecPath) {
    return unsupported(`${kind} "${existing.name}" is not a workload ai-provision sizes.`);
  }
  const parsed = parseStream(existing.file, text);
  if (!parsed.ok) return unsupported(parsed.reason);
  const kustomization = parsed.value;
  const k = kustomization.values[0];
  if (!isObj(k)) return unsupported(`${existing.file} holds no kustomization.`);

  // A patch names the object as the overlay's resources do, before its own prefix and suffix.
  const name = stripAffixes(existing.name, k.namePrefix, k.nameSuffix);
  const picked = pickContainer(existing.containers, existing, sizing, name);
  if (!picked.ok) return unsupported(picked.reason);
  const container = existing.containers[picked.value]!;
  if (/^containers\[\d+\]$/.test(container.name)) {
    return unsupported(`${kind} "${existing.name}" has a container without a name to patch.`);
  }
  const own = readOwnPatch(readFile, existing.file, {
    kind,
    name,
    podSpecPath,
    container: container.name,
  });
  if (!own.ok) return unsupported(own.reason);
  const label = `${kind}/${name}`;
  const { settings, changes } = resourceSettings(container, sizing, label, (path) =>
    valueInPatch(own.value, podSpecPath, path, false),
  );

  const kDraft = emptyDraft();
  if (existing.autoscaling === undefined && REPLICATED_KINDS.has(kind)) {
    const entries = Array.isArray(k.replicas) ? k.replicas : [];
    const index = entries.findIndex((e) => {
      const entryName = getPath(e, ['name']);
      return entryName === name || entryName === existing.name;
    });
    if (index >= 0) {
      const field = countField(
        0,
        ['replicas', index, 'count'],
        `${posix.basename(existing.file)} replicas[${name}].count`,
        sizing.replicas,
        reasonFor(sizing, 'replicas'),
      );
      const problem = editField(kDraft, kustomization, field);
      if (problem) return unsupported(problem);
    } else {
      const path = ['spec', 'replicas'];
      const patched = valueInPatch(own.value, podSpecPath, path, true);
      const want = sizing.replicas;
      const current = isPresent(patched) ? patched : existing.replicas;
      if (current !== want) {
        const reason = reasonFor(sizing, 'replicas');
        settings.push({ path, root: true, value: want, changed: true, reason });
        const from = current === undefined ? {} : { from: String(current) };
        changes.push({ field: `${label} spec.replicas`, ...from, to: String(want) });
      } else if (isPresent(patched)) {
        settings.push({ path, root: true, value: want, changed: false });
      }
    }
  }

  const files: PatchedFile[] = [];
  if (settings.length > 0) {
    const written = own.value.stream
      ? updatePatchFile(own.value, podSpecPath, container.name, settings)
      : newPatchFile(
          own.value.path,
          { apiVersion, kind, name, podSpecPath, container: container.name },
          settings,
          sizing,
          layoutOf(text, kustomization.docs),
        );
    if (!written.ok) return unsupported(written.reason);
    const before = own.value.before ?? '';
    if (written.value !== before) files.push(patchedFile(own.value.path, before, written.value));
    const fileName = own.value.fileName;
    const listed =
      (Array.isArray(k.patches) &&
        k.patches.some((p) => sameEntryPath(getPath(p, ['path']), fileName))) ||
      (Array.isArray(k.patchesStrategicMerge) &&
        k.patchesStrategicMerge.some((p) => sameEntryPath(p, fileName)));
    if (!listed) {
      const item = mapNode([['path', leaf(fileName)]]);
      kDraft.edits.push({ op: 'append', doc: 0, path: ['patches'], item });
    }
  }
  if (kDraft.edits.length > 0) {
    const after = editedText(kustomization, kDraft.edits);
    if (!after.ok) return unsupported(after.reason);
    if (after.value !== text) files.push(patchedFile(existing.file, text, after.value));
  }
  if (files.length === 0) return { kind: 'unchanged' };
  return { kind: 'patched', files, changes: [...changes, ...kDraft.changes] };
}

function leaf(value: Value, comment?: string): NewNode {
  return comment === undefined ? { kind: 'leaf', value } : { kind: 'leaf', value, comment };
}

function mapNode(entries: [string, NewNode][]): NewNode {
  return { kind: 'map', entries };
}

function setEdit(path: Key[], value: Value, reason: string | undefined, doc = 0): Edit {
  return reason === undefined
    ? { op: 'set', doc, path, value }
    : { op: 'set', doc, path, value, reason };
}

/** The container entry a patch file carries: its name, then the settings under it. */
function containerNode(containerName: string, settings: PatchSetting[]): Outcome<NewNode> {
  const root = mapNode([['name', leaf(containerName)]]);
  for (const s of settings.filter((x) => !x.root)) {
    const problem = addToTree(root, s.path, setEdit(s.path, s.value, s.reason));
    if (problem) return { ok: false, reason: problem };
  }
  return { ok: true, value: root };
}

interface PatchTarget {
  apiVersion: string;
  kind: string;
  name: string;
  podSpecPath: Key[];
  container: string;
}

function newPatchFile(
  path: string,
  target: PatchTarget,
  settings: PatchSetting[],
  sizing: Sizing,
  layout: Layout,
): Outcome<string> {
  const root = mapNode([
    ['apiVersion', leaf(target.apiVersion)],
    ['kind', leaf(target.kind)],
    ['metadata', mapNode([['name', leaf(target.name)]])],
  ]);
  for (const s of settings.filter((x) => x.root)) {
    const problem = addToTree(root, s.path, setEdit(s.path, s.value, s.reason));
    if (problem) return { ok: false, reason: problem };
  }
  const item = containerNode(target.container, settings);
  if (!item.ok) return item;
  const containersPath = [...target.podSpecPath, 'containers'];
  const append: Edit = { op: 'append', doc: 0, path: containersPath, item: item.value };
  const problem = addToTree(root, containersPath, append);
  if (problem) return { ok: false, reason: problem };
  const header = `# Sizing for ${sizing.service} written by ai-provision; listed under patches in the kustomization.`;
  const text = [header, ...renderEntries(root, 0, layout)].join(layout.eol) + layout.eol;
  const check = parseStream(path, text);
  if (!check.ok || !sameValue(check.value.values[0], jsOf(root))) {
    return { ok: false, reason: `${path} could not be written (it did not read back as written).` };
  }
  return { ok: true, value: text };
}

function updatePatchFile(
  own: OwnPatch,
  podSpecPath: Key[],
  containerName: string,
  settings: PatchSetting[],
): Outcome<string> {
  const stream = own.stream!;
  const located = own.located!;
  const containersPath = [...located.base, ...podSpecPath, 'containers'];
  const edits: Edit[] = [];
  for (const s of settings) {
    if (!s.changed || (!s.root && own.containerIndex < 0)) continue;
    const path = s.root
      ? [...located.base, ...s.path]
      : [...containersPath, own.containerIndex, ...s.path];
    edits.push(setEdit(path, s.value, s.reason, located.doc));
  }
  if (own.containerIndex < 0 && settings.some((s) => !s.root)) {
    const item = containerNode(containerName, settings);
    if (!item.ok) return item;
    edits.push({ op: 'append', doc: located.doc, path: containersPath, item: item.value });
  }
  if (edits.length === 0) return { ok: true, value: stream.text };
  return editedText(stream, edits);
}

// ---------------------------------------------------------------------------------------------
// Applying edits to text

interface Layout {
  eol: string;
  /** Spaces per nesting level. */
  step: number;
  /** Spaces from a key to the dashes of its block sequence (0 or `step`, usually). */
  seqIndent: number;
}

interface Splice {
  start: number;
  end: number;
  text: string;
  /** Among insertions at one offset, lower comes first in the text. */
  priority: number;
  order: number;
}

function lineStartAt(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** End of the line holding `offset`, before any '\r\n' or '\n'. */
function lineEndAt(text: string, offset: number): number {
  let end = text.indexOf('\n', offset);
  if (end < 0) end = text.length;
  if (end > offset && text[end - 1] === '\r') end -= 1;
  return end;
}

function nextLineStart(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end < 0 ? text.length : end + 1;
}

function columnOf(text: string, offset: number): number {
  return offset - lineStartAt(text, offset);
}

function mostCommon(counts: Map<number, number>): number | undefined {
  let best: number | undefined;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== undefined && value < best)) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/** The file's own indentation habits, so inserted lines look like their neighbours. */
function layoutOf(text: string, docs: Document.Parsed[]): Layout {
  const steps = new Map<number, number>();
  const seqs = new Map<number, number>();
  for (const doc of docs) {
    visit(doc, {
      Pair(_key, pair) {
        const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
        if (keyStart === undefined) return;
        const keyCol = columnOf(text, keyStart);
        const value = pair.value;
        if (isMap(value) && !value.flow) {
          const first = value.items[0]?.key;
          const childStart = isScalar(first) ? first.range?.[0] : undefined;
          const diff = childStart === undefined ? 0 : columnOf(text, childStart) - keyCol;
          if (diff > 0) steps.set(diff, (steps.get(diff) ?? 0) + 1);
        } else if (isSeq(value) && !value.flow && value.range) {
          const diff = columnOf(text, value.range[0]) - keyCol;
          if (diff >= 0) seqs.set(diff, (seqs.get(diff) ?? 0) + 1);
        }
      },
    });
  }
  const step = mostCommon(steps) ?? 2;
  return { eol: text.includes('\r\n') ? '\r\n' : '\n', step, seqIndent: mostCommon(seqs) ?? step };
}

/** Keys written in a conventional order when they are inserted; unknown keys go last. */
const KEY_RANK: Record<string, number> = {
  replicas: 0,
  replicaCount: 0,
  requests: 1,
  limits: 2,
  reservations: 3,
  cpu: 1,
  cpus: 1,
  memory: 2,
  minReplicas: 1,
  maxReplicas: 2,
};

const UNRANKED = 100;

function rank(key: unknown): number {
  return typeof key === 'string' ? (KEY_RANK[key] ?? UNRANKED) : UNRANKED;
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

function findPair(map: YAMLMap, key: Key): Pair | undefined {
  return map.items.find((p) => String(keyOf(p)) === String(key));
}

function isEmptyValue(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  if (isScalar(node)) return node.value === null;
  return (isMap(node) || isSeq(node)) && node.items.length === 0;
}

/** Whether `key` reaches `map` through a merge key (`<<: *defaults`), where an edit would fork it. */
function mergedHas(doc: Document.Parsed, map: YAMLMap, key: Key): boolean {
  for (const pair of map.items) {
    if (keyOf(pair) !== '<<') continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const resolved = isAlias(source) ? source.resolve(doc) : source;
      if (isMap(resolved) && (findPair(resolved, key) || mergedHas(doc, resolved, key)))
        return true;
    }
  }
  return false;
}

type Resolution =
  | { kind: 'scalar'; node: Scalar }
  | { kind: 'pair'; pair: Pair }
  | { kind: 'missing'; map: YAMLMap; depth: number }
  | { kind: 'empty'; pair: Pair; depth: number }
  | { kind: 'flow'; node: YAMLMap | YAMLSeq; depth: number }
  | { kind: 'seq'; seq: YAMLSeq }
  | { kind: 'absent' }
  | { kind: 'fail'; reason: string };

/** Follows an edit's path through the document's nodes as far as they exist. */
function resolve(doc: Document.Parsed, edit: Edit, aliased: Set<string>): Resolution {
  const { path } = edit;
  let node: unknown = doc.contents;
  let holder: Pair | undefined;
  for (let depth = 0; ; depth += 1) {
    const where = pathText(path.slice(0, depth)) || 'the document';
    if (isAlias(node)) {
      return {
        kind: 'fail',
        reason: `${where} is an alias (*${node.source}) of a value other entries share`,
      };
    }
    const anchor = isMap(node) || isSeq(node) || isScalar(node) ? node.anchor : undefined;
    if (anchor && aliased.has(anchor)) {
      return {
        kind: 'fail',
        reason: `${where} carries the anchor &${anchor}, which other entries reuse`,
      };
    }
    if (depth === path.length) return resolveEnd(edit, node, holder, depth, where);
    if (isEmptyValue(node)) {
      if (edit.op === 'remove') return { kind: 'absent' };
      return holder
        ? { kind: 'empty', pair: holder, depth }
        : { kind: 'fail', reason: `${where} is empty` };
    }
    if ((isMap(node) || isSeq(node)) && node.flow) return { kind: 'flow', node, depth };
    const key = path[depth]!;
    if (isMap(node)) {
      const pair = findPair(node, key);
      if (!pair) {
        if (mergedHas(doc, node, key)) {
          return {
            kind: 'fail',
            reason: `${pathText(path.slice(0, depth + 1))} comes from a merge key (<<) shared with other entries`,
          };
        }
        return edit.op === 'remove' ? { kind: 'absent' } : { kind: 'missing', map: node, depth };
      }
      holder = pair;
      node = pair.value;
      continue;
    }
    if (isSeq(node) && typeof key === 'number' && node.items[key] !== undefined) {
      holder = undefined;
      node = node.items[key];
      continue;
    }
    return { kind: 'fail', reason: `${where} is not a mapping` };
  }
}

function resolveEnd(
  edit: Edit,
  node: unknown,
  holder: Pair | undefined,
  depth: number,
  where: string,
): Resolution {
  switch (edit.op) {
    case 'set':
      if (isScalar(node) && node.range) {
        return node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED'
          ? { kind: 'fail', reason: `${where} is a block scalar` }
          : { kind: 'scalar', node };
      }
      return { kind: 'fail', reason: `${where} is not a single value` };
    case 'remove':
      return holder ? { kind: 'pair', pair: holder } : { kind: 'absent' };
    case 'append':
      if (isEmptyValue(node)) {
        return holder
          ? { kind: 'empty', pair: holder, depth }
          : { kind: 'fail', reason: `${where} is empty` };
      }
      if (isSeq(node))
        return node.flow ? { kind: 'flow', node, depth } : { kind: 'seq', seq: node };
      return { kind: 'fail', reason: `${where} is not a list` };
  }
}

/** Adds what an edit writes below an existing point to a tree of new content. */
function addToTree(root: NewNode, rest: Key[], edit: Edit): string | undefined {
  if (rest.length === 0) {
    if (edit.op === 'append' && root.kind === 'seq') {
      root.items.push(edit.item);
      return undefined;
    }
    return `${pathText(edit.path)} cannot be written here`;
  }
  let node = root;
  for (let i = 0; i < rest.length; i += 1) {
    const key = rest[i]!;
    if (node.kind !== 'map' || typeof key !== 'string')
      return `${pathText(edit.path)} does not exist`;
    const last = i === rest.length - 1;
    const found = node.entries.find(([k]) => k === key);
    if (last && edit.op === 'set') {
      const value = leaf(
        edit.value,
        edit.reason === undefined ? undefined : commentOf([edit.reason]),
      );
      if (found) found[1] = value;
      else node.entries.push([key, value]);
      return undefined;
    }
    if (last && edit.op === 'append') {
      const seq: NewNode = found?.[1] ?? { kind: 'seq', items: [] };
      if (seq.kind !== 'seq') return `${pathText(edit.path)} is not a list`;
      seq.items.push(edit.item);
      if (!found) node.entries.push([key, seq]);
      return undefined;
    }
    if (last) return undefined;
    const child: NewNode = found?.[1] ?? mapNode([]);
    if (!found) node.entries.push([key, child]);
    node = child;
  }
  return undefined;
}

function jsOf(node: NewNode): unknown {
  switch (node.kind) {
    case 'leaf':
      return node.value;
    case 'map':
      return Object.fromEntries(node.entries.map(([k, v]) => [k, jsOf(v)]));
    case 'seq':
      return node.items.map(jsOf);
  }
}

/** Whether a string can be written without quotes and still read back as the same string. */
function isPlainSafe(value: string): boolean {
  if (!/^[A-Za-z0-9_][\w./-]*$/.test(value)) return false;
  try {
    return parse(value) === value;
  } catch {
    return false;
  }
}

function formatNew(value: Value): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  return isPlainSafe(value) ? value : JSON.stringify(value);
}

/** A value in the quoting style of the one it replaces, when that still reads back the same. */
function formatReplacement(value: Value, old: Scalar): string {
  if (typeof value !== 'string') return formatNew(value);
  if (old.type === 'QUOTE_SINGLE') return `'${value.replaceAll("'", "''")}'`;
  if (old.type === 'QUOTE_DOUBLE') return JSON.stringify(value);
  return formatNew(value);
}

function sortedEntries(node: NewNode & { kind: 'map' }): [string, NewNode][] {
  return [...node.entries].sort((a, b) => rank(a[0]) - rank(b[0]));
}

function renderEntries(node: NewNode, col: number, layout: Layout): string[] {
  if (node.kind !== 'map') return [];
  return sortedEntries(node).flatMap(([k, v]) => renderEntry(k, v, col, layout));
}

function renderEntry(key: string, node: NewNode, col: number, layout: Layout): string[] {
  const pad = ' '.repeat(col);
  switch (node.kind) {
    case 'leaf':
      return [`${pad}${key}: ${formatNew(node.value)}${node.comment ? ` ${node.comment}` : ''}`];
    case 'map':
      return [`${pad}${key}:`, ...renderEntries(node, col + layout.step, layout)];
    case 'seq':
      return [`${pad}${key}:`, ...renderItems(node.items, col + layout.seqIndent, layout)];
  }
}

function renderItems(items: NewNode[], dashCol: number, layout: Layout): string[] {
  const dash = `${' '.repeat(dashCol)}- `;
  return items.flatMap((item) => {
    if (item.kind === 'leaf') {
      return [`${dash}${formatNew(item.value)}${item.comment ? ` ${item.comment}` : ''}`];
    }
    if (item.kind === 'seq') return [];
    const lines = renderEntries(item, dashCol + 2, layout);
    if (lines.length === 0) return [`${dash}{}`];
    lines[0] = `${dash}${lines[0]!.slice(dashCol + 2)}`;
    return lines;
  });
}

/**
 * The rest of a line after an edited value, with our comment: an earlier `# ai-provision:` comment
 * is replaced, a person's comment is kept and ours follows it.
 */
function withComment(rest: string, comment: string | undefined): string {
  if (!comment) return rest;
  const marker = rest.indexOf(COMMENT_PREFIX.trimEnd());
  if (marker >= 0) return `${rest.slice(0, marker)}${comment}`;
  if (rest.trim() === '') return ` ${comment}`;
  if (rest.trimStart().startsWith('#')) return `${rest} ${comment}`;
  return rest;
}

/** Start of the comment lines directly above a line, so an insertion never splits them from their key. */
function leadingCommentsStart(text: string, lineStart: number): number {
  let start = lineStart;
  while (start > 0) {
    const previous = lineStartAt(text, start - 1);
    if (!text.slice(previous, start).trim().startsWith('#')) break;
    start = previous;
  }
  return start;
}

function endOfPair(pair: Pair): number {
  const value = pair.value;
  const valueEnd = isScalar(value) || isMap(value) || isSeq(value) ? value.range?.[1] : undefined;
  const keyEnd = isScalar(pair.key) ? (pair.key.range?.[1] ?? 0) : 0;
  return Math.max(valueEnd ?? keyEnd, keyEnd);
}

/**
 * Where a new key goes in a block mapping: before the first known key it ranks ahead of
 * (`requests` before `limits`), first when it leads (`replicas`), else after the last key.
 */
function insertionPoint(text: string, map: YAMLMap, key: string): number {
  const own = rank(key);
  const successor =
    map.items.find((p) => rank(keyOf(p)) > own && rank(keyOf(p)) < UNRANKED) ??
    (own === 0 ? map.items[0] : undefined);
  const successorStart =
    successor && isScalar(successor.key) ? successor.key.range?.[0] : undefined;
  if (successorStart !== undefined) {
    const start = lineStartAt(text, successorStart);
    if (text.slice(start, successorStart).trim() === '') return leadingCommentsStart(text, start);
  }
  const last = map.items[map.items.length - 1]!;
  return nextLineStart(text, Math.max(endOfPair(last) - 1, 0));
}

function keyColumn(text: string, map: YAMLMap): number | undefined {
  const first = map.items[0]?.key;
  const start = isScalar(first) ? first.range?.[0] : undefined;
  return start === undefined ? undefined : columnOf(text, start);
}

function aliasedAnchors(doc: Document.Parsed): Set<string> {
  const out = new Set<string>();
  visit(doc, {
    Alias(_key, node) {
      out.add(node.source);
    },
  });
  return out;
}

/** Turns edits into text splices at the nodes' source ranges; fails rather than guess. */
function applyEdits(stream: Stream, edits: Edit[]): Outcome<string> {
  const { text, docs } = stream;
  const layout = layoutOf(text, docs);
  const splices: Splice[] = [];
  const missing = new Map<YAMLMap, NewNode>();
  const empty = new Map<Pair, NewNode>();
  const flows = new Map<YAMLMap | YAMLSeq, { depth: number; edits: Edit[] }>();
  const appends = new Map<YAMLSeq, NewNode[]>();
  const anchors = new Map<number, Set<string>>();
  let order = 0;
  function add(start: number, end: number, inserted: string, priority = 0): void {
    splices.push({ start, end, text: inserted, priority, order: order++ });
  }
  let eolAdded = false;
  /**
   * Inserted lines end with the file's line break (a file end without one gets one first). At one
   * offset, deeper blocks go first: they close the entry above before a shallower key starts.
   */
  function insertLines(at: number, lines: string[], column: number): void {
    if (lines.length === 0) return;
    if (at === text.length && text.length > 0 && !text.endsWith('\n') && !eolAdded) {
      eolAdded = true;
      add(at, at, layout.eol, -Infinity);
    }
    add(at, at, `${lines.join(layout.eol)}${layout.eol}`, -column);
  }

  for (const edit of edits) {
    const doc = docs[edit.doc];
    if (!doc) return { ok: false, reason: `document ${edit.doc + 1} does not exist` };
    const aliased = anchors.get(edit.doc) ?? aliasedAnchors(doc);
    anchors.set(edit.doc, aliased);
    const at = resolve(doc, edit, aliased);
    switch (at.kind) {
      case 'fail':
        return { ok: false, reason: at.reason };
      case 'absent':
        break;
      case 'scalar': {
        if (edit.op !== 'set') break;
        const [start, end] = at.node.range!;
        const lineEnd = lineEndAt(text, end);
        const rest = text.slice(end, lineEnd);
        const lead = start === end ? ' ' : '';
        const comment = edit.reason === undefined ? undefined : commentOf([edit.reason]);
        add(
          start,
          lineEnd,
          `${lead}${formatReplacement(edit.value, at.node)}${withComment(rest, comment)}`,
        );
        break;
      }
      case 'pair': {
        const keyStart = isScalar(at.pair.key) ? at.pair.key.range?.[0] : undefined;
        if (edit.op !== 'remove') break;
        if (keyStart === undefined)
          return { ok: false, reason: `${pathText(edit.path)} has an unusual key` };
        const start = lineStartAt(text, keyStart);
        if (text.slice(start, keyStart).trim() !== '') {
          return { ok: false, reason: `${pathText(edit.path)} shares its line with other content` };
        }
        const end = nextLineStart(text, Math.max(endOfPair(at.pair) - 1, keyStart));
        if (end !== nextLineStart(text, keyStart)) {
          add(start, end, '');
          break;
        }
        // A one-line value is commented out rather than deleted: its comment and the old value stay
        // in view for the reviewer, with the reason it went.
        const lineEnd = lineEndAt(text, keyStart);
        const ours = commentOf([`removed: ${edit.reason ?? 'no reason recorded'}`]);
        const written = text.slice(keyStart, lineEnd).split(` ${COMMENT_PREFIX.trimEnd()}`)[0]!;
        add(keyStart, lineEnd, `# ${written.trimEnd()} ${ours}`);
        break;
      }
      case 'missing': {
        const tree = missing.get(at.map) ?? mapNode([]);
        missing.set(at.map, tree);
        const problem = addToTree(tree, edit.path.slice(at.depth), edit);
        if (problem) return { ok: false, reason: problem };
        break;
      }
      case 'empty': {
        const rest = edit.path.slice(at.depth);
        const tree =
          empty.get(at.pair) ?? (rest.length === 0 ? { kind: 'seq', items: [] } : mapNode([]));
        empty.set(at.pair, tree);
        const problem = addToTree(tree, rest, edit);
        if (problem) return { ok: false, reason: problem };
        break;
      }
      case 'flow': {
        const group = flows.get(at.node) ?? { depth: at.depth, edits: [] };
        flows.set(at.node, group);
        group.edits.push(edit);
        break;
      }
      case 'seq': {
        if (edit.op !== 'append') break;
        const items = appends.get(at.seq) ?? [];
        appends.set(at.seq, items);
        items.push(edit.item);
        break;
      }
    }
  }

  for (const [map, tree] of missing) {
    const col = keyColumn(text, map);
    if (col === undefined || tree.kind !== 'map')
      return { ok: false, reason: 'a mapping has no keys to align with' };
    const byPoint = new Map<number, string[]>();
    for (const [key, node] of sortedEntries(tree)) {
      const point = insertionPoint(text, map, key);
      byPoint.set(point, [...(byPoint.get(point) ?? []), ...renderEntry(key, node, col, layout)]);
    }
    for (const [point, lines] of byPoint) insertLines(point, lines, col);
  }

  for (const [pair, tree] of empty) {
    const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    const keyEnd = isScalar(pair.key) ? pair.key.range?.[1] : undefined;
    if (keyStart === undefined || keyEnd === undefined)
      return { ok: false, reason: 'an empty value has an unusual key' };
    const value = pair.value;
    const range = isScalar(value) || isMap(value) || isSeq(value) ? value.range : undefined;
    if (range && range[1] > range[0]) {
      // `resources: {}` or `key: ~` becomes `resources:` with the new block below it.
      if (lineStartAt(text, range[0]) !== lineStartAt(text, keyStart)) {
        return { ok: false, reason: 'an empty value sits on its own line' };
      }
      const colon = text.lastIndexOf(':', range[0]);
      add(colon + 1, range[1], '');
    }
    const col = columnOf(text, keyStart) + (tree.kind === 'seq' ? layout.seqIndent : layout.step);
    const lines =
      tree.kind === 'seq' ? renderItems(tree.items, col, layout) : renderEntries(tree, col, layout);
    insertLines(nextLineStart(text, keyEnd), lines, col);
  }

  for (const [seq, items] of appends) {
    const start = seq.range?.[0];
    const end = seq.range?.[1];
    if (start === undefined || end === undefined)
      return { ok: false, reason: 'a list has no position' };
    const col = columnOf(text, start);
    insertLines(
      nextLineStart(text, Math.max(end - 1, start)),
      renderItems(items, col, layout),
      col,
    );
  }

  for (const [node, group] of flows) {
    const rewritten = rewriteFlow(text, node, group.depth, group.edits);
    if (!rewritten.ok) return rewritten;
    const [start, end] = node.range!;
    const lineEnd = lineEndAt(text, end);
    const reasons = group.edits.flatMap((e) => {
      if (e.op === 'append' || e.reason === undefined) return [];
      return [e.op === 'remove' ? `removed: ${e.reason}` : e.reason];
    });
    add(
      start,
      lineEnd,
      `${rewritten.value}${withComment(text.slice(end, lineEnd), commentOf(reasons))}`,
    );
  }

  // Back to front, so earlier offsets stay valid; at one offset a replacement goes before an insertion.
  splices.sort(
    (a, b) => b.start - a.start || b.end - a.end || b.priority - a.priority || b.order - a.order,
  );
  let out = text;
  let limit = text.length;
  for (const s of splices) {
    if (s.end > limit) return { ok: false, reason: 'two edits overlap' };
    out = out.slice(0, s.start) + s.text + out.slice(s.end);
    limit = s.start;
  }
  return { ok: true, value: out };
}

/** A flow collection (`{requests: {cpu: 100m}}`) rewritten whole, on one line, in its own padding. */
function rewriteFlow(
  text: string,
  node: YAMLMap | YAMLSeq,
  depth: number,
  edits: Edit[],
): Outcome<string> {
  const scratch = new Document(null);
  // clone() is typed as a bare Collection; it returns a copy of the same class.
  const clone = node.clone() as YAMLMap | YAMLSeq;
  // Anchor and trailing comment sit outside the rewritten range and stay where they are.
  clone.anchor = undefined;
  clone.comment = null;
  for (const edit of edits) {
    const rest = edit.path.slice(depth);
    switch (edit.op) {
      case 'set': {
        const old = clone.getIn(rest, true);
        const scalar = new Scalar(edit.value);
        if (
          isScalar(old) &&
          typeof edit.value === 'string' &&
          (old.type === 'QUOTE_SINGLE' || old.type === 'QUOTE_DOUBLE')
        ) {
          scalar.type = old.type;
        }
        clone.setIn(rest, scalar);
        break;
      }
      case 'remove':
        clone.deleteIn(rest);
        break;
      case 'append': {
        const target = rest.length === 0 ? clone : clone.getIn(rest, true);
        if (isSeq(target)) target.add(scratch.createNode(jsOf(edit.item)));
        else clone.setIn(rest, scratch.createNode([jsOf(edit.item)]));
        break;
      }
    }
  }
  scratch.contents = clone;
  const padded = text[(node.range?.[0] ?? 0) + 1] === ' ';
  const rendered = scratch
    .toString({ lineWidth: 0, flowCollectionPadding: padded })
    .replace(/\r?\n$/, '');
  if (rendered.includes('\n')) {
    return {
      ok: false,
      reason: `${pathText(edits[0]?.path.slice(0, depth) ?? [])} is a flow collection with comments or line breaks`,
    };
  }
  return { ok: true, value: rendered };
}

/** Applies edits to the plain data of the original, for comparison with what the new text reads as. */
function expectedValues(stream: Stream, edits: Edit[]): unknown[] {
  const values = structuredClone(stream.values);
  for (const edit of edits) {
    const last = edit.path[edit.path.length - 1];
    if (last === undefined) continue;
    const parent = parentFor(values, edit);
    if (parent === undefined) continue;
    if (edit.op === 'set') parent[last] = edit.value;
    else if (edit.op === 'remove') delete parent[last];
    else {
      const list = parent[last];
      parent[last] = [...(Array.isArray(list) ? list : []), jsOf(edit.item)];
    }
  }
  return values;
}

/** The collection an edit writes into; created for set and append, undefined when a removal has nothing. */
function parentFor(values: unknown[], edit: Edit): Record<Key, unknown> | undefined {
  let parent: unknown = values[edit.doc];
  for (const key of edit.path.slice(0, -1)) {
    let next = getPath(parent, [key]);
    if (!isPresent(next)) {
      if (edit.op === 'remove' || !isObj(parent) || typeof key !== 'string') return undefined;
      next = {};
      parent[key] = next;
    }
    parent = next;
  }
  return isObj(parent) || Array.isArray(parent) ? (parent as Record<Key, unknown>) : undefined;
}

/** The edited text must read as the original plus exactly the edits; returns what went wrong. */
function verify(stream: Stream, after: string, edits: Edit[]): string | undefined {
  const reread = parseStream(stream.path, after);
  if (!reread.ok) return reread.reason;
  if (reread.value.values.length !== stream.values.length) return 'the document count changed';
  const expected = expectedValues(stream, edits);
  const index = expected.findIndex((value, i) => !sameValue(value, reread.value.values[i]));
  return index < 0 ? undefined : `document ${index + 1} did not read back as intended`;
}

// ---------------------------------------------------------------------------------------------
// Diff

const DIFF_CONTEXT = 3;
/** Beyond this many line pairs the changed middle is shown as one replacement. */
const MAX_LCS_CELLS = 4_000_000;
const NO_NEWLINE = '\u0000';

interface DiffOp {
  tag: ' ' | '-' | '+';
  line: string;
}

function diffLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (text.endsWith('\n')) lines.pop();
  else lines[lines.length - 1] += NO_NEWLINE;
  return lines;
}

function lineOps(a: string[], b: string[]): DiffOp[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail += 1;
  }
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const ops: DiffOp[] = a.slice(0, head).map((line) => ({ tag: ' ', line }));
  if (am.length * bm.length > MAX_LCS_CELLS) {
    ops.push(
      ...am.map((line): DiffOp => ({ tag: '-', line })),
      ...bm.map((line): DiffOp => ({ tag: '+', line })),
    );
  } else {
    // lcs[i][j] = length of the longest common subsequence of am[i..] and bm[j..].
    const width = bm.length + 1;
    const lcs = new Uint32Array((am.length + 1) * width);
    for (let i = am.length - 1; i >= 0; i -= 1) {
      for (let j = bm.length - 1; j >= 0; j -= 1) {
        lcs[i * width + j] =
          am[i] === bm[j]
            ? lcs[(i + 1) * width + j + 1]! + 1
            : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < am.length || j < bm.length) {
      if (i < am.length && j < bm.length && am[i] === bm[j]) {
        ops.push({ tag: ' ', line: am[i]! });
        i += 1;
        j += 1;
      } else if (
        j >= bm.length ||
        (i < am.length && lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)
      ) {
        ops.push({ tag: '-', line: am[i]! });
        i += 1;
      } else {
        ops.push({ tag: '+', line: bm[j]! });
        j += 1;
      }
    }
  }
  ops.push(...a.slice(a.length - tail).map((line): DiffOp => ({ tag: ' ', line })));
  return ops;
}

function hunkRange(start: number, count: number): string {
  return `${count === 0 ? start : start + 1},${count}`;
}

/**
 * A unified diff (`--- a/path`, `+++ b/path`, `@@` hunks with three lines of context) of two small
 * texts; '' when they are equal. A created file is diffed against /dev/null.
 */
export function unifiedDiff(before: string, after: string, path: string): string {
  if (before === after) return '';
  const ops = lineOps(diffLines(before), diffLines(after));
  // Line positions in before and after at the start of each op.
  const aAt: number[] = [];
  const bAt: number[] = [];
  let a = 0;
  let b = 0;
  for (const op of ops) {
    aAt.push(a);
    bAt.push(b);
    if (op.tag !== '+') a += 1;
    if (op.tag !== '-') b += 1;
  }
  aAt.push(a);
  bAt.push(b);

  const changed = ops.flatMap((op, i) => (op.tag === ' ' ? [] : [i]));
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const start = Math.max(0, i - DIFF_CONTEXT);
    const end = Math.min(ops.length, i + DIFF_CONTEXT + 1);
    const previous = hunks[hunks.length - 1];
    if (previous && start <= previous[1]) previous[1] = end;
    else hunks.push([start, end]);
  }

  const out = [`--- ${before === '' ? '/dev/null' : `a/${path}`}`, `+++ b/${path}`];
  for (const [start, end] of hunks) {
    const slice = ops.slice(start, end);
    const aCount = slice.filter((op) => op.tag !== '+').length;
    const bCount = slice.filter((op) => op.tag !== '-').length;
    out.push(`@@ -${hunkRange(aAt[start]!, aCount)} +${hunkRange(bAt[start]!, bCount)} @@`);
    for (const op of slice) {
      if (op.line.endsWith(NO_NEWLINE)) {
        out.push(`${op.tag}${op.line.slice(0, -1)}`, '\\ No newline at end of file');
      } else {
        out.push(`${op.tag}${op.line}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}
