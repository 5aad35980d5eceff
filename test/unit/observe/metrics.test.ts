import { register as globalRegistry } from 'prom-client';
import { createMetrics, type Metrics } from '../../../src/observe/metrics.js';
import type { PoolEvent, QueueStats } from '../../../src/pool/queue.js';
import type { JobCount } from '../../../src/store/store.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format the way a scraper reads it (no escapes in our label values). */
function parse(body: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?<name>[a-zA-Z_:][\w:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)$/.exec(line);
    if (match?.groups === undefined) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match.groups.labels ?? '').matchAll(/(?<key>\w+)="(?<value>[^"]*)"/g)) {
      labels[pair.groups!.key!] = pair.groups!.value!;
    }
    samples.push({ name: match.groups.name!, labels, value: Number(match.groups.value) });
  }
  return samples;
}

function find(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parse((await metrics.render()).body);
}

function queueStats(byLabel: QueueStats['byLabel']): () => Promise<QueueStats> {
  return () => Promise.resolve({ byLabel });
}

const base = { id: 'job-000000000001', label: 'llm', kind: 'provision' } as const;

describe('observe/metrics', () => {
  describe('registry', () => {
    it('keeps each instance to its own registry and never touches the global one', async () => {
      const a = createMetrics({ defaultMetrics: false });
      const b = createMetrics({ defaultMetrics: false });

      a.onPoolEvent({ ...base, type: 'submitted', priority: 'NORMAL' });

      expect(find(await scrape(a), 'ai_provision_jobs_total', { state: 'submitted' })).toBe(1);
      expect(find(await scrape(b), 'ai_provision_jobs_total', { state: 'submitted' })).toBe(0);
      expect(await globalRegistry.metrics()).not.toContain('ai_provision_');
    });

    it('renders with the registry content type', async () => {
      const metrics = createMetrics({ defaultMetrics: false });

      const { contentType, body } = await metrics.render();

      expect(contentType).toBe(metrics.registry.contentType);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(body).toContain('# TYPE ai_provision_jobs_total counter');
      expect(body).toContain('# TYPE ai_provision_job_wait_seconds histogram');
    });

    it('adds process and Node.js metrics unless asked not to', async () => {
      const withDefaults = createMetrics();
      const without = createMetrics({ defaultMetrics: false });

      expect((await withDefaults.render()).body).toContain('process_cpu_user_seconds_total');
      expect((await without.render()).body).not.toContain('process_cpu_user_seconds_total');
    });

    it('names every metric with the prefix', async () => {
      const metrics = createMetrics({ prefix: 'bot_', defaultMetrics: false });

      const names = new Set((await scrape(metrics)).map((s) => s.name));

      expect([...names].every((n) => n.startsWith('bot_'))).toBe(true);
      expect(names).toContain('bot_jobs_total');
    });

    it('starts the known labels at 0 so the first transition is visible to rate()', async () => {
      const samples = await scrape(createMetrics({ defaultMetrics: false }));

      expect(find(samples, 'ai_provision_jobs_total', { state: 'failed', label: 'exec' })).toBe(0);
      expect(find(samples, 'ai_provision_job_retries_total', { label: 'llm_heavy' })).toBe(0);
    });
  });

  describe('onPoolEvent', () => {
    it.each<[string, PoolEvent]>([
      ['submitted', { ...base, type: 'submitted', priority: 'HIGH' }],
      ['started', { ...base, type: 'started', attempt: 1, waitedMs: 10 }],
      ['completed', { ...base, type: 'completed', durationMs: 10 }],
      ['retrying', { ...base, type: 'retrying', attempt: 1, delayMs: 5, error: 'boom' }],
      ['failed', { ...base, type: 'failed', attempts: 3, error: 'boom' }],
      ['cancelled', { ...base, type: 'cancelled' }],
    ])('counts a %s transition by state and label', async (state, event) => {
      const metrics = createMetrics({ defaultMetrics: false });

      metrics.onPoolEvent({ ...event, label: 'gpu_box' });
      metrics.onPoolEvent({ ...event, label: 'gpu_box' });

      const samples = await scrape(metrics);
      expect(find(samples, 'ai_provision_jobs_total', { state, label: 'gpu_box' })).toBe(2);
      const others = samples.filter(
        (s) => s.name === 'ai_provision_jobs_total' && s.labels.state !== state,
      );
      expect(others.every((s) => s.value === 0)).toBe(true);
    });

    it('counts retries per label', async () => {
      const metrics = createMetrics({ defaultMetrics: false });

      metrics.onPoolEvent({ ...base, type: 'retrying', attempt: 1, delayMs: 5, error: 'x' });
      metrics.onPoolEvent({ ...base, type: 'retrying', attempt: 2, delayMs: 9, error: 'x' });
      metrics.onPoolEvent({
        ...base,
        label: 'exec',
        type: 'retrying',
        attempt: 1,
        delayMs: 5,
        error: 'x',
      });

      const samples = await scrape(metrics);
      expect(find(samples, 'ai_provision_job_retries_total', { label: 'llm' })).toBe(2);
      expect(find(samples, 'ai_provision_job_retries_total', { label: 'exec' })).toBe(1);
    });

    it('observes wait-to-start in seconds per label, in the right bucket', async () => {
      const metrics = createMetrics({ defaultMetrics: false });

      metrics.onPoolEvent({ ...base, type: 'started', attempt: 1, waitedMs: 3_000 });
      metrics.onPoolEvent({ ...base, type: 'started', attempt: 1, waitedMs: 250 });

      const samples = await scrape(metrics);
      const name = 'ai_provision_job_wait_seconds';
      expect(find(samples, `${name}_count`, { label: 'llm' })).toBe(2);
      expect(find(samples, `${name}_sum`, { label: 'llm' })).toBeCloseTo(3.25);
      expect(find(samples, `${name}_bucket`, { label: 'llm', le: '0.5' })).toBe(1);
      expect(find(samples, `${name}_bucket`, { label: 'llm', le: '5' })).toBe(2);
    });

    it('observes the duration of completed jobs per label and kind', async () => {
      const metrics = createMetrics({ defaultMetrics: false });

      metrics.onPoolEvent({ ...base, type: 'completed', durationMs: 42_000 });

      const samples = await scrape(metrics);
      const labels = { label: 'llm', kind: 'provision' };
      expect(find(samples, 'ai_provision_job_duration_seconds_count', labels)).toBe(1);
      expect(find(samples, 'ai_provision_job_duration_seconds_sum', labels)).toBe(42);
    });

    it('counts a negative wait (clock stepped back) as 0 and drops NaN, without throwing', async () => {
      const metrics = createMetrics({ defaultMetrics: false });

      metrics.onPoolEvent({ ...base, type: 'started', attempt: 1, waitedMs: -5 });
      metrics.onPoolEvent({ ...base, type: 'completed', durationMs: Number.NaN });

      const samples = await scrape(metrics);
      expect(find(samples, 'ai_provision_job_wait_seconds_sum', { label: 'llm' })).toBe(0);
      expect(find(samples, 'ai_provision_job_wait_seconds_count', { label: 'llm' })).toBe(1);
      expect(find(samples, 'ai_provision_job_duration_seconds_count')).toBeUndefined();
      expect(find(samples, 'ai_provision_jobs_total', { state: 'completed', label: 'llm' })).toBe(
        1,
      );
    });
  });

  describe('observeStage and observeRateLimitWait', () => {
    it('observes stage durations and rate-limit waits by their own label', async () => {
      const metrics = createMetrics({ defaultMetrics: false });

      metrics.observeStage('cloning', 1.5);
      metrics.observeStage('cloning', 0.5);
      metrics.observeStage('agent-2', 12);
      metrics.observeRateLimitWait('github', 0.2);

      const samples = await scrape(metrics);
      expect(find(samples, 'ai_provision_stage_duration_seconds_count', { stage: 'cloning' })).toBe(
        2,
      );
      expect(find(samples, 'ai_provision_stage_duration_seconds_sum', { stage: 'cloning' })).toBe(
        2,
      );
      expect(find(samples, 'ai_provision_stage_duration_seconds_sum', { stage: 'agent-2' })).toBe(
        12,
      );
      expect(find(samples, 'ai_provision_rate_limit_wait_seconds_sum', { api: 'github' })).toBe(
        0.2,
      );
      expect(
        find(samples, 'ai_provision_rate_limit_wait_seconds_bucket', { api: 'github', le: '0.1' }),
      ).toBe(0);
      expect(
        find(samples, 'ai_provision_rate_limit_wait_seconds_bucket', { api: 'github', le: '0.25' }),
      ).toBe(1);
    });
  });

  describe('autoscaler', () => {
    it('counts Proxmox runners per phase at scrape time, every phase present, and counts events', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      metrics.setCollectors({ runners: () => Promise.resolve(4) });
      metrics.addCollectors({
        proxmoxRunners: () => [
          { id: 'a', node: 'pve1', phase: 'ready', since: 0, running: 1 },
          { id: 'b', node: 'pve1', phase: 'ready', since: 0, running: 0 },
          { id: 'c', node: 'pve2', phase: 'booting', since: 0, running: 0 },
        ],
      });
      metrics.onAutoscaleEvent('provision-started');
      metrics.onAutoscaleEvent('provision-started');
      metrics.onAutoscaleEvent('node-avoided');

      const samples = await scrape(metrics);

      expect(find(samples, 'ai_provision_runners')).toBe(4);
      expect(find(samples, 'ai_provision_proxmox_runners', { phase: 'ready' })).toBe(2);
      expect(find(samples, 'ai_provision_proxmox_runners', { phase: 'booting' })).toBe(1);
      expect(find(samples, 'ai_provision_proxmox_runners', { phase: 'draining' })).toBe(0);
      expect(
        find(samples, 'ai_provision_autoscale_events_total', { type: 'provision-started' }),
      ).toBe(2);
      expect(find(samples, 'ai_provision_autoscale_events_total', { type: 'node-avoided' })).toBe(
        1,
      );
    });

    it('has no Proxmox runner samples on an instance without the autoscaler', async () => {
      const metrics = createMetrics({ defaultMetrics: false });

      const samples = await scrape(metrics);

      expect(samples.filter((s) => s.name === 'ai_provision_proxmox_runners')).toEqual([]);
    });
  });

  describe('setCollectors', () => {
    it('reads queue depth, runners and store counts at scrape time', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      let running = 1;
      const counts: JobCount[] = [
        { state: 'queued', label: 'llm', count: 3 },
        { state: 'done', label: 'llm', count: 7 },
        { state: 'failed', label: 'exec', count: 1 },
      ];
      metrics.setCollectors({
        queueStats: () =>
          Promise.resolve({
            byLabel: {
              llm: { waiting: 4, running, delayed: 2 },
              exec: { waiting: 0, running: 0, delayed: 0 },
            },
          }),
        runners: () => Promise.resolve(3),
        jobCounts: () => Promise.resolve(counts),
      });

      const first = await scrape(metrics);
      running = 2;
      const second = await scrape(metrics);

      expect(find(first, 'ai_provision_queue_depth', { label: 'llm', state: 'waiting' })).toBe(4);
      expect(find(first, 'ai_provision_queue_depth', { label: 'llm', state: 'running' })).toBe(1);
      expect(find(first, 'ai_provision_queue_depth', { label: 'llm', state: 'delayed' })).toBe(2);
      expect(find(first, 'ai_provision_queue_depth', { label: 'exec', state: 'waiting' })).toBe(0);
      expect(find(second, 'ai_provision_queue_depth', { label: 'llm', state: 'running' })).toBe(2);
      expect(find(first, 'ai_provision_runners')).toBe(3);
      expect(find(first, 'ai_provision_jobs', { state: 'queued', label: 'llm' })).toBe(3);
      expect(find(first, 'ai_provision_jobs', { state: 'done', label: 'llm' })).toBe(7);
      expect(find(first, 'ai_provision_jobs', { state: 'failed', label: 'exec' })).toBe(1);
      // Every state of a label with jobs is present, so an alert on failed sees 0, not nothing.
      expect(find(first, 'ai_provision_jobs', { state: 'cancelled', label: 'llm' })).toBe(0);
      expect(find(first, 'ai_provision_scrape_errors_total', { source: 'store' })).toBe(0);
    });

    it('asks each source once per scrape', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      const calls = { queue: 0, runners: 0, store: 0 };
      metrics.setCollectors({
        queueStats: () => {
          calls.queue++;
          return Promise.resolve({ byLabel: {} });
        },
        runners: () => {
          calls.runners++;
          return Promise.resolve(1);
        },
        jobCounts: () => {
          calls.store++;
          return Promise.resolve([]);
        },
      });

      await metrics.render();
      await metrics.render();

      expect(calls).toEqual({ queue: 2, runners: 2, store: 2 });
    });

    it('leaves the scrape-time gauges without samples when no source is set', async () => {
      const samples = await scrape(createMetrics({ defaultMetrics: false }));

      expect(find(samples, 'ai_provision_runners')).toBeUndefined();
      expect(find(samples, 'ai_provision_queue_depth')).toBeUndefined();
      expect(find(samples, 'ai_provision_jobs')).toBeUndefined();
    });

    it('survives a failing source: its gauge is unset, the error counted in the same scrape, the rest rendered', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      let storeUp = true;
      metrics.setCollectors({
        queueStats: queueStats({ llm: { waiting: 1, running: 0, delayed: 0 } }),
        runners: () => Promise.reject(new Error('redis down')),
        jobCounts: () =>
          storeUp
            ? Promise.resolve([{ state: 'queued', label: 'llm', count: 5 }])
            : Promise.reject(new Error('database is locked')),
      });
      metrics.onPoolEvent({ ...base, type: 'submitted', priority: 'LOW' });

      const before = await scrape(metrics);
      storeUp = false;
      const after = await scrape(metrics);

      expect(find(before, 'ai_provision_jobs', { state: 'queued', label: 'llm' })).toBe(5);
      expect(find(after, 'ai_provision_jobs', { state: 'queued', label: 'llm' })).toBeUndefined();
      expect(find(after, 'ai_provision_runners')).toBeUndefined();
      expect(find(after, 'ai_provision_scrape_errors_total', { source: 'runners' })).toBe(2);
      expect(find(after, 'ai_provision_scrape_errors_total', { source: 'store' })).toBe(1);
      expect(find(after, 'ai_provision_scrape_errors_total', { source: 'queue' })).toBe(0);
      expect(find(after, 'ai_provision_queue_depth', { label: 'llm', state: 'waiting' })).toBe(1);
      expect(find(after, 'ai_provision_jobs_total', { state: 'submitted', label: 'llm' })).toBe(1);
    });

    it('survives a source that throws instead of rejecting', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      metrics.setCollectors({
        runners: () => {
          throw new Error('not connected');
        },
      });

      const samples = await scrape(metrics);

      expect(find(samples, 'ai_provision_runners')).toBeUndefined();
      expect(find(samples, 'ai_provision_scrape_errors_total', { source: 'runners' })).toBe(1);
    });

    it('gives up on a source that hangs after collectTimeoutMs', async () => {
      const metrics = createMetrics({ defaultMetrics: false, collectTimeoutMs: 50 });
      metrics.setCollectors({
        queueStats: () => new Promise<QueueStats>(() => undefined),
        runners: () => Promise.resolve(2),
      });

      const startedAt = Date.now();
      const samples = await scrape(metrics);

      // Generous upper bound: a loaded 2-core CI box can delay a 50 ms timer, never by seconds.
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      expect(find(samples, 'ai_provision_scrape_errors_total', { source: 'queue' })).toBe(1);
      expect(find(samples, 'ai_provision_queue_depth')).toBeUndefined();
      expect(find(samples, 'ai_provision_runners')).toBe(2);
    });

    it('replaces the sources: one left out is no longer read', async () => {
      const metrics = createMetrics({ defaultMetrics: false });
      metrics.setCollectors({ runners: () => Promise.resolve(4) });

      const first = await scrape(metrics);
      metrics.setCollectors({ queueStats: queueStats({}) });
      const second = await scrape(metrics);

      expect(find(first, 'ai_provision_runners')).toBe(4);
      expect(find(second, 'ai_provision_runners')).toBeUndefined();
    });
  });
});
