import { validatePlan } from '../../../../src/agents/tools/validate.js';
import type { DraftPlan } from '../../../../src/agents/schema.js';
import {
  GI,
  MI,
  configWith,
  draftPlan,
  exactly,
  quota,
  withResources,
} from '../policy-fixtures.js';

const autoscaled = (minReplicas: number, maxReplicas: number, target = 70): Partial<DraftPlan> => ({
  autoscaling: { minReplicas, maxReplicas, targetCpuUtilization: target },
});

const VM = { kind: 'vm' as const, cores: 2, memoryBytes: 4 * GI, diskBytes: 32 * GI };

describe('agents/tools/validate', () => {
  it.each([
    ['the default draft', draftPlan()],
    [
      'an autoscaled plan with a budget',
      draftPlan({ replicas: 3, ...autoscaled(3, 8), disruptionBudget: { minAvailable: 2 } }),
    ],
    [
      'a StatefulSet with its volume',
      draftPlan({ workload: 'StatefulSet', volume: { sizeBytes: 10 * GI, mountPath: '/data' } }),
    ],
    [
      'a Proxmox VM',
      draftPlan({ target: 'proxmox', replicas: 1, proxmox: { ...VM, balloonBytes: 2 * GI } }),
    ],
    ['a CPU limit above the request', withResources(draftPlan(), { cpuLimit: exactly(500) })],
  ])('%s is valid', (_name, plan) => {
    const errors = validatePlan(plan, configWith());

    expect(errors).toEqual([]);
  });

  it.each([
    [
      'bounds out of order',
      withResources(draftPlan(), { cpuRequest: { lower: 300, target: 250, upper: 400 } }),
      'cpu.request: expected lower ≤ target ≤ upper, got 300m ≤ 250m ≤ 400m',
    ],
    [
      'a zero request',
      withResources(draftPlan(), { cpuRequest: exactly(0) }),
      'cpu.request: must be above 0',
    ],
    [
      'a CPU limit below the request',
      withResources(draftPlan(), { cpuLimit: exactly(100) }),
      'cpu.limit 100m is below cpu.request 250m',
    ],
    [
      'a memory limit below the request',
      withResources(draftPlan(), { memoryLimit: exactly(256 * MI) }),
      'memory.limit 256Mi is below memory.request 512Mi',
    ],
    [
      'a missing memory limit when required',
      withResources(draftPlan(), { memoryLimit: exactly(0) }),
      'memory.limit: a memory limit is required',
    ],
    [
      'memory that does not render exactly',
      withResources(draftPlan(), { memoryRequest: exactly(500_000_000), memoryLimit: exactly(GI) }),
      'memory.request: 500000000 bytes is not a canonical quantity; "477Mi" reads back as 500170752',
    ],
    [
      'a volume size that does not render exactly',
      draftPlan({ workload: 'StatefulSet', volume: { sizeBytes: 1.05e10, mountPath: '/data' } }),
      'volume: 10500000000 bytes is not a canonical quantity',
    ],
    [
      'autoscaler maximum above the policy',
      draftPlan({ replicas: 2, ...autoscaled(2, 30) }),
      'autoscaling: maxReplicas 30 is above policy.max_replicas (20)',
    ],
    [
      'replicas outside the autoscaler range',
      draftPlan({ replicas: 1, ...autoscaled(2, 6) }),
      "replicas: 1 lies outside the autoscaler's 2–6",
    ],
    [
      'a utilisation target out of range',
      draftPlan({ replicas: 2, ...autoscaled(2, 6, 99) }),
      'autoscaling: targetCpuUtilization 99% is outside 10–95%',
    ],
    [
      'replicas above the policy maximum',
      draftPlan({ replicas: 25 }),
      'replicas: 25 is above policy.max_replicas (20)',
    ],
    [
      'a budget as large as the replicas',
      draftPlan({ replicas: 2, disruptionBudget: { minAvailable: 2 } }),
      'disruption-budget: minAvailable 2 must be below replicas (2), or no pod can ever be evicted',
    ],
    [
      'a budget as large as the autoscaler minimum',
      draftPlan({ replicas: 4, ...autoscaled(3, 6), disruptionBudget: { minAvailable: 3 } }),
      'disruption-budget: minAvailable 3 must be below autoscaling minReplicas (3)',
    ],
    [
      'a StatefulSet without a volume',
      draftPlan({ workload: 'StatefulSet' }),
      'workload: a StatefulSet without a volume; use a Deployment or add the volume',
    ],
    [
      'a Deployment with a volume',
      draftPlan({ volume: { sizeBytes: GI, mountPath: '/data' } }),
      'volume: a persistent volume needs a StatefulSet, not a Deployment',
    ],
    [
      'a pod larger than a node',
      withResources(draftPlan(), { cpuRequest: exactly(6000) }),
      'cpu.request 6 does not fit a node (4 allocatable)',
    ],
    [
      'Proxmox without a size',
      draftPlan({ target: 'proxmox', replicas: 1 }),
      'proxmox: the target is proxmox but the plan has no VM/LXC size',
    ],
    [
      'Proxmox balloon above memory',
      draftPlan({ target: 'proxmox', replicas: 1, proxmox: { ...VM, balloonBytes: 8 * GI } }),
      'proxmox: balloon 8Gi is above memory 4Gi',
    ],
    [
      'Proxmox balloon on an LXC',
      draftPlan({
        target: 'proxmox',
        replicas: 1,
        proxmox: { ...VM, kind: 'lxc', balloonBytes: GI },
      }),
      'proxmox: balloon memory applies to VMs, not LXC containers',
    ],
  ])('%s', (_name, plan, expected) => {
    const errors = validatePlan(plan, configWith());

    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(expected);
  });

  it('an autoscaler minimum above its maximum leaves no valid replica count', () => {
    const plan = draftPlan({ replicas: 4, ...autoscaled(5, 4) });

    const errors = validatePlan(plan, configWith());

    expect(errors).toEqual([
      'autoscaling: minReplicas 5 is above maxReplicas 4',
      "replicas: 4 lies outside the autoscaler's 5–4",
    ]);
  });

  it('totals at the most replicas must fit the namespace quota', () => {
    const plan = draftPlan({ replicas: 2, ...autoscaled(2, 10) });
    const config = configWith({ namespaceQuota: quota(2000, 4 * GI) });

    const errors = validatePlan(plan, config);

    expect(errors).toEqual([
      'quota: 10 × 250m = 2500m CPU exceeds the namespace quota of 2',
      'quota: 10 × 512Mi = 5Gi memory exceeds the namespace quota of 4Gi',
    ]);
  });

  it('a missing memory limit is fine when the policy does not require one', () => {
    const plan = withResources(draftPlan(), { memoryLimit: exactly(0) });

    const errors = validatePlan(plan, configWith({ requireMemoryLimit: false }));

    expect(errors).toEqual([]);
  });

  it('merges the schema errors of the rendered objects after its own', () => {
    const plan = draftPlan({ workload: 'StatefulSet' });
    const rendered = ['Deployment orders: spec.template.spec.containers[0].name is required'];

    const errors = validatePlan(plan, configWith(), rendered);

    expect(errors).toEqual([
      'workload: a StatefulSet without a volume; use a Deployment or add the volume',
      ...rendered,
    ]);
  });
});
