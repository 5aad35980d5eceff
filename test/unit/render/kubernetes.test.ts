import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { DraftPlan, ServiceHints } from '../../../src/agents/schema.js';
import {
  cpuQuantity,
  memoryQuantity,
  probeSource,
  reasonComment,
  renderKubernetes,
  renderKustomization,
  runAsIdentity,
  storageQuantity,
  validateKubernetesObject,
} from '../../../src/render/kubernetes.js';
import type { RenderInput } from '../../../src/render/kubernetes.js';

/** A rendered object, walked by path; a wrong path fails the test. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read rendered JSON by path
type Obj = Record<string, any>;

const MiB = 2 ** 20;
const GiB = 2 ** 30;

type PlanInput = Partial<Omit<DraftPlan, 'resources'>> & {
  resources?: Partial<DraftPlan['resources']>;
};

/** Resource figures as the prediction states them: a target with bounds. */
function estimate(target: number): { target: number; lower: number; upper: number } {
  return { target, lower: target / 2, upper: target * 2 };
}

function plan(overrides: PlanInput = {}): DraftPlan {
  const { resources, ...rest } = overrides;
  return DraftPlan.parse({
    service: { name: 'orders', path: 'services/orders' },
    target: 'kubernetes',
    workload: 'Deployment',
    replicas: 2,
    resources: {
      cpuRequest: estimate(250),
      cpuLimit: estimate(1000),
      memoryRequest: estimate(256 * MiB),
      memoryLimit: estimate(512 * MiB),
      ...resources,
    },
    reasoning: [
      {
        field: 'workload',
        value: 'Deployment',
        reason: 'stateless HTTP service',
        sources: ['description'],
      },
      { field: 'replicas', value: '2', reason: 'two replicas survive one node loss', sources: [] },
      {
        field: 'cpu.request',
        value: '250m',
        reason: 'Node.js event loop: one core at most, 250m covers 40 req/s',
        sources: ['knowledge/runtimes/nodejs.md'],
      },
      {
        field: 'cpu.limit',
        value: '1',
        reason: 'a single-threaded runtime gains nothing above one core',
        sources: [],
      },
      {
        field: 'memory.request',
        value: '256Mi',
        reason: 'heap plus baseline',
        sources: ['services/orders/Dockerfile:12'],
      },
      {
        field: 'memory.limit',
        value: '512Mi',
        reason: 'twice the request for GC spikes',
        sources: [],
      },
      {
        field: 'autoscaling',
        value: '2–6 at 70% CPU',
        reason: 'peak 200 req/s over 40 req/s per replica',
        sources: [],
      },
      {
        field: 'disruption-budget',
        value: '1',
        reason: 'keep one replica during drains',
        sources: [],
      },
      { field: 'volume', value: '10Gi', reason: 'two years of order history', sources: [] },
    ],
    confidence: 0.7,
    ...rest,
  });
}

/** The plan without a CPU limit, and the reasoning step that says why. */
function noCpuLimit(draft: DraftPlan): DraftPlan {
  const { cpuLimit: _dropped, ...resources } = draft.resources;
  return {
    ...draft,
    resources,
    reasoning: [
      ...draft.reasoning,
      {
        field: 'cpu.limit',
        value: 'none',
        reason: 'throttling hurts tail latency',
        sources: ['knowledge/patterns/cpu-limits.md'],
      },
    ],
  };
}

function hints(overrides: Record<string, unknown> = {}): ServiceHints {
  return ServiceHints.parse({ ports: [3000], ...overrides });
}

function render(overrides: Partial<RenderInput> = {}): ReturnType<typeof renderKubernetes> {
  return renderKubernetes({ plan: plan(), hints: hints(), environment: 'prod', ...overrides });
}

function byKind(objects: Record<string, unknown>[], kind: string): Obj[] {
  return objects.filter((o) => o.kind === kind) as Obj[];
}

function only(objects: Record<string, unknown>[], kind: string): Obj {
  const found = byKind(objects, kind);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function container(objects: Record<string, unknown>[]): Obj {
  const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as
    Obj | undefined;
  return workload!.spec.template.spec.containers[0];
}

const SCENARIOS: [string, RenderInput][] = [
  [
    'web service with HPA and PDB',
    {
      plan: plan({
        autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 70 },
        disruptionBudget: { minAvailable: 1 },
      }),
      hints: hints({ healthcheck: 'wget -qO- http://localhost:3000/healthz || exit 1' }),
      environment: 'prod',
      namespace: 'shop',
    },
  ],
  [
    'worker without ports',
    { plan: plan({ replicas: 1 }), hints: hints({ ports: [], worker: true }), environment: 'dev' },
  ],
  [
    'StatefulSet with volume',
    {
      plan: plan({
        workload: 'StatefulSet',
        replicas: 3,
        volume: { sizeBytes: 10 * GiB, mountPath: '/var/lib/data' },
        disruptionBudget: { minAvailable: 2 },
      }),
      hints: hints({ ports: [5432], finalImage: 'postgres:16' }),
      environment: 'staging',
    },
  ],
  [
    'single-replica Deployment with volume, no CPU limit, JVM',
    {
      plan: noCpuLimit(plan({ replicas: 1, volume: { sizeBytes: 5 * GiB, mountPath: '/data' } })),
      hints: hints({ ports: [8080, 9090], jvmMaxHeapBytes: 768 * MiB }),
      environment: 'prod',
      image: 'ghcr.io/acme/orders:1.4.2',
      partOf: 'shop',
    },
  ],
];

describe('render/kubernetes', () => {
  describe('objects', () => {
    it('renders a web service with an HPA and a PDB', () => {
      const input = SCENARIOS[0]![1];

      const { objects } = renderKubernetes(input);

      expect(objects.map((o) => o.kind)).toEqual([
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
      ]);
      const deployment = only(objects, 'Deployment');
      expect(deployment.spec).not.toHaveProperty('replicas');
      expect(deployment.spec.selector).toEqual({
        matchLabels: { 'app.kubernetes.io/name': 'orders' },
      });
      const hpa = only(objects, 'HorizontalPodAutoscaler');
      expect(hpa.spec).toEqual({
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
          },
        ],
      });
      const pdb = only(objects, 'PodDisruptionBudget');
      expect(pdb.spec.minAvailable).toBe(1);
      expect(pdb.spec.selector).toEqual(deployment.spec.selector);
      const svc = only(objects, 'Service');
      expect(svc.spec.ports).toEqual([
        { name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' },
      ]);
      expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'orders' });
    });

    it('keeps replicas on the Deployment when no HPA manages it', () => {
      const input = SCENARIOS[2]![1];

      const { objects } = renderKubernetes({ ...input, plan: plan({ replicas: 3 }) });

      expect(only(objects, 'Deployment').spec.replicas).toBe(3);
      expect(byKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    });

    it('renders a worker without Service or probes', () => {
      const input = SCENARIOS[1]![1];

      const { objects } = renderKubernetes(input);

      expect(objects.map((o) => o.kind)).toEqual(['Deployment']);
      const c = container(objects);
      expect(c).not.toHaveProperty('ports');
      expect(c).not.toHaveProperty('readinessProbe');
      expect(c).not.toHaveProperty('livenessProbe');
      expect(c).not.toHaveProperty('startupProbe');
    });

    it('renders a StatefulSet with volumeClaimTemplates and a headless Service', () => {
      const input = SCENARIOS[2]![1];

      const { objects } = renderKubernetes(input);

      expect(objects.map((o) => o.kind)).toEqual([
        'StatefulSet',
        'Service',
        'Service',
        'PodDisruptionBudget',
      ]);
      const sts = only(objects, 'StatefulSet');
      expect(sts.spec.serviceName).toBe('orders-headless');
      expect(sts.spec.replicas).toBe(3);
      expect(sts.spec.volumeClaimTemplates).toEqual([
        {
          metadata: {
            name: 'data',
            labels: {
              'app.kubernetes.io/name': 'orders',
              'app.kubernetes.io/managed-by': 'ai-provision',
            },
          },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
        },
      ]);
      expect(container(objects).volumeMounts).toContainEqual({
        name: 'data',
        mountPath: '/var/lib/data',
      });
      const [headless, plain] = byKind(objects, 'Service');
      expect(headless!.metadata.name).toBe('orders-headless');
      expect(headless!.spec.clusterIP).toBe('None');
      expect(plain!.metadata.name).toBe('orders');
      expect(byKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    });

    it('gives a single-replica Deployment with a volume its own claim and the Recreate strategy', () => {
      const input = SCENARIOS[3]![1];

      const { objects, warnings } = renderKubernetes(input);

      expect(objects.map((o) => o.kind)).toEqual([
        'PersistentVolumeClaim',
        'Deployment',
        'Service',
      ]);
      const pvc = only(objects, 'PersistentVolumeClaim');
      expect(pvc.metadata.name).toBe('orders-data');
      expect(pvc.spec.resources.requests.storage).toBe('5Gi');
      const deployment = only(objects, 'Deployment');
      expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
      expect(deployment.spec.template.spec.volumes).toContainEqual({
        name: 'data',
        persistentVolumeClaim: { claimName: 'orders-data' },
      });
      expect(warnings).toEqual([]);
    });

    it('renders a volume on a scaled Deployment but warns that it should be a StatefulSet', () => {
      const input = {
        ...SCENARIOS[3]![1],
        plan: plan({ replicas: 3, volume: { sizeBytes: GiB, mountPath: '/data' } }),
      };

      const { objects, warnings } = renderKubernetes(input);

      expect(byKind(objects, 'PersistentVolumeClaim')).toHaveLength(1);
      expect(warnings.join('\n')).toMatch(
        /ReadWriteOnce volume on a Deployment that runs 3 replicas/,
      );
    });

    it.each([
      ['one replica', 1, undefined, 0],
      ['two replicas', 2, undefined, 1],
      ['HPA from one replica', 1, { minReplicas: 1, maxReplicas: 4, targetCpuUtilization: 70 }, 0],
    ] as const)(
      'renders a PDB only with at least two replicas: %s',
      (_label, replicas, autoscaling, expected) => {
        const input = {
          plan: plan({
            replicas,
            disruptionBudget: { minAvailable: 1 },
            ...(autoscaling === undefined ? {} : { autoscaling }),
          }),
          hints: hints(),
          environment: 'prod' as const,
        };

        const { objects, warnings } = renderKubernetes(input);

        expect(byKind(objects, 'PodDisruptionBudget')).toHaveLength(expected);
        expect(warnings.some((w) => w.includes('no PodDisruptionBudget'))).toBe(expected === 0);
      },
    );

    it('warns when minAvailable leaves no room for a drain', () => {
      const input = {
        plan: plan({ replicas: 2, disruptionBudget: { minAvailable: 2 } }),
        hints: hints(),
        environment: 'prod' as const,
      };

      const { warnings } = renderKubernetes(input);

      expect(warnings.join('\n')).toMatch(/minAvailable 2 ≥ 2 replicas/);
    });

    it.each([
      ['with a CPU limit', estimate(1000), { cpu: '1', memory: '512Mi' }],
      ['without a CPU limit', undefined, { memory: '512Mi' }],
    ])('renders resources %s', (_label, cpuLimit, limits) => {
      const input = {
        plan: plan({ resources: { cpuLimit } }),
        hints: hints(),
        environment: 'prod' as const,
      };

      const { objects } = renderKubernetes(input);

      expect(container(objects).resources).toEqual({
        requests: { cpu: '250m', memory: '256Mi' },
        limits,
      });
    });

    it.each([
      [247, '250m'],
      [250.0000001, '250m'],
      [1, '10m'],
      [1995, '2'],
      [1500, '1500m'],
    ])('cpuQuantity(%p) = %p (10m steps, upward)', (m, expected) => {
      const quantity = cpuQuantity(m);

      expect(quantity).toBe(expected);
    });

    it.each([
      [500.5 * MiB, '501Mi'],
      [1024 * MiB, '1Gi'],
      [100, '1Mi'],
      [1.5 * GiB, '1536Mi'],
    ])('memoryQuantity(%p) = %p (whole Mi, upward)', (b, expected) => {
      const quantity = memoryQuantity(b);

      expect(quantity).toBe(expected);
    });

    it.each([
      [10 * GiB, '10Gi'],
      [10.2 * GiB, '11Gi'],
      [100 * MiB, '1Gi'],
    ])('storageQuantity(%p) = %p (whole Gi, upward)', (b, expected) => {
      const quantity = storageQuantity(b);

      expect(quantity).toBe(expected);
    });

    it.each([
      ['JVM heap hint', { jvmMaxHeapBytes: 768 * MiB }, true],
      ['JVM RAM percentage hint', { jvmMaxRamPercentage: 75 }, true],
      ['JVM base image', { finalImage: 'eclipse-temurin:21-jre' }, true],
      ['Node.js base image', { finalImage: 'node:20-alpine' }, false],
      ['no hints', {}, false],
    ])('adds a startupProbe for slow starters: %s', (_label, extra, expected) => {
      const input = { plan: plan(), hints: hints(extra), environment: 'prod' as const };

      const { objects } = renderKubernetes(input);

      const c = container(objects);
      expect(c.startupProbe !== undefined).toBe(expected);
      expect(c.livenessProbe.initialDelaySeconds !== undefined).toBe(!expected);
    });

    it.each([
      [
        'wget -qO- http://localhost:3000/healthz || exit 1',
        [3000],
        { httpGet: { path: '/healthz', port: 3000 } },
      ],
      [
        'curl -f http://127.0.0.1:8080/actuator/health',
        [8080],
        { httpGet: { path: '/actuator/health', port: 8080 } },
      ],
      ['curl -fsS http://localhost/ready', [80], { httpGet: { path: '/ready', port: 80 } }],
      [
        'curl -k https://localhost:8443/health',
        [8443],
        { httpGet: { path: '/health', port: 8443, scheme: 'HTTPS' } },
      ],
      [
        'curl -f http://localhost:${PORT}/health',
        [5000],
        { httpGet: { path: '/health', port: 5000 } },
      ],
      ['curl --fail http://0.0.0.0:8000', [8000], { httpGet: { path: '/', port: 8000 } }],
      ['grpc_health_probe -addr=:50051', [50051], { grpc: { port: 50051 } }],
      ['curl -f http://payments.internal/health', [8080], { tcpSocket: { port: 8080 } }],
      ['pg_isready -U postgres', [5432], { tcpSocket: { port: 5432 } }],
      [undefined, [8080, 9090], { tcpSocket: { port: 8080 } }],
    ])('probes %p → %j', (healthcheck, ports, expected) => {
      const serviceHints = hints({ ports, ...(healthcheck === undefined ? {} : { healthcheck }) });

      const source = probeSource(serviceHints, ports);

      expect(source?.action).toEqual(expected);
    });

    it('uses the probe action from the health check on readiness and liveness', () => {
      const input = SCENARIOS[0]![1];

      const c = container(renderKubernetes(input).objects);

      expect(c.readinessProbe).toEqual({
        httpGet: { path: '/healthz', port: 3000 },
        periodSeconds: 10,
        failureThreshold: 3,
      });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 3000 });
    });

    it.each([
      ['given', 'shop', 'shop'],
      ['absent', undefined, undefined],
    ])('sets the namespace on every object when %s', (_label, namespace, expected) => {
      const input = { ...SCENARIOS[2]![1], ...(namespace === undefined ? {} : { namespace }) };

      const { objects } = renderKubernetes(input);

      for (const o of objects)
        expect((o.metadata as Record<string, unknown>).namespace).toBe(expected);
    });

    it('labels every object and pod with the standard labels', () => {
      const input = SCENARIOS[3]![1];

      const { objects } = renderKubernetes(input);

      const expected = {
        'app.kubernetes.io/name': 'orders',
        'app.kubernetes.io/part-of': 'shop',
        'app.kubernetes.io/managed-by': 'ai-provision',
      };
      for (const o of objects)
        expect((o.metadata as Record<string, unknown>).labels).toEqual(expected);
      expect(only(objects, 'Deployment').spec.template.metadata.labels).toEqual(expected);
    });

    it('applies a restrictive securityContext with a writable /tmp', () => {
      const input = SCENARIOS[0]![1];

      const { objects } = renderKubernetes(input);

      const pod = only(objects, 'Deployment').spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.containers[0].securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: {} });
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    });

    it('adds the writable paths an nginx base image needs', () => {
      const input = {
        plan: plan(),
        hints: hints({ ports: [8080], finalImage: 'nginx:1.27-alpine' }),
        environment: 'prod' as const,
      };

      const { objects } = renderKubernetes(input);

      const mounts = container(objects).volumeMounts.map((m: { mountPath: string }) => m.mountPath);
      expect(mounts).toEqual(['/tmp', '/var/cache/nginx', '/var/run']);
    });

    it('injects no environment variables', () => {
      const input = {
        plan: plan(),
        hints: hints({ gomaxprocs: 2, goMemLimitBytes: 400 * MiB }),
        environment: 'prod' as const,
      };

      const { objects } = renderKubernetes(input);

      expect(container(objects)).not.toHaveProperty('env');
    });

    it.each([
      ['prod', 2, true],
      ['staging', 2, true],
      ['dev', 2, false],
      ['prod', 1, false],
    ] as const)(
      'spreads replicas over nodes in %s with %p replicas: %p',
      (environment, replicas, expected) => {
        const input = { plan: plan({ replicas }), hints: hints(), environment };

        const { objects } = renderKubernetes(input);

        expect(
          only(objects, 'Deployment').spec.template.spec.topologySpreadConstraints !== undefined,
        ).toBe(expected);
      },
    );

    it.each([
      ['no image given', undefined, 'orders:latest', true],
      ['an image given', 'ghcr.io/acme/orders:1.4.2', 'ghcr.io/acme/orders:1.4.2', false],
    ])('uses the image: %s', (_label, image, expected, warned) => {
      const input = {
        plan: plan(),
        hints: hints({ finalImage: 'node:20' }),
        environment: 'prod' as const,
        ...(image === undefined ? {} : { image }),
      };

      const { objects, yaml, warnings } = renderKubernetes(input);

      expect(container(objects).image).toBe(expected);
      expect(warnings.some((w) => w.includes('placeholder'))).toBe(warned);
      expect(yaml.includes('# TODO: placeholder')).toBe(warned);
    });
  });

  describe('validation', () => {
    it.each(SCENARIOS)('every object of "%s" passes validateKubernetesObject', (_label, input) => {
      const { objects } = renderKubernetes(input);

      const errors = objects.flatMap((o) => validateKubernetesObject(o));

      expect(errors).toEqual([]);
    });

    function validDeployment(): Obj {
      return structuredClone(only(render().objects, 'Deployment'));
    }

    it.each<[string, (d: Obj) => void, string]>([
      [
        'replicas as text',
        (d) => (d.spec.replicas = 'three'),
        'Deployment orders: spec.replicas must be integer',
      ],
      [
        'no selector',
        (d) => delete d.spec.selector,
        'Deployment orders: spec.selector is required',
      ],
      [
        'a bad quantity',
        (d) => (d.spec.template.spec.containers[0].resources.requests.cpu = 'lots'),
        'Deployment orders: spec.template.spec.containers[0].resources.requests.cpu must be a Kubernetes quantity (such as "250m", "512Mi")',
      ],
      [
        'an unknown protocol',
        (d) => (d.spec.template.spec.containers[0].ports[0].protocol = 'HTTP'),
        'Deployment orders: spec.template.spec.containers[0].ports[0].protocol must be one of "SCTP", "TCP", "UDP"',
      ],
      [
        'a limit below the request',
        (d) => (d.spec.template.spec.containers[0].resources.limits.memory = '128Mi'),
        'Deployment orders: spec.template.spec.containers[0].resources.limits.memory 128Mi must be greater than or equal to requests.memory 256Mi',
      ],
      [
        'a selector the pods do not carry',
        (d) => (d.spec.selector.matchLabels['app.kubernetes.io/name'] = 'other'),
        'Deployment orders: spec.selector.matchLabels app.kubernetes.io/name=other does not match spec.template.metadata.labels',
      ],
      [
        'an invalid name',
        (d) => (d.metadata.name = 'Orders_Service'),
        'Deployment Orders_Service: metadata.name "Orders_Service" must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)',
      ],
    ])('rejects a Deployment with %s', (_label, breakIt, expected) => {
      const broken = validDeployment();
      breakIt(broken);

      const errors = validateKubernetesObject(broken);

      expect(errors).toContain(expected);
    });

    it('rejects an unknown kind', () => {
      const ingress = {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'orders' },
      };

      const errors = validateKubernetesObject(ingress);

      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(
        /^Ingress orders: unsupported kind "Ingress" in apiVersion "networking.k8s.io\/v1"/,
      );
    });

    it('rejects an HPA whose minimum exceeds its maximum', () => {
      const hpa = structuredClone(
        only(
          render({
            plan: plan({
              autoscaling: { minReplicas: 2, maxReplicas: 4, targetCpuUtilization: 70 },
            }),
          }).objects,
          'HorizontalPodAutoscaler',
        ),
      );
      hpa.spec.minReplicas = 5;

      const errors = validateKubernetesObject(hpa);

      expect(errors).toEqual([
        'HorizontalPodAutoscaler orders: spec.minReplicas 5 must not exceed spec.maxReplicas 4',
      ]);
    });

    it('rejects a Service name that starts with a digit', () => {
      const svc = structuredClone(only(render().objects, 'Service'));
      svc.metadata.name = '1orders';

      const errors = validateKubernetesObject(svc);

      expect(errors.join('\n')).toMatch(
        /Service 1orders: metadata.name "1orders" must be a DNS-1035 label/,
      );
    });
  });

  describe('yaml', () => {
    it.each(SCENARIOS)('"%s" parses back to the objects', (_label, input) => {
      const rendered = renderKubernetes(input);

      const docs = parseAllDocuments(rendered.yaml);

      expect(docs.flatMap((d) => d.errors)).toEqual([]);
      expect(docs.map((d) => d.toJS())).toEqual(rendered.objects);
    });

    it('orders keys as kubectl users expect', () => {
      const input = SCENARIOS[0]![1];

      const { objects } = renderKubernetes(input);

      for (const o of objects)
        expect(Object.keys(o).slice(0, 4)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    });

    it('quotes the plan reason on each resources value', () => {
      const input = SCENARIOS[0]![1];

      const { yaml } = renderKubernetes(input);

      expect(yaml).toContain(
        '# 250m: Node.js event loop: one core at most, 250m covers 40 req/s [knowledge/runtimes/nodejs.md]\n',
      );
      expect(yaml).toContain('# 256Mi: heap plus baseline [services/orders/Dockerfile:12]\n');
      expect(yaml).toContain('# 1: a single-threaded runtime gains nothing above one core\n');
      expect(yaml).toContain('# 512Mi: twice the request for GC spikes\n');
      expect(yaml).toContain('# 2–6 at 70% CPU: peak 200 req/s over 40 req/s per replica\n');
      expect(yaml).toContain('# 1: keep one replica during drains\n');
      expect(yaml).toMatch(
        /# replicas is left out on purpose: the HorizontalPodAutoscaler owns it \(2–6\)/,
      );
    });

    it('puts each comment above the key it explains', () => {
      const input = SCENARIOS[0]![1];

      const lines = renderKubernetes(input).yaml.split('\n');

      const at = lines.findIndex((l) => l.includes('# 250m: Node.js event loop'));
      expect(lines[at + 1]!.trim()).toBe('cpu: 250m');
    });

    it.each([
      [
        'with its reason',
        noCpuLimit(plan()),
        '# no CPU limit on purpose: throttling hurts tail latency [knowledge/patterns/cpu-limits.md]\n',
      ],
      [
        'without a reason',
        plan({ resources: { cpuLimit: undefined }, reasoning: [] }),
        '# no CPU limit: the plan sets none, so the container uses idle CPU instead of being throttled\n',
      ],
    ])('explains a missing CPU limit %s', (_label, draft, expected) => {
      const input = { plan: draft, hints: hints(), environment: 'prod' as const };

      const { yaml } = renderKubernetes(input);

      expect(yaml).toContain(expected);
      expect(yaml).not.toMatch(/^\s+cpu: 1$/m);
    });

    it('writes no YAML anchors or aliases', () => {
      const input = SCENARIOS[3]![1];

      const { yaml } = renderKubernetes(input);

      expect(yaml).not.toMatch(/[&*]a\d+/);
    });

    it('opens each object with a header comment', () => {
      const input = SCENARIOS[0]![1];

      const { yaml } = renderKubernetes(input);

      const headers = yaml.split('---\n').map((doc) => doc.split('\n')[0]);
      expect(headers).toEqual([
        '# Deployment orders — service orders (services/orders), environment prod',
        '# Service orders — service orders (services/orders), environment prod',
        '# HorizontalPodAutoscaler orders — service orders (services/orders), environment prod',
        '# PodDisruptionBudget orders — service orders (services/orders), environment prod',
      ]);
    });

    it.each([
      [
        'a step whose value matches',
        'cpu.request',
        '250m',
        '250m: Node.js event loop: one core at most, 250m covers 40 req/s [knowledge/runtimes/nodejs.md]',
      ],
      [
        'a rounded value',
        'cpu.request',
        '260m',
        '260m (plan: 250m): Node.js event loop: one core at most, 250m covers 40 req/s [knowledge/runtimes/nodejs.md]',
      ],
      ['no step', 'proxmox', '2 cores', '2 cores: no reason recorded in the plan'],
    ] as const)('reasonComment with %s', (_label, field, shown, expected) => {
      const draft = plan();

      const comment = reasonComment(draft, field, shown);

      expect(comment).toBe(expected);
    });

    it("names each source once and does not repeat the reason's own opening", () => {
      const draft = noCpuLimit(plan({ resources: { cpuLimit: undefined } }));
      draft.reasoning.push(
        { field: 'cpu.request', value: '250m', reason: 'typical', sources: ['k:jvm', 'k:jvm'] },
        {
          field: 'cpu.limit',
          value: 'none',
          reason: 'No CPU limit: throttling hurts',
          sources: [],
        },
      );

      const { yaml } = renderKubernetes({ plan: draft, hints: hints(), environment: 'prod' });

      expect(yaml).toContain('# 250m: typical [k:jvm]\n');
      expect(yaml).toContain('# No CPU limit: throttling hurts\n');
    });

    it('prefers the latest step for a field (refinement adjustments come last)', () => {
      const draft = plan();
      draft.reasoning.push({
        field: 'memory.limit',
        value: '768Mi',
        reason: 'policy minimum',
        sources: ['policy'],
      });

      const comment = reasonComment(draft, 'memory.limit', '640Mi');

      expect(comment).toBe('640Mi (plan: 768Mi): policy minimum [policy]');
    });
  });

  describe('files', () => {
    it('writes one <service>.yaml and a kustomization listing it', () => {
      const input = SCENARIOS[0]![1];

      const rendered = renderKubernetes(input);

      expect(rendered.files.map((f) => f.path)).toEqual(['orders.yaml', 'kustomization.yaml']);
      expect(rendered.files[0]!.content).toBe(rendered.yaml);
      expect(parseYaml(rendered.files[1]!.content)).toEqual({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['orders.yaml'],
      });
    });

    it('renders one kustomization over several services', () => {
      const resources = ['orders.yaml', 'payments.yaml'];

      const file = renderKustomization(resources);

      expect(file.path).toBe('kustomization.yaml');
      expect(parseYaml(file.content).resources).toEqual(resources);
      expect(file.content.startsWith('# rendered by ai-provision')).toBe(true);
    });
  });

  describe('the identity the pod runs as', () => {
    it.each([
      ['1000', 1000, 1000],
      ['1001:2000', 1001, 2000],
      ['node', 1000, 1000],
      ['nonroot', 65532, 65532],
      ['nobody', 65534, 65534],
    ])('keeps the image USER %s as UID %d / GID %d', (user, uid, gid) => {
      const { objects } = render({ hints: hints({ user }) });
      const pod = (objects[0] as { spec: { template: { spec: { securityContext: object } } } }).spec
        .template.spec.securityContext;
      expect(pod).toMatchObject({
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: gid,
        fsGroup: gid,
      });
    });

    it.each([undefined, 'root', '0', '0:0', '1000:0', 'appuser'])(
      'falls back to UID 10001 for USER %s and says why',
      (user) => {
        const identity = runAsIdentity(user);
        expect([identity.uid, identity.gid]).toEqual([10001, 10001]);
        expect(identity.why).toContain('10001');
        if (user !== undefined) expect(identity.why).toContain(user);
      },
    );
  });
});
