/** Small hand-made knowledge and bundles for agent and reasoner tests. */
import type { ContextBundle, DraftPlan } from '../../src/agents/schema.js';
import type { KnowledgeEntry, Passage, RetrievalQuery, Retriever } from '../../src/rag/schema.js';

const SOURCE = [{ title: 'test source', url: 'https://example.org/doc' }];

export const ENTRIES: KnowledgeEntry[] = [
  {
    id: 'runtime-jvm',
    title: 'JVM',
    kind: 'runtime',
    applies_to: {
      languages: ['java', 'kotlin'],
      frameworks: [],
      images: ['eclipse-temurin'],
      patterns: [],
      servers: [],
    },
    figures: {
      memory_request: { value: 768, low: 512, high: 2048, unit: 'mebibytes' },
      cpu_request: { value: 500, low: 250, high: 2000, unit: 'millicores' },
      heap_fraction: { value: 0.75, unit: 'ratio' },
      memory_limit_ratio: { value: 1, unit: 'ratio' },
      rps_per_core: { value: 400, low: 100, high: 1500, unit: 'rps' },
    },
    sources: SOURCE,
    body: 'JVM heap and container limits.',
  },
  {
    id: 'runtime-python-wsgi',
    title: 'Python WSGI',
    kind: 'runtime',
    applies_to: {
      languages: ['python'],
      frameworks: [],
      images: ['python'],
      patterns: [],
      servers: [],
    },
    figures: {
      idle_memory: { value: 80, low: 60, high: 150, unit: 'mebibytes' },
      memory_per_worker: { value: 60, low: 40, high: 120, unit: 'mebibytes' },
      memory_request: { value: 256, unit: 'mebibytes' },
      cpu_request: { value: 250, unit: 'millicores' },
      workers_per_core: { value: 2, unit: 'count' },
      memory_limit_ratio: { value: 1.5, unit: 'ratio' },
      rps_per_core: { value: 150, unit: 'rps' },
    },
    sources: SOURCE,
    body: 'gunicorn workers.',
  },
  {
    id: 'framework-gin',
    title: 'Gin',
    kind: 'framework',
    applies_to: { languages: ['go'], frameworks: ['gin'], images: [], patterns: [], servers: [] },
    figures: {
      cpu_request: { value: 100, low: 50, high: 1000, unit: 'millicores' },
      memory_request: { value: 64, low: 32, high: 256, unit: 'mebibytes' },
      memory_limit_ratio: { value: 2, unit: 'ratio' },
      rps_per_core: { value: 2000, low: 500, high: 10000, unit: 'rps' },
    },
    sources: SOURCE,
    body: 'Gin is light.',
  },
  {
    id: 'image-postgres',
    title: 'PostgreSQL',
    kind: 'image',
    applies_to: { languages: [], frameworks: [], images: ['postgres'], patterns: [], servers: [] },
    figures: {
      cpu_request: { value: 250, unit: 'millicores' },
      memory_request: { value: 256, unit: 'mebibytes' },
      storage: { value: 8, unit: 'gibibytes' },
    },
    sources: SOURCE,
    body: 'Postgres.',
  },
  {
    id: 'pattern-replicas-per-tier',
    title: 'Replicas per tier',
    kind: 'pattern',
    applies_to: {
      languages: [],
      frameworks: [],
      images: [],
      patterns: ['replicas-per-tier'],
      servers: [],
    },
    figures: {
      min_replicas_critical: { value: 3, unit: 'count' },
      min_replicas_high: { value: 2, unit: 'count' },
      min_replicas_normal: { value: 2, unit: 'count' },
      min_replicas_low: { value: 1, unit: 'count' },
      min_replicas_dev: { value: 1, unit: 'count' },
    },
    sources: SOURCE,
    body: 'Tiers.',
  },
  {
    id: 'pattern-hpa-target',
    title: 'HPA target',
    kind: 'pattern',
    applies_to: {
      languages: [],
      frameworks: [],
      images: [],
      patterns: ['hpa-target'],
      servers: [],
    },
    figures: {
      hpa_cpu_target_latency_sensitive: { value: 60, unit: 'percent' },
      hpa_cpu_target_default: { value: 70, unit: 'percent' },
      hpa_cpu_target_batch: { value: 80, unit: 'percent' },
      max_replicas_headroom: { value: 2, unit: 'ratio' },
      pdb_min_available_fraction: { value: 0.5, unit: 'ratio' },
      cpu_limit_ratio: { value: 0, unit: 'ratio' },
    },
    sources: SOURCE,
    body: 'HPA.',
  },
];

export function fakeRetriever(entries: KnowledgeEntry[] = ENTRIES): Retriever {
  return {
    async retrieve(query: RetrievalQuery): Promise<Passage[]> {
      const f = query.filters;
      return entries
        .filter(
          (e) =>
            f === undefined ||
            (f.kinds?.includes(e.kind) ?? false) ||
            e.applies_to.languages.some((l) => f.languages?.includes(l)) ||
            e.applies_to.frameworks.some((x) => f.frameworks?.includes(x)),
        )
        .slice(0, query.topK ?? 5)
        .map((e) => ({
          entryId: e.id,
          title: e.title,
          kind: e.kind,
          text: e.body,
          score: 1,
          sources: e.sources,
        }));
    },
    entry: (id) => entries.find((e) => e.id === id),
    entries: () => entries,
  };
}

export function bundle(overrides: {
  name?: string;
  path?: string;
  metadata?: Partial<ContextBundle['input']['app_metadata']>;
  environment?: 'dev' | 'staging' | 'prod';
  hints?: Partial<ContextBundle['hints']>;
  warnings?: string[];
}): ContextBundle {
  const name = overrides.name ?? 'svc';
  return {
    service: { name, path: overrides.path ?? '.' },
    input: {
      schema_version: 1,
      app_metadata: { name, ...overrides.metadata },
      deployment_context: { environment: overrides.environment ?? 'prod' },
    },
    hints: { ports: [8080], dataStores: [], endpoints: 3, worker: false, ...overrides.hints },
    retrieval: { path: 'knowledge', reason: 'test', queries: [], passages: [] },
    warnings: overrides.warnings ?? [],
  };
}

export function draft(overrides: Partial<DraftPlan> = {}): DraftPlan {
  return {
    service: { name: 'svc', path: '.' },
    target: 'kubernetes',
    workload: 'Deployment',
    replicas: 2,
    resources: {
      cpuRequest: { target: 250, lower: 100, upper: 1000 },
      memoryRequest: { target: 256 * 2 ** 20, lower: 128 * 2 ** 20, upper: 1024 * 2 ** 20 },
      memoryLimit: { target: 512 * 2 ** 20, lower: 256 * 2 ** 20, upper: 2048 * 2 ** 20 },
    },
    reasoning: [],
    confidence: 0.6,
    warnings: [],
    ...overrides,
  };
}
