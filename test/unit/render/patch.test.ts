import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { parse, parseAllDocuments } from 'yaml';
import { DraftPlan } from '../../../src/agents/schema.js';
import { patchExisting, unifiedDiff } from '../../../src/render/patch.js';
import type { PatchResult } from '../../../src/render/patch.js';
import { readDeployments } from '../../../src/repo/manifests.js';
import type { ExistingDeployment } from '../../../src/repo/schema.js';
import { walkTree } from '../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';
import type { FileMap } from '../../support/temp-repo.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/patch/', import.meta.url));
const MiB = 2 ** 20;

afterAll(removeTempRepos);

const REASONS = {
  replicas: 'three replicas spread over zones',
  cpuRequest: 'p95 CPU in the load test plus 30% headroom',
  memoryRequest: 'steady-state heap plus off-heap buffers',
  memoryLimit: 'request plus room for GC spikes',
  autoscaling: 'scale out before p99 latency degrades',
};

interface Sizes {
  replicas: number;
  cpuRequest: number;
  cpuLimit?: number;
  memoryRequest: number;
  memoryLimit: number;
  autoscaling?: { minReplicas: number; maxReplicas: number; targetCpuUtilization: number };
  service: string;
}

function exactly(target: number): { target: number; lower: number; upper: number } {
  return { target, lower: target, upper: target };
}

/** A plan with exact figures (millicores, bytes) and one reason per field. */
function plan(overrides: Partial<Sizes> = {}): DraftPlan {
  const s: Sizes = {
    replicas: 3,
    cpuRequest: 300,
    memoryRequest: 256 * MiB,
    memoryLimit: 768 * MiB,
    service: 'checkout',
    ...overrides,
  };
  return DraftPlan.parse({
    service: { name: s.service, path: `services/${s.service}` },
    target: 'kubernetes',
    workload: 'Deployment',
    replicas: s.replicas,
    resources: {
      cpuRequest: exactly(s.cpuRequest),
      ...(s.cpuLimit === undefined ? {} : { cpuLimit: exactly(s.cpuLimit) }),
      memoryRequest: exactly(s.memoryRequest),
      memoryLimit: exactly(s.memoryLimit),
    },
    ...(s.autoscaling ? { autoscaling: s.autoscaling } : {}),
    reasoning: [
      { field: 'replicas', value: String(s.replicas), reason: REASONS.replicas },
      { field: 'cpu.request', value: `${s.cpuRequest}m`, reason: REASONS.cpuRequest },
      { field: 'memory.request', value: 'x', reason: REASONS.memoryRequest },
      { field: 'memory.limit', value: 'x', reason: REASONS.memoryLimit },
      { field: 'autoscaling', value: 'x', reason: REASONS.autoscaling },
    ],
    confidence: 0.7,
  });
}

function comment(reason: string): string {
  return `# ai-provision: ${reason}`;
}

function fixture(path: string): string {
  return readFileSync(join(FIXTURES, path), 'utf8');
}

/** A readFile over repository-relative paths, with the given files on top of the fixtures. */
function files(overrides: Record<string, string> = {}): (path: string) => string | undefined {
  return (path) => {
    if (path in overrides) return overrides[path];
    try {
      return fixture(path);
    } catch {
      return undefined;
    }
  };
}

function existing(overrides: Partial<ExistingDeployment>): ExistingDeployment {
  return {
    file: 'kubernetes/checkout.yaml',
    source: 'kubernetes',
    objectKind: 'Deployment',
    name: 'checkout',
    containers: [],
    ...overrides,
  };
}

function patched(result: PatchResult): Extract<PatchResult, { kind: 'patched' }> {
  if (result.kind !== 'patched') throw new Error(`expected patched, got ${JSON.stringify(result)}`);
  return result;
}

function onlyFile(result: PatchResult): { before: string; after: string; diff: string } {
  const out = patched(result);
  expect(out.files).toHaveLength(1);
  return out.files[0]!;
}

/** Lines only in `before` and lines only in `after`, by count: what a reviewer sees change. */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  const remaining = new Map<string, number>();
  for (const line of b) remaining.set(line, (remaining.get(line) ?? 0) + 1);
  const removed: string[] = [];
  for (const line of a) {
    const left = remaining.get(line) ?? 0;
    if (left > 0) remaining.set(line, left - 1);
    else removed.push(line);
  }
  const kept = new Map<string, number>();
  for (const line of a) kept.set(line, (kept.get(line) ?? 0) + 1);
  const added: string[] = [];
  for (const line of b) {
    const left = kept.get(line) ?? 0;
    if (left > 0) kept.set(line, left - 1);
    else added.push(line);
  }
  return { removed, added };
}

/** Every comment of a file, from its '#' to the end of its line. */
function commentsOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.includes('#'))
    .map((line) => line.slice(line.indexOf('#')));
}

/** Every file under a fixture directory, for a temporary repository. */
function fixtureTree(dir: string): FileMap {
  const out: FileMap = {};
  const root = join(FIXTURES, dir);
  for (const entry of readdirSync(root, { recursive: true }) as string[]) {
    const abs = join(root, entry);
    if (statSync(abs).isFile()) out[entry.split('\\').join('/')] = readFileSync(abs, 'utf8');
  }
  return out;
}

function deploymentIn(root: string, name: string, source: ExistingDeployment['source']) {
  const found = readDeployments(walkTree(root)).deployments.find(
    (d) => d.name === name && d.source === source,
  );
  if (!found) throw new Error(`no ${source} deployment ${name}`);
  return found;
}

function readerOf(root: string, written: Record<string, string> = {}) {
  return (path: string): string | undefined => {
    if (path in written) return written[path];
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch {
      return undefined;
    }
  };
}

const CHECKOUT = existing({
  containers: [
    { name: 'checkout', image: 'ghcr.io/acme/checkout:4.1.0' },
    { name: 'envoy', image: 'envoyproxy/envoy:v1.31.0' },
  ],
  autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 80 },
});
const CHECKOUT_PLAN = plan({
  replicas: 5,
  autoscaling: { minReplicas: 3, maxReplicas: 8, targetCpuUtilization: 70 },
});

const TWO_CONTAINERS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: gateway
spec:
  template:
    spec:
      containers:
        - name: proxy
          image: nginx:1.27
        - name: app
          image: ghcr.io/acme/gateway-app:1.0.0
`;

describe('render/patch', () => {
  describe('kubernetes', () => {
    it('changes only the main container and the HPA lines, keeping every comment', () => {
      const readFile = files();

      const file = onlyFile(patchExisting({ existing: CHECKOUT, plan: CHECKOUT_PLAN, readFile }));

      expect(changedLines(file.before, file.after)).toEqual({
        removed: [
          '              cpu: 250m',
          '              cpu: "1"        # burst for TLS handshakes',
          '              memory: 512Mi',
          '  minReplicas: 2',
          '  maxReplicas: 6 # budget cap',
          '          averageUtilization: 80',
        ],
        added: [
          `              cpu: 300m ${comment(REASONS.cpuRequest)}`,
          '              # cpu: "1"        # burst for TLS handshakes # ai-provision: removed: no reason recorded',
          `              memory: 768Mi ${comment(REASONS.memoryLimit)}`,
          `  minReplicas: 3 ${comment(REASONS.autoscaling)}`,
          `  maxReplicas: 8 # budget cap ${comment(REASONS.autoscaling)}`,
          `          averageUtilization: 70 ${comment(REASONS.autoscaling)}`,
        ],
      });
      for (const kept of commentsOf(file.before)) expect(file.after).toContain(kept);
    });

    it('reports each change, the removed CPU limit included', () => {
      const readFile = files();

      const result = patched(patchExisting({ existing: CHECKOUT, plan: CHECKOUT_PLAN, readFile }));

      expect(result.changes).toEqual([
        {
          field: 'Deployment/checkout containers[checkout].resources.requests.cpu',
          from: '250m',
          to: '300m',
        },
        {
          field: 'Deployment/checkout containers[checkout].resources.limits.cpu',
          from: '1',
          to: 'removed',
        },
        {
          field: 'Deployment/checkout containers[checkout].resources.limits.memory',
          from: '512Mi',
          to: '768Mi',
        },
        { field: 'HorizontalPodAutoscaler/checkout spec.minReplicas', from: '2', to: '3' },
        { field: 'HorizontalPodAutoscaler/checkout spec.maxReplicas', from: '6', to: '8' },
        {
          field:
            'HorizontalPodAutoscaler/checkout spec.metrics[0].resource.target.averageUtilization',
          from: '80',
          to: '70',
        },
      ]);
    });

    it('leaves sidecars, init containers and HPA-managed replicas alone', () => {
      const readFile = files();

      const file = onlyFile(patchExisting({ existing: CHECKOUT, plan: CHECKOUT_PLAN, readFile }));

      const before = parseAllDocuments(file.before)[0]!.toJS().spec;
      const after = parseAllDocuments(file.after)[0]!.toJS().spec;
      expect(after.template.spec.containers[1]).toEqual(before.template.spec.containers[1]);
      expect(after.template.spec.initContainers).toEqual(before.template.spec.initContainers);
      expect(after.replicas).toBe(2);
    });

    it('keeps objects valid against the Kubernetes schemas', () => {
      const readFile = files();

      const file = onlyFile(patchExisting({ existing: CHECKOUT, plan: CHECKOUT_PLAN, readFile }));

      const docs = parseAllDocuments(file.after).map((d) => d.toJS());
      expect(docs).toHaveLength(3);
      expect(() => new Deployment(docs[0]).validate()).not.toThrow();
      expect(() => new HorizontalPodAutoscaler(docs[2]).validate()).not.toThrow();
      expect(docs[0].spec.template.spec.containers[0].resources).toEqual({
        requests: { cpu: '300m', memory: '256Mi' },
        limits: { memory: '768Mi' },
      });
    });

    it('is idempotent: the patched file patched again is unchanged', () => {
      const first = onlyFile(
        patchExisting({ existing: CHECKOUT, plan: CHECKOUT_PLAN, readFile: files() }),
      );
      const readFile = files({ 'kubernetes/checkout.yaml': first.after });

      const second = patchExisting({ existing: CHECKOUT, plan: CHECKOUT_PLAN, readFile });

      expect(second).toEqual({ kind: 'unchanged' });
    });

    it.each([
      [
        'the values the file already has',
        plan({
          cpuRequest: 250,
          cpuLimit: 1000,
          memoryLimit: 512 * MiB,
          autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 80 },
        }),
      ],
      [
        'values that round to them (CPU to 10m, memory up to a MiB)',
        plan({
          cpuRequest: 248,
          cpuLimit: 1003,
          memoryRequest: Math.round(255.4 * MiB),
          memoryLimit: 512 * MiB - 1,
          autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 80 },
        }),
      ],
    ])('is unchanged for %s', (_case, sizes) => {
      const readFile = files();

      const result = patchExisting({ existing: CHECKOUT, plan: sizes, readFile });

      expect(result).toEqual({ kind: 'unchanged' });
    });

    it('inserts missing values in the file indentation, next to their siblings', () => {
      const readFile = files();
      const mailer = existing({ file: 'kubernetes/mailer.yaml', name: 'mailer' });

      const file = onlyFile(
        patchExisting({
          existing: mailer,
          plan: plan({ service: 'mailer', replicas: 2, cpuLimit: 500 }),
          readFile,
        }),
      );

      expect(file.after).toBe(
        file.before
          .replace(
            'replicas: 1  # one is enough for dev',
            `replicas: 2  # one is enough for dev ${comment(REASONS.replicas)}`,
          )
          .replace(
            '                  requests:\n                      memory: 96Mi\n',
            [
              '                  requests:',
              `                      cpu: 300m ${comment(REASONS.cpuRequest)}`,
              `                      memory: 256Mi ${comment(REASONS.memoryRequest)}`,
              '                  limits:',
              '                      cpu: 500m # ai-provision: no reason recorded',
              `                      memory: 768Mi ${comment(REASONS.memoryLimit)}`,
              '',
            ].join('\n'),
          ),
      );
    });

    it('adds a resources block and spec.replicas where there are none', () => {
      const manifest = [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: notifier',
        'spec:',
        '  selector:',
        '    matchLabels: {app: notifier}',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: notifier',
        '          image: ghcr.io/acme/notifier:1.0.0 # pinned',
        '',
      ].join('\n');
      const readFile = files({ 'notifier.yaml': manifest });

      const file = onlyFile(
        patchExisting({
          existing: existing({ file: 'notifier.yaml', name: 'notifier' }),
          plan: plan({ service: 'notifier', replicas: 2 }),
          readFile,
        }),
      );

      expect(file.after).toBe(
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata:',
          '  name: notifier',
          'spec:',
          `  replicas: 2 ${comment(REASONS.replicas)}`,
          '  selector:',
          '    matchLabels: {app: notifier}',
          '  template:',
          '    spec:',
          '      containers:',
          '        - name: notifier',
          '          image: ghcr.io/acme/notifier:1.0.0 # pinned',
          '          resources:',
          '            requests:',
          `              cpu: 300m ${comment(REASONS.cpuRequest)}`,
          `              memory: 256Mi ${comment(REASONS.memoryRequest)}`,
          '            limits:',
          `              memory: 768Mi ${comment(REASONS.memoryLimit)}`,
          '',
        ].join('\n'),
      );
      expect(() => new Deployment(parse(file.after)).validate()).not.toThrow();
    });

    it('rewrites a flow-style resources mapping in flow style', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: existing({ file: 'kubernetes/flow.yaml', name: 'search' }),
          plan: plan({ service: 'search', replicas: 3, cpuRequest: 250 }),
          readFile,
        }),
      );

      const { removed, added } = changedLines(file.before, file.after);
      expect(removed).toEqual([
        '          resources: {requests: {cpu: 100m}}   # set by hand in 2023',
      ]);
      expect(added).toHaveLength(1);
      const [resources, ours] = added[0]!.split(' # ai-provision: ');
      expect(resources).toBe(
        '          resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 768Mi}}   # set by hand in 2023',
      );
      expect(ours).toBe(`${REASONS.cpuRequest}; steady-state heap plus off-heap…`);
      expect(`# ai-provision: ${ours}`.length).toBeLessThanOrEqual(100);
      expect(file.after).toContain('metadata: {name: search}\n');
    });

    it('keeps CRLF line endings, inserted lines included', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: existing({ file: 'kubernetes/crlf.yaml', name: 'ledger' }),
          plan: plan({
            service: 'ledger',
            replicas: 2,
            cpuRequest: 200,
            cpuLimit: 400,
            memoryRequest: 300 * MiB,
          }),
          readFile,
        }),
      );

      expect(file.after.split('\r\n').some((line) => line.includes('\n'))).toBe(false);
      expect(file.after.replaceAll('\r\n', '\n')).toBe(
        file.before
          .replaceAll('\r\n', '\n')
          .replace(
            '              memory: 600Mi\n',
            '              cpu: 400m # ai-provision: no reason recorded\n' +
              `              memory: 768Mi ${comment(REASONS.memoryLimit)}\n`,
          ),
      );
      expect(file.diff).toContain(`+              memory: 768Mi ${comment(REASONS.memoryLimit)}\n`);
    });

    it('cuts a long reason at a word so the comment stays under 100 characters', () => {
      const long = plan();
      long.reasoning = [
        {
          field: 'memory.limit',
          value: '768Mi',
          reason:
            'the request plus headroom for garbage collection pauses, TLS buffers, the JIT code cache and thread stacks under peak load',
          sources: [],
        },
      ];
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: existing({ file: 'kubernetes/crlf.yaml', name: 'ledger' }),
          plan: long,
          readFile,
        }),
      );

      const line = file.after.split('\r\n').find((l) => l.includes('memory: 768Mi'))!;
      const written = line.slice(line.indexOf('# ai-provision'));
      expect(written.length).toBeLessThanOrEqual(100);
      expect(written).toMatch(/^# ai-provision: the request plus headroom .*[a-z,]…$/);
    });

    it.each([
      ['a template', existing({ file: 'kubernetes/templated.yaml', name: 'billing' }), /template/],
      [
        'a resources block shared through an anchor',
        existing({ file: 'kubernetes/shared-resources.yaml', name: 'thumbnails' }),
        /anchor &small/,
      ],
      [
        'an object the file does not hold',
        existing({ name: 'payments' }),
        /has no Deployment named "payments"/,
      ],
      [
        'several containers, none named after the service',
        existing({ file: 'two-containers.yaml', name: 'gateway' }),
        /several containers \(proxy, app\) and none is named after the service "checkout"/,
      ],
      [
        'a file that cannot be read',
        existing({ file: 'kubernetes/missing.yaml' }),
        /could not be read/,
      ],
    ])('is unsupported for %s', (_case, deployment, reason) => {
      const readFile = files({ 'two-containers.yaml': TWO_CONTAINERS });

      const result = patchExisting({ existing: deployment, plan: plan(), readFile });

      expect(result.kind).toBe('unsupported');
      expect(result.kind === 'unsupported' && result.reason).toMatch(reason);
    });

    const HEAD = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: app}',
      'spec:',
      '  replicas: 3',
      '  template:',
      '    spec:',
      '      containers:',
      '      - name: app',
      '',
    ].join('\n');
    const FILLED = [
      '        resources:',
      '          requests:',
      `            cpu: 300m ${comment(REASONS.cpuRequest)}`,
      `            memory: 256Mi ${comment(REASONS.memoryRequest)}`,
      '          limits:',
      `            memory: 768Mi ${comment(REASONS.memoryLimit)}`,
      '',
    ].join('\n');

    it.each([
      ['an empty flow mapping', '        resources: {}\n', FILLED],
      [
        'an explicit null with a comment',
        '        resources: ~ # todo\n',
        FILLED.replace('        resources:\n', '        resources: # todo\n'),
      ],
      [
        'a key with no value, before another key',
        '        resources:\n        ports: []\n',
        `${FILLED}        ports: []\n`,
      ],
      [
        'a missing block before a commented one',
        '        resources:\n          # hard caps from the platform team\n          limits:\n            memory: 768Mi\n',
        [
          '        resources:',
          '          requests:',
          `            cpu: 300m ${comment(REASONS.cpuRequest)}`,
          `            memory: 256Mi ${comment(REASONS.memoryRequest)}`,
          '          # hard caps from the platform team',
          '          limits:',
          '            memory: 768Mi',
          '',
        ].join('\n'),
      ],
      [
        'a value left empty',
        '        resources:\n          requests:\n            cpu:\n            memory: 256Mi\n          limits: {memory: 768Mi}\n',
        `        resources:\n          requests:\n            cpu: 300m ${comment(REASONS.cpuRequest)}\n            memory: 256Mi\n          limits: {memory: 768Mi}\n`,
      ],
      [
        'a file without a final newline',
        '        resources:\n          requests:\n            cpu: 300m',
        FILLED.replace(`cpu: 300m ${comment(REASONS.cpuRequest)}`, 'cpu: 300m'),
      ],
      [
        'a flow mapping inside a block, losing its CPU limit',
        '        resources:\n          requests:\n            cpu: 300m\n            memory: 256Mi\n          limits: {cpu: 1, memory: 512Mi}\n',
        '        resources:\n          requests:\n            cpu: 300m\n            memory: 256Mi\n' +
          `          limits: {memory: 768Mi} ${comment(`removed: no reason recorded; ${REASONS.memoryLimit}`)}\n`,
      ],
      [
        'a CPU limit line with a comment of its own',
        '        resources:\n          limits:\n            cpu: 2 # fast\n            memory: 768Mi\n          requests:\n            cpu: 300m\n            memory: 256Mi\n',
        '        resources:\n          limits:\n            # cpu: 2 # fast # ai-provision: removed: no reason recorded\n            memory: 768Mi\n          requests:\n            cpu: 300m\n            memory: 256Mi\n',
      ],
    ])('patches %s', (_case, container, expected) => {
      const readFile = files({
        'app.yaml': `${HEAD}        image: ghcr.io/acme/app:1.0\n${container}`,
      });

      const file = onlyFile(
        patchExisting({
          existing: existing({ file: 'app.yaml', name: 'app' }),
          plan: plan({ service: 'app' }),
          readFile,
        }),
      );

      expect(file.after).toBe(`${HEAD}        image: ghcr.io/acme/app:1.0\n${expected}`);
    });

    it.each([
      [
        'autoscaling/v1',
        'spec:\n  scaleTargetRef: {kind: Deployment, name: app}\n  maxReplicas: 4\n  targetCPUUtilizationPercentage: 80\n',
        `spec:\n  scaleTargetRef: {kind: Deployment, name: app}\n  minReplicas: 3 ${comment(REASONS.autoscaling)}\n  maxReplicas: 9 ${comment(REASONS.autoscaling)}\n  targetCPUUtilizationPercentage: 65 ${comment(REASONS.autoscaling)}\n`,
      ],
      [
        'autoscaling/v2beta1',
        'spec:\n  scaleTargetRef: {kind: Deployment, name: app}\n  minReplicas: 3\n  maxReplicas: 9\n  metrics:\n  - type: Resource\n    resource: {name: cpu, targetAverageUtilization: 50}\n',
        `spec:\n  scaleTargetRef: {kind: Deployment, name: app}\n  minReplicas: 3\n  maxReplicas: 9\n  metrics:\n  - type: Resource\n    resource: {name: cpu, targetAverageUtilization: 65} ${comment(REASONS.autoscaling)}\n`,
      ],
      [
        'autoscaling/v2 with a memory metric first',
        'spec:\n  scaleTargetRef: {kind: Deployment, name: app}\n  minReplicas: 3\n  maxReplicas: 9\n  metrics:\n  - type: Resource\n    resource: {name: memory, target: {type: Utilization, averageUtilization: 90}}\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}\n',
        `spec:\n  scaleTargetRef: {kind: Deployment, name: app}\n  minReplicas: 3\n  maxReplicas: 9\n  metrics:\n  - type: Resource\n    resource: {name: memory, target: {type: Utilization, averageUtilization: 90}}\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 65}} ${comment(REASONS.autoscaling)}\n`,
      ],
    ])('patches the CPU target of an %s HPA', (apiVersion, spec, expected) => {
      const manifest = `${HEAD}        image: x\n        resources: {requests: {cpu: 300m, memory: 256Mi}, limits: {memory: 768Mi}}\n---\napiVersion: ${apiVersion}\nkind: HorizontalPodAutoscaler\nmetadata: {name: app}\n`;
      const readFile = files({ 'app.yaml': `${manifest}${spec}` });
      const sizes = plan({
        service: 'app',
        autoscaling: { minReplicas: 3, maxReplicas: 9, targetCpuUtilization: 65 },
      });

      const file = onlyFile(
        patchExisting({
          existing: existing({ file: 'app.yaml', name: 'app' }),
          plan: sizes,
          readFile,
        }),
      );

      expect(file.after).toBe(`${manifest}${expected}`);
    });

    it('patches a workload beside a ConfigMap that holds {{ }} templates as text', () => {
      const configMap = [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: alerts}',
        'data:',
        '  slack.tmpl: |',
        '    {{ define "slack.title" }}{{ .CommonLabels.alertname }}{{ end }}',
        '---',
        '',
      ].join('\n');
      const readFile = files({
        'app.yaml': `${configMap}${HEAD}        image: x\n        resources: {}\n`,
      });

      const file = onlyFile(
        patchExisting({
          existing: existing({ file: 'app.yaml', name: 'app' }),
          plan: plan({ service: 'app' }),
          readFile,
        }),
      );

      expect(file.after).toBe(`${configMap}${HEAD}        image: x\n${FILLED}`);
    });

    it('does not set replicas when an HPA in another file manages them', () => {
      const readFile = files();
      const mailer = existing({
        file: 'kubernetes/mailer.yaml',
        name: 'mailer',
        autoscaling: { minReplicas: 1, maxReplicas: 4 },
      });

      const file = onlyFile(
        patchExisting({
          existing: mailer,
          plan: plan({ service: 'mailer', replicas: 4 }),
          readFile,
        }),
      );

      expect(file.after).toContain('replicas: 1  # one is enough for dev\n');
    });
  });

  describe('kustomize', () => {
    it('writes a strategic-merge patch and lists it under patches, keeping the comments', () => {
      const root = tempRepo(fixtureTree('kustomize'));
      const web = deploymentIn(root, 'prod-web', 'kustomize');

      const result = patched(
        patchExisting({ existing: web, plan: plan({ service: 'web' }), readFile: readerOf(root) }),
      );

      expect(result.files.map((f) => [f.path, f.before === ''])).toEqual([
        ['overlays/prod/ai-provision-web.yaml', true],
        ['overlays/prod/kustomization.yaml', false],
      ]);
      expect(result.files[0]!.after).toBe(
        [
          '# Sizing for web written by ai-provision; listed under patches in the kustomization.',
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata:',
          '  name: web',
          'spec:',
          `  replicas: 3 ${comment(REASONS.replicas)}`,
          '  template:',
          '    spec:',
          '      containers:',
          '        - name: web',
          '          resources:',
          '            requests:',
          `              cpu: 300m ${comment(REASONS.cpuRequest)}`,
          `              memory: 256Mi ${comment(REASONS.memoryRequest)}`,
          '            limits:',
          '              cpu: null # ai-provision: removed: no reason recorded',
          `              memory: 768Mi ${comment(REASONS.memoryLimit)}`,
          '',
        ].join('\n'),
      );
      const kustomization = result.files[1]!;
      expect(kustomization.after).toBe(`${kustomization.before}  - path: ai-provision-web.yaml\n`);
      expect(result.changes.map((c) => [c.field, c.from, c.to])).toEqual([
        ['Deployment/web containers[web].resources.requests.cpu', '100m', '300m'],
        ['Deployment/web containers[web].resources.requests.memory', '128Mi', '256Mi'],
        ['Deployment/web containers[web].resources.limits.cpu', '500m', 'removed'],
        ['Deployment/web containers[web].resources.limits.memory', '256Mi', '768Mi'],
        ['Deployment/web spec.replicas', '1', '3'],
      ]);
    });

    it('changes replica counts in the kustomization replicas list', () => {
      const root = tempRepo(fixtureTree('kustomize'));
      const worker = deploymentIn(root, 'prod-queue-worker', 'kustomize');

      const result = patched(
        patchExisting({
          existing: worker,
          plan: plan({ service: 'queue-worker', replicas: 4, cpuRequest: 200 }),
          readFile: readerOf(root),
        }),
      );

      const kustomization = result.files.find((f) => f.path.endsWith('kustomization.yaml'))!;
      expect(changedLines(kustomization.before, kustomization.after)).toEqual({
        removed: ['    count: 2'],
        added: [
          `    count: 4 ${comment(REASONS.replicas)}`,
          '  - path: ai-provision-queue-worker.yaml',
        ],
      });
      const patch = result.files.find((f) => f.path.endsWith('ai-provision-queue-worker.yaml'))!;
      expect(parse(patch.after).spec.replicas).toBeUndefined();
    });

    it('adds a patches list in the overlay own sequence style when there is none', () => {
      const root = tempRepo(fixtureTree('kustomize'));
      const web = deploymentIn(root, 'web', 'kustomize');

      const result = patched(
        patchExisting({ existing: web, plan: plan({ service: 'web' }), readFile: readerOf(root) }),
      );

      const kustomization = result.files.find(
        (f) => f.path === 'overlays/staging/kustomization.yaml',
      )!;
      expect(kustomization.after).toBe(
        `${kustomization.before}patches:\n- path: ai-provision-web.yaml\n`,
      );
    });

    it('is idempotent once the overlay is read again with its patch', () => {
      const root = tempRepo(fixtureTree('kustomize'));
      const sizes = plan({ service: 'web' });
      const first = patched(
        patchExisting({
          existing: deploymentIn(root, 'prod-web', 'kustomize'),
          plan: sizes,
          readFile: readerOf(root),
        }),
      );
      const after: FileMap = { ...fixtureTree('kustomize') };
      for (const f of first.files) after[f.path] = f.after;
      const patchedRoot = tempRepo(after);
      const reread = deploymentIn(patchedRoot, 'prod-web', 'kustomize');

      const second = patchExisting({
        existing: reread,
        plan: sizes,
        readFile: readerOf(patchedRoot),
      });

      expect(reread.containers[0]!.resources).toEqual({
        requests: { cpu: 300, memory: 256 * MiB },
        limits: { memory: 768 * MiB },
      });
      expect(reread.replicas).toBe(3);
      expect(second).toEqual({ kind: 'unchanged' });
    });

    it('updates its own patch file in place on a new plan', () => {
      const root = tempRepo(fixtureTree('kustomize'));
      const web = deploymentIn(root, 'prod-web', 'kustomize');
      const first = patched(
        patchExisting({ existing: web, plan: plan({ service: 'web' }), readFile: readerOf(root) }),
      );
      const written = Object.fromEntries(first.files.map((f) => [f.path, f.after]));

      const second = patched(
        patchExisting({
          existing: web,
          plan: plan({ service: 'web', cpuRequest: 450 }),
          readFile: readerOf(root, written),
        }),
      );

      expect(second.files).toHaveLength(1);
      expect(changedLines(second.files[0]!.before, second.files[0]!.after)).toEqual({
        removed: [`              cpu: 300m ${comment(REASONS.cpuRequest)}`],
        added: [`              cpu: 450m ${comment(REASONS.cpuRequest)}`],
      });
    });
  });

  describe('helm-values', () => {
    const API = existing({
      file: 'helm/shop/values.yaml',
      source: 'helm-values',
      objectKind: 'values',
      name: 'shop/api',
      containers: [{ name: 'api', rawResources: { _path: 'api.resources' } }],
    });
    const WORKER = existing({
      file: 'helm/shop/values.yaml',
      source: 'helm-values',
      objectKind: 'values',
      name: 'shop/worker',
      containers: [{ name: 'worker', rawResources: { _path: 'worker.resources' } }],
    });

    it('sets the block resources and the enabled autoscaler, not replicaCount', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: API,
          plan: plan({
            service: 'api',
            cpuRequest: 300,
            cpuLimit: 1500,
            memoryRequest: 512 * MiB,
            memoryLimit: 1024 * MiB,
            autoscaling: { minReplicas: 3, maxReplicas: 12, targetCpuUtilization: 75 },
          }),
          readFile,
        }),
      );

      expect(changedLines(file.before, file.after)).toEqual({
        removed: ['      cpu: 1', '    minReplicas: 2', '    maxReplicas: 10'],
        added: [
          '      cpu: 1500m # ai-provision: no reason recorded',
          `    minReplicas: 3 ${comment(REASONS.autoscaling)}`,
          `    maxReplicas: 12 ${comment(REASONS.autoscaling)}`,
        ],
      });
    });

    it('fills an empty resources block and keeps the comments under it', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: WORKER,
          plan: plan({ service: 'worker', replicas: 2 }),
          readFile,
        }),
      );

      expect(file.after).toContain(
        [
          `  replicaCount: 2 ${comment(REASONS.replicas)}`,
          '  image:',
          '    repository: acme/shop-worker',
          '  resources:',
          '    requests:',
          `      cpu: 300m ${comment(REASONS.cpuRequest)}`,
          `      memory: 256Mi ${comment(REASONS.memoryRequest)}`,
          '    limits:',
          `      memory: 768Mi ${comment(REASONS.memoryLimit)}`,
          '    # We leave resources empty by default so that the chart runs on small clusters.',
          '    # limits:',
        ].join('\n'),
      );
      for (const kept of commentsOf(file.before)) expect(file.after).toContain(kept);
      expect(parse(file.after).worker.autoscaling).toEqual(parse(file.before).worker.autoscaling);
    });

    it('closes a nested block before adding a sibling after it', () => {
      const values = [
        'api:',
        '  replicaCount: 2',
        '  autoscaling:',
        '    enabled: true',
        '    minReplicas: 3',
        '    maxReplicas: 9',
        '',
      ].join('\n');
      const readFile = files({ 'values.yaml': values });
      const api = existing({
        file: 'values.yaml',
        source: 'helm-values',
        objectKind: 'values',
        name: 'shop/api',
        containers: [{ name: 'api' }],
      });
      const sizes = plan({
        service: 'api',
        autoscaling: { minReplicas: 3, maxReplicas: 9, targetCpuUtilization: 65 },
      });

      const file = onlyFile(patchExisting({ existing: api, plan: sizes, readFile }));

      expect(file.after).toBe(
        [
          ...values.split('\n').slice(0, -1),
          `    targetCPUUtilizationPercentage: 65 ${comment(REASONS.autoscaling)}`,
          '  resources:',
          '    requests:',
          `      cpu: 300m ${comment(REASONS.cpuRequest)}`,
          `      memory: 256Mi ${comment(REASONS.memoryRequest)}`,
          '    limits:',
          `      memory: 768Mi ${comment(REASONS.memoryLimit)}`,
          '',
        ].join('\n'),
      );
    });

    it('is idempotent', () => {
      const sizes = plan({ service: 'worker', replicas: 2 });
      const first = onlyFile(patchExisting({ existing: WORKER, plan: sizes, readFile: files() }));

      const second = patchExisting({
        existing: WORKER,
        plan: sizes,
        readFile: files({ 'helm/shop/values.yaml': first.after }),
      });

      expect(second).toEqual({ kind: 'unchanged' });
    });
  });

  describe('compose', () => {
    function service(name: string): ExistingDeployment {
      return existing({
        file: 'compose/docker-compose.yml',
        source: 'compose',
        objectKind: 'compose-service',
        name,
        containers: [{ name }],
      });
    }

    it('sets deploy resources in compose units, keeping quotes, anchors and comments', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: service('api'),
          plan: plan({ service: 'api', cpuRequest: 250, cpuLimit: 500, replicas: 3 }),
          readFile,
        }),
      );

      expect(changedLines(file.before, file.after)).toEqual({
        removed: [
          '      replicas: 2',
          "          cpus: '1.00'   # one core is plenty locally",
          '          memory: 512M',
        ],
        added: [
          `      replicas: 3 ${comment(REASONS.replicas)}`,
          "          cpus: '0.50'   # one core is plenty locally # ai-provision: no reason recorded",
          `          memory: 768M ${comment(REASONS.memoryLimit)}`,
        ],
      });
    });

    it('comments out a CPU limit the plan drops, with its own comment', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: service('api'),
          plan: plan({ service: 'api', cpuRequest: 250, replicas: 2 }),
          readFile,
        }),
      );

      expect(file.after).toContain(
        "          # cpus: '1.00'   # one core is plenty locally # ai-provision: removed: no reason recorded\n",
      );
      expect(parse(file.after).services.api.deploy.resources.limits).toEqual({ memory: '768M' });
    });

    it('patches the legacy service-level keys where a service uses them', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({
          existing: service('reports'),
          plan: plan({ service: 'reports', cpuLimit: 1000, memoryLimit: 1536 * MiB }),
          readFile,
        }),
      );

      const reports = parse(file.after).services.reports;
      expect(reports).toEqual({
        image: 'ghcr.io/acme/reports:0.3.0',
        logging: { driver: 'json-file', options: { 'max-size': '10m' } },
        mem_limit: '1536M',
        cpus: '1.00',
        deploy: { resources: { reservations: { cpus: '0.30', memory: '256M' } } },
      });
      expect(file.after).toContain('    logging: *default-logging\n');
    });

    it('adds a deploy block to a service at the end of the file', () => {
      const readFile = files();

      const file = onlyFile(
        patchExisting({ existing: service('cache'), plan: plan({ service: 'cache' }), readFile }),
      );

      expect(file.after).toBe(
        `${file.before}    deploy:\n      resources:\n        limits:\n          memory: 768M ${comment(REASONS.memoryLimit)}\n        reservations:\n          cpus: "0.30" ${comment(REASONS.cpuRequest)}\n          memory: 256M ${comment(REASONS.memoryRequest)}\n`,
      );
    });

    it.each([
      ['a service the file does not define', 'worker', undefined, /no service "worker"/],
      [
        'a value set from a variable',
        'api',
        'services:\n  api:\n    deploy:\n      resources:\n        limits:\n          memory: ${API_MEMORY:-512M}\n',
        /set from a variable/,
      ],
    ])('is unsupported for %s', (_case, name, text, reason) => {
      const readFile = files(text === undefined ? {} : { 'compose/docker-compose.yml': text });

      const result = patchExisting({
        existing: service(name),
        plan: plan({ service: name }),
        readFile,
      });

      expect(result.kind).toBe('unsupported');
      expect(result.kind === 'unsupported' && result.reason).toMatch(reason);
    });
  });

  it('refuses a plan for Proxmox', () => {
    const proxmox = { ...plan(), target: 'proxmox' as const };

    const result = patchExisting({ existing: CHECKOUT, plan: proxmox, readFile: files() });

    expect(result).toEqual({
      kind: 'unsupported',
      reason: 'The plan targets proxmox; only Kubernetes plans patch kubernetes/checkout.yaml.',
    });
  });

  describe('unifiedDiff', () => {
    it.each([
      ['equal texts', 'a\nb\n', 'a\nb\n', ''],
      [
        'one changed line with context',
        'a\nb\nc\nd\ne\nf\ng\nh\n',
        'a\nb\nc\nd\nE\nf\ng\nh\n',
        '--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n',
      ],
      ['a created file', '', 'a\nb\n', '--- /dev/null\n+++ b/x.yaml\n@@ -0,0 +1,2 @@\n+a\n+b\n'],
      [
        'a line appended to a file without a final newline',
        'a',
        'a\nb\n',
        '--- a/x.yaml\n+++ b/x.yaml\n@@ -1,1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n',
      ],
      [
        'two distant changes as two hunks',
        Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') + '\n',
        Array.from({ length: 20 }, (_, i) => (i === 1 || i === 18 ? `L${i}` : `l${i}`)).join('\n') +
          '\n',
        '--- a/x.yaml\n+++ b/x.yaml\n@@ -1,5 +1,5 @@\n l0\n-l1\n+L1\n l2\n l3\n l4\n@@ -16,5 +16,5 @@\n l15\n l16\n l17\n-l18\n+L18\n l19\n',
      ],
    ])('%s', (_case, before, after, expected) => {
      const diff = unifiedDiff(before, after, 'x.yaml');

      expect(diff).toBe(expected);
    });
  });
});
