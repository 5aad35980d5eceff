import { defaultResolvedConfig } from '../../../src/config.js';
import { MAX_CYCLES, refinePlan } from '../../../src/agents/refinement.js';
import type { DraftPlan, ToolName } from '../../../src/agents/schema.js';
import type { Reasoner, RefinementState, RefinementStep } from '../../../src/reasoners/reasoner.js';
import { bundle, draft, fakeRetriever } from '../../support/plan-fixtures.js';

/** A reasoner whose refine answers are scripted; the other steps are never used here. */
function scripted(
  answer: (cycle: number, state: RefinementState) => RefinementStep,
): Reasoner & { calls: number } {
  const reasoner = {
    id: 'offline' as const,
    calls: 0,
    async decideContext(): Promise<never> {
      throw new Error('not used');
    },
    async predict(): Promise<never> {
      throw new Error('not used');
    },
    async refine(state: RefinementState): Promise<RefinementStep> {
      reasoner.calls++;
      return answer(state.cycle, state);
    },
  };
  return reasoner;
}

describe('agents/refinement', () => {
  it('stops after three cycles even when the reasoner keeps calling tools, tracing every call', async () => {
    const reasoner = scripted(() => ({
      kind: 'tools',
      thought: 'again',
      calls: [
        { tool: 'validate', input: {} },
        { tool: 'cost_estimate', input: {} },
      ],
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
      [1, 'cost_estimate'],
      [2, 'validate'],
      [2, 'cost_estimate'],
      [3, 'validate'],
      [3, 'cost_estimate'],
    ]);
  });

  it('traces each call of a turn under that turn’s cycle and thought', async () => {
    const steps: RefinementStep[] = [
      {
        kind: 'tools',
        thought: 'check policy and look up Go',
        calls: [
          { tool: 'policy_check', input: {} },
          { tool: 'retrieve', input: { text: 'go memory' } },
        ],
      },
      { kind: 'finish', thought: 'done', plan: draft() },
    ];
    const reasoner = scripted((cycle) => steps[cycle - 1]!);

    const plan = await refinePlan(draft(), bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    expect(reasoner.calls).toBe(2);
    expect(plan.trace).toEqual([
      expect.objectContaining({
        cycle: 1,
        thought: 'check policy and look up Go',
        tool: 'policy_check',
        observation: expect.any(String),
      }),
      expect.objectContaining({
        cycle: 1,
        thought: 'check policy and look up Go',
        tool: 'retrieve',
        input: { text: 'go memory' },
        observation: expect.stringContaining('['),
      }),
      { cycle: 2, thought: 'done', observation: 'finished' },
    ]);
  });

  it('runs a turn’s calls in order: the policy check adjusts the plan the next call sees', async () => {
    const greedy = draft({
      resources: {
        cpuRequest: { target: 64_000, lower: 64_000, upper: 64_000 },
        memoryRequest: { target: 2 ** 30, lower: 2 ** 30, upper: 2 ** 30 },
        memoryLimit: { target: 2 ** 30, lower: 2 ** 30, upper: 2 ** 30 },
      },
    });
    const seen: { findings: number; validationErrors: number; cycle: number }[] = [];
    const reasoner = scripted((cycle, state) => {
      seen.push({
        cycle,
        findings: state.findings.length,
        validationErrors: state.validationErrors.length,
      });
      return cycle === 1
        ? {
            kind: 'tools',
            thought: 'validate, check policy, validate again',
            calls: [
              { tool: 'validate', input: {} },
              { tool: 'policy_check', input: {} },
              { tool: 'validate', input: {} },
            ],
          }
        : { kind: 'finish', thought: 'done', plan: state.plan };
    });

    const plan = await refinePlan(greedy, bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    const [before, policy, after] = plan.trace;
    expect(before!.observation).not.toBe('valid');
    expect(policy!.observation).toContain('clamped');
    expect(after!.observation).toBe('valid');
    // The next turn sees what the last calls found.
    expect(seen).toEqual([
      { cycle: 1, findings: 0, validationErrors: 0 },
      { cycle: 2, findings: expect.any(Number), validationErrors: 0 },
    ]);
    expect(seen[1]!.findings).toBeGreaterThan(0);
  });

  it.each<[string, RefinementStep, RegExp]>([
    ['no call', { kind: 'tools', thought: 'nothing', calls: [] }, /no tool/],
    [
      'more than four calls',
      {
        kind: 'tools',
        thought: 'everything',
        calls: Array.from({ length: 5 }, () => ({ tool: 'validate' as const, input: {} })),
      },
      /5 tools, at most 4/,
    ],
    [
      'an unknown tool',
      {
        kind: 'tools',
        thought: 'shell out',
        calls: [
          { tool: 'validate', input: {} },
          { tool: 'kubectl_apply' as ToolName, input: {} },
        ],
      },
      /unknown tool "kubectl_apply"/,
    ],
    [
      'an unknown step kind',
      { kind: 'tool', thought: 'old shape' } as unknown as RefinementStep,
      /unknown step kind "tool"/,
    ],
  ])('ignores a turn with %s, traces why and counts it as a cycle', async (_, bad, why) => {
    const steps: RefinementStep[] = [bad, { kind: 'finish', thought: 'done', plan: draft() }];
    const reasoner = scripted((cycle) => steps[cycle - 1]!);

    const plan = await refinePlan(draft(), bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    expect(reasoner.calls).toBe(2);
    expect(plan.trace).toHaveLength(2);
    expect(plan.trace[0]).toEqual({
      cycle: 1,
      thought: bad.thought,
      observation: expect.stringMatching(why),
    });
    expect(plan.trace[0]!.observation).toMatch(/^ignored: /);
    expect(plan.trace[1]).toEqual({ cycle: 2, thought: 'done', observation: 'finished' });
  });

  it('stops after three cycles when every turn is ignored', async () => {
    const reasoner = scripted(() => ({ kind: 'tools', thought: 'idle', calls: [] }));

    const plan = await refinePlan(draft(), bundle({}), {
      reasoner,
      retriever: fakeRetriever(),
      config: defaultResolvedConfig(),
    });

    expect(reasoner.calls).toBe(MAX_CYCLES);
    expect(plan.trace.map((t) => [t.cycle, t.tool])).toEqual([
      [1, undefined],
      [2, undefined],
      [3, undefined],
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
