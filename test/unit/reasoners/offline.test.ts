import { defaultResolvedConfig } from '../../../src/config.js';
import { refinePlan } from '../../../src/agents/refinement.js';
import { DraftPlan, type TraceStep } from '../../../src/agents/schema.js';
import {
  applicableEntries,
  createOfflineReasoner,
  predictOffline,
} from '../../../src/reasoners/offline.js';
import { ENTRIES, bundle, fakeRetriever } from '../../support/plan-fixtures.js';

const MIB = 2 ** 20;

function predict(
  b: ReturnType<typeof bundle>,
  target: 'kubernetes' | 'proxmox' = 'kubernetes',
): DraftPlan {
  return DraftPlan.parse(predictOffline(b, applicableEntries(b, fakeRetriever()), target));
}

describe('reasoners/offline', () => {
  it('derives the JVM memory limit from -Xmx and the heap fraction', () => {
    const b = bundle({
      metadata: { language: 'java', framework: 'spring-boot' },
      hints: { jvmMaxHeapBytes: 768 * MIB },
    });

    const plan = predict(b);

    expect(plan.resources.memoryLimit.target).toBe(1024 * MIB);
    expect(plan.resources.memoryRequest.target).toBe(1024 * MIB);
    const step = plan.reasoning.find((s) => s.field === 'memory.request')!;
    expect(step.reason).toContain('-Xmx');
    expect(step.sources).toEqual(
      expect.arrayContaining(['repo:Dockerfile', 'knowledge:runtime-jvm']),
    );
  });

  it('sizes gunicorn workers as one idle process plus one figure per extra worker', () => {
    const b = bundle({
      metadata: { language: 'python' },
      hints: { workers: { server: 'gunicorn', processes: 4 } },
    });

    const plan = predict(b);

    expect(plan.resources.memoryRequest.target).toBe((80 + 3 * 60) * MIB);
    expect(plan.resources.memoryLimit.target).toBe(Math.ceil((260 * 1.5 * MIB) / MIB) * MIB);
    expect(plan.resources.cpuRequest.target).toBe(1000);
  });

  it('designs replicas, CPU and the autoscaler together from the peak load', () => {
    const b = bundle({
      metadata: { language: 'go', framework: 'gin', expected_qps: 6000, sla_latency_ms: 100 },
    });

    const plan = predict(b);

    // 6000 req/s ÷ (2000 req/s per core × 60% target) = 5 cores at peak.
    expect(plan.autoscaling?.targetCpuUtilization).toBe(60);
    const peakCapacity =
      (plan.autoscaling!.maxReplicas * plan.resources.cpuRequest.target * 0.6 * 2000) / 1000;
    expect(peakCapacity).toBeGreaterThanOrEqual(6000);
    expect(plan.autoscaling!.minReplicas).toBeGreaterThanOrEqual(2);
    expect(plan.autoscaling!.minReplicas).toBeLessThanOrEqual(plan.autoscaling!.maxReplicas);
    expect(plan.replicas).toBe(plan.autoscaling!.minReplicas);
  });

  it.each([
    ['99.99% availability', { availability: 0.9999 }, 'prod', 3],
    ['a critical service', { criticality: 'critical' as const }, 'prod', 3],
    ['prod with no target', {}, 'prod', 2],
    ['staging', {}, 'staging', 1],
    ['dev even with 99.99%', { availability: 0.9999 }, 'dev', 1],
  ])('sets the replica floor for %s', (_case, metadata, environment, expected) => {
    const b = bundle({
      metadata: { language: 'go', framework: 'gin', ...metadata },
      environment: environment as 'prod',
    });

    const plan = predict(b);

    expect(plan.autoscaling?.minReplicas ?? plan.replicas).toBe(expected);
  });

  it('keeps a disruption budget below the replica floor, and none for one replica', () => {
    const critical = predict(
      bundle({ metadata: { language: 'go', framework: 'gin', availability: 0.9999 } }),
    );
    const dev = predict(
      bundle({ metadata: { language: 'go', framework: 'gin' }, environment: 'dev' }),
    );

    expect(critical.disruptionBudget).toEqual({ minAvailable: 1 });
    expect(dev.disruptionBudget).toBeUndefined();
    expect(dev.autoscaling).toBeUndefined();
  });

  it('makes a data store a StatefulSet with a volume and no CPU autoscaler', () => {
    const b = bundle({ hints: { finalImage: 'postgres:16' } });

    const plan = predict(b);

    expect(plan.workload).toBe('StatefulSet');
    expect(plan.volume?.sizeBytes).toBe(8 * 2 ** 30);
    expect(plan.autoscaling).toBeUndefined();
  });

  it('keeps a data store that does not replicate by itself at its standalone replica count', () => {
    const entries = ENTRIES.map((e) =>
      e.id === 'image-postgres'
        ? {
            ...e,
            figures: { ...e.figures, replicas_standalone: { value: 1, unit: 'count' as const } },
          }
        : e,
    );
    const b = bundle({ hints: { finalImage: 'postgres:16' }, metadata: { availability: 0.9999 } });

    const plan = DraftPlan.parse(
      predictOffline(b, applicableEntries(b, fakeRetriever(entries)), 'kubernetes'),
    );

    expect([plan.replicas, plan.autoscaling, plan.disruptionBudget]).toEqual([
      1,
      undefined,
      undefined,
    ]);
    expect(plan.reasoning.filter((s) => s.field === 'replicas')).toHaveLength(1);
    expect(
      plan.reasoning.some((s) => s.field === 'autoscaling' || s.field === 'disruption-budget'),
    ).toBe(false);
  });

  it('uses the figures of the workload class before the runtime’s, and ignores other classes', () => {
    const classEntry = (name: string, cpu: number, memory: number) => ({
      id: `pattern-class-${name}`,
      title: name,
      kind: 'pattern' as const,
      applies_to: {
        languages: [],
        frameworks: [],
        images: [],
        patterns: [`workload-class:${name}`],
        servers: [],
      },
      figures: {
        cpu_request: { value: cpu, unit: 'millicores' as const },
        memory_request: { value: memory, unit: 'mebibytes' as const },
        memory_request_jvm: { value: 256, unit: 'mebibytes' as const },
        cpu_request_jvm: { value: 300, unit: 'millicores' as const },
      },
      sources: ENTRIES[0]!.sources,
      body: name,
    });
    const entries = [
      ...ENTRIES,
      classEntry('kubernetes-controller', 20, 64),
      classEntry('web-ui-server', 900, 2048),
    ];
    const go = bundle({
      metadata: { language: 'go', framework: 'gin', workload_class: 'kubernetes-controller' },
    });
    const java = bundle({
      metadata: { language: 'java', workload_class: 'kubernetes-controller' },
    });
    const plain = bundle({ metadata: { language: 'go', framework: 'gin' } });

    const [a, b, c] = [go, java, plain].map((x) =>
      predictOffline(x, applicableEntries(x, fakeRetriever(entries)), 'kubernetes'),
    );

    expect([a!.resources.cpuRequest.target, a!.resources.memoryRequest.target]).toEqual([
      20,
      64 * MIB,
    ]);
    expect([b!.resources.cpuRequest.target, b!.resources.memoryRequest.target]).toEqual([
      300,
      256 * MIB,
    ]);
    expect([c!.resources.cpuRequest.target, c!.resources.memoryRequest.target]).toEqual([
      80,
      64 * MIB,
    ]);
    expect(a!.reasoning.find((s) => s.field === 'cpu.request')!.sources).toContain(
      'knowledge:pattern-class-kubernetes-controller',
    );
  });

  it('sizes the storage the description asks for, with headroom', () => {
    const b = bundle({
      metadata: { language: 'go', framework: 'gin', stateful: true, storage_bytes: 50 * 2 ** 30 },
    });

    const plan = predict(b);

    expect(plan.volume?.sizeBytes).toBe(75 * 2 ** 30);
  });

  it('falls back to conservative defaults with low confidence for an unknown stack', () => {
    const b = bundle({ warnings: ['The stack of svc could not be recognised.'] });

    const plan = predict(b);

    expect(plan.confidence).toBeLessThanOrEqual(0.3);
    expect(plan.resources.cpuRequest.target).toBe(250);
    expect(plan.reasoning.find((s) => s.field === 'cpu.request')!.sources).toEqual(['default']);
    expect(plan.warnings).toContain('The stack of svc could not be recognised.');
  });

  it('gives a higher confidence when the stack and the load are known', () => {
    const known = predict(
      bundle({ metadata: { language: 'go', framework: 'gin', expected_qps: 500 } }),
    );
    const unknown = predict(bundle({}));

    expect(known.confidence).toBeGreaterThan(unknown.confidence);
  });

  it('never keys a number to the service name', () => {
    const a = predict(
      bundle({ name: 'orders', metadata: { language: 'go', framework: 'gin', expected_qps: 800 } }),
    );
    const b = predict(
      bundle({
        name: 'frontend-proxy',
        metadata: { language: 'go', framework: 'gin', expected_qps: 800 },
      }),
    );

    expect([b.resources, b.replicas, b.autoscaling, b.disruptionBudget]).toEqual([
      a.resources,
      a.replicas,
      a.autoscaling,
      a.disruptionBudget,
    ]);
  });

  it('keeps the repository’s existing request when it is within the expected range', () => {
    const b = bundle({
      metadata: { language: 'go', framework: 'gin' },
      hints: { existing: { file: 'deploy/app.yaml', requests: { cpu: 200, memory: 128 * MIB } } },
    });

    const plan = predict(b);

    expect(plan.resources.cpuRequest.target).toBe(200);
    expect(plan.resources.memoryRequest.target).toBe(128 * MIB);
    expect(plan.reasoning.find((s) => s.field === 'cpu.request')!.sources).toContain(
      'repo:deploy/app.yaml',
    );
  });

  it('reserves light-load CPU when no load is stated, the typical figure when it is', () => {
    const quiet = predict(bundle({ metadata: { language: 'go', framework: 'gin' } }));
    const busy = predict(
      bundle({ metadata: { language: 'go', framework: 'gin', expected_qps: 100 } }),
    );

    // Gin's figure is 100m typical, 50m light: √(100 × 50) ≈ 71m, rounded up to 80m.
    expect(quiet.resources.cpuRequest.target).toBe(80);
    expect(quiet.reasoning.find((s) => s.field === 'cpu.request')!.reason).toContain(
      'No load figure',
    );
    expect(busy.resources.cpuRequest.target).toBe(100);
  });

  it('sets no CPU limit when the policy pattern says so, and says why', () => {
    const plan = predict(bundle({ metadata: { language: 'go', framework: 'gin' } }));

    expect(plan.resources.cpuLimit).toBeUndefined();
    expect(plan.reasoning.find((s) => s.field === 'cpu.limit')!.value).toBe('none');
  });

  it('sizes a Proxmox guest for target proxmox', () => {
    const plan = predict(bundle({ metadata: { language: 'go', framework: 'gin' } }), 'proxmox');

    expect(plan.proxmox).toMatchObject({ kind: 'lxc' });
    expect(plan.proxmox!.cores).toBeGreaterThanOrEqual(1);
    expect(plan.proxmox!.memoryBytes % (256 * MIB)).toBe(0);
    expect(plan.reasoning.some((s) => s.field === 'proxmox')).toBe(true);
  });

  it('explains every number it sets', () => {
    const plan = predict(
      bundle({ metadata: { language: 'java', expected_qps: 300, availability: 0.999 } }),
    );

    const fields = plan.reasoning.map((s) => s.field);

    expect(fields).toEqual(
      expect.arrayContaining([
        'workload',
        'cpu.request',
        'cpu.limit',
        'memory.request',
        'memory.limit',
        'replicas',
        'autoscaling',
        'disruption-budget',
      ]),
    );
    for (const step of plan.reasoning) expect(step.reason.length).toBeGreaterThan(10);
  });
});

describe('reasoners/offline createOfflineReasoner', () => {
  it('chooses the metrics path only when the service has metrics', async () => {
    const reasoner = createOfflineReasoner({ retriever: fakeRetriever(), target: 'kubernetes' });
    const question = {
      service: { name: 'a', path: '.' },
      summary: 'a',
      defaultQueries: [{ text: 'q' }],
    };

    const withMetrics = await reasoner.decideContext({ ...question, hasMetrics: true });
    const without = await reasoner.decideContext({ ...question, hasMetrics: false });

    expect([withMetrics.path, without.path]).toEqual(['metrics', 'knowledge']);
    expect(without.queries).toEqual([{ text: 'q' }]);
  });

  it('checks policy, validates and estimates the cost in one turn, then finishes', async () => {
    const reasoner = createOfflineReasoner({
      retriever: fakeRetriever(ENTRIES),
      target: 'kubernetes',
    });
    const b = bundle({ metadata: { language: 'go', framework: 'gin' } });
    const plan = await reasoner.predict(b);
    const state = { plan, bundle: b, findings: [], validationErrors: [] };

    const first = await reasoner.refine({ ...state, cycle: 1, trace: [] });
    if (first.kind !== 'tools') throw new Error(`expected tools, got ${first.kind}`);
    expect(first.calls.map((c) => c.tool)).toEqual(['policy_check', 'validate', 'cost_estimate']);
    expect(first.thought).toMatch(/policy.*validate.*cost/);
    const trace: TraceStep[] = first.calls.map((c) => ({
      cycle: 1,
      thought: first.thought,
      tool: c.tool,
      input: c.input,
      observation: 'ok',
    }));

    const second = await reasoner.refine({ ...state, cycle: 2, trace });
    expect(second).toEqual({ kind: 'finish', thought: expect.any(String), plan });
  });

  it('finishes in two cycles when agent 3 runs it', async () => {
    const retriever = fakeRetriever(ENTRIES);
    const reasoner = createOfflineReasoner({ retriever, target: 'kubernetes' });
    const b = bundle({ metadata: { language: 'go', framework: 'gin' } });

    const final = await refinePlan(await reasoner.predict(b), b, {
      reasoner,
      retriever,
      config: defaultResolvedConfig(),
    });

    expect(final.trace.map((t) => [t.cycle, t.tool ?? t.observation])).toEqual([
      [1, 'policy_check'],
      [1, 'validate'],
      [1, 'cost_estimate'],
      [2, 'finished'],
    ]);
  });

  describe('choosing between runtime models of one language', () => {
    const runtime = (id: string, servers: string[], perWorker: number) => ({
      ...ENTRIES[1]!,
      id,
      applies_to: { ...ENTRIES[1]!.applies_to, servers },
      figures: {
        ...ENTRIES[1]!.figures,
        memory_request: { value: perWorker, unit: 'mebibytes' as const },
      },
    });
    // ids sort "asgi" before "wsgi": a choice by order alone would always take ASGI.
    const entries = [
      runtime('runtime-python-asgi', ['uvicorn'], 100),
      runtime('runtime-python-wsgi', ['gunicorn'], 300),
    ];
    const chosen = (metadata: object, hints: object = {}): string =>
      applicableEntries(bundle({ metadata, hints }), fakeRetriever(entries)).find(
        (e) => e.kind === 'runtime',
      )!.id;

    it('follows the server the Dockerfile names', () => {
      expect(
        chosen({ language: 'python' }, { workers: { server: 'gunicorn', processes: 2 } }),
      ).toBe('runtime-python-wsgi');
      expect(
        chosen({ language: 'python', framework: 'flask' }, { workers: { server: 'uvicorn' } }),
      ).toBe('runtime-python-asgi');
    });

    it("follows the framework's usual server when none is named", () => {
      expect(chosen({ language: 'python', framework: 'flask' })).toBe('runtime-python-wsgi');
      expect(chosen({ language: 'python', framework: 'django' })).toBe('runtime-python-wsgi');
      expect(chosen({ language: 'python', framework: 'fastapi' })).toBe('runtime-python-asgi');
      expect(chosen({ language: 'python', framework: 'aiohttp' })).toBe('runtime-python-asgi');
    });
  });
});
