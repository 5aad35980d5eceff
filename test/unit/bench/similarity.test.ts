import {
  bleu,
  bleuFromTokens,
  codeBleu,
  keyPathLeaves,
  keyPathMatch,
  tokenizeYaml,
} from '../../../src/bench/similarity.js';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.0
          resources:
            requests:
              cpu: 250m
              memory: 512Mi
`;

describe('bench/similarity', () => {
  describe('tokenizeYaml', () => {
    it.each([
      ['cpu: 250m', ['cpu', '250m']],
      ['memory: "1.5Gi"', ['memory', '1.5Gi']],
      ["labels: {app.kubernetes.io/name: 'web'}", ['labels', 'app.kubernetes.io/name', 'web']],
      ['args: [--port, "8080"]', ['args', '--port', '8080']],
      ['- name: web # the main container', ['-', 'name', 'web']],
      ['---\nkind: Service\n...', ['kind', 'Service']],
    ])('%p → %p', (text, expected) => {
      const tokens = tokenizeYaml(text);

      expect(tokens).toEqual(expected);
    });
  });

  describe('bleu', () => {
    it('is 1 for identical texts', () => {
      const score = bleu(DEPLOYMENT, DEPLOYMENT);

      expect(score.score).toBeCloseTo(1, 10);
      expect(score.brevityPenalty).toBe(1);
    });

    it('ignores quoting and comments', () => {
      const candidate = DEPLOYMENT.replace('250m', '"250m"').replace(
        'replicas: 2',
        'replicas: 2 # HA',
      );

      const score = bleu(candidate, DEPLOYMENT);

      expect(score.score).toBeCloseTo(1, 10);
    });

    it.each([
      ['one changed quantity', DEPLOYMENT.replace('250m', '500m')],
      ['changed name and image', DEPLOYMENT.replaceAll('api', 'web')],
      ['extra fields', `${DEPLOYMENT}          limits:\n            memory: 1Gi\n`],
    ])('is below 1 for %s', (_label, candidate) => {
      const score = bleu(candidate, DEPLOYMENT).score;

      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThan(1);
    });

    it('ranks a closer candidate higher', () => {
      const near = DEPLOYMENT.replace('250m', '500m');
      const far = DEPLOYMENT.replace('250m', '500m')
        .replace('512Mi', '2Gi')
        .replace('replicas: 2', 'replicas: 5');

      const nearScore = bleu(near, DEPLOYMENT).score;
      const farScore = bleu(far, DEPLOYMENT).score;

      expect(nearScore).toBeGreaterThan(farScore);
    });

    it('is 0 when no unigram matches', () => {
      const score = bleu('alpha beta gamma delta', DEPLOYMENT);

      expect(score.score).toBe(0);
    });

    it('penalises a candidate shorter than the reference (brevity penalty)', () => {
      const reference = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      const candidate = reference.slice(0, 4);

      const score = bleuFromTokens(candidate, reference);

      // Every n-gram of the prefix occurs in the reference, so only the penalty lowers the score.
      expect(score.precisions.every((p) => p === 1)).toBe(true);
      expect(score.brevityPenalty).toBeCloseTo(Math.exp(1 - 8 / 4), 10);
      expect(score.score).toBeCloseTo(Math.exp(-1), 10);
    });

    it('does not penalise a longer candidate for length', () => {
      const reference = ['a', 'b', 'c', 'd'];
      const candidate = [...reference, 'a', 'b', 'c', 'd'];

      const score = bleuFromTokens(candidate, reference);

      expect(score.brevityPenalty).toBe(1);
    });

    it('clips repeated n-grams to their count in the reference', () => {
      const score = bleuFromTokens(['x', 'x', 'x', 'x'], ['x', 'y', 'z', 'w']);

      expect(score.precisions[0]).toBeCloseTo(1 / 4, 10);
    });

    it.each([
      [[], [], 1],
      [[], ['a'], 0],
      [['a'], [], 0],
    ])('handles empty inputs: %p vs %p → %p', (candidate, reference, expected) => {
      const score = bleuFromTokens(candidate, reference);

      expect(score.score).toBe(expected);
    });
  });

  describe('keyPathLeaves', () => {
    it('keys leaves by kind, names list items by name, and canonicalises quantities', () => {
      const leaves = keyPathLeaves(DEPLOYMENT.replace('250m', '0.25').replace('512Mi', '0.5Gi'));

      expect(leaves).toContain('Deployment:spec.replicas=2');
      expect(leaves).toContain(
        'Deployment:spec.template.spec.containers[api].image=ghcr.io/acme/api:1.0',
      );
      expect(leaves).toContain(
        'Deployment:spec.template.spec.containers[api].resources.requests.cpu=250m',
      );
      expect(leaves).toContain(
        'Deployment:spec.template.spec.containers[api].resources.requests.memory=512Mi',
      );
    });

    it('skips documents that do not parse', () => {
      const leaves = keyPathLeaves('kind: A\nx: 1\n---\nkind: [unclosed\n');

      expect([...leaves]).toEqual(['A:kind=A', 'A:x=1']);
    });
  });

  describe('keyPathMatch', () => {
    it.each([
      ['identical', DEPLOYMENT, 1],
      [
        'equal quantities written differently',
        DEPLOYMENT.replace('250m', '"0.25"').replace('512Mi', '536870912'),
        1,
      ],
      [
        'containers reordered with a sidecar added',
        DEPLOYMENT.replace(
          '        - name: api',
          '        - name: proxy\n          image: envoy\n        - name: api',
        ),
        1,
      ],
      ['one of 8 leaves wrong', DEPLOYMENT.replace('replicas: 2', 'replicas: 3'), 7 / 8],
      ['another kind entirely', DEPLOYMENT.replace('kind: Deployment', 'kind: StatefulSet'), 0],
      ['not YAML at all', '{{{', 0],
    ])('%s → %p', (_label, candidate, expected) => {
      const score = keyPathMatch(candidate, DEPLOYMENT);

      expect(score).toBeCloseTo(expected, 10);
    });

    it('does not count leaves the candidate adds', () => {
      const candidate = `${DEPLOYMENT}          limits:\n            memory: 1Gi\n`;

      const score = keyPathMatch(candidate, DEPLOYMENT);

      expect(score).toBe(1);
    });
  });

  describe('codeBleu', () => {
    it.each([
      [0.5, 0.5],
      [1, 1],
      [0, 0],
    ])('mixes BLEU and key-path match with weight %p', (weight, bleuShare) => {
      const candidate = DEPLOYMENT.replace('replicas: 2', 'replicas: 3');

      const score = codeBleu(candidate, DEPLOYMENT, weight);

      expect(score.keyPath).toBeCloseTo(7 / 8, 10);
      expect(score.score).toBeCloseTo(bleuShare * score.bleu + (1 - bleuShare) * score.keyPath, 10);
    });

    it('is 1 for identical manifests', () => {
      const score = codeBleu(DEPLOYMENT, DEPLOYMENT);

      expect(score.score).toBeCloseTo(1, 10);
    });
  });
});
