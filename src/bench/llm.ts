/**
 * `npm run bench:llm`: what sizing with Claude costs per service. The pipeline runs in-process with
 * the Claude reasoner and the real SDK, pointed at a local fake of the Messages API whose stand-in
 * model answers our tools (src/bench/fake-sizing-brain.ts). Calls and tokens are read from the fake
 * server's records of the requests the SDK actually sent, so prompt size and caching are measured
 * as sent; the model's answers are the stand-in's, so output tokens are indicative only.
 *
 * Each service is planned alone (`paths: [service]`) so every recorded request belongs to it: once
 * cold (the first service writes the cache), then again warm, which is the figure the targets
 * (≤ 4 calls, ≤ 12k uncached input tokens per service) apply to.
 */
import { fileURLToPath } from 'node:url';
import { done, failed, type Outcome } from '../outcome.js';
import { runPlan } from '../pipeline.js';
import { createKnowledgeRetriever } from '../rag/retriever.js';
import { estimateUsd } from '../reasoners/llm/usage.js';
import { createReasoners } from '../reasoners/select.js';
import { formatTable } from '../render/repo-table.js';
import { analyzeRepo } from '../repo/index.js';
import { startFakeMessagesApi, type FakeCall } from './fake-messages-api.js';
import { sizingBrain } from './fake-sizing-brain.js';
import { median, publish } from './results.js';

export const LLM_BENCH_EXAMPLE = fileURLToPath(
  new URL('../../examples/shop-monorepo', import.meta.url),
);
export const LLM_BENCH_DESCRIPTION =
  'Online shop: Go orders API, Spring Boot inventory, Next.js storefront; 2k QPS peak, 99.95% availability, PostgreSQL, Kafka, Redis';
export const TARGET_CALLS = 4;
export const TARGET_UNCACHED_INPUT = 12_000;

export interface ServiceLlmCost {
  service: string;
  calls: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  estimatedUsd: number;
}

/** Sums the fake server's records of one run: tokens as the API reported them, dollars by model. */
export function costOfCalls(service: string, calls: readonly FakeCall[]): ServiceLlmCost {
  const out: ServiceLlmCost = {
    service,
    calls: calls.length,
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    estimatedUsd: 0,
  };
  for (const call of calls) {
    const u = call.usage;
    if (u === undefined) continue;
    const tokens = {
      inputTokens: u.input_tokens,
      cacheReadTokens: u.cache_read_input_tokens,
      cacheWriteTokens: u.cache_creation_input_tokens,
      outputTokens: u.output_tokens,
    };
    out.inputTokens += tokens.inputTokens;
    out.cacheReadTokens += tokens.cacheReadTokens;
    out.cacheWriteTokens += tokens.cacheWriteTokens;
    out.outputTokens += tokens.outputTokens;
    out.estimatedUsd += estimateUsd(String(call.body.model), tokens);
  }
  return out;
}

export async function runLlmBench(options: {
  record: boolean;
}): Promise<Outcome<ServiceLlmCost[]>> {
  const facts = analyzeRepo(LLM_BENCH_EXAMPLE, { source: 'examples/shop-monorepo' });
  const services = facts.services.map((s) => ({ name: s.name, path: s.path }));
  const retriever = await createKnowledgeRetriever();
  const api = await startFakeMessagesApi({ brain: sizingBrain(retriever) });
  const env = {
    ANTHROPIC_API_KEY: 'bench-key',
    ANTHROPIC_BASE_URL: api.url,
    ANTHROPIC_MAX_RETRIES: '0',
  };
  const rows: { cold: ServiceLlmCost; warm: ServiceLlmCost }[] = [];
  try {
    for (const service of services) {
      const runs: ServiceLlmCost[] = [];
      for (let run = 0; run < 2; run++) {
        api.resetCalls();
        const setup = await createReasoners('claude', retriever, env);
        if (setup.kind !== 'done') return setup;
        const outcome = await runPlan(
          {
            source: LLM_BENCH_EXAMPLE,
            description: LLM_BENCH_DESCRIPTION,
            target: 'kubernetes',
            allowLocalPath: true,
            paths: [service.path],
          },
          {
            retriever,
            reasonerFor: (t) => setup.value.reasonerFor(t),
            llmUsage: () => setup.value.llmUsage(),
          },
        );
        await setup.value.close();
        if (outcome.kind !== 'done') return outcome;
        const fallbacks = outcome.value.document.llm?.fallbacks ?? [];
        if (fallbacks.length > 0)
          return failed(
            'internal',
            `the fake model's answers fell back to offline for ${service.name}: ${fallbacks.map((f) => `${f.agent}: ${f.reason}`).join('; ')}`,
            false,
          );
        runs.push(costOfCalls(service.name, api.calls));
      }
      rows.push({ cold: runs[0]!, warm: runs[1]! });
    }
  } finally {
    await api.close();
  }

  const warm = rows.map((r) => r.warm);
  const table = formatTable(
    [
      'SERVICE',
      'CALLS',
      'INPUT (UNCACHED)',
      'CACHE READ',
      'CACHE WRITE',
      'OUTPUT',
      'EST. USD',
      'COLD CALLS',
      'COLD INPUT',
      'COLD CACHE WRITE',
      'COLD USD',
    ],
    rows.map(({ cold, warm: w }) => [
      w.service,
      String(w.calls),
      String(w.inputTokens),
      String(w.cacheReadTokens),
      String(w.cacheWriteTokens),
      String(w.outputTokens),
      w.estimatedUsd.toFixed(4),
      String(cold.calls),
      String(cold.inputTokens),
      String(cold.cacheWriteTokens),
      cold.estimatedUsd.toFixed(4),
    ]),
  );
  const max = (f: (c: ServiceLlmCost) => number): number => Math.max(0, ...warm.map(f));
  publish(
    {
      name: 'bench:llm',
      command: 'npm run bench:llm',
      table,
      notes: [
        `${services.length} services of examples/shop-monorepo, each planned alone with --reasoner claude through @anthropic-ai/sdk against a local fake of the Messages API (src/bench/fake-messages-api.ts)`,
        'tokens as the fake server reports them for what the SDK sent (≈ 4 characters per token; a cache_control prefix is cached from Anthropic’s per-model minimum: 4096 tokens on Haiku 4.5, 1024 on Sonnet 4.6); warm = the second run of the service, cold = the first',
        'output tokens are the stand-in model’s answers (src/bench/fake-sizing-brain.ts), so they are indicative only; prices from src/reasoners/llm/usage.ts',
        `targets: ≤ ${TARGET_CALLS} calls and ≤ ${TARGET_UNCACHED_INPUT} uncached input tokens per service with a warm cache`,
      ],
      headline: {
        services: services.length,
        max_calls_per_service: max((c) => c.calls),
        max_uncached_input_tokens_per_service: max((c) => c.inputTokens),
        median_uncached_input_tokens_per_service: median(warm.map((c) => c.inputTokens)),
        median_cache_read_tokens_per_service: median(warm.map((c) => c.cacheReadTokens)),
        median_output_tokens_per_service: median(warm.map((c) => c.outputTokens)),
        median_usd_per_service_warm: median(warm.map((c) => c.estimatedUsd)).toFixed(4),
        median_usd_per_service_cold: median(rows.map((r) => r.cold.estimatedUsd)).toFixed(4),
        calls_target_met: max((c) => c.calls) <= TARGET_CALLS ? 'yes' : 'no',
        uncached_input_target_met:
          max((c) => c.inputTokens) <= TARGET_UNCACHED_INPUT ? 'yes' : 'no',
      },
    },
    options.record,
  );
  return done(warm);
}
