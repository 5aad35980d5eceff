import { symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeRepo, assignFiles } from '../../../src/repo/index.js';
import { RepoFacts } from '../../../src/repo/schema.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples', import.meta.url));

afterAll(removeTempRepos);

function analyzeExample(name: string): RepoFacts {
  return analyzeRepo(join(EXAMPLES, name), { source: `examples/${name}` });
}

function summary(facts: RepoFacts): Record<string, unknown>[] {
  return facts.services.map((s) => ({
    name: s.name,
    path: s.path,
    language: s.stack.language,
    runtime: s.stack.runtime,
    frameworks: s.stack.frameworks.map((f) => f.name),
    data: s.dependencies.map((d) => d.kind),
  }));
}

describe('repo/index', () => {
  describe('analyzeRepo on the examples', () => {
    it('finds the three services of the shop monorepo with their stacks and data stores', () => {
      const facts = analyzeExample('shop-monorepo');

      expect(RepoFacts.parse(facts)).toEqual(facts);
      expect(summary(facts)).toEqual([
        {
          name: 'inventory',
          path: 'services/inventory',
          language: 'java',
          runtime: { name: 'java', version: '21' },
          frameworks: ['spring-boot'],
          data: ['kafka', 'postgres'],
        },
        {
          name: 'orders',
          path: 'services/orders',
          language: 'go',
          runtime: { name: 'go', version: '1.22' },
          frameworks: ['gin'],
          data: ['kafka', 'postgres'],
        },
        {
          name: 'storefront',
          path: 'services/storefront',
          language: 'typescript',
          runtime: { name: 'node', version: '20' },
          frameworks: ['nextjs', 'react'],
          data: ['redis'],
        },
      ]);
    });

    it('reads Dockerfile hints, the metadata header and endpoints of the shop monorepo', () => {
      const facts = analyzeExample('shop-monorepo');
      const byName = new Map(facts.services.map((s) => [s.name, s]));

      const orders = byName.get('orders')!;
      const inventory = byName.get('inventory')!;

      expect(orders.dockerfile?.hints).toMatchObject({
        gomaxprocs: 2,
        goMemLimitBytes: 384 * 2 ** 20,
      });
      expect(orders.dockerfile?.metadata).toMatchObject({ expected_qps: 500, sla_latency_ms: 100 });
      expect(orders.endpoints).toContainEqual(
        expect.objectContaining({ method: 'GET', path: '/api/v1/orders/:id' }),
      );
      expect(inventory.dockerfile?.hints).toMatchObject({
        jvmMaxHeapBytes: 768 * 2 ** 20,
        jvmMaxRamPercentage: 75,
      });
      expect(inventory.endpoints).toContainEqual(
        expect.objectContaining({ method: 'POST', path: '/api/inventory/{sku}/reservations' }),
      );
    });

    it('maps every existing deployment of the shop monorepo to its service with its resources', () => {
      const facts = analyzeExample('shop-monorepo');

      const rows = facts.deployments.map((d) => [
        d.source,
        d.service,
        d.replicas,
        d.containers[0]?.resources,
      ]);

      expect(rows).toEqual([
        [
          'kubernetes',
          'inventory',
          2,
          { requests: { cpu: 500, memory: 768 * 2 ** 20 }, limits: { cpu: 2000, memory: 2 ** 30 } },
        ],
        [
          'kubernetes',
          'orders',
          2,
          {
            requests: { cpu: 250, memory: 256 * 2 ** 20 },
            limits: { cpu: 1000, memory: 512 * 2 ** 20 },
          },
        ],
        [
          'kustomize',
          'orders',
          4,
          {
            requests: { cpu: 250, memory: 256 * 2 ** 20 },
            limits: { cpu: 1000, memory: 512 * 2 ** 20 },
          },
        ],
        [
          'kustomize',
          'inventory',
          3,
          {
            requests: { cpu: 500, memory: 2 ** 30 },
            limits: { cpu: 2000, memory: 1536 * 2 ** 20 },
          },
        ],
        [
          'helm-values',
          'storefront',
          2,
          {
            requests: { cpu: 200, memory: 256 * 2 ** 20 },
            limits: { cpu: 500, memory: 512 * 2 ** 20 },
          },
        ],
        [
          'compose',
          'orders',
          undefined,
          {
            requests: { cpu: 250, memory: 256 * 2 ** 20 },
            limits: { cpu: 1000, memory: 512 * 2 ** 20 },
          },
        ],
        [
          'compose',
          'inventory',
          undefined,
          { requests: { cpu: 500, memory: 768 * 2 ** 20 }, limits: { cpu: 2000, memory: 2 ** 30 } },
        ],
      ]);
    });

    it('names the Express service from its metadata header', () => {
      const facts = analyzeExample('node-express-api');

      expect(summary(facts)).toEqual([
        {
          name: 'link-shortener',
          path: '.',
          language: 'typescript',
          runtime: { name: 'node', version: '20' },
          frameworks: ['express'],
          data: ['postgres', 'redis'],
        },
      ]);
      expect(facts.services[0]!.dockerfile?.hints.nodeMaxOldSpaceBytes).toBe(384 * 2 ** 20);
    });

    it('finds the API and the worker of the FastAPI example as two services', () => {
      const facts = analyzeExample('python-fastapi-worker');

      expect(
        facts.services.map((s) => [s.name, s.dockerfile?.path, s.dockerfile?.hints.workers]),
      ).toEqual([
        ['api', 'Dockerfile', expect.objectContaining({ server: 'gunicorn', processes: 4 })],
        [
          'worker',
          'Dockerfile.worker',
          expect.objectContaining({ server: 'celery', processes: 8 }),
        ],
      ]);
      expect(facts.notes).toEqual([]);
    });

    it('gives the API its routes and the worker sharing its code none', () => {
      const facts = analyzeExample('python-fastapi-worker');

      const endpoints = facts.services.map((s) => [s.name, s.endpoints.length]);

      expect(endpoints).toEqual([
        ['api', 6],
        ['worker', 0],
      ]);
    });

    it('keeps only the services under the requested paths', () => {
      const facts = analyzeRepo(join(EXAMPLES, 'shop-monorepo'), {
        source: 'x',
        paths: ['services/orders'],
      });

      expect(facts.services.map((s) => s.name)).toEqual(['orders']);
    });
  });

  describe('analyzeRepo on bad input', () => {
    it('notes a broken Dockerfile, a heredoc, an unresolved ARG in FROM and CRLF, and still reports each service', () => {
      const root = tempRepo({
        'broken/Dockerfile': 'FROM node:20\nFROBNICATE everything\nEXPOSE 3000\n',
        'heredoc/Dockerfile':
          'FROM python:3.12-slim\nRUN <<EOF\nFROM evil\napt-get update\nEOF\nEXPOSE 8000\n',
        'argfrom/Dockerfile': 'ARG BASE\nFROM ${BASE}\nEXPOSE 9000\n',
        'crlf/Dockerfile': 'FROM golang:1.22\r\nENV GOMAXPROCS=4\r\nEXPOSE 8080\r\n',
      });

      const facts = analyzeRepo(root, { source: 'bad' });

      expect(facts.services.map((s) => [s.name, s.dockerfile?.expose.map((p) => p.port)])).toEqual([
        ['argfrom', [9000]],
        ['broken', [3000]],
        ['crlf', [8080]],
        ['heredoc', [8000]],
      ]);
      expect(facts.services.find((s) => s.name === 'heredoc')!.dockerfile!.stages).toHaveLength(1);
      expect(facts.services.find((s) => s.name === 'crlf')!.dockerfile!.hints.gomaxprocs).toBe(4);
      const codes = facts.notes.map((n) => [n.code, n.path]);
      expect(codes).toEqual(
        expect.arrayContaining([
          ['dockerfile-syntax', 'broken/Dockerfile'],
          ['dockerfile-arg-in-from', 'argfrom/Dockerfile'],
        ]),
      );
    });

    it('skips binary and huge files and symlinks out of the tree, with notes', () => {
      const outside = tempRepo({ 'secret.env': 'TOKEN=x' });
      const root = tempRepo({
        Dockerfile: 'FROM node:20\nEXPOSE 3000\n',
        'package.json': Buffer.concat([Buffer.from('{"name":"x"'), Buffer.from([0, 0, 0])]),
        'requirements.txt': `flask==3.0.0\n${'#'.repeat(2 * 1024 * 1024)}\n`,
      });
      symlinkSync(join(outside, 'secret.env'), join(root, '.env'));

      const facts = analyzeRepo(root, { source: 'odd' });

      expect(facts.services).toHaveLength(1);
      expect(facts.services[0]!.stack.frameworks).toEqual([]);
      expect(facts.services[0]!.dependencies).toEqual([]);
      expect(facts.notes.map((n) => [n.code, n.path])).toEqual(
        expect.arrayContaining([
          ['file-binary', 'package.json'],
          ['file-too-large', 'requirements.txt'],
          ['symlink-outside', '.env'],
        ]),
      );
    });

    it('skips a Dockerfile too large to be real, and still analyses the service', () => {
      const root = tempRepo({
        Dockerfile: `FROM node:20\n${'RUN echo hi\n'.repeat(20_000)}`,
        'package.json': '{"name":"big","dependencies":{"express":"^4.19.0"}}',
      });

      const facts = analyzeRepo(root, { source: 'big' });

      expect(facts.services[0]!.dockerfile).toBeUndefined();
      expect(facts.services[0]!.stack.frameworks.map((f) => f.name)).toEqual(['express']);
      expect(facts.notes).toContainEqual(
        expect.objectContaining({ code: 'file-too-large', path: 'Dockerfile' }),
      );
    });

    it('notes when a service has more endpoints than the scan keeps', () => {
      const routes = Array.from({ length: 250 }, (_, i) => `app.get('/r${i}', h);`).join('\n');
      const root = tempRepo({
        Dockerfile: 'FROM node:20\n',
        'package.json': '{"name":"many","dependencies":{"express":"^4.19.0"}}',
        'server.js': `const app = require('express')();\n${routes}\n`,
      });

      const facts = analyzeRepo(root, { source: 'many' });

      expect(facts.services[0]!.endpoints).toHaveLength(200);
      expect(facts.notes).toContainEqual(
        expect.objectContaining({ code: 'endpoints-truncated', path: '.' }),
      );
    });

    it('analyses a repository with no Dockerfile and says so', () => {
      const root = tempRepo({
        'go.mod': 'module example.com/x\n\ngo 1.22\n',
        'main.go': 'package main\n',
      });

      const facts = analyzeRepo(root, { source: 'https://github.com/acme/tool' });

      expect(facts.services.map((s) => [s.name, s.source, s.stack.language])).toEqual([
        ['tool', 'manifest', 'go'],
      ]);
      expect(facts.notes.map((n) => n.code)).toContain('no-dockerfile');
    });

    it('names a root service after the directory when the source is "."', () => {
      const root = tempRepo({ Dockerfile: 'FROM node:20\n' });

      const facts = analyzeRepo(root, { source: '.' });

      expect(facts.services.map((s) => s.name)).toEqual([basename(root).toLowerCase()]);
    });

    it('returns no services and a note for an empty repository', () => {
      const root = tempRepo({ 'README.md': '# nothing here\n' });

      const facts = analyzeRepo(root, { source: 'empty' });

      expect(facts.services).toEqual([]);
      expect(facts.notes.map((n) => n.code)).toContain('no-dockerfile');
    });
  });

  describe('assignFiles', () => {
    it('gives each file to the deepest service directory holding it', () => {
      const files = [
        'Dockerfile',
        'package.json',
        'svc/a/Dockerfile',
        'svc/a/go.mod',
        'svc/b.txt',
      ].map((path) => ({
        path,
        size: 1,
      }));
      const locations = [
        { name: 'root', path: '.', source: 'dockerfile' as const },
        { name: 'a', path: 'svc/a', source: 'dockerfile' as const },
      ];

      const assigned = assignFiles(files, locations);

      expect(assigned.get('.')!.map((f) => f.path)).toEqual([
        'Dockerfile',
        'package.json',
        'svc/b.txt',
      ]);
      expect(assigned.get('svc/a')!.map((f) => f.path)).toEqual([
        'svc/a/Dockerfile',
        'svc/a/go.mod',
      ]);
    });
  });
});
