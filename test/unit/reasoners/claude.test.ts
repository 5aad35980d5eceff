/**
 * The Claude reasoner through the real @anthropic-ai/sdk against a local fake of the Messages API:
 * retries, timeouts and error classes are the SDK's own.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { DraftPlan, type ContextBundle } from '../../../src/agents/schema.js';
import {
  startFakeMessagesApi,
  type FakeBehaviour,
  type FakeMessagesApi,
} from '../../../src/bench/fake-messages-api.js';
import { sizingBrain } from '../../../src/bench/fake-sizing-brain.js';
import {
  claudeSettingsFromEnv,
  createAnthropicClient,
  createClaudeReasoner,
  DEFAULT_MODELS,
  readUntrustedData,
  type ClaudeReasoner,
  type ClaudeSettings,
} from '../../../src/reasoners/claude.js';
import { createLlmLimiter, type LlmLimiter } from '../../../src/reasoners/llm/limiter.js';
import type { Prompt, PromptAgent } from '../../../src/reasoners/llm/prompts.js';
import { createOfflineReasoner } from '../../../src/reasoners/offline.js';
import type { ContextQuestion, RefinementState } from '../../../src/reasoners/reasoner.js';
import { bundle, draft, fakeRetriever } from '../../support/plan-fixtures.js';

const KEY = 'sk-ant-test-0123456789abcdef';
const TOKEN = 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB';
const retriever = fakeRetriever();

const PROMPTS: Record<PromptAgent, Prompt> = {
  context: { agent: 'context', text: 'Choose the context.', hash: 'aaaaaaaaaaaa', file: 'c.md' },
  prediction: { agent: 'prediction', text: 'Size it.', hash: 'bbbbbbbbbbbb', file: 'p.md' },
  refinement: { agent: 'refinement', text: 'Review it.', hash: 'cccccccccccc', file: 'r.md' },
};

let api: FakeMessagesApi;
let limiter: LlmLimiter;

beforeAll(async () => {
  api = await startFakeMessagesApi({ minCacheableTokens: 50 });
});
afterAll(() => api.close());
beforeEach(() => {
  api.resetCalls();
  api.setBrain(sizingBrain(retriever));
  limiter = createLlmLimiter({ requestsPerMinute: 1000, tokensPerMinute: 10_000_000 });
});
afterEach(() => limiter.stop());

function settings(overrides: Partial<ClaudeSettings> = {}): ClaudeSettings {
  return {
    apiKey: KEY,
    baseURL: api.url,
    models: { ...DEFAULT_MODELS },
    timeoutMs: 5000,
    maxRetries: 1,
    limits: { requestsPerMinute: 1000, tokensPerMinute: 10_000_000 },
    maxOutputTokens: 4096,
    ...overrides,
  };
}

function reasoner(overrides: Partial<ClaudeSettings> = {}): ClaudeReasoner {
  const s = settings(overrides);
  return createClaudeReasoner({
    client: createAnthropicClient(s),
    settings: s,
    prompts: PROMPTS,
    retriever,
    target: 'kubernetes',
    limiter,
    fallback: createOfflineReasoner({ retriever, target: 'kubernetes' }),
  });
}

function orders(): ContextBundle {
  return bundle({
    name: 'orders',
    path: 'services/orders',
    metadata: { language: 'go', framework: 'gin', description: 'Orders API for the shop' },
    hints: { healthcheck: `curl -H 'Authorization: Bearer ${TOKEN}' http://localhost:8080/health` },
  });
}

const offlinePlan = (b: ContextBundle): Promise<DraftPlan> =>
  createOfflineReasoner({ retriever, target: 'kubernetes' }).predict(b);

type Body = {
  system: { text: string; cache_control?: unknown }[];
  tools: { name: string; input_schema: Record<string, unknown>; cache_control?: unknown }[];
  tool_choice: unknown;
  messages: { role: string; content: { type: string; [k: string]: unknown }[] }[];
};
const body = (i: number): Body => api.calls[i]!.body as unknown as Body;
const firstText = (b: Body): string => String(b.messages[0]!.content[0]!.text);

describe('reasoners/claude predict', () => {
  it('sizes the service with a forced, cached tool call and the bundle as redacted data', async () => {
    const claude = reasoner();
    const b = orders();

    const plan = await claude.predict(b);

    expect(DraftPlan.safeParse(plan).success).toBe(true);
    expect(plan.service).toEqual({ name: 'orders', path: 'services/orders' });
    expect(plan.resources).toEqual((await offlinePlan(b)).resources);
    expect(plan.warnings.join(' ')).not.toMatch(/Claude could not/);
    expect(claude.fallbacks()).toEqual([]);
    expect(claude.ledger.records.map((r) => [r.agent, r.model, r.outcome])).toEqual([
      ['prediction', 'claude-sonnet-4-6', 'ok'],
    ]);

    expect(api.calls).toHaveLength(1);
    const sent = body(0);
    expect(sent.system).toEqual([
      { type: 'text', text: 'Size it.', cache_control: { type: 'ephemeral' } },
    ]);
    expect(sent.tools.map((t) => t.name)).toEqual(['submit_draft_plan']);
    expect(sent.tools.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
    expect(sent.tools[0]!.input_schema.type).toBe('object');
    expect(sent.tools[0]!.input_schema.$schema).toBeUndefined();
    expect(sent.tool_choice).toEqual({ type: 'tool', name: 'submit_draft_plan' });
    const text = firstText(sent);
    const data = readUntrustedData(text, 'service_context') as ContextBundle;
    expect(data.service.name).toBe('orders');
    expect(data.input.app_metadata.description).toBe('Orders API for the shop');
    expect(text.slice(text.indexOf('</untrusted_data>'))).toMatch(/call submit_draft_plan/);
    expect(data.hints.healthcheck).toContain('[REDACTED:');
    expect(JSON.stringify(api.calls[0]!.body)).not.toContain(TOKEN);
    expect(api.calls[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('repairs a malformed answer with one turn quoting the issues', async () => {
    const claude = reasoner();
    api.script({ kind: 'malformed' });

    const plan = await claude.predict(orders());

    expect(plan.service.name).toBe('orders');
    expect(claude.fallbacks()).toEqual([]);
    expect(api.calls).toHaveLength(2);
    expect(claude.ledger.records.map((r) => r.outcome)).toEqual(['invalid', 'repaired']);
    const [, assistant, user] = body(1).messages;
    expect(assistant!.role).toBe('assistant');
    expect(assistant!.content[0]).toMatchObject({ type: 'tool_use', name: 'submit_draft_plan' });
    expect(user!.content[0]).toMatchObject({
      type: 'tool_result',
      tool_use_id: assistant!.content[0]!.id,
      is_error: true,
    });
    expect(String(user!.content[0]!.content)).toMatch(/^- service: /m);
  });

  it('falls back to the offline reasoner after two invalid answers, and says so', async () => {
    const claude = reasoner();
    api.script({ kind: 'malformed' }, { kind: 'malformed' });
    const b = orders();

    const plan = await claude.predict(b);

    expect(api.calls).toHaveLength(2);
    expect(plan.resources).toEqual((await offlinePlan(b)).resources);
    expect(plan.warnings).toContain(
      'Claude could not size orders (answer invalid twice); the offline reasoner sized it.',
    );
    expect(claude.fallbacks()).toEqual([
      { service: 'orders', agent: 'prediction', reason: 'answer invalid twice' },
    ]);
  });

  it('rejects a plan for another service and repairs it', async () => {
    const claude = reasoner();
    const brain = sizingBrain(retriever);
    let n = 0;
    api.setBrain((req) => {
      const answer = brain(req);
      if (n++ > 0) return answer;
      const plan = answer.toolUses![0]!.input as DraftPlan;
      return { toolUses: [{ name: 'submit_draft_plan', input: { ...plan, target: 'proxmox' } }] };
    });

    await claude.predict(orders());

    expect(claude.ledger.records.map((r) => r.outcome)).toEqual(['invalid', 'repaired']);
    expect(String(body(1).messages[2]!.content[0]!.content)).toContain('target: expected');
  });

  it.each([
    [429, /^429 rate limited after 1 retry$/, 2],
    [529, /^529 overloaded after 1 retry$/, 2],
    [500, /^500 server error after 1 retry$/, 2],
    [401, /^401 authentication failed/, 1],
  ])('falls back when the API answers %d through the retries', async (status, why, calls) => {
    const claude = reasoner({ maxRetries: 1 });
    const failure: FakeBehaviour = { kind: 'status', status, retryAfterSeconds: 0.01 };
    // Exactly the requests the SDK makes: a leftover would answer the next test.
    api.script(...Array.from({ length: calls }, () => failure));

    const plan = await claude.predict(orders());

    expect(api.calls).toHaveLength(calls);
    expect(claude.fallbacks()).toHaveLength(1);
    expect(claude.fallbacks()[0]!.reason).toMatch(why);
    expect(plan.warnings.join(' ')).toMatch(/Claude could not size orders \(.+\); the offline/);
    expect(claude.ledger.records).toEqual([
      expect.objectContaining({
        outcome: 'error',
        inputTokens: 0,
        error: expect.stringMatching(why),
      }),
    ]);
    expect(JSON.stringify([claude.fallbacks(), claude.ledger.records, plan])).not.toContain(KEY);
  });

  it('falls back when the answer is slower than the timeout', async () => {
    const claude = reasoner({ timeoutMs: 150, maxRetries: 0 });
    api.script({ kind: 'slow', delayMs: 3000 });

    const plan = await claude.predict(orders());

    expect(claude.fallbacks()[0]!.reason).toBe('timed out after 0.15 s');
    expect(plan.warnings).toContain(
      'Claude could not size orders (timed out after 0.15 s); the offline reasoner sized it.',
    );
  });
});

describe('reasoners/claude decideContext', () => {
  const question = (hasMetrics: boolean): ContextQuestion => ({
    service: { name: 'orders', path: 'services/orders' },
    summary: 'Go, gin',
    hasMetrics,
    defaultQueries: [{ text: 'go gin sizing', topK: 3 }],
  });
  const answerMetrics = (): void =>
    api.setBrain(() => ({
      toolUses: [
        { name: 'decide_context', input: { path: 'metrics', reason: 'It runs.', queries: [] } },
      ],
    }));

  it('asks the fast model with a forced decide_context call', async () => {
    const claude = reasoner();

    const decision = await claude.decideContext(question(false));

    expect(decision.path).toBe('knowledge');
    expect(decision.queries).toEqual([{ text: 'go gin sizing', topK: 3 }]);
    expect(body(0).tool_choice).toEqual({ type: 'tool', name: 'decide_context' });
    expect(api.calls[0]!.body.model).toBe('claude-haiku-4-5');
  });

  it('turns a metrics answer into knowledge when the service has no metrics, and says so', async () => {
    const claude = reasoner();
    answerMetrics();

    const decision = await claude.decideContext(question(false));

    expect(decision.path).toBe('knowledge');
    expect(decision.reason).toMatch(/has none/);
    expect(decision.queries).toEqual([{ text: 'go gin sizing', topK: 3 }]);
  });

  it('keeps metrics when the service has them', async () => {
    const claude = reasoner();
    answerMetrics();

    expect((await claude.decideContext(question(true))).path).toBe('metrics');
  });
});

describe('reasoners/claude refine', () => {
  const state = (overrides: Partial<RefinementState> = {}): RefinementState => ({
    plan: draft(),
    bundle: bundle({}),
    cycle: 1,
    trace: [],
    findings: [],
    validationErrors: [],
    ...overrides,
  });
  const checked = [
    { cycle: 1, thought: 'Check.', tool: 'policy_check', input: {}, observation: 'no findings' },
    { cycle: 1, thought: 'Check.', tool: 'validate', input: {}, observation: 'valid' },
    { cycle: 1, thought: 'Check.', tool: 'cost_estimate', input: {}, observation: '{"monthly":9}' },
  ] as const;

  it('asks for the checks first, several tools in one turn', async () => {
    const claude = reasoner();

    const step = await claude.refine(state());

    expect(step).toEqual({
      kind: 'tools',
      thought: 'Check policy, validation and cost.',
      calls: [
        { tool: 'policy_check', input: {} },
        { tool: 'validate', input: {} },
        { tool: 'cost_estimate', input: {} },
      ],
    });
    const sent = body(0);
    expect(sent.tool_choice).toEqual({ type: 'any' });
    expect(sent.tools.map((t) => t.name)).toEqual([
      'policy_check',
      'validate',
      'cost_estimate',
      'retrieve',
      'finish',
    ]);
    expect(sent.tools.filter((t) => t.cache_control !== undefined).map((t) => t.name)).toEqual([
      'finish',
    ]);
    expect(readUntrustedData(firstText(sent), 'refinement_state')).toMatchObject({ plan: draft() });
  });

  it('replays the trace as tool calls and results, then finishes with the plan', async () => {
    const claude = reasoner();
    const plan = draft({ replicas: 3 });

    const step = await claude.refine(state({ plan, cycle: 2, trace: [...checked] }));

    expect(step).toEqual({ kind: 'finish', thought: expect.any(String), plan });
    const messages = body(0).messages;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[1]!.content.filter((c) => c.type === 'tool_use').map((c) => c.id)).toEqual([
      'cycle1_0',
      'cycle1_1',
      'cycle1_2',
    ]);
    expect(messages[2]!.content.map((c) => [c.type, c.tool_use_id, c.content])).toEqual([
      ['tool_result', 'cycle1_0', 'no findings'],
      ['tool_result', 'cycle1_1', 'valid'],
      ['tool_result', 'cycle1_2', '{"monthly":9}'],
      ['text', undefined, undefined],
    ]);
  });

  it('keeps the current plan when the finish plan is invalid, without a repair turn', async () => {
    const claude = reasoner();
    api.setBrain(() => ({
      toolUses: [{ name: 'finish', input: { thought: 'Done.', plan: { replicas: 0 } } }],
    }));
    const current = draft();

    const step = await claude.refine(state({ plan: current, cycle: 2, trace: [...checked] }));

    expect(step).toMatchObject({ kind: 'finish', plan: current });
    expect(step.thought).toMatch(/^Done\. \(Claude's revised plan was not valid and was ignored/);
    expect(api.calls).toHaveLength(1);
    expect(claude.ledger.records[0]!.outcome).toBe('invalid');
  });

  it('hands the review to the offline reasoner when the API fails, for the later cycles too', async () => {
    const claude = reasoner({ maxRetries: 0 });
    api.script({ kind: 'status', status: 500 });

    const first = await claude.refine(state());
    const second = await claude.refine(state({ cycle: 2, trace: [checked[0]] }));

    expect(first.kind).toBe('tools');
    expect(first.thought).toMatch(/^offline fallback \(500 server error\): /);
    expect(second.thought).toMatch(/^offline fallback/);
    expect(api.calls).toHaveLength(1);
    expect(claude.fallbacks()).toEqual([
      { service: 'svc', agent: 'refinement', reason: '500 server error' },
    ]);
  });
});

describe('reasoners/claude ledger', () => {
  it('counts the calls and the uncached and cached tokens the server recorded', async () => {
    // Model ids of its own, so no earlier test has warmed the fake server's cache.
    const claude = reasoner({
      models: { fast: 'claude-haiku-4-5-ledger', deep: 'claude-sonnet-4-6-ledger' },
    });
    api.script({ kind: 'malformed' });

    await claude.predict(orders());
    await claude.predict(bundle({ name: 'web', metadata: { language: 'java' } }));
    await claude.refine({
      plan: draft(),
      bundle: bundle({}),
      cycle: 1,
      trace: [],
      findings: [],
      validationErrors: [],
    });

    const served = api.calls.map((c) => c.usage!);
    const sum = (f: (u: (typeof served)[number]) => number): number =>
      served.reduce((t, u) => t + f(u), 0);
    const totals = claude.ledger.totals();
    expect(totals.calls).toBe(api.calls.length);
    expect(totals.calls).toBe(4);
    expect(totals.inputTokens).toBe(sum((u) => u.input_tokens));
    expect(totals.outputTokens).toBe(sum((u) => u.output_tokens));
    expect(totals.cacheWriteTokens).toBe(sum((u) => u.cache_creation_input_tokens));
    expect(totals.cacheReadTokens).toBe(sum((u) => u.cache_read_input_tokens));
    // The prediction's tools and system prompt were written once and read by the later calls.
    expect(totals.cacheReadTokens).toBeGreaterThan(0);
    expect(totals.cacheWriteTokens).toBeGreaterThan(0);
    expect(totals.estimatedUsd).toBeGreaterThan(0);
    expect(Object.keys(claude.ledger.byService()).sort()).toEqual(['orders', 'svc', 'web']);
    expect(Object.keys(claude.ledger.byModel()).sort()).toEqual([
      'claude-haiku-4-5-ledger',
      'claude-sonnet-4-6-ledger',
    ]);
  });

  it('exposes the models and prompt hashes it used', () => {
    const claude = reasoner();

    expect(claude.models).toEqual({ fast: 'claude-haiku-4-5', deep: 'claude-sonnet-4-6' });
    expect(claude.promptHashes).toEqual({
      context: 'aaaaaaaaaaaa',
      prediction: 'bbbbbbbbbbbb',
      refinement: 'cccccccccccc',
    });
  });
});

describe('reasoners/claude claudeSettingsFromEnv', () => {
  it('uses the defaults when only the key is set', () => {
    const result = claudeSettingsFromEnv({ ANTHROPIC_API_KEY: KEY });

    expect(result).toEqual({
      kind: 'done',
      value: {
        apiKey: KEY,
        models: { fast: 'claude-haiku-4-5', deep: 'claude-sonnet-4-6' },
        timeoutMs: 60_000,
        maxRetries: 3,
        limits: { requestsPerMinute: 50, tokensPerMinute: 100_000 },
        maxOutputTokens: 4096,
      },
    });
  });

  it('reads every variable', () => {
    const result = claudeSettingsFromEnv({
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999',
      ANTHROPIC_MODEL_FAST: 'claude-haiku-4-5-20251001',
      ANTHROPIC_MODEL_DEEP: 'claude-opus-4-6',
      ANTHROPIC_TIMEOUT_MS: '1500',
      ANTHROPIC_MAX_RETRIES: '0',
      ANTHROPIC_REQUESTS_PER_MINUTE: '5',
      ANTHROPIC_TOKENS_PER_MINUTE: '2000',
      ANTHROPIC_MAX_OUTPUT_TOKENS: '512',
    });

    expect(result).toEqual({
      kind: 'done',
      value: {
        apiKey: KEY,
        baseURL: 'http://127.0.0.1:9999',
        models: { fast: 'claude-haiku-4-5-20251001', deep: 'claude-opus-4-6' },
        timeoutMs: 1500,
        maxRetries: 0,
        limits: { requestsPerMinute: 5, tokensPerMinute: 2000 },
        maxOutputTokens: 512,
      },
    });
  });

  it.each([
    ['ANTHROPIC_TIMEOUT_MS', 'soon'],
    ['ANTHROPIC_TIMEOUT_MS', '0'],
    ['ANTHROPIC_MAX_RETRIES', '-1'],
    ['ANTHROPIC_REQUESTS_PER_MINUTE', '2.5'],
    ['ANTHROPIC_TOKENS_PER_MINUTE', '1e5'],
    ['ANTHROPIC_MAX_OUTPUT_TOKENS', 'lots'],
  ])('refuses %s=%s, naming the variable and what it must be', (name, value) => {
    const result = claudeSettingsFromEnv({ ANTHROPIC_API_KEY: KEY, [name]: value });

    expect(result.kind).toBe('refused');
    if (result.kind !== 'refused') return;
    expect(result.code).toBe('config-invalid');
    expect(result.userMessage).toMatch(new RegExp(`^${name} must be a whole number`));
    expect(result.userMessage).not.toContain(KEY);
  });

  it('refuses a base URL that is not a URL without echoing it', () => {
    const result = claudeSettingsFromEnv({
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: 'user:secret@nowhere',
    });

    expect(result).toMatchObject({ kind: 'refused', code: 'config-invalid' });
    expect(JSON.stringify(result)).not.toContain('secret');
  });

  it.each([{}, { ANTHROPIC_API_KEY: '  ' }])(
    'refuses a missing key and says how to fix it',
    (env) => {
      const result = claudeSettingsFromEnv(env);

      expect(result).toMatchObject({ kind: 'refused', code: 'config-invalid' });
      if (result.kind !== 'refused') return;
      expect(result.userMessage).toMatch(/^ANTHROPIC_API_KEY is not set/);
      expect(result.userMessage).toContain('--reasoner offline');
    },
  );
});

describe('reasoners/claude createAnthropicClient', () => {
  it('configures the SDK client from the settings', () => {
    const client: Anthropic = createAnthropicClient(settings({ timeoutMs: 1234, maxRetries: 2 }));

    expect(client.baseURL).toBe(api.url);
    expect(client.timeout).toBe(1234);
    expect(client.maxRetries).toBe(2);
  });
});
