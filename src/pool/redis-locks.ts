/**
 * Lock keys ('owner/repo@branch') held in Redis, so one job per key runs across every runner.
 * Atlantis style, like locks.ts: trying a held lock is an answer naming the holder, not an error.
 *
 * A lock is `SET key holder NX PX ttl`. While its job runs, a timer pushes the expiry forward; if
 * the runner dies the lock simply expires, so a crashed runner never blocks a repository for good.
 * Refresh and release are compare-and-set scripts: a holder whose lock already expired (and was
 * taken by another job) can neither extend nor free the new holder's lock.
 */
import type { Redis } from 'ioredis';
import { lockHeldMessage } from './locks.js';

export type RedisLockResult =
  | {
      acquired: true;
      /** Stops refreshing and frees the lock if it is still this holder's; idempotent. */
      release: () => Promise<void>;
      /** True once a refresh found the lock gone or taken (the job no longer holds its key). */
      lost: () => boolean;
    }
  | { acquired: false; heldBy: string; userMessage: string };

export interface RedisLocks {
  /**
   * Takes the lock for `holder`, or says who holds it. Asking again for a lock the same holder has
   * succeeds and renews it (a job re-run after its runner died finds its own, not yet expired, lock).
   * The returned hold refreshes itself every ttl/3 until released.
   */
  tryLock(key: string, holder: string): Promise<RedisLockResult>;
  holderOf(key: string): Promise<string | undefined>;
}

export interface RedisLocksOptions {
  /** Key namespace: locks live at `${prefix}:lock:${key}`. */
  prefix: string;
  /** Expiry of a lock nobody refreshes: how long a dead runner's lock blocks its key. */
  ttlMs: number;
  /** Told when a refresh fails (Redis down); the hold keeps trying. Default: ignored. */
  onError?: (error: unknown) => void;
}

// Returns {1, holder} when `ARGV[1]` now holds the lock (taken or renewed), else {0, holder}.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, ARGV[1]}
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, current}
end
return {0, current}`;

const REFRESH = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * Takes `redisKey` for `holder` with an expiry of `ttlMs`, or renews it when `holder` has it
 * already, in one step; says who holds it afterwards. Also the autoscaler's leader lease.
 */
export async function takeKey(
  redis: Redis,
  redisKey: string,
  holder: string,
  ttlMs: number,
): Promise<{ taken: boolean; holder: string }> {
  const reply = await redis.eval(ACQUIRE, 1, redisKey, holder, String(ttlMs));
  const [taken, current] = Array.isArray(reply) ? reply : [];
  return { taken: taken === 1, holder: typeof current === 'string' ? current : String(current) };
}

/** Deletes `redisKey` only while `holder` still has it (an expired hold taken over is left alone). */
export async function releaseKey(redis: Redis, redisKey: string, holder: string): Promise<void> {
  await redis.eval(RELEASE, 1, redisKey, holder);
}

/** The Redis key of lock `key`. */
export function lockRedisKey(prefix: string, key: string): string {
  return `${prefix}:lock:${key}`;
}

export function createRedisLocks(redis: Redis, options: RedisLocksOptions): RedisLocks {
  const { prefix, ttlMs } = options;
  if (!Number.isInteger(ttlMs) || ttlMs < 3) {
    throw new Error(`lock ttlMs must be an integer ≥ 3, got ${ttlMs}`);
  }

  function hold(redisKey: string, holder: string): RedisLockResult {
    let released = false;
    let lost = false;
    // Unref'd: a hold must never keep a process alive on its own.
    const timer = setInterval(
      () => {
        redis
          .eval(REFRESH, 1, redisKey, holder, String(ttlMs))
          .then((renewed) => {
            if (renewed === 0 && !released) lost = true;
          })
          .catch((error: unknown) => options.onError?.(error));
      },
      Math.floor(ttlMs / 3),
    );
    timer.unref();
    return {
      acquired: true,
      lost: () => lost,
      async release() {
        if (released) return;
        released = true;
        clearInterval(timer);
        await releaseKey(redis, redisKey, holder);
      },
    };
  }

  return {
    async tryLock(key, holder) {
      const redisKey = lockRedisKey(prefix, key);
      const { taken, holder: heldBy } = await takeKey(redis, redisKey, holder, ttlMs);
      if (taken) return hold(redisKey, holder);
      return { acquired: false, heldBy, userMessage: lockHeldMessage(key, heldBy) };
    },

    async holderOf(key) {
      return (await redis.get(lockRedisKey(prefix, key))) ?? undefined;
    },
  };
}
