import { createLimiterFactory } from '../../../src/pool/limiters.js';
import { createLlmLimiter, type LlmLimiter } from '../../../src/reasoners/llm/limiter.js';
import { createReasoners } from '../../../src/reasoners/select.js';
import { fakeRetriever } from '../../support/plan-fixtures.js';

// Bottleneck refills on a 250 ms heartbeat, so a refill lands up to 250 ms after its interval.
const REFRESH_MS = 300;

let limiters: LlmLimiter[] = [];

function limiter(...args: Parameters<typeof createLlmLimiter>): LlmLimiter {
  const l = createLlmLimiter(...args);
  limiters.push(l);
  return l;
}

afterEach(async () => {
  await Promise.all(limiters.map((l) => l.stop()));
  limiters = [];
});

/** Schedules jobs at once and returns when each started, in ms after scheduling. */
async function startTimes(l: LlmLimiter, weights: number[]): Promise<number[]> {
  const t0 = Date.now();
  return Promise.all(weights.map((w) => l.schedule(w, async () => Date.now() - t0)));
}

describe('reasoners/llm/limiter', () => {
  it('holds the request over requestsPerMinute until the reservoir refills', async () => {
    const l = limiter(
      { requestsPerMinute: 3, tokensPerMinute: 1_000_000 },
      { refreshIntervalMs: REFRESH_MS },
    );

    const started = await startTimes(l, [1, 1, 1, 1]);

    expect(started.slice(0, 3).every((ms) => ms < REFRESH_MS - 100)).toBe(true);
    expect(started[3]).toBeGreaterThanOrEqual(REFRESH_MS - 50);
    expect(started[3]).toBeLessThan(1500);
    expect(l.stats().scheduled).toBe(4);
    expect(l.stats().waitedMs).toBeGreaterThanOrEqual(REFRESH_MS - 50);
  });

  it('weighs each job by its estimated tokens', async () => {
    const l = limiter(
      { requestsPerMinute: 100, tokensPerMinute: 100 },
      { refreshIntervalMs: REFRESH_MS },
    );

    const [first, second] = await startTimes(l, [60, 60]);

    expect(first).toBeLessThan(REFRESH_MS - 100);
    expect(second).toBeGreaterThanOrEqual(REFRESH_MS - 50);
  });

  it('lets light jobs through together when their tokens fit the budget', async () => {
    const l = limiter(
      { requestsPerMinute: 100, tokensPerMinute: 100 },
      { refreshIntervalMs: REFRESH_MS },
    );

    const started = await startTimes(l, [30, 30, 30]);

    expect(Math.max(...started)).toBeLessThan(REFRESH_MS - 100);
  });

  it('clamps a prompt larger than a whole minute of tokens so it still runs', async () => {
    const l = limiter(
      { requestsPerMinute: 10, tokensPerMinute: 100 },
      { refreshIntervalMs: 60_000 },
    );

    const [started] = await startTimes(l, [5000]);

    // Held for a refill it would wait a whole minute; seconds of slack for a busy machine.
    expect(started).toBeLessThan(5_000);
  });

  it('measures waits with the given clock', async () => {
    let now = 0;
    const l = limiter(
      { requestsPerMinute: 10, tokensPerMinute: 1000 },
      { clock: () => (now += 100) },
    );

    await l.schedule(1, async () => 'a');
    await l.schedule(1, async () => 'b');

    // Each job reads the clock when queued and when started: 100 ms apart.
    expect(l.stats()).toEqual({ scheduled: 2, waitedMs: 200 });
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => createLlmLimiter({ requestsPerMinute: 0, tokensPerMinute: 10 })).toThrow(
      /requestsPerMinute/,
    );
    expect(() => createLlmLimiter({ requestsPerMinute: 1, tokensPerMinute: 1.5 })).toThrow(
      /tokensPerMinute/,
    );
  });

  it('stop() drops waiting jobs, refuses new ones and leaves no timer behind', async () => {
    const l = createLlmLimiter(
      { requestsPerMinute: 1, tokensPerMinute: 1000 },
      { refreshIntervalMs: 60_000 },
    );
    await l.schedule(1, async () => 'ran');
    const waiting = expect(l.schedule(1, async () => 'never')).rejects.toThrow(/stopped/);

    await l.stop();

    await waiting;
    await expect(l.schedule(1, async () => 'late')).rejects.toThrow(/stopped/);
  });
});

describe('reasoners/select with a limiter factory', () => {
  it('builds the Claude request and token budgets through the factory it is given', async () => {
    const factory = createLimiterFactory();
    const ids: string[] = [];
    const spy = {
      ...factory,
      bottleneck: (id: string, options: Parameters<typeof factory.bottleneck>[1]) => {
        ids.push(id);
        return factory.bottleneck(id, options);
      },
    };

    const setup = await createReasoners(
      'claude',
      fakeRetriever(),
      { ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef' },
      spy,
    );

    expect(setup.kind).toBe('done');
    expect(ids.sort()).toEqual(['anthropic-requests', 'anthropic-tokens']);
    if (setup.kind === 'done') await setup.value.close();
    await factory.close();
  });
});
