/**
 * The offline reasoner: deterministic and explainable, the embedded default. Every number comes
 * from a knowledge figure (named with its entry), a repository hint, or the description, and the
 * reasoning says which. It never looks at a service's name to pick a number.
 */
import { shortImageName as imageName } from '../repo/image-ref.js';
import type { ContextBundle, DraftPlan, Estimate, ReasoningStep } from '../agents/schema.js';
import type { Figure, KnowledgeEntry, Retriever } from '../rag/schema.js';
import { bytes, cpuQuantityFromMillicores, memoryQuantityFromBytes, millicores } from '../units.js';
import type {
  ContextDecision,
  ContextQuestion,
  Reasoner,
  RefinementState,
  RefinementStep,
} from './reasoner.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;

/** Used only when no knowledge entry has the figure; each use lowers confidence and says so. */
const FALLBACK: Record<string, Figure> = {
  cpu_request: { value: 250, low: 100, high: 1000, unit: 'millicores' },
  memory_request: { value: 256, low: 128, high: 1024, unit: 'mebibytes' },
  memory_limit_ratio: { value: 1.5, unit: 'ratio' },
  rps_per_core: { value: 200, low: 50, high: 1000, unit: 'rps' },
  target_utilization_at_peak: { value: 0.6, unit: 'ratio' },
  heap_fraction: { value: 0.75, unit: 'ratio' },
  min_replicas_critical: { value: 3, unit: 'count' },
  min_replicas_high: { value: 2, unit: 'count' },
  min_replicas_normal: { value: 2, unit: 'count' },
  min_replicas_low: { value: 1, unit: 'count' },
  min_replicas_dev: { value: 1, unit: 'count' },
  hpa_cpu_target_latency_sensitive: { value: 60, unit: 'percent' },
  hpa_cpu_target_default: { value: 70, unit: 'percent' },
  hpa_cpu_target_batch: { value: 80, unit: 'percent' },
  max_replicas_headroom: { value: 2, unit: 'ratio' },
  pdb_min_available_fraction: { value: 0.5, unit: 'ratio' },
  cpu_limit_ratio: { value: 0, unit: 'ratio' },
  storage_default: { value: 10, unit: 'gibibytes' },
  storage_headroom: { value: 1.5, unit: 'ratio' },
  vm_overhead_memory: { value: 512, unit: 'mebibytes' },
  lxc_overhead_memory: { value: 128, unit: 'mebibytes' },
  disk_base: { value: 16, unit: 'gibibytes' },
  balloon_fraction: { value: 0.5, unit: 'ratio' },
};

interface FoundFigure extends Figure {
  /** Knowledge entry id, or "default" when the fallback table was used. */
  from: string;
}

/** Entries that apply to the service, most specific first: framework, runtime, image, patterns. */
export function applicableEntries(bundle: ContextBundle, retriever: Retriever): KnowledgeEntry[] {
  const meta = bundle.input.app_metadata;
  const image =
    bundle.hints.finalImage === undefined ? undefined : imageName(bundle.hints.finalImage);
  const passageIds = new Set(bundle.retrieval.passages.map((p) => p.entryId));
  const server = processServer(bundle);
  const all = retriever.entries();
  const workloadClass =
    meta.workload_class === undefined
      ? undefined
      : `${WORKLOAD_CLASS_PREFIX}${meta.workload_class}`;
  const rank = (e: KnowledgeEntry): number => {
    const a = e.applies_to;
    // A workload class says more about footprint than the language does; other classes never apply.
    const classes = a.patterns.filter((p) => p.startsWith(WORKLOAD_CLASS_PREFIX));
    if (classes.length > 0)
      return workloadClass !== undefined && classes.includes(workloadClass) ? -1 : 99;
    if (
      e.kind === 'framework' &&
      meta.framework !== undefined &&
      a.frameworks.includes(meta.framework)
    )
      return 0;
    if (
      e.kind === 'framework' &&
      meta.language !== undefined &&
      a.frameworks.length === 0 &&
      a.languages.includes(meta.language)
    )
      return 1;
    if (e.kind === 'runtime' && meta.language !== undefined && a.languages.includes(meta.language))
      return server !== undefined && a.servers.includes(server) ? 1.9 : 2;
    if (e.kind === 'runtime' && image !== undefined && a.images.includes(image)) return 2;
    // A known image's own figures (Kafka's heap, Postgres's memory) beat its runtime's.
    if (e.kind === 'image' && image !== undefined && a.images.includes(image)) return 1.5;
    if (e.kind === 'pattern') return 4;
    return passageIds.has(e.id) ? 5 : 99;
  };
  return all
    .map((e) => ({ e, r: rank(e) }))
    .filter((x) => x.r < 99)
    .sort((x, y) => x.r - y.r || (x.e.id < y.e.id ? -1 : 1))
    .map((x) => x.e);
}

const WORKLOAD_CLASS_PREFIX = 'workload-class:';

/** Frameworks built on an event loop: without a named server they run under an ASGI server. */
const ASYNC_FRAMEWORKS = new Set(['fastapi', 'starlette', 'aiohttp', 'quart', 'litestar', 'sanic']);

/**
 * The process server the service runs under: named in the Dockerfile, else the usual one for its
 * framework (which picks between runtime models of one language, e.g. Python WSGI vs ASGI).
 */
function processServer(bundle: ContextBundle): string | undefined {
  const named = bundle.hints.workers?.server;
  if (named !== undefined) return named;
  const framework = bundle.input.app_metadata.framework;
  if (bundle.input.app_metadata.language !== 'python' || framework === undefined) return undefined;
  return ASYNC_FRAMEWORKS.has(framework) ? 'uvicorn' : 'gunicorn';
}

/** Entries that describe the service itself (its stack or its workload class), not general patterns. */
function describesService(entry: KnowledgeEntry): boolean {
  return (
    entry.kind !== 'pattern' ||
    entry.applies_to.patterns.some((p) => p.startsWith(WORKLOAD_CLASS_PREFIX))
  );
}

class FigureBook {
  readonly used = new Set<string>();
  fallbacks = 0;

  constructor(private readonly entries: KnowledgeEntry[]) {}

  get(name: string): FoundFigure {
    for (const entry of this.entries) {
      const figure = entry.figures[name];
      if (figure !== undefined) {
        this.used.add(entry.id);
        return { ...figure, from: entry.id };
      }
    }
    this.fallbacks++;
    const fallback = FALLBACK[name];
    if (fallback === undefined) throw new Error(`no fallback for figure ${name}`);
    return { ...fallback, from: 'default' };
  }

  /** Like get, but only from entries of the service's own stack (not patterns), else undefined. */
  stack(name: string): FoundFigure | undefined {
    for (const entry of this.entries) {
      if (!describesService(entry)) continue;
      const figure = entry.figures[name];
      if (figure !== undefined) {
        this.used.add(entry.id);
        return { ...figure, from: entry.id };
      }
    }
    return undefined;
  }
}

function cite(f: FoundFigure): string[] {
  return f.from === 'default' ? ['default'] : [`knowledge:${f.from}`];
}

function estimate(target: number, lower: number, upper: number): Estimate {
  const t = Math.max(0, target);
  return { target: t, lower: Math.min(Math.max(0, lower), t), upper: Math.max(upper, t) };
}

/** CPU to 10m steps, memory to whole MiB, upwards: what the manifests will say. */
function roundCpu(m: number): number {
  return Math.max(10, Math.ceil(m / 10) * 10);
}
function roundMemory(b: number): number {
  return Math.max(MIB, Math.ceil(b / MIB) * MIB);
}

const cpuText = (m: number): string => cpuQuantityFromMillicores(millicores(roundCpu(m)));
const memText = (b: number): string => memoryQuantityFromBytes(bytes(roundMemory(b)));

type Tier = 'critical' | 'high' | 'normal' | 'low' | 'dev';

function tierOf(bundle: ContextBundle): { tier: Tier; why: string } {
  const meta = bundle.input.app_metadata;
  const env = bundle.input.deployment_context.environment;
  if (env === 'dev') return { tier: 'dev', why: 'the environment is dev' };
  if (meta.availability !== undefined && meta.availability >= 0.9995)
    return {
      tier: 'critical',
      why: `availability ${(meta.availability * 100).toFixed(2)}% is asked`,
    };
  if (meta.criticality === 'critical') return { tier: 'critical', why: 'the service is critical' };
  if (meta.zero_downtime === true && env === 'prod')
    return { tier: 'high', why: 'zero downtime is asked in prod' };
  if (meta.availability !== undefined && meta.availability >= 0.999)
    return { tier: 'high', why: `availability ${(meta.availability * 100).toFixed(2)}% is asked` };
  if (meta.criticality === 'high') return { tier: 'high', why: 'the service is high priority' };
  if (meta.criticality === 'low') return { tier: 'low', why: 'the service is not critical' };
  if (env === 'staging') return { tier: 'low', why: 'the environment is staging' };
  return { tier: 'normal', why: 'no availability target was given for prod' };
}

/** Agent 2's sizing, from knowledge figures, hints and the description. Pure. */
export function predictOffline(
  bundle: ContextBundle,
  entries: KnowledgeEntry[],
  target: 'kubernetes' | 'proxmox',
): DraftPlan {
  const book = new FigureBook(entries);
  const meta = bundle.input.app_metadata;
  const hints = bundle.hints;
  const steps: ReasoningStep[] = [];
  const warnings: string[] = [...bundle.warnings];

  // --- Memory: the repository's own heap settings beat general figures.
  const limitRatio = book.stack('memory_limit_ratio') ?? book.get('memory_limit_ratio');
  const headroom =
    meta.oom_tolerance === undefined
      ? undefined
      : book.stack(`memory_headroom_${meta.oom_tolerance}_tolerance`);
  let memRequest: number;
  let memLimit: number;
  let memLow: number;
  let memHigh: number;
  let memReason: string;
  let memSources: string[];
  const heapFraction = book.stack('heap_fraction') ?? book.get('heap_fraction');
  // A class entry may carry JVM variants: class loading, JIT and the heap need more than Go does.
  const jvm = meta.language === 'java' || meta.language === 'kotlin';
  const forRuntime = (name: string): FoundFigure =>
    (jvm ? book.stack(`${name}_jvm`) : undefined) ?? book.stack(name) ?? book.get(name);
  const heap =
    hints.jvmMaxHeapBytes !== undefined
      ? { bytes: hints.jvmMaxHeapBytes, what: '-Xmx' }
      : hints.nodeMaxOldSpaceBytes !== undefined
        ? { bytes: hints.nodeMaxOldSpaceBytes, what: '--max-old-space-size' }
        : hints.goMemLimitBytes !== undefined
          ? { bytes: hints.goMemLimitBytes, what: 'GOMEMLIMIT' }
          : undefined;
  if (heap !== undefined) {
    const fraction = heap.what === 'GOMEMLIMIT' ? 0.9 : heapFraction.value;
    memLimit = heap.bytes / fraction;
    memRequest = memLimit / Math.max(1, limitRatio.value);
    memLow = heap.bytes;
    memHigh = memLimit * 1.5;
    memReason = `The image sets ${heap.what} to ${memText(heap.bytes)}; that should be ${Math.round(fraction * 100)}% of the container's memory, so the limit is ${memText(memLimit)}`;
    memSources = ['repo:Dockerfile', ...(heap.what === 'GOMEMLIMIT' ? [] : cite(heapFraction))];
  } else if (
    hints.workers?.processes !== undefined &&
    book.stack('memory_per_worker') !== undefined
  ) {
    const perWorker = book.stack('memory_per_worker')!;
    const idle = book.stack('idle_memory') ?? book.get('memory_request');
    const n = hints.workers.processes;
    memRequest = (idle.value + (n - 1) * perWorker.value) * MIB;
    memLimit = memRequest * limitRatio.value;
    memLow = (idle.low ?? idle.value) * MIB + (n - 1) * (perWorker.low ?? perWorker.value) * MIB;
    memHigh = (idle.high ?? idle.value) * MIB + (n - 1) * (perWorker.high ?? perWorker.value) * MIB;
    memReason = `${n} ${hints.workers.server} worker processes: ${idle.value} MiB for the first and ${perWorker.value} MiB for each other one`;
    memSources = ['repo:Dockerfile', ...cite(idle), ...cite(perWorker)];
  } else {
    const request = forRuntime('memory_request');
    memRequest = request.value * MIB;
    memLimit = memRequest * limitRatio.value;
    memLow = (request.low ?? request.value * 0.5) * MIB;
    memHigh = (request.high ?? request.value * 2) * MIB;
    memReason =
      request.from === 'default'
        ? 'No knowledge applies to this stack, so a conservative default is used'
        : `Typical memory for one replica of this stack`;
    memSources = cite(request);
  }
  if (headroom !== undefined && meta.oom_tolerance !== undefined) {
    memLimit = Math.max(memLimit, memRequest * headroom.value);
  }
  const existing = hints.existing;
  if (existing?.requests?.memory !== undefined && heap === undefined) {
    const kept = Math.min(Math.max(existing.requests.memory, memLow), memHigh);
    memReason += `; the repository already asks ${memText(existing.requests.memory)} (${existing.file})${kept === existing.requests.memory ? ', which is within range and kept' : `, outside the expected range, moved to ${memText(kept)}`}`;
    memLimit = Math.max(memLimit * (kept / memRequest), kept);
    memRequest = kept;
    memSources.push(`repo:${existing.file}`);
  }
  memRequest = roundMemory(memRequest);
  memLimit = roundMemory(Math.max(memLimit, memRequest));
  steps.push({
    field: 'memory.request',
    value: memText(memRequest),
    reason: `${memReason}.`,
    sources: memSources,
  });
  steps.push({
    field: 'memory.limit',
    value: memText(memLimit),
    reason:
      memLimit === memRequest
        ? 'Equal to the request: a memory overrun is killed rather than left to starve neighbours.'
        : `${(memLimit / memRequest).toFixed(2).replace(/\.?0+$/, '')}× the request, as this runtime's memory grows under load${headroom === undefined ? '' : ` and OOM tolerance is ${meta.oom_tolerance}`}.`,
    sources: cite(limitRatio),
  });

  // --- CPU and replicas are designed together with the autoscaler.
  const cpuDefault = forRuntime('cpu_request');
  const { tier, why: tierWhy } = tierOf(bundle);
  const minFigure = book.get(`min_replicas_${tier}`);
  const minReplicas = Math.max(1, Math.round(minFigure.value));
  // With no load stated, reserve what a lightly used replica needs (the lower, steady-state end of
  // the stack's range); the autoscaler, sized for the same utilisation, adds replicas under load.
  const lightLoad =
    meta.expected_qps === undefined &&
    cpuDefault.low !== undefined &&
    cpuDefault.from !== 'default';
  let cpuRequest = lightLoad ? Math.sqrt(cpuDefault.value * cpuDefault.low!) : cpuDefault.value;
  let cpuLow = cpuDefault.low ?? cpuDefault.value * 0.5;
  let cpuHigh = cpuDefault.high ?? cpuDefault.value * 4;
  let cpuReason =
    cpuDefault.from === 'default'
      ? 'A conservative default CPU request'
      : lightLoad
        ? `No load figure was given: between the stack's typical (${cpuText(cpuDefault.value)}) and light-load (${cpuText(cpuDefault.low!)}) CPU`
        : 'Typical CPU for one replica of this stack';
  const cpuSources = cite(cpuDefault);
  if (hints.workers?.processes !== undefined) {
    const perCore = book.stack('workers_per_core');
    const cores = hints.workers.processes / Math.max(1, perCore?.value ?? 2);
    const fromWorkers = cores * 1000 * 0.5;
    if (fromWorkers > cpuRequest) {
      cpuRequest = fromWorkers;
      cpuHigh = Math.max(cpuHigh, cores * 1000);
      cpuReason = `${hints.workers.processes} ${hints.workers.server} workers can keep ${cores.toFixed(1)} cores busy; half of that is requested for typical load`;
      cpuSources.push('repo:Dockerfile', ...(perCore === undefined ? [] : cite(perCore)));
    }
  }
  if (hints.gomaxprocs !== undefined) cpuHigh = Math.max(cpuHigh, hints.gomaxprocs * 1000);

  let autoscaling: DraftPlan['autoscaling'];
  let replicas = minReplicas;
  let replicasReason = `${minReplicas} replica${minReplicas === 1 ? '' : 's'} minimum because ${tierWhy}`;
  const replicaSources = cite(minFigure);
  const peak = meta.expected_qps;
  const latencySensitive = meta.sla_latency_ms !== undefined && meta.sla_latency_ms <= 200;
  const hpaTarget = book.get(
    hints.worker
      ? 'hpa_cpu_target_batch'
      : latencySensitive
        ? 'hpa_cpu_target_latency_sensitive'
        : 'hpa_cpu_target_default',
  );
  if (peak !== undefined && !hints.worker) {
    const rps = book.stack('rps_per_core') ?? book.get('rps_per_core');
    const utilisation = hpaTarget.value / 100;
    const coresAtPeak = peak / (rps.value * utilisation);
    // Keep a replica between the stack's typical request and 2 cores; more load means more replicas.
    const perReplica = Math.min(Math.max(cpuRequest, (coresAtPeak * 1000) / 20), 2000);
    const atPeak = Math.max(minReplicas, Math.ceil((coresAtPeak * 1000) / perReplica));
    const headroomFactor = book.get('max_replicas_headroom');
    const average = Math.max(minReplicas, Math.ceil(atPeak / 2));
    replicas = average;
    autoscaling = {
      minReplicas: average,
      maxReplicas: Math.max(average, Math.ceil(atPeak * headroomFactor.value)),
      targetCpuUtilization: Math.round(hpaTarget.value),
    };
    if (perReplica > cpuRequest) {
      cpuReason = `At ${peak} req/s and about ${rps.value} req/s per core, the peak needs ${coresAtPeak.toFixed(1)} cores at ${hpaTarget.value}% utilisation; ${cpuText(perReplica)} per replica keeps the replica count reasonable`;
      cpuHigh = Math.max(cpuHigh, perReplica * 2);
    }
    cpuRequest = perReplica;
    cpuSources.push(...cite(rps));
    replicasReason = `At ${peak} req/s the peak needs ${atPeak} replica${atPeak === 1 ? '' : 's'} of ${cpuText(perReplica)} at ${hpaTarget.value}% CPU; the autoscaler runs ${average}–${autoscaling.maxReplicas} (at least ${minReplicas} because ${tierWhy})`;
    replicaSources.push(...cite(rps), ...cite(hpaTarget), ...cite(headroomFactor));
  } else if (tier !== 'dev' && !hints.worker && minReplicas >= 2) {
    const headroomFactor = book.get('max_replicas_headroom');
    autoscaling = {
      minReplicas,
      maxReplicas: Math.max(minReplicas + 1, Math.ceil(minReplicas * headroomFactor.value)),
      targetCpuUtilization: Math.round(hpaTarget.value),
    };
    replicasReason += `; no load figure was given, so the autoscaler may add up to ${autoscaling.maxReplicas} at ${hpaTarget.value}% CPU`;
    replicaSources.push(...cite(hpaTarget), ...cite(headroomFactor));
  }
  if (existing?.requests?.cpu !== undefined && peak === undefined) {
    const kept = Math.min(Math.max(existing.requests.cpu, cpuLow), cpuHigh);
    cpuReason += `; the repository already asks ${cpuText(existing.requests.cpu)} (${existing.file})${kept === existing.requests.cpu ? ', within range and kept' : `, moved into range to ${cpuText(kept)}`}`;
    cpuRequest = kept;
    cpuSources.push(`repo:${existing.file}`);
  }
  cpuRequest = roundCpu(cpuRequest);
  cpuLow = Math.min(cpuLow, cpuRequest);
  steps.push({
    field: 'cpu.request',
    value: cpuText(cpuRequest),
    reason: `${cpuReason}.`,
    sources: cpuSources,
  });

  const cpuLimitRatio = book.get('cpu_limit_ratio');
  let cpuLimit: Estimate | undefined;
  if (cpuLimitRatio.value > 0) {
    const limit = roundCpu(cpuRequest * cpuLimitRatio.value);
    cpuLimit = estimate(limit, cpuRequest, Math.max(limit, cpuHigh));
    steps.push({
      field: 'cpu.limit',
      value: cpuText(limit),
      reason: `${cpuLimitRatio.value}× the request.`,
      sources: cite(cpuLimitRatio),
    });
  } else {
    steps.push({
      field: 'cpu.limit',
      value: 'none',
      reason:
        'No CPU limit: throttling hurts latency, and the request already reserves the share this service needs.',
      sources: cite(cpuLimitRatio),
    });
  }
  steps.push({
    field: 'replicas',
    value: String(replicas),
    reason: `${replicasReason}.`,
    sources: replicaSources,
  });
  if (autoscaling !== undefined) {
    steps.push({
      field: 'autoscaling',
      value: `${autoscaling.minReplicas}–${autoscaling.maxReplicas} at ${autoscaling.targetCpuUtilization}% CPU`,
      reason: `The target is the utilisation the CPU request was sized for, so the autoscaler and the requests agree${latencySensitive ? `; kept low for the ${meta.sla_latency_ms} ms latency target` : ''}.`,
      sources: cite(hpaTarget),
    });
  }

  // --- Disruption budget, state and volume.
  let disruptionBudget: DraftPlan['disruptionBudget'];
  const floorReplicas = autoscaling?.minReplicas ?? replicas;
  if (floorReplicas >= 2) {
    const fraction = book.get('pdb_min_available_fraction');
    const minAvailable = Math.min(
      floorReplicas - 1,
      Math.max(1, Math.floor(floorReplicas * fraction.value)),
    );
    disruptionBudget = { minAvailable };
    steps.push({
      field: 'disruption-budget',
      value: `minAvailable ${minAvailable}`,
      reason: `Voluntary disruptions (node drains, upgrades) keep at least ${minAvailable} of ${floorReplicas} replicas serving.`,
      sources: cite(fraction),
    });
  }
  const storageFigure = book.stack('storage');
  const stateful =
    meta.stateful === true || (meta.stateful !== false && storageFigure !== undefined);
  let volume: DraftPlan['volume'];
  if (stateful) {
    const headroomFigure = book.get('storage_headroom');
    const base = meta.storage_bytes ?? (storageFigure ?? book.get('storage_default')).value * GIB;
    const size =
      Math.ceil((base * (meta.storage_bytes === undefined ? 1 : headroomFigure.value)) / GIB) * GIB;
    volume = { sizeBytes: size, mountPath: '/data' };
    steps.push({
      field: 'volume',
      value: memoryQuantityFromBytes(bytes(size)),
      reason:
        meta.storage_bytes === undefined
          ? 'The stack keeps data on disk; the typical size for a small production instance.'
          : `The description asks for ${memoryQuantityFromBytes(bytes(meta.storage_bytes))}; ${headroomFigure.value}× leaves room to grow.`,
      sources:
        meta.storage_bytes === undefined
          ? cite(storageFigure ?? book.get('storage_default'))
          : ['description', ...cite(headroomFigure)],
    });
  }
  const standalone = stateful ? book.stack('replicas_standalone') : undefined;
  if (standalone !== undefined) {
    // Scaling a data store's StatefulSet without replication only makes separate databases.
    replicas = Math.max(1, Math.round(standalone.value));
    autoscaling = undefined;
    disruptionBudget = undefined;
    const at = steps.findIndex((s) => s.field === 'replicas');
    steps.splice(at, 1, {
      field: 'replicas',
      value: String(replicas),
      reason:
        'This data store does not replicate by itself; more replicas need an operator or replication set up first.',
      sources: cite(standalone),
    });
    for (const field of ['disruption-budget', 'autoscaling'] as const) {
      const dropAt = steps.findIndex((s) => s.field === field);
      if (dropAt >= 0) steps.splice(dropAt, 1);
    }
  }
  const workload: DraftPlan['workload'] = stateful ? 'StatefulSet' : 'Deployment';
  steps.unshift({
    field: 'workload',
    value: workload,
    reason: stateful
      ? 'The service keeps state on a volume, so each replica needs a stable identity and its own disk.'
      : 'Stateless: any replica can serve any request.',
    sources: stateful && meta.stateful === true ? ['description'] : [],
  });
  if (stateful && autoscaling !== undefined) {
    autoscaling = undefined;
    steps.splice(
      steps.findIndex((s) => s.field === 'autoscaling'),
      1,
    );
    warnings.push(
      'A stateful service is not autoscaled on CPU; scale it by hand after checking its replication.',
    );
  }

  // --- Proxmox: one guest holding what the replicas would have had at peak.
  let proxmox: DraftPlan['proxmox'];
  if (target === 'proxmox') {
    const guestKind = stateful || meta.language === 'java' ? 'vm' : 'lxc';
    const overhead = book.get(guestKind === 'vm' ? 'vm_overhead_memory' : 'lxc_overhead_memory');
    const cores = Math.max(
      1,
      Math.ceil(((cpuLimit?.target ?? cpuRequest * 2) * Math.max(1, replicas)) / 1000),
    );
    const memory =
      Math.ceil((memLimit * Math.max(1, replicas) + overhead.value * MIB) / (256 * MIB)) *
      256 *
      MIB;
    const diskBase = book.get('disk_base');
    const disk = diskBase.value * GIB + (volume?.sizeBytes ?? 0);
    const balloon = book.get('balloon_fraction');
    proxmox = {
      kind: guestKind,
      cores,
      memoryBytes: memory,
      ...(guestKind === 'vm'
        ? { balloonBytes: Math.round((memory * balloon.value) / MIB) * MIB }
        : {}),
      diskBytes: disk,
    };
    steps.push({
      field: 'proxmox',
      value: `${guestKind.toUpperCase()} ${cores} cores, ${memText(memory)} memory, ${memoryQuantityFromBytes(bytes(disk))} disk`,
      reason: `One ${guestKind === 'vm' ? 'VM' : 'container'} sized for ${Math.max(1, replicas)} replica${replicas === 1 ? '' : 's'}' worth of CPU and memory plus the guest's own overhead.`,
      sources: [...cite(overhead), ...cite(diskBase)],
    });
  }

  // --- Confidence: how much of this came from knowledge and the repository rather than defaults.
  let confidence = 0.45;
  if (book.used.size > 0) confidence += 0.1;
  if (
    entries.some(
      (e) =>
        e.kind === 'framework' &&
        meta.framework !== undefined &&
        e.applies_to.frameworks.includes(meta.framework),
    )
  )
    confidence += 0.1;
  if (heap !== undefined || hints.workers !== undefined) confidence += 0.1;
  if (peak !== undefined) confidence += 0.1;
  if (existing !== undefined) confidence += 0.05;
  confidence -= Math.min(0.3, book.fallbacks * 0.05);
  if (meta.language === undefined) confidence = Math.min(confidence, 0.3);
  confidence = Math.round(Math.min(0.9, Math.max(0.1, confidence)) * 100) / 100;

  return {
    service: bundle.service,
    target,
    workload,
    replicas: Math.max(1, replicas),
    resources: {
      cpuRequest: estimate(cpuRequest, roundCpu(cpuLow), roundCpu(cpuHigh)),
      ...(cpuLimit === undefined ? {} : { cpuLimit }),
      memoryRequest: estimate(
        memRequest,
        roundMemory(Math.min(memLow, memRequest)),
        roundMemory(Math.max(memHigh, memRequest)),
      ),
      memoryLimit: estimate(
        memLimit,
        memRequest,
        roundMemory(Math.max(memHigh * limitRatio.value, memLimit)),
      ),
    },
    ...(autoscaling === undefined ? {} : { autoscaling }),
    ...(disruptionBudget === undefined ? {} : { disruptionBudget }),
    ...(volume === undefined ? {} : { volume }),
    ...(proxmox === undefined ? {} : { proxmox }),
    reasoning: steps,
    confidence,
    warnings,
  };
}

export interface OfflineReasonerOptions {
  retriever: Retriever;
  target: 'kubernetes' | 'proxmox';
}

/**
 * The ReAct strategy of the offline reasoner: one turn checks policy, validates and estimates the
 * cost (in that order, so validation and cost see the plan as policy left it); the next finishes with
 * that plan (agent 3 applies policy again regardless).
 */
const REFINE_ORDER = ['policy_check', 'validate', 'cost_estimate'] as const;

export function createOfflineReasoner(options: OfflineReasonerOptions): Reasoner {
  return {
    id: 'offline',
    async decideContext(question: ContextQuestion): Promise<ContextDecision> {
      return question.hasMetrics
        ? {
            path: 'metrics',
            reason: 'The service runs and has metrics; they show its real use.',
            queries: question.defaultQueries,
          }
        : {
            path: 'knowledge',
            reason:
              'No metrics for this service: sizing comes from the knowledge base for its stack.',
            queries: question.defaultQueries,
          };
    },
    async predict(bundle: ContextBundle): Promise<DraftPlan> {
      return predictOffline(bundle, applicableEntries(bundle, options.retriever), options.target);
    },
    async refine(state: RefinementState): Promise<RefinementStep> {
      if (state.trace.some((t) => t.tool !== undefined)) {
        return {
          kind: 'finish',
          thought: 'Policy, validation and cost have been checked.',
          plan: state.plan,
        };
      }
      return {
        kind: 'tools',
        thought:
          'Check the draft against the repository policy (caps, minimums, limits, quota), validate the adjusted plan (bounds, limits ≥ requests, canonical quantities, fit) and estimate its monthly cost.',
        calls: REFINE_ORDER.map((tool) => ({ tool, input: { service: state.plan.service.name } })),
      };
    },
  };
}
