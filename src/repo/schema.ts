/**
 * RepoFacts: everything the analysis learned from a repository, JSON-serialisable. Repository
 * content is untrusted and often odd, so analysis is permissive: what it cannot read becomes a
 * Note, never an exception.
 */
import { z } from 'zod';

export const LANGUAGES = [
  'javascript',
  'typescript',
  'python',
  'go',
  'java',
  'kotlin',
  'csharp',
  'rust',
  'ruby',
  'php',
  'elixir',
  'c',
  'cpp',
] as const;
export const Language = z.enum(LANGUAGES);
export type Language = z.infer<typeof Language>;

export const NOTE_CODES = [
  'dockerfile-syntax',
  'dockerfile-heredoc',
  'dockerfile-arg-in-from',
  'dockerfile-unreadable',
  'compose-invalid',
  'manifest-invalid',
  'manifest-unmatched',
  'manifest-unreadable',
  'file-binary',
  'file-too-large',
  'symlink-outside',
  'symlink-skipped',
  'no-dockerfile',
  'no-services',
  'walk-limit',
  'metadata-invalid',
  'endpoints-truncated',
  'file-unreadable',
] as const;
export const NoteCode = z.enum(NOTE_CODES);
export type NoteCode = z.infer<typeof NoteCode>;

/** Something the analysis skipped or found odd, with where. */
export const Note = z.object({
  code: NoteCode,
  /** Repository-relative path, when the note is about one file. */
  path: z.string().optional(),
  message: z.string(),
});
export type Note = z.infer<typeof Note>;

/** A file and line that justify a fact ("package.json", "go.mod:3"). */
export const Evidence = z.string();

export const ExposedPort = z.object({
  port: z.number().int().min(0).max(65535),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});
export type ExposedPort = z.infer<typeof ExposedPort>;

export const BuildStage = z.object({
  index: z.number().int().nonnegative(),
  name: z.string().optional(),
  /** The FROM image exactly as written, ARGs substituted where their defaults are known. */
  baseImage: z.string(),
});
export type BuildStage = z.infer<typeof BuildStage>;

/** An image reference split into parts: "eclipse-temurin:21-jre-alpine". */
export const ImageRef = z.object({
  raw: z.string(),
  /** Repository without registry or tag: "eclipse-temurin", "library/node" shortened to "node". */
  name: z.string(),
  registry: z.string().optional(),
  tag: z.string().optional(),
  digest: z.string().optional(),
});
export type ImageRef = z.infer<typeof ImageRef>;

/** Where a hint was found and its exact text, so reports can quote it. */
export const HintSource = z.object({
  instruction: z.enum(['ENV', 'ARG', 'CMD', 'ENTRYPOINT', 'RUN', 'LABEL']),
  line: z.number().int().positive(),
  text: z.string(),
});

/** Memory and concurrency hints found in ENV/ARG/CMD/ENTRYPOINT. Units are bytes and counts. */
export const ResourceHints = z.object({
  /** -Xmx */
  jvmMaxHeapBytes: z.number().optional(),
  /** -Xms */
  jvmInitialHeapBytes: z.number().optional(),
  /** -XX:MaxRAMPercentage */
  jvmMaxRamPercentage: z.number().optional(),
  /** NODE_OPTIONS=--max-old-space-size (MiB in the flag, bytes here) */
  nodeMaxOldSpaceBytes: z.number().optional(),
  gomaxprocs: z.number().optional(),
  /** GOMEMLIMIT */
  goMemLimitBytes: z.number().optional(),
  /** Process server and its worker/thread settings (gunicorn, uvicorn, puma, …). */
  workers: z
    .object({
      server: z.string(),
      processes: z.number().optional(),
      threads: z.number().optional(),
    })
    .optional(),
  sources: z.array(HintSource).default([]),
});
export type ResourceHints = z.infer<typeof ResourceHints>;

/**
 * The optional "# --- Application Metadata ---" comment block. Known keys are typed; any others are
 * kept as strings.
 */
export const AppMetadataHeader = z.object({
  name: z.string().optional(),
  language: z.string().optional(),
  framework: z.string().optional(),
  expected_qps: z.number().optional(),
  sla_latency_ms: z.number().optional(),
  criticality: z.string().optional(),
  oom_tolerance: z.string().optional(),
  other: z.record(z.string(), z.string()).default({}),
});
export type AppMetadataHeader = z.infer<typeof AppMetadataHeader>;

export const DockerfileFacts = z.object({
  path: z.string(),
  stages: z.array(BuildStage),
  /** The image the container runs on: the last stage's base, resolved through stage aliases. */
  finalImage: ImageRef.optional(),
  /** Runtime named by the final image, e.g. {name: "node", version: "20"}. */
  runtime: z.object({ name: z.string(), version: z.string().optional() }).optional(),
  expose: z.array(ExposedPort),
  user: z.string().optional(),
  /** undefined = no HEALTHCHECK; {disabled: true} = HEALTHCHECK NONE. */
  healthcheck: z
    .object({
      disabled: z.boolean().default(false),
      command: z.string().optional(),
      intervalSeconds: z.number().optional(),
      timeoutSeconds: z.number().optional(),
      retries: z.number().optional(),
    })
    .optional(),
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  /** ENV keys set in the final stage (values are not kept: they may be secrets). */
  envKeys: z.array(z.string()).default([]),
  hints: ResourceHints,
  metadata: AppMetadataHeader.optional(),
});
export type DockerfileFacts = z.infer<typeof DockerfileFacts>;

export const CpuMemory = z.object({
  /** Millicores. */
  cpu: z.number().nonnegative().optional(),
  /** Bytes. */
  memory: z.number().nonnegative().optional(),
});
export type CpuMemory = z.infer<typeof CpuMemory>;

export const ResourceSettings = z.object({
  requests: CpuMemory.optional(),
  limits: CpuMemory.optional(),
});
export type ResourceSettings = z.infer<typeof ResourceSettings>;

export const FRAMEWORK_KINDS = ['http', 'grpc', 'frontend', 'worker'] as const;

export const Framework = z.object({
  /** Canonical name: express, fastify, nestjs, nextjs, fastapi, flask, django, gin, echo, fiber,
   * spring-boot, quarkus, micronaut, aspnet-core, actix-web, axum, rails, sinatra, laravel, phoenix,
   * grpc, … */
  name: z.string(),
  kind: z.enum(FRAMEWORK_KINDS),
  version: z.string().optional(),
  evidence: Evidence,
});
export type Framework = z.infer<typeof Framework>;

export const StackFacts = z.object({
  language: Language.optional(),
  /** Other languages also present in the service (e.g. kotlin + java). */
  otherLanguages: z.array(Language).default([]),
  /** Runtime and version: node 20, python 3.12, go 1.22, java 21, dotnet 8.0, … */
  runtime: z.object({ name: z.string(), version: z.string().optional() }).optional(),
  /** npm, yarn, pnpm, pip, poetry, pipenv, uv, go, maven, gradle, dotnet, cargo, bundler, composer, mix, cmake, make */
  packageManager: z.string().optional(),
  frameworks: z.array(Framework).default([]),
  evidence: z.array(Evidence).default([]),
});
export type StackFacts = z.infer<typeof StackFacts>;

export const HTTP_METHODS = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'ANY',
] as const;

export const Endpoint = z.object({
  method: z.enum(HTTP_METHODS),
  path: z.string(),
  /** "src/routes.ts:12" */
  evidence: Evidence,
});
export type Endpoint = z.infer<typeof Endpoint>;

export const DATA_STORE_KINDS = [
  'postgres',
  'mysql',
  'mariadb',
  'sqlite',
  'mongodb',
  'redis',
  'memcached',
  'cassandra',
  'dynamodb',
  'elasticsearch',
  'opensearch',
  'kafka',
  'rabbitmq',
  'nats',
  'sqs',
  'pubsub',
  'clickhouse',
  's3',
] as const;
export const DataStoreKind = z.enum(DATA_STORE_KINDS);
export type DataStoreKind = z.infer<typeof DataStoreKind>;

export const DataDependency = z.object({
  kind: DataStoreKind,
  via: z.enum(['package', 'compose', 'env', 'image', 'manifest']),
  evidence: Evidence,
});
export type DataDependency = z.infer<typeof DataDependency>;

export const ComposeServiceFacts = z.object({
  file: z.string(),
  service: z.string(),
  image: z.string().optional(),
  /** Build context relative to the repository root, when the service is built from source. */
  buildContext: z.string().optional(),
  dockerfile: z.string().optional(),
  ports: z.array(z.number().int()).default([]),
  dependsOn: z.array(z.string()).default([]),
  environmentKeys: z.array(z.string()).default([]),
  replicas: z.number().int().optional(),
  resources: ResourceSettings.optional(),
});
export type ComposeServiceFacts = z.infer<typeof ComposeServiceFacts>;

/** manifest = no Dockerfile, compose build or Procfile: a root language manifest only. */
export const SERVICE_SOURCES = ['dockerfile', 'compose', 'procfile', 'manifest'] as const;

export const ServiceFacts = z.object({
  /** Unique within the repository; from metadata, compose service name or directory. */
  name: z.string(),
  /** Service directory relative to the repository root; "." for the root. */
  path: z.string(),
  source: z.enum(SERVICE_SOURCES),
  dockerfile: DockerfileFacts.optional(),
  compose: ComposeServiceFacts.optional(),
  procfile: z.array(z.object({ process: z.string(), command: z.string() })).optional(),
  stack: StackFacts,
  endpoints: z.array(Endpoint).default([]),
  dependencies: z.array(DataDependency).default([]),
});
export type ServiceFacts = z.infer<typeof ServiceFacts>;

export const DEPLOYMENT_SOURCES = ['kubernetes', 'kustomize', 'helm-values', 'compose'] as const;

/** Resources some existing deployment file already sets for a service. */
export const ExistingDeployment = z.object({
  file: z.string(),
  source: z.enum(DEPLOYMENT_SOURCES),
  /** Deployment, StatefulSet, DaemonSet, … or "values" / "compose-service". */
  objectKind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
  /** Name of the ServiceFacts this deploys, when it could be matched. */
  service: z.string().optional(),
  matchedBy: z.enum(['image', 'container-name', 'name', 'path']).optional(),
  replicas: z.number().int().optional(),
  containers: z.array(
    z.object({
      name: z.string(),
      image: z.string().optional(),
      resources: ResourceSettings.optional(),
      /** The raw strings as written ("250m", "512Mi"), for in-place patches and reports. */
      rawResources: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  /** HPA bounds found for it, if any. */
  autoscaling: z
    .object({
      minReplicas: z.number().int().optional(),
      maxReplicas: z.number().int().optional(),
      targetCpuUtilization: z.number().optional(),
    })
    .optional(),
});
export type ExistingDeployment = z.infer<typeof ExistingDeployment>;

export const RepoFacts = z.object({
  schemaVersion: z.literal(1),
  /** What was analysed: the URL or the path as given. */
  source: z.string(),
  ref: z.string().optional(),
  commit: z.string().optional(),
  stats: z.object({
    files: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    skippedFiles: z.number().int().nonnegative(),
  }),
  services: z.array(ServiceFacts),
  deployments: z.array(ExistingDeployment),
  notes: z.array(Note),
});
export type RepoFacts = z.infer<typeof RepoFacts>;
