/**
 * The autoscaler's leader lease: among the bot instances sharing one Redis, only the holder of the
 * lease scales runners, so two instances never provision or tear down the same runner twice.
 *
 * A lease is a key holding its holder's name with an expiry. The leader renews it at every poll
 * (ttl = a few polls); a leader that dies or stalls lets it expire and the next instance to ask
 * takes it over. It is a repository lock's key without the refresh timer (takeKey and releaseKey
 * of src/pool/redis-locks.ts, which compare the holder first): a stalled leader whose lease went to
 * another can neither extend nor free the new holder's lease. The memory lease is the same rules
 * on a Map, for tests and the bench on a simulated clock.
 */
import type { Redis } from 'ioredis';
import { releaseKey, takeKey } from '../pool/redis-locks.js';
import type { Clock } from './types.js';

/** Leadership among the instances sharing the same lease store. */
export interface LeaderLease {
  /** Who asks (host:pid for a bot instance). */
  readonly holder: string;
  /** Takes the lease or renews ours; false when another holds it. */
  acquire(): Promise<boolean>;
  /** Gives it up if ours (a lease taken over by another is left alone). */
  release(): Promise<void>;
}

export interface RedisLeaseOptions {
  redis: Redis;
  /** e.g. `${prefix}:autoscaler:leader` */
  key: string;
  holder: string;
  /** How long a lease nobody renews lasts: the longest a dead leader blocks a successor. */
  ttlMs: number;
}

export interface MemoryLeaseOptions {
  /** The store shared by the competing leases (one Map = one Redis). */
  table: Map<string, { holder: string; until: number }>;
  key: string;
  holder: string;
  ttlMs: number;
  clock: Clock;
}

function validate(options: { key: string; holder: string; ttlMs: number }): void {
  if (options.key === '') throw new Error('a lease needs a key');
  if (options.holder === '') throw new Error('a lease needs a holder name');
  if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 1) {
    throw new Error(`lease ttlMs must be a positive whole number, got ${options.ttlMs}`);
  }
}

/** A lease on Redis (SET NX PX, compare-and-renew, compare-and-delete). Redis errors reject. */
export function createRedisLease(options: RedisLeaseOptions): LeaderLease {
  validate(options);
  const { redis, key, holder, ttlMs } = options;
  return {
    holder,
    async acquire() {
      return (await takeKey(redis, key, holder, ttlMs)).taken;
    },
    release: () => releaseKey(redis, key, holder),
  };
}

/** The same lease on a Map and a Clock: expiry is `until <= clock.now()`. */
export function createMemoryLease(options: MemoryLeaseOptions): LeaderLease {
  validate(options);
  const { table, key, holder, ttlMs, clock } = options;
  return {
    holder,
    async acquire() {
      const now = clock.now();
      const current = table.get(key);
      if (current !== undefined && current.holder !== holder && current.until > now) return false;
      table.set(key, { holder, until: now + ttlMs });
      return true;
    },
    async release() {
      if (table.get(key)?.holder === holder) table.delete(key);
    },
  };
}
