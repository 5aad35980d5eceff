import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import { createLimiterFactory, type LimiterFactory } from '../../../src/pool/limiters.js';
import { createLlmLimiter, type LlmLimiter } from '../../../src/reasoners/llm/limiter.js';

// Bottleneck sees a Redis refill on its next script call, at the latest on the heartbeat the
// factory sets to the refill interval: a refill lands up to one interval late.
const REFRESH_MS = 500;

describe('reasoners/llm/limiter clustered on Redis', () => {
  let redis: RedisServer;
  const factories: LimiterFactory[] = [];
  const limiters: LlmLimiter[] = [];

  beforeAll(async () => {
    redis = await startRedis({ appendOnly: false });
  });

  afterAll(async () => {
    await Promise.all(limiters.map((l) => l.stop()));
    await Promise.all(factories.map((f) => f.close()));
    await redis.stop();
  });

  function instance(): LlmLimiter {
    const factory = createLimiterFactory({ redis: { url: redis.url, prefix: 'llm' } });
    factories.push(factory);
    const limiter = createLlmLimiter(
      { requestsPerMinute: 3, tokensPerMinute: 1_000_000, maxConcurrent: 2 },
      { factory, refreshIntervalMs: REFRESH_MS },
    );
    limiters.push(limiter);
    return limiter;
  }

  it('spends one request budget across two instances', async () => {
    const [a, b] = [instance(), instance()];
    const t0 = Date.now();
    const startedAt = async (): Promise<number> => Date.now() - t0;

    const started = await Promise.all([
      a.schedule(10, startedAt),
      a.schedule(10, startedAt),
      b.schedule(10, startedAt),
      b.schedule(10, startedAt),
    ]);

    // 3 requests a "minute" between them: the fourth waits for the refresh, whichever holds it.
    const sorted = [...started].sort((x, y) => x - y);
    expect(sorted[2]).toBeLessThan(REFRESH_MS - 100);
    expect(sorted[3]).toBeGreaterThanOrEqual(REFRESH_MS - 150);
    expect(sorted[3]).toBeLessThan(3 * REFRESH_MS);
    expect(a.stats().scheduled + b.stats().scheduled).toBe(4);
  });
});
