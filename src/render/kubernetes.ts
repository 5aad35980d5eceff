/**
 * A plan → complete Kubernetes objects for one service: Deployment or StatefulSet, Service,
 * HorizontalPodAutoscaler, PodDisruptionBudget and PersistentVolumeClaim, as objects, as one
 * commented multi-document YAML, and as files. Pure: plan and hints in, data out. Every rendered
 * object can be checked with `validateKubernetesObject` against the Kubernetes OpenAPI schemas.
 */
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Document, isMap, isScalar } from 'yaml';
import type { DraftPlan, ReasoningStep, ServiceHints } from '../agents/schema.js';
import {
  bytes,
  bytesFromMemoryQuantity,
  cpuQuantityFromMillicores,
  memoryQuantityFromBytes,
  millicores,
  millicoresFromCpuQuantity,
} from '../units.js';

export type Environment = 'dev' | 'staging' | 'prod';

export interface RenderInput {
  /** A DraftPlan or a FinalPlan (which is a DraftPlan too). */
  plan: DraftPlan;
  hints: ServiceHints;
  /** Set on every object when given; otherwise objects land in the namespace kubectl targets. */
  namespace?: string;
  /**
   * The service's own image. `hints.finalImage` is the Dockerfile's BASE image, so it is never used
   * here: without this, the image is `<service>:latest` and the YAML says to replace it.
   */
  image?: string;
  environment: Environment;
  /** Value of `app.kubernetes.io/part-of` (the application or repository); omitted when absent. */
  partOf?: string;
}

export interface RenderedFile {
  path: string;
  content: string;
}

/**
 * One service, rendered. `objects` are plain JSON (what `yaml` parses back), in apply order.
 * `files` are `<service>.yaml` (every object, the same text as `yaml`) and a `kustomization.yaml`
 * listing it: the default output is one directory per service. Callers that put several services
 * in one directory should write one `renderKustomization(...)` over all their files instead.
 * `warnings` name what a person must check (placeholder image, a volume on a scaled Deployment, …).
 */
export interface RenderedService {
  objects: Record<string, unknown>[];
  yaml: string;
  files: RenderedFile[];
  warnings: string[];
}

type PlanField = ReasoningStep['field'];
type YamlPath = (string | number)[];

/** A comment placed on the line above the key at `path`. */
interface KeyComment {
  path: YamlPath;
  text: string;
}

interface Annotated {
  object: Record<string, unknown>;
  header: string[];
  comments: KeyComment[];
}

const MANAGED_BY = 'ai-provision';
const NAME_LABEL = 'app.kubernetes.io/name';
const MIB = 2 ** 20;
const GIB = 2 ** 30;
const CPU_STEP_MILLICORES = 10;
/** Longest DNS-1123 label: the limit on Service names and label values. */
const MAX_LABEL = 63;
// A StatefulSet's pods carry a controller-revision-hash label of the name plus a ~11-char hash.
const MAX_STATEFULSET_NAME = 52;
/** Numeric so the kubelet can verify runAsNonRoot even when the image's USER is a name or root. */
const RUN_AS_USER = 10001;

/** UIDs that well-known base images give their named non-root users. */
const KNOWN_IMAGE_USERS: Readonly<Record<string, number>> = {
  node: 1000, // the official node images
  nobody: 65534,
  nonroot: 65532, // distroless and Chainguard images
};

/**
 * The UID/GID to run as: the image's own non-root USER when it can be known, so files the image
 * owns stay readable; otherwise a high numeric UID the kubelet can check against runAsNonRoot.
 */
export function runAsIdentity(user: string | undefined): { uid: number; gid: number; why: string } {
  const fallback = {
    uid: RUN_AS_USER,
    gid: RUN_AS_USER,
    why: `UID ${RUN_AS_USER} is numeric so the kubelet can enforce runAsNonRoot${user === undefined ? ' (the Dockerfile sets no USER)' : ` (the image's USER ${user} is root or has no known UID; check UID ${RUN_AS_USER} can read the app's files)`}`,
  };
  if (user === undefined) return fallback;
  const [name = '', group] = user.trim().split(':');
  const uid = /^\d+$/.test(name) ? Number(name) : KNOWN_IMAGE_USERS[name];
  if (uid === undefined || uid === 0) return fallback;
  const gid = group !== undefined && /^\d+$/.test(group) ? Number(group) : uid;
  if (gid === 0) return fallback;
  return {
    uid,
    gid,
    why: `UID ${uid} is the image's own USER (${user}), numeric so the kubelet can enforce runAsNonRoot`,
  };
}
const DATA_VOLUME = 'data';
/** Rounding slack (in steps) so 250.0000001 millicores of float noise does not become 260m. */
const EPSILON = 1e-6;

// Base images whose processes write outside /tmp; each path gets an emptyDir so the root
// filesystem can stay read-only.
const WRITABLE_PATHS_BY_BASE_IMAGE: ReadonlyMap<string, string[]> = new Map([
  ['nginx', ['/var/cache/nginx', '/var/run']],
  ['postgres', ['/var/run/postgresql']],
]);

const JVM_BASE_IMAGE =
  /(?:^|[/:-])(?:eclipse-temurin|temurin|openjdk|amazoncorretto|corretto|zulu|liberica|semeru|ibm-semeru-runtimes|sapmachine|jre|jdk|tomcat|jetty|wildfly|payara|open-liberty|websphere-liberty|elasticsearch|kafka|cp-kafka|zookeeper|cassandra|keycloak)(?:$|[/:-])/i;
const HTTP_HEALTHCHECK =
  /(?<scheme>https?):\/\/(?<host>\[[^\]\s]+\]|[^\s/:'"?#]+)(?::(?<port>[^\s/'"?#]+))?(?<path>\/[^\s'"|;&)]*)?/i;
const GRPC_HEALTHCHECK = /grpc_health_probe\b[^|;&]*?-addr[= ]?['"]?[^\s:'"]*:(?<port>\d+)/i;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '0.0.0.0', '[::1]', '[::]']);

// ---------------------------------------------------------------------------------------------
// Rendering.

export function renderKubernetes(input: RenderInput): RenderedService {
  const { plan, hints } = input;
  const name = plan.service.name;
  const warnings: string[] = [];
  const ports = uniquePorts(hints.ports);
  const isWorker = hints.worker || ports.length === 0;
  const stateful = plan.workload === 'StatefulSet';
  const minReplicas = plan.autoscaling?.minReplicas ?? plan.replicas;
  const maxReplicas = plan.autoscaling?.maxReplicas ?? plan.replicas;

  if (input.image === undefined)
    warnings.push(
      `${name}: the image is a placeholder (${name}:latest); set the image your CI pushes before applying.`,
    );
  if (stateful && plan.volume === undefined)
    warnings.push(
      `${name}: StatefulSet without a volume: it gets stable names but no stable storage; check whether it needs a volume.`,
    );
  if (stateful && name.length > MAX_STATEFULSET_NAME)
    warnings.push(
      `${name}: a StatefulSet name longer than ${MAX_STATEFULSET_NAME} characters cannot label its pods with their revision; shorten it.`,
    );
  if (!stateful && plan.volume !== undefined && maxReplicas > 1)
    warnings.push(
      `${name}: a ReadWriteOnce volume on a Deployment that runs ${maxReplicas} replicas: pods on other nodes cannot mount it; the plan should be a StatefulSet (or a single replica).`,
    );
  const privileged = ports.filter((p) => p < 1024);
  if (privileged.length > 0)
    warnings.push(
      `${name}: port ${privileged.join(', ')} is below 1024; a non-root container can bind it only where the runtime allows unprivileged ports (net.ipv4.ip_unprivileged_port_start=0), otherwise listen on a higher port.`,
    );

  const rendered: Annotated[] = [];
  if (!stateful && plan.volume !== undefined) rendered.push(persistentVolumeClaim(input));
  rendered.push(workload(input, ports, isWorker));
  if (stateful) rendered.push(headlessService(input, ports));
  if (!isWorker) rendered.push(service(input, ports));
  if (plan.autoscaling !== undefined) rendered.push(horizontalPodAutoscaler(input));
  if (plan.disruptionBudget !== undefined) {
    if (minReplicas < 2) {
      warnings.push(
        `${name}: no PodDisruptionBudget: with ${minReplicas} replica a budget would block every node drain.`,
      );
    } else {
      if (plan.disruptionBudget.minAvailable >= minReplicas)
        warnings.push(
          `${name}: PodDisruptionBudget minAvailable ${plan.disruptionBudget.minAvailable} ≥ ${minReplicas} replicas: node drains will wait until more replicas run.`,
        );
      rendered.push(podDisruptionBudget(input));
    }
  }

  const yaml = rendered.map(toYaml).join('---\n');
  return {
    objects: rendered.map((r) => r.object),
    yaml,
    files: [
      { path: `${name}.yaml`, content: yaml },
      renderKustomization([`${name}.yaml`], `objects for ${name}, rendered by ai-provision`),
    ],
    warnings,
  };
}

/** A kustomization.yaml listing `resources` (file names relative to it). */
export function renderKustomization(resources: string[], note?: string): RenderedFile {
  const doc = new Document({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources,
  });
  doc.commentBefore = ` ${note ?? 'rendered by ai-provision'}; apply with: kubectl apply -k .`;
  return { path: 'kustomization.yaml', content: doc.toString({ lineWidth: 0 }) };
}

function metadata(input: RenderInput, name: string): Record<string, unknown> {
  return {
    name,
    ...(input.namespace === undefined ? {} : { namespace: input.namespace }),
    labels: labels(input),
  };
}

function labels(input: RenderInput): Record<string, string> {
  return {
    [NAME_LABEL]: input.plan.service.name,
    ...(input.partOf === undefined ? {} : { 'app.kubernetes.io/part-of': input.partOf }),
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

// The selector is the name label only: a selector is immutable, so it must not carry labels that
// may change later (part-of, version).
function selector(input: RenderInput): Record<string, string> {
  return { [NAME_LABEL]: input.plan.service.name };
}

function headerFor(input: RenderInput, kind: string, name: string): string[] {
  const { plan } = input;
  return [
    `${kind} ${name} — service ${plan.service.name} (${plan.service.path}), environment ${input.environment}`,
    `rendered by ai-provision; plan confidence ${plan.confidence.toFixed(2)}`,
  ];
}

function workload(input: RenderInput, ports: number[], isWorker: boolean): Annotated {
  const { plan } = input;
  const name = plan.service.name;
  const kind = plan.workload;
  const stateful = kind === 'StatefulSet';
  const autoscaled = plan.autoscaling !== undefined;
  const pod = podTemplate(input, ports, isWorker);
  const comments: KeyComment[] = pod.comments.map((c) => ({
    path: ['spec', 'template', ...c.path],
    text: c.text,
  }));

  const spec: Record<string, unknown> = {};
  if (stateful) spec.serviceName = headlessName(name);
  if (autoscaled) {
    comments.push({
      path: ['spec', 'selector'],
      text: `replicas is left out on purpose: the HorizontalPodAutoscaler owns it (${plan.autoscaling!.minReplicas}–${plan.autoscaling!.maxReplicas}); a value here would reset the scale on every apply`,
    });
  } else {
    spec.replicas = plan.replicas;
    comments.push({
      path: ['spec', 'replicas'],
      text: reasonComment(plan, 'replicas', String(plan.replicas)),
    });
  }
  spec.selector = { matchLabels: selector(input) };
  // A ReadWriteOnce volume cannot follow a surge pod to another node: stop the old pod first.
  if (!stateful && plan.volume !== undefined) {
    spec.strategy = { type: 'Recreate' };
    comments.push({
      path: ['spec', 'strategy'],
      text: 'Recreate: the ReadWriteOnce volume can be mounted by one pod at a time',
    });
  }
  spec.template = pod.template;
  if (stateful && plan.volume !== undefined) {
    const storage = storageQuantity(plan.volume.sizeBytes);
    spec.volumeClaimTemplates = [
      {
        metadata: { name: DATA_VOLUME, labels: labels(input) },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
      },
    ];
    comments.push({
      path: ['spec', 'volumeClaimTemplates', 0, 'spec', 'resources', 'requests', 'storage'],
      text: reasonComment(plan, 'volume', storage),
    });
  }

  return {
    object: { apiVersion: 'apps/v1', kind, metadata: metadata(input, name), spec },
    header: [...headerFor(input, kind, name), `workload: ${reasonComment(plan, 'workload', kind)}`],
    comments,
  };
}

interface PodTemplate {
  template: Record<string, unknown>;
  comments: KeyComment[];
}

function podTemplate(input: RenderInput, ports: number[], isWorker: boolean): PodTemplate {
  const { plan, hints } = input;
  const name = plan.service.name;
  const comments: KeyComment[] = [];
  const containerPath = ['spec', 'containers', 0];

  const writable = ['/tmp', ...writablePathsFor(hints.finalImage)];
  const volumes: Record<string, unknown>[] = writable.map((path) => ({
    name: volumeNameFor(path),
    emptyDir: {},
  }));
  const mounts: Record<string, unknown>[] = writable.map((path) => ({
    name: volumeNameFor(path),
    mountPath: path,
  }));
  if (plan.volume !== undefined) {
    mounts.push({ name: DATA_VOLUME, mountPath: plan.volume.mountPath });
    if (plan.workload === 'Deployment')
      volumes.push({
        name: DATA_VOLUME,
        persistentVolumeClaim: { claimName: claimName(name) },
      });
  }

  const container: Record<string, unknown> = { name, image: input.image ?? `${name}:latest` };
  if (input.image === undefined)
    comments.push({
      path: [...containerPath, 'image'],
      text: `TODO: placeholder; ai-provision does not build images. Replace with the image your CI pushes for ${name}`,
    });
  if (ports.length > 0)
    container.ports = ports.map((port, i) => ({
      name: portName(port, i),
      containerPort: port,
      protocol: 'TCP',
    }));

  const resources = resourcesFor(plan);
  container.resources = resources.value;
  comments.push(
    ...resources.comments.map((c) => ({ path: [...containerPath, ...c.path], text: c.text })),
  );

  if (!isWorker) {
    const probes = probesFor(input, ports);
    Object.assign(container, probes.value);
    comments.push(
      ...probes.comments.map((c) => ({ path: [...containerPath, ...c.path], text: c.text })),
    );
  }

  container.securityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
  comments.push({
    path: [...containerPath, 'securityContext'],
    text: `read-only root filesystem; writable emptyDirs at ${writable.join(', ')}. If the app writes elsewhere, mount another emptyDir there`,
  });
  container.volumeMounts = mounts;

  const identity = runAsIdentity(input.hints.user);
  const podSpec: Record<string, unknown> = {
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: identity.uid,
      runAsGroup: identity.gid,
      fsGroup: identity.gid,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [container],
    volumes,
  };
  comments.push(
    {
      path: ['spec', 'automountServiceAccountToken'],
      text: 'the service does not call the Kubernetes API; set true if it does',
    },
    {
      path: ['spec', 'securityContext'],
      text: `${identity.why}; fsGroup makes mounted volumes writable for it`,
    },
  );

  const maxReplicas = plan.autoscaling?.maxReplicas ?? plan.replicas;
  // Spread replicas over nodes so one node loss does not take them all; soft, so a small
  // cluster still schedules them. Dev clusters are often one node: skip it there.
  if (maxReplicas >= 2 && input.environment !== 'dev') {
    podSpec.topologySpreadConstraints = [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selector(input) },
      },
    ];
    comments.push({
      path: ['spec', 'topologySpreadConstraints'],
      text: 'replicas spread over nodes (soft) so losing one node does not take them all',
    });
  }
  if (plan.workload === 'Deployment' && plan.volume !== undefined && maxReplicas > 1)
    comments.push({
      path: ['spec', 'volumes'],
      text: `WARNING: ${maxReplicas} replicas share one ReadWriteOnce claim; see the warnings`,
    });

  return {
    template: { metadata: { labels: labels(input) }, spec: podSpec },
    comments,
  };
}

interface WithComments<T> {
  value: T;
  comments: KeyComment[];
}

function resourcesFor(plan: DraftPlan): WithComments<Record<string, unknown>> {
  const { resources } = plan;
  const cpuRequest = cpuQuantity(resources.cpuRequest.target);
  const memoryRequest = memoryQuantity(resources.memoryRequest.target);
  const memoryLimit = memoryQuantity(resources.memoryLimit.target);
  const cpuLimit =
    resources.cpuLimit === undefined ? undefined : cpuQuantity(resources.cpuLimit.target);

  const comments: KeyComment[] = [
    {
      path: ['resources', 'requests', 'cpu'],
      text: reasonComment(plan, 'cpu.request', cpuRequest),
    },
    {
      path: ['resources', 'requests', 'memory'],
      text: reasonComment(plan, 'memory.request', memoryRequest),
    },
    // Without a CPU limit there is no cpu key to explain, so the comment sits on limits.
    cpuLimit === undefined
      ? { path: ['resources', 'limits'], text: noCpuLimitComment(plan) }
      : {
          path: ['resources', 'limits', 'cpu'],
          text: reasonComment(plan, 'cpu.limit', cpuLimit),
        },
    {
      path: ['resources', 'limits', 'memory'],
      text: reasonComment(plan, 'memory.limit', memoryLimit),
    },
  ];

  return {
    value: {
      requests: { cpu: cpuRequest, memory: memoryRequest },
      limits: {
        ...(cpuLimit === undefined ? {} : { cpu: cpuLimit }),
        memory: memoryLimit,
      },
    },
    comments,
  };
}

function noCpuLimitComment(plan: DraftPlan): string {
  const step = reasonFor(plan, 'cpu.limit', 'none');
  if (step === undefined)
    return 'no CPU limit: the plan sets none, so the container uses idle CPU instead of being throttled';
  const reason = oneLine(step.reason);
  // The reason often opens with the same words; do not say them twice.
  const prefix = /^no cpu limit\b/i.test(reason) ? '' : 'no CPU limit on purpose: ';
  return `${prefix}${reason}${sourcesText(step)}`;
}

export type ProbeAction =
  | { httpGet: { path: string; port: number | string; scheme?: 'HTTPS' } }
  | { grpc: { port: number } }
  | { tcpSocket: { port: number | string } };

export interface ProbeSource {
  action: ProbeAction;
  describe: string;
}

function probesFor(input: RenderInput, ports: number[]): WithComments<Record<string, unknown>> {
  const source = probeSource(input.hints, ports);
  if (source === undefined) return { value: {}, comments: [] };
  const slow = slowStartReason(input);
  // A fresh copy per probe: shared objects would come out as YAML anchors and aliases.
  const action = (): ProbeAction => structuredClone(source.action);
  const value: Record<string, unknown> = {};
  const comments: KeyComment[] = [];
  if (slow !== undefined) {
    // 30 × 5 s: up to 150 s to start before liveness takes over.
    value.startupProbe = { ...action(), periodSeconds: 5, failureThreshold: 30 };
    comments.push({
      path: ['startupProbe'],
      text: `${slow}: up to 150 s (30 × 5 s) to start before the liveness probe counts`,
    });
  }
  value.readinessProbe = { ...action(), periodSeconds: 10, failureThreshold: 3 };
  comments.push({
    path: ['readinessProbe'],
    text: `${source.describe}; out of rotation after 3 failed checks (~30 s)`,
  });
  value.livenessProbe = {
    ...action(),
    ...(slow === undefined ? { initialDelaySeconds: 10 } : {}),
    periodSeconds: 20,
    failureThreshold: 3,
  };
  comments.push({
    path: ['livenessProbe'],
    text: 'restarted after ~60 s of failed checks, slower than readiness so a busy pod is first taken out of rotation',
  });
  return { value, comments };
}

/**
 * Where to probe: the Dockerfile HEALTHCHECK when it calls a local HTTP URL or grpc_health_probe,
 * else a TCP connect on the first port; undefined without ports or health check.
 */
export function probeSource(hints: ServiceHints, ports: number[]): ProbeSource | undefined {
  const check = hints.healthcheck;
  const grpc = check === undefined ? undefined : GRPC_HEALTHCHECK.exec(check)?.groups;
  if (grpc !== undefined)
    return {
      action: { grpc: { port: Number(grpc.port) } },
      describe: `gRPC health check on port ${grpc.port}, from the Dockerfile HEALTHCHECK`,
    };
  const http = check === undefined ? undefined : HTTP_HEALTHCHECK.exec(check)?.groups;
  if (http !== undefined && LOCAL_HOSTS.has(http.host!.toLowerCase())) {
    const https = http.scheme!.toLowerCase() === 'https';
    const port = httpPort(http.port, https, ports);
    if (port !== undefined) {
      const path = http.path ?? '/';
      return {
        action: { httpGet: { path, port, ...(https ? { scheme: 'HTTPS' as const } : {}) } },
        describe: `GET ${path} on port ${port}, from the Dockerfile HEALTHCHECK`,
      };
    }
  }
  const first = ports[0];
  if (first === undefined) return undefined;
  return {
    action: { tcpSocket: { port: first } },
    describe: `no HTTP health check in the Dockerfile: TCP connect on port ${first}`,
  };
}

function httpPort(raw: string | undefined, https: boolean, ports: number[]): number | undefined {
  if (raw === undefined) return https ? 443 : 80;
  if (/^\d+$/.test(raw)) return Number(raw);
  // A variable such as ${PORT}: the first declared port is the best guess.
  return ports[0];
}

function slowStartReason(input: RenderInput): string | undefined {
  const { hints, plan } = input;
  if (
    hints.jvmMaxHeapBytes !== undefined ||
    hints.jvmMaxRamPercentage !== undefined ||
    (hints.finalImage !== undefined && JVM_BASE_IMAGE.test(hints.finalImage))
  )
    return 'JVM: class loading and JIT warm-up make the first start slow';
  if (plan.workload === 'StatefulSet' && plan.volume !== undefined)
    return 'stateful: recovery or replay of its data after an unclean stop can take a while';
  return undefined;
}

function service(input: RenderInput, ports: number[]): Annotated {
  const name = input.plan.service.name;
  return {
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(input, name),
      spec: {
        type: 'ClusterIP',
        selector: selector(input),
        ports: servicePorts(ports),
      },
    },
    header: headerFor(input, 'Service', name),
    comments: [
      {
        path: ['spec', 'ports'],
        text: 'ports from the Dockerfile EXPOSE / compose ports',
      },
    ],
  };
}

function headlessService(input: RenderInput, ports: number[]): Annotated {
  const name = headlessName(input.plan.service.name);
  return {
    object: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(input, name),
      spec: {
        clusterIP: 'None',
        // Peers must find each other before they are ready (cluster bootstrap, replication).
        publishNotReadyAddresses: true,
        selector: selector(input),
        ...(ports.length === 0 ? {} : { ports: servicePorts(ports) }),
      },
    },
    header: [
      ...headerFor(input, 'Service', name),
      'headless: gives each StatefulSet pod a stable DNS name (<pod>.' + name + ')',
    ],
    comments: [],
  };
}

function servicePorts(ports: number[]): Record<string, unknown>[] {
  return ports.map((port, i) => ({
    name: portName(port, i),
    port,
    targetPort: portName(port, i),
    protocol: 'TCP',
  }));
}

function horizontalPodAutoscaler(input: RenderInput): Annotated {
  const { plan } = input;
  const name = plan.service.name;
  const scaling = plan.autoscaling!;
  const shown = `${scaling.minReplicas}–${scaling.maxReplicas} at ${scaling.targetCpuUtilization}% CPU`;
  return {
    object: {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: metadata(input, name),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: plan.workload, name },
        minReplicas: scaling.minReplicas,
        maxReplicas: scaling.maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: scaling.targetCpuUtilization },
            },
          },
        ],
      },
    },
    header: headerFor(input, 'HorizontalPodAutoscaler', name),
    comments: [
      { path: ['spec', 'minReplicas'], text: reasonComment(plan, 'autoscaling', shown) },
      {
        path: ['spec', 'metrics'],
        text: 'utilisation is measured against the CPU request above, so the two were sized together',
      },
    ],
  };
}

function podDisruptionBudget(input: RenderInput): Annotated {
  const { plan } = input;
  const name = plan.service.name;
  const minAvailable = plan.disruptionBudget!.minAvailable;
  return {
    object: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata(input, name),
      spec: {
        minAvailable,
        selector: { matchLabels: selector(input) },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    },
    header: headerFor(input, 'PodDisruptionBudget', name),
    comments: [
      {
        path: ['spec', 'minAvailable'],
        text: reasonComment(plan, 'disruption-budget', String(minAvailable)),
      },
      {
        path: ['spec', 'unhealthyPodEvictionPolicy'],
        text: 'pods that are not ready may be evicted, so a crash-looping pod cannot block node drains (Kubernetes ≥ 1.27)',
      },
    ],
  };
}

function persistentVolumeClaim(input: RenderInput): Annotated {
  const { plan } = input;
  const name = claimName(plan.service.name);
  const storage = storageQuantity(plan.volume!.sizeBytes);
  return {
    object: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: metadata(input, name),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
    },
    header: [
      ...headerFor(input, 'PersistentVolumeClaim', name),
      "uses the cluster's default StorageClass; set spec.storageClassName to choose another",
    ],
    comments: [
      {
        path: ['spec', 'resources', 'requests', 'storage'],
        text: reasonComment(plan, 'volume', storage),
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Quantities, names and reasons.

/** Millicores → canonical CPU quantity, rounded up to 10m steps (at least 10m). */
export function cpuQuantity(m: number): string {
  const steps = Math.max(1, Math.ceil(m / CPU_STEP_MILLICORES - EPSILON));
  return cpuQuantityFromMillicores(millicores(steps * CPU_STEP_MILLICORES));
}

/** Bytes → canonical memory quantity, rounded up to whole MiB (at least 1Mi). */
export function memoryQuantity(b: number): string {
  const mib = Math.max(1, Math.ceil(b / MIB - EPSILON));
  return memoryQuantityFromBytes(bytes(mib * MIB));
}

/** Bytes → storage quantity in whole GiB (at least 1Gi): provisioners allocate in GiB anyway. */
export function storageQuantity(b: number): string {
  const gib = Math.max(1, Math.ceil(b / GIB - EPSILON));
  return memoryQuantityFromBytes(bytes(gib * GIB));
}

function uniquePorts(ports: number[]): number[] {
  return [...new Set(ports.filter((p) => Number.isInteger(p) && p > 0 && p < 65536))];
}

function portName(port: number, index: number): string {
  return index === 0 ? 'http' : `port-${port}`;
}

function withSuffix(base: string, suffix: string): string {
  return `${base.slice(0, MAX_LABEL - suffix.length).replace(/-+$/, '')}${suffix}`;
}

function headlessName(name: string): string {
  return withSuffix(name, '-headless');
}

function claimName(name: string): string {
  return withSuffix(name, `-${DATA_VOLUME}`);
}

function volumeNameFor(path: string): string {
  const slug = path
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, MAX_LABEL).replace(/-+$/, '') || 'scratch';
}

function writablePathsFor(baseImage: string | undefined): string[] {
  if (baseImage === undefined) return [];
  const repository = baseImage.split('@')[0]!.replace(/:[^/:]*$/, '');
  const last = repository.split('/').at(-1) ?? repository;
  return WRITABLE_PATHS_BY_BASE_IMAGE.get(last) ?? [];
}

/**
 * The reasoning step behind a plan field: the latest one whose value matches what is shown, else
 * the latest one for the field (refinement appends its adjustments after the prediction's steps).
 */
export function reasonFor(
  plan: DraftPlan,
  field: PlanField,
  shown?: string,
): ReasoningStep | undefined {
  const steps = plan.reasoning.filter((s) => s.field === field);
  return steps.findLast((s) => shown !== undefined && s.value === shown) ?? steps.at(-1);
}

/** "250m: <reason> [sources]", on one line. */
export function reasonComment(plan: DraftPlan, field: PlanField, shown: string): string {
  const step = reasonFor(plan, field, shown);
  if (step === undefined) return `${shown}: no reason recorded in the plan`;
  const planned = step.value === shown ? '' : ` (plan: ${oneLine(step.value)})`;
  return `${shown}${planned}: ${oneLine(step.reason)}${sourcesText(step)}`;
}

/** " [a, b]" with each source once; "" without sources. */
export function sourcesText(step: ReasoningStep): string {
  const sources = [...new Set(step.sources)];
  return sources.length === 0 ? '' : ` [${sources.join(', ')}]`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// YAML.

function toYaml(rendered: Annotated): string {
  const doc = new Document(rendered.object);
  doc.commentBefore = rendered.header.map((line) => ` ${oneLine(line)}`).join('\n');
  for (const { path, text } of rendered.comments) {
    const parent = doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) continue;
    const key = path.at(-1);
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair === undefined || !isScalar(pair.key)) continue;
    pair.key.commentBefore = ` ${oneLine(text)}`;
  }
  return doc.toString({ lineWidth: 0 });
}

// ---------------------------------------------------------------------------------------------
// Validation.

interface Validatable {
  validate(): void;
}

/** A kubernetes-models class; `never` because each takes its own typed data. */
type ModelClass = new (data: never) => Validatable;

const MODELS: ReadonlyMap<string, ModelClass> = new Map<string, ModelClass>([
  ['apps/v1 Deployment', Deployment],
  ['apps/v1 StatefulSet', StatefulSet],
  ['v1 Service', Service],
  ['v1 PersistentVolumeClaim', PersistentVolumeClaim],
  ['autoscaling/v2 HorizontalPodAutoscaler', HorizontalPodAutoscaler],
  ['policy/v1 PodDisruptionBudget', PodDisruptionBudget],
]);

/** RFC 1035 label: Service names must start with a letter. */
const DNS_1035_LABEL = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: the rule for most other object names. */
const DNS_1123_SUBDOMAIN =
  /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * Checks one object against the Kubernetes OpenAPI schema of its apiVersion and kind (via
 * kubernetes-models), plus rules the API server enforces beyond the schema (names, selector ⊆ pod
 * labels, limits ≥ requests, minReplicas ≤ maxReplicas). Returns readable errors such as
 * "Deployment orders: spec.replicas must be integer"; [] when valid.
 */
export function validateKubernetesObject(object: Record<string, unknown>): string[] {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '?';
  const kind = typeof object.kind === 'string' ? object.kind : '?';
  const meta = asRecord(object.metadata);
  const name = typeof meta?.name === 'string' ? meta.name : '(unnamed)';
  const label = `${kind} ${name}`;
  const Model = MODELS.get(`${apiVersion} ${kind}`);
  if (Model === undefined)
    return [
      `${label}: unsupported kind "${kind}" in apiVersion "${apiVersion}"; expected one of ${[...MODELS.keys()].join(', ')}`,
    ];

  const errors: string[] = [];
  try {
    // The schema check is the point: the data's shape is what is being asked about.
    new Model(object as never).validate();
  } catch (error) {
    errors.push(...schemaMessages(error));
  }
  errors.push(...semanticErrors(kind, object));
  return [...new Set(errors)].map((e) => `${label}: ${e}`);
}

function schemaMessages(error: unknown): string[] {
  const details = (error as { errors?: unknown }).errors;
  if (!Array.isArray(details) || details.length === 0)
    return [error instanceof Error ? error.message : String(error)];
  const byPath = new Map<string, SchemaError[]>();
  for (const detail of details as SchemaError[]) {
    const group = byPath.get(detail.instancePath) ?? [];
    group.push(detail);
    byPath.set(detail.instancePath, group);
  }
  const out: string[] = [];
  for (const [path, group] of byPath) {
    // A quantity is "string or number with a format": keep the specific complaint, not the
    // three alternatives ajv reports for it.
    const specific = group.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf');
    const chosen = specific.some((e) => e.keyword === 'format')
      ? specific.filter((e) => e.keyword === 'format')
      : specific.length > 0
        ? specific
        : group;
    out.push(...chosen.map((e) => schemaMessage(path, e)));
  }
  return out;
}

function schemaMessage(pointer: string, error: SchemaError): string {
  const path = dottedPath(pointer);
  if (error.keyword === 'required')
    return `${joinPath(path, String(error.params.missingProperty))} is required`;
  if (error.keyword === 'additionalProperties')
    return `${joinPath(path, String(error.params.additionalProperty))} is not a known field`;
  if (error.keyword === 'enum' && Array.isArray(error.params.allowedValues))
    return `${path || 'object'} must be one of ${error.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (error.keyword === 'format' && error.params.format === 'quantity')
    return `${path} must be a Kubernetes quantity (such as "250m", "512Mi")`;
  return `${path || 'object'} ${error.message ?? 'is invalid'}`;
}

/** "/spec/template/spec/containers/0/ports/0" → "spec.template.spec.containers[0].ports[0]". */
function dottedPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : joinPath(acc, part)), '');
}

function joinPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function semanticErrors(kind: string, object: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const name = asRecord(object.metadata)?.name;
  if (typeof name !== 'string' || name === '') {
    errors.push('metadata.name is required');
  } else if (kind === 'Service' ? !DNS_1035_LABEL.test(name) : !isSubdomain(name)) {
    errors.push(
      kind === 'Service'
        ? `metadata.name "${name}" must be a DNS-1035 label (lowercase letters, digits and "-", starting with a letter, at most 63 characters)`
        : `metadata.name "${name}" must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)`,
    );
  }
  const spec = asRecord(object.spec);
  if (spec === undefined) return errors;

  if (kind === 'Deployment' || kind === 'StatefulSet') {
    const matchLabels = asRecord(asRecord(spec.selector)?.matchLabels) ?? {};
    const template = asRecord(spec.template);
    const podLabels = asRecord(asRecord(template?.metadata)?.labels) ?? {};
    for (const [key, value] of Object.entries(matchLabels))
      if (podLabels[key] !== value)
        errors.push(
          `spec.selector.matchLabels ${key}=${String(value)} does not match spec.template.metadata.labels`,
        );
    const containers = asRecord(template?.spec)?.containers;
    if (Array.isArray(containers))
      containers.forEach((c, i) => errors.push(...limitErrors(asRecord(c), i)));
  }
  if (kind === 'HorizontalPodAutoscaler') {
    const { minReplicas, maxReplicas } = spec;
    if (
      typeof minReplicas === 'number' &&
      typeof maxReplicas === 'number' &&
      minReplicas > maxReplicas
    )
      errors.push(
        `spec.minReplicas ${minReplicas} must not exceed spec.maxReplicas ${maxReplicas}`,
      );
  }
  if (
    kind === 'PodDisruptionBudget' &&
    spec.minAvailable !== undefined &&
    spec.maxUnavailable !== undefined
  )
    errors.push('spec.minAvailable and spec.maxUnavailable cannot both be set');
  return errors;
}

function isSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_1123_SUBDOMAIN.test(name);
}

function limitErrors(container: Record<string, unknown> | undefined, index: number): string[] {
  const resources = asRecord(container?.resources);
  const requests = asRecord(resources?.requests);
  const limits = asRecord(resources?.limits);
  if (requests === undefined || limits === undefined) return [];
  const path = `spec.template.spec.containers[${index}].resources`;
  const errors: string[] = [];
  const checks = [
    { resource: 'cpu', parse: millicoresFromCpuQuantity },
    { resource: 'memory', parse: bytesFromMemoryQuantity },
  ] as const;
  for (const { resource, parse } of checks) {
    const request = requests[resource];
    const limit = limits[resource];
    if (!isQuantity(request) || !isQuantity(limit)) continue;
    const r = parse(request);
    const l = parse(limit);
    if (r !== undefined && l !== undefined && l < r)
      errors.push(
        `${path}.limits.${resource} ${String(limit)} must be greater than or equal to requests.${resource} ${String(request)}`,
      );
  }
  return errors;
}

function isQuantity(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
