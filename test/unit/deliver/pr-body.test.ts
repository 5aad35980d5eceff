import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GITHUB_BODY_LIMIT } from '../../../src/deliver/fit.js';
import {
  PR_MARKER,
  pullRequestBranch,
  pullRequestContent,
  sizingChart,
} from '../../../src/deliver/pr-body.js';
import type { PullRequestContentInput } from '../../../src/deliver/pr-body.js';
import { runPlan } from '../../../src/pipeline.js';
import { createKnowledgeRetriever } from '../../../src/rag/retriever.js';
import { createOfflineReasoner } from '../../../src/reasoners/offline.js';
import type { PlanDocument, PlannedService } from '../../../src/render/plan-document.js';

const ZWJ = '\u200d';
const DESCRIPTION =
  'Online shop: Go orders API, Spring Boot inventory, Next.js storefront; 2k QPS peak, 99.95% availability, PostgreSQL, Kafka, Redis';

/** A plan and report made by the real pipeline (offline reasoner) from examples/shop-monorepo. */
interface RealPlan {
  document: PlanDocument;
  report: string;
}

let real: RealPlan;
let cacheDir: string;

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'aip-pr-body-'));
  const retriever = await createKnowledgeRetriever({ cacheDir });
  const reasoners = {
    kubernetes: createOfflineReasoner({ retriever, target: 'kubernetes' }),
    proxmox: createOfflineReasoner({ retriever, target: 'proxmox' }),
  };

  const outcome = await runPlan(
    {
      source: 'examples/shop-monorepo',
      description: DESCRIPTION,
      target: 'kubernetes',
      environment: 'prod',
      allowLocalPath: true,
    },
    { retriever, reasonerFor: (target) => reasoners[target] },
  );

  if (outcome.kind !== 'done') throw new Error(`the example plan failed: ${outcome.userMessage}`);
  real = { document: outcome.value.document, report: outcome.value.report };
}, 60_000);

afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

function service(name: string, overrides: Partial<PlannedService> = {}): PlannedService {
  return {
    name,
    path: `services/${name}`,
    target: 'kubernetes',
    workload: 'Deployment',
    replicas: 2,
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    bounds: {
      cpu: { lower: '100m', upper: '1' },
      memory: { lower: '128Mi', upper: '1Gi' },
    },
    confidence: 0.7,
    cost: { monthlyUsd: 10, monthlyAtMaxUsd: 10 },
    reasoning: [
      {
        field: 'cpu.request',
        value: '250m',
        reason: 'Typical CPU for one replica of this stack.',
        sources: ['knowledge:runtime-node', 'repo:Dockerfile', 'description'],
      },
    ],
    policy: [],
    validation: { ok: true, errors: [] },
    warnings: [],
    files: [{ path: `deploy/${name}.yaml`, kind: 'new' }],
    ...overrides,
  };
}

function documentOf(services: PlannedService[]): PlanDocument {
  return {
    schemaVersion: 1,
    source: 'https://github.com/acme/shop',
    commit: '0123456789abcdef0123456789abcdef01234567',
    reasoner: 'offline',
    services,
    warnings: [],
  };
}

function input(overrides: Partial<PullRequestContentInput> = {}): PullRequestContentInput {
  return {
    document: real.document,
    report: real.report,
    request: {
      gitRepo: 'https://github.com/acme/shop.git',
      appDescription: DESCRIPTION,
      requestedBy: 'octocat',
      environment: 'prod',
      target: 'kubernetes',
    },
    reportPath: 'deploy/ai-provision-report.md',
    jobId: 'job-0123456789ab',
    thread: { owner: 'acme', repo: 'shop', issueNumber: 12 },
    ...overrides,
  };
}

/** The mermaid blocks of a text, each as its lines. */
function mermaidBlocks(text: string): string[][] {
  return [...text.matchAll(/^```mermaid\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!.split('\n'));
}

/**
 * Checks a block against the xychart-beta grammar (mermaid's xychart.jison) for the statements we
 * write: orientation, a quoted title, a band x-axis of quoted labels, a ranged y-axis, one bar
 * series of numbers as long as the axis. Returns the labels and values.
 */
function parseXyChart(lines: string[]): { labels: string[]; values: number[]; max: number } {
  const [head, title, xAxis, yAxis, bar, ...rest] = lines.map((l) => l.trim());
  expect(head).toMatch(/^xychart-beta (vertical|horizontal)$/);
  expect(title).toMatch(/^title "[^"\n]+"$/);
  expect(xAxis).toMatch(/^x-axis \[("[^"\n%#;]*")(, "[^"\n%#;]*")*\]$/);
  expect(yAxis).toMatch(/^y-axis "[^"\n]+" 0 --> \d+(\.\d+)?$/);
  expect(bar).toMatch(/^bar \[\d+(\.\d+)?(, \d+(\.\d+)?)*\]$/);
  expect(rest).toEqual([]);
  const labels = [...xAxis!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const values = bar!.slice(5, -1).split(', ').map(Number);
  expect(values).toHaveLength(labels.length);
  return { labels, values, max: Number(yAxis!.split('--> ')[1]) };
}

describe('deliver/pr-body pullRequestBranch', () => {
  it.each<[string, string[], string, string | undefined, string]>([
    ['one service', ['orders'], 'shop', undefined, 'ai-provision/orders'],
    [
      'several services: the repository',
      ['orders', 'inventory'],
      'shop',
      undefined,
      'ai-provision/shop',
    ],
    ['no services: the repository', [], 'shop', undefined, 'ai-provision/shop'],
    ['an environment', ['orders'], 'shop', 'prod', 'ai-provision/orders-prod'],
    ['repository and environment', ['a', 'b'], 'Shop', 'staging', 'ai-provision/shop-staging'],
    [
      'case, spaces and underscores',
      ['Orders API_v2'],
      'shop',
      undefined,
      'ai-provision/orders-api-v2',
    ],
    ['accents', ['Café Ünïcode'], 'shop', undefined, 'ai-provision/cafe-unicode'],
    ['runs of separators', ['--a..b__c--'], 'shop', undefined, 'ai-provision/a-b-c'],
    ['a name with nothing usable', ['日本'], 'shop', undefined, 'ai-provision/shop'],
    ['nothing usable at all', ['!!!'], '***', 'dev', 'ai-provision/plan-dev'],
    ['a dotted repository', ['x', 'y'], 'my.repo', undefined, 'ai-provision/my-repo'],
  ])('%s', (_name, serviceNames, repoName, environment, expected) => {
    const branch = pullRequestBranch({
      serviceNames,
      repoName,
      ...(environment === undefined ? {} : { environment }),
    });

    expect(branch).toBe(expected);
  });

  it.each<[string | undefined]>([[undefined], ['prod'], ['staging']])(
    'keeps a long name to 60 characters with the environment %s intact',
    (environment) => {
      const name = `${'very-long-service-name-'.repeat(5)}end`;

      const branch = pullRequestBranch({
        serviceNames: [name],
        repoName: 'shop',
        ...(environment === undefined ? {} : { environment }),
      });

      const slug = branch.slice('ai-provision/'.length);
      expect(slug.length).toBeLessThanOrEqual(60);
      expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(slug.startsWith('very-long-service-name-')).toBe(true);
      if (environment !== undefined) expect(slug.endsWith(`-${environment}`)).toBe(true);
    },
  );
});

describe('deliver/pr-body pullRequestContent', () => {
  it('describes the example plan: title, labels, branch, commit message', () => {
    const content = pullRequestContent(input());

    expect(content.title).toBe('ai-provision: size 3 services (prod)');
    expect(content.labels).toEqual(['ai-provision', 'env:prod']);
    expect(content.branch).toBe('ai-provision/shop-prod');
    expect(content.extraFiles).toEqual([]);
    const [subject, blank, ...services] = content.commitMessage.split('\n');
    expect(subject).toBe('chore(ai-provision): size 3 services for prod');
    expect(blank).toBe('');
    expect(services).toEqual([
      expect.stringMatching(
        /^- inventory: CPU 500m \/ no limit, memory 1182Mi \/ 1182Mi, replicas 4–12, confidence 0\.90, \$\d+\.\d\d–\$\d+\.\d\d a month$/,
      ),
      expect.stringMatching(
        /^- orders: CPU 100m \/ no limit, memory 214Mi \/ 427Mi, replicas 3–9, /,
      ),
      expect.stringMatching(/^- storefront: CPU \d+m \/ no limit, /),
    ]);
  });

  it('titles a single service by its name and leaves out a missing environment', () => {
    const document = documentOf([service('orders')]);
    const base = input();

    const content = pullRequestContent({
      ...base,
      document,
      report: '# r\n',
      request: { ...base.request, environment: undefined },
    });

    expect(content.title).toBe('ai-provision: size orders');
    expect(content.labels).toEqual(['ai-provision']);
    expect(content.branch).toBe('ai-provision/orders');
    expect(content.commitMessage.split('\n')[0]).toBe('chore(ai-provision): size orders');
  });

  it('writes the body a reviewer reads: header, numbers, reasons, chart, checks, report, footer', () => {
    const content = pullRequestContent(input());

    const body = content.body;
    expect(body.split('\n')[0]).toBe(PR_MARKER);
    expect(body).toContain(
      '`octocat` asked in acme/shop#12 to size 3 services in [acme/shop](https://github.com/acme/shop) for target `kubernetes`, environment `prod`; the `offline` reasoner planned it from commit `',
    );
    expect(body).toContain(`The request:\n\n> ${DESCRIPTION}\n\n## Sizing`);
    expect(body).toContain(
      '| inventory (`services/inventory`) | 500m / no limit | 1182Mi / 1182Mi | 4–12 | 0.90 | $',
    );
    expect(body).toContain(
      '| orders (`services/orders`) | 100m / no limit | 214Mi / 427Mi | 3–9 | 0.90 | $',
    );
    expect(body).toMatch(/Total: about \$\d+\.\d\d a month, \$\d+\.\d\d with every autoscaler/);
    expect(body).toContain('### inventory (`services/inventory`)');
    expect(body).toMatch(
      /\| memory\.request \| 1182Mi \| The image sets -Xmx to 768Mi;.*\| `Dockerfile`, \[framework-spring-boot\]\(https:\/\/[^)]+\) \|/,
    );
    expect(body).toContain('Request bounds, lower to upper: CPU 250m–1, memory 768Mi–1773Mi.');
    expect(mermaidBlocks(body)).toHaveLength(2);
    expect(body).toContain(
      '- [ ] No CPU limit is set on purpose; confirm your cluster policy allows that. (inventory, orders, storefront)',
    );
    expect(body).toContain('<details><summary>The full report');
    expect(body).toContain(real.report.split('\n')[0]);
    expect(body).toContain('### Patch: `deploy/k8s/base/inventory.yaml`');
    expect(body.trimEnd().endsWith('</sub>')).toBe(true);
    expect(body).toContain(
      'ai-provision job `job-0123456789ab`. To re-run, comment `/ai-provision` again in acme/shop#12',
    );
    expect(body).toContain('`/ai-provision approve` or `/ai-provision reject [reason]`');
    expect(body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
  });

  it('orders the sections as a reviewer reads them', () => {
    const body = pullRequestContent(input()).body;

    const at = [
      '## Sizing',
      '## Reasons and sources',
      '## Sizing chart',
      '## What to check',
      '## Full report',
      '<sub>',
    ].map((h) => body.indexOf(h));

    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('says how to re-run without a thread (dispatch, Action)', () => {
    const { thread: _thread, ...rest } = input();

    const body = pullRequestContent(rest).body;

    expect(body).toContain('`octocat` asked to size 3 services');
    expect(body).toContain('Send the same request again to re-run');
  });

  it('lists the plan’s warnings and policy findings where a reviewer looks', () => {
    const document = {
      ...documentOf([
        service('orders', {
          policy: [{ rule: 'max-cpu', severity: 'error', message: 'CPU above the cap of 2.' }],
          validation: { ok: false, errors: ['limits below requests'] },
        }),
      ]),
      warnings: ['No environment was given; the plan is for prod.'],
    };

    const body = pullRequestContent(input({ document, report: '# r\n' })).body;

    expect(body).toContain('- ⚠️ No environment was given; the plan is for prod.');
    expect(body).toContain('- ⛔ CPU above the cap of 2.');
    expect(body).toContain('- ⛔ limits below requests');
  });

  it('says there is nothing in particular to check when the report lists nothing', () => {
    const body = pullRequestContent(
      input({ document: documentOf([service('a')]), report: '# r\n' }),
    ).body;

    expect(body).toContain('## What to check\n\nNothing in particular');
  });

  it('shows a source it cannot link as code, and the request as "the request"', () => {
    const body = pullRequestContent(
      input({ document: documentOf([service('a')]), report: '# r\n' }),
    ).body;

    expect(body).toContain('| `runtime-node`, `Dockerfile`, the request |');
  });

  it('neutralises mentions and references and escapes Markdown in text from users and repositories', () => {
    const base = input();
    const description = [
      'Ping @octocat and @acme/admins about #123, acme/shop#7 and GH-42.',
      '<img src=x onerror=alert(1)> </details> <!-- hide',
      '## Heading',
      '```',
      '| a | b |',
    ].join('\n');
    const evil = service('@evil|svc', {
      reasoning: [{ field: 'cpu.request', value: '250m', reason: 'Ask @team in #9', sources: [] }],
    });
    const report = '# r\n\n## x\n\nThanks @someone for #3.\n\n```yaml\nowner: "@keep" # 4\n```\n';

    const { thread: _thread, ...noThread } = base;

    const body = pullRequestContent({
      ...noThread,
      document: documentOf([evil]),
      report,
      request: { ...base.request, appDescription: description, requestedBy: '@admin' },
    }).body;

    const outsideCode = body.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]+`/g, '');
    expect(outsideCode).not.toMatch(/(^|[^\w])@[A-Za-z0-9]/m);
    expect(outsideCode).not.toMatch(/#\d/);
    expect(outsideCode).not.toMatch(/GH-\d/);
    expect(body).toContain(
      `> Ping @${ZWJ}octocat and @${ZWJ}acme/admins about #${ZWJ}123, acme/shop#${ZWJ}7 and GH-${ZWJ}42.`,
    );
    expect(body).toContain('> &lt;img src=x onerror=alert(1)&gt; &lt;/details&gt; &lt;!-- hide');
    expect(body).toContain('> \\## Heading\n> \\`\\`\\`\n> \\| a \\| b \\|');
    expect(body).toContain('`@admin` asked');
    expect(body).toContain(`| @${ZWJ}evil\\|svc (\`services/@evil\\|svc\`) |`);
    expect(body).toContain(`Ask @${ZWJ}team in #${ZWJ}9`);
    expect(body).toContain(`Thanks @${ZWJ}someone for #${ZWJ}3.`);
    expect(body).toContain('owner: "@keep" # 4');
    expect(body.match(/<details/g)?.length).toBe(body.match(/<\/details>/g)?.length);
  });

  it('puts the report where it belongs whatever the description holds', () => {
    const base = input();

    const body = pullRequestContent({
      ...base,
      report: '# the report\n',
      request: { ...base.request, appDescription: 'sneaky \u0000report\u0000 text here' },
    }).body;

    expect(body).toContain('> sneaky report text here');
    expect(body).toContain('</summary>\n\n# the report\n\n</details>');
  });

  it('moves a report that does not fit into a committed file and links it', () => {
    const report = `# big report\n\n${'| a | b |\n'.repeat(10_000)}`;

    const content = pullRequestContent(input({ report }));

    expect(content.body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(content.extraFiles).toEqual([
      { path: 'deploy/ai-provision-report.md', content: report },
    ]);
    expect(content.body).toContain(
      'it is committed on this branch as [deploy/ai-provision-report.md](https://github.com/acme/shop/blob/ai-provision/shop-prod/deploy/ai-provision-report.md)',
    );
    expect(content.body).not.toContain('# big report');
    expect(content.body).not.toContain('cut here');
    expect(content.body).toContain('## Sizing\n\n| service |');
  });

  it('links the report as a path when the repository is not a web URL', () => {
    const base = input();
    const report = 'x'.repeat(GITHUB_BODY_LIMIT);

    const content = pullRequestContent({
      ...base,
      report,
      request: { ...base.request, gitRepo: './local/checkout' },
    });

    expect(content.body).toContain(
      'it is committed on this branch as `deploy/ai-provision-report.md`',
    );
    expect(content.branch).toBe('ai-provision/checkout-prod');
  });

  it('stays within GitHub’s limit with 200 services and a 1 MB report, the report in a file', () => {
    const services = Array.from({ length: 200 }, (_, i) =>
      service(`service-${String(i).padStart(3, '0')}`, {
        reasoning: Array.from({ length: 8 }, (_x, j) => ({
          field: `field.${j}`,
          value: `${j}00m`,
          reason: `Reason ${j} for service ${i}: ${'because '.repeat(12)}`,
          sources: ['knowledge:pattern-hpa-target', 'repo:Dockerfile'],
        })),
      }),
    );
    const report = `# huge\n\n${'## s\n\n```yaml\nkey: value\n```\n\n'.repeat(35_000)}`;

    const content = pullRequestContent(
      input({ document: documentOf(services), report, reportPath: 'ai-provision-report.md' }),
    );

    expect(report.length).toBeGreaterThan(1_000_000);
    expect(content.body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(content.extraFiles).toEqual([{ path: 'ai-provision-report.md', content: report }]);
    expect(content.body.split('\n')[0]).toBe(PR_MARKER);
    expect(content.body).toContain(
      'the full report is in [ai-provision-report.md](https://github.com/acme/shop/blob/ai-provision/shop-prod/ai-provision-report.md)',
    );
    expect(content.body.trimEnd().endsWith('</sub>')).toBe(true);
    expect(content.body).toContain('| service-000 (`services/service-000`) |');
    expect(mermaidBlocks(content.body)).toHaveLength(2);
    expect(content.body.match(/<details/g)?.length).toBe(
      content.body.match(/<\/details>/g)?.length,
    );
    expect((content.body.match(/^```/gm)?.length ?? 0) % 2).toBe(0);
  });
});

describe('deliver/pr-body sizingChart', () => {
  it('charts the example plan’s CPU and memory requests per service', () => {
    const chart = sizingChart(real.document);

    const [cpu, memory] = mermaidBlocks(chart).map(parseXyChart);
    expect(cpu!.labels).toEqual(['inventory', 'orders', 'storefront']);
    expect(cpu!.values.slice(0, 2)).toEqual([500, 100]);
    expect(memory!.labels).toEqual(cpu!.labels);
    expect(memory!.values.slice(0, 2)).toEqual([1182, 214]);
    expect(cpu!.max).toBeGreaterThanOrEqual(Math.max(...cpu!.values));
    expect(memory!.max).toBeGreaterThanOrEqual(Math.max(...memory!.values));
  });

  it.each<[string, string, string]>([
    ['a quote', 'say "hi"', 'say _hi_'],
    ['a mermaid comment', 'a%%b', 'a__b'],
    ['an entity', 'x#quot;y', 'x_quot_y'],
    ['a statement end and a newline', 'a;b\nc', 'a_b_c'],
    ['brackets and commas', 'a[1], b', 'a_1__ b'],
    ['letters of any script', 'café-日本', 'café-日本'],
    ['a long name', 'n'.repeat(40), `${'n'.repeat(29)}…`],
    ['nothing left', '', '_'],
  ])('escapes %s in a service name', (_name, name, label) => {
    const chart = sizingChart(documentOf([service(name)]));

    const [cpu] = mermaidBlocks(chart).map(parseXyChart);
    expect(cpu!.labels).toEqual([label]);
  });

  it('numbers repeated names, as the axis would merge them', () => {
    const chart = sizingChart(documentOf([service('api'), service('api'), service('api')]));

    const [cpu] = mermaidBlocks(chart).map(parseXyChart);
    expect(cpu!.labels).toEqual(['api', 'api (2)', 'api (3)']);
  });

  it.each<[string, string, string, number, number]>([
    ['millicores and gibibytes', '1500m', '2Gi', 1500, 2048],
    ['whole cores and mebibytes', '2', '300Mi', 2000, 300],
    ['fractions of a MiB', '5m', '1536Ki', 5, 1.5],
  ])('converts %s', (_name, cpuQuantity, memoryQuantity, cpuValue, memoryValue) => {
    const document = documentOf([
      service('a', {
        resources: { requests: { cpu: cpuQuantity, memory: memoryQuantity }, limits: {} },
      }),
    ]);

    const [cpu, memory] = mermaidBlocks(sizingChart(document)).map(parseXyChart);

    expect(cpu!.values).toEqual([cpuValue]);
    expect(memory!.values).toEqual([memoryValue]);
  });

  it('shows the 25 largest of many services, lying down, and says so', () => {
    const services = Array.from({ length: 40 }, (_, i) =>
      service(`s${i}`, {
        resources: { requests: { cpu: `${i + 1}m`, memory: '64Mi' }, limits: {} },
      }),
    );

    const chart = sizingChart(documentOf(services));

    const [cpu] = mermaidBlocks(chart).map(parseXyChart);
    expect(cpu!.labels).toEqual(Array.from({ length: 25 }, (_, i) => `s${i + 15}`));
    expect(chart).toContain('xychart-beta horizontal');
    expect(chart).toContain(
      'The charts show the 25 services with the largest CPU requests, of 40.',
    );
  });

  it('stands up for a few services', () => {
    const chart = sizingChart(documentOf([service('a'), service('b')]));

    expect(chart).toContain('xychart-beta vertical');
    expect(chart).not.toContain('The charts show');
  });

  it('says there is nothing to chart for no services', () => {
    const chart = sizingChart(documentOf([]));

    expect(mermaidBlocks(chart)).toEqual([]);
    expect(chart).toBe('No services were sized, so there is nothing to chart.');
  });
});
