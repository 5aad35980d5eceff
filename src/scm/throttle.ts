/**
 * How fast the App writes to GitHub. Octokit's throttling plugin spaces every write 1 s apart and
 * every content-creating write (comments, pull requests) 3 s apart, which alone makes a
 * comment-to-PR round trip take 6 s or more. GitHub's documented secondary limits are about
 * sustained rates: 80 content-creating requests a minute, and mutating requests cost 5 of the
 * 900 points a minute each endpoint allows (docs.github.com, "Rate limits for the REST API").
 * So short bursts go out at once (one request makes about 11 writes, 2 of them content-creating)
 * and the refill holds the long-run rate below those limits: writes ≤ 60 a minute,
 * content-creating ≤ 60 a minute. The plugin keys its groups by `throttle.id` (one per App), so
 * the buckets are the App's as a whole, not one per installation: the stricter reading of limits
 * that GitHub counts per installation. Built through the limiter factory
 * (src/pool/limiters.ts) when one is given, so with Redis the buckets are shared by every instance.
 */
import Bottleneck from 'bottleneck';
import type { LimiterFactory } from '../pool/limiters.js';

export interface GitHubWriteLimits {
  /** Burst of writes allowed at once, then one more per `refillMs`. */
  writeBurst: number;
  /** Burst of content-creating writes (comments, pull requests, issues). */
  notificationBurst: number;
  refillMs: number;
}

export const DEFAULT_WRITE_LIMITS: GitHubWriteLimits = {
  writeBurst: 15,
  notificationBurst: 5,
  refillMs: 1000,
};

function bucket(
  factory: LimiterFactory | undefined,
  id: string,
  burst: number,
  refillMs: number,
): Bottleneck.Group {
  const settings: Bottleneck.ConstructorOptions = {
    maxConcurrent: 1,
    reservoir: burst,
    reservoirIncreaseAmount: 1,
    reservoirIncreaseInterval: refillMs,
    reservoirIncreaseMaximum: burst,
  };
  return factory === undefined
    ? new Bottleneck.Group({ id: `ai-provision-${id}`, ...settings })
    : factory.group(id, settings);
}

/**
 * The `write` and `notifications` groups for @octokit/plugin-throttling's options; with a clustered
 * factory they live in Redis. The plugin schedules only a no-op on them before each write, so a
 * crashed instance holds their single slot for no time and needs no job expiration.
 */
export function githubWriteThrottle(
  factory?: LimiterFactory,
  limits: GitHubWriteLimits = DEFAULT_WRITE_LIMITS,
): {
  write: Bottleneck.Group;
  notifications: Bottleneck.Group;
} {
  return {
    write: bucket(factory, 'github-write', limits.writeBurst, limits.refillMs),
    notifications: bucket(
      factory,
      'github-notifications',
      limits.notificationBurst,
      limits.refillMs,
    ),
  };
}
