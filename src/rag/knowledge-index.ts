/**
 * The knowledge base as a llamaindex `VectorStoreIndex`: one node per chunk of an entry, embedded
 * once and cached on disk under a key made of the knowledge hash and the embedding's identity, so
 * the index is rebuilt only when knowledge/ (or the embedding) changes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MetadataMode,
  NodeRelationship,
  Settings,
  SimpleDocumentStore,
  SimpleIndexStore,
  SimpleVectorStore,
  TextNode,
  VectorStoreIndex,
  storageContextFromDefaults,
} from 'llamaindex';
import type { BaseEmbedding, Metadata, MetadataFilters } from 'llamaindex';
import { embeddingFingerprint, HashEmbedding } from './embedding.js';
import { packageRoot } from './knowledge.js';
import type { KnowledgeEntry } from './schema.js';

/** Target size of a chunk's content (the title prefix comes on top). */
export const MAX_CHUNK_CHARS = 800;

/** Bump when chunking, node metadata or the cache layout change. */
const CACHE_FORMAT = 1;

export interface KnowledgeChunk {
  /** `<entryId>#<index>`, stable for the same knowledge. */
  id: string;
  entryId: string;
  /** Position within the entry, from 0. */
  index: number;
  /** The entry title (and section heading), a blank line, then the content. */
  text: string;
}

export type IndexCacheStatus =
  /** Embeddings were read from `file`; the embedding model was not called. */
  | { kind: 'hit'; file: string }
  /** Embeddings were computed and written to `file`. */
  | { kind: 'built'; file: string }
  /** Embeddings were computed but could not be written; the index works, the next run re-embeds. */
  | { kind: 'not-written'; file: string; message: string };

export interface KnowledgeIndex {
  index: VectorStoreIndex;
  /** Every chunk, in entry order then chunk order. */
  chunks: readonly KnowledgeChunk[];
  embedding: BaseEmbedding;
  cache: IndexCacheStatus;
}

export interface KnowledgeIndexOptions {
  /** Defaults to the offline `HashEmbedding`. */
  embedding?: BaseEmbedding;
  /** Defaults to `defaultCacheDir()`. */
  cacheDir?: string;
  /** `LoadedKnowledge.hash` of the entries: part of the cache key. */
  hash: string;
}

/** `<package root>/.ai-provision/cache` when the package root is writable, else the OS temp dir. */
export function defaultCacheDir(): string {
  const root = packageRoot();
  try {
    accessSync(root, constants.W_OK);
    return join(root, '.ai-provision', 'cache');
  } catch {
    return join(tmpdir(), 'ai-provision', 'cache');
  }
}

/**
 * Splits an entry body into chunks of at most about `maxChars`: by markdown section first, then
 * by paragraph, then by sentence. Each chunk starts with the title so it stands on its own.
 */
export function chunkEntry(
  entry: KnowledgeEntry,
  maxChars: number = MAX_CHUNK_CHARS,
): KnowledgeChunk[] {
  const pieces: { heading: string | undefined; text: string }[] = [];
  for (const section of splitSections(entry.body)) {
    for (const text of packParagraphs(section.paragraphs, maxChars)) {
      pieces.push({ heading: section.heading, text });
    }
  }
  if (pieces.length === 0) pieces.push({ heading: undefined, text: '' });
  return pieces.map((piece, index) => {
    const prefix = piece.heading === undefined ? entry.title : `${entry.title} — ${piece.heading}`;
    const text = piece.text === '' ? prefix : `${prefix}\n\n${piece.text}`;
    return { id: `${entry.id}#${index}`, entryId: entry.id, index, text };
  });
}

interface Section {
  heading: string | undefined;
  paragraphs: string[];
}

const HEADING = /^#{1,6}\s+(?<heading>.+?)\s*#*\s*$/;
const FENCE = /^\s*(?:```|~~~)/;

function splitSections(body: string): Section[] {
  const sections: Section[] = [];
  let current: Section = { heading: undefined, paragraphs: [] };
  let paragraph: string[] = [];
  let inFence = false;
  const endParagraph = (): void => {
    const text = paragraph.join('\n').trim();
    if (text !== '') current.paragraphs.push(text);
    paragraph = [];
  };
  for (const line of body.split(/\r?\n/)) {
    if (FENCE.test(line)) inFence = !inFence;
    const heading = inFence ? undefined : HEADING.exec(line)?.groups?.['heading'];
    if (heading !== undefined) {
      endParagraph();
      if (current.paragraphs.length > 0) sections.push(current);
      current = { heading, paragraphs: [] };
      continue;
    }
    if (!inFence && line.trim() === '') {
      endParagraph();
      continue;
    }
    paragraph.push(line);
  }
  endParagraph();
  if (current.paragraphs.length > 0) sections.push(current);
  return sections;
}

/** Greedily joins paragraphs up to `maxChars`; a longer paragraph is cut at sentence ends. */
function packParagraphs(paragraphs: readonly string[], maxChars: number): string[] {
  const units = paragraphs.flatMap((paragraph) =>
    paragraph.length <= maxChars ? [paragraph] : splitLong(paragraph, maxChars),
  );
  const packed: string[] = [];
  let current = '';
  for (const unit of units) {
    if (current === '') {
      current = unit;
    } else if (current.length + 2 + unit.length <= maxChars) {
      current = `${current}\n\n${unit}`;
    } else {
      packed.push(current);
      current = unit;
    }
  }
  if (current !== '') packed.push(current);
  return packed;
}

function splitLong(text: string, maxChars: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const sentence of text.split(/(?<=[.!?])\s+/)) {
    for (const piece of sentence.length <= maxChars ? [sentence] : splitWords(sentence, maxChars)) {
      if (current === '') current = piece;
      else if (current.length + 1 + piece.length <= maxChars) current = `${current} ${piece}`;
      else {
        parts.push(current);
        current = piece;
      }
    }
  }
  if (current !== '') parts.push(current);
  return parts;
}

function splitWords(text: string, maxChars: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/)) {
    if (current !== '' && current.length + 1 + word.length > maxChars) {
      parts.push(current);
      current = '';
    }
    current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') parts.push(current);
  return parts;
}

/** Metadata keys that also go into the embedded text: what the entry is about, beyond its prose. */
const EMBEDDED_METADATA = ['appliesTo', 'figures'];

function chunkNode(chunk: KnowledgeChunk, entry: KnowledgeEntry): TextNode {
  const { languages, frameworks, images, patterns } = entry.applies_to;
  const metadata: Metadata = {
    entryId: entry.id,
    chunk: chunk.index,
    kind: entry.kind,
    languages,
    frameworks,
    images,
    patterns,
    appliesTo: [...languages, ...frameworks, ...images, ...patterns].join(' '),
    figures: Object.keys(entry.figures).join(' '),
  };
  const keys = Object.keys(metadata);
  return new TextNode({
    id_: chunk.id,
    text: chunk.text,
    metadata,
    excludedEmbedMetadataKeys: keys.filter((key) => !EMBEDDED_METADATA.includes(key)),
    excludedLlmMetadataKeys: keys,
    // SimpleVectorStore keeps metadata (and so filters) only for nodes with a source document.
    relationships: { [NodeRelationship.SOURCE]: { nodeId: entry.id, metadata: {} } },
  });
}

/** The text a chunk's vector is computed from (metadata line(s), blank line, chunk text). */
export function embeddedText(chunk: KnowledgeChunk, entry: KnowledgeEntry): string {
  return chunkNode(chunk, entry).getContent(MetadataMode.EMBED);
}

interface CacheFile {
  format: number;
  hash: string;
  embedding: string;
  chunkDigest: string;
  vectorStore: Parameters<typeof SimpleVectorStore.fromDict>[0];
  docStore: Record<string, unknown>;
  indexStore: Parameters<typeof SimpleIndexStore.fromDict>[0];
}

/**
 * Builds (or reads from the cache) the vector index over `entries`. Cache trouble never fails the
 * build: an unreadable or mismatched cache is rebuilt, an unwritable one is reported in `cache`.
 */
export async function buildKnowledgeIndex(
  entries: readonly KnowledgeEntry[],
  options: KnowledgeIndexOptions,
): Promise<KnowledgeIndex> {
  const embedding = options.embedding ?? new HashEmbedding();
  const fingerprint = embeddingFingerprint(embedding);
  const pairs = entries.flatMap((entry) => chunkEntry(entry).map((chunk) => ({ chunk, entry })));
  const chunks = pairs.map((pair) => pair.chunk);
  const nodes = pairs.map((pair) => chunkNode(pair.chunk, pair.entry));
  // What was embedded, exactly: guards against a cache whose hash was reused for other entries.
  const chunkDigest = sha256(
    nodes.map((node) => `${node.id_}\n${node.getContent(MetadataMode.EMBED)}`).join('\0'),
  );
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const spaceTag = sha256(`${CACHE_FORMAT}\n${fingerprint}`).slice(0, 8);
  const file = join(cacheDir, `knowledge-${sha256(options.hash).slice(0, 16)}-${spaceTag}.json`);
  const expected = {
    format: CACHE_FORMAT,
    hash: options.hash,
    embedding: fingerprint,
    chunkDigest,
  };

  // The index reads its embedding from llamaindex Settings; scoping it keeps this call re-entrant.
  return Settings.withEmbedModel(embedding, async () => {
    const cached = await readCache(file, expected, embedding, chunks.length);
    if (cached !== undefined) {
      return { index: cached, chunks, embedding, cache: { kind: 'hit', file } };
    }

    const vectorStore = new SimpleVectorStore({ embedModel: embedding });
    const docStore = new SimpleDocumentStore();
    const indexStore = new SimpleIndexStore();
    const storageContext = await storageContextFromDefaults({ vectorStore, docStore, indexStore });
    const index = await VectorStoreIndex.init({ nodes, storageContext });

    const payload: CacheFile = {
      ...expected,
      vectorStore: vectorStore.toDict(),
      docStore: docStore.toDict(),
      indexStore: indexStore.toDict() as CacheFile['indexStore'],
    };
    const written = await writeCache(cacheDir, file, payload, spaceTag);
    const cache: IndexCacheStatus =
      written === undefined
        ? { kind: 'built', file }
        : { kind: 'not-written', file, message: written };
    return { index, chunks, embedding, cache };
  });
}

async function readCache(
  file: string,
  expected: Pick<CacheFile, 'format' | 'hash' | 'embedding' | 'chunkDigest'>,
  embedding: BaseEmbedding,
  chunkCount: number,
): Promise<VectorStoreIndex | undefined> {
  let data: Partial<CacheFile>;
  try {
    data = JSON.parse(await readFile(file, 'utf8')) as Partial<CacheFile>;
  } catch {
    return undefined;
  }
  const matches =
    data.format === expected.format &&
    data.hash === expected.hash &&
    data.embedding === expected.embedding &&
    data.chunkDigest === expected.chunkDigest &&
    typeof data.vectorStore === 'object' &&
    typeof data.docStore === 'object' &&
    typeof data.indexStore === 'object';
  if (!matches) return undefined;
  try {
    const vectorStore = SimpleVectorStore.fromDict(
      data.vectorStore as CacheFile['vectorStore'],
      embedding,
    );
    const vectors = Object.values(vectorStore.toDict().embeddingDict);
    if (vectors.length !== chunkCount) return undefined;
    const docStore = SimpleDocumentStore.fromDict(data.docStore as CacheFile['docStore']);
    const indexStore = SimpleIndexStore.fromDict(data.indexStore as CacheFile['indexStore']);
    const storageContext = await storageContextFromDefaults({ vectorStore, docStore, indexStore });
    const index = await VectorStoreIndex.init({ storageContext });
    if (Object.keys(index.indexStruct.nodesDict).length !== chunkCount) return undefined;
    return index;
  } catch {
    // A cache written by another version or cut short: rebuilding is always safe.
    return undefined;
  }
}

/** Writes atomically (temp file + rename); returns why it could not, or undefined. */
async function writeCache(
  cacheDir: string,
  file: string,
  payload: CacheFile,
  spaceTag: string,
): Promise<string | undefined> {
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(temporary, JSON.stringify(payload));
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    return error instanceof Error ? error.message : String(error);
  }
  await pruneSuperseded(cacheDir, file, spaceTag);
  return undefined;
}

/** Removes caches of older knowledge in the same embedding space; best effort. */
async function pruneSuperseded(cacheDir: string, keep: string, spaceTag: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const superseded = names.filter(
    (name) => /^knowledge-[0-9a-f]{16}-/.test(name) && name.endsWith(`-${spaceTag}.json`),
  );
  for (const name of superseded) {
    const path = join(cacheDir, name);
    if (path !== keep) await rm(path, { force: true }).catch(() => undefined);
  }
}

export interface ScoredChunk {
  chunkId: string;
  entryId: string;
  index: number;
  /** Cosine similarity as llamaindex computes it; NaN when the query has no words. */
  score: number;
}

/**
 * Similarity of `text` to every chunk of the given entries, through the index's own retriever and
 * an `entryId IN (…)` metadata filter. Unordered beyond what llamaindex returns; the caller ranks.
 */
export async function queryKnowledgeIndex(
  knowledge: KnowledgeIndex,
  text: string,
  entryIds: readonly string[],
): Promise<ScoredChunk[]> {
  const wanted = new Set(entryIds);
  const candidates = knowledge.chunks.filter((chunk) => wanted.has(chunk.entryId));
  if (candidates.length === 0) return [];
  const filters: MetadataFilters = {
    filters: [{ key: 'entryId', operator: 'in', value: [...wanted] }],
  };
  const retriever = knowledge.index.asRetriever({ similarityTopK: candidates.length, filters });
  const results = await Settings.withEmbedModel(knowledge.embedding, () =>
    retriever.retrieve({ query: text }),
  );
  const byId = new Map(knowledge.chunks.map((chunk) => [chunk.id, chunk]));
  const scored: ScoredChunk[] = [];
  for (const result of results) {
    const chunk = byId.get(result.node.id_);
    if (chunk === undefined) continue;
    scored.push({
      chunkId: chunk.id,
      entryId: chunk.entryId,
      index: chunk.index,
      score: result.score ?? 0,
    });
  }
  return scored;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
