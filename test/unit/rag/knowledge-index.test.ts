import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HashEmbedding } from '../../../src/rag/embedding.js';
import {
  buildKnowledgeIndex,
  chunkEntry,
  embeddedText,
  queryKnowledgeIndex,
} from '../../../src/rag/knowledge-index.js';
import { loadKnowledge } from '../../../src/rag/knowledge.js';
import type { KnowledgeEntry } from '../../../src/rag/schema.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

afterAll(removeTempRepos);

const FIXTURE = fileURLToPath(new URL('../../fixtures/knowledge/', import.meta.url));

/** Counts the texts it embeds, to tell a cache hit from a rebuild. */
class CountingEmbedding extends HashEmbedding {
  calls = 0;

  override async getTextEmbedding(text: string): Promise<number[]> {
    this.calls += 1;
    return super.getTextEmbedding(text);
  }
}

function entry(body: string, id = 'sample'): KnowledgeEntry {
  return {
    id,
    title: 'Sample title',
    kind: 'runtime',
    applies_to: { languages: ['go'], frameworks: [], images: [], patterns: [], servers: [] },
    figures: {},
    sources: [{ title: 'Somewhere', url: 'https://example.org' }],
    body,
  };
}

const sentence = 'The quick service answers every request in well under ten milliseconds. ';

describe('rag/knowledge-index', () => {
  describe('chunkEntry', () => {
    it.each([
      ['an empty body', '', ['Sample title']],
      ['one paragraph', 'Only prose.\n', ['Sample title\n\nOnly prose.']],
      [
        'two paragraphs that fit together',
        'First.\n\nSecond.\n',
        ['Sample title\n\nFirst.\n\nSecond.'],
      ],
      [
        'two sections',
        '## Memory\n\nHeap.\n\n## CPU\n\nCores.\n',
        ['Sample title — Memory\n\nHeap.', 'Sample title — CPU\n\nCores.'],
      ],
      [
        'prose before the first heading',
        'Intro.\n\n# Details\n\nMore.\n',
        ['Sample title\n\nIntro.', 'Sample title — Details\n\nMore.'],
      ],
      [
        'a heading-like line inside a code fence',
        '## Flags\n\n```sh\n# not a heading\njava -Xmx1g\n```\n',
        ['Sample title — Flags\n\n```sh\n# not a heading\njava -Xmx1g\n```'],
      ],
      [
        'a heading with no content',
        '## Empty\n\n## Full\n\nText.\n',
        ['Sample title — Full\n\nText.'],
      ],
    ])('splits %s', (_case, body, texts) => {
      const chunks = chunkEntry(entry(body));

      expect(chunks.map((chunk) => chunk.text)).toEqual(texts);
      expect(chunks.map((chunk) => chunk.id)).toEqual(texts.map((_, index) => `sample#${index}`));
      expect(chunks.map((chunk) => chunk.index)).toEqual(texts.map((_, index) => index));
    });

    it.each([
      ['many short paragraphs', Array.from({ length: 30 }, () => sentence).join('\n\n')],
      ['one long paragraph', sentence.repeat(30)],
      ['one very long sentence', 'word '.repeat(600)],
    ])('keeps every chunk of %s within the limit and loses no words', (_case, body) => {
      const chunks = chunkEntry(entry(body), 200);

      const contents = chunks.map((chunk) => chunk.text.replace(/^Sample title\n\n/, ''));
      expect(chunks.length).toBeGreaterThan(1);
      for (const content of contents) expect(content.length).toBeLessThanOrEqual(200);
      expect(contents.join(' ').split(/\s+/).filter(Boolean)).toEqual(
        body.split(/\s+/).filter(Boolean),
      );
    });

    it('chunks every fixture entry within the default limit', () => {
      const { entries } = loadKnowledge(FIXTURE);

      const chunks = entries.flatMap((item) => chunkEntry(item));

      expect(chunks.length).toBeGreaterThan(entries.length);
      for (const chunk of chunks) expect(chunk.text.length).toBeLessThan(900);
    });
  });

  describe('embeddedText', () => {
    it('adds what the entry applies to and its figure names, not its other metadata', () => {
      const item = {
        ...entry('Prose.'),
        figures: { heap_fraction: { value: 0.7, unit: 'ratio' as const } },
      };

      const text = embeddedText(chunkEntry(item)[0]!, item);

      expect(text).toBe('appliesTo: go\nfigures: heap_fraction\n\nSample title\n\nProse.');
    });
  });

  describe('buildKnowledgeIndex cache', () => {
    const { entries, hash } = loadKnowledge(FIXTURE);
    const chunkCount = entries.flatMap((item) => chunkEntry(item)).length;

    it('embeds every chunk once, then reads the cache instead of embedding again', async () => {
      const cacheDir = tempRepo({});
      const embedding = new CountingEmbedding();

      const first = await buildKnowledgeIndex(entries, { embedding, cacheDir, hash });
      const callsAfterFirst = embedding.calls;
      const second = await buildKnowledgeIndex(entries, { embedding, cacheDir, hash });

      expect(first.cache).toEqual({ kind: 'built', file: expect.stringContaining(cacheDir) });
      expect(callsAfterFirst).toBe(chunkCount);
      expect(second.cache).toEqual({ kind: 'hit', file: first.cache.file });
      expect(embedding.calls).toBe(chunkCount);
      expect(existsSync(first.cache.file)).toBe(true);
    });

    it('answers the same from the cache as from a fresh build', async () => {
      const cacheDir = tempRepo({});
      const ids = entries.map((item) => item.id);
      const fresh = await buildKnowledgeIndex(entries, { cacheDir, hash });
      const cached = await buildKnowledgeIndex(entries, { cacheDir, hash });

      const answers = [
        await queryKnowledgeIndex(fresh, 'jvm heap', ids),
        await queryKnowledgeIndex(cached, 'jvm heap', ids),
      ];

      expect(cached.cache.kind).toBe('hit');
      expect(answers[0]).toHaveLength(chunkCount);
      expect(answers[1]).toEqual(answers[0]);
    });

    it.each<[string, { hash?: string; embedding?: CountingEmbedding }, number]>([
      // Calls made by the first build's embedding in total: the rebuild uses it only when it is unchanged.
      ['the knowledge hash changes', { hash: 'another hash' }, 2],
      ['the embedding space changes', { embedding: new CountingEmbedding({ dims: 256 }) }, 1],
    ])('rebuilds when %s', async (_case, change, firstEmbeddingBuilds) => {
      const cacheDir = tempRepo({});
      const counting = new CountingEmbedding();
      await buildKnowledgeIndex(entries, { embedding: counting, cacheDir, hash });

      const rebuilt = await buildKnowledgeIndex(entries, {
        embedding: counting,
        cacheDir,
        hash,
        ...change,
      });

      expect(rebuilt.cache.kind).toBe('built');
      expect(counting.calls).toBe(firstEmbeddingBuilds * chunkCount);
      expect(rebuilt.embedding).toBe(change.embedding ?? counting);
    });

    it('rebuilds when the entries differ under the same hash', async () => {
      const cacheDir = tempRepo({});
      await buildKnowledgeIndex(entries, { cacheDir, hash });

      const rebuilt = await buildKnowledgeIndex(entries.slice(1), { cacheDir, hash });

      expect(rebuilt.cache.kind).toBe('built');
      expect(rebuilt.chunks.some((chunk) => chunk.entryId === entries[0]?.id)).toBe(false);
    });

    it('replaces the cache of older knowledge in the same embedding space', async () => {
      const cacheDir = tempRepo({});
      const old = await buildKnowledgeIndex(entries, { cacheDir, hash: 'old' });
      const other = await buildKnowledgeIndex(entries, {
        cacheDir,
        hash: 'old',
        embedding: new HashEmbedding({ dims: 64 }),
      });

      const current = await buildKnowledgeIndex(entries, { cacheDir, hash: 'new' });

      expect(existsSync(old.cache.file)).toBe(false);
      expect(readdirSync(cacheDir).sort()).toEqual(
        [current.cache.file, other.cache.file]
          .map((file) => file.slice(cacheDir.length + 1))
          .sort(),
      );
    });

    it.each([
      ['is not JSON', 'not json {'],
      ['is JSON of another shape', '{"format": 1}'],
      ['is cut short', '{"format": 1, "hash": "'],
    ])('rebuilds when the cache file %s', async (_case, content) => {
      const cacheDir = tempRepo({});
      const built = await buildKnowledgeIndex(entries, { cacheDir, hash });
      writeFileSync(built.cache.file, content);
      const counting = new CountingEmbedding();

      const rebuilt = await buildKnowledgeIndex(entries, { embedding: counting, cacheDir, hash });

      expect(rebuilt.cache).toEqual({ kind: 'built', file: built.cache.file });
      expect(counting.calls).toBe(chunkCount);
    });

    it('still builds a working index when the cache cannot be written', async () => {
      const blocker = join(tempRepo({ 'file.txt': 'x' }), 'file.txt');
      const cacheDir = join(blocker, 'cache');

      const built = await buildKnowledgeIndex(entries, { cacheDir, hash });
      const answers = await queryKnowledgeIndex(built, 'redis', ['image-redis']);

      expect(built.cache).toEqual({
        kind: 'not-written',
        file: expect.any(String),
        message: expect.any(String),
      });
      expect(answers.map((answer) => answer.entryId)).toEqual(['image-redis']);
    });
  });

  describe('queryKnowledgeIndex', () => {
    const { entries, hash } = loadKnowledge(FIXTURE);

    it.each([
      [['image-postgres'], ['image-postgres#0', 'image-postgres#1']],
      [
        ['image-redis', 'pattern-cpu-limits'],
        ['image-redis#0', 'pattern-cpu-limits#0'],
      ],
      [[], []],
      [['no-such-entry'], []],
    ])('scores only the chunks of %p', async (ids, chunkIds) => {
      const knowledge = await buildKnowledgeIndex(entries, { cacheDir: tempRepo({}), hash });

      const scored = await queryKnowledgeIndex(knowledge, 'memory', ids);

      expect(scored.map((chunk) => chunk.chunkId).sort()).toEqual(chunkIds);
    });
  });
});
