import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createKnowledgeRetriever,
  matchesFilters,
  rankChunks,
} from '../../../src/rag/retriever.js';
import type { KnowledgeRetriever } from '../../../src/rag/retriever.js';
import { Passage } from '../../../src/rag/schema.js';
import type { KnowledgeEntry, RetrievalFilters } from '../../../src/rag/schema.js';
import type { ScoredChunk } from '../../../src/rag/knowledge-index.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/knowledge/', import.meta.url));

let retriever: KnowledgeRetriever;

beforeAll(async () => {
  retriever = await createKnowledgeRetriever({ dir: FIXTURE, cacheDir: tempRepo({}) });
});

afterAll(removeTempRepos);

const ALL_IDS = [
  'framework-gunicorn-workers',
  'framework-spring-boot',
  'image-postgres',
  'image-redis',
  'pattern-cpu-limits',
  'pattern-replicas-per-tier',
  'runtime-jvm-heap',
  'runtime-node-event-loop',
];

function chunk(entryId: string, index: number, score: number): ScoredChunk {
  return { chunkId: `${entryId}#${index}`, entryId, index, score };
}

describe('rag/retriever', () => {
  describe('filters', () => {
    it.each<[string, RetrievalFilters | undefined, string[]]>([
      ['no filters', undefined, ALL_IDS],
      ['empty filters', {}, ALL_IDS],
      ['empty lists', { languages: [], kinds: [] }, ALL_IDS],
      ['a language', { languages: ['java'] }, ['framework-spring-boot', 'runtime-jvm-heap']],
      ['another language', { languages: ['typescript'] }, ['runtime-node-event-loop']],
      ['a framework', { frameworks: ['flask'] }, ['framework-gunicorn-workers']],
      ['an image', { images: ['postgres'] }, ['image-postgres']],
      ['an image of a runtime', { images: ['eclipse-temurin'] }, ['runtime-jvm-heap']],
      ['a pattern', { patterns: ['cpu-limit-policy'] }, ['pattern-cpu-limits']],
      ['a second pattern name', { patterns: ['pdb'] }, ['pattern-replicas-per-tier']],
      [
        'OR across fields',
        { languages: ['python'], images: ['redis'] },
        ['framework-gunicorn-workers', 'image-redis'],
      ],
      [
        'OR within a field',
        { images: ['redis', 'postgres', 'mysql'] },
        ['image-postgres', 'image-redis'],
      ],
      ['a kind alone', { kinds: ['image'] }, ['image-postgres', 'image-redis']],
      [
        'kinds restricting a language',
        { languages: ['java'], kinds: ['runtime'] },
        ['runtime-jvm-heap'],
      ],
      [
        "kinds with 'pattern' letting every pattern in",
        { languages: ['java'], kinds: ['runtime', 'pattern'] },
        ['pattern-cpu-limits', 'pattern-replicas-per-tier', 'runtime-jvm-heap'],
      ],
      [
        "patterns without kind 'pattern' naming only their entries",
        { languages: ['go'], patterns: ['pdb'] },
        ['pattern-replicas-per-tier'],
      ],
      ['an unknown language', { languages: ['cobol'] }, []],
      ['a kind no entry has with a match', { languages: ['java'], kinds: ['image'] }, []],
    ])('%s', async (_case, filters, ids) => {
      const passages = await retriever.retrieve({
        text: 'memory and cpu',
        topK: 50,
        ...(filters === undefined ? {} : { filters }),
      });

      expect([...new Set(passages.map((passage) => passage.entryId))].sort()).toEqual(ids);
    });

    it('agrees with matchesFilters entry by entry', () => {
      const filters: RetrievalFilters = { frameworks: ['spring-boot'], images: ['node'] };

      const matching = retriever.entries().filter((entry) => matchesFilters(entry, filters));

      expect(matching.map((entry) => entry.id)).toEqual([
        'framework-spring-boot',
        'runtime-node-event-loop',
      ]);
    });
  });

  describe('ranking', () => {
    it.each([
      ['how much of the container limit should the JVM heap get', 'runtime-jvm-heap'],
      ['gunicorn worker processes per core', 'framework-gunicorn-workers'],
      ['PostgreSQL shared_buffers memory', 'image-postgres'],
      ['cache eviction with maxmemory', 'image-redis'],
      ['blocking the Node.js event loop uses one core', 'runtime-node-event-loop'],
      ['how many replicas for 99.9% availability across zones', 'pattern-replicas-per-tier'],
      ['should I set a CPU limit, CFS throttling and latency', 'pattern-cpu-limits'],
      ['Spring Boot actuator liveness and readiness probes', 'framework-spring-boot'],
      ['postgres needs a persistent volume and a StatefulSet', 'image-postgres'],
    ])('ranks the relevant entry first for %p', async (text, expected) => {
      const passages = await retriever.retrieve({ text, topK: 3 });

      expect(passages[0]?.entryId).toBe(expected);
    });

    it('orders passages by score, each valid, scored in [0, 1] and carrying its sources', async () => {
      const passages = await retriever.retrieve({ text: 'memory limit of a container', topK: 8 });

      const scores = passages.map((passage) => passage.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      for (const passage of passages) {
        expect(Passage.parse(passage)).toEqual(passage);
        expect(passage.score).toBeGreaterThanOrEqual(0);
        expect(passage.score).toBeLessThanOrEqual(1);
        expect(passage.sources).toEqual(retriever.entry(passage.entryId)?.sources);
        expect(passage.title).toBe(retriever.entry(passage.entryId)?.title);
        expect(passage.text.startsWith(passage.title)).toBe(true);
      }
    });

    it('returns copies of the sources, so a caller cannot edit the knowledge', async () => {
      const [passage] = await retriever.retrieve({ text: 'redis', topK: 1 });
      passage!.sources[0]!.title = 'changed';

      const entry = retriever.entry('image-redis');

      expect(entry?.sources[0]?.title).toBe('Redis documentation — Key eviction');
    });
  });

  describe('topK and diversity', () => {
    it.each<[string, RetrievalFilters | undefined, number | undefined, number]>([
      ['the default topK', undefined, undefined, 5],
      ['topK 0', undefined, 0, 0],
      ['a negative topK', undefined, -3, 0],
      ['a fractional topK', { kinds: ['image'] }, 1.9, 1],
    ])('returns as many distinct entries as %s allows', async (_case, filters, topK, count) => {
      const passages = await retriever.retrieve({
        text: 'memory',
        ...(filters === undefined ? {} : { filters }),
        ...(topK === undefined ? {} : { topK }),
      });

      const ids = passages.map((passage) => passage.entryId);
      expect(ids).toHaveLength(count);
      expect(new Set(ids).size).toBe(count);
    });

    it('gives one passage per entry while there are enough entries', async () => {
      const passages = await retriever.retrieve({ text: 'postgres memory storage', topK: 3 });

      const ids = passages.map((passage) => passage.entryId);

      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
    });

    it('adds further chunks of an entry only when topK exceeds the matching entries', async () => {
      const filters: RetrievalFilters = { kinds: ['image'] };

      const two = await retriever.retrieve({ text: 'postgres storage', filters, topK: 2 });
      const five = await retriever.retrieve({ text: 'postgres storage', filters, topK: 5 });

      expect(two.map((passage) => passage.entryId).sort()).toEqual([
        'image-postgres',
        'image-redis',
      ]);
      expect(five.map((passage) => passage.entryId)).toEqual([
        'image-postgres',
        'image-postgres',
        'image-redis',
      ]);
      expect(five[0]?.text).toContain('StatefulSet');
    });
  });

  describe('rankChunks', () => {
    it.each<[string, ScoredChunk[], number, string[]]>([
      [
        'ties break by entry id, then chunk order',
        [chunk('b', 0, 0.5), chunk('a', 1, 0.5), chunk('a', 0, 0.5)],
        3,
        ['a#0', 'a#1', 'b#0'],
      ],
      [
        'ties keep one chunk per entry while topK is small',
        [chunk('b', 0, 0.5), chunk('a', 1, 0.5), chunk('a', 0, 0.5)],
        2,
        ['a#0', 'b#0'],
      ],
      [
        'NaN and negative scores count as 0, above 1 as 1',
        [chunk('a', 0, Number.NaN), chunk('b', 0, -0.2), chunk('c', 0, 1.5), chunk('d', 0, 0.1)],
        4,
        ['c#0', 'd#0', 'a#0', 'b#0'],
      ],
      [
        'floating-point noise does not reorder equal scores',
        [chunk('b', 0, 0.3), chunk('a', 0, 0.1 + 0.2)],
        2,
        ['a#0', 'b#0'],
      ],
      [
        'the best chunk of each entry comes before a second chunk',
        [chunk('a', 0, 0.9), chunk('a', 1, 0.8), chunk('b', 0, 0.1)],
        2,
        ['a#0', 'b#0'],
      ],
      [
        'second chunks fill up by score when topK allows',
        [chunk('a', 0, 0.9), chunk('a', 1, 0.8), chunk('b', 0, 0.1), chunk('b', 1, 0.05)],
        3,
        ['a#0', 'a#1', 'b#0'],
      ],
    ])('%s', (_case, chunks, topK, expected) => {
      const ranked = rankChunks(chunks, topK);

      expect(ranked.map((item) => item.chunkId)).toEqual(expected);
    });
  });

  describe('determinism', () => {
    it('gives the same passages for the same query, from a fresh index and from the cache', async () => {
      const cacheDir = tempRepo({});
      const fresh = await createKnowledgeRetriever({ dir: FIXTURE, cacheDir });
      const cached = await createKnowledgeRetriever({ dir: FIXTURE, cacheDir });
      const query = { text: 'memory request for a cache', topK: 6 };

      const results = [
        await retriever.retrieve(query),
        await retriever.retrieve(query),
        await fresh.retrieve(query),
        await cached.retrieve(query),
      ];

      expect([fresh.cache.kind, cached.cache.kind]).toEqual(['built', 'hit']);
      for (const result of results.slice(1)) expect(result).toEqual(results[0]);
    });

    it.each(['', '   ', 'the of and'])(
      'orders by entry id when the query %p has no words',
      async (text) => {
        const passages = await retriever.retrieve({ text, topK: 8 });

        expect(passages.map((passage) => passage.entryId)).toEqual(ALL_IDS);
        expect(passages.every((passage) => passage.score === 0)).toBe(true);
      },
    );
  });

  describe('entries', () => {
    it('lists every entry sorted by id and finds one by id', () => {
      const entries = retriever.entries();

      const found = retriever.entry('runtime-jvm-heap');

      expect(entries.map((entry: KnowledgeEntry) => entry.id)).toEqual(ALL_IDS);
      expect(found?.figures['heap_fraction']?.value).toBe(0.75);
      expect(retriever.entry('no-such-entry')).toBeUndefined();
      expect(retriever.problems).toEqual([]);
      expect(retriever.hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('problems', () => {
    it('keeps serving valid entries and exposes the invalid ones', async () => {
      const dir = tempRepo({});
      cpSync(FIXTURE, dir, { recursive: true });
      writeFileSync(join(dir, 'broken.md'), '---\nid: broken\ntitle: [\n---\n');

      const withProblem = await createKnowledgeRetriever({ dir, cacheDir: tempRepo({}) });
      const passages = await withProblem.retrieve({ text: 'redis', topK: 1 });

      expect(withProblem.problems).toEqual([
        { file: 'broken.md', message: expect.stringMatching(/^line \d+: invalid YAML/) },
      ]);
      expect(withProblem.entries()).toHaveLength(ALL_IDS.length);
      expect(passages[0]?.entryId).toBe('image-redis');
    });

    it('answers nothing, without throwing, when the directory is missing', async () => {
      const dir = join(tempRepo({}), 'absent');

      const empty = await createKnowledgeRetriever({ dir, cacheDir: tempRepo({}) });
      const passages = await empty.retrieve({ text: 'redis' });

      expect(passages).toEqual([]);
      expect(empty.entries()).toEqual([]);
      expect(empty.problems).toHaveLength(1);
    });
  });
});
