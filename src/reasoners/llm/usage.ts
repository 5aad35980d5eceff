/**
 * What the model calls of one run used and what they cost: one record per Messages API call
 * (failed ones too), summed by service and by model. The ledger belongs to one run; nothing here
 * is global, since a server plans many repositories at once.
 */
import type { LlmTotals } from '../../render/plan-document.js';
import type { PromptAgent } from './prompts.js';

/** The agent a call was for: one per prompt. */
export type CallAgent = PromptAgent;

export interface CallRecord {
  service?: string;
  agent: CallAgent;
  model: string;
  /** Uncached input: the API's usage.input_tokens already excludes cache reads and writes. */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  ms: number;
  /** ok: valid first time; repaired: valid after the repair turn; invalid: rejected answer; error: no answer. */
  outcome: 'ok' | 'repaired' | 'invalid' | 'error';
  error?: string;
}

/** Totals as the plan document publishes them (its `llm` field). */
export type UsageTotals = LlmTotals;

/** USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheWritePerMTok: number;
  cacheReadPerMTok: number;
}

/** Anthropic's prompt caching: a 5-minute cache write costs 1.25× input, a cache read 0.1×. */
function price(inputPerMTok: number, outputPerMTok: number): ModelPrice {
  return {
    inputPerMTok,
    outputPerMTok,
    cacheWritePerMTok: inputPerMTok * 1.25,
    cacheReadPerMTok: inputPerMTok * 0.1,
  };
}

/**
 * List prices by model-id prefix; the longest matching prefix wins, so dated ids
 * (claude-opus-4-1-20250805) and the 4.5+ Opus price drop are both found.
 */
export const MODEL_PRICES: Record<string, ModelPrice> = {
  'claude-haiku-4-5': price(1, 5),
  'claude-sonnet-4': price(3, 15),
  'claude-opus-4': price(15, 75),
  'claude-opus-4-1': price(15, 75),
  'claude-opus-4-5': price(5, 25),
  'claude-opus-4-6': price(5, 25),
  'claude-opus-4-7': price(5, 25),
};

const UNKNOWN_MODEL_PRICE = MODEL_PRICES['claude-sonnet-4']!;

/** The price of a model; an unknown one is estimated at the Sonnet price and says so. */
export function priceFor(model: string): { price: ModelPrice; known: boolean } {
  let best: string | undefined;
  for (const prefix of Object.keys(MODEL_PRICES)) {
    if (model.startsWith(prefix) && (best === undefined || prefix.length > best.length))
      best = prefix;
  }
  return best === undefined
    ? { price: UNKNOWN_MODEL_PRICE, known: false }
    : { price: MODEL_PRICES[best]!, known: true };
}

type Tokens = Pick<
  CallRecord,
  'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens'
>;

export function estimateUsd(model: string, tokens: Tokens): number {
  const p = priceFor(model).price;
  return (
    (tokens.inputTokens * p.inputPerMTok +
      tokens.outputTokens * p.outputPerMTok +
      tokens.cacheWriteTokens * p.cacheWritePerMTok +
      tokens.cacheReadTokens * p.cacheReadPerMTok) /
    1_000_000
  );
}

function sum(records: readonly CallRecord[]): UsageTotals {
  const totals: UsageTotals = {
    calls: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    estimatedUsd: 0,
  };
  for (const r of records) {
    totals.calls++;
    totals.inputTokens += r.inputTokens;
    totals.outputTokens += r.outputTokens;
    totals.cacheReadTokens += r.cacheReadTokens;
    totals.cacheWriteTokens += r.cacheWriteTokens;
    totals.estimatedUsd += estimateUsd(r.model, r);
  }
  return totals;
}

function groupBy(
  records: readonly CallRecord[],
  key: (r: CallRecord) => string,
): Record<string, UsageTotals> {
  const groups = new Map<string, CallRecord[]>();
  for (const r of records) {
    const k = key(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return Object.fromEntries([...groups].map(([k, rs]) => [k, sum(rs)]));
}

/** Calls made without a service (none today) are grouped under this name. */
export const NO_SERVICE = '(no service)';

export class UsageLedger {
  private readonly list: CallRecord[] = [];

  record(call: CallRecord): void {
    this.list.push({ ...call });
  }

  get records(): readonly CallRecord[] {
    return this.list;
  }

  totals(): UsageTotals {
    return sum(this.list);
  }

  byService(): Record<string, UsageTotals> {
    return groupBy(this.list, (r) => r.service ?? NO_SERVICE);
  }

  byModel(): Record<string, UsageTotals> {
    return groupBy(this.list, (r) => r.model);
  }
}
