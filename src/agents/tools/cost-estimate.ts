/**
 * Agent 3's cost tool: what a plan's requests cost per month at list prices. Requests, not usage,
 * because that is what request-billed platforms charge and what a node pool must reserve.
 */
import type { CostEstimate, DraftPlan } from '../schema.js';

/** Hours in an average month (8,760 h a year / 12), the figure cloud price lists use. */
export const HOURS_PER_MONTH = 730;

const MILLICORES_PER_VCPU = 1000;
const BYTES_PER_GIB = 2 ** 30;

export interface UnitPrices {
  /** USD per vCPU-hour of requested CPU. */
  vcpuHour: number;
  /** USD per GiB-hour of requested memory. */
  gibHour: number;
}

/**
 * Monthly cost of the plan's requests × replicas: the autoscaler's minimum for `monthly`, its
 * maximum for `monthlyAtMax` (both the fixed replica count without an autoscaler). Rounded to
 * cents. A `proxmox` target runs on hardware the user already owns, so it costs 0 here; the
 * estimate has no field to say so, the report does.
 */
export function estimateCost(plan: DraftPlan, pricing: UnitPrices): CostEstimate {
  const base = {
    currency: 'USD',
    pricePerVcpuHour: pricing.vcpuHour,
    pricePerGibHour: pricing.gibHour,
  } as const;
  if (plan.target === 'proxmox') return { ...base, monthly: 0, monthlyAtMax: 0 };
  const perPodHour = podHourlyCost(plan, pricing);
  const fewest = plan.autoscaling?.minReplicas ?? plan.replicas;
  const most = plan.autoscaling?.maxReplicas ?? plan.replicas;
  return {
    ...base,
    monthly: roundToCents(perPodHour * fewest * HOURS_PER_MONTH),
    monthlyAtMax: roundToCents(perPodHour * most * HOURS_PER_MONTH),
  };
}

/** USD per hour for one pod's requests. */
export function podHourlyCost(plan: DraftPlan, pricing: UnitPrices): number {
  const vcpus = plan.resources.cpuRequest.target / MILLICORES_PER_VCPU;
  const gib = plan.resources.memoryRequest.target / BYTES_PER_GIB;
  return vcpus * pricing.vcpuHour + gib * pricing.gibHour;
}

export function roundToCents(usd: number): number {
  // EPSILON keeps 0.005 from rounding down after binary floating point.
  return Math.round((usd + Number.EPSILON) * 100) / 100;
}
