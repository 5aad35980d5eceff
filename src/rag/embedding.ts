/**
 * A deterministic, offline text embedding: feature hashing of normalised words, word pairs and
 * character trigrams. It needs no model download and no network, gives the same vector for the
 * same text on every machine, and is good enough to rank a few hundred curated passages. A real
 * embedding model plugs in through `createEmbedding({ provider: 'custom', model })`.
 */
import { BaseEmbedding } from 'llamaindex';

export const DEFAULT_EMBEDDING_DIMS = 512;

/** Bump when the features or weights change, so cached vectors are not mixed with new ones. */
const HASH_EMBEDDING_VERSION = 1;

export interface HashEmbeddingOptions {
  /** Vector length; more dimensions mean fewer hash collisions. */
  dims?: number;
}

/** `llamaindex` embedding that hashes text features into a fixed-length, L2-normalised vector. */
export class HashEmbedding extends BaseEmbedding {
  readonly dims: number;
  /** Identifies the vector space, for cache keys. */
  readonly fingerprint: string;

  constructor(options: HashEmbeddingOptions = {}) {
    super();
    const dims = options.dims ?? DEFAULT_EMBEDDING_DIMS;
    if (!Number.isInteger(dims) || dims < 8) {
      throw new RangeError(`HashEmbedding dims: expected an integer ≥ 8, got ${dims}`);
    }
    this.dims = dims;
    this.fingerprint = `hash-v${HASH_EMBEDDING_VERSION}-d${dims}`;
    this.embedInfo = { dimensions: dims };
  }

  override async getTextEmbedding(text: string): Promise<number[]> {
    return hashEmbed(text, this.dims);
  }
}

export type EmbeddingConfig =
  { provider: 'hash'; dims?: number } | { provider: 'custom'; model: BaseEmbedding };

/** The offline hash embedding by default; any llamaindex embedding (OpenAI, Ollama, …) otherwise. */
export function createEmbedding(config: EmbeddingConfig = { provider: 'hash' }): BaseEmbedding {
  if (config.provider === 'custom') return config.model;
  return new HashEmbedding(config.dims === undefined ? {} : { dims: config.dims });
}

/**
 * Names the vector space an embedding produces, so a cache built with one model is never read
 * with another. Custom models are told apart by class, `model` name and dimensions when they
 * expose them.
 */
export function embeddingFingerprint(model: BaseEmbedding): string {
  if (model instanceof HashEmbedding) return model.fingerprint;
  const named = model as BaseEmbedding & { model?: unknown };
  const parts = [model.constructor.name || 'custom'];
  if (typeof named.model === 'string') parts.push(named.model);
  if (model.embedInfo?.dimensions !== undefined) parts.push(`d${model.embedInfo.dimensions}`);
  return `custom-${parts.join('-')}`;
}

/** Words that carry no meaning for sizing questions; without IDF they would dominate similarity. */
const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can do does for from has have how if in into is it its ' +
    'may more most much no not of on one or other our per should so such than that the their ' +
    'them then there these they this those to too under up use used uses using via was we what ' +
    'when where which while who why will with would you your'
  ).split(' '),
);

/** Spellings of the same thing, mapped to the name the knowledge base uses. */
const SYNONYMS = new Map<string, string>([
  ['postgresql', 'postgres'],
  ['psql', 'postgres'],
  ['k8s', 'kubernetes'],
  ['kube', 'kubernetes'],
  ['golang', 'go'],
  ['nodejs', 'node'],
  ['js', 'javascript'],
  ['ts', 'typescript'],
  ['py', 'python'],
  ['mongo', 'mongodb'],
  ['elastic', 'elasticsearch'],
  ['rabbit', 'rabbitmq'],
  ['mem', 'memory'],
  ['ram', 'memory'],
  ['vcpu', 'cpu'],
  ['horizontalpodautoscaler', 'hpa'],
  ['autoscaler', 'hpa'],
  ['poddisruptionbudget', 'pdb'],
  ['oomkilled', 'oom'],
  ['replicaset', 'replica'],
]);

/** Words ending in "s" that are not plurals. */
const KEEP_FINAL_S = new Set(['postgres', 'kubernetes', 'redis', 'jenkins', 'aws', 'gcs', 'https']);

/** Written forms that the word splitter would tear apart (node.js, .net, c#). */
const SYMBOL_WORDS: readonly [RegExp, string][] = [
  [/node\.js/g, ' nodejs '],
  [/\.net\b/g, ' dotnet '],
  [/c#/g, ' csharp '],
  [/f#/g, ' fsharp '],
  [/c\+\+/g, ' cpp '],
];

const WORD = /[\p{L}\p{N}]+/gu;

const WEIGHT_WORD = 1;
const WEIGHT_PAIR = 0.7;
/** Trigrams only soften inflection and typos; they must not outweigh whole words. */
const WEIGHT_TRIGRAM = 0.25;

/** Lower-cased, de-accented, stop-word-free, singular, canonically named words of a text. */
export function normaliseWords(text: string): string[] {
  let plain = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  for (const [pattern, replacement] of SYMBOL_WORDS) plain = plain.replace(pattern, replacement);
  const words: string[] = [];
  for (const match of plain.matchAll(WORD)) {
    const word = canonicalWord(match[0]);
    if (STOPWORDS.has(word)) continue;
    words.push(word);
  }
  return words;
}

function canonicalWord(raw: string): string {
  const synonym = SYNONYMS.get(raw);
  if (synonym !== undefined) return synonym;
  const singular = singularise(britishSpelling(raw));
  return SYNONYMS.get(singular) ?? singular;
}

/** utilization → utilisation, optimize → optimise: the knowledge base mixes both spellings. */
function britishSpelling(word: string): string {
  if (word.length < 6 || !word.includes('iz')) return word;
  return word.replace(
    /(?<stem>\p{L}{3,})iz(?<ending>e|es|ed|ing|ation|ations|er|ers)$/u,
    '$<stem>is$<ending>',
  );
}

/** A deliberately tiny stemmer: plural endings only, so "replicas" meets "replica". */
function singularise(word: string): string {
  if (word.length <= 3 || KEEP_FINAL_S.has(word) || /\d/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith('s') && !/(?:ss|us|is|os)$/.test(word)) return word.slice(0, -1);
  return word;
}

/** Weighted features (sublinear term frequency) before hashing; exported for inspection in tests. */
export function textFeatures(text: string): Map<string, number> {
  const counts = new Map<string, { weight: number; count: number }>();
  const add = (feature: string, weight: number): void => {
    const seen = counts.get(feature);
    if (seen === undefined) counts.set(feature, { weight, count: 1 });
    else seen.count += 1;
  };
  const words = normaliseWords(text);
  words.forEach((word, index) => {
    add(`w:${word}`, WEIGHT_WORD);
    const next = words[index + 1];
    if (next !== undefined) add(`p:${word} ${next}`, WEIGHT_PAIR);
    if (word.length < 4) return;
    const padded = `^${word}$`;
    for (let start = 0; start + 3 <= padded.length; start += 1) {
      add(`t:${padded.slice(start, start + 3)}`, WEIGHT_TRIGRAM);
    }
  });
  const features = new Map<string, number>();
  for (const [feature, { weight, count }] of counts) {
    features.set(feature, weight * (1 + Math.log(count)));
  }
  return features;
}

/**
 * Hashes the features of `text` into `dims` buckets with a pseudo-random sign (collisions cancel
 * out on average instead of adding up), then L2-normalises. Text without words gives the zero
 * vector.
 */
export function hashEmbed(text: string, dims: number = DEFAULT_EMBEDDING_DIMS): number[] {
  const vector = new Array<number>(dims).fill(0);
  for (const [feature, weight] of textFeatures(text)) {
    const hash = fnv1a(feature);
    const bucket = hash % dims;
    const sign = (mix32(hash ^ 0x9e3779b9) & 1) === 0 ? 1 : -1;
    vector[bucket] = (vector[bucket] ?? 0) + sign * weight;
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  if (norm === 0) return vector;
  return vector.map((value) => value / norm);
}

/** 32-bit FNV-1a over UTF-16 code units, finished with a mixer so low bits are well spread. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return mix32(hash);
}

/** The murmur3 finaliser. */
function mix32(value: number): number {
  let hash = value >>> 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
