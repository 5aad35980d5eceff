/**
 * Client-side rate limits for the Messages API: requests per minute and input tokens per minute,
 * the two limits Anthropic enforces per organisation. Staying under them beforehand is cheaper
 * than being answered 429 and retried. Built on bottleneck, not hand-written timers; given the
 * limiter factory (src/pool/limiters.ts) with Redis, the budgets are shared by every instance.
 */
import Bottleneck from 'bottleneck';
import type { LimiterFactory } from '../../pool/limiters.js';

export interface LlmLimits {
  requestsPerMinute: number;
  tokensPerMinute: number;
  /** Requests in flight at once; unlimited when absent. */
  maxConcurrent?: number;
}

export interface LlmLimiter {
  /** Runs `run` once a request slot and `estimatedTokens` of token budget are free. */
  schedule<T>(estimatedTokens: number, run: () => Promise<T>): Promise<T>;
  /** Jobs scheduled so far and the total time they waited before running. */
  stats(): { scheduled: number; waitedMs: number };
  /** Drops jobs still waiting, waits for running ones and clears the refresh timers. */
  stop(): Promise<void>;
}

export interface LlmLimiterOptions {
  /** Milliseconds; Date.now by default. Only measures waits. */
  clock?: () => number;
  /** How often both reservoirs refill; 60 s by default (the API's limits are per minute). */
  refreshIntervalMs?: number;
  /**
   * Builds both bottlenecks ('anthropic-tokens', 'anthropic-requests'); clustered factories share
   * the budgets across processes. Absent: private in-process bottlenecks. The factory's owner
   * closes it; stop() only stops this limiter's bottlenecks.
   */
  factory?: LimiterFactory;
  /**
   * Clustered only: a request holding a `maxConcurrent` slot longer than this is failed, so a
   * crashed instance cannot keep its slots (bottleneck's `expiration`). Default 10 minutes.
   */
  expirationMs?: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`LlmLimits.${name}: expected a positive integer, got ${value}`);
  return value;
}

export function createLlmLimiter(limits: LlmLimits, options: LlmLimiterOptions = {}): LlmLimiter {
  const rpm = positiveInteger('requestsPerMinute', limits.requestsPerMinute);
  const tpm = positiveInteger('tokensPerMinute', limits.tokensPerMinute);
  const maxConcurrent =
    limits.maxConcurrent === undefined
      ? null
      : positiveInteger('maxConcurrent', limits.maxConcurrent);
  const interval = options.refreshIntervalMs ?? 60_000;
  const clock = options.clock ?? Date.now;

  const { factory } = options;
  const make = (id: string, settings: Bottleneck.ConstructorOptions): Bottleneck =>
    factory === undefined ? new Bottleneck(settings) : factory.bottleneck(id, settings);
  const expiration =
    factory?.clustered === true && maxConcurrent !== null
      ? (options.expirationMs ?? 10 * 60_000)
      : null;

  // Nested rather than bottleneck's chain(): chain() passes the job's weight on to the second
  // limiter, and here a job weighs its tokens in one and exactly one request in the other.
  const tokens = make('anthropic-tokens', {
    reservoir: tpm,
    reservoirRefreshAmount: tpm,
    reservoirRefreshInterval: interval,
  });
  const requests = make('anthropic-requests', {
    reservoir: rpm,
    reservoirRefreshAmount: rpm,
    reservoirRefreshInterval: interval,
    maxConcurrent,
  });

  let scheduled = 0;
  let waitedMs = 0;

  return {
    schedule<T>(estimatedTokens: number, run: () => Promise<T>): Promise<T> {
      scheduled++;
      const queuedAt = clock();
      // A prompt larger than a whole minute's budget would otherwise wait forever.
      const weight = Number.isFinite(estimatedTokens)
        ? Math.min(tpm, Math.max(0, Math.ceil(estimatedTokens)))
        : tpm;
      return tokens.schedule({ weight }, () =>
        requests.schedule({ weight: 1, expiration }, () => {
          waitedMs += Math.max(0, clock() - queuedAt);
          return run();
        }),
      );
    },
    stats: () => ({ scheduled, waitedMs }),
    async stop(): Promise<void> {
      await Promise.all([
        tokens.stop({ dropWaitingJobs: true }),
        requests.stop({ dropWaitingJobs: true }),
      ]);
      await Promise.all([tokens.disconnect(), requests.disconnect()]);
    },
  };
}
