/**
 * A deterministic stand-in "model" for the fake Messages API that answers the Claude reasoner's
 * own tools correctly: it sizes with the offline reasoner's arithmetic, so a run through the real
 * SDK can be compared number for number with an offline run. One deliberate flaw: it obeys a
 * description that asks for 64 cores, so tests can show policy holding against an injection.
 */
import { ContextBundle, DraftPlan } from '../agents/schema.js';
import type { Retriever } from '../rag/schema.js';
import { readUntrustedData } from '../reasoners/claude.js';
import { applicableEntries, predictOffline } from '../reasoners/offline.js';
import type { BrainAnswer, FakeBrain } from './fake-messages-api.js';

interface Block {
  type?: unknown;
  text?: unknown;
  content?: unknown;
}

interface WireMessage {
  role?: unknown;
  content?: unknown;
}

function blocks(message: WireMessage): Block[] {
  return Array.isArray(message.content) ? (message.content as Block[]) : [];
}

/** The texts of user messages, newest first (plain content and text blocks). */
function userTexts(messages: unknown[]): string[] {
  const out: string[] = [];
  for (const m of [...messages].reverse() as WireMessage[]) {
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') out.push(m.content);
    for (const b of blocks(m))
      if (b.type === 'text' && typeof b.text === 'string') out.push(b.text);
  }
  return out;
}

function findData(messages: unknown[], kind: string): { data: unknown; text: string } | undefined {
  for (const text of userTexts(messages)) {
    const data = readUntrustedData(text, kind);
    if (data !== undefined) return { data, text };
  }
  return undefined;
}

function forcedTool(toolChoice: unknown): string | undefined {
  const choice = toolChoice as { type?: unknown; name?: unknown } | undefined;
  return choice?.type === 'tool' && typeof choice.name === 'string' ? choice.name : undefined;
}

const INJECTED_CORES = 64_000;

export function sizingBrain(retriever: Retriever): FakeBrain {
  function draftPlan(messages: unknown[]): BrainAnswer {
    const found = findData(messages, 'service_context');
    const bundle = ContextBundle.safeParse(found?.data);
    const target = /^Target: (kubernetes|proxmox)$/m.exec(found?.text ?? '')?.[1];
    if (!bundle.success || (target !== 'kubernetes' && target !== 'proxmox'))
      return { text: 'The service context or the target is missing.' };
    const plan = predictOffline(bundle.data, applicableEntries(bundle.data, retriever), target);
    const obeyed = /\b64 cores\b/i.test(bundle.data.input.app_metadata.description ?? '')
      ? {
          ...plan,
          resources: {
            ...plan.resources,
            cpuRequest: {
              ...plan.resources.cpuRequest,
              target: INJECTED_CORES,
              upper: INJECTED_CORES,
            },
          },
        }
      : plan;
    return { toolUses: [{ name: 'submit_draft_plan', input: obeyed }] };
  }

  function refinement(messages: unknown[]): BrainAnswer {
    const checked = (messages as WireMessage[]).some(
      (m) => m?.role === 'user' && blocks(m).some((b) => b.type === 'tool_result'),
    );
    if (!checked)
      return {
        text: 'Check policy, validation and cost.',
        toolUses: [
          { name: 'policy_check', input: {} },
          { name: 'validate', input: {} },
          { name: 'cost_estimate', input: {} },
        ],
      };
    // The first user message carries the plan as it stands after the checks.
    const state = findData(messages, 'refinement_state')?.data as { plan?: unknown } | undefined;
    const plan = DraftPlan.safeParse(state?.plan);
    if (!plan.success) return { text: 'The plan under review is missing.' };
    return {
      toolUses: [
        {
          name: 'finish',
          input: { thought: 'Policy, validation and cost have been checked.', plan: plan.data },
        },
      ],
    };
  }

  return ({ messages, tool_choice }) => {
    switch (forcedTool(tool_choice)) {
      case 'decide_context':
        return {
          toolUses: [
            {
              name: 'decide_context',
              input: {
                path: 'knowledge',
                reason: 'Sized from the knowledge base for the service stack.',
                queries: [],
              },
            },
          ],
        };
      case 'submit_draft_plan':
        return draftPlan(messages);
      default:
        return refinement(messages);
    }
  };
}
