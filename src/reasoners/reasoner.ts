/**
 * The one interface both reasoners implement: the offline, deterministic default and Claude.
 * One method per agent step. Whatever a reasoner answers is validated with the agents' zod schemas
 * and then passes the same deterministic policy: the reasoner proposes, policy decides.
 */
import type {
  ContextBundle,
  DraftPlan,
  FinalPlan,
  PolicyFinding,
  ToolName,
  TraceStep,
} from '../agents/schema.js';
import type { RetrievalQuery } from '../rag/schema.js';

export const REASONER_IDS = ['offline', 'claude'] as const;
export type ReasonerId = (typeof REASONER_IDS)[number];

/** What agent 1 asks: which retrieval path and which queries, per service. */
export interface ContextQuestion {
  service: { name: string; path: string };
  /** Language, frameworks, image and the description's facts, summarised. */
  summary: string;
  hasMetrics: boolean;
  defaultQueries: RetrievalQuery[];
}

export interface ContextDecision {
  path: 'knowledge' | 'metrics';
  reason: string;
  queries: RetrievalQuery[];
}

/** What agent 3 shows the reasoner at each ReAct cycle. */
export interface RefinementState {
  plan: DraftPlan;
  bundle: ContextBundle;
  cycle: number;
  trace: readonly TraceStep[];
  /** Latest findings of the policy check and validation, if those tools ran. */
  findings: readonly PolicyFinding[];
  validationErrors: readonly string[];
}

/** One tool call a reasoner asks for; `input` is the tool's argument as the reasoner wrote it. */
export interface ToolCall {
  tool: ToolName;
  input: unknown;
}

/** Most tool calls one turn may ask for: enough for policy, validation, retrieval and cost at once. */
export const MAX_CALLS_PER_TURN = 4;

/**
 * One ReAct turn: either call 1..MAX_CALLS_PER_TURN tools (run in order, so a policy check adjusts
 * the plan the next call sees), or finish with a (possibly revised) plan. Several calls per turn
 * keep a model-backed reasoner to a few requests per service.
 */
export type RefinementStep =
  | { kind: 'tools'; thought: string; calls: ToolCall[] }
  | { kind: 'finish'; thought: string; plan: DraftPlan };

export interface Reasoner {
  readonly id: ReasonerId;
  decideContext(question: ContextQuestion): Promise<ContextDecision>;
  predict(bundle: ContextBundle): Promise<DraftPlan>;
  refine(state: RefinementState): Promise<RefinementStep>;
}

export type { FinalPlan };
