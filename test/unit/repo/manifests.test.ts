import { fileURLToPath } from 'node:url';
import {
  deploymentsFromCompose,
  matchDeployments,
  readDeployments,
} from '../../../src/repo/manifests.js';
import type { DeploymentTarget } from '../../../src/repo/manifests.js';
import { ComposeServiceFacts, ExistingDeployment } from '../../../src/repo/schema.js';
import { walkTree } from '../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';
import type { FileMap } from '../../support/temp-repo.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/repos/manifests/', import.meta.url));

afterAll(removeTempRepos);

/** Reads a repository and checks every deployment against the schema it must fit. */
function read(root: string): ReturnType<typeof readDeployments> {
  const result = readDeployments(walkTree(root));
  for (const deployment of result.deployments) {
    expect(ExistingDeployment.parse(deployment)).toEqual(deployment);
  }
  return result;
}

function readInline(files: FileMap): ReturnType<typeof readDeployments> {
  return read(tempRepo(files));
}

function find(
  deployments: ExistingDeployment[],
  name: string,
  source?: ExistingDeployment['source'],
): ExistingDeployment {
  const found = deployments.find((d) => d.name === name && (!source || d.source === source));
  if (!found) throw new Error(`no deployment ${name} in ${deployments.map((d) => d.name)}`);
  return found;
}

function deployment(name: string, container: string, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: ${container}
          image: ghcr.io/acme/${container}:1.0
${extra}`;
}

function hpaV2(target: string, average = 70): string {
  return `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: ${target}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: ${target}}
  minReplicas: 2
  maxReplicas: 6
  metrics:
    - type: Resource
      resource: {name: memory, target: {type: Utilization, averageUtilization: 90}}
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: ${average}}}
`;
}

interface WorkloadCase {
  objectKind: string;
  name: string;
  namespace?: string;
  replicas?: number;
  container: string;
}

const MULTI_DOC = `# the api, its service and its autoscaler
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders-api
  namespace: shop
spec:
  replicas: 3
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/orders-migrate:1.2
          resources: {requests: {cpu: 2, memory: 2Gi}}
      containers:
        - name: api
          image: ghcr.io/acme/orders-api:1.2
          resources:
            requests: {cpu: 250m, memory: 512Mi}
            limits: {cpu: "1", memory: 1Gi}
---
apiVersion: v1
kind: Service
metadata:
  name: orders-api
  namespace: shop
spec:
  ports: [{port: 80}]
---
${hpaV2('orders-api')}`;

describe('repo/manifests', () => {
  describe('readDeployments: Kubernetes YAML', () => {
    it('reads a multi-document file with a Deployment, a Service and an HPA', () => {
      const files = { 'k8s/orders.yaml': MULTI_DOC };

      const { deployments, notes } = readInline(files);

      expect(notes).toEqual([]);
      expect(deployments).toEqual([
        {
          file: 'k8s/orders.yaml',
          source: 'kubernetes',
          objectKind: 'Deployment',
          name: 'orders-api',
          namespace: 'shop',
          replicas: 3,
          containers: [
            {
              name: 'api',
              image: 'ghcr.io/acme/orders-api:1.2',
              resources: {
                requests: { cpu: 250, memory: 512 * 2 ** 20 },
                limits: { cpu: 1000, memory: 2 ** 30 },
              },
              rawResources: {
                requests: { cpu: '250m', memory: '512Mi' },
                limits: { cpu: '1', memory: '1Gi' },
              },
            },
          ],
          autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 70 },
        },
      ]);
    });

    it.each([
      [
        'autoscaling/v1',
        `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  targetCPUUtilizationPercentage: 60
`,
        { minReplicas: 1, maxReplicas: 5, targetCpuUtilization: 60 },
      ],
      [
        'autoscaling/v2',
        hpaV2('web', 65),
        { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 65 },
      ],
      [
        'autoscaling/v2beta1',
        `apiVersion: autoscaling/v2beta1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, targetAverageUtilization: 50}}]
`,
        { maxReplicas: 3, targetCpuUtilization: 50 },
      ],
      [
        'autoscaling/v2 without a cpu metric',
        `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 4
  metrics: [{type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}}]
`,
        { minReplicas: 2, maxReplicas: 4 },
      ],
    ])('attaches an %s HPA from a file beside the Deployment', (_version, hpa, expected) => {
      const files = { 'deploy/web.yaml': deployment('web', 'web'), 'deploy/hpa.yaml': hpa };

      const { deployments } = readInline(files);

      expect(find(deployments, 'web').autoscaling).toEqual(expected);
    });

    it('does not attach an HPA from another directory or for another kind', () => {
      const files = {
        'prod/web.yaml': deployment('web', 'web'),
        'staging/hpa.yaml': hpaV2('web'),
        'prod/hpa.yaml': hpaV2('web').replace('kind: Deployment', 'kind: StatefulSet'),
      };

      const { deployments } = readInline(files);

      expect(find(deployments, 'web').autoscaling).toBeUndefined();
    });

    it.each<[string, string, WorkloadCase]>([
      [
        'StatefulSet',
        `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  replicas: 3
  serviceName: db
  template:
    spec:
      containers: [{name: postgres, image: postgres:16, resources: {requests: {memory: 4Gi}}}]
`,
        {
          objectKind: 'StatefulSet',
          name: 'db',
          namespace: 'data',
          replicas: 3,
          container: 'postgres',
        },
      ],
      [
        'DaemonSet',
        `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  template:
    spec:
      containers: [{name: agent, image: acme/agent:2}]
`,
        { objectKind: 'DaemonSet', name: 'node-agent', replicas: undefined, container: 'agent' },
      ],
      [
        'ReplicaSet',
        `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: legacy}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: legacy, image: acme/legacy}]
`,
        { objectKind: 'ReplicaSet', name: 'legacy', replicas: 2, container: 'legacy' },
      ],
      [
        'Job',
        `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec:
  parallelism: 4
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: acme/migrate:1, resources: {limits: {cpu: 2}}}]
`,
        { objectKind: 'Job', name: 'migrate', replicas: undefined, container: 'migrate' },
      ],
      [
        'CronJob',
        `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly-report}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: ghcr.io/acme/report:3
              resources: {requests: {cpu: 500m, memory: 1Gi}}
`,
        { objectKind: 'CronJob', name: 'nightly-report', replicas: undefined, container: 'report' },
      ],
      [
        'Argo Rollout',
        `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: checkout}
spec:
  replicas: 5
  strategy: {canary: {steps: [{setWeight: 20}]}}
  template:
    spec:
      containers: [{name: checkout, image: acme/checkout:9}]
`,
        { objectKind: 'Rollout', name: 'checkout', replicas: 5, container: 'checkout' },
      ],
    ])('reads a %s', (_kind, yaml, expected) => {
      const files = { 'manifests/workload.yml': yaml };

      const { deployments, notes } = readInline(files);

      expect(notes).toEqual([]);
      expect(deployments).toHaveLength(1);
      const [found] = deployments;
      expect(found).toMatchObject({
        objectKind: expected.objectKind,
        name: expected.name,
        source: 'kubernetes',
        file: 'manifests/workload.yml',
      });
      expect(found!.replicas).toBe(expected.replicas);
      expect(found!.namespace).toBe(expected.namespace);
      expect(found!.containers.map((c) => c.name)).toEqual([expected.container]);
    });

    it('reads the items of a List', () => {
      const files = {
        'all.yaml': `apiVersion: v1
kind: List
items:
  - ${deployment('a', 'a').replace(/\n/g, '\n    ')}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings}
  - ${deployment('b', 'b').replace(/\n/g, '\n    ')}
`,
      };

      const { deployments } = readInline(files);

      expect(deployments.map((d) => d.name)).toEqual(['a', 'b']);
    });

    it.each([
      ['250m', 'cpu', 250, '250m'],
      ['"0.5"', 'cpu', 500, '0.5'],
      ['0.5', 'cpu', 500, '0.5'],
      ['0.50', 'cpu', 500, '0.50'],
      ['1', 'cpu', 1000, '1'],
      ['"2"', 'cpu', 2000, '2'],
      ['1500m', 'cpu', 1500, '1500m'],
      ['512Mi', 'memory', 512 * 2 ** 20, '512Mi'],
      ['1G', 'memory', 1e9, '1G'],
      ['1Gi', 'memory', 2 ** 30, '1Gi'],
      ['128974848', 'memory', 128974848, '128974848'],
      ['129e6', 'memory', 129e6, '129e6'],
      ['64M', 'memory', 64e6, '64M'],
    ])('parses %s as %s', (written, resource, parsed, raw) => {
      const files = {
        'q.yaml': deployment(
          'q',
          'q',
          `          resources:\n            requests:\n              ${resource}: ${written}\n`,
        ),
      };

      const { deployments, notes } = readInline(files);

      expect(notes).toEqual([]);
      const [container] = find(deployments, 'q').containers;
      expect(container!.resources).toEqual({ requests: { [resource]: parsed } });
      expect(container!.rawResources).toEqual({ requests: { [resource]: raw } });
    });

    it('notes a value that is not a quantity and keeps its raw text', () => {
      const files = {
        'bad.yaml': deployment(
          'bad',
          'bad',
          '          resources:\n            requests: {cpu: "${CPU}", memory: 256Mi}\n',
        ),
      };

      const { deployments, notes } = readInline(files);

      const [container] = find(deployments, 'bad').containers;
      expect(container!.resources).toEqual({ requests: { memory: 256 * 2 ** 20 } });
      expect(container!.rawResources).toEqual({ requests: { cpu: '${CPU}', memory: '256Mi' } });
      expect(notes).toEqual([
        expect.objectContaining({ code: 'manifest-invalid', path: 'bad.yaml' }),
      ]);
      expect(notes[0]!.message).toContain('${CPU}');
    });

    it('records main containers only, not init containers', () => {
      const files = { 'k8s/orders.yaml': MULTI_DOC };

      const { deployments } = readInline(files);

      expect(find(deployments, 'orders-api').containers.map((c) => c.name)).toEqual(['api']);
    });

    it('notes invalid YAML with its line and keeps the valid documents of the file', () => {
      const files = {
        'k8s/broken.yaml': `${deployment('good', 'good')}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
    labels: oops
spec: {}
`,
      };

      const { deployments, notes } = readInline(files);

      expect(deployments.map((d) => d.name)).toEqual(['good']);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatchObject({ code: 'manifest-invalid', path: 'k8s/broken.yaml' });
      expect(notes[0]!.message).toMatch(/line 16\b/);
    });

    it.each([
      ['a CI config', '.github/workflows/ci.yml', 'on: [push]\njobs: {build: {runs-on: [ubuntu'],
      ['a compose file', 'docker-compose.yml', 'services:\n  web: {image: x\n'],
      ['a Service only', 'svc.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\n'],
    ])('ignores %s without notes', (_what, path, content) => {
      const files = { [path]: content };

      const { deployments, notes } = readInline(files);

      expect(deployments).toEqual([]);
      expect(notes).toEqual([]);
    });

    it('skips a Rollout that points at a Deployment quietly and notes a Deployment without containers', () => {
      const files = {
        'rollout.yaml': `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
`,
        'partial.yaml':
          'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: partial}\nspec: {replicas: 2}\n',
      };

      const { deployments, notes } = readInline(files);

      expect(deployments).toEqual([]);
      expect(notes).toEqual([
        expect.objectContaining({ code: 'manifest-invalid', path: 'partial.yaml' }),
      ]);
    });

    it('reads templated YAML outside a chart without printing library warnings', () => {
      const files = {
        'deploy/templates/app.yaml': deployment('{{ .Values.name }}', 'app'),
      };
      const warnings: unknown[] = [];
      const emitWarning = process.emitWarning;
      process.emitWarning = (warning: string | Error) => void warnings.push(warning);

      let result;
      try {
        result = readInline(files);
      } finally {
        process.emitWarning = emitWarning;
      }

      expect(warnings).toEqual([]);
      expect(result.deployments).toEqual([]);
      expect(result.notes).toEqual([
        expect.objectContaining({ code: 'manifest-invalid', path: 'deploy/templates/app.yaml' }),
      ]);
    });

    it('refuses to expand an alias bomb', () => {
      const files = {
        'bomb.yaml': `apiVersion: v1
kind: ConfigMap
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
`,
      };

      const { notes } = readInline(files);

      expect(notes).toEqual([
        expect.objectContaining({ code: 'manifest-invalid', path: 'bomb.yaml' }),
      ]);
    });
  });

  describe('readDeployments: Helm values', () => {
    const chart = `${FIXTURES}helm-chart`;

    it.each([
      [
        'shop',
        'charts/shop/values.yaml',
        {
          replicas: 2,
          autoscaling: { minReplicas: 2, maxReplicas: 8, targetCpuUtilization: 75 },
          containers: [
            {
              name: 'shop',
              image: 'ghcr.io/acme/shop:2.4.0',
              resources: {
                requests: { cpu: 250, memory: 256 * 2 ** 20 },
                limits: { cpu: 1000, memory: 512 * 2 ** 20 },
              },
              rawResources: {
                _path: 'resources',
                requests: { cpu: '250m', memory: '256Mi' },
                limits: { cpu: '1', memory: '512Mi' },
              },
            },
          ],
        },
      ],
      [
        'shop/api',
        'charts/shop/values.yaml',
        {
          replicas: 3,
          containers: [
            {
              name: 'api',
              image: 'ghcr.io/acme/shop-api:1.7.2',
              resources: { requests: { cpu: 500, memory: 2 ** 30 } },
              rawResources: { _path: 'api.resources', requests: { cpu: '0.5', memory: '1Gi' } },
            },
          ],
        },
      ],
      [
        'shop/worker',
        'charts/shop/values.yaml',
        {
          containers: [
            {
              name: 'worker',
              image: 'ghcr.io/acme/shop-worker:1.7.2',
              rawResources: { _path: 'worker.resources' },
            },
          ],
        },
      ],
      [
        'shop/workers.email',
        'charts/shop/values.yaml',
        {
          replicas: 1,
          containers: [
            {
              name: 'email',
              resources: { limits: { memory: 128974848 } },
              rawResources: { _path: 'workers.email.resources', limits: { memory: '128974848' } },
            },
          ],
        },
      ],
      [
        'shop',
        'charts/shop/values-prod.yaml',
        {
          replicas: 4,
          containers: [
            {
              name: 'shop',
              resources: { requests: { cpu: 500, memory: 512 * 2 ** 20 } },
              rawResources: { _path: 'resources', requests: { cpu: '500m', memory: '512Mi' } },
            },
          ],
        },
      ],
    ])('reads the values block %s from %s', (name, file, expected) => {
      const { deployments } = read(chart);

      const found = deployments.find((d) => d.name === name && d.file === file);

      expect(found).toEqual({
        file,
        source: 'helm-values',
        objectKind: 'values',
        name,
        ...expected,
      });
    });

    it('skips templates/ quietly, ignores disabled autoscaling and values.yaml without a Chart.yaml', () => {
      const { deployments, notes } = read(chart);

      expect(notes).toEqual([]);
      expect(deployments.map((d) => `${d.file}#${d.name}`)).toEqual([
        'charts/shop/values-prod.yaml#shop',
        'charts/shop/values.yaml#shop',
        'charts/shop/values.yaml#shop/api',
        'charts/shop/values.yaml#shop/worker',
        'charts/shop/values.yaml#shop/workers.email',
      ]);
      expect(find(deployments, 'shop/api').autoscaling).toBeUndefined();
    });

    it('names blocks after the chart directory when Chart.yaml has no name', () => {
      const files = {
        'deploy/billing/Chart.yaml': 'apiVersion: v2\nversion: 1.0.0\n',
        'deploy/billing/values.yaml':
          'image: acme/billing:3\nresources:\n  limits: {memory: 1Gi}\n',
      };

      const { deployments } = readInline(files);

      expect(deployments).toEqual([
        expect.objectContaining({
          name: 'billing',
          containers: [expect.objectContaining({ name: 'billing', image: 'acme/billing:3' })],
        }),
      ]);
    });
  });

  describe('readDeployments: kustomize', () => {
    const repo = `${FIXTURES}kustomize`;
    const k8s = 'services/orders/k8s';

    it('reads the base files as plain manifests, with their HPA, and never a patch file alone', () => {
      const { deployments } = read(repo);

      const plain = deployments.filter((d) => d.source === 'kubernetes');

      expect(plain).toEqual([
        expect.objectContaining({
          file: `${k8s}/base/deployment.yaml`,
          name: 'orders',
          replicas: 1,
          autoscaling: { minReplicas: 1, maxReplicas: 4, targetCpuUtilization: 80 },
        }),
      ]);
    });

    it('applies namePrefix, namespace, replicas and images in the staging overlay', () => {
      const { deployments } = read(repo);

      const staging = find(deployments, 'staging-orders', 'kustomize');

      expect(staging).toMatchObject({
        file: `${k8s}/overlays/staging/kustomization.yaml`,
        objectKind: 'Deployment',
        namespace: 'staging',
        replicas: 2,
        autoscaling: { minReplicas: 1, maxReplicas: 4, targetCpuUtilization: 80 },
      });
      expect(staging.containers.map((c) => c.image)).toEqual([
        'ghcr.io/acme/orders:1.1.0-rc1',
        'fluent/fluent-bit:3.0',
      ]);
      expect(staging.containers[0]!.resources).toEqual({
        requests: { cpu: 100, memory: 128 * 2 ** 20 },
        limits: { memory: 256 * 2 ** 20 },
      });
    });

    it('applies a strategic-merge resources patch, nameSuffix and newName in the prod overlay', () => {
      const { deployments } = read(repo);

      const prod = find(deployments, 'orders-v2', 'kustomize');

      expect(prod).toMatchObject({
        file: `${k8s}/overlays/prod/kustomization.yaml`,
        namespace: 'prod',
        replicas: 6,
      });
      expect(prod.containers[0]).toEqual({
        name: 'orders',
        image: 'registry.acme.io/orders:1.0.3',
        resources: {
          requests: { cpu: 1000, memory: 2 ** 30 },
          limits: { memory: 2 * 2 ** 30 },
        },
        rawResources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
      });
      expect(prod.containers[1]!.name).toBe('log-shipper');
    });

    it('emits one entry per overlay and notes the ignored JSON 6902 patch', () => {
      const { deployments, notes } = read(repo);

      expect(deployments.filter((d) => d.source === 'kustomize').map((d) => d.file)).toEqual([
        `${k8s}/overlays/prod/kustomization.yaml`,
        `${k8s}/overlays/staging/kustomization.yaml`,
      ]);
      expect(notes).toEqual([
        expect.objectContaining({
          code: 'manifest-unreadable',
          path: `${k8s}/overlays/prod/kustomization.yaml`,
          message: expect.stringContaining('JSON 6902'),
        }),
      ]);
    });

    it('applies an inline patch with a target and patchesStrategicMerge given as text', () => {
      const files = {
        'base/kustomization.yaml': 'resources: [app.yaml]\n',
        'base/app.yaml': deployment('app', 'app'),
        'over/kustomization.yaml': `resources: [../base]
patches:
  - target: {kind: Deployment, name: app}
    patch: |-
      spec:
        template:
          spec:
            containers:
              - name: app
                resources: {limits: {cpu: 750m}}
patchesStrategicMerge:
  - |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: app}
    spec: {replicas: 9}
`,
      };

      const { deployments, notes } = readInline(files);

      expect(notes).toEqual([]);
      const over = find(deployments, 'app', 'kustomize');
      expect(over.replicas).toBe(9);
      expect(over.containers[0]!.resources).toEqual({ limits: { cpu: 750 } });
    });

    it('emits nothing extra for a kustomization that only lists files', () => {
      const files = {
        'k8s/kustomization.yaml': 'resources:\n  - app.yaml\n',
        'k8s/app.yaml': deployment('app', 'app'),
      };

      const { deployments } = readInline(files);

      expect(deployments.map((d) => d.source)).toEqual(['kubernetes']);
    });

    it('notes a cycle in kustomize resources once and stops', () => {
      const files = {
        'a/kustomization.yaml': 'resources: [../b, app.yaml]\n',
        'a/app.yaml': deployment('app', 'app'),
        'b/kustomization.yaml': 'resources: [../a]\n',
        'overlay/kustomization.yml': 'namePrefix: x-\nresources: [../a]\n',
      };

      const { deployments, notes } = readInline(files);

      expect(notes).toEqual([
        {
          code: 'manifest-invalid',
          path: 'a/kustomization.yaml',
          message: expect.stringContaining(
            'a/kustomization.yaml → b/kustomization.yaml → a/kustomization.yaml',
          ),
        },
      ]);
      expect(find(deployments, 'x-app', 'kustomize').file).toBe('overlay/kustomization.yml');
    });

    it('notes a cycle no root kustomization reaches', () => {
      const files = {
        'a/kustomization.yaml': 'resources: [../b]\n',
        'b/Kustomization': 'resources: [../a]\n',
      };

      const { notes } = readInline(files);

      expect(notes).toEqual([
        expect.objectContaining({ code: 'manifest-invalid', path: 'a/kustomization.yaml' }),
      ]);
    });

    it('notes and skips remote resources but keeps the local ones', () => {
      const files = {
        'deploy/kustomization.yaml': `namespace: edge
resources:
  - https://github.com/acme/platform//base?ref=v1.2.0
  - github.com/acme/shared/monitoring?ref=main
  - app.yaml
`,
        'deploy/app.yaml': deployment('app', 'app'),
      };

      const { deployments, notes } = readInline(files);

      expect(find(deployments, 'app', 'kustomize').namespace).toBe('edge');
      expect(notes.map((n) => [n.code, n.path])).toEqual([
        ['manifest-unreadable', 'deploy/kustomization.yaml'],
        ['manifest-unreadable', 'deploy/kustomization.yaml'],
      ]);
      expect(notes[0]!.message).toContain('https://github.com/acme/platform//base?ref=v1.2.0');
    });

    it('stops following bases after five levels', () => {
      const files: FileMap = { 'l6/app.yaml': deployment('app', 'app') };
      files['l6/kustomization.yaml'] = 'resources: [app.yaml]\n';
      for (let i = 0; i < 6; i++) files[`l${i}/kustomization.yaml`] = `resources: [../l${i + 1}]\n`;

      const { deployments, notes } = readInline(files);

      expect(notes).toEqual([
        expect.objectContaining({ code: 'manifest-unreadable', path: 'l5/kustomization.yaml' }),
      ]);
      expect(deployments.filter((d) => d.source === 'kustomize')).toEqual([]);
    });

    it('notes a resource that is neither a file nor a kustomization', () => {
      const files = { 'k/kustomization.yaml': 'namePrefix: p-\nresources: [missing.yaml]\n' };

      const { notes } = readInline(files);

      expect(notes).toEqual([
        expect.objectContaining({ code: 'manifest-unreadable', path: 'k/kustomization.yaml' }),
      ]);
    });
  });

  describe('deploymentsFromCompose', () => {
    it.each([
      [
        'resources',
        { resources: { limits: { cpu: 500, memory: 2 ** 29 } } },
        {
          containers: [
            {
              name: 'web',
              image: 'acme/web:1',
              resources: { limits: { cpu: 500, memory: 2 ** 29 } },
            },
          ],
        },
      ],
      [
        'replicas',
        { replicas: 3 },
        { replicas: 3, containers: [{ name: 'web', image: 'acme/web:1' }] },
      ],
      ['neither', {}, undefined],
      ['empty resources', { resources: { limits: {} } }, undefined],
    ])('converts a service that sets %s', (_what, extra, expected) => {
      const facts = ComposeServiceFacts.parse({
        file: 'docker-compose.yml',
        service: 'web',
        image: 'acme/web:1',
        ...extra,
      });

      const deployments = deploymentsFromCompose([facts]);

      const want = expected && [
        {
          file: 'docker-compose.yml',
          source: 'compose',
          objectKind: 'compose-service',
          name: 'web',
          ...expected,
        },
      ];
      expect(deployments).toEqual(want ?? []);
      for (const d of deployments) expect(ExistingDeployment.parse(d)).toEqual(d);
    });
  });

  describe('matchDeployments', () => {
    const services: DeploymentTarget[] = [
      { name: 'orders-api', path: 'services/orders' },
      {
        name: 'billing',
        path: 'services/billing',
        images: ['registry.acme.io/payments/billing-svc:latest'],
      },
      { name: 'web', path: 'apps/web' },
      { name: 'root', path: '.' },
    ];

    function make(overrides: Partial<ExistingDeployment>): ExistingDeployment {
      return {
        file: 'infra/all.yaml',
        source: 'kubernetes',
        objectKind: 'Deployment',
        name: 'something',
        containers: [{ name: 'main', image: 'acme/unrelated:1' }],
        ...overrides,
      };
    }

    it.each([
      [
        'image last segment',
        { containers: [{ name: 'x', image: 'ghcr.io/acme/orders-api:1.2' }] },
        'orders-api',
        'image',
      ],
      [
        'image with a digest',
        { containers: [{ name: 'x', image: 'orders-api@sha256:abc' }] },
        'orders-api',
        'image',
      ],
      [
        'a known image',
        { containers: [{ name: 'x', image: 'registry.acme.io/payments/billing-svc:2' }] },
        'billing',
        'image',
      ],
      [
        'the second container image',
        {
          containers: [
            { name: 'envoy', image: 'envoyproxy/envoy:1' },
            { name: 'x', image: 'docker.io/library/web' },
          ],
        },
        'web',
        'image',
      ],
      [
        'container name',
        { containers: [{ name: 'billing', image: 'acme/other:1' }] },
        'billing',
        'container-name',
      ],
      ['object name', { name: 'web' }, 'web', 'name'],
      ['object name with -deployment', { name: 'web-deployment' }, 'web', 'name'],
      [
        'object name with -sts',
        { objectKind: 'StatefulSet', name: 'billing-sts' },
        'billing',
        'name',
      ],
      ['deploy/<service>/', { file: 'deploy/web/deployment.yaml' }, 'web', 'path'],
      [
        'k8s/<service>/',
        { file: 'ops/k8s/billing/overlays/prod/kustomization.yaml' },
        'billing',
        'path',
      ],
      ['charts/<service>/', { file: 'charts/orders-api/values.yaml' }, 'orders-api', 'path'],
      [
        'the service directory',
        { file: 'services/orders/k8s/base/deployment.yaml' },
        'orders-api',
        'path',
      ],
    ])('matches by %s', (_rule, overrides, service, matchedBy) => {
      const deployments = [make(overrides)];

      const result = matchDeployments(deployments, services);

      expect(result.notes).toEqual([]);
      expect(result.deployments[0]).toMatchObject({ service, matchedBy });
    });

    it.each([
      ['object name', { name: 'api' }, 'name'],
      ['container name', { containers: [{ name: 'api' }] }, 'container-name'],
      ['image', { containers: [{ name: 'x', image: 'ghcr.io/acme/api:1' }] }, 'image'],
      ['deploy/<alias>/', { file: 'deploy/api/deployment.yaml' }, 'path'],
    ])('matches a service by its alias through the %s', (_rule, overrides, matchedBy) => {
      const renamed: DeploymentTarget[] = [
        { name: 'link-shortener', path: '.', aliases: ['api'] },
        { name: 'web', path: 'apps/web' },
      ];

      const result = matchDeployments([make(overrides)], renamed);

      expect(result.deployments[0]).toMatchObject({ service: 'link-shortener', matchedBy });
    });

    it('prefers image over container name, container name over object name, object name over path', () => {
      const deployments = [
        make({
          name: 'billing',
          file: 'deploy/web/a.yaml',
          containers: [{ name: 'web', image: 'acme/orders-api:1' }],
        }),
        make({ name: 'billing', file: 'deploy/web/a.yaml', containers: [{ name: 'web' }] }),
        make({ name: 'billing', file: 'deploy/web/a.yaml' }),
      ];

      const { deployments: matched } = matchDeployments(deployments, services);

      expect(matched.map((d) => [d.service, d.matchedBy])).toEqual([
        ['orders-api', 'image'],
        ['web', 'container-name'],
        ['billing', 'name'],
      ]);
    });

    it.each([
      ['-api is part of the name, not a kind suffix', { name: 'orders-api-v2', file: 'x/y.yaml' }],
      [
        'the root service never claims files by path',
        { file: 'k8s/redis.yaml', containers: [{ name: 'redis', image: 'redis:7' }] },
      ],
    ])('leaves a deployment unmatched with a note: %s', (_why, overrides) => {
      const deployments = [make({ ...overrides, service: 'stale', matchedBy: 'name' })];

      const result = matchDeployments(deployments, services);

      expect(result.deployments[0]!.service).toBeUndefined();
      expect(result.deployments[0]!.matchedBy).toBeUndefined();
      expect(result.notes).toEqual([
        expect.objectContaining({ code: 'manifest-unmatched', path: deployments[0]!.file }),
      ]);
    });

    it('breaks ties by the service directory holding the file, then by name, whatever the order', () => {
      const twins: DeploymentTarget[] = [
        { name: 'b-svc', path: 'b', images: ['acme/shared'] },
        { name: 'a-svc', path: 'a', images: ['acme/shared'] },
      ];
      const deployments = [
        make({ file: 'b/k8s.yaml', containers: [{ name: 'x', image: 'acme/shared:1' }] }),
        make({ file: 'elsewhere.yaml', containers: [{ name: 'x', image: 'acme/shared:1' }] }),
      ];

      const forward = matchDeployments(deployments, twins);
      const reversed = matchDeployments(deployments, [...twins].reverse());

      expect(forward.deployments.map((d) => d.service)).toEqual(['b-svc', 'a-svc']);
      expect(reversed).toEqual(forward);
    });

    it('does not modify its input', () => {
      const deployments = [make({ name: 'web' })];
      const before = structuredClone(deployments);

      matchDeployments(deployments, services);

      expect(deployments).toEqual(before);
    });
  });
});
