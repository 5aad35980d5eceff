import { githubWriteThrottle } from '../../../src/scm/throttle.js';

describe('scm/throttle', () => {
  it('lets a burst of writes through at once, then refills one per interval', async () => {
    const { write } = githubWriteThrottle(undefined, {
      writeBurst: 3,
      notificationBurst: 2,
      refillMs: 300,
    });
    const limiter = write.key('installation-1');
    const started: number[] = [];
    const t0 = Date.now();

    const jobs = Array.from({ length: 5 }, () =>
      limiter.schedule(async () => {
        started.push(Date.now() - t0);
      }),
    );
    await Promise.all(jobs);

    // The first three start together; the fourth and fifth wait for refills (≥ 1 interval each).
    expect(started.slice(0, 3).every((ms) => ms < 250)).toBe(true);
    expect(started[3]).toBeGreaterThanOrEqual(250);
    expect(started[4]! - started[3]!).toBeGreaterThanOrEqual(250);
    await write.disconnect();
  });

  it('keeps installations in separate buckets', async () => {
    const { notifications } = githubWriteThrottle(undefined, {
      writeBurst: 1,
      notificationBurst: 1,
      refillMs: 10_000,
    });
    const t0 = Date.now();

    await notifications.key('a').schedule(async () => undefined);
    await notifications.key('b').schedule(async () => undefined);

    expect(Date.now() - t0).toBeLessThan(1_000);
    await notifications.disconnect();
  });
});
