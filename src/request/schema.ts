/**
 * The request standard: every entry point (comment, dispatch, Slack, CLI, MCP) produces one
 * immutable, validated ProvisionRequest. JSDoc on fields feeds the generated JSON Schema.
 */
import { z } from 'zod';

export const TARGETS = ['kubernetes', 'proxmox', 'both'] as const;
export const Target = z.enum(TARGETS);
export type Target = z.infer<typeof Target>;

export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export const Environment = z.enum(ENVIRONMENTS);
export type Environment = z.infer<typeof Environment>;

export const SUBCOMMANDS = ['provision', 'help', 'status', 'approve', 'reject'] as const;
export const Subcommand = z.enum(SUBCOMMANDS);
export type Subcommand = z.infer<typeof Subcommand>;

export const ORIGIN_KINDS = ['comment', 'dispatch', 'slack', 'cli', 'mcp'] as const;

/** Where a request came from and who asked. */
export const Origin = z
  .object({
    kind: z.enum(ORIGIN_KINDS),
    /** GitHub login, Slack user id, local user name or MCP client name. */
    requestedBy: z.string().min(1),
    /** "owner/name" of the repository the comment or dispatch arrived on, when there is one. */
    repository: z.string().optional(),
    /** Issue or pull-request number of the thread, for comments. */
    issueNumber: z.number().int().positive().optional(),
    /** Comment id, delivery id or Slack trigger id: what makes the request unique at its origin. */
    eventId: z.string().optional(),
  })
  .strict();
export type Origin = z.infer<typeof Origin>;

/** Kubernetes namespace name rules (RFC 1123 label). */
const NAMESPACE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** A git ref a user may name: branch, tag or commit; no option-looking or traversal values. */
const GIT_REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]{1,200}$/;

export const DESCRIPTION_MIN = 10;
export const DESCRIPTION_MAX = 2000;

export const ProvisionRequest = z
  .object({
    /** https URL of the repository to size, or (CLI only) a local path. */
    gitRepo: z.string().min(1),
    /** Free-text description of the workload: scale, SLAs, tier, stack, state, data. */
    appDescription: z.string().min(DESCRIPTION_MIN).max(DESCRIPTION_MAX),
    /** Branch, tag or commit to read; the default branch when absent. */
    ref: z.string().regex(GIT_REF).optional(),
    /** Which services to size, as paths inside the repository; all services when absent. */
    paths: z.array(z.string().min(1)).min(1).optional(),
    /** What to produce: Kubernetes manifests, a Proxmox VM/LXC size, or both. */
    target: Target.default('kubernetes'),
    /** Environment tier the plan is for. */
    environment: Environment.optional(),
    /** Kubernetes namespace for the generated objects. */
    namespace: z.string().regex(NAMESPACE).optional(),
    origin: Origin,
  })
  .strict();
export type ProvisionRequest = z.infer<typeof ProvisionRequest>;

/** Kinds of workload whose footprint differs sharply from a typical web API (knowledge `workload-class:<name>`). */
export const WORKLOAD_CLASSES = [
  'kubernetes-controller',
  'node-agent',
  'metrics-exporter',
  'periodic-job',
  'stream-processor',
  'control-plane',
  'web-ui-server',
] as const;
export type WorkloadClass = (typeof WORKLOAD_CLASSES)[number];

export const CRITICALITY_TIERS = ['critical', 'high', 'normal', 'low'] as const;
export const CONSISTENCY = ['strong', 'eventual'] as const;

/** A latency target with the percentile it applies to (undefined percentile = unspecified/average). */
export const LatencyTarget = z.object({
  milliseconds: z.number().positive(),
  percentile: z.number().min(1).max(100).optional(),
});
export type LatencyTarget = z.infer<typeof LatencyTarget>;

/**
 * What the free-text description says about the workload. Every field is optional: a value is
 * present only when the description states it; nothing is ever guessed.
 */
export const AppProfile = z
  .object({
    /** Peak requests per second. */
    peakQps: z.number().positive().optional(),
    /** Average or typical requests per second. */
    averageQps: z.number().positive().optional(),
    concurrentUsers: z.number().int().positive().optional(),
    latency: LatencyTarget.optional(),
    /** Availability as a fraction, e.g. 0.999 for "three nines". */
    availability: z.number().gt(0).lt(1).optional(),
    zeroDowntime: z.boolean().optional(),
    criticality: z.enum(CRITICALITY_TIERS).optional(),
    environment: Environment.optional(),
    stateful: z.boolean().optional(),
    sessionAffinity: z.boolean().optional(),
    /** Persistent storage size in bytes. */
    storageBytes: z.number().positive().optional(),
    consistency: z.enum(CONSISTENCY).optional(),
    /** Canonical data-store names: postgres, mysql, mongodb, redis, kafka, rabbitmq, elasticsearch, … */
    dataStores: z.array(z.string()).optional(),
    /** Canonical language names as RepoFacts uses them: go, java, javascript, typescript, python, csharp, … */
    languages: z.array(z.string()).optional(),
    /** Canonical framework names as the stack detectors use them: gin, spring-boot, nextjs, react, … */
    frameworks: z.array(z.string()).optional(),
    batch: z.boolean().optional(),
    spiky: z.boolean().optional(),
    gdpr: z.boolean().optional(),
    geoRedundant: z.boolean().optional(),
    /** Third-party or external APIs the description says the workload calls. */
    externalDependencies: z.array(z.string()).optional(),
    /** What kind of workload the description says this is, when it says so clearly. */
    workloadClass: z.enum(WORKLOAD_CLASSES).optional(),
    /** Statements that pull against each other, for the report to flag (e.g. "stateless-and-stateful"). */
    contradictions: z.array(z.enum(['stateless-and-stateful'])).optional(),
  })
  .strict();
export type AppProfile = z.infer<typeof AppProfile>;
