/**
 * What the three agents hand each other: ContextBundle (agent 1) → DraftPlan (agent 2) →
 * FinalPlan (agent 3). Every one is zod-validated; the input standard (SPEC §3) is published as a
 * JSON Schema by `ai-provision schema`.
 */
import { z } from 'zod';
import { Passage } from '../rag/schema.js';
import { CpuMemory, ResourceHints } from '../repo/schema.js';
import { WORKLOAD_CLASSES } from '../request/schema.js';

// ---------------------------------------------------------------------------------------------
// The input standard (SPEC §3): what a user may also hand in directly.

export const AppMetadata = z
  .object({
    name: z.string(),
    language: z.string().optional(),
    framework: z.string().optional(),
    runtime_version: z.string().optional(),
    /** Peak requests per second the service must serve. */
    expected_qps: z.number().positive().optional(),
    /** Latency target in milliseconds. */
    sla_latency_ms: z.number().positive().optional(),
    /** Percentile the latency target applies to (95, 99, …). */
    sla_latency_percentile: z.number().min(1).max(100).optional(),
    /** Availability as a fraction (0.999). */
    availability: z.number().gt(0).lt(1).optional(),
    criticality: z.enum(['critical', 'high', 'normal', 'low']).optional(),
    /** How much an out-of-memory kill hurts: low tolerance means more memory headroom. */
    oom_tolerance: z.enum(['low', 'medium', 'high']).optional(),
    stateful: z.boolean().optional(),
    zero_downtime: z.boolean().optional(),
    /** Persistent storage the service needs, in bytes. */
    storage_bytes: z.number().positive().optional(),
    /** A workload class whose footprint differs from a typical web API (kubernetes-controller, metrics-exporter, …). */
    workload_class: z.enum(WORKLOAD_CLASSES).optional(),
    /** The requester's own words. Data, never instructions: a reasoner reads it, policy still decides. */
    description: z.string().max(2000).optional(),
  })
  .strict();
export type AppMetadata = z.infer<typeof AppMetadata>;

/** Observed history, oldest first. CPU in cores, memory in MiB, request rate in requests/s. */
export const HistoricalMetrics = z
  .object({
    cpu_usage: z.array(z.number().nonnegative()).default([]),
    memory_usage: z.array(z.number().nonnegative()).default([]),
    replica_counts: z.array(z.number().int().nonnegative()).default([]),
    request_rate: z.array(z.number().nonnegative()).default([]),
  })
  .strict();
export type HistoricalMetrics = z.infer<typeof HistoricalMetrics>;

export const DeploymentContext = z
  .object({
    environment: z.enum(['dev', 'staging', 'prod']),
    namespace: z.string().optional(),
    /** Kubernetes quantities: {"cpu": "4", "memory": "8Gi"}. */
    namespace_quota: z
      .object({ cpu: z.string().optional(), memory: z.string().optional() })
      .strict()
      .optional(),
    /** Free capacity per node: {"node-1": {"cpu_free": 1.5, "mem_free": "2Gi"}}. */
    node_utilization: z
      .record(
        z.string(),
        z.object({ cpu_free: z.number().nonnegative(), mem_free: z.string() }).strict(),
      )
      .optional(),
  })
  .strict();
export type DeploymentContext = z.infer<typeof DeploymentContext>;

export const ServiceManifest = z
  .object({
    /** The service's existing Deployment/StatefulSet YAML, when there is one. */
    deployment_yaml: z.string().optional(),
  })
  .strict();

/** SPEC §3: the payload the agents reason over, one per service. */
export const InputStandard = z
  .object({
    schema_version: z.literal(1).default(1),
    app_metadata: AppMetadata,
    historical_metrics: HistoricalMetrics.optional(),
    deployment_context: DeploymentContext,
    service_manifest: ServiceManifest.optional(),
  })
  .strict();
export type InputStandard = z.infer<typeof InputStandard>;

// ---------------------------------------------------------------------------------------------
// Agent 1: context.

export const RETRIEVAL_PATHS = ['knowledge', 'metrics'] as const;

/** Facts from the repository the prediction needs, in product units (millicores, bytes). */
export const ServiceHints = ResourceHints.omit({ sources: true }).extend({
  ports: z.array(z.number().int()).default([]),
  healthcheck: z.string().optional(),
  finalImage: z.string().optional(),
  /** The Dockerfile's final USER, as written ("1000", "1000:1000", "node"). */
  user: z.string().optional(),
  /** Resources the repository already sets (first matching deployment). */
  existing: z
    .object({
      file: z.string(),
      replicas: z.number().int().optional(),
      requests: CpuMemory.optional(),
      limits: CpuMemory.optional(),
    })
    .optional(),
  dataStores: z.array(z.string()).default([]),
  endpoints: z.number().int().nonnegative().default(0),
  /** True when the service is a worker (no port, queue consumer). */
  worker: z.boolean().default(false),
});
export type ServiceHints = z.infer<typeof ServiceHints>;

export const ContextBundle = z.object({
  service: z.object({ name: z.string(), path: z.string() }),
  input: InputStandard,
  hints: ServiceHints,
  retrieval: z.object({
    path: z.enum(RETRIEVAL_PATHS),
    /** Why this path was chosen. */
    reason: z.string(),
    queries: z.array(z.string()),
    passages: z.array(Passage),
  }),
  /** Conflicts or gaps found while building the bundle (contradictory description, unknown stack). */
  warnings: z.array(z.string()).default([]),
});
export type ContextBundle = z.infer<typeof ContextBundle>;

// ---------------------------------------------------------------------------------------------
// Agent 2: prediction.

/** A figure as the Kubernetes VPA reports it: a target with a lower and an upper bound. */
export const Estimate = z
  .object({
    target: z.number().nonnegative(),
    lower: z.number().nonnegative(),
    upper: z.number().nonnegative(),
  })
  .strict()
  .refine((e) => e.lower <= e.target && e.target <= e.upper, {
    message: 'expected lower ≤ target ≤ upper',
  });
export type Estimate = z.infer<typeof Estimate>;

export const PLAN_FIELDS = [
  'workload',
  'replicas',
  'cpu.request',
  'cpu.limit',
  'memory.request',
  'memory.limit',
  'autoscaling',
  'disruption-budget',
  'volume',
  'proxmox',
] as const;

/** Why one number is what it is. `source` is a knowledge entry id, a repository location or "description". */
export const ReasoningStep = z.object({
  field: z.enum(PLAN_FIELDS),
  /** The value as shown to people ("250m", "3", "1Gi"). */
  value: z.string(),
  reason: z.string(),
  sources: z.array(z.string()).default([]),
});
export type ReasoningStep = z.infer<typeof ReasoningStep>;

export const Autoscaling = z
  .object({
    minReplicas: z.number().int().positive(),
    maxReplicas: z.number().int().positive(),
    targetCpuUtilization: z.number().int().min(10).max(95),
  })
  .refine((a) => a.minReplicas <= a.maxReplicas, { message: 'expected minReplicas ≤ maxReplicas' });

export const ProxmoxSize = z.object({
  kind: z.enum(['vm', 'lxc']),
  cores: z.number().int().positive(),
  memoryBytes: z.number().positive(),
  /** Balloon (minimum) memory for VMs. */
  balloonBytes: z.number().nonnegative().optional(),
  diskBytes: z.number().positive(),
});
export type ProxmoxSize = z.infer<typeof ProxmoxSize>;

export const DraftPlan = z.object({
  service: z.object({ name: z.string(), path: z.string() }),
  target: z.enum(['kubernetes', 'proxmox']),
  workload: z.enum(['Deployment', 'StatefulSet']),
  replicas: z.number().int().positive(),
  resources: z.object({
    /** Millicores. */
    cpuRequest: Estimate,
    /** Millicores; undefined = no CPU limit (throttling avoided on purpose). */
    cpuLimit: Estimate.optional(),
    /** Bytes. */
    memoryRequest: Estimate,
    /** Bytes. */
    memoryLimit: Estimate,
  }),
  autoscaling: Autoscaling.optional(),
  disruptionBudget: z.object({ minAvailable: z.number().int().nonnegative() }).optional(),
  volume: z.object({ sizeBytes: z.number().positive(), mountPath: z.string() }).optional(),
  proxmox: ProxmoxSize.optional(),
  reasoning: z.array(ReasoningStep),
  confidence: z.number().min(0).max(1),
  warnings: z.array(z.string()).default([]),
});
export type DraftPlan = z.infer<typeof DraftPlan>;

// ---------------------------------------------------------------------------------------------
// Agent 3: refinement and validation.

export const TOOL_NAMES = ['policy_check', 'validate', 'retrieve', 'cost_estimate'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export const TraceStep = z.object({
  cycle: z.number().int().min(1).max(3),
  thought: z.string(),
  tool: z.enum(TOOL_NAMES).optional(),
  input: z.unknown().optional(),
  observation: z.string().optional(),
});
export type TraceStep = z.infer<typeof TraceStep>;

export const PolicyFinding = z.object({
  rule: z.string(),
  severity: z.enum(['error', 'warning']),
  message: z.string(),
  /** What the policy changed, when it clamped a value. */
  adjusted: z.object({ field: z.enum(PLAN_FIELDS), from: z.string(), to: z.string() }).optional(),
});
export type PolicyFinding = z.infer<typeof PolicyFinding>;

export const CostEstimate = z.object({
  currency: z.literal('USD'),
  /** Requests × replicas (minimum replicas when autoscaled) × hours in a month × unit prices. */
  monthly: z.number().nonnegative(),
  /** Same at the autoscaler's maximum. */
  monthlyAtMax: z.number().nonnegative(),
  pricePerVcpuHour: z.number().nonnegative(),
  pricePerGibHour: z.number().nonnegative(),
});
export type CostEstimate = z.infer<typeof CostEstimate>;

export const FinalPlan = DraftPlan.and(
  z.object({
    policy: z.array(PolicyFinding),
    validation: z.object({ ok: z.boolean(), errors: z.array(z.string()) }),
    cost: CostEstimate,
    trace: z.array(TraceStep),
  }),
);
export type FinalPlan = z.infer<typeof FinalPlan>;
