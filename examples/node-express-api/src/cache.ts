import { Redis } from 'ioredis';
import { config } from './config.js';

export const redis = new Redis(config.redisUrl, {
  maxRetriesPerRequest: 2,
  enableOfflineQueue: false,
  lazyConnect: false,
});

// Without a listener ioredis prints every reconnect failure as an unhandled error.
let lastError = '';
redis.on('error', (err: Error) => {
  if (err.message !== lastError) console.error(`redis: ${err.message}`);
  lastError = err.message;
});
redis.on('ready', () => {
  lastError = '';
});

const key = (code: string) => `link:${code}`;

export async function getCachedTarget(code: string): Promise<string | null> {
  try {
    return await redis.get(key(code));
  } catch {
    // The cache is an optimisation: fall through to PostgreSQL when Redis is unavailable.
    return null;
  }
}

export async function cacheTarget(code: string, targetUrl: string, ttlSeconds: number): Promise<void> {
  if (ttlSeconds <= 0) return;
  try {
    await redis.set(key(code), targetUrl, 'EX', ttlSeconds);
  } catch {
    // ignore: see getCachedTarget
  }
}

export async function evict(code: string): Promise<void> {
  await redis.del(key(code));
}

export async function pingCache(): Promise<void> {
  await redis.ping();
}
