/**
 * Which reasoner a job uses: Claude when asked for (or, unasked, when ANTHROPIC_API_KEY is set),
 * otherwise the offline reasoner. Both targets share one client, limiter and ledger, so a job's
 * calls, tokens and cost are counted once; each Claude reasoner falls back to an offline one.
 * Given the process's limiter factory, the request and token budgets are built through it (and so
 * shared by every instance when it is clustered on Redis); without one they are private.
 */
import { done, type Outcome } from '../outcome.js';
import type { LimiterFactory } from '../pool/limiters.js';
import type { Retriever } from '../rag/schema.js';
import type { LlmUsage } from '../render/plan-document.js';
import {
  claudeSettingsFromEnv,
  createAnthropicClient,
  createClaudeReasoner,
  type ClaudeReasoner,
} from './claude.js';
import { createLlmLimiter } from './llm/limiter.js';
import { loadPrompts } from './llm/prompts.js';
import { priceFor, UsageLedger, type UsageTotals } from './llm/usage.js';
import { createOfflineReasoner } from './offline.js';
import type { Reasoner, ReasonerId } from './reasoner.js';

type SizingTarget = 'kubernetes' | 'proxmox';

export interface ReasonerSetup {
  id: ReasonerId;
  reasonerFor(target: SizingTarget): Reasoner;
  /** The job's model usage so far; undefined for the offline reasoner. */
  llmUsage(): LlmUsage | undefined;
  /** Releases the limiter's timers (the factory, when one was given, stays open: its owner closes it). */
  close(): Promise<void>;
}

/** `undefined` = choose: Claude when a key is set, else offline. */
export function chooseReasoner(
  asked: ReasonerId | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ReasonerId {
  if (asked !== undefined) return asked;
  return (env.ANTHROPIC_API_KEY ?? '').trim() === '' ? 'offline' : 'claude';
}

function offlineSetup(retriever: Retriever): ReasonerSetup {
  const reasoners = {
    kubernetes: createOfflineReasoner({ retriever, target: 'kubernetes' }),
    proxmox: createOfflineReasoner({ retriever, target: 'proxmox' }),
  };
  return {
    id: 'offline',
    reasonerFor: (target) => reasoners[target],
    llmUsage: () => undefined,
    close: async () => {},
  };
}

const roundTotals = (t: UsageTotals): UsageTotals => ({
  ...t,
  estimatedUsd: Math.round(t.estimatedUsd * 1e6) / 1e6,
});

export async function createReasoners(
  asked: ReasonerId | undefined,
  retriever: Retriever,
  env: NodeJS.ProcessEnv = process.env,
  limiters?: LimiterFactory,
): Promise<Outcome<ReasonerSetup>> {
  const id = chooseReasoner(asked, env);
  if (id === 'offline') return done(offlineSetup(retriever));

  const settings = claudeSettingsFromEnv(env);
  if (settings.kind !== 'done') return settings;
  const prompts = loadPrompts();
  if (prompts.kind !== 'done') return prompts;
  const client = createAnthropicClient(settings.value);
  const limiter = createLlmLimiter(
    settings.value.limits,
    limiters === undefined ? {} : { factory: limiters },
  );
  const ledger = new UsageLedger();
  const make = (target: SizingTarget): ClaudeReasoner =>
    createClaudeReasoner({
      client,
      settings: settings.value,
      prompts: prompts.value,
      retriever,
      target,
      limiter,
      ledger,
      fallback: createOfflineReasoner({ retriever, target }),
    });
  const reasoners = { kubernetes: make('kubernetes'), proxmox: make('proxmox') };
  return done({
    id: 'claude',
    reasonerFor: (target) => reasoners[target],
    llmUsage: () => {
      const byService = Object.fromEntries(
        Object.entries(ledger.byService()).map(([name, t]) => [name, roundTotals(t)]),
      );
      return {
        ...roundTotals(ledger.totals()),
        models: reasoners.kubernetes.models,
        prompts: reasoners.kubernetes.promptHashes,
        byService,
        fallbacks: [...reasoners.kubernetes.fallbacks(), ...reasoners.proxmox.fallbacks()],
        pricesKnown: Object.values(reasoners.kubernetes.models).every((m) => priceFor(m).known),
      };
    },
    close: () => limiter.stop(),
  });
}
