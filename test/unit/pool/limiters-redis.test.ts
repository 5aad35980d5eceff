import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import { createLimiterFactory, type LimiterFactory } from '../../../src/pool/limiters.js';
import { maxInWindow } from '../../support/timing.js';

interface FakeApi {
  url: string;
  arrivals: number[];
  close(): Promise<void>;
}

/** Loopback API: 429 (retry-after: 1) within `throttleMs` of its first request, 200 after. */
async function startFakeApi(throttleMs = 0): Promise<FakeApi> {
  const arrivals: number[] = [];
  const server: Server = createServer((_req, res) => {
    const now = Date.now();
    arrivals.push(now);
    const throttled = now - arrivals[0]! < throttleMs;
    res.writeHead(throttled ? 429 : 200, throttled ? { 'retry-after': '1' } : {});
    res.end(throttled ? 'slow down' : 'ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    arrivals,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function get(url: string): Promise<string> {
  const response = await fetch(url);
  const body = await response.text();
  if (!response.ok)
    throw Object.assign(new Error(`HTTP ${response.status}`), {
      status: response.status,
      headers: response.headers,
    });
  return body;
}

describe('pool/limiters clustered on Redis', () => {
  let redis: RedisServer;
  let api: FakeApi;
  let factories: LimiterFactory[] = [];
  let prefixes = 0;

  /** A "bot instance": its own factory and Redis connection, the prefix shared per test. */
  function instance(options: Parameters<typeof createLimiterFactory>[0] = {}): LimiterFactory {
    const factory = createLimiterFactory({
      redis: { url: redis.url, prefix: `t${prefixes}` },
      ...options,
    });
    factories.push(factory);
    return factory;
  }

  beforeAll(async () => {
    redis = await startRedis({ appendOnly: false });
  });

  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    prefixes++;
    api = await startFakeApi();
  });

  afterEach(async () => {
    await Promise.all(factories.map((f) => f.close()));
    factories = [];
    await api.close();
  });

  it('holds two instances together to perSecond, evenly spaced', async () => {
    const limits = { prometheus: { perSecond: 10, burst: 1, maxConcurrent: 5 } };
    const [a, b] = [instance({ limits }), instance({ limits })];
    const started: number[] = [];
    const call = (): Promise<string> => {
      started.push(Date.now());
      return get(api.url);
    };

    await Promise.all(
      [a!, b!].flatMap((f) => Array.from({ length: 12 }, () => f.for('prometheus').schedule(call))),
    );

    expect(a!.clustered && b!.clustered).toBe(true);
    expect(api.arrivals).toHaveLength(24);
    expect(maxInWindow(started, 1000)).toBeLessThanOrEqual(10 + 1);
    // Tolerance: server stamps trail the start by a few ms.
    expect(maxInWindow(api.arrivals, 950)).toBeLessThanOrEqual(10 + 1);
    // Alone, each instance would have finished its 12 in 1.1 s; together they need 2.3 s.
    expect(Math.max(...started) - Math.min(...started)).toBeGreaterThanOrEqual(2200);
  });

  it('shares one token bucket: a burst, then the refill rate, across instances', async () => {
    const limits = { github: { perSecond: 10, burst: 5, maxConcurrent: 10 } };
    const [a, b] = [instance({ limits }), instance({ limits })];
    const started: number[] = [];
    const call = async (): Promise<void> => {
      started.push(Date.now());
    };
    // Both instances' limiters exist (and the shared bucket, full again) before the burst.
    await Promise.all([a!.for('github').schedule(call), b!.for('github').schedule(call)]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    started.length = 0;

    await Promise.all(
      [a!, b!].flatMap((f) => Array.from({ length: 10 }, () => f.for('github').schedule(call))),
    );

    expect(started).toHaveLength(20);
    expect(maxInWindow(started, 1000)).toBeLessThanOrEqual(10 + 5);
    // 5 at once, then 5 every 500 ms: the 20th starts ≥ 1.5 s after the first (one refill early
    // at most, as the refill grid does not start with the burst).
    expect(Math.max(...started) - Math.min(...started)).toBeGreaterThanOrEqual(1000);
  });

  it("pauses every instance when one is answered 429, for the answer's retry-after", async () => {
    await api.close();
    api = await startFakeApi(150);
    let pausedAt = 0;
    const a = instance({
      onThrottled: () => {
        pausedAt = Date.now();
      },
    });
    const b = instance();
    const startedOnB: number[] = [];
    // Both limiters are subscribed before the 429 comes.
    await b.for('kubernetes').schedule(async () => undefined);

    const retried = a.for('kubernetes').schedule(() => get(api.url));
    for (let i = 0; i < 100 && pausedAt === 0; i++) await new Promise((r) => setTimeout(r, 10));
    // Long enough for the pause message to cross Redis pub/sub, well inside the pause.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all(
      Array.from({ length: 3 }, () =>
        b.for('kubernetes').schedule(async () => {
          startedOnB.push(Date.now());
        }),
      ),
    );

    await expect(retried).resolves.toBe('ok');
    expect(pausedAt).toBeGreaterThan(0);
    expect(startedOnB).toHaveLength(3);
    expect(Math.min(...startedOnB)).toBeGreaterThanOrEqual(pausedAt + 1000);
  });

  it('keeps working across a Redis restart that loses its state', async () => {
    const errors: unknown[] = [];
    const factory = instance({
      limits: { proxmox: { perSecond: 20, maxConcurrent: 2 } },
      onError: (e) => errors.push(e),
    });
    const limiter = factory.for('proxmox');
    await limiter.schedule(() => get(api.url));

    await redis.restart({ keepData: false, downMs: 200 });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => limiter.schedule(() => get(api.url))),
    );

    expect(results).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(api.arrivals).toHaveLength(5);
  });

  it('adopts the limits of the newest instance, whatever the state in Redis says', async () => {
    const old = instance({ limits: { anthropic: { perSecond: 20, burst: 20 } } });
    await old.for('anthropic').schedule(async () => undefined);
    await old.close();
    const upgraded = instance({ limits: { anthropic: { perSecond: 4, burst: 1 } } });
    const started: number[] = [];

    await Promise.all(
      Array.from({ length: 3 }, () =>
        upgraded.for('anthropic').schedule(async () => {
          started.push(Date.now());
        }),
      ),
    );

    // 250 ms apart (4/s evenly), not a burst of 20 from the bucket the old instance left behind.
    expect(started[2]! - started[0]!).toBeGreaterThanOrEqual(2 * 250 - 10);
  });

  it('namespaces limiters by prefix: another prefix is not held back', async () => {
    // 0.5/s holds a second call for 2 s, far above a busy machine's scheduling noise.
    const limits = { proxmox: { perSecond: 0.5, burst: 1 } };
    const a = instance({ limits });
    prefixes++;
    const other = instance({ limits });
    await a.for('proxmox').schedule(async () => undefined);
    const t0 = Date.now();

    await other.for('proxmox').schedule(async () => undefined);

    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
