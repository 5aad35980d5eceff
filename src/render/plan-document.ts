/**
 * The stable JSON document `ai-provision plan --format json` prints, consumed by scripts, the
 * GitHub Action and the benchmarks. Its JSON Schema is published by `ai-provision schema plan`.
 */
import { z } from 'zod';
import type { FinalPlan } from '../agents/schema.js';
import { PROMPT_AGENTS } from '../reasoners/llm/prompts.js';
import { bytes, cpuQuantityFromMillicores, memoryQuantityFromBytes, millicores } from '../units.js';

const Quantities = z.object({
  /** Kubernetes CPU quantity ("250m", "2"). */
  cpu: z.string().optional(),
  /** Kubernetes memory quantity ("512Mi", "1Gi"). */
  memory: z.string().optional(),
});

export const PlannedService = z.object({
  name: z.string(),
  /** The service's directory relative to the repository root, "." for the root. */
  path: z.string(),
  target: z.enum(['kubernetes', 'proxmox']),
  workload: z.enum(['Deployment', 'StatefulSet']),
  replicas: z.number().int().positive(),
  resources: z.object({
    requests: Quantities.required(),
    /** cpu is absent when the plan sets no CPU limit on purpose. */
    limits: Quantities,
  }),
  /** VPA-style bounds of each request: lower and upper quantities. */
  bounds: z.object({
    cpu: z.object({ lower: z.string(), upper: z.string() }),
    memory: z.object({ lower: z.string(), upper: z.string() }),
  }),
  autoscaling: z
    .object({
      minReplicas: z.number().int(),
      maxReplicas: z.number().int(),
      targetCpuUtilization: z.number().int(),
    })
    .optional(),
  disruptionBudget: z.object({ minAvailable: z.number().int() }).optional(),
  volume: z.object({ size: z.string(), mountPath: z.string() }).optional(),
  proxmox: z
    .object({
      kind: z.enum(['vm', 'lxc']),
      cores: z.number().int(),
      memory: z.string(),
      balloon: z.string().optional(),
      disk: z.string(),
    })
    .optional(),
  confidence: z.number(),
  cost: z.object({ monthlyUsd: z.number(), monthlyAtMaxUsd: z.number() }),
  reasoning: z.array(
    z.object({
      field: z.string(),
      value: z.string(),
      reason: z.string(),
      sources: z.array(z.string()),
    }),
  ),
  policy: z.array(
    z.object({ rule: z.string(), severity: z.enum(['error', 'warning']), message: z.string() }),
  ),
  validation: z.object({ ok: z.boolean(), errors: z.array(z.string()) }),
  warnings: z.array(z.string()),
  /** Files written or patched for this service, repository-relative. */
  files: z.array(z.object({ path: z.string(), kind: z.enum(['new', 'patch']) })),
});
export type PlannedService = z.infer<typeof PlannedService>;

/** Token and call counts of one scope (the job, one service). Input tokens are the uncached ones. */
export const LlmTotals = z.object({
  calls: z.number().int().nonnegative(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheWriteTokens: z.number().int().nonnegative(),
  estimatedUsd: z.number().nonnegative(),
});
export type LlmTotals = z.infer<typeof LlmTotals>;

/** What a model reasoner cost this job, and where it fell back to the offline reasoner. */
export const LlmUsage = LlmTotals.extend({
  models: z.object({ fast: z.string(), deep: z.string() }),
  /** Prompt file → the first 12 hex digits of its sha256, so a report names the prompts it used. */
  prompts: z.record(z.string(), z.string()),
  byService: z.record(z.string(), LlmTotals),
  fallbacks: z.array(
    z.object({
      service: z.string(),
      agent: z.enum(PROMPT_AGENTS),
      reason: z.string(),
    }),
  ),
  /** False when a model's price is not in the table and a default price was assumed. */
  pricesKnown: z.boolean(),
});
export type LlmUsage = z.infer<typeof LlmUsage>;

export const PlanDocument = z.object({
  schemaVersion: z.literal(1),
  source: z.string(),
  commit: z.string().optional(),
  reasoner: z.string(),
  services: z.array(PlannedService),
  warnings: z.array(z.string()),
  /** Present when a model reasoner ran. */
  llm: LlmUsage.optional(),
});
export type PlanDocument = z.infer<typeof PlanDocument>;

const cpu = (m: number): string => cpuQuantityFromMillicores(millicores(m));
const mem = (b: number): string => memoryQuantityFromBytes(bytes(b));

export function plannedService(plan: FinalPlan, files: PlannedService['files']): PlannedService {
  const r = plan.resources;
  return PlannedService.parse({
    name: plan.service.name,
    path: plan.service.path,
    target: plan.target,
    workload: plan.workload,
    replicas: plan.replicas,
    resources: {
      requests: { cpu: cpu(r.cpuRequest.target), memory: mem(r.memoryRequest.target) },
      limits: {
        ...(r.cpuLimit === undefined ? {} : { cpu: cpu(r.cpuLimit.target) }),
        memory: mem(r.memoryLimit.target),
      },
    },
    bounds: {
      cpu: { lower: cpu(r.cpuRequest.lower), upper: cpu(r.cpuRequest.upper) },
      memory: { lower: mem(r.memoryRequest.lower), upper: mem(r.memoryRequest.upper) },
    },
    ...(plan.autoscaling === undefined ? {} : { autoscaling: plan.autoscaling }),
    ...(plan.disruptionBudget === undefined ? {} : { disruptionBudget: plan.disruptionBudget }),
    ...(plan.volume === undefined
      ? {}
      : { volume: { size: mem(plan.volume.sizeBytes), mountPath: plan.volume.mountPath } }),
    ...(plan.proxmox === undefined
      ? {}
      : {
          proxmox: {
            kind: plan.proxmox.kind,
            cores: plan.proxmox.cores,
            memory: mem(plan.proxmox.memoryBytes),
            ...(plan.proxmox.balloonBytes === undefined
              ? {}
              : { balloon: mem(plan.proxmox.balloonBytes) }),
            disk: mem(plan.proxmox.diskBytes),
          },
        }),
    confidence: plan.confidence,
    cost: { monthlyUsd: plan.cost.monthly, monthlyAtMaxUsd: plan.cost.monthlyAtMax },
    reasoning: plan.reasoning,
    policy: plan.policy.map((f) => ({ rule: f.rule, severity: f.severity, message: f.message })),
    validation: plan.validation,
    warnings: plan.warnings,
    files,
  });
}
