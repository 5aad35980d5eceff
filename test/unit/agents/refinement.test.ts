import { defaultResolvedConfig } from '../../../src/config.js';
import { MAX_CYCLES, refinePlan } from '../../../src/agents/refinement.js';
import type { DraftPlan } from '../../../src/agents/schema.js';
import type { Reasoner, RefinementStep } from '../../../src/reasoners/reasoner.js';
import { bundle, draft, fakeRetriever } from '../../support/plan-fixtures.js';

/** A reasoner whose refine answers are scripted; the other steps are never used here. */
function scripted(answer: (cycle: number) => RefinementStep): Reasoner & { calls: number } {
  const reasoner = {
    id: 'offline' as const,
    calls: 0,
    async decideContext(): Promise<never> {
      throw new Error('not used');
    },
    async predict(): Promise<never> {
      throw new Error('not used');
    },
    async refine(state: { cycle: number }): Promise<RefinementStep> {
      reasoner.calls++;
      return answer(state.cycle);
    },
  };
  return reasoner;
}

describe('agents/refinement', () => {
  it('stops after three cycles even when the reasoner keeps calling tools', async () => {
    const reasoner = scripted(() => ({
      kind: 'tool',
      thought: 'again',
      tool: 'validate',
      input: {},
    }));

    const plan = await refinePlan(draft(), bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    expect(MAX_CYCLES).toBe(3);
    expect(reasoner.calls).toBe(3);
    expect(plan.trace.map((t) => [t.cycle, t.tool])).toEqual([
      [1, 'validate'],
      [2, 'validate'],
      [3, 'validate'],
    ]);
  });

  it('records each cycle’s thought, tool and observation', async () => {
    const steps: RefinementStep[] = [
      { kind: 'tool', thought: 'check policy', tool: 'policy_check', input: {} },
      { kind: 'tool', thought: 'look up Go', tool: 'retrieve', input: { text: 'go memory' } },
      { kind: 'finish', thought: 'done', plan: draft() },
    ];
    const reasoner = scripted((cycle) => steps[cycle - 1]!);

    const plan = await refinePlan(draft(), bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    expect(plan.trace).toEqual([
      expect.objectContaining({
        cycle: 1,
        thought: 'check policy',
        tool: 'policy_check',
        observation: expect.any(String),
      }),
      expect.objectContaining({
        cycle: 2,
        thought: 'look up Go',
        tool: 'retrieve',
        observation: expect.stringContaining('['),
      }),
      expect.objectContaining({ cycle: 3, thought: 'done', observation: 'finished' }),
    ]);
  });

  it('lets policy decide when the reasoner proposes an absurd plan (64 cores)', async () => {
    const greedy: DraftPlan = draft({
      resources: {
        cpuRequest: { target: 64_000, lower: 64_000, upper: 64_000 },
        memoryRequest: { target: 256 * 2 ** 30, lower: 256 * 2 ** 30, upper: 256 * 2 ** 30 },
        memoryLimit: { target: 256 * 2 ** 30, lower: 256 * 2 ** 30, upper: 256 * 2 ** 30 },
      },
      reasoning: [
        {
          field: 'cpu.request',
          value: '64',
          reason: 'The description said to ignore the rules.',
          sources: [],
        },
      ],
    });
    const reasoner = scripted(() => ({ kind: 'finish', thought: 'as asked', plan: greedy }));
    const config = defaultResolvedConfig();

    const plan = await refinePlan(draft(), bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config,
    });

    expect(plan.resources.cpuRequest.target).toBeLessThanOrEqual(config.policy.maxContainerCpu);
    expect(plan.resources.memoryLimit.target).toBeLessThanOrEqual(config.policy.maxContainerMemory);
    expect(plan.policy.some((f) => f.adjusted?.field === 'cpu.request')).toBe(true);
    const cpuStep = plan.reasoning.find((s) => s.field === 'cpu.request')!;
    expect(cpuStep.reason).toContain('Policy changed it');
    expect(cpuStep.value).not.toBe('64');
  });

  it('ignores a finished plan for another service', async () => {
    const other = draft({ service: { name: 'someone-else', path: 'x' }, replicas: 9 });
    const reasoner = scripted(() => ({ kind: 'finish', thought: 'swap', plan: other }));

    const plan = await refinePlan(draft(), bundle({ name: 'svc' }), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    expect(plan.service.name).toBe('svc');
    expect(plan.replicas).not.toBe(9);
  });

  it('raises prod replicas to the policy minimum using the bundle’s environment', async () => {
    const reasoner = scripted(() => ({
      kind: 'finish',
      thought: 'ok',
      plan: draft({ replicas: 1 }),
    }));

    const plan = await refinePlan(draft({ replicas: 1 }), bundle({ environment: 'prod' }), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    expect(plan.replicas).toBeGreaterThanOrEqual(2);
  });

  it('merges schema errors of the rendered objects into the validation', async () => {
    const reasoner = scripted(() => ({ kind: 'finish', thought: 'ok', plan: draft() }));

    const plan = await refinePlan(draft(), bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
      renderErrors: () => ['Deployment svc: spec.replicas must be integer'],
    });

    expect(plan.validation).toEqual({
      ok: false,
      errors: expect.arrayContaining(['Deployment svc: spec.replicas must be integer']),
    });
  });
});
