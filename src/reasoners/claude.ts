/**
 * The Claude reasoner: each agent step is one forced tool call to Anthropic's Messages API, and
 * the tool's input schema is the step's zod schema, so the answer is typed data, never prose to
 * parse. An invalid answer gets one repair turn quoting the zod issues; an API fault (after the
 * SDK's own retries), a timeout or a second invalid answer hands that service's step to the
 * offline reasoner and says so. Whatever Claude answers, the deterministic policy still decides.
 *
 * Repository content and the requester's words reach the model only inside
 * <untrusted_data> blocks, redacted of secrets first; instructions stay outside them.
 */
import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  Message,
  MessageCreateParamsNonStreaming,
  MessageParam,
  TextBlockParam,
  Tool,
  ToolChoice,
  ToolUseBlock,
} from '@anthropic-ai/sdk/resources/messages';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { MAX_CYCLES } from '../agents/refinement.js';
import {
  DraftPlan,
  RETRIEVAL_PATHS,
  TOOL_NAMES,
  type ContextBundle,
  type ToolName,
  type TraceStep,
} from '../agents/schema.js';
import { done, refused, type Outcome } from '../outcome.js';
import { KnowledgeKind, type Retriever } from '../rag/schema.js';
import type { LlmLimiter, LlmLimits } from './llm/limiter.js';
import type { Prompt, PromptAgent } from './llm/prompts.js';
import { redactSecrets } from './llm/redact.js';
import { UsageLedger, type CallRecord } from './llm/usage.js';
import {
  MAX_CALLS_PER_TURN,
  type ContextDecision,
  type ContextQuestion,
  type Reasoner,
  type RefinementState,
  type RefinementStep,
  type ToolCall,
} from './reasoner.js';

// ---------------------------------------------------------------------------------------------
// Settings

export interface ClaudeSettings {
  apiKey: string;
  baseURL?: string;
  /** fast: context and refinement; deep: the sizing itself. */
  models: { fast: string; deep: string };
  timeoutMs: number;
  /** Retries the SDK makes itself (408, 409, 429, 5xx, connection errors), honouring retry-after. */
  maxRetries: number;
  limits: LlmLimits;
  maxOutputTokens: number;
}

export const DEFAULT_MODELS = { fast: 'claude-haiku-4-5', deep: 'claude-sonnet-4-6' };

interface IntegerVariable {
  name: string;
  fallback: number;
  min: number;
  /** What the value must be, for the refusal. */
  what: string;
}

function readInteger(env: NodeJS.ProcessEnv, v: IntegerVariable): Outcome<number> {
  const raw = env[v.name]?.trim();
  if (raw === undefined || raw === '') return done(v.fallback);
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < v.min) {
    const shown = raw.length > 20 ? `${raw.slice(0, 20)}…` : raw;
    return refused(
      'config-invalid',
      `${v.name} must be ${v.what}; it is "${shown}". Unset it to use ${v.fallback}.`,
    );
  }
  return done(value);
}

/**
 * ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_MODEL_FAST, ANTHROPIC_MODEL_DEEP,
 * ANTHROPIC_TIMEOUT_MS (60000), ANTHROPIC_MAX_RETRIES (3), ANTHROPIC_REQUESTS_PER_MINUTE (50),
 * ANTHROPIC_TOKENS_PER_MINUTE (100000), ANTHROPIC_MAX_OUTPUT_TOKENS (4096).
 */
export function claudeSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Outcome<ClaudeSettings> {
  const apiKey = env.ANTHROPIC_API_KEY?.trim() ?? '';
  if (apiKey === '')
    return refused(
      'config-invalid',
      'ANTHROPIC_API_KEY is not set, so Claude cannot be asked. Set it to an API key from ' +
        'https://console.anthropic.com/settings/keys, or plan without Claude with --reasoner offline.',
    );
  const baseURL = env.ANTHROPIC_BASE_URL?.trim() || undefined;
  // Not echoed: a base URL may carry credentials.
  if (baseURL !== undefined && !/^https?:$/.test(URL.parse(baseURL)?.protocol ?? ''))
    return refused(
      'config-invalid',
      'ANTHROPIC_BASE_URL must be an absolute URL such as https://api.anthropic.com; unset it to use the default.',
    );
  const numbers: Record<string, IntegerVariable> = {
    timeoutMs: {
      name: 'ANTHROPIC_TIMEOUT_MS',
      fallback: 60_000,
      min: 1,
      what: 'a whole number of milliseconds, at least 1',
    },
    maxRetries: {
      name: 'ANTHROPIC_MAX_RETRIES',
      fallback: 3,
      min: 0,
      what: 'a whole number of retries, 0 or more',
    },
    requestsPerMinute: {
      name: 'ANTHROPIC_REQUESTS_PER_MINUTE',
      fallback: 50,
      min: 1,
      what: 'a whole number of requests per minute, at least 1',
    },
    tokensPerMinute: {
      name: 'ANTHROPIC_TOKENS_PER_MINUTE',
      fallback: 100_000,
      min: 1,
      what: 'a whole number of input tokens per minute, at least 1',
    },
    maxOutputTokens: {
      name: 'ANTHROPIC_MAX_OUTPUT_TOKENS',
      fallback: 4096,
      min: 1,
      what: 'a whole number of tokens, at least 1',
    },
  };
  const values: Record<string, number> = {};
  for (const [key, variable] of Object.entries(numbers)) {
    const read = readInteger(env, variable);
    if (read.kind !== 'done') return read;
    values[key] = read.value;
  }
  return done({
    apiKey,
    ...(baseURL === undefined ? {} : { baseURL }),
    models: {
      fast: env.ANTHROPIC_MODEL_FAST?.trim() || DEFAULT_MODELS.fast,
      deep: env.ANTHROPIC_MODEL_DEEP?.trim() || DEFAULT_MODELS.deep,
    },
    timeoutMs: values.timeoutMs!,
    maxRetries: values.maxRetries!,
    limits: {
      requestsPerMinute: values.requestsPerMinute!,
      tokensPerMinute: values.tokensPerMinute!,
    },
    maxOutputTokens: values.maxOutputTokens!,
  });
}

export function createAnthropicClient(s: ClaudeSettings): Anthropic {
  return new Anthropic({
    apiKey: s.apiKey,
    // null, not undefined: the settings already read the environment; the SDK must not again.
    baseURL: s.baseURL ?? null,
    timeout: s.timeoutMs,
    maxRetries: s.maxRetries,
  });
}

// ---------------------------------------------------------------------------------------------
// Untrusted data blocks

/**
 * Data for the model, fenced. `<` is escaped (still valid JSON) so nothing inside can close the
 * fence and speak as an instruction.
 */
export function untrustedData(kind: string, value: unknown): string {
  const json = JSON.stringify(value).replace(/</g, '\\u003c');
  return `<untrusted_data kind="${kind}">\n${json}\n</untrusted_data>`;
}

/** The JSON inside the first `<untrusted_data kind="…">` block of a text, or undefined. */
export function readUntrustedData(text: string, kind: string): unknown {
  const open = `<untrusted_data kind="${kind}">\n`;
  const start = text.indexOf(open);
  if (start < 0) return undefined;
  const end = text.indexOf('\n</untrusted_data>', start + open.length);
  if (end < 0) return undefined;
  try {
    return JSON.parse(text.slice(start + open.length, end)) as unknown;
  } catch {
    return undefined;
  }
}

const redact = (text: string): string => redactSecrets(text).text;

// ---------------------------------------------------------------------------------------------
// Tools: their input schemas are the zod schemas the answers are parsed with.

/** RetrievalQuery (src/rag/schema.ts) as the model may write it. */
const RetrievalQueryInput = z
  .object({
    /** What to look for in the sizing knowledge base. */
    text: z.string().min(1),
    /** An entry passes when any of its applies_to values is listed here. */
    filters: z
      .object({
        languages: z.array(z.string()).optional(),
        frameworks: z.array(z.string()).optional(),
        images: z.array(z.string()).optional(),
        patterns: z.array(z.string()).optional(),
        kinds: z.array(KnowledgeKind).optional(),
      })
      .strict()
      .optional(),
    topK: z.number().int().min(1).max(10).optional(),
  })
  .strict();

export const DecideContextInput = z
  .object({
    path: z.enum(RETRIEVAL_PATHS),
    /** One sentence: why this path. */
    reason: z.string().min(1),
    /** Knowledge-base queries; [] keeps the default queries for the service's stack. */
    queries: z.array(RetrievalQueryInput).max(8),
  })
  .strict();

const NoInput = z.object({}).strict();

const RetrieveInput = z
  .object({
    text: z.string().min(1),
    topK: z.number().int().min(1).max(10).optional(),
  })
  .strict();

const FinishInput = z
  .object({
    /** Why the plan is final, and what (if anything) was revised. */
    thought: z.string(),
    /** The plan, revised only where a finding shows it is wrong. */
    plan: DraftPlan,
  })
  .strict();

/** The API wants an object schema at the root and no `$schema` key. */
function inputSchema(schema: z.ZodType): Tool.InputSchema {
  const json = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  delete json.$schema;
  if (json.type !== 'object') throw new Error('tool input schemas must be objects');
  return json as Tool.InputSchema;
}

function tool(name: string, description: string, schema: z.ZodType): Tool {
  return { name, description, input_schema: inputSchema(schema) };
}

/** The last tool carries the cache breakpoint: tools and system prompt are the static prefix. */
function cachedTools(tools: Tool[]): Tool[] {
  return tools.map((t, i) =>
    i === tools.length - 1 ? { ...t, cache_control: { type: 'ephemeral' } } : t,
  );
}

const CONTEXT_TOOLS = cachedTools([
  tool(
    'decide_context',
    'Record where the sizing evidence for this service comes from (its metrics or the knowledge base) and which knowledge-base queries to run.',
    DecideContextInput,
  ),
]);

const PREDICTION_TOOLS = cachedTools([
  tool(
    'submit_draft_plan',
    'Submit the draft sizing plan for the service: CPU in millicores and memory in bytes, each a target with lower and upper bounds, and a reasoning step with sources for every number.',
    DraftPlan,
  ),
]);

const REFINEMENT_TOOLS = cachedTools([
  tool(
    'policy_check',
    "Apply the repository's sizing policy (caps, minimums, limits ≥ requests, quota) to the current plan; it reports and applies adjustments.",
    NoInput,
  ),
  tool(
    'validate',
    'Validate the current plan: bounds, limits ≥ requests, canonical quantities, fit on the target.',
    NoInput,
  ),
  tool('cost_estimate', 'Estimate the monthly cost of the current plan.', NoInput),
  tool(
    'retrieve',
    'Search the sizing knowledge base; passages come back with their entry ids.',
    RetrieveInput,
  ),
  tool(
    'finish',
    'End the review with the final plan: the current plan, revised only where a finding or a passage shows it is wrong.',
    FinishInput,
  ),
]);

const TOOLS_BY_NAME: Record<ToolName, z.ZodType> = {
  policy_check: NoInput,
  validate: NoInput,
  cost_estimate: NoInput,
  retrieve: RetrieveInput,
};

// ---------------------------------------------------------------------------------------------
// The reasoner

export interface FallbackNote {
  service: string;
  agent: PromptAgent;
  reason: string;
}

export interface ClaudeReasoner extends Reasoner {
  readonly id: 'claude';
  fallbacks(): readonly FallbackNote[];
  readonly ledger: UsageLedger;
  readonly models: { fast: string; deep: string };
  readonly promptHashes: Record<PromptAgent, string>;
}

export interface ClaudeReasonerOptions {
  client: Anthropic;
  settings: ClaudeSettings;
  prompts: Record<PromptAgent, Prompt>;
  /** Knowledge ids a plan cites must exist here. */
  retriever: Retriever;
  target: 'kubernetes' | 'proxmox';
  limiter: LlmLimiter;
  ledger?: UsageLedger;
  /** The offline reasoner for the same target. */
  fallback: Reasoner;
}

type ServiceRef = { name: string; path: string };

/** A parsed answer, or the issues to quote in the repair turn. */
type Parsed<T> =
  | {
      ok: true;
      value: T;
      /** Set when part of the answer was rejected without a repair turn (recorded as invalid). */
      rejected?: string;
    }
  | { ok: false; issues: string[] };

type Answer<T> = { ok: true; value: T } | { ok: false; why: string };

interface Ask<T> {
  agent: PromptAgent;
  service: ServiceRef;
  model: string;
  tools: Tool[];
  toolChoice: ToolChoice;
  messages: MessageParam[];
  /** What the repair turn asks the model to call. */
  repairTool: string;
  parse(message: Message): Parsed<T>;
}

const MAX_ISSUES = 20;
const MAX_THOUGHT = 2000;

export function createClaudeReasoner(o: ClaudeReasonerOptions): ClaudeReasoner {
  const { client, settings, limiter, fallback } = o;
  const ledger = o.ledger ?? new UsageLedger();
  const notes: FallbackNote[] = [];
  // Once Claude failed a service's review, its later cycles stay offline: a loop that mixes
  // reasoners mid-review would make the trace harder to read, and the fault is likely to persist.
  const refinedOffline = new Set<string>();
  const system = (agent: PromptAgent): TextBlockParam[] => [
    { type: 'text', text: o.prompts[agent].text, cache_control: { type: 'ephemeral' } },
  ];

  function record(
    a: Ask<unknown>,
    usage: Message['usage'] | undefined,
    ms: number,
    outcome: CallRecord['outcome'],
    error?: string,
  ): void {
    ledger.record({
      service: a.service.name,
      agent: a.agent,
      model: a.model,
      inputTokens: usage?.input_tokens ?? 0,
      outputTokens: usage?.output_tokens ?? 0,
      cacheReadTokens: usage?.cache_read_input_tokens ?? 0,
      cacheWriteTokens: usage?.cache_creation_input_tokens ?? 0,
      ms: Math.round(ms),
      outcome,
      ...(error === undefined ? {} : { error }),
    });
  }

  async function send(
    a: Ask<unknown>,
    messages: MessageParam[],
  ): Promise<{ ok: true; message: Message; ms: number } | { ok: false; why: string }> {
    const params: MessageCreateParamsNonStreaming = {
      model: a.model,
      max_tokens: settings.maxOutputTokens,
      system: system(a.agent),
      tools: a.tools,
      tool_choice: a.toolChoice,
      messages,
    };
    // Rough but cheap: the limiter only needs the order of magnitude of the input.
    const estimatedTokens = Math.ceil(JSON.stringify(params).length / 4);
    let started: number | undefined;
    try {
      const message = await limiter.schedule(estimatedTokens, () => {
        started = performance.now();
        return client.messages.create(params);
      });
      return { ok: true, message, ms: performance.now() - (started ?? performance.now()) };
    } catch (error) {
      const why = describeFailure(error, settings);
      if (why === undefined) throw error;
      const ms = started === undefined ? 0 : performance.now() - started;
      record(a, undefined, ms, 'error', why);
      return { ok: false, why };
    }
  }

  /** One call, and one repair turn when the answer is invalid. */
  async function ask<T>(a: Ask<T>): Promise<Answer<T>> {
    const first = await send(a, a.messages);
    if (!first.ok) return first;
    const parsed = a.parse(first.message);
    if (parsed.ok) {
      record(a, first.message.usage, first.ms, parsed.rejected ? 'invalid' : 'ok', parsed.rejected);
      return { ok: true, value: parsed.value };
    }
    record(a, first.message.usage, first.ms, 'invalid', summary(parsed.issues));

    const repair = [...a.messages, ...repairTurn(first.message, parsed.issues, a.repairTool)];
    const second = await send(a, repair);
    if (!second.ok) return second;
    const reparsed = a.parse(second.message);
    if (reparsed.ok) {
      record(
        a,
        second.message.usage,
        second.ms,
        reparsed.rejected ? 'invalid' : 'repaired',
        reparsed.rejected,
      );
      return { ok: true, value: reparsed.value };
    }
    record(a, second.message.usage, second.ms, 'invalid', summary(reparsed.issues));
    return { ok: false, why: 'answer invalid twice' };
  }

  function note(service: ServiceRef, agent: PromptAgent, reason: string): void {
    notes.push({ service: service.name, agent, reason });
  }

  return {
    id: 'claude',
    ledger,
    models: { ...settings.models },
    promptHashes: {
      context: o.prompts.context.hash,
      prediction: o.prompts.prediction.hash,
      refinement: o.prompts.refinement.hash,
    },
    fallbacks: () => [...notes],

    async decideContext(question: ContextQuestion): Promise<ContextDecision> {
      const data = untrustedData('service_summary', {
        service: question.service,
        summary: question.summary,
        defaultQueries: question.defaultQueries,
      });
      const text = redact(
        `${data}\n\nMetrics for this service: ${question.hasMetrics ? 'available' : 'none'}.\n` +
          'Decide where the sizing evidence for the service described above comes from; call decide_context.',
      );
      const answer = await ask<ContextDecision>({
        agent: 'context',
        service: question.service,
        model: settings.models.fast,
        tools: CONTEXT_TOOLS,
        toolChoice: { type: 'tool', name: 'decide_context' },
        messages: [{ role: 'user', content: [{ type: 'text', text }] }],
        repairTool: 'decide_context',
        parse: (message) => parseDecision(message, question),
      });
      if (answer.ok) return answer.value;
      note(question.service, 'context', answer.why);
      const decision = await fallback.decideContext(question);
      return { ...decision, reason: `${decision.reason} (offline fallback: ${answer.why})` };
    },

    async predict(bundle: ContextBundle): Promise<DraftPlan> {
      const text = redact(
        `${untrustedData('service_context', bundle)}\n\nTarget: ${o.target}\n` +
          'Size the service described in the data above; call submit_draft_plan.',
      );
      const answer = await ask<DraftPlan>({
        agent: 'prediction',
        service: bundle.service,
        model: settings.models.deep,
        tools: PREDICTION_TOOLS,
        toolChoice: { type: 'tool', name: 'submit_draft_plan' },
        messages: [{ role: 'user', content: [{ type: 'text', text }] }],
        repairTool: 'submit_draft_plan',
        parse: (message) => parsePlan(message, bundle, o.target, o.retriever),
      });
      if (answer.ok) return answer.value;
      note(bundle.service, 'prediction', answer.why);
      const plan = await fallback.predict(bundle);
      return {
        ...plan,
        warnings: [
          ...plan.warnings,
          `Claude could not size ${bundle.service.name} (${answer.why}); the offline reasoner sized it.`,
        ],
      };
    },

    async refine(state: RefinementState): Promise<RefinementStep> {
      const service = state.plan.service;
      const key = `${service.path}\u0000${service.name}`;
      if (refinedOffline.has(key)) return offlineRefine(state, 'Claude failed earlier');
      const answer = await ask<RefinementStep>({
        agent: 'refinement',
        service,
        model: settings.models.fast,
        tools: REFINEMENT_TOOLS,
        toolChoice: { type: 'any' },
        messages: refinementMessages(state),
        repairTool: 'a tool',
        parse: (message) => parseRefinement(message, state, o.retriever),
      });
      if (answer.ok) return answer.value;
      refinedOffline.add(key);
      note(service, 'refinement', answer.why);
      return offlineRefine(state, answer.why);
    },
  };

  async function offlineRefine(state: RefinementState, why: string): Promise<RefinementStep> {
    const step = await fallback.refine(state);
    return { ...step, thought: `offline fallback (${why}): ${step.thought}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Faults

const STATUS_LABELS: Record<number, string> = {
  400: 'request rejected',
  401: 'authentication failed (check ANTHROPIC_API_KEY)',
  403: 'permission denied',
  404: 'not found (check the model names)',
  408: 'request timeout',
  409: 'conflict',
  413: 'request too large',
  429: 'rate limited',
  500: 'server error',
  529: 'overloaded',
};

const retryCount = (n: number): string => `${n} ${n === 1 ? 'retry' : 'retries'}`;

function retries(n: number): string {
  return n === 0 ? '' : ` after ${retryCount(n)}`;
}

/**
 * Why a call failed, in words for the report; undefined when the error is not the API's (a bug).
 * Built from the status and settings only, never from error text, so nothing secret can leak.
 */
function describeFailure(error: unknown, settings: ClaudeSettings): string | undefined {
  const n = settings.maxRetries;
  if (error instanceof Anthropic.APIConnectionTimeoutError)
    return `timed out after ${settings.timeoutMs / 1000} s${n === 0 ? '' : ` (${retryCount(n)})`}`;
  if (error instanceof Anthropic.APIUserAbortError) return 'cancelled';
  if (error instanceof Anthropic.APIConnectionError)
    return `could not connect to the API${retries(n)}`;
  if (error instanceof Anthropic.APIError) {
    const status = error.status;
    if (status === undefined) return 'API error';
    const label = STATUS_LABELS[status] ?? (status >= 500 ? 'server error' : 'request failed');
    // The SDK retries these; others fail at once.
    const retried = status === 408 || status === 409 || status === 429 || status >= 500;
    return `${status} ${label}${retried ? retries(n) : ''}`;
  }
  if (error instanceof Anthropic.AnthropicError) return 'API client error';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Messages and parsing

function summary(issues: string[]): string {
  const shown = issues.slice(0, 3).join('; ');
  return issues.length > 3 ? `${shown}; and ${issues.length - 3} more` : shown;
}

function zodIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
    return `${path || '(input)'}: ${i.message}`;
  });
}

function toolUses(message: Message): ToolUseBlock[] {
  return message.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
}

function textOf(message: Message): string {
  return message.content
    .flatMap((b) => (b.type === 'text' ? [b.text.trim()] : []))
    .filter((t) => t !== '')
    .join('\n');
}

function cutOff(message: Message): string[] {
  return message.stop_reason === 'max_tokens'
    ? ['(answer): cut off at the output token limit; answer more briefly']
    : [];
}

/** The answer as request content: text and tool calls only (nothing else is asked for). */
function assistantContent(message: Message): ContentBlockParam[] {
  return message.content.flatMap((b): ContentBlockParam[] => {
    if (b.type === 'text') return b.text === '' ? [] : [{ type: 'text', text: b.text }];
    if (b.type === 'tool_use')
      return [{ type: 'tool_use', id: b.id, name: b.name, input: b.input }];
    return [];
  });
}

/** The assistant's answer and a user turn saying what was wrong with it, tool by tool. */
function repairTurn(message: Message, issues: string[], toolName: string): MessageParam[] {
  const shown = issues.slice(0, MAX_ISSUES).map((i) => `- ${i}`);
  if (issues.length > MAX_ISSUES) shown.push(`- and ${issues.length - MAX_ISSUES} more`);
  const text = `That answer was not valid:\n${shown.join('\n')}\nCall ${toolName} again with a corrected input.`;
  const content = assistantContent(message);
  const uses = toolUses(message);
  // Consecutive user turns are merged by the API, so an empty answer can simply be followed.
  const assistant: MessageParam[] = content.length === 0 ? [] : [{ role: 'assistant', content }];
  if (uses.length === 0) return [...assistant, { role: 'user', content: text }];
  // Every tool_use needs its tool_result in the next turn.
  return [
    ...assistant,
    {
      role: 'user',
      content: uses.map((u) => ({
        type: 'tool_result' as const,
        tool_use_id: u.id,
        is_error: true,
        content: text,
      })),
    },
  ];
}

function parseDecision(message: Message, question: ContextQuestion): Parsed<ContextDecision> {
  const use = toolUses(message).find((u) => u.name === 'decide_context');
  if (use === undefined)
    return { ok: false, issues: [...cutOff(message), '(answer): call decide_context'] };
  const parsed = DecideContextInput.safeParse(use.input);
  if (!parsed.success)
    return { ok: false, issues: [...cutOff(message), ...zodIssues(parsed.error)] };
  const d = parsed.data;
  const queries = d.queries.length === 0 ? question.defaultQueries : d.queries;
  if (d.path === 'metrics' && !question.hasMetrics)
    return {
      ok: true,
      value: {
        path: 'knowledge',
        reason: `${d.reason} (Claude chose metrics, but this service has none; the knowledge base is used.)`,
        queries,
      },
    };
  return { ok: true, value: { path: d.path, reason: d.reason, queries } };
}

/** A plan must be for this service and target, and cite only knowledge that exists. */
function planProblems(
  plan: DraftPlan,
  service: ServiceRef,
  target: 'kubernetes' | 'proxmox',
  retriever: Retriever,
  prefix = '',
): string[] {
  const at = (p: string): string => (prefix === '' ? p : `${prefix}.${p}`);
  const issues: string[] = [];
  if (plan.service.name !== service.name)
    issues.push(`${at('service.name')}: expected "${service.name}"`);
  if (plan.service.path !== service.path)
    issues.push(`${at('service.path')}: expected "${service.path}"`);
  if (plan.target !== target) issues.push(`${at('target')}: expected "${target}"`);
  plan.reasoning.forEach((step, i) =>
    step.sources.forEach((source, k) => {
      const id = source.startsWith('knowledge:') ? source.slice('knowledge:'.length) : undefined;
      if (id !== undefined && retriever.entry(id) === undefined)
        issues.push(
          `${at(`reasoning.${i}.sources.${k}`)}: no knowledge entry "${id}"; cite the entry ids of the passages`,
        );
    }),
  );
  return issues;
}

function parsePlan(
  message: Message,
  bundle: ContextBundle,
  target: 'kubernetes' | 'proxmox',
  retriever: Retriever,
): Parsed<DraftPlan> {
  const use = toolUses(message).find((u) => u.name === 'submit_draft_plan');
  if (use === undefined)
    return { ok: false, issues: [...cutOff(message), '(answer): call submit_draft_plan'] };
  const parsed = DraftPlan.safeParse(use.input);
  if (!parsed.success)
    return { ok: false, issues: [...cutOff(message), ...zodIssues(parsed.error)] };
  const issues = planProblems(parsed.data, bundle.service, target, retriever);
  if (issues.length > 0) return { ok: false, issues };
  // The bundle's own warnings (conflicts found while building it) stay visible whatever Claude said.
  const warnings = [...new Set([...bundle.warnings, ...parsed.data.warnings])];
  return { ok: true, value: { ...parsed.data, warnings } };
}

function asInput(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * The review so far as a conversation: the plan as it stands (with the latest findings) as data,
 * then each earlier cycle's tool calls and their observations from the trace.
 */
export function refinementMessages(state: RefinementState): MessageParam[] {
  const data = untrustedData('refinement_state', {
    plan: state.plan,
    findings: state.findings,
    validationErrors: state.validationErrors,
  });
  const intro = redact(
    `${data}\n\nTarget: ${state.plan.target}\n` +
      'Review the draft plan in the data above (already adjusted by any policy check below) with the tools — ' +
      'several calls in one turn are fine — then call finish with the plan.',
  );
  const messages: MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: intro }] }];
  const cycles = new Map<number, TraceStep[]>();
  for (const step of state.trace) {
    if (step.tool === undefined) continue;
    cycles.set(step.cycle, [...(cycles.get(step.cycle) ?? []), step]);
  }
  for (const [cycle, steps] of cycles) {
    const thought = steps[0]?.thought.trim() ?? '';
    messages.push({
      role: 'assistant',
      content: [
        ...(thought === '' ? [] : [{ type: 'text' as const, text: thought }]),
        ...steps.map((s, k) => ({
          type: 'tool_use' as const,
          id: `cycle${cycle}_${k}`,
          name: s.tool!,
          input: asInput(s.input),
        })),
      ],
    });
    messages.push({
      role: 'user',
      content: steps.map((s, k) => ({
        type: 'tool_result' as const,
        tool_use_id: `cycle${cycle}_${k}`,
        content: redact(s.observation ?? 'no observation'),
      })),
    });
  }
  const last = state.cycle >= MAX_CYCLES;
  const turn = `Cycle ${state.cycle} of ${MAX_CYCLES}: ${last ? 'this is the last one; call finish.' : 'call more tools, or finish.'}`;
  // After the tool results (they must come first in their turn), or after the data on cycle 1.
  const tail = messages[messages.length - 1]!;
  tail.content = [...(tail.content as ContentBlockParam[]), { type: 'text', text: turn }];
  return messages;
}

function parseRefinement(
  message: Message,
  state: RefinementState,
  retriever: Retriever,
): Parsed<RefinementStep> {
  const uses = toolUses(message);
  const text = textOf(message).slice(0, MAX_THOUGHT);
  if (uses.length === 0)
    return { ok: false, issues: [...cutOff(message), '(answer): call a tool'] };

  const finish = uses.find((u) => u.name === 'finish');
  if (finish !== undefined) {
    const input = asInput(finish.input);
    const thought =
      (typeof input.thought === 'string' && input.thought.trim() !== ''
        ? input.thought.trim().slice(0, MAX_THOUGHT)
        : text) || 'Finished.';
    const plan = DraftPlan.safeParse(input.plan);
    const issues = plan.success
      ? planProblems(plan.data, state.plan.service, state.plan.target, retriever, 'plan')
      : zodIssues(plan.error, 'plan');
    if (plan.success && issues.length === 0)
      return { ok: true, value: { kind: 'finish', thought, plan: plan.data } };
    // Agent 3 applies policy to the current plan anyway; a bad revision is dropped, not repaired.
    const rejected = `finish plan invalid (${summary(issues)}); the current plan was kept`;
    return {
      ok: true,
      value: {
        kind: 'finish',
        thought: `${thought} (Claude's revised plan was not valid and was ignored: ${summary(issues)}.)`,
        plan: state.plan,
      },
      rejected,
    };
  }

  const calls: ToolCall[] = [];
  const issues: string[] = [];
  uses.forEach((u, k) => {
    const schema = (TOOL_NAMES as readonly string[]).includes(u.name)
      ? TOOLS_BY_NAME[u.name as ToolName]
      : undefined;
    if (schema === undefined) {
      issues.push(`tool ${k} (${u.name}): no such tool`);
      return;
    }
    const input = schema.safeParse(u.input ?? {});
    if (!input.success) {
      issues.push(...zodIssues(input.error, `${u.name}`));
      return;
    }
    calls.push({ tool: u.name as ToolName, input: input.data });
  });
  if (issues.length > 0) return { ok: false, issues };
  const kept = calls.slice(0, MAX_CALLS_PER_TURN);
  const thought = text || `Check the plan: ${kept.map((c) => c.tool).join(', ')}.`;
  return { ok: true, value: { kind: 'tools', thought, calls: kept } };
}
