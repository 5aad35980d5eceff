/**
 * Agent 1, Data & Context: turns RepoFacts + AppProfile into one ContextBundle per service —
 * the input standard of SPEC §3 plus the repository's hints and the retrieved knowledge.
 */
import { shortImageName as imageName } from '../repo/image-ref.js';
import { runsAsWorker } from '../repo/service-kind.js';
import type { AppProfile } from '../request/schema.js';
import type { Environment } from '../request/schema.js';
import type { Passage, RetrievalQuery, Retriever } from '../rag/schema.js';
import type { ContextDecision, Reasoner } from '../reasoners/reasoner.js';
import type { RepoFacts, ServiceFacts } from '../repo/schema.js';
import { AppMetadata, ContextBundle, type HistoricalMetrics, type ServiceHints } from './schema.js';

export interface ContextInput {
  facts: RepoFacts;
  profile: AppProfile;
  /** The request's description as written, passed on in app_metadata for a model reasoner. */
  description?: string;
  environment?: Environment;
  namespace?: string;
  /** Observed metrics per service name, when the service already runs (wired fully later). */
  metrics?: ReadonlyMap<string, HistoricalMetrics>;
}

export interface ContextDeps {
  reasoner: Reasoner;
  retriever: Retriever;
}

/** Header `criticality:` values people write, mapped onto the four tiers. */
const CRITICALITY_WORDS: Record<string, AppMetadata['criticality']> = {
  critical: 'critical',
  'mission-critical': 'critical',
  'business-critical': 'critical',
  'production-critical': 'critical',
  production: 'high',
  prod: 'high',
  high: 'high',
  normal: 'normal',
  medium: 'normal',
  standard: 'normal',
  low: 'low',
  'non-critical': 'low',
  dev: 'low',
};

const OOM_TOLERANCE = new Set(['low', 'medium', 'high']);

/** Frameworks whose service answers requests (so a stated QPS applies to it). */
function servesRequests(service: ServiceFacts, hints: ServiceHints): boolean {
  if (hints.worker) return false;
  if (hints.ports.length > 0 || service.endpoints.length > 0) return true;
  return service.stack.frameworks.some((f) => f.kind === 'http' || f.kind === 'grpc');
}

/** Repository facts the prediction uses, in product units. */
export function hintsFor(service: ServiceFacts, facts: RepoFacts): ServiceHints {
  const d = service.dockerfile;
  const ports = d?.expose.map((p) => p.port) ?? service.compose?.ports ?? [];
  const existing = facts.deployments.find(
    (x) => x.service === service.name && x.containers.length > 0,
  );
  const container =
    existing?.containers.find((c) => c.name === service.name) ?? existing?.containers[0];
  // The Dockerfile's resource hints, minus where they were found (the report quotes the facts).
  const { sources: _sources, ...resourceHints } = d?.hints ?? { sources: [] };
  return {
    ports: [...new Set(ports)],
    ...(d?.healthcheck?.command === undefined || d.healthcheck.disabled
      ? {}
      : { healthcheck: d.healthcheck.command }),
    ...(d?.finalImage === undefined ? {} : { finalImage: d.finalImage.raw }),
    ...(d?.user === undefined ? {} : { user: d.user }),
    ...resourceHints,
    ...(existing === undefined || container === undefined
      ? {}
      : {
          existing: {
            file: existing.file,
            ...(existing.replicas === undefined ? {} : { replicas: existing.replicas }),
            ...(container.resources?.requests === undefined
              ? {}
              : { requests: container.resources.requests }),
            ...(container.resources?.limits === undefined
              ? {}
              : { limits: container.resources.limits }),
          },
        }),
    dataStores: [...new Set(service.dependencies.map((x) => x.kind))],
    endpoints: service.endpoints.length,
    worker: runsAsWorker(d, service.stack),
  };
}

/** The SPEC §3 app_metadata for one service: the Dockerfile header wins over the description. */
export function appMetadataFor(
  service: ServiceFacts,
  profile: AppProfile,
  hints: ServiceHints,
): AppMetadata {
  const header = service.dockerfile?.metadata;
  const httpFramework =
    service.stack.frameworks.find((f) => f.kind !== 'frontend') ?? service.stack.frameworks[0];
  const serving = servesRequests(service, hints);
  const criticality =
    (header?.criticality === undefined
      ? undefined
      : CRITICALITY_WORDS[header.criticality.toLowerCase()]) ?? profile.criticality;
  const oom = header?.oom_tolerance?.toLowerCase();
  const qps = header?.expected_qps ?? (serving ? profile.peakQps : undefined);
  const latency = header?.sla_latency_ms ?? (serving ? profile.latency?.milliseconds : undefined);
  return AppMetadata.parse({
    name: service.name,
    ...(service.stack.language === undefined ? {} : { language: service.stack.language }),
    ...(httpFramework === undefined ? {} : { framework: httpFramework.name }),
    ...(service.stack.runtime?.version === undefined
      ? {}
      : { runtime_version: service.stack.runtime.version }),
    ...(qps === undefined ? {} : { expected_qps: qps }),
    ...(latency === undefined ? {} : { sla_latency_ms: latency }),
    ...(header?.sla_latency_ms === undefined && serving && profile.latency?.percentile !== undefined
      ? { sla_latency_percentile: profile.latency.percentile }
      : {}),
    ...(profile.availability === undefined ? {} : { availability: profile.availability }),
    ...(criticality === undefined ? {} : { criticality }),
    ...(oom !== undefined && OOM_TOLERANCE.has(oom)
      ? { oom_tolerance: oom as 'low' | 'medium' | 'high' }
      : {}),
    ...(profile.stateful === undefined ? {} : { stateful: profile.stateful }),
    ...(profile.zeroDowntime === undefined ? {} : { zero_downtime: profile.zeroDowntime }),
    ...(profile.storageBytes === undefined ? {} : { storage_bytes: profile.storageBytes }),
    ...(profile.workloadClass === undefined ? {} : { workload_class: profile.workloadClass }),
  });
}

/** Contradictions and gaps a person should see before trusting the plan. */
export function profileWarnings(
  profile: AppProfile,
  environment: Environment | undefined,
): string[] {
  const warnings: string[] = [];
  const env = environment ?? profile.environment;
  if (profile.contradictions?.includes('stateless-and-stateful') === true) {
    warnings.push(
      'The description calls the workload stateless and also asks for persistent storage or state; the plan keeps state and a volume. Say which is right.',
    );
  } else if (profile.stateful === false && profile.storageBytes !== undefined) {
    warnings.push(
      'The description says the service is stateless but also asks for persistent storage; the plan keeps it stateless and ignores the storage size. Say which is right.',
    );
  }
  if (env === 'dev' && profile.availability !== undefined && profile.availability >= 0.999) {
    warnings.push(
      `The description asks for ${(profile.availability * 100).toFixed(2).replace(/\.?0+$/, '')}% availability in a dev environment; dev plans use one replica. Check the environment or the target.`,
    );
  }
  if (env === 'dev' && profile.criticality === 'critical') {
    warnings.push(
      'The description calls a dev environment critical; the plan follows the environment.',
    );
  }
  if (
    profile.averageQps !== undefined &&
    profile.peakQps !== undefined &&
    profile.averageQps > profile.peakQps
  ) {
    warnings.push(
      `The average load (${profile.averageQps} req/s) is above the peak (${profile.peakQps} req/s); the plan sizes for the larger.`,
    );
  }
  return warnings;
}

/** The retrieval queries a service needs: its runtime and framework, its image, the patterns. */
export function defaultQueries(service: ServiceFacts, hints: ServiceHints): RetrievalQuery[] {
  const language = service.stack.language;
  const frameworks = service.stack.frameworks.map((f) => f.name);
  const image = hints.finalImage === undefined ? undefined : imageName(hints.finalImage);
  const stackText = [language, ...frameworks, image].filter((x) => x !== undefined).join(' ');
  const queries: RetrievalQuery[] = [
    {
      text: `${stackText} memory cpu requests limits sizing per replica`,
      filters: {
        ...(language === undefined ? {} : { languages: [language] }),
        frameworks,
        ...(image === undefined ? {} : { images: [image] }),
        kinds: ['runtime', 'framework', 'image'],
      },
      topK: 4,
    },
    {
      text: 'replicas availability tier autoscaling target disruption budget limits',
      filters: { kinds: ['pattern'] },
      topK: 12,
    },
  ];
  return queries;
}

function summaryOf(service: ServiceFacts, metadata: AppMetadata): string {
  const parts = [
    `${service.name} (${service.path})`,
    service.stack.language ?? 'unknown language',
    ...service.stack.frameworks.map((f) => f.name),
    metadata.expected_qps === undefined ? undefined : `${metadata.expected_qps} req/s peak`,
    metadata.sla_latency_ms === undefined ? undefined : `latency ${metadata.sla_latency_ms} ms`,
  ];
  return parts.filter((p) => p !== undefined).join(', ');
}

async function retrieveAll(retriever: Retriever, queries: RetrievalQuery[]): Promise<Passage[]> {
  const seen = new Set<string>();
  const passages: Passage[] = [];
  for (const query of queries) {
    for (const passage of await retriever.retrieve(query)) {
      const key = `${passage.entryId}\u0000${passage.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      passages.push(passage);
    }
  }
  return passages;
}

/** Agent 1. One bundle per service, in the order of RepoFacts. */
export async function buildContext(
  input: ContextInput,
  deps: ContextDeps,
): Promise<ContextBundle[]> {
  const environment: Environment = input.environment ?? input.profile.environment ?? 'prod';
  const shared = profileWarnings(input.profile, environment);
  if (input.environment === undefined && input.profile.environment === undefined) {
    shared.push(
      'No environment was given; the plan is for prod. Add `environment: dev|staging|prod` to change it.',
    );
  }
  const bundles: ContextBundle[] = [];
  for (const service of input.facts.services) {
    const hints = hintsFor(service, input.facts);
    const metadata = {
      ...appMetadataFor(service, input.profile, hints),
      ...(input.description === undefined ? {} : { description: input.description }),
    };
    const metrics = input.metrics?.get(service.name);
    const decision: ContextDecision = await deps.reasoner.decideContext({
      service: { name: service.name, path: service.path },
      summary: summaryOf(service, metadata),
      hasMetrics: metrics !== undefined,
      defaultQueries: defaultQueries(service, hints),
    });
    const passages = await retrieveAll(deps.retriever, decision.queries);
    const warnings = [...shared];
    const image = hints.finalImage === undefined ? undefined : imageName(hints.finalImage);
    const knownImage =
      image !== undefined &&
      deps.retriever
        .entries()
        .some((e) => e.kind !== 'pattern' && e.applies_to.images.includes(image));
    if (service.stack.language === undefined && !knownImage) {
      warnings.push(
        `The stack of ${service.name} could not be recognised; conservative defaults are used and the confidence is low.`,
      );
    }
    bundles.push(
      ContextBundle.parse({
        service: { name: service.name, path: service.path },
        input: {
          schema_version: 1,
          app_metadata: metadata,
          ...(metrics === undefined ? {} : { historical_metrics: metrics }),
          deployment_context: {
            environment,
            ...(input.namespace === undefined ? {} : { namespace: input.namespace }),
          },
        },
        hints,
        retrieval: {
          path: decision.path,
          reason: decision.reason,
          queries: decision.queries.map((q) => q.text),
          passages,
        },
        warnings,
      }),
    );
  }
  return bundles;
}
