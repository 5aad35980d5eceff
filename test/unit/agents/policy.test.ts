import {
  POLICY_LAYERS,
  applyPolicy,
  unchanged,
  withCaps,
  withCostCap,
  withForbidden,
  withLimits,
  withMinimums,
  withNodeFit,
  withQuota,
  withReplicas,
} from '../../../src/agents/policy.js';
import type { DraftPlan } from '../../../src/agents/schema.js';
import { DraftPlan as DraftPlanSchema } from '../../../src/agents/schema.js';
import { GI, MI, configWith, draftPlan, exactly, quota, withResources } from './policy-fixtures.js';

const autoscaled = (minReplicas: number, maxReplicas: number): Partial<DraftPlan> => ({
  autoscaling: { minReplicas, maxReplicas, targetCpuUtilization: 70 },
});

describe('agents/policy', () => {
  describe('withCaps', () => {
    it.each([
      [
        'CPU request above the cap',
        { cpuRequest: { lower: 3000, target: 6000, upper: 8000 } },
        'cpuRequest',
        { lower: 3000, target: 4000, upper: 4000 },
        { rule: 'caps.cpu', adjusted: { field: 'cpu.request', from: '6', to: '4' } },
      ],
      [
        'CPU limit above the cap',
        { cpuLimit: exactly(5000) },
        'cpuLimit',
        exactly(4000),
        { rule: 'caps.cpu', adjusted: { field: 'cpu.limit', from: '5', to: '4' } },
      ],
      [
        'memory limit above the cap',
        { memoryLimit: { lower: GI, target: 12 * GI, upper: 16 * GI } },
        'memoryLimit',
        { lower: GI, target: 8 * GI, upper: 8 * GI },
        { rule: 'caps.memory', adjusted: { field: 'memory.limit', from: '12Gi', to: '8Gi' } },
      ],
      [
        'only the upper bound above the cap',
        { memoryRequest: { lower: GI, target: 2 * GI, upper: 10 * GI } },
        'memoryRequest',
        { lower: GI, target: 2 * GI, upper: 8 * GI },
        {
          rule: 'caps.memory',
          adjusted: { field: 'memory.request', from: '10Gi', to: '8Gi' },
        },
      ],
    ] as const)('%s is clamped', (_name, resources, key, expected, finding) => {
      const plan = withResources(draftPlan(), resources);

      const result = withCaps(unchanged(plan), configWith());

      expect(result.plan.resources[key]).toEqual(expected);
      expect(result.findings).toEqual([
        expect.objectContaining({ severity: 'warning', ...finding }),
      ]);
    });

    it('says what the cap was', () => {
      const plan = withResources(draftPlan(), { cpuRequest: exactly(6000) });

      const result = withCaps(unchanged(plan), configWith());

      expect(result.findings[0]!.message).toBe(
        'cpu.request 6 is above policy.max_container_cpu (4); clamped to 4',
      );
    });

    it('leaves a plan within the caps as it was', () => {
      const base = unchanged(draftPlan());

      const result = withCaps(base, configWith());

      expect(result.plan).toBe(base.plan);
      expect(result.findings).toEqual([]);
    });
  });

  describe('withMinimums', () => {
    it.each([
      [
        'a CPU request below the minimum',
        { cpuRequest: { lower: 2, target: 5, upper: 50 } },
        'cpuRequest',
        { lower: 10, target: 10, upper: 50 },
        { rule: 'minimums.cpu', adjusted: { field: 'cpu.request', from: '5m', to: '10m' } },
      ],
      [
        'a memory request below the minimum',
        { memoryRequest: exactly(16 * MI) },
        'memoryRequest',
        exactly(32 * MI),
        {
          rule: 'minimums.memory',
          adjusted: { field: 'memory.request', from: '16Mi', to: '32Mi' },
        },
      ],
      [
        'only a lower bound below the minimum',
        { cpuRequest: { lower: 5, target: 100, upper: 200 } },
        'cpuRequest',
        { lower: 10, target: 100, upper: 200 },
        { rule: 'minimums.cpu', adjusted: { field: 'cpu.request', from: '5m', to: '10m' } },
      ],
    ] as const)('%s is raised', (_name, resources, key, expected, finding) => {
      const plan = withResources(draftPlan(), resources);

      const result = withMinimums(unchanged(plan), configWith());

      expect(result.plan.resources[key]).toEqual(expected);
      expect(result.findings).toEqual([expect.objectContaining(finding)]);
    });

    it('never touches limits', () => {
      const plan = withResources(draftPlan(), { cpuLimit: exactly(5) });

      const result = withMinimums(unchanged(plan), configWith());

      expect(result.plan.resources.cpuLimit).toEqual(exactly(5));
      expect(result.findings).toEqual([]);
    });
  });

  describe('withLimits: CPU', () => {
    const request = { lower: 200, target: 250, upper: 400 };
    it.each([
      ['none, no limit: none is added', 'none', undefined, undefined, undefined],
      ['none, a limit above the request is kept', 'none', exactly(1000), exactly(1000), undefined],
      [
        'none, a limit below the request is raised to it',
        'none',
        exactly(100),
        { lower: 200, target: 250, upper: 400 },
        { field: 'cpu.limit', from: '100m', to: '250m' },
      ],
      [
        'ratio, no limit: request × ratio',
        'ratio',
        undefined,
        { lower: 400, target: 500, upper: 800 },
        { field: 'cpu.limit', from: 'none', to: '500m' },
      ],
      [
        'ratio, a limit above request × ratio is lowered',
        'ratio',
        exactly(2000),
        { lower: 400, target: 500, upper: 800 },
        { field: 'cpu.limit', from: '2', to: '500m' },
      ],
      [
        'ratio, a limit between request and request × ratio is kept',
        'ratio',
        { lower: 300, target: 300, upper: 400 },
        { lower: 300, target: 300, upper: 400 },
        undefined,
      ],
      [
        'equal, no limit: the request',
        'equal',
        undefined,
        request,
        { field: 'cpu.limit', from: 'none', to: '250m' },
      ],
      [
        'equal, a higher limit comes down to the request',
        'equal',
        exactly(1000),
        request,
        { field: 'cpu.limit', from: '1', to: '250m' },
      ],
    ] as const)('%s', (_name, cpuLimits, limit, expected, adjusted) => {
      const plan = withResources(draftPlan(), { cpuRequest: request, cpuLimit: limit });

      const result = withLimits(unchanged(plan), configWith({ cpuLimits }));

      expect(result.plan.resources.cpuLimit).toEqual(expected);
      expect(result.findings.map((f) => f.adjusted)).toEqual(
        adjusted === undefined ? [] : [adjusted],
      );
    });

    it('ratio never sets a limit above the per-container cap', () => {
      const plan = withResources(draftPlan(), { cpuRequest: exactly(3000) });

      const result = withLimits(unchanged(plan), configWith({ cpuLimits: 'ratio' }));

      expect(result.plan.resources.cpuLimit).toEqual(exactly(4000));
    });

    it('honours a configured ratio', () => {
      const plan = withResources(draftPlan(), { cpuRequest: exactly(200) });

      const result = withLimits(
        unchanged(plan),
        configWith({ cpuLimits: 'ratio', cpuLimitRatio: 1.5 }),
      );

      expect(result.plan.resources.cpuLimit).toEqual(exactly(300));
    });
  });

  describe('withLimits: memory', () => {
    it.each([
      [
        'a limit below the request is raised to it',
        true,
        { lower: 256 * MI, target: 256 * MI, upper: 512 * MI },
        { lower: 384 * MI, target: 512 * MI, upper: 768 * MI },
        { field: 'memory.limit', from: '256Mi', to: '512Mi' },
      ],
      [
        'a missing limit is required: set to the request',
        true,
        exactly(0),
        { lower: 384 * MI, target: 512 * MI, upper: 768 * MI },
        { field: 'memory.limit', from: 'none', to: '512Mi' },
      ],
      ['a missing limit is allowed when not required', false, exactly(0), exactly(0), undefined],
      [
        'a limit at or above the request is kept',
        true,
        exactly(GI),
        { lower: GI, target: GI, upper: GI },
        undefined,
      ],
    ] as const)('%s', (_name, requireMemoryLimit, memoryLimit, expected, adjusted) => {
      const plan = withResources(draftPlan(), { memoryLimit });

      const result = withLimits(unchanged(plan), configWith({ requireMemoryLimit }));

      expect(result.plan.resources.memoryLimit).toEqual(expected);
      expect(result.findings.map((f) => f.adjusted)).toEqual(
        adjusted === undefined ? [] : [adjusted],
      );
    });
  });

  describe('withReplicas', () => {
    it.each([
      ['prod raises 1 replica to the prod minimum', { replicas: 1 }, 'prod', 2, undefined],
      ['dev keeps a single replica', { replicas: 1 }, 'dev', 1, undefined],
      ['an unknown environment is not prod', { replicas: 1 }, undefined, 1, undefined],
      ['replicas above the maximum come down', { replicas: 30 }, 'dev', 20, undefined],
      [
        'prod raises the autoscaler minimum',
        { replicas: 1, ...autoscaled(1, 6) },
        'prod',
        2,
        [2, 6],
      ],
      [
        'the autoscaler maximum is capped',
        { replicas: 4, ...autoscaled(2, 50) },
        'dev',
        4,
        [2, 20],
      ],
      [
        'replicas below the autoscaler range move in',
        { replicas: 1, ...autoscaled(3, 6) },
        'dev',
        3,
        [3, 6],
      ],
      [
        'replicas above the autoscaler range move in',
        { replicas: 9, ...autoscaled(2, 6) },
        'dev',
        6,
        [2, 6],
      ],
    ] as const)('%s', (_name, overrides, environment, replicas, bounds) => {
      const plan = draftPlan(overrides);

      const result = withReplicas(unchanged(plan), configWith(), { environment });

      expect(result.plan.replicas).toBe(replicas);
      expect(
        result.plan.autoscaling && [
          result.plan.autoscaling.minReplicas,
          result.plan.autoscaling.maxReplicas,
        ],
      ).toEqual(bounds);
    });

    it('records the prod minimum as a finding with the change', () => {
      const plan = draftPlan({ replicas: 1 });

      const result = withReplicas(unchanged(plan), configWith({ minReplicasProd: 3 }), {
        environment: 'prod',
      });

      expect(result.findings).toEqual([
        expect.objectContaining({
          rule: 'replicas.prod-minimum',
          adjusted: { field: 'replicas', from: '1', to: '3' },
        }),
      ]);
    });

    it('takes the environment from the repository defaults when the request gives none', () => {
      const plan = draftPlan({ replicas: 1 });
      const config = configWith({}, { defaults: { target: 'kubernetes', environment: 'prod' } });

      const result = withReplicas(unchanged(plan), config);

      expect(result.plan.replicas).toBe(2);
    });

    it('raises the autoscaler maximum when the prod minimum exceeds it', () => {
      const plan = draftPlan({ replicas: 1, ...autoscaled(1, 2) });

      const result = withReplicas(unchanged(plan), configWith({ minReplicasProd: 3 }), {
        environment: 'prod',
      });

      expect(result.plan.autoscaling).toMatchObject({ minReplicas: 3, maxReplicas: 3 });
      expect(result.plan.replicas).toBe(3);
    });

    it.each([
      [
        'lowered below the fewest replicas',
        { replicas: 3, disruptionBudget: { minAvailable: 3 } },
        { minAvailable: 2 },
      ],
      [
        'removed for a single replica',
        { replicas: 1, disruptionBudget: { minAvailable: 1 } },
        undefined,
      ],
      [
        'kept when it allows an eviction',
        { replicas: 3, disruptionBudget: { minAvailable: 2 } },
        { minAvailable: 2 },
      ],
    ] as const)('a disruption budget is %s', (_name, overrides, expected) => {
      const plan = draftPlan(overrides);

      const result = withReplicas(unchanged(plan), configWith(), { environment: 'dev' });

      expect(result.plan.disruptionBudget).toEqual(expected);
    });

    it('leaves Proxmox plans alone', () => {
      const base = unchanged(draftPlan({ target: 'proxmox', replicas: 1 }));

      const result = withReplicas(base, configWith(), { environment: 'prod' });

      expect(result).toBe(base);
    });
  });

  describe('withQuota', () => {
    it('a plan that fits passes unchanged', () => {
      const base = unchanged(draftPlan({ replicas: 3, ...autoscaled(3, 6) }));

      const result = withQuota(base, configWith({ namespaceQuota: quota(2000, 4 * GI) }));

      expect(result.findings).toEqual([]);
      expect(result.plan).toBe(base.plan);
    });

    it('a quota too small for the minimum plan is an error with the numbers', () => {
      const plan = withResources(draftPlan({ replicas: 3 }), { cpuRequest: exactly(500) });

      const result = withQuota(unchanged(plan), configWith({ namespaceQuota: quota(1000) }));

      expect(result.findings).toEqual([
        {
          rule: 'quota.cpu',
          severity: 'error',
          message:
            'the namespace quota is too small even for the minimum plan: needs 3 × 500m = 1500m CPU, quota allows 1000m',
        },
      ]);
      expect(result.plan).toBe(plan);
    });

    it('counts what other services already request', () => {
      const plan = draftPlan({ replicas: 2 });

      const result = withQuota(
        unchanged(plan),
        configWith({ namespaceQuota: quota(undefined, 2 * GI) }),
        {
          otherServicesRequests: { cpu: 0, memory: 1536 * MI },
        },
      );

      expect(result.findings[0]).toMatchObject({ rule: 'quota.memory', severity: 'error' });
      expect(result.findings[0]!.message).toContain(
        'needs 2 × 512Mi = 1024Mi memory, quota allows 512Mi (2048Mi minus 1536Mi requested by other services)',
      );
    });

    it('lowers the autoscaler maximum to what fits, and warns', () => {
      const plan = withResources(draftPlan({ replicas: 2, ...autoscaled(2, 10) }), {
        cpuRequest: exactly(500),
      });

      const result = withQuota(unchanged(plan), configWith({ namespaceQuota: quota(3000) }));

      expect(result.plan.autoscaling).toMatchObject({ minReplicas: 2, maxReplicas: 6 });
      expect(result.findings).toEqual([
        expect.objectContaining({
          rule: 'quota.max-replicas',
          severity: 'warning',
          adjusted: { field: 'autoscaling', from: '2–10 replicas', to: '2–6 replicas' },
        }),
      ]);
    });

    it('uses the tighter of the repository and the request quota', () => {
      const plan = draftPlan({ replicas: 2, ...autoscaled(2, 10) });

      const result = withQuota(unchanged(plan), configWith({ namespaceQuota: quota(10000) }), {
        namespaceQuota: { cpu: 1000 },
      });

      expect(result.plan.autoscaling?.maxReplicas).toBe(4);
    });

    it('does nothing without a quota', () => {
      const base = unchanged(draftPlan({ replicas: 50 }));

      const result = withQuota(base, configWith());

      expect(result).toBe(base);
    });
  });

  describe('withNodeFit', () => {
    it.each([
      [
        'a CPU request larger than a node',
        withResources(draftPlan(), { cpuRequest: exactly(6000) }),
        { rule: 'node-fit.cpu', severity: 'error' },
        'one pod requests 6000m CPU, a node has 4000m allocatable',
      ],
      [
        'a memory request larger than a node',
        withResources(draftPlan(), {
          memoryRequest: exactly(20 * GI),
          memoryLimit: exactly(20 * GI),
        }),
        { rule: 'node-fit.memory', severity: 'error' },
        'one pod requests 20480Mi memory, a node has 16384Mi allocatable',
      ],
      [
        'a memory limit larger than a node',
        withResources(draftPlan(), { memoryLimit: exactly(20 * GI) }),
        { rule: 'node-fit.memory-limit', severity: 'warning' },
        'can never be reached',
      ],
      [
        'a Proxmox VM with more cores than a node',
        draftPlan({
          target: 'proxmox',
          proxmox: { kind: 'vm', cores: 8, memoryBytes: 4 * GI, diskBytes: 20 * GI },
        }),
        { rule: 'node-fit.cpu', severity: 'error' },
        'the vm needs 8 cores, a node has 4',
      ],
    ])('%s', (_name, plan, finding, message) => {
      const result = withNodeFit(unchanged(plan), configWith());

      expect(result.findings).toEqual([expect.objectContaining(finding)]);
      expect(result.findings[0]!.message).toContain(message);
    });

    it('a pod that fits raises nothing', () => {
      const result = withNodeFit(unchanged(draftPlan()), configWith());

      expect(result.findings).toEqual([]);
    });
  });

  describe('withForbidden', () => {
    it.each([
      [
        'a StatefulSet',
        ['StatefulSet'] as const,
        draftPlan({ workload: 'StatefulSet', volume: { sizeBytes: GI, mountPath: '/data' } }),
        {},
        ['forbidden.StatefulSet'],
      ],
      [
        'a persistent volume',
        ['PersistentVolume'] as const,
        draftPlan({ workload: 'StatefulSet', volume: { sizeBytes: GI, mountPath: '/data' } }),
        {},
        ['forbidden.PersistentVolume'],
      ],
      [
        'a Proxmox VM',
        ['vm'] as const,
        draftPlan({
          target: 'proxmox',
          proxmox: { kind: 'vm', cores: 2, memoryBytes: 2 * GI, diskBytes: 10 * GI },
        }),
        {},
        ['forbidden.vm'],
      ],
      [
        'host networking kept by an in-place patch',
        ['hostNetwork', 'privileged'] as const,
        draftPlan(),
        { existingSettings: ['hostNetwork', 'readOnlyRootFilesystem'] },
        ['forbidden.hostNetwork'],
      ],
      ['nothing forbidden', [] as const, draftPlan({ workload: 'StatefulSet' }), {}, []],
    ])('%s', (_name, forbidden, plan, context, rules) => {
      const result = withForbidden(
        unchanged(plan),
        configWith({ forbidden: [...forbidden] }),
        context,
      );

      expect(result.findings.map((f) => f.rule)).toEqual(rules);
      expect(result.findings.every((f) => f.severity === 'error')).toBe(true);
    });
  });

  describe('withCostCap', () => {
    // 500m + 1Gi at the default prices: $19.835925 per replica-month.
    const plan = withResources(draftPlan({ replicas: 2, ...autoscaled(2, 10) }), {
      cpuRequest: exactly(500),
      memoryRequest: exactly(GI),
      memoryLimit: exactly(GI),
    });

    it('an estimate at the most replicas above the cap is an error', () => {
      const result = withCostCap(unchanged(plan), configWith({ monthlyCostCapUsd: 100 }));

      expect(result.findings).toEqual([
        {
          rule: 'cost-cap',
          severity: 'error',
          message:
            'at 10 replicas the plan costs $198.36 a month, above policy.monthly_cost_cap_usd ($100.00); at most 5 replicas fit the cap',
        },
      ]);
    });

    it('says when even the fewest replicas cost too much', () => {
      const result = withCostCap(unchanged(plan), configWith({ monthlyCostCapUsd: 30 }));

      expect(result.findings[0]!.message).toContain('even 2 replicas cost $39.67');
    });

    it.each([
      ['a cap above the estimate', 250],
      ['no cap', undefined],
    ])('%s raises nothing', (_name, monthlyCostCapUsd) => {
      const result = withCostCap(unchanged(plan), configWith({ monthlyCostCapUsd }));

      expect(result.findings).toEqual([]);
    });
  });

  describe('applyPolicy', () => {
    it('a compliant plan comes back unchanged with no findings', () => {
      const plan = draftPlan({
        replicas: 3,
        ...autoscaled(3, 6),
        disruptionBudget: { minAvailable: 2 },
      });

      const result = applyPolicy(plan, configWith(), { environment: 'prod' });

      expect(result.findings).toEqual([]);
      expect(result.plan).toEqual(plan);
    });

    it('composes the layers in order over one plan', () => {
      const plan = withResources(draftPlan({ replicas: 1, ...autoscaled(1, 40) }), {
        cpuRequest: { lower: 3000, target: 6000, upper: 8000 },
        memoryRequest: exactly(16 * MI),
        memoryLimit: exactly(8 * MI),
      });
      const config = configWith({
        cpuLimits: 'ratio',
        namespaceQuota: quota(24000),
        monthlyCostCapUsd: 2000,
      });

      const result = applyPolicy(plan, config, { environment: 'prod' });

      expect(result.findings.map((f) => f.rule)).toEqual([
        'caps.cpu',
        'minimums.memory',
        'limits.memory-at-least-request',
        'limits.cpu-ratio',
        'replicas.prod-minimum',
        'replicas.autoscaling-bounds',
        'quota.max-replicas',
      ]);
      expect(result.plan.resources).toEqual({
        cpuRequest: { lower: 3000, target: 4000, upper: 4000 },
        cpuLimit: exactly(4000),
        memoryRequest: exactly(32 * MI),
        memoryLimit: exactly(32 * MI),
      });
      expect(result.plan).toMatchObject({
        replicas: 2,
        autoscaling: { minReplicas: 2, maxReplicas: 6 },
      });
    });

    it('reports what it cannot fix and keeps going', () => {
      const plan = withResources(draftPlan({ replicas: 4 }), { cpuRequest: exactly(1000) });
      const config = configWith({ namespaceQuota: quota(2000), monthlyCostCapUsd: 10 });

      const result = applyPolicy(plan, config);

      expect(result.findings.filter((f) => f.severity === 'error').map((f) => f.rule)).toEqual([
        'quota.cpu',
        'cost-cap',
      ]);
    });

    it('never modifies its input and returns a valid plan', () => {
      const plan = withResources(draftPlan({ replicas: 1, ...autoscaled(1, 40) }), {
        cpuRequest: exactly(9000),
        memoryLimit: exactly(MI),
      });
      const before = structuredClone(plan);

      const result = applyPolicy(plan, configWith({ cpuLimits: 'equal' }), { environment: 'prod' });

      expect(plan).toEqual(before);
      expect(DraftPlanSchema.safeParse(result.plan).success).toBe(true);
    });

    it('is idempotent: a decided plan needs no further change', () => {
      const plan = withResources(draftPlan({ replicas: 1, ...autoscaled(1, 40) }), {
        cpuRequest: exactly(9000),
        memoryLimit: exactly(MI),
      });
      const config = configWith({ cpuLimits: 'ratio', namespaceQuota: quota(30000) });
      const once = applyPolicy(plan, config, { environment: 'prod' });

      const twice = applyPolicy(once.plan, config, { environment: 'prod' });

      expect(twice.findings).toEqual([]);
      expect(twice.plan).toEqual(once.plan);
    });

    it('never raises a request, except to a minimum', () => {
      const plan = withResources(draftPlan(), {
        cpuRequest: exactly(300),
        memoryRequest: exactly(200 * MI),
      });

      const result = applyPolicy(
        plan,
        configWith({ cpuLimits: 'equal', namespaceQuota: quota(600) }),
      );

      expect(result.plan.resources.cpuRequest.target).toBe(300);
      expect(result.plan.resources.memoryRequest.target).toBe(200 * MI);
    });

    it('lists every layer once', () => {
      const names = POLICY_LAYERS.map((layer) => layer.name);

      expect(names).toEqual([
        'withCaps',
        'withMinimums',
        'withLimits',
        'withReplicas',
        'withQuota',
        'withNodeFit',
        'withForbidden',
        'withCostCap',
      ]);
    });
  });
});
