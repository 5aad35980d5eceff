import { removeTempRepos } from '../../../support/temp-repo.js';
import { stackOf } from './stack-of.js';

afterAll(removeTempRepos);

describe('repo/stacks/python', () => {
  it.each([
    ['Flask==3.0.3', 'flask', '3.0.3'],
    ['flask', 'flask', undefined],
    ['Django~=5.0', 'django', '5.0'],
    ['starlette>=0.37.2', 'starlette', '0.37.2'],
    ['aiohttp[speedups]==3.9.5', 'aiohttp', '3.9.5'],
    ['celery[redis]>=5.4 ; python_version >= "3.8"', 'celery', '5.4'],
    ['grpcio==1.64.0', 'grpc', '1.64.0'],
    ['FastAPI >= 0.111', 'fastapi', '0.111'],
  ])('requirement %p → %s %s', (line, name, version) => {
    const files = { 'requirements.txt': `# deps\n-r base.txt\n-e .\n--hash=sha256:abc\n${line}\n` };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => [f.name, f.version, f.evidence])).toEqual([
      [name, version, 'requirements.txt:5'],
    ]);
  });

  it.each([
    ['requirements-dev.txt', 'requirements-dev.txt'],
    ['requirements/base.txt', 'requirements/base.txt'],
    ['requirements.in', 'requirements.in'],
  ])('reads %s', (path, evidence) => {
    const facts = stackOf({ [path]: 'flask==3.0.0\n' });

    expect(facts.frameworks).toEqual([
      { name: 'flask', kind: 'http', version: '3.0.0', evidence: `${evidence}:1` },
    ]);
    expect(facts.packageManager).toBe('pip');
  });

  it('reads setup.cfg install_requires', () => {
    const files = {
      'setup.cfg':
        '[metadata]\nname = x\n\n[options]\ninstall_requires =\n    requests\n    Flask>=2.3\n\n[flake8]\n',
    };

    const facts = stackOf(files);

    expect(facts.frameworks).toEqual([
      { name: 'flask', kind: 'http', version: '2.3', evidence: 'setup.cfg:7' },
    ]);
  });

  it('reads optional dependencies and poetry groups', () => {
    const files = {
      'pyproject.toml': [
        '[project]',
        'name = "x"',
        '[project.optional-dependencies]',
        'worker = ["celery>=5.3"]',
        '[tool.poetry.group.web.dependencies]',
        'starlette = "^0.37"',
      ].join('\n'),
    };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => [f.name, f.version, f.evidence])).toEqual([
      ['celery', '5.3', 'pyproject.toml:4'],
      ['starlette', '0.37', 'pyproject.toml:6'],
    ]);
  });

  it.each([
    ['uv.lock', { 'pyproject.toml': '[project]\nname = "x"\n', 'uv.lock': '' }, 'uv'],
    [
      '[tool.uv] without a lockfile',
      { 'pyproject.toml': '[project]\nname = "x"\n[tool.uv]\n' },
      'uv',
    ],
    ['poetry.lock', { 'pyproject.toml': '[project]\nname = "x"\n', 'poetry.lock': '' }, 'poetry'],
    [
      '[tool.poetry] without a lockfile',
      { 'pyproject.toml': '[tool.poetry]\nname = "x"\n' },
      'poetry',
    ],
    ['pdm.lock', { 'pyproject.toml': '[project]\nname = "x"\n', 'pdm.lock': '' }, 'pdm'],
    ['Pipfile', { Pipfile: '[packages]\n' }, 'pipenv'],
    ['setup.py', { 'setup.py': 'setup()\n' }, 'pip'],
    ['sources only', { 'main.py': '' }, undefined],
  ])('package manager from %s', (_label, files, expected) => {
    const facts = stackOf(files);

    expect(facts.packageManager).toBe(expected);
  });

  it('finds a workspace lockfile above the service directory', () => {
    const files = { 'uv.lock': '', 'svc/pyproject.toml': '[project]\nname = "svc"\n' };

    const facts = stackOf(files, 'svc');

    expect(facts.packageManager).toBe('uv');
  });

  it.each([
    [
      '.python-version beats requires-python',
      {
        '.python-version': '3.12.4\n',
        'pyproject.toml': '[project]\nrequires-python = ">=3.10"\n',
      },
      '3.12.4',
    ],
    ['runtime.txt', { 'runtime.txt': 'python-3.11.9', 'requirements.txt': '' }, '3.11.9'],
    ['.tool-versions', { '.tool-versions': 'python 3.10.14\n', 'requirements.txt': '' }, '3.10.14'],
    [
      'Pipfile python_full_version',
      { Pipfile: '[requires]\npython_full_version = "3.12.3"\n' },
      '3.12.3',
    ],
    [
      'poetry python constraint',
      { 'pyproject.toml': '[tool.poetry.dependencies]\npython = "^3.11"\n' },
      '3.11',
    ],
    ['setup.py python_requires', { 'setup.py': 'setup(python_requires=">=3.9")' }, '3.9'],
    ['nothing stated', { 'requirements.txt': 'flask\n' }, undefined],
  ])('runtime version: %s', (_label, files, expected) => {
    const facts = stackOf(files);

    expect(facts.runtime).toEqual({
      name: 'python',
      ...(expected === undefined ? {} : { version: expected }),
    });
  });

  it('does not take `python` from poetry dependencies as a framework or package', () => {
    const files = {
      'pyproject.toml': '[tool.poetry.dependencies]\npython = "^3.12"\nfastapi = "^0.111"\n',
    };

    const facts = stackOf(files);

    expect(facts.frameworks.map((f) => f.name)).toEqual(['fastapi']);
  });
});
