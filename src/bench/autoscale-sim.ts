/**
 * The queue side of bench:autoscale, simulated: jobs wait in arrival order, registered runners take
 * them (least busy first, up to their concurrency), a draining runner takes nothing new and leaves
 * once idle, and a runner whose guest stops takes its jobs down with it — they go back to the front
 * of the queue, as BullMQ's stalled-job recovery does. It is the autoscaler's RunnerRegistry, so
 * the real autoscale loop reads the backlog and the registry from it.
 */
import type { RegisteredRunner, RunnerRegistry } from '../proxmox/types.js';
import type { TraceJob } from './autoscale-trace.js';

interface SimJob extends TraceJob {
  id: number;
  startedAt?: number;
  endsAt?: number;
  finishedAt?: number;
  /** Times it was running on a runner that went away. */
  interrupted: number;
}

interface SimRunner {
  id: string;
  labels: string[];
  concurrency: number;
  tokenHash?: string;
  draining: boolean;
  running: Map<number, SimJob>;
}

export interface SimSummary {
  submitted: number;
  completed: number;
  /** Jobs neither completed nor waiting nor running: must be 0. */
  lost: number;
  interrupted: number;
  waitsMs: number[];
}

export class SimQueue implements RunnerRegistry {
  private readonly jobs: SimJob[] = [];
  private waiting: SimJob[] = [];
  private readonly runnersById = new Map<string, SimRunner>();
  private nextId = 0;

  constructor(private readonly labels: readonly string[]) {}

  submit(job: TraceJob): void {
    const entry: SimJob = { ...job, id: this.nextId++, interrupted: 0 };
    this.jobs.push(entry);
    this.waiting.push(entry);
  }

  register(runner: {
    id: string;
    concurrency: number;
    tokenHash?: string;
    labels?: string[];
  }): void {
    if (this.runnersById.has(runner.id)) return;
    this.runnersById.set(runner.id, {
      id: runner.id,
      labels: runner.labels ?? [...this.labels],
      concurrency: runner.concurrency,
      ...(runner.tokenHash === undefined ? {} : { tokenHash: runner.tokenHash }),
      draining: false,
      running: new Map(),
    });
  }

  /** The runner's host went away: its running jobs go back to the front of the queue. */
  kill(runnerId: string): void {
    const runner = this.runnersById.get(runnerId);
    if (runner === undefined) return;
    const back = [...runner.running.values()];
    for (const job of back) {
      job.interrupted++;
      delete job.startedAt;
      delete job.endsAt;
    }
    this.waiting = [...back.sort((a, b) => a.id - b.id), ...this.waiting];
    this.runnersById.delete(runnerId);
  }

  /** Finishes jobs due by `now`, lets idle draining runners leave, then starts what fits. */
  step(now: number): void {
    for (const runner of this.runnersById.values()) {
      for (const [id, job] of runner.running) {
        if (job.endsAt !== undefined && job.endsAt <= now) {
          job.finishedAt = job.endsAt;
          runner.running.delete(id);
        }
      }
      if (runner.draining && runner.running.size === 0) this.runnersById.delete(runner.id);
    }
    for (let i = 0; i < 1_000_000 && this.waiting.length > 0; i++) {
      const free = [...this.runnersById.values()]
        .filter((r) => !r.draining && r.running.size < r.concurrency)
        .sort((a, b) => a.running.size - b.running.size || a.id.localeCompare(b.id));
      const runner = free[0];
      if (runner === undefined) break;
      const job = this.waiting.shift()!;
      // A job interrupted earlier keeps its first start for the wait; it runs its full time again.
      job.startedAt ??= now;
      job.endsAt = now + job.durationMs;
      runner.running.set(job.id, job);
    }
  }

  idle(): boolean {
    return (
      this.waiting.length === 0 && [...this.runnersById.values()].every((r) => r.running.size === 0)
    );
  }

  registeredCount(): number {
    return this.runnersById.size;
  }

  async list(): Promise<RegisteredRunner[]> {
    return [...this.runnersById.values()].map((r) => ({
      id: r.id,
      labels: r.labels,
      concurrency: r.concurrency,
      running: r.running.size,
      draining: r.draining,
      ...(r.tokenHash === undefined ? {} : { tokenHash: r.tokenHash }),
    }));
  }

  async requestDrain(runnerId: string): Promise<void> {
    const runner = this.runnersById.get(runnerId);
    if (runner !== undefined) runner.draining = true;
  }

  async backlog(labels: readonly string[]): Promise<number> {
    return labels.some((label) => this.labels.includes(label)) ? this.waiting.length : 0;
  }

  summary(): SimSummary {
    const running = new Set<number>();
    for (const runner of this.runnersById.values())
      for (const id of runner.running.keys()) running.add(id);
    const waiting = new Set(this.waiting.map((j) => j.id));
    const completed = this.jobs.filter((j) => j.finishedAt !== undefined);
    return {
      submitted: this.jobs.length,
      completed: completed.length,
      lost: this.jobs.filter(
        (j) => j.finishedAt === undefined && !running.has(j.id) && !waiting.has(j.id),
      ).length,
      interrupted: this.jobs.reduce((sum, j) => sum + j.interrupted, 0),
      waitsMs: completed.map((j) => j.startedAt! - j.arrivalMs),
    };
  }
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
