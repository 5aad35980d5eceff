/**
 * Agent 3, Refinement & Validation: a bounded ReAct loop (at most three cycles) in which the
 * reasoner calls tools — policy check, validation, targeted retrieval, cost estimate — and then
 * the deterministic policy decides, whatever the reasoner proposed. Every cycle is kept in the trace.
 */
import type { ResolvedConfig } from '../config.js';
import type { RetrievalQuery, Retriever } from '../rag/schema.js';
import type { Reasoner } from '../reasoners/reasoner.js';
import { applyPolicy, type PolicyContext } from './policy.js';
import {
  DraftPlan,
  FinalPlan,
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

  for (let cycle = 1; cycle <= MAX_CYCLES; cycle++) {
    const step = await deps.reasoner.refine({
      plan,
      bundle,
      cycle,
      trace,
      findings,
      validationErrors,
    });
    if (step.kind === 'finish') {
      const proposed = DraftPlan.safeParse(step.plan);
      if (proposed.success && proposed.data.service.name === plan.service.name)
        plan = proposed.data;
      trace.push({
        cycle,
        thought: step.thought,
        observation: proposed.success
          ? 'finished'
          : 'the proposed plan was not valid and was ignored',
      });
      break;
    }
    let observation: string;
    switch (step.tool) {
      case 'policy_check': {
        const result = applyPolicy(plan, deps.config, policyContext);
        plan = result.plan;
        findings = result.findings;
        observation =
          findings.length === 0
            ? 'no policy findings'
            : findings.map((f) => `${f.severity}: ${f.message}`).join('; ');
        break;
      }
      case 'validate': {
        validationErrors = validatePlan(plan, deps.config, deps.renderErrors?.(plan) ?? []);
        observation = validationErrors.length === 0 ? 'valid' : validationErrors.join('; ');
        break;
      }
      case 'retrieve': {
        const passages = await deps.retriever.retrieve(retrievalQuery(step.input, bundle));
        observation =
          passages.map((p) => `[${p.entryId}] ${p.text.slice(0, 200)}`).join('\n') ||
          'nothing found';
        break;
      }
      case 'cost_estimate': {
        observation = observe(estimateCost(plan, deps.config.pricing));
        break;
      }
    }
    trace.push({
      cycle,
      thought: step.thought,
      tool: step.tool,
      input: step.input,
      observation: observe(observation),
    });
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
