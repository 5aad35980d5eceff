import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProbotOctokit } from 'probot';
import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import { createLimiterFactory, type LimiterFactory } from '../../../src/pool/limiters.js';
import { githubWriteThrottle } from '../../../src/scm/throttle.js';

const QUIET = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

describe('scm/throttle clustered on Redis', () => {
  let redis: RedisServer;
  let server: Server;
  let url: string;
  const arrivals: number[] = [];
  const factories: LimiterFactory[] = [];

  beforeAll(async () => {
    redis = await startRedis({ appendOnly: false });
    server = createServer((req, res) => {
      arrivals.push(Date.now());
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: arrivals.length }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await Promise.all(factories.map((f) => f.close()));
    await new Promise((resolve) => server.close(resolve));
    await redis.stop();
  });

  /** One bot instance: its factory on the shared Redis, and an Octokit carrying its write buckets. */
  function instance(): InstanceType<typeof ProbotOctokit> {
    const factory = createLimiterFactory({ redis: { url: redis.url, prefix: 'throttle' } });
    factories.push(factory);
    const groups = githubWriteThrottle(factory, {
      writeBurst: 2,
      notificationBurst: 2,
      refillMs: 500,
    });
    return new ProbotOctokit({
      auth: { token: 'ghs_test' },
      baseUrl: url,
      log: QUIET,
      retry: { enabled: false },
      throttle: { ...groups, onRateLimit: () => false, onSecondaryRateLimit: () => false },
    });
  }

  it("shares the comment bucket between two instances' Octokits", async () => {
    const [a, b] = [instance(), instance()];
    const comment = (octokit: InstanceType<typeof ProbotOctokit>): Promise<unknown> =>
      octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: 'acme',
        repo: 'shop',
        issue_number: 7,
        body: 'hello',
      });

    await Promise.all([comment(a), comment(a), comment(b), comment(b)]);

    const sorted = [...arrivals].sort((x, y) => x - y);
    expect(sorted).toHaveLength(4);
    // A burst of 2 for both instances together, then one per 500 ms refill (alone, each instance
    // would have sent its 2 at once). Tolerance: the refill grid starts when the bucket is made,
    // a few ms before the burst.
    expect(sorted[1]! - sorted[0]!).toBeLessThan(250);
    expect(sorted[2]! - sorted[0]!).toBeGreaterThanOrEqual(400);
    expect(sorted[3]! - sorted[2]!).toBeGreaterThanOrEqual(400);
  });
});
