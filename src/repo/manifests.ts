/**
 * Existing deployments: what the repository's Kubernetes manifests, kustomize overlays, Helm values
 * and compose files already set for replicas, resources and autoscaling, and which service each of
 * them deploys. Nothing is rendered or executed; templated Helm files are skipped because their
 * sizing lives in the chart's values. Repository content is untrusted: odd input becomes a Note
 * (`manifest-invalid`, `manifest-unreadable`, `manifest-unmatched`) and is never an exception.
 */
import { canonicalRepository, parseImageRef, repositoryAsWritten } from './image-ref.js';
import { posix } from 'node:path';
import { isScalar, parseAllDocuments, visit } from 'yaml';
import { bytesFromMemoryQuantity, millicoresFromCpuQuantity } from '../units.js';
import type {
  ComposeServiceFacts,
  CpuMemory,
  ExistingDeployment,
  Note,
  ResourceSettings,
  ServiceFacts,
} from './schema.js';
import { dirOf, normalise } from './tree.js';
import type { RepoTree } from './tree.js';

export interface DeploymentsResult {
  deployments: ExistingDeployment[];
  notes: Note[];
}

/** What matching needs to know about a service: its name, directory and any image it is known by. */
export interface DeploymentTarget extends Pick<ServiceFacts, 'name' | 'path'> {
  /** Images the service is published as (compose `image:`, CI tags), with or without a tag. */
  images?: string[];
  /** Other names the service goes by (its compose service name, its directory name). */
  aliases?: string[];
}

/** Whether the service is called `name` (already lower-cased) by its own name or an alias. */
function knownAs(service: DeploymentTarget, name: string): boolean {
  return (
    service.name.toLowerCase() === name ||
    (service.aliases ?? []).some((a) => a.toLowerCase() === name)
  );
}

type Obj = Record<string, unknown>;
type Container = ExistingDeployment['containers'][number];
type Autoscaling = NonNullable<ExistingDeployment['autoscaling']>;
type MatchedBy = NonNullable<ExistingDeployment['matchedBy']>;

const WORKLOAD_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'Rollout',
]);
/** Kinds whose `spec.replicas` means a pod count (a Job's parallelism is not a replica count). */
const REPLICATED_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'Rollout']);
/** Kinds kustomize leaves without a namespace. Only workloads and HPAs are read, so a short list. */
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
]);
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const KUSTOMIZATION_NAMES = new Set(KUSTOMIZATION_FILES);
/** Root kustomization = depth 0; bases deeper than this are not followed. */
const MAX_KUSTOMIZE_DEPTH = 5;
const VALUES_FILE = /^values(?:[-._][\w.-]*)?\.ya?ml$/;
const YAML_FILE = /\.ya?ml$/;
const REMOTE_RESOURCE =
  /^(?:[a-z][\w+.-]*:\/\/|git@|(?:github\.com|gitlab\.com|bitbucket\.org)\/)|\?ref=/i;
/**
 * Suffixes stripped from object names when matching by name: they only restate the kind. Suffixes
 * such as `-api`, `-worker` or `-app` are kept, because they tell services apart in a monorepo.
 */
const KIND_SUFFIXES = [
  '-deployment',
  '-deploy',
  '-statefulset',
  '-sts',
  '-daemonset',
  '-cronjob',
  '-rollout',
];
/** Directories that conventionally hold one folder per service's deployment files. */
const DEPLOY_DIRS = new Set([
  'deploy',
  'deployment',
  'deployments',
  'k8s',
  'kube',
  'kubernetes',
  'manifests',
  'charts',
  'chart',
  'helm',
  'kustomize',
]);

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * Reads every existing deployment in the tree: plain Kubernetes YAML (source `kubernetes`), one
 * entry per workload of each root kustomization that changes something (source `kustomize`, file =
 * the kustomization), Helm chart values blocks (source `helm-values`). Only main containers are
 * recorded; init containers run before the app and are not what a plan sizes. HPAs are folded into
 * the workload they target. Deterministic: ordered by source, then file, then document order.
 */
export function readDeployments(tree: RepoTree): DeploymentsResult {
  const notes = noteSink();
  const charts = findCharts(tree, notes);
  const kustomizations = readKustomizations(tree, notes);
  const patchFiles = patchFilesOf(kustomizations, tree);
  const cache = new Map<string, Obj[]>();
  const loader: ObjectLoader = (path) => loadObjects(tree, path, notes, cache);

  const plain: Located[] = [];
  const hpas: LocatedHpa[] = [];
  for (const file of tree.files) {
    if (!isPlainManifestCandidate(file.path, charts, patchFiles)) continue;
    for (const obj of loader(file.path)) {
      collect(obj, file.path, 'kubernetes', file.path, notes, plain, hpas);
    }
  }
  attachHpas(plain, hpas, 'directory');

  const kustomized = readKustomizeOverlays(kustomizations, tree, notes, loader);
  const helm = readHelmValues(tree, charts, notes);
  return {
    deployments: [...plain, ...kustomized].map((l) => l.deployment).concat(helm),
    notes: notes.list,
  };
}

/** Compose services that set resources or replicas, as `compose-service` deployments. */
export function deploymentsFromCompose(compose: ComposeServiceFacts[]): ExistingDeployment[] {
  const out: ExistingDeployment[] = [];
  for (const facts of compose) {
    const resources = hasSettings(facts.resources) ? facts.resources : undefined;
    if (!resources && facts.replicas === undefined) continue;
    const container: Container = { name: facts.service };
    if (facts.image) container.image = facts.image;
    if (resources) container.resources = resources;
    const deployment: ExistingDeployment = {
      file: facts.file,
      source: 'compose',
      objectKind: 'compose-service',
      name: facts.service,
      containers: [container],
    };
    if (facts.replicas !== undefined) deployment.replicas = facts.replicas;
    out.push(deployment);
  }
  return out;
}

/**
 * Sets `service` and `matchedBy` on each deployment, trying in order: image (last path segment
 * without tag equals the service name, or the repository equals one of the service's known images),
 * container name, object name (also without a kind suffix such as `-deployment`), and path (under
 * `deploy|k8s|charts|…/<service>/`, else under the service's own directory; the root service "."
 * never matches by path, or it would claim every third-party manifest). Ties go to the service whose
 * directory holds the file, then to the first by name. Unmatched deployments keep no service and
 * get one `manifest-unmatched` note each. Returns new objects; the input is not modified.
 */
export function matchDeployments(
  deployments: ExistingDeployment[],
  services: DeploymentTarget[],
): DeploymentsResult {
  const sorted = [...services].sort((a, b) => compare(a.name, b.name));
  const notes: Note[] = [];
  const out = deployments.map((deployment) => {
    const { service: _service, matchedBy: _matchedBy, ...rest } = deployment;
    const match = matchOne(deployment, sorted);
    if (match) return { ...rest, service: match.service, matchedBy: match.by };
    notes.push({
      code: 'manifest-unmatched',
      path: deployment.file,
      message: `${deployment.objectKind} "${deployment.name}" could not be matched to a service by image, container name, object name or path.`,
    });
    return rest;
  });
  return { deployments: out, notes };
}

// ---------------------------------------------------------------------------------------------
// Notes

interface NoteSink {
  list: Note[];
  add(note: Note): void;
}

/** Collects notes once each: the same base can be reached from several overlays. */
function noteSink(): NoteSink {
  const seen = new Set<string>();
  const list: Note[] = [];
  return {
    list,
    add(note) {
      const key = `${note.code}\u0000${note.path ?? ''}\u0000${note.message}`;
      if (seen.has(key)) return;
      seen.add(key);
      list.push(note);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// YAML

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObj(value: unknown): Obj | undefined {
  return isObj(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * All documents of a YAML stream as plain values. A document with a syntax error is skipped with
 * one `manifest-invalid` note per file giving the line; the other documents are kept.
 */
function parseYaml(text: string, path: string, notes: NoteSink): unknown[] {
  const values: unknown[] = [];
  let noted = false;
  function invalid(message: string): void {
    if (noted) return;
    noted = true;
    notes.add({ code: 'manifest-invalid', path, message });
  }
  let docs;
  try {
    // Duplicate keys: the last wins rather than losing the document. logLevel keeps library warnings (e.g. about
    // `{{ }}` read as a flow-map key) off stderr; what matters becomes a note.
    docs = parseAllDocuments(text, { uniqueKeys: false, logLevel: 'error' });
  } catch {
    invalid('Not valid YAML; skipped.');
    return values;
  }
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      const reason = (error.message.split('\n')[0] ?? '').replace(/:$/, '');
      const where = line !== undefined && !reason.includes(`line ${line}`) ? ` (line ${line})` : '';
      const templated = text.includes('{{') ? ' It looks templated ({{ }}).' : '';
      invalid(`Not valid YAML: ${reason}${where}; that document was skipped.${templated}`);
      continue;
    }
    keepQuantitiesAsWritten(doc);
    try {
      // The alias limit stops "billion laughs" documents from exhausting memory.
      values.push(doc.toJS({ maxAliasCount: 100 }));
    } catch {
      invalid('YAML uses too many aliases to expand safely; that document was skipped.');
    }
  }
  return values;
}

/** Keys whose numeric values are resource quantities. */
const QUANTITY_KEYS = new Set(['cpu', 'memory', 'ephemeral-storage']);

/**
 * YAML reads `cpu: 0.50` or `memory: 129e6` as numbers and forgets the spelling; resource
 * quantities keep their source text instead, so reports and patches quote what was written.
 */
function keepQuantitiesAsWritten(doc: Parameters<typeof visit>[0]): void {
  visit(doc, {
    Pair(_key, pair) {
      const { key, value } = pair;
      if (!isScalar(key) || !isScalar(value) || typeof value.value !== 'number') return;
      if (value.source && QUANTITY_KEYS.has(String(key.value))) value.value = value.source;
    },
  });
}

/** Kubernetes objects of a stream: any value with a `kind`, with `List` items flattened. */
function kubernetesObjects(values: unknown[]): Obj[] {
  const out: Obj[] = [];
  for (const value of values) {
    if (!isObj(value)) continue;
    const kind = str(value.kind);
    if (!kind) continue;
    if (kind.endsWith('List') && Array.isArray(value.items)) {
      for (const item of value.items) if (isObj(item) && str(item.kind)) out.push(item);
      continue;
    }
    out.push(value);
  }
  return out;
}

type ObjectLoader = (path: string) => Obj[];

/** Objects of one file, parsed once however many overlays include it. */
function loadObjects(
  tree: RepoTree,
  path: string,
  notes: NoteSink,
  cache: Map<string, Obj[]>,
): Obj[] {
  const cached = cache.get(path);
  if (cached) return cached;
  const text = tree.read(path);
  // A cheap substring test keeps CI configs, compose files and the like out of the YAML parser.
  const objects =
    text !== undefined && text.includes('apiVersion:') && text.includes('kind:')
      ? kubernetesObjects(parseYaml(text, path, notes))
      : [];
  cache.set(path, objects);
  return objects;
}

// ---------------------------------------------------------------------------------------------
// Workloads and HPAs

interface Located {
  deployment: ExistingDeployment;
  kind: string;
  name: string;
  namespace?: string;
  /** The file the object came from (for a kustomize overlay, its base file). */
  origin: string;
}

interface LocatedHpa {
  targetKind: string;
  targetName: string;
  namespace?: string;
  origin: string;
  autoscaling: Autoscaling;
}

/** Sorts one object into workloads or HPAs; anything else is ignored. */
function collect(
  obj: Obj,
  origin: string,
  source: ExistingDeployment['source'],
  file: string,
  notes: NoteSink,
  workloads: Located[],
  hpas: LocatedHpa[],
): void {
  const kind = str(obj.kind) ?? '';
  if (kind === 'HorizontalPodAutoscaler') {
    const hpa = hpaFrom(obj, origin);
    if (hpa) hpas.push(hpa);
    return;
  }
  if (!WORKLOAD_KINDS.has(kind)) return;
  const workload = workloadFrom(obj, kind, origin, source, file, notes);
  if (workload) workloads.push(workload);
}

function podSpecOf(obj: Obj, kind: string): Obj | undefined {
  const spec = asObj(obj.spec);
  const template =
    kind === 'CronJob'
      ? asObj(asObj(asObj(spec?.jobTemplate)?.spec)?.template)
      : asObj(spec?.template);
  return asObj(template?.spec);
}

function workloadFrom(
  obj: Obj,
  kind: string,
  origin: string,
  source: ExistingDeployment['source'],
  file: string,
  notes: NoteSink,
): Located | undefined {
  const metadata = asObj(obj.metadata);
  const name = str(metadata?.name) ?? str(metadata?.generateName);
  if (!name) {
    notes.add({
      code: 'manifest-invalid',
      path: origin,
      message: `A ${kind} has no metadata.name; skipped.`,
    });
    return undefined;
  }
  const spec = asObj(obj.spec);
  const podSpec = podSpecOf(obj, kind);
  if (!podSpec || !Array.isArray(podSpec.containers)) {
    // An Argo Rollout may point at a Deployment instead of holding a template; that one is read.
    if (kind === 'Rollout' && isObj(spec?.workloadRef)) return undefined;
    notes.add({
      code: 'manifest-invalid',
      path: origin,
      message: `${kind} "${name}" has no pod template with containers; skipped.`,
    });
    return undefined;
  }
  const where = `${kind} "${name}"`;
  const containers: Container[] = [];
  podSpec.containers.forEach((value, index) => {
    const container = asObj(value);
    if (container) containers.push(containerFrom(container, index, where, file, notes));
  });
  const deployment: ExistingDeployment = { file, source, objectKind: kind, name, containers };
  const namespace = str(metadata?.namespace);
  if (namespace) deployment.namespace = namespace;
  const replicas = REPLICATED_KINDS.has(kind) ? int(spec?.replicas) : undefined;
  if (replicas !== undefined) deployment.replicas = replicas;
  return { deployment, kind, name, namespace, origin };
}

function containerFrom(
  value: Obj,
  index: number,
  where: string,
  file: string,
  notes: NoteSink,
): Container {
  // A nameless container is invalid Kubernetes; its list position still lets a patch find it.
  const container: Container = { name: str(value.name) ?? `containers[${index}]` };
  const image = str(value.image);
  if (image) container.image = image;
  const resources = readResources(
    value.resources,
    `${where} container "${container.name}"`,
    file,
    notes,
  );
  if (resources) {
    if (resources.parsed) container.resources = resources.parsed;
    container.rawResources = resources.raw;
  }
  return container;
}

interface ReadResources {
  parsed?: ResourceSettings;
  /** `requests`/`limits` (and anything else under `resources`) as written, numbers as strings. */
  raw: Record<string, unknown>;
}

function readResources(
  value: unknown,
  where: string,
  file: string,
  notes: NoteSink,
): ReadResources | undefined {
  if (!isObj(value)) return undefined;
  const raw = rawStrings(value);
  const parsed: ResourceSettings = {};
  for (const key of ['requests', 'limits'] as const) {
    const block = asObj(value[key]);
    if (!block) continue;
    const cpuMemory: CpuMemory = {};
    if (block.cpu !== undefined) {
      const cpu = quantity(block.cpu, millicoresFromCpuQuantity);
      if (cpu === undefined) badQuantity(notes, file, where, `cpu ${key}`, block.cpu);
      else cpuMemory.cpu = cpu;
    }
    if (block.memory !== undefined) {
      const memory = quantity(block.memory, bytesFromMemoryQuantity);
      if (memory === undefined) badQuantity(notes, file, where, `memory ${key}`, block.memory);
      else cpuMemory.memory = memory;
    }
    if (Object.keys(cpuMemory).length > 0) parsed[key] = cpuMemory;
  }
  return Object.keys(parsed).length > 0 ? { parsed, raw } : { raw };
}

function quantity(
  value: unknown,
  convert: (q: string | number) => number | undefined,
): number | undefined {
  return typeof value === 'string' || typeof value === 'number' ? convert(value) : undefined;
}

function badQuantity(
  notes: NoteSink,
  path: string,
  where: string,
  what: string,
  value: unknown,
): void {
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  notes.add({
    code: 'manifest-invalid',
    path,
    message: `${where}: ${what} ${shown} is not a Kubernetes quantity; ignored.`,
  });
}

/** A copy of a YAML mapping with scalars as strings (quantities are already their source text). */
function rawStrings(value: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '__proto__') continue;
    if (isObj(inner)) out[key] = rawStrings(inner);
    else if (typeof inner === 'number' || typeof inner === 'boolean') out[key] = String(inner);
    else out[key] = inner;
  }
  return out;
}

function hpaFrom(obj: Obj, origin: string): LocatedHpa | undefined {
  const spec = asObj(obj.spec);
  const ref = asObj(spec?.scaleTargetRef);
  const targetKind = str(ref?.kind);
  const targetName = str(ref?.name);
  if (!spec || !targetKind || !targetName) return undefined;
  const autoscaling: Autoscaling = {};
  const min = int(spec.minReplicas);
  const max = int(spec.maxReplicas);
  const target = num(spec.targetCPUUtilizationPercentage) ?? cpuTargetOf(spec.metrics);
  if (min !== undefined) autoscaling.minReplicas = min;
  if (max !== undefined) autoscaling.maxReplicas = max;
  if (target !== undefined) autoscaling.targetCpuUtilization = target;
  return {
    targetKind,
    targetName,
    namespace: str(asObj(obj.metadata)?.namespace),
    origin,
    autoscaling,
  };
}

/** autoscaling/v2 `target.averageUtilization`, or v2beta1 `targetAverageUtilization`, for cpu. */
function cpuTargetOf(metrics: unknown): number | undefined {
  for (const metric of arr(metrics)) {
    const resource = asObj(asObj(metric)?.resource);
    if (resource?.name !== 'cpu') continue;
    const value =
      num(asObj(resource.target)?.averageUtilization) ?? num(resource.targetAverageUtilization);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Folds each HPA into the workload it scales (same kind and name, compatible namespace). Plain
 * files look in the HPA's own file, then its directory — never further, so a staging HPA cannot
 * size a production Deployment elsewhere. A kustomize build is one scope and looks everywhere in it.
 */
function attachHpas(workloads: Located[], hpas: LocatedHpa[], scope: 'directory' | 'build'): void {
  const byTarget = new Map<string, Located[]>();
  for (const w of workloads) {
    const key = `${w.kind}/${w.name}`;
    byTarget.set(key, [...(byTarget.get(key) ?? []), w]);
  }
  for (const hpa of hpas) {
    const candidates = (byTarget.get(`${hpa.targetKind}/${hpa.targetName}`) ?? []).filter(
      (w) => !hpa.namespace || !w.namespace || hpa.namespace === w.namespace,
    );
    const sameFile = candidates.filter((w) => w.origin === hpa.origin);
    const sameDir = candidates.filter((w) => dirOf(w.origin) === dirOf(hpa.origin));
    const chosen = scope === 'build' ? candidates : sameFile.length > 0 ? sameFile : sameDir;
    for (const w of chosen) w.deployment.autoscaling ??= { ...hpa.autoscaling };
  }
}

// ---------------------------------------------------------------------------------------------
// Which files are plain manifests

interface Chart {
  dir: string;
  name: string;
  appVersion?: string;
}

function findCharts(tree: RepoTree, notes: NoteSink): Map<string, Chart> {
  const charts = new Map<string, Chart>();
  for (const file of tree.files) {
    if (posix.basename(file.path) !== 'Chart.yaml') continue;
    const dir = dirOf(file.path);
    const text = tree.read(file.path);
    const meta = text === undefined ? undefined : asObj(parseYaml(text, file.path, notes)[0]);
    const fallback = dir === '.' ? posix.basename(tree.root) : posix.basename(dir);
    const chart: Chart = { dir, name: str(meta?.name) ?? fallback };
    const appVersion = meta?.appVersion;
    if (typeof appVersion === 'string' || typeof appVersion === 'number') {
      chart.appVersion = String(appVersion);
    }
    charts.set(dir, chart);
  }
  return charts;
}

function isPlainManifestCandidate(
  path: string,
  charts: Map<string, Chart>,
  patchFiles: Set<string>,
): boolean {
  const base = posix.basename(path);
  if (!YAML_FILE.test(base) || KUSTOMIZATION_NAMES.has(base) || patchFiles.has(path)) return false;
  const dir = dirOf(path);
  const chart = charts.get(dir);
  if (chart && (base === 'Chart.yaml' || VALUES_FILE.test(base))) return false;
  // Files under a chart's templates/ are Go templates rendered from the values, read below.
  if (charts.size === 0 || !`/${path}`.includes('/templates/')) return true;
  for (let d = dir; d !== '.'; d = dirOf(d)) {
    if (posix.basename(d) === 'templates' && charts.has(dirOf(d))) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Kustomize

interface Kustomization {
  path: string;
  dir: string;
  doc: Obj;
}

type ResourceRef =
  | { type: 'file'; path: string }
  | { type: 'base'; kustomization: Kustomization }
  | { type: 'remote' }
  | { type: 'outside' }
  | { type: 'missing'; path: string };

/** One object being built, with every name it has had so overlays can use a base's names. */
interface KObject {
  obj: Obj;
  origin: string;
  names: Set<string>;
}

function readKustomizations(tree: RepoTree, notes: NoteSink): Map<string, Kustomization> {
  const out = new Map<string, Kustomization>();
  for (const file of tree.files) {
    if (!KUSTOMIZATION_NAMES.has(posix.basename(file.path))) continue;
    const dir = dirOf(file.path);
    if (out.has(dir)) continue; // kustomize itself refuses a directory with two; first name wins
    const text = tree.read(file.path);
    if (text === undefined) continue;
    const doc = asObj(parseYaml(text, file.path, notes)[0]);
    if (doc) out.set(dir, { path: file.path, dir, doc });
  }
  return out;
}

function joinIn(dir: string, entry: string): string {
  return normalise(posix.join(dir === '.' ? '' : dir, entry));
}

function isOutside(path: string): boolean {
  return path === '..' || path.startsWith('../') || posix.isAbsolute(path);
}

function resourceEntries(k: Kustomization): string[] {
  // `bases` is the deprecated spelling of directory resources.
  return [...arr(k.doc.resources), ...arr(k.doc.bases)].filter(
    (e): e is string => typeof e === 'string' && e !== '',
  );
}

function resolveResource(
  k: Kustomization,
  entry: string,
  tree: RepoTree,
  kustomizations: Map<string, Kustomization>,
): ResourceRef {
  if (REMOTE_RESOURCE.test(entry)) return { type: 'remote' };
  const path = joinIn(k.dir, entry);
  if (isOutside(path)) return { type: 'outside' };
  if (tree.has(path)) return { type: 'file', path };
  const base = kustomizations.get(path === '' ? '.' : path);
  return base ? { type: 'base', kustomization: base } : { type: 'missing', path };
}

/** Inline patches are YAML text; anything else is a path relative to the kustomization. */
function isInlinePatch(entry: string): boolean {
  return entry.includes('\n');
}

/** Files named as patches: partial objects, which must not be read as manifests on their own. */
function patchFilesOf(kustomizations: Map<string, Kustomization>, tree: RepoTree): Set<string> {
  const out = new Set<string>();
  function add(k: Kustomization, entry: unknown): void {
    if (typeof entry !== 'string' || entry === '' || isInlinePatch(entry)) return;
    const path = joinIn(k.dir, entry);
    if (tree.has(path)) out.add(path);
  }
  for (const k of kustomizations.values()) {
    for (const entry of arr(k.doc.patchesStrategicMerge)) add(k, entry);
    for (const entry of arr(k.doc.patches)) add(k, asObj(entry)?.path);
    for (const entry of arr(k.doc.patchesJson6902)) add(k, asObj(entry)?.path);
  }
  return out;
}

/**
 * Builds each root kustomization (one no other kustomization includes) that changes something —
 * a base, transforms or patches — and returns its workloads. A root that only lists files would
 * repeat the plain manifests, so it is left out.
 */
function readKustomizeOverlays(
  kustomizations: Map<string, Kustomization>,
  tree: RepoTree,
  notes: NoteSink,
  loader: ObjectLoader,
): Located[] {
  const included = new Set<string>();
  for (const k of kustomizations.values()) {
    for (const entry of resourceEntries(k)) {
      const ref = resolveResource(k, entry, tree, kustomizations);
      if (ref.type === 'base' && ref.kustomization !== k) included.add(ref.kustomization.path);
    }
  }
  const out: Located[] = [];
  const ordered = [...kustomizations.values()].sort((a, b) => compare(a.path, b.path));
  for (const k of ordered) {
    if (included.has(k.path)) {
      noteCycle(k, tree, kustomizations, notes);
      continue;
    }
    const objects = buildKustomization(k, 0, [], tree, kustomizations, notes, loader);
    if (!changesSomething(k, tree, kustomizations)) continue;
    const workloads: Located[] = [];
    const hpas: LocatedHpa[] = [];
    for (const o of objects) collect(o.obj, o.origin, 'kustomize', k.path, notes, workloads, hpas);
    attachHpas(workloads, hpas, 'build');
    out.push(...workloads);
  }
  return out;
}

/** A kustomization that only ever reaches itself through its bases is built by no root: say so. */
function noteCycle(
  k: Kustomization,
  tree: RepoTree,
  kustomizations: Map<string, Kustomization>,
  notes: NoteSink,
): void {
  const seen = new Set<string>();
  const queue = [k];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const entry of resourceEntries(current)) {
      const ref = resolveResource(current, entry, tree, kustomizations);
      if (ref.type !== 'base') continue;
      if (ref.kustomization === k) {
        // Building from here reports the cycle with its path; nothing is emitted for it.
        buildKustomization(k, 0, [], tree, kustomizations, notes, () => []);
        return;
      }
      if (!seen.has(ref.kustomization.path)) {
        seen.add(ref.kustomization.path);
        queue.push(ref.kustomization);
      }
    }
  }
}

function changesSomething(
  k: Kustomization,
  tree: RepoTree,
  kustomizations: Map<string, Kustomization>,
): boolean {
  const fields = [
    'namePrefix',
    'nameSuffix',
    'namespace',
    'replicas',
    'images',
    'patches',
    'patchesStrategicMerge',
  ];
  if (fields.some((f) => k.doc[f] !== undefined && k.doc[f] !== null)) return true;
  return resourceEntries(k).some(
    (entry) => resolveResource(k, entry, tree, kustomizations).type === 'base',
  );
}

/**
 * The objects a kustomization produces, in kustomize's order: resources (bases built first),
 * strategic-merge patches, namespace, name prefix/suffix, replicas, images. Only the fields that
 * change sizing or identity are modelled; generators, labels and JSON6902 patches are not.
 */
function buildKustomization(
  k: Kustomization,
  depth: number,
  stack: string[],
  tree: RepoTree,
  kustomizations: Map<string, Kustomization>,
  notes: NoteSink,
  loader: ObjectLoader,
): KObject[] {
  const chain = [...stack, k.path];
  const objects: KObject[] = [];
  for (const entry of resourceEntries(k)) {
    const ref = resolveResource(k, entry, tree, kustomizations);
    switch (ref.type) {
      case 'file':
        for (const obj of loader(ref.path)) {
          const name = str(asObj(obj.metadata)?.name);
          objects.push({
            obj: structuredClone(obj),
            origin: ref.path,
            names: new Set(name ? [name] : []),
          });
        }
        break;
      case 'base': {
        const base = ref.kustomization;
        if (chain.includes(base.path)) {
          notes.add(cycleNote(chain.slice(chain.indexOf(base.path))));
          break;
        }
        if (depth + 1 > MAX_KUSTOMIZE_DEPTH) {
          notes.add({
            code: 'manifest-unreadable',
            path: k.path,
            message: `Base "${entry}" is nested deeper than ${MAX_KUSTOMIZE_DEPTH} kustomizations; not followed.`,
          });
          break;
        }
        objects.push(
          ...buildKustomization(base, depth + 1, chain, tree, kustomizations, notes, loader),
        );
        break;
      }
      case 'remote':
        notes.add({
          code: 'manifest-unreadable',
          path: k.path,
          message: `Remote resource "${entry}" is not fetched; its objects are not included.`,
        });
        break;
      case 'outside':
        notes.add({
          code: 'manifest-unreadable',
          path: k.path,
          message: `Resource "${entry}" points outside the repository; skipped.`,
        });
        break;
      case 'missing':
        notes.add({
          code: 'manifest-unreadable',
          path: k.path,
          message: `Resource "${entry}" is neither a file nor a directory with a kustomization; skipped.`,
        });
        break;
    }
  }
  applyPatches(k, objects, tree, notes);
  applyNamespace(k.doc.namespace, objects);
  applyNameAffixes(k.doc.namePrefix, k.doc.nameSuffix, objects);
  applyReplicas(k.doc.replicas, objects);
  applyImages(k.doc.images, objects);
  return objects;
}

/** One note per cycle however it is entered: the members rotated to start at the first by path. */
function cycleNote(members: string[]): Note {
  const first = [...members].sort(compare)[0]!;
  const start = members.indexOf(first);
  const rotated = [...members.slice(start), ...members.slice(0, start), first];
  return {
    code: 'manifest-invalid',
    path: first,
    message: `Kustomize resources form a cycle (${rotated.join(' → ')}); the repeated base was skipped.`,
  };
}

interface PatchTarget {
  kind?: string;
  name?: string;
}

function applyPatches(k: Kustomization, objects: KObject[], tree: RepoTree, notes: NoteSink): void {
  function patchText(entry: string, field: string): string | undefined {
    if (isInlinePatch(entry)) return entry;
    const path = joinIn(k.dir, entry);
    const text = isOutside(path) ? undefined : tree.read(path);
    if (text === undefined) {
      notes.add({
        code: 'manifest-unreadable',
        path: k.path,
        message: `${field} entry "${entry}" could not be read; skipped.`,
      });
    }
    return text;
  }
  function apply(text: string, target: PatchTarget | undefined, field: string): void {
    for (const value of parseYaml(text, k.path, notes)) {
      if (Array.isArray(value) || (isObj(value) && typeof value.op === 'string')) {
        noteJson6902(k, notes, field);
        continue;
      }
      if (isObj(value)) applyStrategicMerge(value, target, objects);
    }
  }
  for (const entry of arr(k.doc.patchesStrategicMerge)) {
    if (typeof entry !== 'string') continue;
    const text = patchText(entry, 'patchesStrategicMerge');
    if (text !== undefined) apply(text, undefined, 'patchesStrategicMerge');
  }
  for (const entry of arr(k.doc.patches)) {
    const patch = asObj(entry);
    if (!patch) continue;
    const inline = str(patch.patch);
    const path = str(patch.path);
    const text = inline ?? (path ? patchText(path, 'patches') : undefined);
    if (text === undefined) continue;
    const target = asObj(patch.target);
    apply(text, target ? { kind: str(target.kind), name: str(target.name) } : undefined, 'patches');
  }
  if (arr(k.doc.patchesJson6902).length > 0) noteJson6902(k, notes, 'patchesJson6902');
}

function noteJson6902(k: Kustomization, notes: NoteSink, field: string): void {
  notes.add({
    code: 'manifest-unreadable',
    path: k.path,
    message: `JSON 6902 patches in ${field} are not applied; sizes they change are not reflected.`,
  });
}

/**
 * A strategic-merge patch applies to objects of its kind and name (or of the patch's `target`,
 * matched exactly: target names are regular expressions in kustomize, but repository text is not
 * run as a pattern here).
 */
function applyStrategicMerge(
  patch: Obj,
  target: PatchTarget | undefined,
  objects: KObject[],
): void {
  const kind = target?.kind ?? str(patch.kind);
  const name = target?.name ?? str(asObj(patch.metadata)?.name);
  if (!kind && !name) return;
  for (const o of objects) {
    if (kind && o.obj.kind !== kind) continue;
    if (name && !o.names.has(name)) continue;
    const { metadata: _metadata, ...body } = patch;
    // A copy, so one patch applied to several objects never ties them together.
    o.obj = structuredClone(strategicMerge(o.obj, body)) as Obj;
  }
}

/**
 * Maps merge key by key, `null` deletes, lists of named items (containers) merge by name, and
 * other lists replace. `$patch` directives are not modelled.
 */
function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObj(base) && isObj(patch)) {
    const out: Obj = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith('$') || key === '__proto__') continue;
      if (value === null) delete out[key];
      else out[key] = strategicMerge(base[key], value);
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && isNamedList(base) && isNamedList(patch)) {
    const out: unknown[] = [...base];
    for (const item of patch) {
      const index = out.findIndex((b) => asObj(b)?.name === item.name);
      if (index === -1) out.push(item);
      else out[index] = strategicMerge(out[index], item);
    }
    return out;
  }
  return patch;
}

function isNamedList(list: unknown[]): list is Obj[] {
  return list.every((item) => isObj(item) && typeof item.name === 'string');
}

function applyNamespace(namespace: unknown, objects: KObject[]): void {
  const ns = str(namespace);
  if (!ns) return;
  for (const o of objects) {
    if (CLUSTER_SCOPED_KINDS.has(str(o.obj.kind) ?? '')) continue;
    const metadata = asObj(o.obj.metadata) ?? {};
    o.obj.metadata = { ...metadata, namespace: ns };
  }
}

/** Renames objects and, as kustomize does, the HPA references that point at them. */
function applyNameAffixes(prefix: unknown, suffix: unknown, objects: KObject[]): void {
  const before = str(prefix) ?? '';
  const after = str(suffix) ?? '';
  if (!before && !after) return;
  const renamed = new Map<string, string>();
  for (const o of objects) {
    const kind = str(o.obj.kind) ?? '';
    const metadata = asObj(o.obj.metadata);
    const name = str(metadata?.name);
    if (!metadata || !name || CLUSTER_SCOPED_KINDS.has(kind)) continue;
    const next = `${before}${name}${after}`;
    o.obj.metadata = { ...metadata, name: next };
    o.names.add(next);
    renamed.set(`${kind}/${name}`, next);
  }
  for (const o of objects) {
    if (o.obj.kind !== 'HorizontalPodAutoscaler') continue;
    const spec = asObj(o.obj.spec);
    const ref = asObj(spec?.scaleTargetRef);
    const next = renamed.get(`${str(ref?.kind) ?? ''}/${str(ref?.name) ?? ''}`);
    if (spec && ref && next) o.obj.spec = { ...spec, scaleTargetRef: { ...ref, name: next } };
  }
}

function applyReplicas(entries: unknown, objects: KObject[]): void {
  for (const entry of arr(entries)) {
    const name = str(asObj(entry)?.name);
    const count = int(asObj(entry)?.count);
    if (!name || count === undefined) continue;
    for (const o of objects) {
      if (!REPLICATED_KINDS.has(str(o.obj.kind) ?? '') || !o.names.has(name)) continue;
      o.obj.spec = { ...(asObj(o.obj.spec) ?? {}), replicas: count };
    }
  }
}

function applyImages(entries: unknown, objects: KObject[]): void {
  const rules = arr(entries).filter(isObj);
  if (rules.length === 0) return;
  for (const o of objects) {
    const kind = str(o.obj.kind) ?? '';
    const podSpec = WORKLOAD_KINDS.has(kind) ? podSpecOf(o.obj, kind) : undefined;
    if (!podSpec) continue;
    for (const field of ['containers', 'initContainers']) {
      for (const container of arr(podSpec[field])) {
        if (!isObj(container) || typeof container.image !== 'string') continue;
        container.image = retag(container.image, rules);
      }
    }
  }
}

/** kustomize `images:` — newName replaces the repository, digest wins over newTag. */
function retag(image: string, rules: Obj[]): string {
  const ref = parseImageRef(image);
  const written = repositoryAsWritten(ref);
  const rule = rules.find((r) => str(r.name) === written);
  if (!rule) return image;
  const repository = str(rule.newName) ?? written;
  const digest = str(rule.digest);
  const tag = rule.newTag;
  if (digest) return `${repository}@${digest}`;
  if (typeof tag === 'string' || typeof tag === 'number') return `${repository}:${tag}`;
  return `${repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Helm values

interface ValuesBlock {
  keys: string[];
  holder: Obj;
}

function readHelmValues(
  tree: RepoTree,
  charts: Map<string, Chart>,
  notes: NoteSink,
): ExistingDeployment[] {
  const out: ExistingDeployment[] = [];
  for (const file of tree.files) {
    if (!VALUES_FILE.test(posix.basename(file.path))) continue;
    const chart = charts.get(dirOf(file.path));
    if (!chart) continue;
    const text = tree.read(file.path);
    if (text === undefined) continue;
    const values = asObj(parseYaml(text, file.path, notes)[0]);
    if (!values) continue;
    for (const block of valuesBlocks(values)) {
      out.push(deploymentFromValues(block, chart, file.path, notes));
    }
  }
  return out;
}

/**
 * Candidate blocks at the root and under first- and second-level keys (`api`, `workers.email`):
 * those with a `resources` mapping or a `replicaCount`.
 */
function valuesBlocks(values: Obj): ValuesBlock[] {
  const out: ValuesBlock[] = [];
  function consider(keys: string[], holder: Obj): void {
    if (isObj(holder.resources) || int(holder.replicaCount) !== undefined) {
      out.push({ keys, holder });
    }
  }
  consider([], values);
  for (const [key, first] of Object.entries(values)) {
    if (!isObj(first)) continue;
    consider([key], first);
    for (const [inner, second] of Object.entries(first)) {
      if (isObj(second)) consider([key, inner], second);
    }
  }
  return out;
}

function deploymentFromValues(
  block: ValuesBlock,
  chart: Chart,
  file: string,
  notes: NoteSink,
): ExistingDeployment {
  const { keys, holder } = block;
  const key = keys.join('.');
  const name = key === '' ? chart.name : `${chart.name}/${key}`;
  const container: Container = { name: keys[keys.length - 1] ?? chart.name };
  // helm create's templates fall back to the chart's appVersion when the tag is empty.
  const image = imageFromValues(holder.image, keys.length === 0 ? chart.appVersion : undefined);
  if (image) container.image = image;
  const resourcesPath = [...keys, 'resources'].join('.');
  const resources = readResources(holder.resources, `values "${resourcesPath}"`, file, notes);
  if (resources) {
    if (resources.parsed) container.resources = resources.parsed;
    container.rawResources = { _path: resourcesPath, ...resources.raw };
  }
  const deployment: ExistingDeployment = {
    file,
    source: 'helm-values',
    objectKind: 'values',
    name,
    containers: [container],
  };
  const replicas = int(holder.replicaCount);
  if (replicas !== undefined) deployment.replicas = replicas;
  const autoscaling = asObj(holder.autoscaling);
  // A disabled block renders no HPA, so its bounds say nothing about the running service.
  if (autoscaling?.enabled === true) {
    const settings: Autoscaling = {};
    const min = int(autoscaling.minReplicas);
    const max = int(autoscaling.maxReplicas);
    const target = num(autoscaling.targetCPUUtilizationPercentage);
    if (min !== undefined) settings.minReplicas = min;
    if (max !== undefined) settings.maxReplicas = max;
    if (target !== undefined) settings.targetCpuUtilization = target;
    deployment.autoscaling = settings;
  }
  return deployment;
}

/** `image: repo:tag` or `image: {registry?, repository, tag?}` (Bitnami-style registry included). */
function imageFromValues(value: unknown, defaultTag: string | undefined): string | undefined {
  if (typeof value === 'string') return str(value);
  const image = asObj(value);
  const repository = str(image?.repository) ?? str(image?.name);
  if (!image || !repository) return undefined;
  const registry = str(image.registry);
  const rawTag = image.tag;
  const tag =
    typeof rawTag === 'number' ? String(rawTag) : (str(rawTag) ?? (defaultTag || undefined));
  const digest = str(image.digest);
  return `${registry ? `${registry}/` : ''}${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Compose

function hasSettings(resources: ResourceSettings | undefined): resources is ResourceSettings {
  if (!resources) return false;
  return [resources.requests, resources.limits].some(
    (r) => r !== undefined && (r.cpu !== undefined || r.memory !== undefined),
  );
}

// ---------------------------------------------------------------------------------------------
// Matching

interface Match {
  service: string;
  by: MatchedBy;
}

function matchOne(deployment: ExistingDeployment, services: DeploymentTarget[]): Match | undefined {
  return (
    matchByImage(deployment, services) ??
    matchByContainerName(deployment, services) ??
    matchByName(deployment, services) ??
    matchByPath(deployment, services)
  );
}

/** "ghcr.io/acme/orders-api:1.2@sha256:…" → "ghcr.io/acme/orders-api", Docker Hub prefixes dropped. */
function imageRepository(image: string): string {
  return canonicalRepository(parseImageRef(image));
}

function matchByImage(
  deployment: ExistingDeployment,
  services: DeploymentTarget[],
): Match | undefined {
  for (const container of deployment.containers) {
    if (!container.image) continue;
    const repository = imageRepository(container.image);
    const short = posix.basename(repository);
    const candidates = services.filter(
      (s) =>
        knownAs(s, short) ||
        (s.images ?? []).some((known) => imageRepository(known) === repository),
    );
    const chosen = pick(candidates, deployment.file);
    if (chosen) return { service: chosen.name, by: 'image' };
  }
  return undefined;
}

function matchByContainerName(
  deployment: ExistingDeployment,
  services: DeploymentTarget[],
): Match | undefined {
  for (const container of deployment.containers) {
    const name = container.name.toLowerCase();
    const chosen = pick(
      services.filter((s) => knownAs(s, name)),
      deployment.file,
    );
    if (chosen) return { service: chosen.name, by: 'container-name' };
  }
  return undefined;
}

function matchByName(
  deployment: ExistingDeployment,
  services: DeploymentTarget[],
): Match | undefined {
  const name = deployment.name.toLowerCase();
  const stripped = KIND_SUFFIXES.filter((s) => name.endsWith(s) && name.length > s.length).map(
    (s) => name.slice(0, -s.length),
  );
  for (const candidate of [name, ...stripped]) {
    const chosen = pick(
      services.filter((s) => knownAs(s, candidate)),
      deployment.file,
    );
    if (chosen) return { service: chosen.name, by: 'name' };
  }
  return undefined;
}

function matchByPath(
  deployment: ExistingDeployment,
  services: DeploymentTarget[],
): Match | undefined {
  const segments = normalise(deployment.file).toLowerCase().split('/').slice(0, -1);
  const conventional = services.filter((s) =>
    segments.some(
      (seg, i) =>
        DEPLOY_DIRS.has(seg) && segments[i + 1] !== undefined && knownAs(s, segments[i + 1]!),
    ),
  );
  const chosen = pick(conventional, deployment.file) ?? innermostService(services, deployment.file);
  return chosen ? { service: chosen.name, by: 'path' } : undefined;
}

function holds(service: DeploymentTarget, file: string): boolean {
  const dir = normalise(service.path);
  return dir !== '' && dir !== '.' && normalise(file).startsWith(`${dir}/`);
}

/** The service whose directory holds the file most closely; the root service never counts. */
function innermostService(
  services: DeploymentTarget[],
  file: string,
): DeploymentTarget | undefined {
  let best: DeploymentTarget | undefined;
  for (const s of services) {
    if (!holds(s, file)) continue;
    if (!best || normalise(s.path).length > normalise(best.path).length) best = s;
  }
  return best;
}

/** One of several equally good candidates: the one holding the file, else the first by name. */
function pick(candidates: DeploymentTarget[], file: string): DeploymentTarget | undefined {
  if (candidates.length <= 1) return candidates[0];
  return innermostService(candidates, file) ?? candidates[0];
}
