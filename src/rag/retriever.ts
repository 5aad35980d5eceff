/**
 * The `Retriever` over knowledge/: metadata filters decide which entries may answer, the vector
 * index ranks their chunks by similarity, and each passage carries the sources of its entry.
 */
import type { BaseEmbedding } from 'llamaindex';
import { compareStrings, defaultKnowledgeDir, loadKnowledge } from './knowledge.js';
import type { KnowledgeProblem } from './knowledge.js';
import { buildKnowledgeIndex, queryKnowledgeIndex } from './knowledge-index.js';
import type { IndexCacheStatus, KnowledgeIndex, ScoredChunk } from './knowledge-index.js';
import type {
  KnowledgeEntry,
  Passage,
  RetrievalFilters,
  RetrievalQuery,
  Retriever,
} from './schema.js';

/** Passages returned when a query does not say how many. */
export const DEFAULT_TOP_K = 5;

export interface KnowledgeRetrieverOptions {
  /** Defaults to `knowledge/` at the package root. */
  dir?: string;
  /** Defaults to `defaultCacheDir()`. */
  cacheDir?: string;
  /** Defaults to the offline hash embedding. */
  embedding?: BaseEmbedding;
}

/** A `Retriever` that also tells what it could not load, so callers can warn about it. */
export interface KnowledgeRetriever extends Retriever {
  /** Knowledge files that were skipped, each with the file name and (where known) the line. */
  readonly problems: readonly KnowledgeProblem[];
  /** Content hash of the knowledge directory the index was built from. */
  readonly hash: string;
  /** Whether the embeddings came from the cache. */
  readonly cache: IndexCacheStatus;
}

/**
 * Loads knowledge/, builds or reuses the cached index, and answers queries. Invalid knowledge files
 * are reported in `problems`, never thrown.
 */
export async function createKnowledgeRetriever(
  options: KnowledgeRetrieverOptions = {},
): Promise<KnowledgeRetriever> {
  const loaded = loadKnowledge(options.dir ?? defaultKnowledgeDir());
  const knowledge = await buildKnowledgeIndex(loaded.entries, {
    hash: loaded.hash,
    ...(options.embedding === undefined ? {} : { embedding: options.embedding }),
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  });
  const entries: readonly KnowledgeEntry[] = Object.freeze([...loaded.entries]);
  const byId = new Map(entries.map((entry) => [entry.id, entry]));

  return {
    problems: Object.freeze([...loaded.problems]),
    hash: loaded.hash,
    cache: knowledge.cache,
    entry: (id) => byId.get(id),
    entries: () => entries,
    retrieve: (query) => retrievePassages(knowledge, entries, query),
  };
}

async function retrievePassages(
  knowledge: KnowledgeIndex,
  entries: readonly KnowledgeEntry[],
  query: RetrievalQuery,
): Promise<Passage[]> {
  const topK = Math.max(0, Math.floor(query.topK ?? DEFAULT_TOP_K));
  const candidates = entries.filter((entry) => matchesFilters(entry, query.filters));
  if (topK === 0 || candidates.length === 0) return [];

  const ids = candidates.map((entry) => entry.id);
  // llamaindex embeds nothing for an empty query; every candidate then scores 0 and ties break by id.
  const scored =
    query.text.trim() === '' ? [] : await queryKnowledgeIndex(knowledge, query.text, ids);
  const scores = new Map(scored.map((chunk) => [chunk.chunkId, chunk.score]));
  const wanted = new Set(ids);
  const all = knowledge.chunks
    .filter((chunk) => wanted.has(chunk.entryId))
    .map((chunk) => ({
      chunkId: chunk.id,
      entryId: chunk.entryId,
      index: chunk.index,
      score: scores.get(chunk.id) ?? 0,
    }));

  const texts = new Map(knowledge.chunks.map((chunk) => [chunk.id, chunk.text]));
  const byId = new Map(candidates.map((entry) => [entry.id, entry]));
  return rankChunks(all, topK).flatMap((chunk) => {
    const entry = byId.get(chunk.entryId);
    if (entry === undefined) return [];
    return [
      {
        entryId: entry.id,
        title: entry.title,
        kind: entry.kind,
        text: texts.get(chunk.chunkId) ?? '',
        score: chunk.score,
        sources: entry.sources.map((source) => ({ ...source })),
      },
    ];
  });
}

/**
 * Whether an entry may answer a query, as documented on `RetrievalQuery`: with no applies-to
 * filters every entry passes; otherwise an entry passes when any of its `applies_to` values is in
 * the matching filter list (OR across fields), and a pattern entry also passes when `kinds`
 * includes 'pattern'. `kinds`, when given, restricts the kinds in every case. Empty lists count as
 * not given.
 */
export function matchesFilters(entry: KnowledgeEntry, filters: RetrievalFilters = {}): boolean {
  const kinds = nonEmpty(filters.kinds);
  if (kinds !== undefined && !kinds.includes(entry.kind)) return false;

  const fields = [
    [nonEmpty(filters.languages), entry.applies_to.languages],
    [nonEmpty(filters.frameworks), entry.applies_to.frameworks],
    [nonEmpty(filters.images), entry.applies_to.images],
    [nonEmpty(filters.patterns), entry.applies_to.patterns],
  ] as const;
  const given = fields.filter(([wanted]) => wanted !== undefined);
  if (given.length === 0) return true;
  if (entry.kind === 'pattern' && kinds?.includes('pattern') === true) return true;
  return given.some(([wanted, values]) => values.some((value) => wanted?.includes(value)));
}

function nonEmpty<T>(list: readonly T[] | undefined): readonly T[] | undefined {
  return list === undefined || list.length === 0 ? undefined : list;
}

/**
 * Orders chunks by score (highest first), then entry id, then position in the entry, and keeps
 * at most `topK`: the best chunk of each entry first, and further chunks of an entry only when
 * `topK` exceeds the number of entries. Scores are clamped to [0, 1] and rounded to 6 decimals so
 * floating-point noise cannot reorder equal passages.
 */
export function rankChunks(chunks: readonly ScoredChunk[], topK: number): ScoredChunk[] {
  const ranked = chunks
    .map((chunk) => ({ ...chunk, score: cleanScore(chunk.score) }))
    .sort(compareRanked);
  const best: ScoredChunk[] = [];
  const rest: ScoredChunk[] = [];
  const seen = new Set<string>();
  for (const chunk of ranked) {
    if (seen.has(chunk.entryId)) {
      rest.push(chunk);
      continue;
    }
    seen.add(chunk.entryId);
    best.push(chunk);
  }
  if (topK <= best.length) return best.slice(0, topK);
  return [...best, ...rest.slice(0, topK - best.length)].sort(compareRanked);
}

function cleanScore(score: number): number {
  if (!Number.isFinite(score)) return 0;
  return Math.round(Math.min(1, Math.max(0, score)) * 1e6) / 1e6;
}

function compareRanked(a: ScoredChunk, b: ScoredChunk): number {
  return b.score - a.score || compareStrings(a.entryId, b.entryId) || a.index - b.index;
}
