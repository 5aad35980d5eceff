/**
 * Repository configuration: `.github/ai-provision.yml`, strict because we own its format. Every
 * field is optional and merged over documented defaults into a ResolvedConfig whose quantities are
 * numbers in product units (millicores, bytes). A broken file is a value naming the line of each
 * offending key, never an exception. (Env config for the server joins this file later.)
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import { z } from 'zod';
import { closestMatch } from './request/index.js';
import { ENVIRONMENTS, TARGETS } from './request/index.js';
import type { Environment, Target } from './request/index.js';
import { REPO_PERMISSIONS } from './scm/scm.js';
import type { RepoPermission } from './scm/scm.js';
import {
  bytesFromMemoryQuantity,
  cpuQuantityFromMillicores,
  memoryQuantityFromBytes,
  millicoresFromCpuQuantity,
} from './units.js';
import type { Bytes, Millicores } from './units.js';

export const REPO_CONFIG_FILE = '.github/ai-provision.yml';

export const OUTPUT_MODES = ['auto', 'new-files', 'patch'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

export const CPU_LIMIT_POLICIES = ['none', 'ratio', 'equal'] as const;
export type CpuLimitPolicy = (typeof CPU_LIMIT_POLICIES)[number];

/**
 * Settings a repository can forbid. Pod-level ones are checked against what an existing manifest
 * already uses (an in-place patch would keep them); the rest against the plan itself.
 */
export const FORBIDDEN_SETTINGS = [
  'privileged',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'hostPath',
  'runAsRoot',
  'StatefulSet',
  'PersistentVolume',
  'vm',
  'lxc',
] as const;
export type ForbiddenSetting = (typeof FORBIDDEN_SETTINGS)[number];

export const APPROVAL_GATES = ['apply', 'prod'] as const;
export type ApprovalGate = (typeof APPROVAL_GATES)[number];

/** Placeholders `output.path` may use. */
export const OUTPUT_PATH_PLACEHOLDERS = ['service', 'environment', 'namespace'] as const;

const CPU_QUANTITY_HINT = 'expected a CPU quantity like "500m" or "2"';
const MEMORY_QUANTITY_HINT = 'expected a memory quantity like "512Mi" or "2Gi"';

/** RFC 1123 label, the rule Kubernetes applies to namespace names. */
const NAMESPACE_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** owner/name, or owner/* for every repository of an owner. */
const REPO_PATTERN =
  /^(?<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/(?<name>[A-Za-z0-9._-]{1,100}|\*)$/;
const PLACEHOLDER = /\{(?<name>[^{}]*)\}/g;
/** GitHub's login rule: 1–39 letters, digits or single hyphens, not starting or ending with one. */
const GITHUB_LOGIN = /^(?=.{1,39}$)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
const LOGIN_HINT =
  'expected a GitHub login (1–39 letters, digits or single hyphens, not starting or ending with "-")';
const BOT_LOGIN_HINT =
  'bot accounts never run commands (ai-provision ignores them); remove this entry';

// YAML reads `cpu: 2` as a number and `cpu: 500m` as text; both are quantities.
const cpuQuantity = z
  .union([z.string(), z.number()], { error: CPU_QUANTITY_HINT })
  .refine((value) => millicoresFromCpuQuantity(value) !== undefined, {
    message: CPU_QUANTITY_HINT,
  });
const memoryQuantity = z
  .union([z.string(), z.number()], { error: MEMORY_QUANTITY_HINT })
  .refine((value) => bytesFromMemoryQuantity(value) !== undefined, {
    message: MEMORY_QUANTITY_HINT,
  });

// YAML reads an all-digit login (`- 1234`) as a number; it is still a login.
const githubLogin = z.preprocess(
  (value) => (Number.isSafeInteger(value) && (value as number) >= 0 ? String(value) : value),
  z
    .string()
    .refine((login) => !/\[bot\]$/i.test(login), { message: BOT_LOGIN_HINT, abort: true })
    .refine((login) => GITHUB_LOGIN.test(login), { message: LOGIN_HINT }),
);

const outputPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p), {
    message: 'expected a path relative to the repository root',
  })
  .refine((p) => !p.split(/[\\/]/).includes('..'), {
    message: 'expected a path inside the repository (no "..")',
  })
  .refine(
    (p) =>
      [...p.matchAll(PLACEHOLDER)].every((m) =>
        (OUTPUT_PATH_PLACEHOLDERS as readonly string[]).includes(m.groups!.name!),
      ),
    { message: `expected only the placeholders {${OUTPUT_PATH_PLACEHOLDERS.join('}, {')}}` },
  );

export const RepoConfig = z
  .object({
    /** Values used when a request does not say. */
    defaults: z
      .object({
        /** Environment tier a plan is for. Default: none (the request or description decides; not prod). */
        environment: z.enum(ENVIRONMENTS).optional(),
        /** Kubernetes namespace of the generated objects. Default: none (manifests carry no namespace). */
        namespace: z
          .string()
          .regex(NAMESPACE_NAME, {
            message: 'expected a Kubernetes namespace name (lowercase letters, digits, "-")',
          })
          .optional(),
        /** What to produce. Default: "kubernetes". */
        target: z.enum(TARGETS).optional(),
      })
      .strict()
      .optional(),
    /** Where and how manifests are written. */
    output: z
      .object({
        /** Directory for new files, relative to the repository root. Default: "deploy/k8s/{service}/". */
        path: outputPath.optional(),
        /**
         * "new-files" always writes new manifests, "patch" only edits the repository's existing ones,
         * "auto" patches what exists and writes the rest. Default: "auto".
         */
        mode: z.enum(OUTPUT_MODES).optional(),
      })
      .strict()
      .optional(),
    /** Limits every plan is held to; the policy clamps what it can and reports what it cannot. */
    policy: z
      .object({
        /** Largest CPU request or limit of one container. Default: "4". */
        max_container_cpu: cpuQuantity.optional(),
        /** Largest memory request or limit of one container. Default: "8Gi". */
        max_container_memory: memoryQuantity.optional(),
        /** Smallest CPU request of one container. Default: "10m". */
        min_container_cpu: cpuQuantity.optional(),
        /** Smallest memory request of one container. Default: "32Mi". */
        min_container_memory: memoryQuantity.optional(),
        /** Every container gets a memory limit at least its request. Default: true. */
        require_memory_limit: z.boolean().optional(),
        /**
         * CPU limits: "none" sets none (avoids throttling; a limit the plan carries is kept),
         * "ratio" caps the limit at request × cpu_limit_ratio, "equal" sets limit = request
         * (Guaranteed QoS when memory is equal too). Default: "none".
         */
        cpu_limits: z.enum(CPU_LIMIT_POLICIES).optional(),
        /** Limit-to-request ratio for cpu_limits: ratio. Default: 2. */
        cpu_limit_ratio: z.number().min(1).optional(),
        /** Most replicas (and autoscaler maximum) of one service. Default: 20. */
        max_replicas: z.number().int().min(1).optional(),
        /** Fewest replicas (and autoscaler minimum) in prod. Default: 2. */
        min_replicas_prod: z.number().int().min(1).optional(),
        /** The namespace's ResourceQuota on requests, when there is one. Default: none. */
        namespace_quota: z
          .object({
            /** requests.cpu of the quota. */
            cpu: cpuQuantity.optional(),
            /** requests.memory of the quota. */
            memory: memoryQuantity.optional(),
          })
          .strict()
          .optional(),
        /** Allocatable capacity of one node: a single pod must fit. Default: cpu "4", memory "16Gi". */
        node_size: z
          .object({
            /** Allocatable CPU of one node. */
            cpu: cpuQuantity.optional(),
            /** Allocatable memory of one node. */
            memory: memoryQuantity.optional(),
          })
          .strict()
          .optional(),
        /** Most a service may cost per month at its maximum replicas, in USD. Default: none. */
        monthly_cost_cap_usd: z.number().positive().optional(),
        /** Settings no plan may use. Default: []. */
        forbidden: z.array(z.enum(FORBIDDEN_SETTINGS)).optional(),
      })
      .strict()
      .optional(),
    /**
     * Unit prices for the cost estimate, in USD. Default: GKE Autopilot general-purpose Pods,
     * us-central1, on-demand: 0.0445 per vCPU-hour and 0.0049225 per GiB-hour.
     */
    pricing: z
      .object({
        /** USD per vCPU-hour of requested CPU. */
        vcpu_hour: z.number().nonnegative().optional(),
        /** USD per GiB-hour of requested memory. */
        gib_hour: z.number().nonnegative().optional(),
      })
      .strict()
      .optional(),
    /**
     * Other repositories ("owner/name", or "owner/*") a command in this repository may size.
     * Default: [] (this repository only).
     */
    allowed_repos: z
      .array(z.string().regex(REPO_PATTERN, { message: 'expected "owner/name" or "owner/*"' }))
      .optional(),
    /**
     * Who may ask for a sizing with `/ai-provision` in this repository (help and status need only
     * read access; bots are always ignored).
     */
    access: z
      .object({
        /**
         * The least repository permission a person needs to ask: "none", "read", "triage", "write",
         * "maintain" or "admin". Default: "write". "none" and "read" let anyone who can comment (on a
         * public repository: anyone) start jobs that clone repositories and open pull requests.
         */
        min_permission: z.enum(REPO_PERMISSIONS).optional(),
        /**
         * When not empty, only these GitHub logins may ask (case-insensitive), and they still need
         * min_permission. Default: [] (everyone with min_permission).
         */
        users: z.array(githubLogin).optional(),
      })
      .strict()
      .optional(),
    /** Who must approve what (recorded now; enforced by the apply gate). */
    approvals: z
      .object({
        /** Actions that wait for a human: "apply" to a cluster, any plan for "prod". Default: both. */
        required_for: z.array(z.enum(APPROVAL_GATES)).optional(),
        /**
         * The least repository permission a person needs to `/ai-provision approve` or `reject`:
         * "none", "read", "triage", "write", "maintain" or "admin". Default: "maintain".
         */
        min_permission: z.enum(REPO_PERMISSIONS).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type RepoConfig = z.infer<typeof RepoConfig>;

/** The configuration the pipeline uses: defaults merged in, quantities in product units. */
export interface ResolvedConfig {
  defaults: {
    /** Undefined: the request decides; the policy treats an unknown environment as not prod. */
    environment?: Environment;
    namespace?: string;
    target: Target;
  };
  output: { path: string; mode: OutputMode };
  policy: ResolvedPolicy;
  pricing: { vcpuHour: number; gibHour: number };
  allowedRepos: string[];
  /** Who may ask for a sizing. */
  access: {
    minPermission: RepoPermission;
    /** Empty: everyone with minPermission. Logins as written, duplicates (any case) removed. */
    users: string[];
  };
  approvals: { requiredFor: ApprovalGate[]; minPermission: RepoPermission };
}

export interface ResolvedPolicy {
  maxContainerCpu: Millicores;
  maxContainerMemory: Bytes;
  minContainerCpu: Millicores;
  minContainerMemory: Bytes;
  requireMemoryLimit: boolean;
  cpuLimits: CpuLimitPolicy;
  cpuLimitRatio: number;
  maxReplicas: number;
  minReplicasProd: number;
  /** Each side undefined = no quota on that resource. */
  namespaceQuota?: { cpu?: Millicores; memory?: Bytes };
  nodeSize: { cpu: Millicores; memory: Bytes };
  monthlyCostCapUsd?: number;
  forbidden: ForbiddenSetting[];
}

/** One thing wrong with the file. `line` is 1-based and names the offending key when known. */
export interface ConfigProblem {
  /** Dotted path of the key, e.g. "policy.max_container_cpu"; "" for the file as a whole. */
  path: string;
  line?: number;
  message: string;
}

export type RepoConfigResult =
  | { kind: 'ok'; config: ResolvedConfig }
  | { kind: 'invalid'; message: string; problems: ConfigProblem[] };

/** Public on-demand list price, GKE Autopilot general-purpose Pods in us-central1 (docs/configuration.md). */
const DEFAULT_PRICING = { vcpuHour: 0.0445, gibHour: 0.0049225 } as const;

function cpu(quantity: string | number): Millicores {
  const value = millicoresFromCpuQuantity(quantity);
  if (value === undefined) throw new Error(`not a CPU quantity: ${quantity}`);
  return value;
}

function memory(quantity: string | number): Bytes {
  const value = bytesFromMemoryQuantity(quantity);
  if (value === undefined) throw new Error(`not a memory quantity: ${quantity}`);
  return value;
}

/** The configuration of a repository without `.github/ai-provision.yml`. A fresh object each call. */
export function defaultResolvedConfig(): ResolvedConfig {
  return {
    defaults: { target: 'kubernetes' },
    output: { path: 'deploy/k8s/{service}/', mode: 'auto' },
    policy: {
      maxContainerCpu: cpu('4'),
      maxContainerMemory: memory('8Gi'),
      minContainerCpu: cpu('10m'),
      minContainerMemory: memory('32Mi'),
      requireMemoryLimit: true,
      cpuLimits: 'none',
      cpuLimitRatio: 2,
      maxReplicas: 20,
      minReplicasProd: 2,
      nodeSize: { cpu: cpu('4'), memory: memory('16Gi') },
      forbidden: [],
    },
    pricing: { ...DEFAULT_PRICING },
    allowedRepos: [],
    access: { minPermission: 'write', users: [] },
    approvals: { requiredFor: ['apply', 'prod'], minPermission: 'maintain' },
  };
}

/** Merges a validated file over the defaults. */
export function resolveRepoConfig(config: RepoConfig): ResolvedConfig {
  const base = defaultResolvedConfig();
  const p = config.policy ?? {};
  const quota = p.namespace_quota;
  const policy: ResolvedPolicy = {
    maxContainerCpu:
      p.max_container_cpu === undefined ? base.policy.maxContainerCpu : cpu(p.max_container_cpu),
    maxContainerMemory:
      p.max_container_memory === undefined
        ? base.policy.maxContainerMemory
        : memory(p.max_container_memory),
    minContainerCpu:
      p.min_container_cpu === undefined ? base.policy.minContainerCpu : cpu(p.min_container_cpu),
    minContainerMemory:
      p.min_container_memory === undefined
        ? base.policy.minContainerMemory
        : memory(p.min_container_memory),
    requireMemoryLimit: p.require_memory_limit ?? base.policy.requireMemoryLimit,
    cpuLimits: p.cpu_limits ?? base.policy.cpuLimits,
    cpuLimitRatio: p.cpu_limit_ratio ?? base.policy.cpuLimitRatio,
    maxReplicas: p.max_replicas ?? base.policy.maxReplicas,
    minReplicasProd: p.min_replicas_prod ?? base.policy.minReplicasProd,
    nodeSize: {
      cpu: p.node_size?.cpu === undefined ? base.policy.nodeSize.cpu : cpu(p.node_size.cpu),
      memory:
        p.node_size?.memory === undefined
          ? base.policy.nodeSize.memory
          : memory(p.node_size.memory),
    },
    forbidden: [...new Set(p.forbidden ?? [])],
  };
  if (quota !== undefined && (quota.cpu !== undefined || quota.memory !== undefined)) {
    policy.namespaceQuota = {
      ...(quota.cpu === undefined ? {} : { cpu: cpu(quota.cpu) }),
      ...(quota.memory === undefined ? {} : { memory: memory(quota.memory) }),
    };
  }
  if (p.monthly_cost_cap_usd !== undefined) policy.monthlyCostCapUsd = p.monthly_cost_cap_usd;
  const defaults: ResolvedConfig['defaults'] = {
    target: config.defaults?.target ?? base.defaults.target,
  };
  if (config.defaults?.environment !== undefined)
    defaults.environment = config.defaults.environment;
  if (config.defaults?.namespace !== undefined) defaults.namespace = config.defaults.namespace;
  return {
    defaults,
    output: {
      path: config.output?.path ?? base.output.path,
      mode: config.output?.mode ?? base.output.mode,
    },
    policy,
    pricing: {
      vcpuHour: config.pricing?.vcpu_hour ?? base.pricing.vcpuHour,
      gibHour: config.pricing?.gib_hour ?? base.pricing.gibHour,
    },
    allowedRepos: [...new Set(config.allowed_repos ?? [])],
    access: {
      minPermission: config.access?.min_permission ?? base.access.minPermission,
      users: uniqueIgnoringCase(config.access?.users ?? []),
    },
    approvals: {
      requiredFor: [...new Set(config.approvals?.required_for ?? base.approvals.requiredFor)],
      minPermission: config.approvals?.min_permission ?? base.approvals.minPermission,
    },
  };
}

/** The first spelling of each value, compared case-insensitively (GitHub logins ignore case). */
function uniqueIgnoringCase(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = value.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Loading

type PathSegment = string | number;

/**
 * Reads `.github/ai-provision.yml`. `undefined` (no file) gives the defaults; an empty file or one
 * holding only comments does too. A key with no value counts as absent. Never throws.
 */
export function loadRepoConfig(
  text: string | undefined,
  file: string = REPO_CONFIG_FILE,
): RepoConfigResult {
  if (text === undefined) return { kind: 'ok', config: defaultResolvedConfig() };
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => ({
      path: '',
      line: error.linePos?.[0]?.line,
      message: `YAML syntax error: ${firstLine(error.message)}`,
    }));
    return invalid(file, problems);
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch {
    // The yaml package throws on alias bombs; to the user that is simply an unreadable file.
    return invalid(file, [{ path: '', line: 1, message: 'the file uses too many YAML aliases' }]);
  }
  if (data === null || data === undefined) return { kind: 'ok', config: defaultResolvedConfig() };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return invalid(file, [
      {
        path: '',
        line: lineOf(document, lineCounter, []),
        message: `expected a mapping of settings (key: value lines), got ${describeValue(data)}`,
      },
    ]);
  }
  const cleaned = withoutNullValues(data);
  const parsed = RepoConfig.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      problemsFromIssue(issue, cleaned, document, lineCounter),
    );
    return invalid(file, problems);
  }
  const config = resolveRepoConfig(parsed.data);
  const crossField = crossFieldProblems(parsed.data, config).map((p) => ({
    path: formatPath(p.path),
    line: lineOf(document, lineCounter, p.path),
    message: p.message,
  }));
  if (crossField.length > 0) return invalid(file, crossField);
  return { kind: 'ok', config };
}

function invalid(file: string, problems: ConfigProblem[]): RepoConfigResult {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const message = sorted.map((p) => formatProblem(file, p)).join('\n');
  return { kind: 'invalid', message, problems: sorted };
}

/** `.github/ai-provision.yml line 7: policy.max_container_cpu: expected …, got "lots"` */
export function formatProblem(file: string, problem: ConfigProblem): string {
  const where = problem.line === undefined ? file : `${file} line ${problem.line}`;
  return problem.path === ''
    ? `${where}: ${problem.message}`
    : `${where}: ${problem.path}: ${problem.message}`;
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? '';
  return line.replace(/ at line \d+, column \d+:?$/, '').replace(/^./, (c) => c.toLowerCase());
}

function withoutNullValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullValues);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(([, v]) => v !== null);
  return Object.fromEntries(entries.map(([k, v]) => [k, withoutNullValues(v)]));
}

function formatPath(path: readonly PathSegment[]): string {
  return path
    .map((segment, i) =>
      typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`,
    )
    .join('');
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** How a value reads in "got …". */
function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/**
 * The 1-based line of the key at `path` (or of the list item, for list paths). When the path goes
 * deeper than the document, the deepest node found answers.
 */
function lineOf(
  document: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
): number | undefined {
  let node: unknown = document.contents;
  let offset = (document.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
      continue;
    }
    if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
      continue;
    }
    break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

/** The keys the schema knows at `path`, for "did you mean". */
function knownKeysAt(path: readonly PathSegment[]): string[] {
  let schema: z.ZodType = RepoConfig;
  for (const segment of path) {
    schema = unwrapOptional(schema);
    if (!(schema instanceof z.ZodObject) || typeof segment !== 'string') return [];
    const next = (schema.shape as Record<string, z.ZodType>)[segment];
    if (next === undefined) return [];
    schema = next;
  }
  schema = unwrapOptional(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrapOptional(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? unwrapOptional(schema.unwrap() as z.ZodType) : schema;
}

/** "maxContainerCpu", "max-container-cpu" → "max_container_cpu"; "max_cpu" → a key holding both words. */
function suggestKey(key: string, known: readonly string[]): string | undefined {
  const normal = key
    .replace(/(?<lower>[a-z0-9])(?<upper>[A-Z])/g, '$<lower>_$<upper>')
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  if (known.includes(normal)) return normal;
  const close = closestMatch(normal, known);
  if (close !== undefined) return close;
  const words = normal.split('_').filter((w) => w !== '');
  const containing = known.filter((k) => words.every((w) => k.split('_').includes(w)));
  return containing.length === 1 ? containing[0] : undefined;
}

function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
}

function expectedType(expected: string): string {
  switch (expected) {
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'text';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping (key: value lines)';
    default:
      return expected;
  }
}

function problemsFromIssue(
  issue: z.core.$ZodIssue,
  data: unknown,
  document: Document,
  lineCounter: LineCounter,
): ConfigProblem[] {
  const path = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
  const at = (p: readonly PathSegment[], message: string): ConfigProblem => ({
    path: formatPath(p),
    line: lineOf(document, lineCounter, p),
    message,
  });
  const got = `, got ${describeValue(valueAt(data, path))}`;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeysAt(path);
      return issue.keys.map((key) => {
        const suggestion = suggestKey(key, known);
        const tail =
          suggestion === undefined ? `; known keys: ${known.join(', ')}` : didYouMean(suggestion);
        return at([...path, key], `unknown key${tail}`);
      });
    }
    case 'invalid_value': {
      const choices = issue.values.map((v) => String(v));
      const given = valueAt(data, path);
      const suggestion =
        typeof given === 'string' ? closestMatch(given.toLowerCase(), choices) : undefined;
      const list = choices.map((c) => JSON.stringify(c)).join(', ');
      return [at(path, `expected one of ${list}${got}${didYouMean(suggestion)}`)];
    }
    case 'invalid_type':
      return [at(path, `expected ${expectedType(issue.expected)}${got}`)];
    case 'too_small': {
      const bound = `${issue.inclusive === false ? '>' : '≥'} ${String(issue.minimum)}`;
      return [at(path, `expected a number ${bound}${got}`)];
    }
    case 'too_big': {
      const bound = `${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}`;
      return [at(path, `expected a number ${bound}${got}`)];
    }
    default:
      return [at(path, `${issue.message}${got}`)];
  }
}

interface PathProblem {
  path: PathSegment[];
  message: string;
}

/** Rules that involve two fields; named at whichever of the two the file sets. */
function crossFieldProblems(raw: RepoConfig, config: ResolvedConfig): PathProblem[] {
  const p = config.policy;
  const set = raw.policy ?? {};
  const problems: PathProblem[] = [];
  if (p.minContainerCpu > p.maxContainerCpu) {
    problems.push({
      path: [
        'policy',
        set.min_container_cpu === undefined ? 'max_container_cpu' : 'min_container_cpu',
      ],
      message: `min_container_cpu (${cpuQuantityFromMillicores(p.minContainerCpu)}) must not exceed max_container_cpu (${cpuQuantityFromMillicores(p.maxContainerCpu)})`,
    });
  }
  if (p.minContainerMemory > p.maxContainerMemory) {
    problems.push({
      path: [
        'policy',
        set.min_container_memory === undefined ? 'max_container_memory' : 'min_container_memory',
      ],
      message: `min_container_memory (${memoryQuantityFromBytes(p.minContainerMemory)}) must not exceed max_container_memory (${memoryQuantityFromBytes(p.maxContainerMemory)})`,
    });
  }
  if (p.minReplicasProd > p.maxReplicas) {
    problems.push({
      path: ['policy', set.min_replicas_prod === undefined ? 'max_replicas' : 'min_replicas_prod'],
      message: `min_replicas_prod (${p.minReplicasProd}) must not exceed max_replicas (${p.maxReplicas})`,
    });
  }
  return problems;
}
