import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_API_LIMITS,
  EXTERNAL_APIS,
  createLimiterFactory,
  isRateLimited,
  limiterSettings,
  rateLimitDelay,
  type LimiterFactory,
} from '../../../src/pool/limiters.js';
import { maxInWindow } from '../../support/timing.js';

interface FakeApi {
  url: string;
  /** Arrival times (ms, Date.now()) of every request, the throttled ones included. */
  arrivals: number[];
  /** When each 429 was sent. */
  throttledAt: number[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP API that answers 429 with retry-after: 1 to every request arriving within
 * `throttleMs` of its first one (a burst it will not take), and 200 afterwards.
 */
async function startFakeApi(throttleMs: number): Promise<FakeApi> {
  const arrivals: number[] = [];
  const throttledAt: number[] = [];
  const server: Server = createServer((_req, res) => {
    const now = Date.now();
    arrivals.push(now);
    if (now - arrivals[0]! < throttleMs) {
      throttledAt.push(Date.now());
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end('{"status":"error","error":"too many requests"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"success"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/v1/query`,
    arrivals,
    throttledAt,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An error shaped like the ones HTTP clients throw: status plus the response headers. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
  ) {
    super(`HTTP ${status}`);
  }
}

async function get(url: string): Promise<string> {
  const response = await fetch(url);
  const body = await response.text();
  if (!response.ok) throw new HttpError(response.status, response.headers);
  return body;
}

describe('pool/limiters', () => {
  let factory: LimiterFactory | undefined;

  afterEach(async () => {
    await factory?.close();
    factory = undefined;
  });

  describe('for(api) against an HTTP API that answers 429', () => {
    let api: FakeApi;

    beforeEach(async () => {
      api = await startFakeApi(200);
    });

    afterEach(async () => {
      await api.close();
    });

    it('keeps every 1-s window within perSecond + burst, honours retry-after, and completes all calls', async () => {
      const pausedAt: number[] = [];
      const started: number[] = [];
      const waits: number[] = [];
      factory = createLimiterFactory({
        limits: { prometheus: { perSecond: 20, burst: 5, maxConcurrent: 10 } },
        onThrottled: (name, ms) => {
          expect([name, ms]).toEqual(['prometheus', 1000]);
          pausedAt.push(Date.now());
        },
        onWait: (_name, ms) => waits.push(ms),
      });
      const limiter = factory.for('prometheus');

      const results = await Promise.all(
        Array.from({ length: 60 }, () =>
          limiter.schedule(() => {
            started.push(Date.now());
            return get(api.url);
          }),
        ),
      );

      expect(results.filter((body) => body.includes('success'))).toHaveLength(60);
      expect(api.throttledAt.length).toBeGreaterThanOrEqual(1);
      expect(pausedAt).toHaveLength(api.throttledAt.length);
      expect(started).toHaveLength(60 + api.throttledAt.length);
      expect(api.arrivals).toHaveLength(started.length);
      expect(waits).toHaveLength(60);
      // The limiter starts calls; no window of a second sees more than the rate plus the burst,
      // the retries included.
      expect(maxInWindow(started, 1000)).toBeLessThanOrEqual(20 + 5);
      // Tolerance for the server's stamps: a request reaches it a few ms after it started (tens
      // on a cold connection), so its windows are 50 ms short of a second.
      expect(maxInWindow(api.arrivals, 950)).toBeLessThanOrEqual(20 + 5);
      // No call starts from the first 429 until its retry-after second is over.
      const pause = pausedAt[0]!;
      expect(started.filter((t) => t >= pause && t < pause + 1000)).toEqual([]);
      // Nor reaches the server, bar requests already on the wire (200 ms for a cold connection).
      expect(api.arrivals.filter((t) => t >= pause + 200 && t < pause + 1000)).toEqual([]);
      // Then the calls go on at the rate: ≥ 50 more calls at 20/s after the pause.
      expect(Math.max(...started) - pause).toBeGreaterThanOrEqual(1000 + 2000);
    });

    it('gives up after `retries` and rethrows the rate-limit answer', async () => {
      factory = createLimiterFactory({ limits: { proxmox: { perSecond: 100, burst: 25 } } });

      const failure = factory.for('proxmox').schedule(() => get(api.url), { retries: 0 });

      await expect(failure).rejects.toMatchObject({ status: 429 });
      expect(api.arrivals).toHaveLength(1);
    });

    it('rethrows other failures at once, without retrying', async () => {
      factory = createLimiterFactory();
      let calls = 0;

      const failure = factory.for('kubernetes').schedule(async () => {
        calls++;
        throw Object.assign(new Error('forbidden'), { status: 403 });
      });

      await expect(failure).rejects.toThrow('forbidden');
      expect(calls).toBe(1);
    });
  });

  it('paces evenly at 1/perSecond when there is no burst', async () => {
    factory = createLimiterFactory({ limits: { anthropic: { perSecond: 10 } } });
    const limiter = factory.for('anthropic');
    const started: number[] = [];

    await Promise.all(
      Array.from({ length: 6 }, () => limiter.schedule(async () => started.push(Date.now()))),
    );

    // Bottleneck spaces the dispatches exactly 100 ms apart; the moment a job's body runs
    // after its dispatch jitters by a few ms (more on a busy machine), so one gap can look
    // short when the call before it ran late. The schedule itself must still hold: the k-th
    // call never starts before k intervals have passed, and no gap comes near a burst.
    const gaps = started.slice(1).map((t, i) => t - started[i]!);
    started.forEach((t, k) => expect(t - started[0]!).toBeGreaterThanOrEqual(k * 100 - 10));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(70);
  });

  it('holds maxConcurrent calls in flight at most', async () => {
    factory = createLimiterFactory({
      limits: { proxmox: { maxConcurrent: 2 } },
    });
    const limiter = factory.for('proxmox');
    let running = 0;
    let most = 0;

    await Promise.all(
      Array.from({ length: 6 }, () =>
        limiter.schedule(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 20));
          running--;
        }),
      ),
    );

    expect(most).toBe(2);
  });

  it('returns one shared limiter per API', () => {
    factory = createLimiterFactory();

    expect(factory.for('github')).toBe(factory.for('github'));
    expect(factory.for('github')).not.toBe(factory.for('proxmox'));
    expect(factory.clustered).toBe(false);
  });

  it('close() rejects calls still waiting and refuses new ones', async () => {
    factory = createLimiterFactory({ limits: { proxmox: { perSecond: 1 } } });
    const limiter = factory.for('proxmox');
    await limiter.schedule(async () => 'first');
    const waiting = expect(limiter.schedule(async () => 'never')).rejects.toThrow(/stopped/);

    await factory.close();

    await waiting;
    await expect(limiter.schedule(async () => 'late')).rejects.toThrow(/stopped/);
    expect(() => factory!.bottleneck('x', {})).toThrow(/closed/);
  });

  describe('options', () => {
    it.each([
      [{ github: { perSecond: 0 } }, 'limits.github.perSecond: expected a positive number'],
      [{ proxmox: { maxConcurrent: 1.5 } }, 'limits.proxmox.maxConcurrent: expected a positive'],
      [{ kubernetes: { burst: -1 } }, 'limits.kubernetes.burst: expected a positive whole'],
      [{ gitlab: {} }, 'limits.gitlab: expected one of github, anthropic'],
    ])('rejects %j', (limits, message) => {
      expect(() => createLimiterFactory({ limits: limits as never })).toThrow(message);
    });

    it('rejects a Redis URL it cannot use without echoing it', () => {
      expect(() =>
        createLimiterFactory({ redis: { url: 'http://user:secret@example.com' } }),
      ).toThrow(/^redis\.url: expected a URL such as redis:\/\/127\.0\.0\.1:6379(?!.*secret)/);
    });

    it('rejects a weight or retries that are not whole numbers', async () => {
      factory = createLimiterFactory();
      const limiter = factory.for('github');

      await expect(limiter.schedule(async () => 1, { weight: 0.5 })).rejects.toThrow(
        'weight: expected a whole number',
      );
      await expect(limiter.schedule(async () => 1, { retries: -1 })).rejects.toThrow(
        'retries: expected a whole number',
      );
    });
  });

  describe('limiterSettings', () => {
    it.each([
      [{}, { maxConcurrent: null }],
      [{ maxConcurrent: 3 }, { maxConcurrent: 3 }],
      [{ perSecond: 20 }, { maxConcurrent: null, minTime: 50 }],
      [{ perSecond: 50 / 60 }, { maxConcurrent: null, minTime: 1200 }],
      [
        { perSecond: 20, burst: 20 },
        {
          maxConcurrent: null,
          reservoir: 20,
          reservoirIncreaseAmount: 5,
          reservoirIncreaseInterval: 250,
          reservoirIncreaseMaximum: 20,
        },
      ],
      [
        { perSecond: 10, burst: 20, maxConcurrent: 10 },
        {
          maxConcurrent: 10,
          reservoir: 20,
          reservoirIncreaseAmount: 5,
          reservoirIncreaseInterval: 500,
          reservoirIncreaseMaximum: 20,
        },
      ],
      [
        { perSecond: 5, burst: 10 },
        {
          maxConcurrent: null,
          reservoir: 10,
          reservoirIncreaseAmount: 5,
          reservoirIncreaseInterval: 1000,
          reservoirIncreaseMaximum: 10,
        },
      ],
      // No whole refill per 250/500/1000 ms fits the burst: evenly spaced instead.
      [
        { perSecond: 100, burst: 5 },
        { maxConcurrent: null, minTime: 10 },
      ],
      [
        { perSecond: 1.5, burst: 3 },
        { maxConcurrent: null, minTime: 667 },
      ],
    ])('%j → %j', (limits, settings) => {
      expect(limiterSettings(limits)).toEqual(settings);
    });

    it('gives every external API valid defaults', () => {
      for (const api of EXTERNAL_APIS) {
        expect(() =>
          createLimiterFactory({ limits: { [api]: DEFAULT_API_LIMITS[api] } }),
        ).not.toThrow();
        expect(DEFAULT_API_LIMITS[api].perSecond).toBeGreaterThan(0);
      }
    });
  });

  describe('rateLimitDelay', () => {
    const NOW = Date.parse('2025-06-01T12:00:00Z');
    const headers = (h: Record<string, string>): Headers => new Headers(h);

    it.each<[string, unknown, number | undefined]>([
      [
        '429 with retry-after seconds',
        { status: 429, headers: headers({ 'retry-after': '3' }) },
        3000,
      ],
      ['429 with fractional seconds', { status: 429, headers: { 'Retry-After': '0.5' } }, 500],
      [
        '429 with an HTTP date',
        { status: 429, headers: { 'retry-after': 'Sun, 01 Jun 2025 12:00:10 GMT' } },
        10_000,
      ],
      [
        '429 with a date already past',
        { status: 429, headers: { 'retry-after': 'Sun, 01 Jun 2025 11:00:00 GMT' } },
        0,
      ],
      [
        'Anthropic retry-after-ms',
        { status: 429, headers: headers({ 'retry-after-ms': '1250', 'retry-after': '2' }) },
        1250,
      ],
      ['Anthropic 529 overloaded, no header', { status: 529, headers: headers({}) }, undefined],
      ['429 without a header (back off)', { status: 429 }, undefined],
      [
        'Octokit primary limit: 403, remaining 0, reset',
        {
          status: 403,
          response: {
            headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 + 42) },
          },
        },
        42_000,
      ],
      [
        'Octokit secondary limit with retry-after',
        {
          status: 403,
          response: { headers: { 'retry-after': '60' } },
          message: 'You have exceeded a secondary rate limit',
        },
        60_000,
      ],
      [
        'GitHub secondary limit without headers',
        { status: 403, message: 'You have exceeded a secondary rate limit.' },
        60_000,
      ],
      [
        '503 with retry-after (Kubernetes APF)',
        { statusCode: 503, headers: { 'retry-after': '1' } },
        1000,
      ],
      ['client-node ApiException 429', { code: 429, headers: { 'retry-after': '2' } }, 2000],
      ['503 without retry-after: not a rate limit', { status: 503 }, undefined],
      [
        '403 forbidden: not a rate limit',
        { status: 403, headers: { 'x-ratelimit-remaining': '4999' } },
        undefined,
      ],
      ['500', { status: 500, headers: { 'retry-after': '1' } }, undefined],
      ['a plain Error', new Error('boom'), undefined],
      ['a string', 'nope', undefined],
      ['null', null, undefined],
    ])('%s', (_name, error, delay) => {
      expect(rateLimitDelay(error, NOW)).toBe(delay);
    });

    it.each<[unknown, boolean]>([
      [{ status: 429 }, true],
      [{ status: 529 }, true],
      [{ status: 503, headers: { 'retry-after': '1' } }, true],
      [{ status: 503 }, false],
      [{ status: 403, response: { headers: { 'x-ratelimit-remaining': '0' } } }, true],
      [{ status: 403 }, false],
      [{ response: { status: 429, headers: {} } }, true],
      [new Map([['status', 429]]), false],
    ])('isRateLimited(%j) = %s', (error, limited) => {
      expect(isRateLimited(error)).toBe(limited);
    });
  });
});
