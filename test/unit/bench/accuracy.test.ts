import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  BITNAMI_PRESETS,
  GROUND_TRUTH_FILE,
  GroundTruth,
  HELD_OUT_REPOSITORIES,
  baselineSizing,
  bestConstantRequests,
  leaveOneOutPrior,
  bothRequestsWithin2x,
  canonicalYaml,
  groundTruthDeployment,
  loadGroundTruth,
  log2Ratio,
  readPlanJson,
  scoreSet,
  sizingFromQuantities,
  summarizeMetric,
  withinFactor,
  workloadDocument,
  type GroundTruthService,
  type Sizing,
} from '../../../src/bench/accuracy.js';
import { bleu } from '../../../src/bench/similarity.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MI = 2 ** 20;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function groundTruthJson(): { services: Record<string, unknown>[] } & Record<string, unknown> {
  return JSON.parse(readFileSync(GROUND_TRUTH_FILE, 'utf8'));
}

const SERVICE: GroundTruthService = {
  id: 'api',
  name: 'API',
  language: 'go',
  project: 'Example',
  description: 'An example HTTP API written in Go that stores orders in PostgreSQL.',
  fixture: 'bench/fixtures/api',
  image: 'ghcr.io/example/api',
  ports: [8080],
  truth: { replicas: 2, requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
  source: { url: 'https://github.com/example/api/blob/main/values.yaml', file: 'values.yaml' },
};

describe('bench/accuracy metrics', () => {
  it.each([
    [100, 100, true],
    [200, 100, true],
    [50, 100, true],
    [201, 100, false],
    [49, 100, false],
    [1, 1000, false],
  ])('withinFactor(%p, %p) = %p', (predicted, truth, expected) => {
    const within = withinFactor(predicted, truth);

    expect(within).toBe(expected);
  });

  it.each([
    [300, 100, 3, true],
    [301, 100, 3, false],
  ])('withinFactor(%p, %p, factor %p) = %p', (predicted, truth, factor, expected) => {
    const within = withinFactor(predicted, truth, factor);

    expect(within).toBe(expected);
  });

  it.each([
    [200, 100, 1],
    [50, 100, -1],
    [100, 100, 0],
    [800, 100, 3],
  ])('log2Ratio(%p, %p) = %p (positive = over-provisioned)', (predicted, truth, expected) => {
    const ratio = log2Ratio(predicted, truth);

    expect(ratio).toBeCloseTo(expected, 10);
  });

  it('summarises within-2× share, median |log2| and mean log2 on hand-made pairs', () => {
    const pairs = [
      { predicted: 200, truth: 100 },
      { predicted: 50, truth: 100 },
      { predicted: 400, truth: 100 },
      { truth: 100 },
      { predicted: 10 },
    ];

    const summary = summarizeMetric(pairs);

    expect(summary.n).toBe(4);
    expect(summary.scored).toBe(3);
    expect(summary.within2x).toBeCloseTo(2 / 4, 10);
    expect(summary.medianAbsLog2).toBeCloseTo(1, 10);
    expect(summary.meanLog2).toBeCloseTo(2 / 3, 10);
  });

  it.each([
    ['over-provisioned', [400, 300, 200], 1],
    ['under-provisioned', [25, 50, 75], -1],
  ])('gives a %s predictor a bias of sign %p', (_label, predictions, sign) => {
    const pairs = predictions.map((predicted) => ({ predicted, truth: 100 }));

    const { meanLog2 } = summarizeMetric(pairs);

    expect(Math.sign(meanLog2)).toBe(sign);
  });

  it('reports NaN statistics when no service has the figure', () => {
    const summary = summarizeMetric([{ predicted: 1 }]);

    expect(summary.n).toBe(0);
    expect(summary.within2x).toBeNaN();
    expect(summary.meanLog2).toBeNaN();
  });

  it.each<[string, Sizing | undefined, boolean]>([
    ['both within', { cpuRequest: 200, memoryRequest: 512 * MI }, true],
    ['both on the boundary', { cpuRequest: 50, memoryRequest: 128 * MI }, true],
    ['cpu too low', { cpuRequest: 40, memoryRequest: 256 * MI }, false],
    ['memory too high', { cpuRequest: 100, memoryRequest: 600 * MI }, false],
    ['memory missing', { cpuRequest: 100 }, false],
    ['failed plan', undefined, false],
  ])('bothRequestsWithin2x: %s', (_label, predicted, expected) => {
    const truth: Sizing = { cpuRequest: 100, memoryRequest: 256 * MI };

    const both = bothRequestsWithin2x(predicted, truth);

    expect(both).toBe(expected);
  });

  it.each([
    [{ requests: { cpu: '250m', memory: '1Gi' } }, { cpuRequest: 250, memoryRequest: 2 ** 30 }],
    [{ requests: { cpu: '0.2', memory: '2.5G' } }, { cpuRequest: 200, memoryRequest: 2.5e9 }],
    [
      { replicas: 3, limits: { cpu: '2' } },
      { replicas: 3, cpuLimit: 2000 },
    ],
    [{ requests: { cpu: 'lots', memory: '0' } }, {}],
  ])('sizingFromQuantities(%j)', (quantities, expected) => {
    const sizing = sizingFromQuantities(quantities);

    expect(sizing).toEqual(expected);
  });

  it('scores a set, counting a failed plan as a miss', () => {
    const truth: Sizing = { cpuRequest: 100, memoryRequest: 128 * MI, replicas: 2 };
    const rows = [
      { truth, predicted: { cpuRequest: 100, memoryRequest: 128 * MI, replicas: 2 } },
      { truth, predicted: { cpuRequest: 1000, memoryRequest: 128 * MI, replicas: 1 } },
      { truth },
    ];

    const score = scoreSet(rows);

    expect(score.bothRequestsWithin2x).toBeCloseTo(1 / 3, 10);
    expect(score.metrics.cpuRequest.within2x).toBeCloseTo(1 / 3, 10);
    expect(score.metrics.memoryRequest.within2x).toBeCloseTo(2 / 3, 10);
    expect(score.metrics.replicas.within2x).toBeCloseTo(2 / 3, 10);
    expect(score.metrics.cpuLimit.n).toBe(0);
  });
});

describe('bench/accuracy baselines', () => {
  it.each([
    ['nano', 100, 128, 150, 192],
    ['micro', 250, 256, 375, 384],
    ['small', 500, 512, 750, 768],
  ] as const)(
    '%s is the Bitnami preset with one replica',
    (preset, cpu, memMi, cpuLimit, memLimitMi) => {
      const sizing = baselineSizing(preset);

      expect(sizing).toEqual({
        replicas: 1,
        cpuRequest: cpu,
        memoryRequest: memMi * MI,
        cpuLimit,
        memoryLimit: memLimitMi * MI,
      });
    },
  );

  it('keeps every preset limit 1.5× its request', () => {
    const ratios = Object.values(BITNAMI_PRESETS).map((p) => sizingFromQuantities(p));

    for (const s of ratios) {
      expect(s.cpuLimit! / s.cpuRequest!).toBeCloseTo(1.5, 10);
      expect(s.memoryLimit! / s.memoryRequest!).toBeCloseTo(1.5, 10);
    }
  });

  it('scores a constant baseline against hand-made truths', () => {
    const truths: Sizing[] = [
      { cpuRequest: 100, memoryRequest: 128 * MI },
      { cpuRequest: 1000, memoryRequest: 2048 * MI },
    ];
    const nano = baselineSizing('nano');
    const small = baselineSizing('small');

    const nanoScore = scoreSet(truths.map((truth) => ({ truth, predicted: nano })));
    const smallScore = scoreSet(truths.map((truth) => ({ truth, predicted: small })));

    expect(nanoScore.bothRequestsWithin2x).toBeCloseTo(1 / 2, 10);
    expect(smallScore.bothRequestsWithin2x).toBe(0);
    expect(nanoScore.metrics.cpuRequest.meanLog2).toBeLessThan(0);
  });
});

describe('bench/accuracy leave-one-out class prior', () => {
  const t = (cpuRequest: number, memMi: number): Sizing => ({
    cpuRequest,
    memoryRequest: memMi * MI,
  });

  it('fits the constant that covers the most services, breaking ties by the smaller error', () => {
    // 100m/128Mi covers the first two; nothing covers all three.
    const fit = bestConstantRequests([t(100, 128), t(150, 200), t(2000, 4096)]);
    expect(fit.cpuRequest! / 100).toBeGreaterThanOrEqual(0.75);
    expect(fit.cpuRequest! / 150).toBeLessThanOrEqual(2);
    expect(fit.memoryRequest! / (200 * MI)).toBeGreaterThanOrEqual(0.5);
    expect(fit.memoryRequest! / (128 * MI)).toBeLessThanOrEqual(2);
  });

  it('never lets a service fit its own prediction', () => {
    const services = [
      { group: 'controller', language: 'go', truth: t(100, 128) },
      { group: 'controller', language: 'go', truth: t(110, 120) },
      { group: 'controller', language: 'go', truth: t(5000, 8192) },
    ];
    const priors = leaveOneOutPrior(services);
    const score = scoreSet(services.map((s, i) => ({ truth: s.truth, predicted: priors[i] })));
    // The two small ones predict each other; the outlier is predicted from them and misses.
    expect(score.bothRequestsWithin2x).toBeCloseTo(2 / 3, 10);
  });

  it('falls back to the language, then to every other service, when the group is alone', () => {
    const services = [
      { group: 'exporter', language: 'ruby', truth: t(50, 64) },
      { group: 'web', language: 'ruby', truth: t(60, 70) },
      { group: 'web-go', language: 'go', truth: t(4000, 8192) },
    ];
    const [ruby, , go] = leaveOneOutPrior(services);
    expect(ruby).toEqual(t(60, 70));
    expect(go!.cpuRequest).toBeLessThan(100);
  });
});

describe('bench/accuracy plan output', () => {
  const service = (name: string, path: string, cpu: string): Record<string, unknown> => ({
    name,
    path,
    replicas: 2,
    resources: { requests: { cpu, memory: '256Mi' }, limits: { memory: '512Mi' } },
  });

  it.each([
    [
      'the root service among several',
      [service('web', 'web', '1'), service('api', '.', '300m')],
      'api',
      300,
    ],
    ['the only service even off the root', [service('api', 'api', '200m')], 'api', 200],
  ])('reads %s', (_label, services, name, cpu) => {
    const reading = readPlanJson(JSON.stringify({ services }));

    expect(reading).toMatchObject({ ok: true, name, sizing: { cpuRequest: cpu, replicas: 2 } });
  });

  it.each([
    ['not JSON', 'error: boom'],
    ['without resources', JSON.stringify({ services: [{ name: 'a', path: '.' }] })],
    [
      'without a root service',
      JSON.stringify({ services: [service('a', 'a', '1'), service('b', 'b', '1')] }),
    ],
  ])('returns an error value for output %s', (_label, text) => {
    const reading = readPlanJson(text);

    expect(reading.ok).toBe(false);
  });

  const STREAM = [
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\n',
    'apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: api\n',
  ].join('---\n');

  it.each([
    ['api', 'StatefulSet'],
    ['missing', 'Deployment'],
    [undefined, 'Deployment'],
  ])('picks the workload named %p (else the first workload)', (name, kind) => {
    const doc = workloadDocument(STREAM, name);

    expect(doc?.kind).toBe(kind);
  });

  it('finds no workload in a stream without one', () => {
    const doc = workloadDocument('kind: Service\nmetadata:\n  name: api\n');

    expect(doc).toBeUndefined();
  });
});

describe('bench/accuracy groundTruthDeployment', () => {
  it('builds a schema-valid Deployment with the recorded figures', () => {
    const manifest = groundTruthDeployment(SERVICE);

    expect(() =>
      new Deployment(manifest as ConstructorParameters<typeof Deployment>[0]).validate(),
    ).not.toThrow();
    expect(manifest).toMatchObject({
      metadata: { name: 'api' },
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              {
                name: 'api',
                image: 'ghcr.io/example/api',
                ports: [{ containerPort: 8080 }],
                resources: {
                  requests: { cpu: '250m', memory: '256Mi' },
                  limits: { memory: '512Mi' },
                },
              },
            ],
          },
        },
      },
    });
  });

  it('leaves replicas, ports and limits out when the source does not state them', () => {
    const sparse = { ...SERVICE, ports: [], truth: { requests: SERVICE.truth.requests } };

    const manifest = groundTruthDeployment(sparse) as { spec: Record<string, unknown> };
    const container = (
      manifest.spec.template as { spec: { containers: Record<string, unknown>[] } }
    ).spec.containers[0]!;

    expect(manifest.spec).not.toHaveProperty('replicas');
    expect(container).not.toHaveProperty('ports');
    expect(container.resources).toEqual({ requests: SERVICE.truth.requests });
  });

  it('canonical YAML makes key order irrelevant to BLEU', () => {
    const manifest = groundTruthDeployment(SERVICE);
    const reordered = Object.fromEntries(Object.entries(manifest).reverse());

    const score = bleu(canonicalYaml(reordered), canonicalYaml(manifest)).score;

    expect(score).toBeCloseTo(1, 10);
  });
});

describe('bench/ground-truth.json', () => {
  const loaded = loadGroundTruth();
  const services = loaded.kind === 'done' ? loaded.value.services : [];

  it('validates against its schema', () => {
    expect(loaded.kind).toBe('done');
  });

  it('has at least 30 services in at least 6 languages with unique ids', () => {
    const languages = new Set(services.map((s) => s.language));
    const ids = new Set(services.map((s) => s.id));

    expect(services.length).toBeGreaterThanOrEqual(30);
    expect(languages.size).toBeGreaterThanOrEqual(6);
    expect(ids.size).toBe(services.length);
  });

  it('rejects a duplicate id', () => {
    const json = groundTruthJson();
    json.services.push(json.services[0]!);

    const parsed = GroundTruth.safeParse(json);

    expect(parsed.success).toBe(false);
  });

  it.each(HELD_OUT_REPOSITORIES.map((r) => [r]))('uses nothing from held-out %s', (repo) => {
    const json = groundTruthJson();
    const first = json.services[0] as { source: { url: string } };
    first.source.url = `https://github.com/${repo}/blob/main/values.yaml`;

    const parsed = GroundTruth.safeParse(json);
    const used = services.filter((s) => s.source.url.toLowerCase().includes(repo.toLowerCase()));

    expect(parsed.success).toBe(false);
    expect(used).toEqual([]);
  });

  it('reports a broken file as a value naming the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aip-gt-'));
    const file = join(dir, 'ground-truth.json');
    writeFileSync(file, JSON.stringify({ version: 1, services: [] }));

    const outcome = loadGroundTruth(file);
    rmSync(dir, { recursive: true, force: true });

    expect(outcome).toMatchObject({ kind: 'failed', code: 'internal' });
  });

  it('shares no source file with knowledge/, so the planner cannot look the answers up', () => {
    const knowledgeDir = join(ROOT, 'knowledge');
    const knowledge = existsSync(knowledgeDir)
      ? filesUnder(knowledgeDir).map((f) => readFileSync(f, 'utf8'))
      : [];
    const repository = (url: string): string =>
      new URL(url).pathname.replace(/^\//, '').split(/\/(?:-\/)?blob\//)[0] ?? url;

    const cited = services.filter((s) =>
      knowledge.some(
        (text) => text.includes(repository(s.source.url)) && text.includes(s.source.file),
      ),
    );

    expect(cited.map((s) => s.id)).toEqual([]);
  });

  it('keeps sizing figures out of the descriptions', () => {
    const quantity =
      /\b\d+(?:\.\d+)?\s?(?:m|Mi|Gi|Ki|MiB|GiB|MB|GB|cores?|vCPUs?|CPUs?|replicas?)\b/;

    const leaking = services.filter((s) => quantity.test(s.description)).map((s) => s.id);

    expect(leaking).toEqual([]);
  });
});

describe('bench/fixtures', () => {
  const loaded = loadGroundTruth();
  const services = loaded.kind === 'done' ? loaded.value.services : [];
  const rows = services.map((s) => [s.id, s] as const);

  it.each(rows)('%s is a small repository with a Dockerfile', (_id, service) => {
    const dir = join(ROOT, service.fixture);

    const files = existsSync(dir) ? filesUnder(dir) : [];

    expect(existsSync(join(dir, 'Dockerfile'))).toBe(true);
    expect(files.length).toBeLessThanOrEqual(6);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it.each(rows)(
    '%s holds no Kubernetes manifests, Helm values or its own figures',
    (_id, service) => {
      const dir = join(ROOT, service.fixture);
      const helmOrKustomize =
        /^(?:Chart\.ya?ml|values(?:[-._][\w.-]*)?\.ya?ml|kustomization\.ya?ml|Kustomization)$/;
      const manifest = /^apiVersion:.*$[\s\S]*^kind:/m;
      const resourcesBlock = /\b(?:requests|limits):\s*\n\s+(?:cpu|memory):/;
      const figures = [
        service.truth.requests.cpu,
        service.truth.requests.memory,
        service.truth.limits?.cpu,
        service.truth.limits?.memory,
      ].filter((q): q is string => q !== undefined && /[A-Za-z]$/.test(q));

      const offending = filesUnder(dir).filter((file) => {
        const text = readFileSync(file, 'utf8');
        const base = relative(dir, file).split('/').at(-1) ?? '';
        const words = new Set(text.split(/[^\w.]+/));
        return (
          helmOrKustomize.test(base) ||
          manifest.test(text) ||
          resourcesBlock.test(text) ||
          figures.some((q) => words.has(q))
        );
      });

      expect(offending.map((f) => relative(ROOT, f))).toEqual([]);
    },
  );
});
