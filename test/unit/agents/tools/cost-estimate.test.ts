import {
  HOURS_PER_MONTH,
  estimateCost,
  podHourlyCost,
  roundToCents,
} from '../../../../src/agents/tools/cost-estimate.js';
import { GI, MI, draftPlan, exactly, withResources } from '../policy-fixtures.js';

const GKE = { vcpuHour: 0.0445, gibHour: 0.0049225 };

// 500m + 1Gi: 0.5 × 0.0445 + 1 × 0.0049225 = $0.0271725 per pod-hour, $19.835925 per pod-month.
const HALF_CORE_ONE_GIB = withResources(draftPlan(), {
  cpuRequest: { lower: 250, target: 500, upper: 1000 },
  memoryRequest: exactly(GI),
  memoryLimit: exactly(2 * GI),
});

describe('agents/tools/cost-estimate', () => {
  it.each([
    ['2 fixed replicas', { replicas: 2 }, 39.67, 39.67],
    ['1 fixed replica', { replicas: 1 }, 19.84, 19.84],
    [
      'autoscaled 2–10: the minimum monthly, the maximum at max',
      { replicas: 3, autoscaling: { minReplicas: 2, maxReplicas: 10, targetCpuUtilization: 70 } },
      39.67,
      198.36,
    ],
  ])('%s', (_name, overrides, monthly, monthlyAtMax) => {
    const plan = { ...HALF_CORE_ONE_GIB, ...overrides };

    const cost = estimateCost(plan, GKE);

    expect(cost).toEqual({
      currency: 'USD',
      monthly,
      monthlyAtMax,
      pricePerVcpuHour: 0.0445,
      pricePerGibHour: 0.0049225,
    });
  });

  it('charges requests, not limits', () => {
    const generousLimits = withResources(HALF_CORE_ONE_GIB, {
      cpuLimit: exactly(4000),
      memoryLimit: exactly(8 * GI),
    });

    const cost = estimateCost(generousLimits, GKE);

    expect(cost.monthly).toBe(39.67);
  });

  it('uses the prices it is given', () => {
    const plan = withResources(draftPlan({ replicas: 1 }), {
      cpuRequest: exactly(1000),
      memoryRequest: exactly(512 * MI),
      memoryLimit: exactly(512 * MI),
    });

    const cost = estimateCost(plan, { vcpuHour: 0.1, gibHour: 0.02 });

    // (1 × 0.10 + 0.5 × 0.02) × 730 = 80.30
    expect(cost.monthly).toBe(80.3);
  });

  it('a Proxmox target costs nothing at cloud prices', () => {
    const plan = draftPlan({
      target: 'proxmox',
      proxmox: { kind: 'vm', cores: 4, memoryBytes: 8 * GI, diskBytes: 50 * GI },
    });

    const cost = estimateCost(plan, GKE);

    expect(cost).toMatchObject({ monthly: 0, monthlyAtMax: 0, pricePerVcpuHour: 0.0445 });
  });

  it('a month is 730 hours', () => {
    const perHour = podHourlyCost(HALF_CORE_ONE_GIB, GKE);

    expect(perHour).toBeCloseTo(0.0271725, 10);
    expect(HOURS_PER_MONTH).toBe(730);
  });

  it.each([
    [1.005, 1.01],
    [39.67185, 39.67],
    [198.35925, 198.36],
    [0, 0],
  ])('roundToCents(%p) = %p', (usd, expected) => {
    const rounded = roundToCents(usd);

    expect(rounded).toBe(expected);
  });
});
