function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} must be set (see .env.example)`);
  }
  return value;
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number.parseInt(raw, 10);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

export const config = {
  port: int('PORT', 3000),
  publicBaseUrl: process.env.PUBLIC_BASE_URL ?? 'http://localhost:3000',
  databaseUrl: required('DATABASE_URL'),
  databasePoolMax: int('DATABASE_POOL_MAX', 10),
  redisUrl: required('REDIS_URL'),
  cacheTtlSeconds: int('CACHE_TTL_SECONDS', 3600),
} as const;
