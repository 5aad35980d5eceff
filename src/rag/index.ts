/**
 * rag/ — retrieval over the curated sizing knowledge base (knowledge/*.md). Owns loading and
 * validating the entries, the offline embedding, the llamaindex vector index with its on-disk cache,
 * and the metadata-filtered `Retriever` the agents receive. It decides no sizes and calls no
 * network service: a real embedding model is plugged in by whoever builds the retriever (cli.ts).
 */
export * from './schema.js';
export {
  compareStrings,
  defaultKnowledgeDir,
  loadKnowledge,
  packageRoot,
  parseKnowledgeFile,
} from './knowledge.js';
export type { KnowledgeProblem, LoadedKnowledge, ParsedKnowledgeFile } from './knowledge.js';
export {
  createEmbedding,
  DEFAULT_EMBEDDING_DIMS,
  embeddingFingerprint,
  hashEmbed,
  HashEmbedding,
  normaliseWords,
  textFeatures,
} from './embedding.js';
export type { EmbeddingConfig, HashEmbeddingOptions } from './embedding.js';
export {
  buildKnowledgeIndex,
  chunkEntry,
  defaultCacheDir,
  embeddedText,
  MAX_CHUNK_CHARS,
  queryKnowledgeIndex,
} from './knowledge-index.js';
export type {
  IndexCacheStatus,
  KnowledgeChunk,
  KnowledgeIndex,
  KnowledgeIndexOptions,
  ScoredChunk,
} from './knowledge-index.js';
export {
  createKnowledgeRetriever,
  DEFAULT_TOP_K,
  matchesFilters,
  rankChunks,
} from './retriever.js';
export type { KnowledgeRetriever, KnowledgeRetrieverOptions } from './retriever.js';
