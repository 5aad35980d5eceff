/**
 * Agent 3, Refinement & Validation: a bounded ReAct loop (at most three cycles) in which the
 * reasoner calls tools — policy check, validation, targeted retrieval, cost estimate; up to four per
 * cycle — and then the deterministic policy decides, whatever the reasoner proposed. Every call is
 * kept in the trace under its cycle.
 */
import type { ResolvedConfig } from '../config.js';
import type { RetrievalQuery, Retriever } from '../rag/schema.js';
import {
  MAX_CALLS_PER_TURN,
  type Reasoner,
  type RefinementStep,
  type ToolCall,
} from '../reasoners/reasoner.js';
import { applyPolicy, type PolicyContext } from './policy.js';
import {
  DraftPlan,
  FinalPlan,
  TOOL_NAMES,
  type ContextBundle,
  type PolicyFinding,
  type TraceStep,
} from './schema.js';
import { estimateCost } from './tools/cost-estimate.js';
import { validatePlan } from './tools/validate.js';

export const MAX_CYCLES = 3;

export interface RefinementDeps {
  reasoner: Reasoner;
  retriever: Retriever;
  config: ResolvedConfig;
  /** Environment, quota and neighbours' requests for the policy; the bundle's environment when absent. */
  policyContext?: PolicyContext;
  /** Schema errors of the rendered objects for a plan (Kubernetes targets); [] when valid. */
  renderErrors?: (plan: DraftPlan) => string[];
}

function observe(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

function retrievalQuery(input: unknown, bundle: ContextBundle): RetrievalQuery {
  if (
    typeof input === 'object' &&
    input !== null &&
    typeof (input as { text?: unknown }).text === 'string'
  ) {
    return input as RetrievalQuery;
  }
  return {
    text: `${bundle.input.app_metadata.language ?? ''} ${bundle.input.app_metadata.framework ?? ''} sizing`,
    topK: 3,
  };
}

/** Why a turn cannot run, or undefined when it can: a known kind with 1..4 calls of known tools. */
function malformedTurn(step: Extract<RefinementStep, { kind: 'tools' }>): string | undefined {
  if ((step.kind as string) !== 'tools') return `unknown step kind ${JSON.stringify(step.kind)}`;
  const calls: unknown = step.calls;
  if (!Array.isArray(calls) || calls.length === 0) return 'the turn asked for no tool';
  if (calls.length > MAX_CALLS_PER_TURN)
    return `the turn asked for ${calls.length} tools, at most ${MAX_CALLS_PER_TURN} are allowed`;
  const unknown = calls
    .map((c: unknown) =>
      typeof c === 'object' && c !== null ? (c as { tool?: unknown }).tool : undefined,
    )
    .filter((t) => !(TOOL_NAMES as readonly unknown[]).includes(t));
  if (unknown.length > 0)
    return `unknown tool ${unknown.map((t) => JSON.stringify(t) ?? String(t)).join(', ')} (known: ${TOOL_NAMES.join(', ')})`;
  return undefined;
}

/** Agent 3 for one service. */
export async function refinePlan(
  draft: DraftPlan,
  bundle: ContextBundle,
  deps: RefinementDeps,
): Promise<FinalPlan> {
  let plan = draft;
  const trace: TraceStep[] = [];
  let findings: PolicyFinding[] = [];
  let validationErrors: string[] = [];
  const policyContext: PolicyContext = {
    environment: bundle.input.deployment_context.environment,
    ...deps.policyContext,
  };

  // One tool call: run it against the current plan and say what it found.
  const run = async (call: ToolCall): Promise<string> => {
    switch (call.tool) {
      case 'policy_check': {
        const result = applyPolicy(plan, deps.config, policyContext);
        plan = result.plan;
        findings = result.findings;
        return findings.length === 0
          ? 'no policy findings'
          : findings.map((f) => `${f.severity}: ${f.message}`).join('; ');
      }
      case 'validate': {
        validationErrors = validatePlan(plan, deps.config, deps.renderErrors?.(plan) ?? []);
        return validationErrors.length === 0 ? 'valid' : validationErrors.join('; ');
      }
      case 'retrieve': {
        const passages = await deps.retriever.retrieve(retrievalQuery(call.input, bundle));
        return (
          passages.map((p) => `[${p.entryId}] ${p.text.slice(0, 200)}`).join('\n') ||
          'nothing found'
        );
      }
      case 'cost_estimate':
        return observe(estimateCost(plan, deps.config.pricing));
    }
  };

  for (let cycle = 1; cycle <= MAX_CYCLES; cycle++) {
    const step = await deps.reasoner.refine({
      plan,
      bundle,
      cycle,
      // Snapshots: a reasoner that keeps the state must not see later cycles change under it.
      trace: [...trace],
      findings,
      validationErrors,
    });
    const thought = typeof step.thought === 'string' ? step.thought : '';
    if (step.kind === 'finish') {
      const proposed = DraftPlan.safeParse(step.plan);
      if (proposed.success && proposed.data.service.name === plan.service.name)
        plan = proposed.data;
      trace.push({
        cycle,
        thought,
        observation: proposed.success
          ? 'finished'
          : 'the proposed plan was not valid and was ignored',
      });
      break;
    }
    // A malformed turn costs its cycle and is traced, so no reasoner can loop forever or crash this.
    const ignored = malformedTurn(step);
    if (ignored !== undefined) {
      trace.push({ cycle, thought, observation: observe(`ignored: ${ignored}`) });
      continue;
    }
    for (const call of step.calls) {
      const observation = await run(call);
      trace.push({
        cycle,
        thought,
        tool: call.tool,
        input: call.input,
        observation: observe(observation),
      });
    }
  }

  // The reasoner proposes; policy decides — applied once more on whatever the loop produced.
  const decided = applyPolicy(plan, deps.config, policyContext);
  const allFindings = mergeFindings(findings, decided.findings);
  decided.plan = {
    ...decided.plan,
    reasoning: withAdjustments(decided.plan.reasoning, allFindings),
  };
  const errors = validatePlan(decided.plan, deps.config, deps.renderErrors?.(decided.plan) ?? []);
  return FinalPlan.parse({
    ...decided.plan,
    policy: allFindings,
    validation: { ok: errors.length === 0, errors },
    cost: estimateCost(decided.plan, deps.config.pricing),
    trace,
  });
}

function mergeFindings(first: PolicyFinding[], second: PolicyFinding[]): PolicyFinding[] {
  const seen = new Set<string>();
  const out: PolicyFinding[] = [];
  for (const f of [...first, ...second]) {
    const key = `${f.rule}\u0000${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out;
}

/** Every number the policy changed shows its new value and says why, where its reason is. */
function withAdjustments(
  reasoning: DraftPlan['reasoning'],
  findings: PolicyFinding[],
): DraftPlan['reasoning'] {
  return reasoning.map((step) => {
    const changes = findings.filter((f) => f.adjusted?.field === step.field);
    const last = changes[changes.length - 1];
    if (last?.adjusted === undefined) return step;
    return {
      ...step,
      value: last.adjusted.to,
      reason: `${step.reason} Policy changed it from ${last.adjusted.from}: ${changes.map((c) => c.message).join(' ')}`,
      sources: [...step.sources, ...changes.map((c) => `policy:${c.rule}`)],
    };
  });
}
