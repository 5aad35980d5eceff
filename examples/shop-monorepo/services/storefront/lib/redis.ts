import { Redis } from 'ioredis';

// One client per server process; Next.js dev reloads modules, so keep it on globalThis.
const globalForRedis = globalThis as unknown as { redis?: Redis };

export function redis(): Redis {
  globalForRedis.redis ??= new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379/0', {
    maxRetriesPerRequest: 2,
  });
  return globalForRedis.redis;
}
