/**
 * How fast the App writes to GitHub. Octokit's throttling plugin spaces every write 1 s apart and
 * every content-creating write (comments, pull requests) 3 s apart, which alone makes a
 * comment-to-PR round trip take 6 s or more. GitHub's documented secondary limits are about
 * sustained rates: 80 content-creating requests a minute, and mutating requests cost 5 of the
 * 900 points a minute each endpoint allows (docs.github.com, "Rate limits for the REST API").
 * So short bursts go out at once (one request makes about 11 writes, 2 of them content-creating)
 * and the refill holds the long-run rate below those limits: writes ≤ 60 a minute per
 * installation, content-creating ≤ 60 a minute.
 */
import Bottleneck from 'bottleneck';

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

function bucket(id: string, burst: number, refillMs: number): Bottleneck.Group {
  return new Bottleneck.Group({
    id,
    maxConcurrent: 1,
    reservoir: burst,
    reservoirIncreaseAmount: 1,
    reservoirIncreaseInterval: refillMs,
    reservoirIncreaseMaximum: burst,
  });
}

/** The `write` and `notifications` groups for @octokit/plugin-throttling's options. */
export function githubWriteThrottle(limits: GitHubWriteLimits = DEFAULT_WRITE_LIMITS): {
  write: Bottleneck.Group;
  notifications: Bottleneck.Group;
} {
  return {
    write: bucket('ai-provision-github-write', limits.writeBurst, limits.refillMs),
    notifications: bucket(
      'ai-provision-github-notifications',
      limits.notificationBurst,
      limits.refillMs,
    ),
  };
}
