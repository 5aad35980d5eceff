/**
 * The leader lease, on a real redis-server and on a Map with a simulated clock: the same rules for
 * both (one holder at a time, renewal keeps it, expiry hands it over, a stale holder can neither
 * renew nor release the new holder's lease).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../src/bench/servers.js';
import {
  createMemoryLease,
  createRedisLease,
  type LeaderLease,
} from '../../../src/proxmox/leader.js';
import { SimulatedClock } from '../../../src/proxmox/types.js';
import { delay } from '../../support/timing.js';

/** Two competing leases on one store, and a way to let time pass on that store's clock. */
interface Arena {
  a: LeaderLease;
  b: LeaderLease;
  pass(ms: number): Promise<void>;
  holder(): Promise<string | undefined>;
}

const TTL_MS = 600;

describe('proxmox/leader', () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis({ appendOnly: false });
    redis = new Redis(server.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const arenas: Array<[string, () => Arena]> = [
    [
      'redis',
      () => {
        const key = `l${randomUUID().slice(0, 8)}:autoscaler:leader`;
        return {
          a: createRedisLease({ redis, key, holder: 'bot-a', ttlMs: TTL_MS }),
          b: createRedisLease({ redis, key, holder: 'bot-b', ttlMs: TTL_MS }),
          // Real time: the margin covers a slow machine.
          pass: (ms) => delay(ms + 50),
          holder: async () => (await redis.get(key)) ?? undefined,
        };
      },
    ],
    [
      'memory',
      () => {
        const table = new Map<string, { holder: string; until: number }>();
        const clock = new SimulatedClock(1_000);
        const options = { table, key: 'autoscaler', ttlMs: TTL_MS, clock };
        return {
          a: createMemoryLease({ ...options, holder: 'bot-a' }),
          b: createMemoryLease({ ...options, holder: 'bot-b' }),
          pass: (ms) => clock.advance(ms),
          holder: async () => table.get('autoscaler')?.holder,
        };
      },
    ],
  ];

  describe.each(arenas)('%s lease', (_name, makeArena) => {
    it('lets one of two holders win, and keeps it while it renews', async () => {
      const { a, b, pass, holder } = makeArena();

      const first = [await a.acquire(), await b.acquire()];
      const renewed: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        await pass(TTL_MS / 2);
        renewed.push(await a.acquire(), await b.acquire());
      }

      expect(first).toEqual([true, false]);
      expect(renewed).toEqual([true, false, true, false, true, false]);
      expect(await holder()).toBe('bot-a');
      expect([a.holder, b.holder]).toEqual(['bot-a', 'bot-b']);
    });

    it('hands an expired lease over, and the stale holder can neither renew nor release it', async () => {
      const { a, b, pass, holder } = makeArena();
      await a.acquire();

      await pass(TTL_MS);
      const takenOver = await b.acquire();
      const staleRenew = await a.acquire();
      await a.release();

      expect(takenOver).toBe(true);
      expect(staleRenew).toBe(false);
      expect(await holder()).toBe('bot-b');
      expect(await b.acquire()).toBe(true);
    });

    it('frees the lease on release, for the other to take at once', async () => {
      const { a, b, holder } = makeArena();
      await a.acquire();

      await a.release();
      const afterRelease = await holder();
      const taken = await b.acquire();
      await a.release();

      expect(afterRelease).toBeUndefined();
      expect(taken).toBe(true);
      expect(await holder()).toBe('bot-b');
    });
  });

  it('sets the expiry on Redis, renewed by each acquire', async () => {
    const key = `l${randomUUID().slice(0, 8)}:leader`;
    const lease = createRedisLease({ redis, key, holder: 'bot-a', ttlMs: 10_000 });

    await lease.acquire();
    await redis.pexpire(key, 1_000);
    await lease.acquire();
    const ttl = await redis.pttl(key);

    expect(ttl).toBeGreaterThan(9_000);
  });

  it.each([
    ['an empty key', { key: '', holder: 'h', ttlMs: 1_000 }, 'needs a key'],
    ['an empty holder', { key: 'k', holder: '', ttlMs: 1_000 }, 'needs a holder'],
    ['a zero ttl', { key: 'k', holder: 'h', ttlMs: 0 }, 'ttlMs must be a positive'],
    ['a fractional ttl', { key: 'k', holder: 'h', ttlMs: 1.5 }, 'ttlMs must be a positive'],
  ])('refuses %s', (_name, options, message) => {
    expect(() => createRedisLease({ redis, ...options })).toThrow(message);
    expect(() =>
      createMemoryLease({ table: new Map(), clock: new SimulatedClock(), ...options }),
    ).toThrow(message);
  });
});
