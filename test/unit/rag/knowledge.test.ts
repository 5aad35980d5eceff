import { cpSync, readdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultKnowledgeDir, loadKnowledge } from '../../../src/rag/knowledge.js';
import { KnowledgeEntry } from '../../../src/rag/schema.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

afterAll(removeTempRepos);

const FIXTURE = fileURLToPath(new URL('../../fixtures/knowledge/', import.meta.url));

/** A valid entry file for `id`, with `front` lines replacing the defaults when given. */
function entryFile(id: string, front?: string, body = 'Some prose.\n'): string {
  const frontMatter =
    front ??
    [
      `id: ${id}`,
      'title: A subject',
      'kind: runtime',
      'applies_to:',
      '  languages: [go]',
      'figures:',
      '  cpu_request: { value: 100, unit: millicores, source: 0 }',
      'sources:',
      '  - title: Somewhere public',
      '    url: https://example.org/doc',
    ].join('\n');
  return `---\n${frontMatter}\n---\n${body}`;
}

describe('rag/knowledge', () => {
  describe('loadKnowledge on the fixture', () => {
    it('loads every entry, sorted by id, valid against KnowledgeEntry', () => {
      const loaded = loadKnowledge(FIXTURE);

      expect(loaded.problems).toEqual([]);
      expect(loaded.entries.map((entry) => entry.id)).toEqual([
        'framework-gunicorn-workers',
        'framework-spring-boot',
        'image-postgres',
        'image-redis',
        'pattern-cpu-limits',
        'pattern-replicas-per-tier',
        'runtime-jvm-heap',
        'runtime-node-event-loop',
      ]);
      for (const entry of loaded.entries) expect(KnowledgeEntry.parse(entry)).toEqual(entry);
      expect(loaded.hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('keeps the markdown after the front matter as the body and defaults applies_to lists', () => {
      const loaded = loadKnowledge(FIXTURE);

      const postgres = loaded.entries.find((entry) => entry.id === 'image-postgres');
      expect(postgres?.body.startsWith('## Memory\n')).toBe(true);
      expect(postgres?.applies_to).toEqual({
        languages: [],
        frameworks: [],
        images: ['postgres'],
        patterns: [],
        servers: [],
      });
      expect(postgres?.figures['shared_buffers_fraction']).toEqual({
        value: 0.25,
        unit: 'ratio',
        source: 0,
      });
    });
  });

  describe('problems', () => {
    it.each([
      [
        'invalid YAML names the file line',
        'broken',
        entryFile('broken', 'id: broken\ntitle: T\ntitle: U'),
        /^line 4: invalid YAML: Map keys must be unique$/,
      ],
      [
        'id different from the file name',
        'mismatch',
        entryFile('other'),
        /^line 2: id "other" must equal the file name without \.md \("mismatch"\)$/,
      ],
      [
        'missing sources',
        'no-sources',
        entryFile('no-sources', 'id: no-sources\ntitle: T\nkind: image\napplies_to: {}'),
        /^line 2: sources: /,
      ],
      [
        'empty sources',
        'empty-sources',
        entryFile(
          'empty-sources',
          'id: empty-sources\ntitle: T\nkind: image\napplies_to: {}\nsources: []',
        ),
        /^line 6: sources: Too small/,
      ],
      [
        'unknown kind',
        'bad-kind',
        entryFile(
          'bad-kind',
          'id: bad-kind\ntitle: T\nkind: database\napplies_to: {}\nsources:\n  - { title: S, url: https://example.org }',
        ),
        /^line 4: kind: /,
      ],
      [
        'figure outside its own range',
        'bad-range',
        entryFile(
          'bad-range',
          [
            'id: bad-range',
            'title: T',
            'kind: image',
            'applies_to: {}',
            'figures:',
            '  cpu_request: { value: 50, low: 100, unit: millicores }',
            'sources:',
            '  - { title: S, url: https://example.org }',
          ].join('\n'),
        ),
        /^line 7: figures\.cpu_request: expected low ≤ value ≤ high$/,
      ],
      [
        'figure source out of range',
        'bad-source',
        entryFile(
          'bad-source',
          [
            'id: bad-source',
            'title: T',
            'kind: image',
            'applies_to: {}',
            'figures:',
            '  cpu_request: { value: 50, unit: millicores, source: 1 }',
            'sources:',
            '  - { title: S, url: https://example.org }',
          ].join('\n'),
        ),
        /^line 7: figures\.cpu_request\.source is 1, but there are only 1 sources/,
      ],
      ['no front matter', 'plain', '# Just markdown\n', /^no front matter/],
      ['front matter that is not a mapping', 'listy', entryFile('listy', '- a\n- b'), /mapping/],
      [
        'body inside the front matter',
        'with-body',
        entryFile('with-body', 'id: with-body\nbody: text'),
        /^line 3: "body" is not a front matter field/,
      ],
    ])('%s: skips the file and names it', (_case, id, content, message) => {
      const dir = tempRepo({ [`${id}.md`]: content, 'valid-one.md': entryFile('valid-one') });

      const loaded = loadKnowledge(dir);

      expect(loaded.entries.map((entry) => entry.id)).toEqual(['valid-one']);
      expect(loaded.problems).toEqual([
        { file: `${id}.md`, message: expect.stringMatching(message) },
      ]);
    });

    it('skips README.md and files that are not markdown', () => {
      const dir = tempRepo({
        'README.md': '# Not an entry, no front matter\n',
        'notes.txt': 'ignored',
        'valid-one.md': entryFile('valid-one'),
      });

      const loaded = loadKnowledge(dir);

      expect(loaded.problems).toEqual([]);
      expect(loaded.entries.map((entry) => entry.id)).toEqual(['valid-one']);
    });

    it('reports a missing directory instead of throwing', () => {
      const dir = join(tempRepo({}), 'absent');

      const loaded = loadKnowledge(dir);

      expect(loaded.entries).toEqual([]);
      expect(loaded.problems).toEqual([
        {
          file: dir,
          message: expect.stringMatching(/^cannot read the knowledge directory: ENOENT$/),
        },
      ]);
    });
  });

  describe('hash', () => {
    it.each([
      ['nothing changes', () => undefined, false],
      [
        'only the modification time changes',
        (dir: string) => utimesSync(join(dir, 'image-redis.md'), 1, 1),
        false,
      ],
      [
        'a README.md is added',
        (dir: string) => writeFileSync(join(dir, 'README.md'), '# hello\n'),
        false,
      ],
      [
        'a non-markdown file is added',
        (dir: string) => writeFileSync(join(dir, 'x.txt'), 'x'),
        false,
      ],
      [
        'one character of an entry changes',
        (dir: string) =>
          writeFileSync(
            join(dir, 'image-redis.md'),
            entryFile('image-redis', undefined, 'Other.\n'),
          ),
        true,
      ],
      [
        'a file is renamed',
        (dir: string) => renameSync(join(dir, 'image-redis.md'), join(dir, 'image-redis-2.md')),
        true,
      ],
      [
        'an invalid entry is added',
        (dir: string) => writeFileSync(join(dir, 'broken.md'), 'no front matter'),
        true,
      ],
    ])('changes when %s: %p', (_case, mutate, changes) => {
      const dir = tempRepo({});
      cpSync(FIXTURE, dir, { recursive: true });
      const before = loadKnowledge(dir).hash;

      mutate(dir);
      const after = loadKnowledge(dir).hash;

      expect(after !== before).toBe(changes);
    });

    it('does not depend on the directory it is read from', () => {
      const copy = tempRepo({});
      cpSync(FIXTURE, copy, { recursive: true });

      const hashes = [loadKnowledge(FIXTURE).hash, loadKnowledge(copy).hash];

      expect(hashes[0]).toBe(hashes[1]);
      expect(readdirSync(copy).length).toBe(9);
    });
  });

  describe('defaultKnowledgeDir', () => {
    it('is knowledge/ at the package root', () => {
      const root = fileURLToPath(new URL('../../../', import.meta.url));

      const dir = defaultKnowledgeDir();

      expect(resolve(dir)).toBe(resolve(root, 'knowledge'));
    });
  });
});
