import { GITHUB_BODY_LIMIT } from '../../../src/deliver/fit.js';
import {
  DEFAULT_DOCS_BASE_URL,
  PROGRESS_STAGES,
  finalComment,
  planSummary,
  progressComment,
  statusMarker,
} from '../../../src/deliver/status-text.js';
import type { FinalStatus, ProgressStage } from '../../../src/deliver/status-text.js';
import type { PlanDocument, PlannedService } from '../../../src/render/plan-document.js';

const ZWJ = '\u200d';
const JOB = 'job-0123456789ab';
const REPO = 'https://github.com/acme/shop';
const MARKER = `<!-- ai-provision:status job=${JOB} -->`;

const STAGE_NAMES: Record<ProgressStage, string> = {
  queued: 'queued',
  cloning: 'cloning the repository',
  analysing: 'analysing',
  'agent-1': 'agent 1 — context',
  'agent-2': 'agent 2 — prediction',
  'agent-3': 'agent 3 — refinement',
  rendering: 'rendering',
  'opening-pr': 'opening the pull request',
};

function service(name: string, overrides: Partial<PlannedService> = {}): PlannedService {
  return {
    name,
    path: `services/${name}`,
    target: 'kubernetes',
    workload: 'Deployment',
    replicas: 2,
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    bounds: { cpu: { lower: '100m', upper: '1' }, memory: { lower: '128Mi', upper: '1Gi' } },
    confidence: 0.7,
    cost: { monthlyUsd: 10, monthlyAtMaxUsd: 10 },
    reasoning: [],
    policy: [],
    validation: { ok: true, errors: [] },
    warnings: [],
    files: [],
    ...overrides,
  };
}

function documentOf(services: PlannedService[]): PlanDocument {
  return { schemaVersion: 1, source: REPO, reasoner: 'offline', services, warnings: [] };
}

function final(status: FinalStatus, docsBaseUrl?: string): string {
  return finalComment({
    jobId: JOB,
    requestedBy: 'octocat',
    gitRepo: REPO,
    status,
    ...(docsBaseUrl === undefined ? {} : { docsBaseUrl }),
  });
}

describe('deliver/status-text statusMarker', () => {
  it.each<[string, string]>([
    [JOB, MARKER],
    ['job--x-->y', '<!-- ai-provision:status job=job-x-y -->'],
  ])('marks %s', (jobId, expected) => {
    const marker = statusMarker(jobId);

    expect(marker).toBe(expected);
  });
});

describe('deliver/status-text progressComment', () => {
  it.each(PROGRESS_STAGES.map((stage, index) => [stage, index] as const))(
    'checks off the stages before %s',
    (stage, index) => {
      const body = progressComment({ jobId: JOB, stage, requestedBy: 'octocat', gitRepo: REPO });

      const items = body.split('\n').filter((l) => /^- (✅|⏳|⬜) /.test(l));
      expect(body.split('\n')[0]).toBe(MARKER);
      expect(items).toEqual(
        PROGRESS_STAGES.map((s, i) => {
          if (i < index) return `- ✅ ${STAGE_NAMES[s]}`;
          if (i > index) return `- ⬜ ${STAGE_NAMES[s]}`;
          return `- ⏳ **${STAGE_NAMES[s]}**`;
        }),
      );
      expect(body).toContain(
        '⏳ Sizing [acme/shop](https://github.com/acme/shop), as `octocat` asked.',
      );
      expect(body).toContain(`ai-provision job \`${JOB}\``);
      expect(body).not.toContain('Waiting for job');
    },
  );

  it('says which job it is queued behind', () => {
    const body = progressComment({
      jobId: JOB,
      stage: 'queued',
      requestedBy: 'octocat',
      gitRepo: REPO,
      waitingBehind: 'job-aaaaaaaaaaaa',
    });

    expect(body).toContain(
      'Waiting for job `job-aaaaaaaaaaaa` to finish first: it holds the lock on the same repository and branch.',
    );
  });

  it.each<[string, string]>([
    ['3 services found', '- ⏳ **analysing** — 3 services found'],
    ['ask @ops about #4 <b>', `- ⏳ **analysing** — ask @${ZWJ}ops about #${ZWJ}4 &lt;b&gt;`],
    ['   ', '- ⏳ **analysing**'],
  ])('shows the detail %j escaped beside the current stage', (detail, line) => {
    const body = progressComment({
      jobId: JOB,
      stage: 'analysing',
      requestedBy: 'octocat',
      gitRepo: REPO,
      detail,
    });

    expect(body.split('\n')).toContain(line);
  });

  it('shows who asked as code, so no one is mentioned', () => {
    const body = progressComment({
      jobId: JOB,
      stage: 'queued',
      requestedBy: '@admins',
      gitRepo: REPO,
    });

    expect(body).toContain('as `@admins` asked');
  });

  it('shows a repository that is not a web address as code', () => {
    const body = progressComment({
      jobId: JOB,
      stage: 'queued',
      requestedBy: 'o',
      gitRepo: './here',
    });

    expect(body).toContain('⏳ Sizing `./here`, as');
  });
});

describe('deliver/status-text finalComment', () => {
  const pr = { number: 7, url: 'https://github.com/acme/shop/pull/7' };

  it.each<[string, FinalStatus, string[], string[]]>([
    [
      'a new pull request',
      {
        kind: 'done',
        pullRequest: { ...pr, created: true, changed: true },
        summary: '- a',
        warnings: [],
      },
      [
        '✅ Sized [acme/shop](https://github.com/acme/shop), as `octocat` asked, and opened [#7](https://github.com/acme/shop/pull/7).',
        '- a',
      ],
      ['<details>'],
    ],
    [
      'an updated pull request',
      {
        kind: 'done',
        pullRequest: { ...pr, created: false, changed: true },
        summary: '- a',
        warnings: ['w1', 'w2'],
      },
      [
        'and updated [#7](https://github.com/acme/shop/pull/7) with the new plan.',
        '<details><summary>Warnings (2)</summary>\n\n- w1\n- w2\n\n</details>',
      ],
      ['opened'],
    ],
    [
      'an unchanged pull request',
      {
        kind: 'done',
        pullRequest: { ...pr, created: false, changed: false },
        summary: '- a',
        warnings: ['cc @x'],
      },
      [
        'the plan is the same, so [#7](https://github.com/acme/shop/pull/7) is unchanged.',
        `- cc @${ZWJ}x`,
      ],
      ['opened', 'updated'],
    ],
    [
      'nothing to change',
      { kind: 'no-change', summary: '- b' },
      [
        'the repository already has this plan, so there is nothing to change and no pull request.\n\n- b',
      ],
      ['#7'],
    ],
    [
      'a refusal with an example',
      {
        kind: 'refused',
        code: 'repo-url-rejected',
        message: 'The URL uses **ssh**.',
        example: '/ai-provision\ngit_repo: https://github.com/acme/shop',
        docs: 'docs/errors.md#repo-url-rejected',
      },
      [
        '❌ I did not size [acme/shop](https://github.com/acme/shop) for `octocat`.\n\nThe URL uses **ssh**.',
        'A request that works, to copy and edit:\n\n```text\n/ai-provision\ngit_repo: https://github.com/acme/shop\n```',
        `More about this error: [docs/errors.md#repo-url-rejected](${DEFAULT_DOCS_BASE_URL}docs/errors.md#repo-url-rejected).`,
      ],
      [],
    ],
    [
      'a refusal without an example',
      {
        kind: 'refused',
        code: 'config-invalid',
        message: 'Line 3 is wrong.',
        docs: 'docs/errors.md#config-invalid',
      },
      ['Line 3 is wrong.', 'More about this error: [docs/errors.md#config-invalid]('],
      ['A request that works', '```'],
    ],
    [
      'a failure worth retrying',
      { kind: 'failed', jobId: JOB, retryable: true },
      [
        `stopped: internal error, job \`${JOB}\`.`,
        'This looks temporary: comment `/ai-provision` again to retry.',
      ],
      ['will not help'],
    ],
    [
      'a failure not worth retrying',
      { kind: 'failed', jobId: JOB, retryable: false },
      [
        `internal error, job \`${JOB}\``,
        `Trying again will not help; please report job \`${JOB}\``,
      ],
      ['temporary'],
    ],
  ])('reports %s', (_name, status, present, absent) => {
    const body = final(status);

    expect(body.split('\n')[0]).toBe(MARKER);
    for (const text of present) expect(body).toContain(text);
    for (const text of absent) expect(body).not.toContain(text);
    expect(
      body
        .trimEnd()
        .endsWith(
          `ai-provision job \`${JOB}\` · comment \`/ai-provision status\` for the state of this thread's job</sub>`,
        ),
    ).toBe(true);
    expect(body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
  });

  it.each<[string, string | undefined, string]>([
    ['the default base', undefined, `${DEFAULT_DOCS_BASE_URL}docs/errors.md#internal`],
    [
      'a base without a trailing slash',
      'https://docs.example.org/ai',
      'https://docs.example.org/ai/docs/errors.md#internal',
    ],
    [
      'a base with one',
      'https://docs.example.org/ai/',
      'https://docs.example.org/ai/docs/errors.md#internal',
    ],
  ])('links the docs against %s', (_name, base, url) => {
    const body = final(
      { kind: 'refused', code: 'internal', message: 'm', docs: 'docs/errors.md#internal' },
      base,
    );

    expect(body).toContain(`(${url})`);
  });

  it('keeps a docs address that is already absolute', () => {
    const body = final({
      kind: 'refused',
      code: 'x',
      message: 'm',
      docs: 'https://example.org/e#x',
    });

    expect(body).toContain('[https://example.org/e#x](https://example.org/e#x)');
  });

  it('keeps an example that is already a code block as it is', () => {
    const example = '```yaml\na: 1\n```';

    const body = final({ kind: 'refused', code: 'x', message: 'm', example, docs: 'd' });

    expect(body).toContain(`copy and edit:\n\n${example}\n\n`);
  });

  it.each<[string, FinalStatus]>([
    [
      'a huge summary and many warnings',
      {
        kind: 'done',
        pullRequest: {
          number: 1,
          url: 'https://github.com/a/b/pull/1',
          created: true,
          changed: true,
        },
        summary: '- line of summary\n'.repeat(60_000),
        warnings: Array.from({ length: 10_000 }, (_, i) => `warning ${i} ${'w'.repeat(40)}`),
      },
    ],
    [
      'a huge refusal',
      {
        kind: 'refused',
        code: 'x',
        message: 'm '.repeat(100_000),
        example: 'e\n'.repeat(50_000),
        docs: 'd',
      },
    ],
    ['a huge no-change summary', { kind: 'no-change', summary: 's'.repeat(200_000) }],
  ])('stays within GitHub’s limit for %s, keeping marker and footer', (_name, status) => {
    const body = final(status);

    expect(body.length).toBeLessThanOrEqual(GITHUB_BODY_LIMIT);
    expect(body.length).toBeGreaterThan(GITHUB_BODY_LIMIT - 3000);
    expect(body.split('\n')[0]).toBe(MARKER);
    expect(body.trimEnd().endsWith('</sub>')).toBe(true);
    expect(body).toContain("cut here to fit GitHub's limit of 65,536 characters.");
  });
});

describe('deliver/status-text planSummary', () => {
  it('writes one line per service and the total', () => {
    const document = documentOf([
      service('orders', {
        replicas: 3,
        autoscaling: { minReplicas: 3, maxReplicas: 9, targetCpuUtilization: 60 },
        resources: { requests: { cpu: '100m', memory: '214Mi' }, limits: { memory: '427Mi' } },
        confidence: 0.9,
        cost: { monthlyUsd: 12, monthlyAtMaxUsd: 36 },
      }),
      service('db_*main*', {
        workload: 'StatefulSet',
        resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } },
        cost: { monthlyUsd: 40.5, monthlyAtMaxUsd: 40.5 },
      }),
    ]);

    const summary = planSummary(document);

    expect(summary).toBe(
      [
        '- **orders**: CPU 100m / no limit, memory 214Mi / 427Mi, replicas 3–9, confidence 0.90, $12.00–$36.00 a month',
        '- **db\\_\\*main\\***: CPU 1 / 2, memory 2Gi / 2Gi, replicas 2, confidence 0.70, $40.50 a month',
        '',
        'Total: about $52.50 a month.',
      ].join('\n'),
    );
  });

  it('says so when no service was sized', () => {
    const summary = planSummary(documentOf([]));

    expect(summary).toBe('No services were sized.');
  });
});
