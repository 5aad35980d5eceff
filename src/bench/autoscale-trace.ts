/**
 * A day of heavy jobs for bench:autoscale, from a seed: arrivals follow a daily cycle (quiet at
 * night, a peak in the afternoon) with a few bursts on top (a monorepo's services all asked for at
 * once), and each job runs a log-normal time. Pure and reproducible: the same seed, the same day.
 */

export interface TraceJob {
  /** ms from the start of the day */
  arrivalMs: number;
  durationMs: number;
  /** true for the jobs of a burst */
  burst: boolean;
}

export interface TraceOptions {
  seed: number;
  /** Length of the trace; default one day. */
  lengthMs?: number;
  /** Arrival rate at the daily peak and trough, jobs per minute. */
  peakPerMinute?: number;
  troughPerMinute?: number;
  /** Hour of the day (0–24) of the peak. */
  peakHour?: number;
  /** Bursts between 08:00 and 20:00, each `burstSize` jobs within `burstSpreadMs`. */
  bursts?: number;
  burstSize?: number;
  burstSpreadMs?: number;
  /** Median and spread (σ of the log) of job run times. */
  medianDurationMs?: number;
  durationSigma?: number;
}

export const DAY_MS = 24 * 3_600_000;
const MINUTE_MS = 60_000;

/** mulberry32: a small, good-enough seeded generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Jobs per minute at `timeMs` of the day (the cycle without bursts). */
export function dailyRate(timeMs: number, options: TraceOptions): number {
  const peak = options.peakPerMinute ?? 3;
  const trough = options.troughPerMinute ?? 0.2;
  const peakHour = options.peakHour ?? 14;
  const hour = (timeMs % DAY_MS) / 3_600_000;
  // Squared raised cosine: a working-day hump rather than a sine's long shoulders.
  const shape = (1 + Math.cos((2 * Math.PI * (hour - peakHour)) / 24)) / 2;
  return trough + (peak - trough) * shape * shape;
}

export function backlogTrace(options: TraceOptions): TraceJob[] {
  const random = seededRandom(options.seed);
  const lengthMs = options.lengthMs ?? DAY_MS;
  const peak = options.peakPerMinute ?? 3;
  const median = options.medianDurationMs ?? 3 * MINUTE_MS;
  const sigma = options.durationSigma ?? 0.6;

  function duration(): number {
    // Box–Muller normal → log-normal run time, kept within 30 s … 30 min.
    const u = Math.max(random(), 1e-12);
    const v = random();
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.round(
      Math.min(30 * MINUTE_MS, Math.max(30_000, median * Math.exp(sigma * normal))),
    );
  }

  const jobs: TraceJob[] = [];
  // Thinning (Lewis–Shedler): candidates at the peak rate, each kept with rate(t)/peak.
  const peakPerMs = peak / MINUTE_MS;
  let time = 0;
  for (let i = 0; i < 10_000_000; i++) {
    time += -Math.log(Math.max(random(), 1e-12)) / peakPerMs;
    if (time >= lengthMs) break;
    if (random() * peak <= dailyRate(time, options)) {
      jobs.push({ arrivalMs: Math.round(time), durationMs: duration(), burst: false });
    }
  }

  const bursts = options.bursts ?? 4;
  const burstSize = options.burstSize ?? 20;
  const spread = options.burstSpreadMs ?? 2 * MINUTE_MS;
  for (let b = 0; b < bursts; b++) {
    const start = Math.round((8 + random() * 12) * 3_600_000) % lengthMs;
    for (let j = 0; j < burstSize; j++) {
      jobs.push({
        arrivalMs: Math.min(lengthMs - 1, start + Math.round(random() * spread)),
        durationMs: duration(),
        burst: true,
      });
    }
  }
  return jobs.sort((a, b) => a.arrivalMs - b.arrivalMs);
}

/** Most jobs running at once if every job started the moment it arrived (sampled per `stepMs`). */
export function peakConcurrency(jobs: readonly TraceJob[], stepMs = 1_000): number {
  const events: [number, number][] = [];
  for (const job of jobs) {
    events.push([Math.floor(job.arrivalMs / stepMs), 1]);
    events.push([Math.ceil((job.arrivalMs + job.durationMs) / stepMs), -1]);
  }
  // Ends before starts at the same instant: a slot freed can be reused at once.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peak = 0;
  for (const [, delta] of events) {
    running += delta;
    peak = Math.max(peak, running);
  }
  return peak;
}
