import type { FakeCall } from '../../../src/bench/fake-messages-api.js';
import { costOfCalls } from '../../../src/bench/llm.js';

function call(model: string, usage?: FakeCall['usage']): FakeCall {
  return {
    index: 0,
    atMs: 0,
    headers: {},
    body: { model },
    status: usage === undefined ? 529 : 200,
    ...(usage === undefined ? {} : { usage }),
    behaviour: usage === undefined ? 'status' : 'answer',
  };
}

describe('bench/llm costOfCalls', () => {
  it('sums the tokens the server reported and prices each call by its model', () => {
    const cost = costOfCalls('orders', [
      // Sonnet 4.6: $3 in, $15 out, cache reads $0.30, writes $3.75 per million tokens.
      call('claude-sonnet-4-6', {
        input_tokens: 1_000_000,
        output_tokens: 100_000,
        cache_read_input_tokens: 1_000_000,
        cache_creation_input_tokens: 0,
      }),
      // Haiku 4.5: $1 in, writes $1.25 per million tokens.
      call('claude-haiku-4-5', {
        input_tokens: 500_000,
        output_tokens: 0,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 1_000_000,
      }),
      // A failed call is a call, with no tokens.
      call('claude-haiku-4-5'),
    ]);

    expect(cost).toEqual({
      service: 'orders',
      calls: 3,
      inputTokens: 1_500_000,
      cacheReadTokens: 1_000_000,
      cacheWriteTokens: 1_000_000,
      outputTokens: 100_000,
      estimatedUsd: expect.any(Number),
    });
    expect(cost.estimatedUsd).toBeCloseTo(3 + 1.5 + 0.3 + 0.5 + 1.25, 10);
  });
});
