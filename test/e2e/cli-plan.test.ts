/**
 * `ai-provision plan` as a user runs it: the built CLI (dist/, built by `pretest`) on the examples
 * and on small repositories with bad input.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { PlanDocument } from '../../src/render/plan-document.js';
import { validateKubernetesObject } from '../../src/render/kubernetes.js';
import { removeTempRepos, tempRepo } from '../support/temp-repo.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

afterAll(removeTempRepos);

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const GO_SERVICE = {
  Dockerfile:
    'FROM golang:1.22 AS build\nCOPY . .\nRUN go build -o /app\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\nEXPOSE 8080\nENTRYPOINT ["/app"]\n',
  'go.mod': 'module example.com/api\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.10.0\n',
  'main.go':
    'package main\n\nfunc main() {\n\tr := gin.Default()\n\tr.GET("/healthz", h)\n\tr.Run()\n}\n',
};

describe('e2e/cli plan', () => {
  it('prints schema-valid Kubernetes manifests for the Express example', () => {
    const { status, stdout } = run([
      'plan',
      'examples/node-express-api',
      '--description',
      'URL shortener API, 800 req/s peak, p99 under 50ms, PostgreSQL and Redis',
      '--format',
      'yaml',
    ]);

    expect(status).toBe(0);
    const objects = parseAllDocuments(stdout).map((d) => d.toJS() as Record<string, unknown>);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
      ]),
    );
    for (const object of objects) expect(validateKubernetesObject(object)).toEqual([]);
  });

  it('prints the stable JSON document with every service of the monorepo', () => {
    const { status, stdout } = run([
      'plan',
      'examples/shop-monorepo',
      '--description',
      'Online shop: Go orders API, Spring Boot inventory, Next.js storefront; 2k QPS peak, 99.95% availability',
      '--format',
      'json',
    ]);

    expect(status).toBe(0);
    const document = PlanDocument.parse(JSON.parse(stdout));
    expect(document.services.map((s) => [s.name, s.path])).toEqual([
      ['inventory', 'services/inventory'],
      ['orders', 'services/orders'],
      ['storefront', 'services/storefront'],
    ]);
    for (const service of document.services) {
      expect(service.resources.requests.cpu).toMatch(/^\d+m?$/);
      expect(service.resources.requests.memory).toMatch(/^\d+(Mi|Gi)$/);
      expect(service.reasoning.length).toBeGreaterThan(4);
    }
  });

  it('patches the monorepo’s existing manifests in place instead of writing new ones', () => {
    const { status, stdout } = run([
      'plan',
      'examples/shop-monorepo',
      '--description',
      'Online shop with a Go orders API, 500 req/s peak, production',
      '--format',
      'json',
    ]);

    expect(status).toBe(0);
    const document = PlanDocument.parse(JSON.parse(stdout));
    const orders = document.services.find((s) => s.name === 'orders')!;
    expect(orders.files).toEqual([{ path: 'deploy/k8s/base/orders.yaml', kind: 'patch' }]);
  });

  it('prints the markdown report with a reason and source for each number', () => {
    const { status, stdout } = run([
      'plan',
      'examples/python-fastapi-worker',
      '--description',
      'Report exporter API and Celery worker, staging',
    ]);

    expect(status).toBe(0);
    expect(stdout).toContain('| field | value | reason | source |');
    expect(stdout).toMatch(/\| memory\.request \| \d+Mi \| .+ \| .+ \|/);
    expect(stdout).toContain('## worker (`.`)');
  });

  it('sizes a Proxmox guest with --target proxmox', () => {
    const root = tempRepo(GO_SERVICE);

    const { status, stdout } = run([
      'plan',
      root,
      '--description',
      'Internal Go API for 50 users',
      '--target',
      'proxmox',
      '--format',
      'json',
    ]);

    expect(status).toBe(0);
    const document = PlanDocument.parse(JSON.parse(stdout));
    expect(document.services[0]!.proxmox).toMatchObject({
      kind: expect.stringMatching(/^(vm|lxc)$/),
    });
    expect(document.services[0]!.files.map((f) => f.path)).toEqual(
      expect.arrayContaining([expect.stringMatching(/\.tf$/)]),
    );
  });

  it('names the line of a broken repository config and plans nothing', () => {
    const root = tempRepo({
      ...GO_SERVICE,
      '.github/ai-provision.yml': 'policy:\n  max_container_cpu: lots\n',
    });

    const { status, stdout, stderr } = run([
      'plan',
      root,
      '--description',
      'Go API with a modest load',
    ]);

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('error [config-invalid]');
    expect(stderr).toContain('line 2');
  });

  it('says so with the numbers when the namespace quota is too small for a sane minimum', () => {
    const root = tempRepo({
      ...GO_SERVICE,
      '.github/ai-provision.yml': 'policy:\n  namespace_quota:\n    cpu: 50m\n    memory: 64Mi\n',
    });

    const { status, stdout } = run([
      'plan',
      root,
      '--description',
      'Critical Go API, 99.99% availability',
      '--format',
      'json',
    ]);

    expect(status).toBe(0);
    const service = PlanDocument.parse(JSON.parse(stdout)).services[0]!;
    const quotaErrors = service.policy.filter((f) => f.severity === 'error');
    expect(quotaErrors.length).toBeGreaterThan(0);
    expect(quotaErrors.map((f) => f.message).join(' ')).toMatch(/quota/i);
  });

  it('flags a contradictory description', () => {
    const root = tempRepo(GO_SERVICE);

    const { stdout } = run([
      'plan',
      root,
      '--description',
      'Stateless Go API with 50 GiB of persistent storage',
      '--format',
      'json',
    ]);

    expect(PlanDocument.parse(JSON.parse(stdout)).warnings.join(' ')).toContain('stateless');
  });

  it('falls back to a conservative default with low confidence for an unknown stack', () => {
    const root = tempRepo({
      Dockerfile: 'FROM scratch\nCOPY app /app\nEXPOSE 9000\nENTRYPOINT ["/app"]\n',
    });

    const { stdout } = run([
      'plan',
      root,
      '--description',
      'A small internal tool used by a few people',
      '--format',
      'json',
    ]);

    const service = PlanDocument.parse(JSON.parse(stdout)).services[0]!;
    expect(service.confidence).toBeLessThanOrEqual(0.3);
    expect(service.warnings.join(' ')).toContain('could not be recognised');
  });

  it.each([
    ['a description that is too short', ['--description', 'tiny'], /--description must be/],
    [
      'an unknown format',
      ['--description', 'A modest Go API', '--format', 'xml'],
      /expected format to be one of/,
    ],
    [
      'an unknown target',
      ['--description', 'A modest Go API', '--target', 'nomad'],
      /expected target to be one of/,
    ],
  ])('refuses %s with a message', (_case, args, message) => {
    const { status, stderr } = run(['plan', 'examples/node-express-api', ...args]);

    expect(status).not.toBe(0);
    expect(stderr).toMatch(message);
  });
});

describe('e2e/cli schema', () => {
  it.each(['input', 'plan', 'request', 'knowledge'])('prints the %s JSON Schema', (name) => {
    const { status, stdout } = run(['schema', name]);

    expect(status).toBe(0);
    const schema = JSON.parse(stdout) as { type?: string; properties?: Record<string, unknown> };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {}).length).toBeGreaterThan(2);
  });

  it('publishes the SPEC §3 input standard fields', () => {
    const schema = JSON.parse(run(['schema', 'input']).stdout) as {
      properties: Record<string, unknown>;
    };

    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'app_metadata',
        'historical_metrics',
        'deployment_context',
        'service_manifest',
      ]),
    );
  });
});
