import {
  MODEL_PRICES,
  priceFor,
  UsageLedger,
  type CallRecord,
} from '../../../src/reasoners/llm/usage.js';

function call(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    service: 'orders',
    agent: 'prediction',
    model: 'claude-haiku-4-5',
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    ms: 10,
    outcome: 'ok',
    ...overrides,
  };
}

describe('reasoners/llm/usage priceFor', () => {
  it.each([
    ['claude-haiku-4-5', 1, 5],
    ['claude-haiku-4-5-20251001', 1, 5],
    ['claude-sonnet-4-20250514', 3, 15],
    ['claude-sonnet-4-5', 3, 15],
    ['claude-sonnet-4-6', 3, 15],
    ['claude-opus-4-20250514', 15, 75],
    ['claude-opus-4-1-20250805', 15, 75],
    ['claude-opus-4-5-20251101', 5, 25],
    ['claude-opus-4-6', 5, 25],
    ['claude-opus-4-7', 5, 25],
  ])(
    '%s costs $%d in and $%d out per million tokens (longest prefix wins)',
    (model, input, output) => {
      const { price, known } = priceFor(model);

      expect(known).toBe(true);
      expect(price.inputPerMTok).toBe(input);
      expect(price.outputPerMTok).toBe(output);
      // Anthropic's prompt caching: writes 1.25× input, reads 0.1× input.
      expect(price.cacheWritePerMTok).toBeCloseTo(input * 1.25, 10);
      expect(price.cacheReadPerMTok).toBeCloseTo(input * 0.1, 10);
    },
  );

  it('prices an unknown model at the Sonnet price and says it is unknown', () => {
    expect(priceFor('some-other-model')).toEqual({
      price: MODEL_PRICES['claude-sonnet-4'],
      known: false,
    });
  });
});

describe('reasoners/llm/usage UsageLedger', () => {
  it('sums tokens and cost over every call, failed ones included', () => {
    const ledger = new UsageLedger();

    ledger.record(call({ inputTokens: 1_000_000 }));
    ledger.record(call({ outputTokens: 1_000_000, outcome: 'repaired' }));
    ledger.record(call({ cacheWriteTokens: 1_000_000, cacheReadTokens: 1_000_000 }));
    ledger.record(call({ outcome: 'error', error: '429 rate limited after 3 retries' }));

    const totals = ledger.totals();
    expect(totals).toEqual({
      calls: 4,
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
      cacheReadTokens: 1_000_000,
      cacheWriteTokens: 1_000_000,
      estimatedUsd: expect.any(Number),
    });
    // Haiku 4.5: $1 input + $5 output + $1.25 cache write + $0.10 cache read.
    expect(totals.estimatedUsd).toBeCloseTo(7.35, 10);
  });

  it('groups by service and by model, each with its own price', () => {
    const ledger = new UsageLedger();

    ledger.record(call({ service: 'orders', model: 'claude-haiku-4-5', inputTokens: 1000 }));
    ledger.record(call({ service: 'orders', model: 'claude-sonnet-4-6', inputTokens: 1000 }));
    ledger.record(call({ service: 'web', model: 'claude-sonnet-4-6', outputTokens: 2000 }));
    ledger.record(call({ service: undefined, model: 'claude-haiku-4-5' }));

    const byService = ledger.byService();
    expect(Object.keys(byService).sort()).toEqual(['(no service)', 'orders', 'web']);
    expect(byService.orders!.calls).toBe(2);
    expect(byService.orders!.estimatedUsd).toBeCloseTo((1000 * 1 + 1000 * 3) / 1e6, 12);
    expect(byService.web!.estimatedUsd).toBeCloseTo((2000 * 15) / 1e6, 12);
    const byModel = ledger.byModel();
    expect(byModel['claude-haiku-4-5']!.calls).toBe(2);
    expect(byModel['claude-sonnet-4-6']!).toMatchObject({
      calls: 2,
      inputTokens: 1000,
      outputTokens: 2000,
    });
  });

  it('keeps its own copy of each record', () => {
    const ledger = new UsageLedger();
    const record = call({ inputTokens: 5 });

    ledger.record(record);
    record.inputTokens = 500;

    expect(ledger.records[0]!.inputTokens).toBe(5);
    expect(ledger.totals().inputTokens).toBe(5);
  });
});
