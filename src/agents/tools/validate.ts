/**
 * Agent 3's technical validation: is the plan internally consistent and deployable, whatever the
 * policy thinks of it? Independent of rendering; schema errors of the rendered objects (from
 * `validateKubernetesObject` in src/render/kubernetes.ts) are passed in and merged.
 */
import type { ResolvedConfig } from '../../config.js';
import {
  bytes,
  bytesFromMemoryQuantity,
  cpuQuantityFromMillicores,
  memoryQuantityFromBytes,
  millicores,
  millicoresFromCpuQuantity,
} from '../../units.js';
import type { DraftPlan, Estimate } from '../schema.js';

type Kind = 'cpu' | 'memory';

/**
 * Every problem found, as sentences naming the plan field; empty when the plan is valid.
 * `renderedErrors` (schema validation of the rendered objects) are appended as they are.
 */
export function validatePlan(
  plan: DraftPlan,
  config: ResolvedConfig,
  renderedErrors: readonly string[] = [],
): string[] {
  return [
    ...boundsErrors(plan),
    ...limitErrors(plan, config),
    ...canonicalErrors(plan),
    ...autoscalingErrors(plan, config),
    ...disruptionBudgetErrors(plan),
    ...storageErrors(plan),
    ...fitErrors(plan, config),
    ...proxmoxErrors(plan),
    ...renderedErrors,
  ];
}

function show(kind: Kind, value: number): string {
  return kind === 'cpu'
    ? cpuQuantityFromMillicores(millicores(Math.round(value)))
    : memoryQuantityFromBytes(bytes(Math.round(value)));
}

function resourceEstimates(plan: DraftPlan): { field: string; kind: Kind; estimate: Estimate }[] {
  const { cpuRequest, cpuLimit, memoryRequest, memoryLimit } = plan.resources;
  return [
    { field: 'cpu.request', kind: 'cpu' as const, estimate: cpuRequest },
    ...(cpuLimit === undefined
      ? []
      : [{ field: 'cpu.limit', kind: 'cpu' as const, estimate: cpuLimit }]),
    { field: 'memory.request', kind: 'memory' as const, estimate: memoryRequest },
    { field: 'memory.limit', kind: 'memory' as const, estimate: memoryLimit },
  ];
}

/** lower ≤ target ≤ upper, and a request of zero is no request. */
function boundsErrors(plan: DraftPlan): string[] {
  const errors: string[] = [];
  for (const { field, kind, estimate } of resourceEstimates(plan)) {
    if (estimate.lower > estimate.target || estimate.target > estimate.upper) {
      errors.push(
        `${field}: expected lower ≤ target ≤ upper, got ${show(kind, estimate.lower)} ≤ ${show(kind, estimate.target)} ≤ ${show(kind, estimate.upper)}`,
      );
    }
  }
  if (plan.resources.cpuRequest.target <= 0) errors.push('cpu.request: must be above 0');
  if (plan.resources.memoryRequest.target <= 0) errors.push('memory.request: must be above 0');
  return errors;
}

function limitErrors(plan: DraftPlan, config: ResolvedConfig): string[] {
  const errors: string[] = [];
  const { cpuRequest, cpuLimit, memoryRequest, memoryLimit } = plan.resources;
  if (cpuLimit !== undefined && cpuLimit.target < cpuRequest.target) {
    errors.push(
      `cpu.limit ${show('cpu', cpuLimit.target)} is below cpu.request ${show('cpu', cpuRequest.target)}`,
    );
  }
  if (memoryLimit.target === 0) {
    if (config.policy.requireMemoryLimit) errors.push('memory.limit: a memory limit is required');
    return errors;
  }
  if (memoryLimit.target < memoryRequest.target) {
    errors.push(
      `memory.limit ${show('memory', memoryLimit.target)} is below memory.request ${show('memory', memoryRequest.target)}`,
    );
  }
  return errors;
}

/**
 * Each number must survive the trip to a manifest: rendered as a canonical quantity and read back,
 * it equals itself (after rounding to whole millicores or bytes). Memory that is not a whole number
 * of MiB above 1Mi fails, because rendering would round it up.
 */
function canonicalErrors(plan: DraftPlan): string[] {
  const values: { field: string; kind: Kind; value: number }[] = resourceEstimates(plan).map(
    ({ field, kind, estimate }) => ({ field, kind, value: estimate.target }),
  );
  if (plan.volume !== undefined) {
    values.push({ field: 'volume', kind: 'memory', value: plan.volume.sizeBytes });
  }
  if (plan.proxmox !== undefined) {
    values.push({ field: 'proxmox.memory', kind: 'memory', value: plan.proxmox.memoryBytes });
    values.push({ field: 'proxmox.disk', kind: 'memory', value: plan.proxmox.diskBytes });
    if (plan.proxmox.balloonBytes !== undefined) {
      values.push({ field: 'proxmox.balloon', kind: 'memory', value: plan.proxmox.balloonBytes });
    }
  }
  const errors: string[] = [];
  for (const { field, kind, value } of values) {
    const rounded = Math.round(value);
    const text = show(kind, rounded);
    const back = kind === 'cpu' ? millicoresFromCpuQuantity(text) : bytesFromMemoryQuantity(text);
    if (back !== rounded) {
      const unit = kind === 'cpu' ? 'millicores' : 'bytes';
      errors.push(
        `${field}: ${value} ${unit} is not a canonical quantity; "${text}" reads back as ${back ?? 'nothing'}`,
      );
    }
  }
  return errors;
}

function autoscalingErrors(plan: DraftPlan, config: ResolvedConfig): string[] {
  const errors: string[] = [];
  if (plan.replicas < 1) errors.push(`replicas: expected at least 1, got ${plan.replicas}`);
  if (plan.replicas > config.policy.maxReplicas) {
    errors.push(
      `replicas: ${plan.replicas} is above policy.max_replicas (${config.policy.maxReplicas})`,
    );
  }
  const a = plan.autoscaling;
  if (a === undefined) return errors;
  if (a.minReplicas < 1)
    errors.push(`autoscaling: minReplicas must be at least 1, got ${a.minReplicas}`);
  if (a.minReplicas > a.maxReplicas) {
    errors.push(`autoscaling: minReplicas ${a.minReplicas} is above maxReplicas ${a.maxReplicas}`);
  }
  if (a.maxReplicas > config.policy.maxReplicas) {
    errors.push(
      `autoscaling: maxReplicas ${a.maxReplicas} is above policy.max_replicas (${config.policy.maxReplicas})`,
    );
  }
  if (plan.replicas < a.minReplicas || plan.replicas > a.maxReplicas) {
    errors.push(
      `replicas: ${plan.replicas} lies outside the autoscaler's ${a.minReplicas}–${a.maxReplicas}`,
    );
  }
  if (a.targetCpuUtilization < 10 || a.targetCpuUtilization > 95) {
    errors.push(`autoscaling: targetCpuUtilization ${a.targetCpuUtilization}% is outside 10–95%`);
  }
  return errors;
}

/** A budget that allows no eviction blocks every node drain. */
function disruptionBudgetErrors(plan: DraftPlan): string[] {
  const budget = plan.disruptionBudget;
  if (budget === undefined) return [];
  const fewest = plan.autoscaling?.minReplicas ?? plan.replicas;
  if (budget.minAvailable < fewest) return [];
  const basis = plan.autoscaling === undefined ? 'replicas' : 'autoscaling minReplicas';
  return [
    `disruption-budget: minAvailable ${budget.minAvailable} must be below ${basis} (${fewest}), or no pod can ever be evicted`,
  ];
}

/** A StatefulSet exists to own volumes; a Deployment sharing one volume across pods breaks. */
function storageErrors(plan: DraftPlan): string[] {
  if (plan.target === 'proxmox') return [];
  if (plan.workload === 'StatefulSet' && plan.volume === undefined) {
    return ['workload: a StatefulSet without a volume; use a Deployment or add the volume'];
  }
  if (plan.workload === 'Deployment' && plan.volume !== undefined) {
    return ['volume: a persistent volume needs a StatefulSet, not a Deployment'];
  }
  return [];
}

function fitErrors(plan: DraftPlan, config: ResolvedConfig): string[] {
  if (plan.target === 'proxmox') return [];
  const errors: string[] = [];
  const node = config.policy.nodeSize;
  const { cpuRequest, memoryRequest } = plan.resources;
  if (cpuRequest.target > node.cpu) {
    errors.push(
      `cpu.request ${show('cpu', cpuRequest.target)} does not fit a node (${show('cpu', node.cpu)} allocatable)`,
    );
  }
  if (memoryRequest.target > node.memory) {
    errors.push(
      `memory.request ${show('memory', memoryRequest.target)} does not fit a node (${show('memory', node.memory)} allocatable)`,
    );
  }
  const quota = config.policy.namespaceQuota;
  if (quota === undefined) return errors;
  const most = Math.max(plan.replicas, plan.autoscaling?.maxReplicas ?? 0);
  const cpuTotal = cpuRequest.target * most;
  const memoryTotal = memoryRequest.target * most;
  if (quota.cpu !== undefined && cpuTotal > quota.cpu) {
    errors.push(
      `quota: ${most} × ${show('cpu', cpuRequest.target)} = ${show('cpu', cpuTotal)} CPU exceeds the namespace quota of ${show('cpu', quota.cpu)}`,
    );
  }
  if (quota.memory !== undefined && memoryTotal > quota.memory) {
    errors.push(
      `quota: ${most} × ${show('memory', memoryRequest.target)} = ${show('memory', memoryTotal)} memory exceeds the namespace quota of ${show('memory', quota.memory)}`,
    );
  }
  return errors;
}

function proxmoxErrors(plan: DraftPlan): string[] {
  if (plan.target !== 'proxmox') return [];
  const guest = plan.proxmox;
  if (guest === undefined)
    return ['proxmox: the target is proxmox but the plan has no VM/LXC size'];
  const errors: string[] = [];
  if (!Number.isInteger(guest.cores) || guest.cores < 1) {
    errors.push(`proxmox: cores must be a whole number ≥ 1, got ${guest.cores}`);
  }
  if (guest.memoryBytes <= 0) errors.push('proxmox: memory must be above 0');
  if (guest.diskBytes <= 0) errors.push('proxmox: disk must be above 0');
  if (guest.balloonBytes !== undefined && guest.balloonBytes > guest.memoryBytes) {
    errors.push(
      `proxmox: balloon ${show('memory', guest.balloonBytes)} is above memory ${show('memory', guest.memoryBytes)}`,
    );
  }
  if (guest.kind === 'lxc' && guest.balloonBytes !== undefined) {
    errors.push('proxmox: balloon memory applies to VMs, not LXC containers');
  }
  return errors;
}
