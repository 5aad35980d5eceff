/**
 * One limiter factory for every external API the bot calls: GitHub, Anthropic, Prometheus,
 * Proxmox and Kubernetes. Each API gets one shared bottleneck per factory that paces calls
 * (`perSecond`, `burst`) and bounds them (`maxConcurrent`); a call answered "rate limited"
 * (429, 529, or 503/403 carrying Retry-After or an exhausted rate-limit budget) pauses the whole
 * API for the Retry-After and is retried through the limiter (plugin-throttling's approach, for
 * every client). With `redis`, the limits hold across every bot instance and runner: bottleneck's
 * ioredis datastore keeps the counters in Redis, and a pause is broadcast on the limiter's channel.
 *
 * Pacing, as client-go's token bucket (QPS + Burst): `perSecond` refills, `burst` is how many calls
 * may start at once after an idle spell. In any one-second window at most `perSecond + burst` calls
 * start. Bottleneck refills a reservoir on a 250 ms heartbeat, so a bucket needs a whole number of
 * calls per 250, 500 or 1000 ms (within 5 % of the rate); when there is none (say 1.5/s), or burst
 * is 1 or absent, calls are spaced evenly 1/perSecond apart instead, which never exceeds the rate.
 */
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';

export const EXTERNAL_APIS = [
  'github',
  'anthropic',
  'prometheus',
  'proxmox',
  'kubernetes',
] as const;
export type ExternalApi = (typeof EXTERNAL_APIS)[number];

export interface ApiLimits {
  /** Calls in flight at once; unlimited when absent. */
  maxConcurrent?: number;
  /** Long-run calls started per second; unpaced when absent. May be fractional (50/60). */
  perSecond?: number;
  /** Calls that may start at once after an idle spell (the token bucket's size); 1 when absent. */
  burst?: number;
}

/**
 * Where each figure comes from:
 * - github: GitHub's secondary limits ("Rate limits for the REST API"): ≤ 100 concurrent requests
 *   (REST and GraphQL together) and ≤ 900 points a minute per REST endpoint, a GET costing 1 —
 *   so 10 in flight and 10/s (600 a minute), a burst of 20 for the reads a job starts with. The
 *   hourly primary limit (5,000 per installation) is GitHub's to announce: a 403/429 with
 *   `x-ratelimit-remaining: 0` pauses the API until `x-ratelimit-reset`. Writes are paced further
 *   by Octokit's throttle groups (src/scm/throttle.ts).
 * - anthropic: 50 requests a minute, the Tier 1 limit and ANTHROPIC_REQUESTS_PER_MINUTE's default;
 *   Anthropic refills its buckets continuously, so a per-minute limit also holds over seconds:
 *   evenly spaced, no burst. 4 in flight: no published limit; each call can last a minute.
 *   Token budgets are the LLM limiter's (src/reasoners/llm/limiter.ts), built on this factory.
 * - prometheus: no server-side rate limit, but `--query.max-concurrency` defaults to 20 and
 *   further queries wait inside Prometheus; we take half so dashboards and rules keep the rest.
 *   20/s with a burst of 20 lets one plan fetch its services' history at once.
 * - proxmox: pveproxy and pvedaemon each serve the API with 3 worker processes (`max_workers => 3`
 *   in PVE::Service::pveproxy / pvedaemon); more than 3 in flight only queue there while the web UI
 *   waits. 5/s with a burst of 5 is our choice: Proxmox publishes no rate limit.
 * - kubernetes: client-go's defaults, `rest.DefaultQPS` 5 and `rest.DefaultBurst` 10 (the same
 *   token bucket); API Priority and Fairness answers 429 with Retry-After beyond that. 10 in flight
 *   is our choice (client-go sets no cap).
 */
export const DEFAULT_API_LIMITS: Record<ExternalApi, ApiLimits> = {
  github: { maxConcurrent: 10, perSecond: 10, burst: 20 },
  anthropic: { maxConcurrent: 4, perSecond: 50 / 60 },
  prometheus: { maxConcurrent: 10, perSecond: 20, burst: 20 },
  proxmox: { maxConcurrent: 3, perSecond: 5, burst: 5 },
  kubernetes: { maxConcurrent: 10, perSecond: 5, burst: 10 },
};

export interface LimiterFactoryOptions {
  /** Cluster every limiter through this Redis (bottleneck's ioredis datastore); absent = in-process. */
  redis?: { url: string; prefix?: string };
  /** Per API, replaces DEFAULT_API_LIMITS for that API as a whole (a field left out is unlimited). */
  limits?: Partial<Record<ExternalApi, ApiLimits>>;
  /** Told how long each call waited for its slot (metrics: rate-limit waits). */
  onWait?: (api: ExternalApi, waitedMs: number) => void;
  /** Told when a 429/503-with-Retry-After pauses an API. */
  onThrottled?: (api: ExternalApi, retryAfterMs: number) => void;
  /** Redis connection and limiter errors (bottleneck emits them as events); ignored when absent. */
  onError?: (error: unknown) => void;
  /**
   * Clustered only: a call holding one of `maxConcurrent`'s slots longer than this is failed, so a
   * crashed instance cannot hold slots forever (bottleneck's `expiration`). Default 10 minutes.
   */
  expirationMs?: number;
}

export interface ScheduleOptions {
  /** Slots (maxConcurrent) and tokens (burst) this call takes; 1 by default, clamped to the limits. */
  weight?: number;
  /** 0 (first) … 9 (last); 5 by default. Retries go first. */
  priority?: number;
  /** Retries after a rate-limit answer; 4 by default. */
  retries?: number;
}

export interface ApiLimiter {
  /**
   * Runs `call` when the API's rate allows; a call that fails with a rate-limit answer (see
   * isRateLimited) is retried through the limiter after Retry-After (or backoff), at most `retries`
   * times (default 4), and every other caller of this API waits too. Every other failure, and the
   * last rate-limit answer, is rethrown as is. Schedule one HTTP request per call.
   */
  schedule<T>(call: () => Promise<T>, options?: ScheduleOptions): Promise<T>;
}

export interface LimiterFactory {
  /** One shared limiter per API per factory (and across processes when clustered). */
  for(api: ExternalApi): ApiLimiter;
  /** A raw bottleneck built the same way (same datastore/connection), for libraries that take one (Octokit throttling groups, the LLM token limiter). id is namespaced by the prefix. */
  bottleneck(id: string, options: Bottleneck.ConstructorOptions): Bottleneck;
  /** Bottleneck.Group built the same way. */
  group(id: string, options: Bottleneck.ConstructorOptions): Bottleneck.Group;
  clustered: boolean;
  /** Stops every limiter it made (waiting calls are rejected) and closes the Redis connection. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Rate-limit answers

type Headers = Record<string, unknown> | { get(name: string): string | null };

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** HTTP status of an error from Octokit, the Anthropic SDK, fetch, client-node or got/axios-likes. */
function statusOf(error: unknown): number | undefined {
  const response = field(error, 'response');
  const candidates = [
    field(error, 'status'),
    field(error, 'statusCode'),
    field(response, 'status'),
    field(response, 'statusCode'),
    field(error, 'code'), // @kubernetes/client-node's ApiException
  ];
  return candidates.find((c): c is number => typeof c === 'number' && Number.isInteger(c));
}

function headerOf(error: unknown, name: string): string | undefined {
  for (const source of [field(error, 'headers'), field(field(error, 'response'), 'headers')]) {
    if (typeof source !== 'object' || source === null) continue;
    const headers = source as Headers;
    if (typeof headers.get === 'function' && !(headers instanceof Map)) {
      const value = (headers as { get(name: string): string | null }).get(name);
      if (value !== null && value !== undefined) return String(value);
      continue;
    }
    const entries = headers instanceof Map ? [...headers.entries()] : Object.entries(headers);
    for (const [key, value] of entries) {
      if (String(key).toLowerCase() !== name || value === undefined || value === null) continue;
      return String(Array.isArray(value) ? value[0] : value);
    }
  }
  return undefined;
}

function messageOf(error: unknown): string {
  const message = field(error, 'message');
  return typeof message === 'string' ? message : '';
}

const hasRetryAfter = (error: unknown): boolean =>
  headerOf(error, 'retry-after') !== undefined || headerOf(error, 'retry-after-ms') !== undefined;

/**
 * Whether a thrown value means "rate limited": 429; 529 (Anthropic overloaded); 503 with
 * Retry-After; 403 with Retry-After, `x-ratelimit-remaining: 0` or GitHub's "secondary rate limit".
 */
export function isRateLimited(error: unknown): boolean {
  const status = statusOf(error);
  if (status === 429 || status === 529) return true;
  if (status === 503) return hasRetryAfter(error);
  if (status === 403) {
    return (
      hasRetryAfter(error) ||
      headerOf(error, 'x-ratelimit-remaining') === '0' ||
      // GitHub's secondary limits may come with no header at all; its docs say to wait a minute.
      /secondary rate limit/i.test(messageOf(error))
    );
  }
  return false;
}

/**
 * A thrown value that means "rate limited": status 429, or 503/403 with retry-after /
 * x-ratelimit-remaining: 0 (GitHub secondary limits, Anthropic 429/529). Returns the wait in ms
 * the answer asks for — `retry-after-ms`, `retry-after` (seconds or an HTTP date),
 * `x-ratelimit-reset` (epoch seconds, GitHub) or 60 s for GitHub's headerless secondary limit —
 * or undefined when it is no rate-limit answer or names no wait (then the caller backs off).
 */
export function rateLimitDelay(error: unknown, now: number = Date.now()): number | undefined {
  if (!isRateLimited(error)) return undefined;
  const ms = Number(headerOf(error, 'retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const retryAfter = headerOf(error, 'retry-after')?.trim();
  if (retryAfter !== undefined && retryAfter !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const reset = Number(headerOf(error, 'x-ratelimit-reset') ?? Number.NaN);
  if (headerOf(error, 'x-ratelimit-remaining') === '0' && Number.isFinite(reset) && reset > 0)
    return Math.max(0, reset * 1000 - now);
  if (statusOf(error) === 403 && /secondary rate limit/i.test(messageOf(error))) return 60_000;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Limits → bottleneck settings

function check(
  where: string,
  value: number | undefined,
  rule: { integer: boolean; what: string },
): void {
  if (value === undefined) return;
  const ok = Number.isFinite(value) && value > 0 && (!rule.integer || Number.isInteger(value));
  if (!ok) throw new Error(`${where}: expected ${rule.what}, got ${value}`);
}

function validateLimits(where: string, limits: ApiLimits): void {
  check(`${where}.maxConcurrent`, limits.maxConcurrent, {
    integer: true,
    what: 'a positive whole number of calls',
  });
  check(`${where}.perSecond`, limits.perSecond, {
    integer: false,
    what: 'a positive number of calls per second',
  });
  check(`${where}.burst`, limits.burst, {
    integer: true,
    what: 'a positive whole number of calls',
  });
}

/** Refill periods a 250 ms heartbeat keeps exact and that divide a second (see the header). */
const BUCKET_INTERVALS_MS = [250, 500, 1000] as const;

/**
 * The bottleneck settings that enforce `limits` (exported for tests): a token bucket
 * (reservoir refilled `amount` every `interval`, capped at `burst`) when burst > 1 and a whole
 * refill fits, else `minTime` = 1/perSecond.
 */
export function limiterSettings(limits: ApiLimits): Bottleneck.ConstructorOptions {
  const concurrency = { maxConcurrent: limits.maxConcurrent ?? null };
  const rate = limits.perSecond;
  if (rate === undefined) return concurrency;
  const burst = limits.burst ?? 1;
  if (burst > 1) {
    for (const interval of BUCKET_INTERVALS_MS) {
      const amount = Math.floor((rate * interval) / 1000 + 1e-9);
      if (amount >= 1 && amount <= burst && (amount * 1000) / interval >= 0.95 * rate) {
        return {
          ...concurrency,
          reservoir: burst,
          reservoirIncreaseAmount: amount,
          reservoirIncreaseInterval: interval,
          reservoirIncreaseMaximum: burst,
        };
      }
    }
  }
  return { ...concurrency, minTime: Math.ceil(1000 / rate) };
}

/** The most one job may weigh: more would wait forever (reservoir) or throw (maxConcurrent). */
function maxWeight(settings: Bottleneck.ConstructorOptions): number {
  const caps = [settings.maxConcurrent, settings.reservoirIncreaseMaximum].filter(
    (c): c is number => typeof c === 'number',
  );
  return caps.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...caps);
}

// ---------------------------------------------------------------------------------------------
// Redis

const DEFAULT_PREFIX = 'ai-provision';
const DEFAULT_EXPIRATION_MS = 10 * 60_000;
/** Standalone clustered limiters forget their Redis state after this long unused (Groups: 5 min). */
const CLUSTER_STATE_TTL_MS = 60 * 60_000;

function redisUrl(url: string): string {
  const parsed = URL.parse(url);
  // Not echoed: a Redis URL may carry a password.
  if (parsed === null || !/^rediss?:$/.test(parsed.protocol))
    throw new Error(
      'redis.url: expected a URL such as redis://127.0.0.1:6379 or rediss://host:6380, got something else',
    );
  return url;
}

/**
 * Redis 7 prefixes "ERR " to an error a script raises without a code of its own, and bottleneck
 * 2.19 matches its scripts' errors exactly: "SETTINGS_KEY_NOT_FOUND" (state gone — after a Redis
 * restart without persistence, or once the keys' TTL ran out — re-create it), "UNKNOWN_CLIENT"
 * (re-register this instance) and "OVERWEIGHT:…". With the prefix that recovery never runs and
 * every call fails with "ERR SETTINGS_KEY_NOT_FOUND" for good (SGrondin/bottleneck#205, #212,
 * unfixed upstream). This client hands bottleneck its own script errors without the prefix.
 */
const BOTTLENECK_SCRIPT_ERROR =
  /^ERR (?<message>SETTINGS_KEY_NOT_FOUND|UNKNOWN_CLIENT|OVERWEIGHT:.*)$/s;

class BottleneckRedis extends Redis {
  override defineCommand(
    name: string,
    definition: { lua: string; numberOfKeys?: number; readOnly?: boolean },
  ): void {
    super.defineCommand(name, definition);
    const commands = this as unknown as Record<string, (...args: unknown[]) => unknown>;
    const run = commands[name]!;
    // bottleneck always passes a node-style callback last (RedisDatastore.runScript).
    commands[name] = (...args: unknown[]): unknown => {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        args[args.length - 1] = (error: unknown, result: unknown): unknown => {
          const message =
            error instanceof Error ? BOTTLENECK_SCRIPT_ERROR.exec(error.message) : null;
          if (message?.groups !== undefined) (error as Error).message = message.groups.message!;
          return callback(error, result);
        };
      }
      return run.apply(this, args);
    };
  }
}

/**
 * bottleneck 2.19 predates ioredis 6 but only uses what ioredis still has (node-style callbacks,
 * duplicate(), defineCommand, pipeline, subscribe with a callback). We build the client ourselves
 * from the URL (ioredis parses auth, db and TLS from it) and hand over the ioredis module, so
 * bottleneck never needs its runtime `require("ioredis")`.
 */
function openConnection(url: string, prefix: string): Bottleneck.IORedisConnection {
  const client = new BottleneckRedis(redisUrl(url), { connectionName: `${prefix}-limits` });
  return new Bottleneck.IORedisConnection({ client, Redis });
}

/**
 * In Redis, a refill is only seen when some script runs; with calls waiting and none running,
 * that is the heartbeat (5 s by default), so it beats as often as the limiter refills.
 */
function heartbeatFor(options: Bottleneck.ConstructorOptions): number {
  const interval = options.reservoirIncreaseInterval ?? options.reservoirRefreshInterval;
  if (typeof interval !== 'number') return 5000;
  return Math.min(5000, Math.max(250, interval));
}

/**
 * The pacing a newer instance imposes on the limiter in Redis: every pacing setting, those it does
 * not use switched off, so a changed limit (even token bucket ↔ even spacing) takes effect. The
 * reservoir is live state and stays, unless the new pacing has none.
 */
function adoptable(options: Bottleneck.ConstructorOptions): Bottleneck.ConstructorOptions {
  return {
    maxConcurrent: options.maxConcurrent ?? null,
    minTime: options.minTime ?? 0,
    reservoirIncreaseAmount: options.reservoirIncreaseAmount ?? null,
    reservoirIncreaseInterval: options.reservoirIncreaseInterval ?? null,
    reservoirIncreaseMaximum: options.reservoirIncreaseMaximum ?? null,
    reservoirRefreshAmount: options.reservoirRefreshAmount ?? null,
    reservoirRefreshInterval: options.reservoirRefreshInterval ?? null,
    ...(options.reservoir === undefined || options.reservoir === null ? { reservoir: null } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The factory

const PAUSED = Symbol('paused');
type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown } | typeof PAUSED;

const backoffMs = (retry: number): number => Math.min(30_000, 1000 * 2 ** retry);

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name}: expected a whole number, 0 or more, got ${value}`);
  return value;
}

export function createLimiterFactory(options: LimiterFactoryOptions = {}): LimiterFactory {
  for (const [api, limits] of Object.entries(options.limits ?? {})) {
    if (!(EXTERNAL_APIS as readonly string[]).includes(api))
      throw new Error(`limits.${api}: expected one of ${EXTERNAL_APIS.join(', ')}, got ${api}`);
    validateLimits(`limits.${api}`, limits ?? {});
  }
  const prefix = options.redis?.prefix ?? DEFAULT_PREFIX;
  const connection =
    options.redis === undefined ? undefined : openConnection(options.redis.url, prefix);
  const clustered = connection !== undefined;
  const onError = (error: unknown): void => options.onError?.(error);
  connection?.on('error', onError);
  const expiration = options.expirationMs ?? DEFAULT_EXPIRATION_MS;

  const made: Bottleneck[] = [];
  const groups: Bottleneck.Group[] = [];
  const apis = new Map<ExternalApi, ApiLimiter>();
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let closed = false;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          sleepers.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(sleeper);
    });
  }

  function clusterOptions(options: Bottleneck.ConstructorOptions): Bottleneck.ConstructorOptions {
    if (connection === undefined) return {};
    return {
      datastore: 'ioredis',
      connection,
      clearDatastore: false,
      heartbeatInterval: heartbeatFor(options),
    };
  }

  function bottleneck(id: string, settings: Bottleneck.ConstructorOptions): Bottleneck {
    if (closed) throw new Error('limiter factory is closed');
    const limiter = new Bottleneck({
      timeout: clustered ? CLUSTER_STATE_TTL_MS : null,
      ...settings,
      ...clusterOptions(settings),
      id: `${prefix}:limit:${id}`,
    });
    limiter.on('error', onError);
    // The first limiter in Redis stores its settings and later ones inherit them; adopting ours
    // makes a changed limit take effect when the new version starts.
    // (bottleneck's types say updateSettings returns the limiter; it returns a promise of it.)
    if (clustered) Promise.resolve(limiter.updateSettings(adoptable(settings))).catch(onError);
    made.push(limiter);
    return limiter;
  }

  function group(id: string, settings: Bottleneck.ConstructorOptions): Bottleneck.Group {
    if (closed) throw new Error('limiter factory is closed');
    const created = new Bottleneck.Group({
      ...settings,
      ...clusterOptions(settings),
      id: `${prefix}:limit:${id}`,
    });
    created.on('error', onError);
    created.on('created', (limiter: Bottleneck) => limiter.on('error', onError));
    groups.push(created);
    return created;
  }

  function apiLimiter(api: ExternalApi): ApiLimiter {
    const limits = options.limits?.[api] ?? DEFAULT_API_LIMITS[api];
    const settings = limiterSettings(limits);
    const limiter = bottleneck(api, settings);
    const heaviest = maxWeight(settings);
    const expires = clustered && settings.maxConcurrent !== null ? expiration : null;
    let pausedUntil = 0;

    // Pauses reach every instance as a duration (clocks may differ), on the limiter's own channel.
    limiter.on('message', (message: string) => {
      const ms = /^pause:(?<ms>\d+)$/.exec(message)?.groups?.ms;
      if (ms !== undefined) pausedUntil = Math.max(pausedUntil, Date.now() + Number(ms));
    });

    async function pause(ms: number): Promise<void> {
      pausedUntil = Math.max(pausedUntil, Date.now() + ms);
      options.onThrottled?.(api, ms);
      if (clustered) await limiter.publish(`pause:${ms}`).catch(onError);
    }

    async function waitOutPause(): Promise<void> {
      // Bounded: each turn sleeps until the pause known now ends; only a new 429 extends it.
      for (let now = Date.now(); now < pausedUntil && !closed; now = Date.now()) {
        await sleep(pausedUntil - now);
      }
    }

    return {
      async schedule<T>(call: () => Promise<T>, scheduleOptions: ScheduleOptions = {}): Promise<T> {
        const weight = Math.min(
          heaviest,
          Math.max(1, nonNegativeInteger('weight', scheduleOptions.weight ?? 1)),
        );
        const retries = nonNegativeInteger('retries', scheduleOptions.retries ?? 4);
        let priority = scheduleOptions.priority ?? 5;
        let retried = 0;
        let waitedMs = 0;
        try {
          for (;;) {
            const pausedAt = Date.now();
            await waitOutPause();
            const queuedAt = Date.now();
            waitedMs += queuedAt - pausedAt;
            let startedAt: number | undefined;
            const attempt = await limiter.schedule(
              { priority, weight, expiration: expires },
              async (): Promise<Attempt<T>> => {
                startedAt = Date.now();
                // Granted a slot while a pause began elsewhere: give it up and queue again after.
                if (startedAt < pausedUntil) return PAUSED;
                try {
                  return { ok: true, value: await call() };
                } catch (error) {
                  return { ok: false, error };
                }
              },
            );
            waitedMs += (startedAt ?? Date.now()) - queuedAt;
            priority = 0;
            if (attempt === PAUSED) continue;
            if (attempt.ok) return attempt.value;
            if (retried >= retries || !isRateLimited(attempt.error)) throw attempt.error;
            await pause(rateLimitDelay(attempt.error) ?? backoffMs(retried));
            retried++;
          }
        } finally {
          options.onWait?.(api, waitedMs);
        }
      },
    };
  }

  return {
    for(api) {
      if (!(EXTERNAL_APIS as readonly string[]).includes(api))
        throw new Error(`for(): expected one of ${EXTERNAL_APIS.join(', ')}, got ${String(api)}`);
      let limiter = apis.get(api);
      if (limiter === undefined) {
        limiter = apiLimiter(api);
        apis.set(api, limiter);
      }
      return limiter;
    },
    bottleneck,
    group,
    clustered,
    async close() {
      if (closed) return;
      closed = true;
      for (const sleeper of sleepers) {
        clearTimeout(sleeper.timer);
        sleeper.resolve();
      }
      sleepers.clear();
      const limiters = [...made, ...groups.flatMap((g) => g.limiters().map((l) => l.limiter))];
      await Promise.all(
        limiters.map(async (limiter) => {
          await limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
          // (a limiter on a shared connection returns no promise from disconnect())
          await Promise.resolve(limiter.disconnect()).catch(() => undefined);
        }),
      );
      for (const g of groups) await g.disconnect();
      if (connection !== undefined) await disconnect(connection);
    },
  };
}

/** QUIT, or drop the sockets when Redis does not answer (it may be down) within 2 s. */
async function disconnect(connection: Bottleneck.IORedisConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const quit = connection.disconnect(true).then(
    () => true,
    () => false,
  );
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 2000);
  });
  const quitted = await Promise.race([quit, timeout]);
  clearTimeout(timer);
  if (!quitted) await connection.disconnect(false).catch(() => undefined);
}
