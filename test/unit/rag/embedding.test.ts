import { BaseEmbedding, similarity } from 'llamaindex';
import {
  createEmbedding,
  embeddingFingerprint,
  hashEmbed,
  HashEmbedding,
  normaliseWords,
} from '../../../src/rag/embedding.js';

class OtherEmbedding extends BaseEmbedding {
  readonly model = 'other-small';

  constructor() {
    super();
  }

  override async getTextEmbedding(): Promise<number[]> {
    return [1, 0];
  }
}

function norm(vector: readonly number[]): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

describe('rag/embedding', () => {
  describe('HashEmbedding', () => {
    it.each([
      [undefined, 512],
      [64, 64],
      [1024, 1024],
    ])('with dims %p gives vectors of length %p', async (dims, length) => {
      const embedding = new HashEmbedding(dims === undefined ? {} : { dims });

      const vector = await embedding.getTextEmbedding('JVM heap inside a container');

      expect(vector).toHaveLength(length);
      expect(embedding.embedInfo?.dimensions).toBe(length);
    });

    it('is deterministic across instances and calls', async () => {
      const text = 'Gunicorn forks two workers per core plus one.';

      const vectors = [
        await new HashEmbedding().getTextEmbedding(text),
        await new HashEmbedding().getTextEmbedding(text),
        hashEmbed(text),
      ];

      expect(vectors[1]).toEqual(vectors[0]);
      expect(vectors[2]).toEqual(vectors[0]);
    });

    it.each([
      'x',
      'Redis keeps its whole data set in memory.',
      'CPU CPU CPU CPU throttling throttling',
      'A'.repeat(5000),
    ])('is L2-normalised for %p', (text) => {
      const vector = hashEmbed(text);

      expect(norm(vector)).toBeCloseTo(1, 12);
    });

    it.each(['', '   ', '— … !', 'the of and to'])(
      'gives the zero vector for %p, which has no words',
      (text) => {
        const vector = hashEmbed(text);

        expect(vector.every((value) => value === 0)).toBe(true);
      },
    );

    it.each([
      ['PostgreSQL', 'postgres'],
      ['k8s replicas', 'kubernetes replica'],
      ['Node.js', 'nodejs'],
      ['node.js', 'node'],
      ['RAM', 'memory'],
      ['The replicas of the service', 'replicas service'],
      ['Caché', 'cache'],
      ['HorizontalPodAutoscaler', 'HPA'],
      ['CPU utilization', 'CPU utilisation'],
      ['optimized', 'optimised'],
    ])('treats %p and %p as the same text', (a, b) => {
      const vectors = [hashEmbed(a), hashEmbed(b)];

      expect(vectors[0]).toEqual(vectors[1]);
    });

    it.each([
      ['redis', 'redis'],
      ['kubernetes', 'kubernetes'],
      ['postgres', 'postgres'],
      ['policies', 'policy'],
      ['processes', 'processe'],
      ['status', 'status'],
      ['512mis', '512mis'],
      ['size', 'size'],
      ['normalizing', 'normalising'],
    ])('singularises %p to %p', (word, expected) => {
      const words = normaliseWords(word);

      expect(words).toEqual([expected]);
    });

    it.each([
      [
        'how large should the JVM heap be in a container',
        'Give the Java heap three quarters of the container memory limit',
        'Redis eviction policy for a cache',
      ],
      [
        'gunicorn worker count',
        'Gunicorn forks worker processes, two per core plus one',
        'PostgreSQL shared buffers and the page cache',
      ],
      [
        'CPU throttling',
        'A container that uses its CPU quota early is throttled',
        'Spring Boot readiness probe',
      ],
      [
        'replicas for high availability',
        'Run three replicas across zones for 99.9 % availability',
        'Node.js event loop blocking',
      ],
    ])('ranks a related text above an unrelated one for %p', (query, related, unrelated) => {
      const [q, r, u] = [hashEmbed(query), hashEmbed(related), hashEmbed(unrelated)];

      const scores = { related: similarity(q, r), unrelated: similarity(q, u) };

      expect(scores.related).toBeGreaterThan(scores.unrelated);
      expect(scores.related).toBeGreaterThan(0.1);
    });

    it('prefers the same words in the same order through word pairs', () => {
      const query = hashEmbed('cpu request, memory limit');

      const scores = [
        similarity(query, hashEmbed('set the CPU request and the memory limit')),
        similarity(query, hashEmbed('set the memory request and the CPU limit')),
      ];

      expect(scores[0]).toBeGreaterThan((scores[1] ?? 1) + 0.05);
    });

    it('relates inflected forms through character trigrams', () => {
      const throttling = hashEmbed('throttling');

      const scores = [
        similarity(throttling, hashEmbed('throttled')),
        similarity(throttling, hashEmbed('replication')),
      ];

      expect(scores[0]).toBeGreaterThan(0.15);
      expect(scores[0]).toBeGreaterThan(scores[1] ?? 1);
    });

    it('serves llamaindex batch and query embeddings from the same function', async () => {
      const embedding = new HashEmbedding();

      const batch = await embedding.getTextEmbeddingsBatch(['heap size', 'worker count']);
      const query = await embedding.getQueryEmbedding({ type: 'text', text: 'heap size' });

      expect(embedding).toBeInstanceOf(BaseEmbedding);
      expect(batch).toEqual([hashEmbed('heap size'), hashEmbed('worker count')]);
      expect(query).toEqual(hashEmbed('heap size'));
    });

    it.each([0, 7, 12.5, Number.NaN])('rejects dims %p', (dims) => {
      const make = () => new HashEmbedding({ dims });

      expect(make).toThrow(RangeError);
    });
  });

  describe('createEmbedding', () => {
    it('defaults to the offline hash embedding', () => {
      const embedding = createEmbedding();

      expect(embedding).toBeInstanceOf(HashEmbedding);
      expect(embeddingFingerprint(embedding)).toBe('hash-v1-d512');
    });

    it('passes a custom model through untouched', () => {
      const model = new OtherEmbedding();

      const embedding = createEmbedding({ provider: 'custom', model });

      expect(embedding).toBe(model);
    });

    it('honours dims for the hash provider', () => {
      const embedding = createEmbedding({ provider: 'hash', dims: 128 });

      expect(embeddingFingerprint(embedding)).toBe('hash-v1-d128');
    });
  });

  describe('embeddingFingerprint', () => {
    it.each([
      [new HashEmbedding(), 'hash-v1-d512'],
      [new HashEmbedding({ dims: 256 }), 'hash-v1-d256'],
      [new OtherEmbedding(), 'custom-OtherEmbedding-other-small'],
    ])('names the vector space of %p', (embedding, expected) => {
      const fingerprint = embeddingFingerprint(embedding);

      expect(fingerprint).toBe(expected);
    });
  });
});
