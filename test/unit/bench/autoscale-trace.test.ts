import { describe, expect, it } from '@jest/globals';
import {
  backlogTrace,
  DAY_MS,
  dailyRate,
  peakConcurrency,
  seededRandom,
} from '../../../src/bench/autoscale-trace.js';

describe('bench/autoscale-trace', () => {
  it('is the same day for the same seed and another day for another seed', () => {
    const a = backlogTrace({ seed: 7 });
    const b = backlogTrace({ seed: 7 });
    const c = backlogTrace({ seed: 8 });

    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('follows the daily cycle: the afternoon peak hour gets far more jobs than the night', () => {
    const jobs = backlogTrace({ seed: 1, bursts: 0 });
    const inHour = (hour: number): number =>
      jobs.filter((j) => Math.floor(j.arrivalMs / 3_600_000) === hour).length;

    // Expected ≈ 180 at 14:00 (3/min) and ≈ 12 at 02:00 (0.2/min); Poisson noise is far smaller.
    expect(inHour(14)).toBeGreaterThan(120);
    expect(inHour(2)).toBeLessThan(30);
    expect(dailyRate(14 * 3_600_000, { seed: 1 })).toBeCloseTo(3);
    expect(dailyRate(2 * 3_600_000, { seed: 1 })).toBeCloseTo(0.2);
  });

  it('adds each burst as burstSize jobs within the spread, inside the day', () => {
    const jobs = backlogTrace({ seed: 3, bursts: 2, burstSize: 15, burstSpreadMs: 60_000 });
    const burst = jobs.filter((j) => j.burst);

    expect(burst).toHaveLength(30);
    expect(jobs.every((j) => j.arrivalMs >= 0 && j.arrivalMs < DAY_MS)).toBe(true);
    expect(jobs.every((j, i) => i === 0 || jobs[i - 1]!.arrivalMs <= j.arrivalMs)).toBe(true);
    expect(jobs.every((j) => j.durationMs >= 30_000 && j.durationMs <= 30 * 60_000)).toBe(true);
  });

  it('counts the peak of jobs running at once, reusing a slot freed at the same instant', () => {
    const jobs = [
      { arrivalMs: 0, durationMs: 10_000, burst: false },
      { arrivalMs: 5_000, durationMs: 10_000, burst: false },
      { arrivalMs: 10_000, durationMs: 1_000, burst: false },
      { arrivalMs: 30_000, durationMs: 1_000, burst: false },
    ];

    expect(peakConcurrency(jobs)).toBe(2);
  });

  it('draws uniformly enough from the seeded generator', () => {
    const random = seededRandom(42);
    const draws = Array.from({ length: 10_000 }, random);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;

    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    // σ of the mean of 10,000 U(0,1) draws is 0.0029; 0.02 is about 7σ.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
  });
});
