import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlan, type PlanCheckpoints, type PlanDeps } from '../../src/pipeline.js';
import { createKnowledgeRetriever } from '../../src/rag/retriever.js';
import type { Retriever } from '../../src/rag/schema.js';
import { createOfflineReasoner } from '../../src/reasoners/offline.js';
import type { Reasoner } from '../../src/reasoners/reasoner.js';

const DESCRIPTION =
  'Shop with an API, a worker and a web front end; about 200 requests per second at peak.';

let cacheDir: string;
let retriever: Retriever;

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'aip-checkpoints-'));
  retriever = await createKnowledgeRetriever({ cacheDir });
}, 60_000);

afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/** Checkpoints in a Map, recording what was loaded and saved. */
function memoryCheckpoints(): PlanCheckpoints & { saved: Map<string, unknown>; loads: string[] } {
  const saved = new Map<string, unknown>();
  const loads: string[] = [];
  return {
    saved,
    loads,
    load: async (stage, commit) => {
      loads.push(`${stage}@${commit}`);
      return saved.get(`${stage}@${commit}`);
    },
    save: async (stage, commit, value) => {
      // Through JSON, as a store keeps it.
      saved.set(`${stage}@${commit}`, JSON.parse(JSON.stringify(value)));
    },
  };
}

/** The offline reasoner, counting the calls each agent makes. */
function counting(): { reasonerFor: PlanDeps['reasonerFor']; calls: Record<string, number> } {
  const calls: Record<string, number> = { decideContext: 0, predict: 0, refine: 0 };
  const inner = createOfflineReasoner({ retriever, target: 'kubernetes' });
  const reasoner: Reasoner = {
    id: inner.id,
    decideContext: (q) => {
      calls.decideContext!++;
      return inner.decideContext(q);
    },
    predict: (b) => {
      calls.predict!++;
      return inner.predict(b);
    },
    refine: (s) => {
      calls.refine!++;
      return inner.refine(s);
    },
  };
  return { reasonerFor: () => reasoner, calls };
}

async function plan(
  checkpoints: PlanCheckpoints | undefined,
  reasonerFor: PlanDeps['reasonerFor'],
) {
  const outcome = await runPlan(
    {
      source: 'examples/shop-monorepo',
      description: DESCRIPTION,
      target: 'kubernetes',
      allowLocalPath: true,
    },
    { retriever, reasonerFor, ...(checkpoints === undefined ? {} : { checkpoints }) },
  );
  if (outcome.kind !== 'done') throw new Error(outcome.userMessage);
  return outcome.value;
}

describe('agent checkpoints', () => {
  it('saves each agent output once, keyed by the commit read', async () => {
    const checkpoints = memoryCheckpoints();
    const first = await plan(checkpoints, counting().reasonerFor);
    expect(first.base.commit).toMatch(/^[0-9a-f]{40}$/);
    expect([...checkpoints.saved.keys()]).toEqual([
      `agent-1@${first.base.commit}`,
      `agent-2@${first.base.commit}`,
      `agent-3@${first.base.commit}`,
    ]);
  }, 60_000);

  it('a second run of the same job resumes from the checkpoints without calling the agents', async () => {
    const checkpoints = memoryCheckpoints();
    const fresh = counting();
    const first = await plan(checkpoints, fresh.reasonerFor);
    expect(fresh.calls.predict).toBeGreaterThan(0);

    const resumed = counting();
    const second = await plan(checkpoints, resumed.reasonerFor);
    expect(resumed.calls).toEqual({ decideContext: 0, predict: 0, refine: 0 });
    expect(second.document).toEqual(first.document);
    expect(second.files).toEqual(first.files);
  }, 60_000);

  it('resumes from the stage where it stopped: a saved agent 1 is reused, agents 2 and 3 run', async () => {
    const checkpoints = memoryCheckpoints();
    const first = await plan(checkpoints, counting().reasonerFor);
    for (const key of [...checkpoints.saved.keys()]) {
      if (!key.startsWith('agent-1@')) checkpoints.saved.delete(key);
    }
    const resumed = counting();
    const second = await plan(checkpoints, resumed.reasonerFor);
    expect(resumed.calls.decideContext).toBe(0);
    expect(resumed.calls.predict).toBeGreaterThan(0);
    expect(resumed.calls.refine).toBeGreaterThan(0);
    expect(second.document).toEqual(first.document);
  }, 60_000);

  it('recomputes a stage whose checkpoint does not parse, and one saved for another commit', async () => {
    const checkpoints = memoryCheckpoints();
    const first = await plan(checkpoints, counting().reasonerFor);
    const commit = first.base.commit!;
    checkpoints.saved.set(`agent-3@${commit}`, [{ bundle: 0, plan: { nonsense: true } }]);
    checkpoints.saved.set(`agent-2@0000000000000000000000000000000000000000`, []);
    checkpoints.saved.delete(`agent-2@${commit}`);
    const resumed = counting();
    const second = await plan(checkpoints, resumed.reasonerFor);
    expect(resumed.calls.predict).toBeGreaterThan(0);
    expect(resumed.calls.refine).toBeGreaterThan(0);
    expect(second.document).toEqual(first.document);
    expect(checkpoints.saved.get(`agent-3@${commit}`)).not.toEqual([
      { bundle: 0, plan: { nonsense: true } },
    ]);
  }, 60_000);
});
