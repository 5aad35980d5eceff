/**
 * The sizing policy: the reasoner proposes, these layers decide. Each layer is a pure function in
 * the Kubernetes VPA style (`WithMargin(WithMin(base))`): it takes what the inner layers produced,
 * changes what it must and records every change as a finding with `adjusted`. A layer never raises
 * a number above what the plan asked, except to satisfy a minimum or "limit ≥ request"; what it
 * cannot fix by clamping (a quota too small, a pod larger than a node, a cost over the cap) is an
 * `error` finding that says so with the numbers.
 */
import type { Environment } from '../request/index.js';
import type { ResolvedConfig } from '../config.js';
import { bytes, cpuQuantityFromMillicores, memoryQuantityFromBytes, millicores } from '../units.js';
import type { DraftPlan, Estimate, PolicyFinding } from './schema.js';
import { HOURS_PER_MONTH, estimateCost, podHourlyCost } from './tools/cost-estimate.js';

/** A plan as a layer leaves it, with every finding so far (inner layers first). */
export interface PolicyResult {
  plan: DraftPlan;
  findings: PolicyFinding[];
}

/** What the policy knows beyond the plan and the repository config. Every field is optional. */
export interface PolicyContext {
  /** The request's environment; falls back to `config.defaults.environment`. Only prod raises replicas. */
  environment?: Environment;
  /**
   * Requests already taken in the namespace by the other services of the same plan, totals across
   * their replicas (millicores, bytes). They count against the quota before this service does.
   */
  otherServicesRequests?: { cpu: number; memory: number };
  /** A quota known from the request or the cluster (millicores, bytes); the tighter side wins. */
  namespaceQuota?: { cpu?: number; memory?: number };
  /** Pod settings the repository's existing manifest already uses (hostNetwork, privileged, …). */
  existingSettings?: readonly string[];
}

export type PolicyLayer = (
  inner: PolicyResult,
  config: ResolvedConfig,
  context?: PolicyContext,
) => PolicyResult;

type ResourceKey = keyof DraftPlan['resources'];
type PlanField = NonNullable<PolicyFinding['adjusted']>['field'];
type Kind = 'cpu' | 'memory';

const RESOURCE_FIELDS = [
  { key: 'cpuRequest', field: 'cpu.request', kind: 'cpu' },
  { key: 'cpuLimit', field: 'cpu.limit', kind: 'cpu' },
  { key: 'memoryRequest', field: 'memory.request', kind: 'memory' },
  { key: 'memoryLimit', field: 'memory.limit', kind: 'memory' },
] as const satisfies readonly { key: ResourceKey; field: PlanField; kind: Kind }[];

/** The starting point of the layers: the plan as the reasoner drafted it, no findings. */
export function unchanged(plan: DraftPlan): PolicyResult {
  return { plan, findings: [] };
}

/**
 * The layers in the order they apply. Caps first so that minimums and "limit ≥ request" can only
 * raise within them; replica bounds before the quota, which may only lower the autoscaler's
 * maximum; checks that change nothing last.
 */
export const POLICY_LAYERS: readonly PolicyLayer[] = [
  withCaps,
  withMinimums,
  withLimits,
  withReplicas,
  withQuota,
  withNodeFit,
  withForbidden,
  withCostCap,
];

/**
 * Applies every layer: `withCostCap(withForbidden(withNodeFit(withQuota(withReplicas(withLimits(
 * withMinimums(withCaps(base))))))))`. Pure; the input plan is never modified.
 */
export function applyPolicy(
  plan: DraftPlan,
  config: ResolvedConfig,
  context: PolicyContext = {},
): PolicyResult {
  return POLICY_LAYERS.reduce((result, layer) => layer(result, config, context), unchanged(plan));
}

// ---------------------------------------------------------------------------------------------
// Formatting: the same quantity strings the manifests will carry.

function formatCpu(m: number): string {
  return cpuQuantityFromMillicores(millicores(Math.round(m)));
}

function formatMemory(b: number): string {
  return memoryQuantityFromBytes(bytes(Math.round(b)));
}

function format(kind: Kind, value: number): string {
  return kind === 'cpu' ? formatCpu(value) : formatMemory(value);
}

/** For sums and comparisons in one message: one unit throughout, so numbers line up. */
function formatCpuMillicores(m: number): string {
  return `${Math.round(m)}m`;
}

function formatMemoryMebibytes(b: number): string {
  const mib = b / 2 ** 20;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)}Mi`;
}

function formatUsd(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

function formatAutoscaling(a: { minReplicas: number; maxReplicas: number }): string {
  return `${a.minReplicas}–${a.maxReplicas} replicas`;
}

// ---------------------------------------------------------------------------------------------
// Estimate arithmetic, each keeping lower ≤ target ≤ upper.

function capped(e: Estimate, max: number): Estimate {
  return {
    lower: Math.min(e.lower, max),
    target: Math.min(e.target, max),
    upper: Math.min(e.upper, max),
  };
}

function floored(e: Estimate, min: number): Estimate {
  return {
    lower: Math.max(e.lower, min),
    target: Math.max(e.target, min),
    upper: Math.max(e.upper, min),
  };
}

function atLeast(e: Estimate, floor: Estimate): Estimate {
  return {
    lower: Math.max(e.lower, floor.lower),
    target: Math.max(e.target, floor.target),
    upper: Math.max(e.upper, floor.upper),
  };
}

function atMost(e: Estimate, ceiling: Estimate): Estimate {
  return {
    lower: Math.min(e.lower, ceiling.lower),
    target: Math.min(e.target, ceiling.target),
    upper: Math.min(e.upper, ceiling.upper),
  };
}

function scaled(e: Estimate, factor: number): Estimate {
  return {
    lower: Math.round(e.lower * factor),
    target: Math.round(e.target * factor),
    upper: Math.round(e.upper * factor),
  };
}

function sameEstimate(a: Estimate | undefined, b: Estimate | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.lower === b.lower && a.target === b.target && a.upper === b.upper;
}

function withResource(plan: DraftPlan, key: ResourceKey, value: Estimate): DraftPlan {
  return { ...plan, resources: { ...plan.resources, [key]: value } };
}

// ---------------------------------------------------------------------------------------------
// Layers

/** Per-container maxima: clamps each request and limit (target and bounds) to the policy's cap. */
export function withCaps(inner: PolicyResult, config: ResolvedConfig): PolicyResult {
  let plan = inner.plan;
  const findings = [...inner.findings];
  const caps = { cpu: config.policy.maxContainerCpu, memory: config.policy.maxContainerMemory };
  for (const { key, field, kind } of RESOURCE_FIELDS) {
    const estimate = plan.resources[key];
    const max = caps[kind];
    if (estimate === undefined || estimate.upper <= max) continue;
    const next = capped(estimate, max);
    plan = withResource(plan, key, next);
    const setting = `policy.max_container_${kind}`;
    const targetMoved = next.target !== estimate.target;
    findings.push({
      rule: `caps.${kind}`,
      severity: 'warning',
      message: targetMoved
        ? `${field} ${format(kind, estimate.target)} is above ${setting} (${format(kind, max)}); clamped to ${format(kind, next.target)}`
        : `the upper bound of ${field} (${format(kind, estimate.upper)}) is above ${setting}; clamped to ${format(kind, max)}`,
      adjusted: {
        field,
        from: format(kind, targetMoved ? estimate.target : estimate.upper),
        to: format(kind, targetMoved ? next.target : next.upper),
      },
    });
  }
  return { plan, findings };
}

/** Per-container minima: raises requests below the policy's minimum (target and bounds). */
export function withMinimums(inner: PolicyResult, config: ResolvedConfig): PolicyResult {
  let plan = inner.plan;
  const findings = [...inner.findings];
  const minimums = { cpu: config.policy.minContainerCpu, memory: config.policy.minContainerMemory };
  for (const { key, field, kind } of RESOURCE_FIELDS) {
    if (key !== 'cpuRequest' && key !== 'memoryRequest') continue;
    const estimate = plan.resources[key];
    const min = minimums[kind];
    if (estimate.lower >= min) continue;
    const next = floored(estimate, min);
    plan = withResource(plan, key, next);
    const setting = `policy.min_container_${kind}`;
    const targetMoved = next.target !== estimate.target;
    findings.push({
      rule: `minimums.${kind}`,
      severity: 'warning',
      message: targetMoved
        ? `${field} ${format(kind, estimate.target)} is below ${setting} (${format(kind, min)}); raised to ${format(kind, next.target)}`
        : `the lower bound of ${field} (${format(kind, estimate.lower)}) is below ${setting}; raised to ${format(kind, min)}`,
      adjusted: {
        field,
        from: format(kind, targetMoved ? estimate.target : estimate.lower),
        to: format(kind, targetMoved ? next.target : next.lower),
      },
    });
  }
  return { plan, findings };
}

/**
 * Limits: a memory limit is required (when the policy says so) and never below the request; the CPU
 * limit follows `cpu_limits` ("none" adds none, "ratio" caps it at request × ratio, "equal" sets it
 * to the request) and, when present, is never below the request.
 */
export function withLimits(inner: PolicyResult, config: ResolvedConfig): PolicyResult {
  let plan = inner.plan;
  const findings = [...inner.findings];
  const { memoryRequest, memoryLimit, cpuRequest } = plan.resources;

  if (config.policy.requireMemoryLimit && memoryLimit.target === 0) {
    plan = withResource(plan, 'memoryLimit', { ...memoryRequest });
    findings.push({
      rule: 'limits.memory-required',
      severity: 'warning',
      message: `a memory limit is required (policy.require_memory_limit); set to the request, ${formatMemory(memoryRequest.target)}`,
      adjusted: { field: 'memory.limit', from: 'none', to: formatMemory(memoryRequest.target) },
    });
  } else if (memoryLimit.target > 0 || config.policy.requireMemoryLimit) {
    const next = atLeast(memoryLimit, memoryRequest);
    if (!sameEstimate(next, memoryLimit)) {
      plan = withResource(plan, 'memoryLimit', next);
      findings.push(
        limitBelowRequest('memory', 'memory.limit', memoryLimit, next, memoryRequest.target),
      );
    }
  }

  const limit = plan.resources.cpuLimit;
  let wanted = limit;
  let reason = '';
  if (config.policy.cpuLimits === 'equal') {
    wanted = { ...cpuRequest };
    reason = 'policy.cpu_limits is "equal": the CPU limit equals the request';
  } else if (config.policy.cpuLimits === 'ratio') {
    // The ceiling never forces a limit above the per-container cap unless the request already is.
    const cap = Math.max(config.policy.maxContainerCpu, cpuRequest.upper);
    const ceiling = capped(scaled(cpuRequest, config.policy.cpuLimitRatio), cap);
    wanted = limit === undefined ? ceiling : atMost(limit, ceiling);
    reason = `policy.cpu_limits is "ratio": the CPU limit is at most ${config.policy.cpuLimitRatio} × the request`;
  }
  if (!sameEstimate(wanted, limit) && wanted !== undefined) {
    plan = withResource(plan, 'cpuLimit', wanted);
    findings.push({
      rule: `limits.cpu-${config.policy.cpuLimits}`,
      severity: 'warning',
      message: `${reason}; cpu.limit ${limit === undefined ? 'none' : formatCpu(limit.target)} → ${formatCpu(wanted.target)}`,
      adjusted: {
        field: 'cpu.limit',
        from: limit === undefined ? 'none' : formatCpu(limit.target),
        to: formatCpu(wanted.target),
      },
    });
  }
  const current = plan.resources.cpuLimit;
  if (current !== undefined) {
    const next = atLeast(current, cpuRequest);
    if (!sameEstimate(next, current)) {
      plan = withResource(plan, 'cpuLimit', next);
      findings.push(limitBelowRequest('cpu', 'cpu.limit', current, next, cpuRequest.target));
    }
  }
  return { plan, findings };
}

function limitBelowRequest(
  kind: Kind,
  field: 'cpu.limit' | 'memory.limit',
  before: Estimate,
  after: Estimate,
  request: number,
): PolicyFinding {
  const moved = before.target !== after.target;
  return {
    rule: `limits.${kind}-at-least-request`,
    severity: 'warning',
    message: moved
      ? `${field} ${format(kind, before.target)} is below the request ${format(kind, request)}; raised to ${format(kind, after.target)}`
      : `the bounds of ${field} were below the request's bounds; raised to match`,
    adjusted: {
      field,
      from: format(kind, moved ? before.target : before.upper),
      to: format(kind, moved ? after.target : after.upper),
    },
  };
}

/**
 * Replica bounds for Kubernetes targets: at least `min_replicas_prod` in prod (fixed count and
 * autoscaler minimum), at most `max_replicas`, autoscaler minimum ≤ maximum, the fixed count inside
 * the autoscaler's range, and a disruption budget that still lets one pod be evicted.
 */
export function withReplicas(
  inner: PolicyResult,
  config: ResolvedConfig,
  context: PolicyContext = {},
): PolicyResult {
  if (inner.plan.target !== 'kubernetes') return inner;
  let plan = inner.plan;
  const findings = [...inner.findings];
  const environment = context.environment ?? config.defaults.environment;
  const prod = environment === 'prod';
  const minimum = prod ? config.policy.minReplicasProd : 1;
  const maximum = config.policy.maxReplicas;

  let replicas = plan.replicas;
  if (replicas < minimum) {
    findings.push({
      rule: 'replicas.prod-minimum',
      severity: 'warning',
      message: `prod needs at least ${minimum} replicas (policy.min_replicas_prod); raised from ${replicas}`,
      adjusted: { field: 'replicas', from: String(replicas), to: String(minimum) },
    });
    replicas = minimum;
  }
  if (replicas > maximum) {
    findings.push({
      rule: 'replicas.max',
      severity: 'warning',
      message: `${replicas} replicas are above policy.max_replicas (${maximum}); lowered to ${maximum}`,
      adjusted: { field: 'replicas', from: String(replicas), to: String(maximum) },
    });
    replicas = maximum;
  }

  const autoscaling = plan.autoscaling;
  if (autoscaling !== undefined) {
    const reasons: string[] = [];
    let { minReplicas, maxReplicas } = autoscaling;
    if (maxReplicas > maximum) {
      reasons.push(`maximum ${maxReplicas} is above policy.max_replicas (${maximum})`);
      maxReplicas = maximum;
    }
    if (minReplicas < minimum) {
      reasons.push(`prod needs a minimum of at least ${minimum} (policy.min_replicas_prod)`);
      minReplicas = minimum;
    }
    if (minReplicas > maximum) {
      reasons.push(`minimum ${minReplicas} is above policy.max_replicas (${maximum})`);
      minReplicas = maximum;
    }
    if (minReplicas > maxReplicas) {
      reasons.push(`the minimum must not exceed the maximum`);
      maxReplicas = minReplicas;
    }
    const next = { ...autoscaling, minReplicas, maxReplicas };
    if (reasons.length > 0) {
      findings.push({
        rule: 'replicas.autoscaling-bounds',
        severity: 'warning',
        message: `autoscaler ${formatAutoscaling(autoscaling)} → ${formatAutoscaling(next)}: ${reasons.join('; ')}`,
        adjusted: {
          field: 'autoscaling',
          from: formatAutoscaling(autoscaling),
          to: formatAutoscaling(next),
        },
      });
    }
    const inRange = Math.min(Math.max(replicas, minReplicas), maxReplicas);
    if (inRange !== replicas) {
      findings.push({
        rule: 'replicas.within-autoscaling',
        severity: 'warning',
        message: `replicas ${replicas} lie outside the autoscaler's ${formatAutoscaling(next)}; set to ${inRange}`,
        adjusted: { field: 'replicas', from: String(replicas), to: String(inRange) },
      });
      replicas = inRange;
    }
    plan = { ...plan, autoscaling: next };
  }
  plan = { ...plan, replicas };

  const budget = plan.disruptionBudget;
  const fewest = plan.autoscaling?.minReplicas ?? plan.replicas;
  if (budget !== undefined && budget.minAvailable >= fewest) {
    const from = `minAvailable ${budget.minAvailable}`;
    if (fewest > 1) {
      plan = { ...plan, disruptionBudget: { minAvailable: fewest - 1 } };
      findings.push({
        rule: 'replicas.disruption-budget',
        severity: 'warning',
        message: `a disruption budget of ${from} with ${fewest} replicas would block node drains; lowered to ${fewest - 1}`,
        adjusted: { field: 'disruption-budget', from, to: `minAvailable ${fewest - 1}` },
      });
    } else {
      const { disruptionBudget: _dropped, ...rest } = plan;
      plan = rest;
      findings.push({
        rule: 'replicas.disruption-budget',
        severity: 'warning',
        message: `a disruption budget of ${from} with a single replica would block node drains; removed`,
        adjusted: { field: 'disruption-budget', from, to: 'none' },
      });
    }
  }
  return { plan, findings };
}

/**
 * Namespace quota on requests: this service's requests × max(replicas, autoscaler maximum), plus
 * what other services already take, must fit. When even the fewest replicas do not fit, an error
 * with the numbers; otherwise the autoscaler's maximum is lowered to what fits.
 */
export function withQuota(
  inner: PolicyResult,
  config: ResolvedConfig,
  context: PolicyContext = {},
): PolicyResult {
  const plan = inner.plan;
  if (plan.target !== 'kubernetes') return inner;
  const quota = effectiveQuota(config, context);
  if (quota.cpu === undefined && quota.memory === undefined) return inner;
  const findings = [...inner.findings];
  const fewest = plan.autoscaling?.minReplicas ?? plan.replicas;
  const most = Math.max(plan.replicas, plan.autoscaling?.maxReplicas ?? 0);
  const sides = [
    {
      kind: 'cpu' as const,
      label: 'CPU',
      perPod: plan.resources.cpuRequest.target,
      quota: quota.cpu,
      other: context.otherServicesRequests?.cpu ?? 0,
      show: formatCpuMillicores,
    },
    {
      kind: 'memory' as const,
      label: 'memory',
      perPod: plan.resources.memoryRequest.target,
      quota: quota.memory,
      other: context.otherServicesRequests?.memory ?? 0,
      show: formatMemoryMebibytes,
    },
  ];

  let fit = most;
  let impossible = false;
  for (const side of sides) {
    if (side.quota === undefined || side.perPod <= 0) continue;
    const available = Math.max(0, side.quota - side.other);
    if (side.perPod * most <= available) continue;
    const allows =
      side.other > 0
        ? `quota allows ${side.show(available)} (${side.show(side.quota)} minus ${side.show(side.other)} requested by other services)`
        : `quota allows ${side.show(side.quota)}`;
    if (side.perPod * fewest > available) {
      impossible = true;
      findings.push({
        rule: `quota.${side.kind}`,
        severity: 'error',
        message: `the namespace quota is too small even for the minimum plan: needs ${fewest} × ${side.show(side.perPod)} = ${side.show(side.perPod * fewest)} ${side.label}, ${allows}`,
      });
      continue;
    }
    fit = Math.min(fit, Math.floor(available / side.perPod));
  }
  if (impossible || fit >= most || plan.autoscaling === undefined) {
    return { plan, findings };
  }
  const next = { ...plan.autoscaling, maxReplicas: fit };
  findings.push({
    rule: 'quota.max-replicas',
    severity: 'warning',
    message: `at ${most} replicas the service would exceed the namespace quota; the autoscaler's maximum is lowered to ${fit}, the most that fit`,
    adjusted: {
      field: 'autoscaling',
      from: formatAutoscaling(plan.autoscaling),
      to: formatAutoscaling(next),
    },
  });
  return { plan: { ...plan, autoscaling: next, replicas: Math.min(plan.replicas, fit) }, findings };
}

function effectiveQuota(
  config: ResolvedConfig,
  context: PolicyContext,
): { cpu?: number; memory?: number } {
  const tighter = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined ? b : b === undefined ? a : Math.min(a, b);
  return {
    cpu: tighter(config.policy.namespaceQuota?.cpu, context.namespaceQuota?.cpu),
    memory: tighter(config.policy.namespaceQuota?.memory, context.namespaceQuota?.memory),
  };
}

/**
 * Node fit: one pod's requests must fit a node's allocatable capacity (`node_size`) or it will
 * never be scheduled; a limit above it can never be reached. For Proxmox the guest must fit.
 */
export function withNodeFit(inner: PolicyResult, config: ResolvedConfig): PolicyResult {
  const plan = inner.plan;
  const findings = [...inner.findings];
  const node = config.policy.nodeSize;
  if (plan.target === 'proxmox' && plan.proxmox !== undefined) {
    const guest = plan.proxmox;
    if (guest.cores * 1000 > node.cpu) {
      findings.push({
        rule: 'node-fit.cpu',
        severity: 'error',
        message: `the ${guest.kind} needs ${guest.cores} cores, a node has ${formatCpu(node.cpu)} (policy.node_size.cpu)`,
      });
    }
    if (guest.memoryBytes > node.memory) {
      findings.push({
        rule: 'node-fit.memory',
        severity: 'error',
        message: `the ${guest.kind} needs ${formatMemoryMebibytes(guest.memoryBytes)} memory, a node has ${formatMemoryMebibytes(node.memory)} (policy.node_size.memory)`,
      });
    }
    return { plan, findings };
  }
  const { cpuRequest, cpuLimit, memoryRequest, memoryLimit } = plan.resources;
  if (cpuRequest.target > node.cpu) {
    findings.push({
      rule: 'node-fit.cpu',
      severity: 'error',
      message: `one pod requests ${formatCpuMillicores(cpuRequest.target)} CPU, a node has ${formatCpuMillicores(node.cpu)} allocatable (policy.node_size.cpu); it can never be scheduled`,
    });
  } else if (cpuLimit !== undefined && cpuLimit.target > node.cpu) {
    findings.push({
      rule: 'node-fit.cpu-limit',
      severity: 'warning',
      message: `cpu.limit ${formatCpuMillicores(cpuLimit.target)} is above a node's ${formatCpuMillicores(node.cpu)} and can never be reached`,
    });
  }
  if (memoryRequest.target > node.memory) {
    findings.push({
      rule: 'node-fit.memory',
      severity: 'error',
      message: `one pod requests ${formatMemoryMebibytes(memoryRequest.target)} memory, a node has ${formatMemoryMebibytes(node.memory)} allocatable (policy.node_size.memory); it can never be scheduled`,
    });
  } else if (memoryLimit.target > node.memory) {
    findings.push({
      rule: 'node-fit.memory-limit',
      severity: 'warning',
      message: `memory.limit ${formatMemoryMebibytes(memoryLimit.target)} is above a node's ${formatMemoryMebibytes(node.memory)} and can never be reached`,
    });
  }
  return { plan, findings };
}

/** Forbidden settings: in the plan itself, or in the existing manifest an in-place patch would keep. */
export function withForbidden(
  inner: PolicyResult,
  config: ResolvedConfig,
  context: PolicyContext = {},
): PolicyResult {
  const forbidden = new Set<string>(config.policy.forbidden);
  if (forbidden.size === 0) return inner;
  const plan = inner.plan;
  const findings = [...inner.findings];
  const forbid = (setting: string, what: string): void => {
    findings.push({
      rule: `forbidden.${setting}`,
      severity: 'error',
      message: `${what}, which policy.forbidden does not allow (${setting})`,
    });
  };
  if (forbidden.has('StatefulSet') && plan.workload === 'StatefulSet') {
    forbid('StatefulSet', 'the plan is a StatefulSet');
  }
  if (forbidden.has('PersistentVolume') && plan.volume !== undefined) {
    forbid('PersistentVolume', `the plan mounts a persistent volume at ${plan.volume.mountPath}`);
  }
  if (plan.proxmox !== undefined && forbidden.has(plan.proxmox.kind)) {
    forbid(plan.proxmox.kind, `the plan is a Proxmox ${plan.proxmox.kind}`);
  }
  for (const setting of new Set(context.existingSettings ?? [])) {
    if (forbidden.has(setting)) {
      forbid(setting, `the existing manifest uses ${setting} and an in-place patch would keep it`);
    }
  }
  return { plan, findings };
}

/** Cost cap: the monthly estimate at the most replicas must stay within `monthly_cost_cap_usd`. */
export function withCostCap(inner: PolicyResult, config: ResolvedConfig): PolicyResult {
  const cap = config.policy.monthlyCostCapUsd;
  if (cap === undefined) return inner;
  const plan = inner.plan;
  const cost = estimateCost(plan, config.pricing);
  if (cost.monthlyAtMax <= cap) return inner;
  const most = plan.autoscaling?.maxReplicas ?? plan.replicas;
  const fewest = plan.autoscaling?.minReplicas ?? plan.replicas;
  const perReplica = podHourlyCost(plan, config.pricing) * HOURS_PER_MONTH;
  const hint =
    cost.monthly <= cap
      ? `; at most ${Math.floor(cap / perReplica)} replicas fit the cap`
      : fewest === most
        ? ''
        : `; even ${fewest} replicas cost ${formatUsd(cost.monthly)}`;
  return {
    plan,
    findings: [
      ...inner.findings,
      {
        rule: 'cost-cap',
        severity: 'error',
        message: `at ${most} replicas the plan costs ${formatUsd(cost.monthlyAtMax)} a month, above policy.monthly_cost_cap_usd (${formatUsd(cap)})${hint}`,
      },
    ],
  };
}
