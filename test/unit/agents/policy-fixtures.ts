/** Small builders shared by the policy, validation and cost tests: one plan, varied per case. */
import { defaultResolvedConfig } from '../../../src/config.js';
import type { ResolvedConfig, ResolvedPolicy } from '../../../src/config.js';
import type { DraftPlan } from '../../../src/agents/schema.js';
import { bytes, millicores } from '../../../src/units.js';
import type { Bytes, Millicores } from '../../../src/units.js';

export const MI = 2 ** 20;
export const GI = 2 ** 30;

/** A 250m / 512Mi Deployment with two replicas and no CPU limit, as agent 2 might draft it. */
export function draftPlan(overrides: Partial<DraftPlan> = {}): DraftPlan {
  return {
    service: { name: 'orders', path: 'services/orders' },
    target: 'kubernetes',
    workload: 'Deployment',
    replicas: 2,
    resources: {
      cpuRequest: { lower: 200, target: 250, upper: 400 },
      memoryRequest: { lower: 384 * MI, target: 512 * MI, upper: 768 * MI },
      memoryLimit: { lower: 512 * MI, target: 768 * MI, upper: GI },
    },
    reasoning: [],
    confidence: 0.7,
    warnings: [],
    ...overrides,
  };
}

export function withResources(
  plan: DraftPlan,
  resources: Partial<DraftPlan['resources']>,
): DraftPlan {
  return { ...plan, resources: { ...plan.resources, ...resources } };
}

/** A point estimate: lower = target = upper. */
export function exactly(value: number): { lower: number; target: number; upper: number } {
  return { lower: value, target: value, upper: value };
}

export function configWith(
  policy: Partial<ResolvedPolicy> = {},
  rest: Partial<Omit<ResolvedConfig, 'policy'>> = {},
): ResolvedConfig {
  const base = defaultResolvedConfig();
  return { ...base, ...rest, policy: { ...base.policy, ...policy } };
}

/** A namespace quota in product units; either side may be left out. */
export function quota(cpu?: number, memory?: number): { cpu?: Millicores; memory?: Bytes } {
  return {
    ...(cpu === undefined ? {} : { cpu: millicores(cpu) }),
    ...(memory === undefined ? {} : { memory: bytes(memory) }),
  };
}
