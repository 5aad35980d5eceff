import { ScmError } from '../../../src/scm/index.js';
import type { TreeFile } from '../../../src/scm/index.js';
import { commitFiles, upsertPullRequest } from '../../../src/deliver/pull-request.js';
import type { PullRequestPlan } from '../../../src/deliver/pull-request.js';
import type { PullRequestContent } from '../../../src/deliver/pr-body.js';
import { createMemoryScm } from '../../support/memory-scm.js';
import type { MemoryScm, ScmMethod } from '../../support/memory-scm.js';

const REPO = { owner: 'acme', repo: 'shop' };
const BASE_COMMIT = 'b'.repeat(40);
const NEXT_BASE_COMMIT = 'c'.repeat(40);
const BRANCH = 'ai-provision/shop';

function content(overrides: Partial<PullRequestContent> = {}): PullRequestContent {
  return {
    title: 'Size shop: 250m CPU, 256Mi',
    body: '## Sizing\n\nbody v1',
    commitMessage: 'ai-provision: size shop',
    branch: BRANCH,
    labels: ['ai-provision'],
    extraFiles: [],
    ...overrides,
  };
}

function plan(overrides: Partial<PullRequestPlan> = {}): PullRequestPlan {
  return {
    repo: REPO,
    base: 'main',
    baseCommit: BASE_COMMIT,
    content: content(),
    files: [{ path: 'deploy/shop.yaml', content: 'kind: Deployment\n' }],
    ...overrides,
  };
}

function seededScm(): MemoryScm {
  return createMemoryScm({
    repos: [
      {
        owner: 'acme',
        repo: 'shop',
        commits: {
          [BASE_COMMIT]: { files: { 'README.md': '# shop\n' } },
          [NEXT_BASE_COMMIT]: { files: { 'README.md': '# shop v2\n' }, parents: [BASE_COMMIT] },
        },
        branches: { main: BASE_COMMIT },
      },
    ],
  });
}

/** The files of the branch's head commit. */
function branchFiles(scm: MemoryScm): Record<string, string> {
  const head = scm.refs.get(`acme/shop:refs/heads/${BRANCH}`) ?? '';
  const tree = scm.commits.get(head)?.tree ?? '';
  return Object.fromEntries(scm.trees.get(tree) ?? []);
}

const FIRST_RUN: ScmMethod[] = [
  'findOpenPullRequest',
  'getCommit',
  'createTree',
  'createCommit',
  'createBranch',
  'createPullRequest',
  'addLabels',
];

describe('deliver/pull-request', () => {
  it.each<{
    name: string;
    first?: PullRequestPlan;
    closeFirst?: boolean;
    knownBaseTree?: boolean;
    run: PullRequestPlan;
    methods: ScmMethod[];
    result: { created: boolean; changed: boolean };
  }>([
    {
      name: 'first run',
      run: plan(),
      methods: FIRST_RUN,
      result: { created: true, changed: true },
    },
    {
      name: 'first run with the base tree known locally',
      knownBaseTree: true,
      run: plan(),
      methods: FIRST_RUN.filter((method) => method !== 'getCommit'),
      result: { created: true, changed: true },
    },
    {
      name: 'first run without labels',
      run: plan({ content: content({ labels: [] }) }),
      methods: FIRST_RUN.filter((method) => method !== 'addLabels'),
      result: { created: true, changed: true },
    },
    {
      name: 're-run with identical content',
      first: plan(),
      run: plan(),
      methods: ['findOpenPullRequest', 'getCommit', 'createTree', 'getCommit'],
      result: { created: false, changed: false },
    },
    {
      name: 're-run with identical files and a new body',
      first: plan(),
      run: plan({ content: content({ body: 'body v2' }) }),
      methods: ['findOpenPullRequest', 'getCommit', 'createTree', 'getCommit', 'updatePullRequest'],
      result: { created: false, changed: false },
    },
    {
      name: 're-run with changed files and body',
      first: plan(),
      run: plan({
        content: content({ body: 'body v2' }),
        files: [{ path: 'deploy/shop.yaml', content: 'kind: Deployment # v2\n' }],
      }),
      methods: [
        'findOpenPullRequest',
        'getCommit',
        'createTree',
        'getCommit',
        'createCommit',
        'updateBranch',
        'updatePullRequest',
      ],
      result: { created: false, changed: true },
    },
    {
      name: 're-run with the same files on a newer base commit',
      first: plan(),
      run: plan({ baseCommit: NEXT_BASE_COMMIT }),
      methods: [
        'findOpenPullRequest',
        'getCommit',
        'createTree',
        'getCommit',
        'createCommit',
        'updateBranch',
      ],
      result: { created: false, changed: true },
    },
    {
      name: 'branch left behind by a closed pull request',
      first: plan(),
      closeFirst: true,
      run: plan(),
      methods: [
        'findOpenPullRequest',
        'getCommit',
        'createTree',
        'createCommit',
        'createBranch',
        'updateBranch',
        'createPullRequest',
        'addLabels',
      ],
      result: { created: true, changed: true },
    },
  ])('$name: calls exactly what it needs', async (scenario) => {
    const { first, closeFirst, knownBaseTree, run, methods, result } = scenario;
    const scm = seededScm();
    if (first) {
      const earlier = await upsertPullRequest(scm, first);
      if (closeFirst) scm.closePullRequest(REPO, earlier.number);
    }
    scm.clearCalls();
    const baseTree = knownBaseTree ? scm.commits.get(run.baseCommit)?.tree : undefined;

    const delivered = await upsertPullRequest(scm, baseTree ? { ...run, baseTree } : run);

    expect(scm.methods()).toEqual(methods);
    expect(delivered).toMatchObject({ ...result, calls: methods.length });
    const open = scm.pulls.filter((pull) => pull.state === 'open');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({
      number: delivered.number,
      head: BRANCH,
      base: 'main',
      title: run.content.title,
      body: run.content.body,
      labels: run.content.labels,
    });
    expect(delivered.url).toBe(`https://github.com/acme/shop/pull/${delivered.number}`);
    const head = scm.commits.get(open[0]?.headSha ?? '');
    expect(head).toMatchObject({ parents: [run.baseCommit], message: run.content.commitMessage });
    expect(branchFiles(scm)).toMatchObject(
      Object.fromEntries(run.files.map((file) => [file.path, file.content])),
    );
  });

  it('stays within the call budget: first run ≤ 7 (≤ 6 with baseTree), unchanged re-run ≤ 4', async () => {
    const scm = seededScm();
    const baseTree = scm.commits.get(BASE_COMMIT)?.tree ?? '';

    const first = await upsertPullRequest(scm, plan());
    const again = await upsertPullRequest(scm, plan());
    const againWithTree = await upsertPullRequest(scm, plan({ baseTree }));

    expect(first.calls).toBeLessThanOrEqual(7);
    expect(again.calls).toBeLessThanOrEqual(4);
    expect(againWithTree.calls).toBeLessThanOrEqual(3);
    expect(scm.count('createCommit')).toBe(1);
    expect(scm.count('updateBranch')).toBe(0);
  });

  it('commits the plan files and extraFiles in one tree, one entry per path, sorted', async () => {
    const scm = seededScm();
    const extraFiles: TreeFile[] = [
      { path: 'ai-provision-report.md', content: '# full report\n' },
      { path: 'deploy/shop.yaml', content: 'kind: Deployment # from extraFiles\n' },
    ];

    await upsertPullRequest(scm, plan({ content: content({ extraFiles }) }));

    const treeCall = scm.calls.find((call) => call.method === 'createTree');
    expect(treeCall?.args[2]).toEqual([
      { path: 'ai-provision-report.md', content: '# full report\n' },
      { path: 'deploy/shop.yaml', content: 'kind: Deployment # from extraFiles\n' },
    ]);
    expect(branchFiles(scm)).toEqual({
      'README.md': '# shop\n',
      'ai-provision-report.md': '# full report\n',
      'deploy/shop.yaml': 'kind: Deployment # from extraFiles\n',
    });
  });

  it.each<[string, TreeFile[], TreeFile[], string[]]>([
    ['no files', [], [], []],
    ['sorted by path', [file('b'), file('a/z'), file('a')], [], ['a', 'a/z', 'b']],
    ['later entry wins', [file('x', '1'), file('x', '2')], [file('x', '3')], ['x=3']],
    ['code-point order, not locale order', [file('b'), file('B'), file('_')], [], ['B', '_', 'b']],
  ])('commitFiles: %s', (_name, files, extra, expected) => {
    const merged = commitFiles(files, extra);

    expect(
      merged.map((entry) => (entry.content === '' ? entry.path : `${entry.path}=${entry.content}`)),
    ).toEqual(expected);
  });

  it.each<[ScmMethod, number]>([
    ['findOpenPullRequest', 502],
    ['createTree', 422],
    ['createCommit', 500],
    ['createBranch', 403],
    ['createPullRequest', 422],
    ['addLabels', 500],
  ])('lets a ScmError from %s (%i) propagate, making no further calls', async (method, status) => {
    const scm = seededScm();
    scm.failNext(method, status);

    const delivery = upsertPullRequest(scm, plan());

    await expect(delivery).rejects.toBeInstanceOf(ScmError);
    await expect(delivery).rejects.toMatchObject({ status });
    expect(scm.methods().at(-1)).toBe(method);
    expect(scm.methods()).toEqual(FIRST_RUN.slice(0, FIRST_RUN.indexOf(method) + 1));
  });

  it('lets a ScmError from the head commit lookup of a re-run propagate', async () => {
    const scm = seededScm();
    await upsertPullRequest(scm, plan());
    scm.clearCalls();
    scm.failNext('getCommit', 404);
    const baseTree = scm.commits.get(BASE_COMMIT)?.tree;

    const delivery = upsertPullRequest(scm, plan({ baseTree }));

    await expect(delivery).rejects.toMatchObject({ name: 'ScmError', status: 404 });
    expect(scm.methods()).toEqual(['findOpenPullRequest', 'createTree', 'getCommit']);
    expect(scm.count('createCommit')).toBe(0);
  });
});

function file(path: string, content = ''): TreeFile {
  return { path, content };
}
