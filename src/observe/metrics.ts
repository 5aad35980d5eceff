/**
 * Prometheus metrics on prom-client, one Registry per `createMetrics()` call (never prom-client's
 * global registry: two servers in one process, or two tests, must not share counters).
 *
 * | metric (default prefix `ai_provision_`)  | type      | labels        | fed by                                   |
 * | ---------------------------------------- | --------- | ------------- | ---------------------------------------- |
 * | `jobs_total`                             | counter   | state, label  | onPoolEvent: one per transition          |
 * |                                          |           |               | (submitted started completed retrying    |
 * |                                          |           |               | failed cancelled)                        |
 * | `job_retries_total`                      | counter   | label         | onPoolEvent 'retrying'                   |
 * | `job_wait_seconds`                       | histogram | label         | onPoolEvent 'started' (submit → start)   |
 * | `job_duration_seconds`                   | histogram | label, kind   | onPoolEvent 'completed'                  |
 * | `stage_duration_seconds`                 | histogram | stage         | observeStage                             |
 * | `rate_limit_wait_seconds`                | histogram | api           | observeRateLimitWait                     |
 * | `jobs`                                   | gauge     | state, label  | jobCounts() (the Store) at scrape        |
 * | `queue_depth`                            | gauge     | label, state  | queueStats() at scrape: waiting, running, |
 * |                                          |           |               | delayed                                  |
 * | `runners`                                | gauge     | —             | runners() at scrape                      |
 * | `scrape_errors_total`                    | counter   | source        | a scrape-time source that threw or timed |
 * |                                          |           |               | out: queue, runners, store               |
 *
 * Scrape-time gauges are left without samples when their source is not set or fails: a missing
 * series is honest ("unknown"), a zero would claim an empty queue. `defaultMetrics` adds
 * prom-client's process_* and nodejs_* series, unprefixed, the names dashboards expect.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { KNOWN_LABELS, type PoolEvent, type QueueStats } from '../pool/queue.js';
import type { ManagedRunner, RunnerPhase } from '../proxmox/types.js';
import { JOB_STATES, type JobCount } from '../store/store.js';

export interface MetricSources {
  /** Queue depth per label and state. */
  queueStats?: () => Promise<QueueStats>;
  /** Runners alive (heartbeat fresh). */
  runners?: () => Promise<number>;
  /** Jobs per state and label, from the Store. */
  jobCounts?: () => Promise<JobCount[]>;
  /** Proxmox runners as the autoscaler last saw them (only on the instance that runs it). */
  proxmoxRunners?: () => readonly ManagedRunner[];
}

export interface Metrics {
  registry: Registry;
  /** Feed every PoolEvent here: jobs_total{state,label}, retries_total{label}, job duration, wait-to-start. Never throws. */
  onPoolEvent(event: PoolEvent): void;
  /** Stage durations (cloning, analysing, agent-1..3, rendering, opening-pr). */
  observeStage(stage: string, seconds: number): void;
  /** Rate-limit waits per external API. */
  observeRateLimitWait(api: string, seconds: number): void;
  /** One autoscaler event (provision-started, runner-removed, node-avoided, …). */
  onAutoscaleEvent(type: string): void;
  /**
   * Sources read at scrape time: queue depth per label/state, runners, jobs by state (store).
   * Replaces the previous sources; a source left out is no longer read.
   */
  setCollectors(sources: MetricSources): void;
  /** Adds sources (or replaces those named) and keeps the others. */
  addCollectors(sources: MetricSources): void;
  /** Text exposition for GET /metrics (content type from registry.contentType). */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  /** Prepended to every metric name of ours; default 'ai_provision_'. */
  prefix?: string;
  /** Also export prom-client's process and Node.js metrics; default true. */
  defaultMetrics?: boolean;
  /** A scrape-time source slower than this counts as failed, so a stuck database cannot hang a scrape; default 5000. */
  collectTimeoutMs?: number;
}

export const DEFAULT_METRICS_PREFIX = 'ai_provision_';

/** The transitions counted by jobs_total, one per PoolEvent type. */
const TRANSITIONS = [
  'submitted',
  'started',
  'completed',
  'retrying',
  'failed',
  'cancelled',
] as const satisfies readonly PoolEvent['type'][];

const QUEUE_STATES = ['waiting', 'running', 'delayed'] as const;

const RUNNER_PHASES = [
  'provisioning',
  'booting',
  'ready',
  'draining',
  'tearing-down',
  'failed',
] as const satisfies readonly RunnerPhase[];

// Buckets in seconds, spread over what each thing plausibly takes.
const WAIT_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
const JOB_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const STAGE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const RATE_LIMIT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type SourceName = 'queue' | 'runners' | 'store';

type Reading<T> = { kind: 'absent' } | { kind: 'ok'; value: T } | { kind: 'failed' };

/** Seconds fit for a histogram: a negative duration (clock step) counts as 0, NaN is dropped. */
function seconds(value: number): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  return Math.max(0, value);
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? DEFAULT_METRICS_PREFIX;
  const collectTimeoutMs = options.collectTimeoutMs ?? 5_000;
  const registry = new Registry();
  const registers = [registry];

  let sources: MetricSources = {};
  // Every scrape-time metric's collect() joins the same reading, so one scrape asks each source
  // once, and scrape_errors_total already counts this scrape's failures when it is read.
  let reading: Promise<void> | undefined;
  function refresh(): Promise<void> {
    reading ??= readSources().finally(() => {
      reading = undefined;
    });
    return reading;
  }

  const jobsTotal = new Counter({
    name: `${prefix}jobs_total`,
    help: 'Job transitions seen by this process, by the state entered and pool label.',
    labelNames: ['state', 'label'] as const,
    registers,
  });
  const retriesTotal = new Counter({
    name: `${prefix}job_retries_total`,
    help: 'Job attempts that failed and were scheduled again, by pool label.',
    labelNames: ['label'] as const,
    registers,
  });
  const waitSeconds = new Histogram({
    name: `${prefix}job_wait_seconds`,
    help: 'Time from submit to start of a job run, by pool label.',
    labelNames: ['label'] as const,
    buckets: WAIT_BUCKETS,
    registers,
  });
  const durationSeconds = new Histogram({
    name: `${prefix}job_duration_seconds`,
    help: 'Run time of jobs that completed, by pool label and kind.',
    labelNames: ['label', 'kind'] as const,
    buckets: JOB_BUCKETS,
    registers,
  });
  const stageSeconds = new Histogram({
    name: `${prefix}stage_duration_seconds`,
    help: 'Duration of pipeline stages (cloning, analysing, agent-1..3, rendering, opening-pr).',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers,
  });
  const rateLimitSeconds = new Histogram({
    name: `${prefix}rate_limit_wait_seconds`,
    help: 'Time a call to an external API waited for its rate limiter, by API.',
    labelNames: ['api'] as const,
    buckets: RATE_LIMIT_BUCKETS,
    registers,
  });
  const jobsGauge = new Gauge({
    name: `${prefix}jobs`,
    help: 'Jobs in the store, by state and pool label (read at scrape).',
    labelNames: ['state', 'label'] as const,
    registers,
    collect: refresh,
  });
  const queueDepth = new Gauge({
    name: `${prefix}queue_depth`,
    help: 'Jobs in the queue by pool label and state: waiting, running, delayed (read at scrape).',
    labelNames: ['label', 'state'] as const,
    registers,
    collect: refresh,
  });
  const runnersGauge = new Gauge({
    name: `${prefix}runners`,
    help: 'Runners with a fresh heartbeat (read at scrape).',
    registers,
    collect: refresh,
  });
  const scrapeErrors = new Counter({
    name: `${prefix}scrape_errors_total`,
    help: 'Scrape-time sources that failed or timed out (queue, runners, store); their gauges are left without samples.',
    labelNames: ['source'] as const,
    registers,
    collect: refresh,
  });
  unset(runnersGauge);
  const proxmoxRunners = new Gauge({
    name: `${prefix}proxmox_runners`,
    help: 'Proxmox runner guests by phase, as the autoscaler on this instance last saw them.',
    labelNames: ['phase'] as const,
    registers,
    collect: () => {
      proxmoxRunners.reset();
      const current = sources.proxmoxRunners;
      if (current === undefined) return;
      for (const phase of RUNNER_PHASES) proxmoxRunners.set({ phase }, 0);
      for (const runner of current()) proxmoxRunners.inc({ phase: runner.phase });
    },
  });
  const autoscaleEvents = new Counter({
    name: `${prefix}autoscale_events_total`,
    help: 'Autoscaler events on this instance, by type (provision-started, provision-failed, runner-removed, node-avoided, …).',
    labelNames: ['type'] as const,
    registers,
  });

  // Known series start at 0 so the first increment shows up in rate() and increase().
  for (const label of KNOWN_LABELS) {
    for (const state of TRANSITIONS) jobsTotal.inc({ state, label }, 0);
    retriesTotal.inc({ label }, 0);
  }
  for (const source of ['queue', 'runners', 'store'] as const) scrapeErrors.inc({ source }, 0);

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  async function read<T>(
    source: SourceName,
    get: (() => Promise<T>) | undefined,
  ): Promise<Reading<T>> {
    if (get === undefined) return { kind: 'absent' };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${source} took longer than ${collectTimeoutMs} ms`)),
        collectTimeoutMs,
      );
      timer.unref();
    });
    try {
      return { kind: 'ok', value: await Promise.race([get(), timeout]) };
    } catch {
      scrapeErrors.inc({ source });
      return { kind: 'failed' };
    } finally {
      clearTimeout(timer);
    }
  }

  async function readSources(): Promise<void> {
    const current = sources;
    const [queue, runners, counts] = await Promise.all([
      read('queue', current.queueStats),
      read('runners', current.runners),
      read('store', current.jobCounts),
    ]);

    queueDepth.reset();
    if (queue.kind === 'ok') {
      for (const [label, stats] of Object.entries(queue.value.byLabel)) {
        for (const state of QUEUE_STATES) queueDepth.set({ label, state }, stats[state]);
      }
    }

    if (runners.kind === 'ok') runnersGauge.set(runners.value);
    else unset(runnersGauge);

    jobsGauge.reset();
    if (counts.kind === 'ok') {
      // Every state of a label that has jobs gets a sample, so "0 failed" reads as 0, not absent.
      for (const label of new Set(counts.value.map((c) => c.label))) {
        for (const state of JOB_STATES) jobsGauge.set({ state, label }, 0);
      }
      for (const { state, label, count } of counts.value) jobsGauge.inc({ state, label }, count);
    }
  }

  return {
    registry,

    onPoolEvent(event) {
      jobsTotal.inc({ state: event.type, label: event.label });
      switch (event.type) {
        case 'started': {
          const waited = seconds(event.waitedMs / 1000);
          if (waited !== undefined) waitSeconds.observe({ label: event.label }, waited);
          return;
        }
        case 'completed': {
          const took = seconds(event.durationMs / 1000);
          if (took !== undefined)
            durationSeconds.observe({ label: event.label, kind: event.kind }, took);
          return;
        }
        case 'retrying':
          retriesTotal.inc({ label: event.label });
          return;
        case 'submitted':
        case 'failed':
        case 'cancelled':
          return;
      }
    },

    observeStage(stage, value) {
      const took = seconds(value);
      if (took !== undefined) stageSeconds.observe({ stage }, took);
    },

    observeRateLimitWait(api, value) {
      const waited = seconds(value);
      if (waited !== undefined) rateLimitSeconds.observe({ api }, waited);
    },
    onAutoscaleEvent(type) {
      autoscaleEvents.inc({ type });
    },

    addCollectors(more) {
      sources = { ...sources, ...more };
    },
    setCollectors(next) {
      sources = { ...next };
    },

    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** A gauge without labels always has a sample (0) after reset(); remove() takes it away. */
function unset(gauge: Gauge): void {
  gauge.reset();
  gauge.remove();
}
