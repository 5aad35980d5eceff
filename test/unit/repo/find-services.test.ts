import { readComposeFiles } from '../../../src/repo/compose.js';
import { dnsLabel, dockerfileName, findServices } from '../../../src/repo/find-services.js';
import { walkTree } from '../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

afterAll(removeTempRepos);

const FROM = 'FROM alpine:3.20\n';

/** Runs the compose reader and findServices the way the analysis does. */
function find(files: Record<string, string>, repoName?: string) {
  const tree = walkTree(tempRepo(files));
  const compose = readComposeFiles(tree);
  return findServices(tree, compose.services, repoName);
}

function summary(files: Record<string, string>, repoName?: string) {
  return find(files, repoName).locations.map((l) => [l.name, l.path, l.source, l.dockerfilePath]);
}

describe('repo/find-services', () => {
  it('finds a monorepo of three Dockerfiles and leaves the compose data stores alone', () => {
    const compose = [
      'services:',
      '  orders:',
      '    build: ./services/orders',
      '    depends_on: [db, cache, kafka]',
      '  payments:',
      '    build: {context: ./services/payments}',
      '  db:',
      '    image: postgres:16',
      '  cache:',
      '    image: redis:7-alpine',
      '  kafka:',
      '    image: bitnami/kafka:3.7',
      '',
    ].join('\n');

    const result = find({
      'docker-compose.yml': compose,
      'services/orders/Dockerfile': FROM,
      'services/payments/Dockerfile': FROM,
      'web/Dockerfile': FROM,
    });

    expect(
      result.locations.map((l) => [l.name, l.path, l.source, l.dockerfilePath, l.compose?.service]),
    ).toEqual([
      ['orders', 'services/orders', 'dockerfile', 'services/orders/Dockerfile', 'orders'],
      ['payments', 'services/payments', 'dockerfile', 'services/payments/Dockerfile', 'payments'],
      ['web', 'web', 'dockerfile', 'web/Dockerfile', undefined],
    ]);
    expect(result.notes).toEqual([]);
  });

  it.each([
    [
      'Dockerfile.worker beside Dockerfile',
      { 'api/Dockerfile': FROM, 'api/Dockerfile.worker': FROM },
      ['api', 'api-worker'],
    ],
    [
      'worker.Dockerfile beside Dockerfile',
      { 'api/Dockerfile': FROM, 'api/worker.Dockerfile': FROM },
      ['api', 'api-worker'],
    ],
    [
      'Containerfile and a lowercase suffix',
      { 'api/Containerfile': FROM, 'api/cron.dockerfile': FROM },
      ['api', 'api-cron'],
    ],
    [
      'a role with a variant',
      { 'api/Dockerfile': FROM, 'api/Dockerfile.worker.prod': FROM },
      ['api', 'api-worker'],
    ],
  ])('names several Dockerfiles in one directory: %s', (_label, files, expected) => {
    const names = find(files).locations.map((l) => l.name);

    expect(names).toEqual(expected);
  });

  it.each([
    [
      'a dev variant is not a service',
      { 'api/Dockerfile': FROM, 'api/Dockerfile.dev': FROM },
      'api/Dockerfile',
    ],
    [
      'a production variant wins',
      { 'api/Dockerfile': FROM, 'api/Dockerfile.prod': FROM },
      'api/Dockerfile.prod',
    ],
    [
      'a lone dev variant is still the service',
      { 'api/Dockerfile.dev': FROM },
      'api/Dockerfile.dev',
    ],
    [
      'a platform variant loses to the plain one',
      { 'api/Dockerfile.alpine': FROM, 'api/Dockerfile': FROM },
      'api/Dockerfile',
    ],
  ])('treats variants of one Dockerfile as one service: %s', (_label, files, dockerfile) => {
    const locations = find(files).locations;

    expect(locations.map((l) => [l.name, l.dockerfilePath])).toEqual([['api', dockerfile]]);
  });

  it.each([
    ['Dockerfile.dockerignore', false],
    ['api.Dockerfile.dockerignore', false],
    ['.dockerignore', false],
    ['Dockerfile.md', false],
    ['Dockerfile.j2', false],
    ['dockerfile.ts', false],
    ['dockerfile.test.ts', false],
    ['dockerfile.js.map', false],
    ['Dockerfile.py', false],
    ['Dockerfile.template', false],
    ['Dockerfile', true],
    ['Containerfile', true],
    ['Dockerfile.worker', true],
    ['Api.Dockerfile', true],
    ['Makefile', false],
  ])('dockerfileName(%p) is a Dockerfile: %p', (name, expected) => {
    const result = dockerfileName(name);

    expect(result !== undefined).toBe(expected);
  });

  it('makes colliding names unique with a numeric suffix, in path order', () => {
    const files = {
      'services/api/Dockerfile': FROM,
      'legacy/api/Dockerfile': FROM,
      'tools/api/Procfile': 'web: ./run\n',
      'gateway/Dockerfile': FROM,
    };

    const locations = summary(files);

    expect(locations).toEqual([
      ['gateway', 'gateway', 'dockerfile', 'gateway/Dockerfile'],
      ['api', 'legacy/api', 'dockerfile', 'legacy/api/Dockerfile'],
      ['api-2', 'services/api', 'dockerfile', 'services/api/Dockerfile'],
      ['api-3', 'tools/api', 'procfile', undefined],
    ]);
  });

  it.each([
    ['My_Service.V2', 'my-service-v2'],
    ['--api--', 'api'],
    ['Ünïcode', 'n-code'],
    ['___', 'app'],
    ['a'.repeat(70), 'a'.repeat(63)],
    [`${'a'.repeat(62)}-b`, 'a'.repeat(62)],
  ])('dnsLabel(%p) = %p', (raw, expected) => {
    const label = dnsLabel(raw);

    expect(label).toBe(expected);
  });

  it('keeps suffixed names within 63 characters', () => {
    const long = 'x'.repeat(70);

    const names = find({
      [`a/${long}/Dockerfile`]: FROM,
      [`b/${long}/Dockerfile`]: FROM,
    }).locations.map((l) => l.name);

    expect(names).toEqual(['x'.repeat(63), `${'x'.repeat(61)}-2`]);
  });

  it.each([
    ['a root Dockerfile takes the repository name', 'shop', 'shop'],
    ['the default repository name', undefined, 'app'],
    ['a repository name made DNS-safe', 'Shop_Front', 'shop-front'],
  ])('names the root service: %s', (_label, repoName, expected) => {
    const locations = summary({ Dockerfile: FROM }, repoName);

    expect(locations).toEqual([[expected, '.', 'dockerfile', 'Dockerfile']]);
  });

  it.each([
    'testdata',
    'fixtures',
    '__fixtures__',
    'vendor',
    '.devcontainer',
    '.github/actions/lint',
    'src/testdata',
  ])('ignores Dockerfiles under %s/', (dir) => {
    const locations = summary({ [`${dir}/Dockerfile`]: FROM, 'app/Dockerfile': FROM });

    expect(locations).toEqual([['app', 'app', 'dockerfile', 'app/Dockerfile']]);
  });

  it('keeps Dockerfiles under examples/', () => {
    const locations = summary({ 'examples/hello/Dockerfile': FROM });

    expect(locations).toEqual([
      ['hello', 'examples/hello', 'dockerfile', 'examples/hello/Dockerfile'],
    ]);
  });

  it('links a Dockerfile in a generic docker/ folder to the compose build context', () => {
    const files = {
      'docker-compose.yml':
        'services:\n  api:\n    build: {context: ., dockerfile: docker/Api.Dockerfile}\n',
      'docker/Api.Dockerfile': FROM,
      'docker/worker.Dockerfile': FROM,
      'package.json': '{}',
    };

    const locations = summary(files, 'shop');

    expect(locations).toEqual([
      ['api', '.', 'dockerfile', 'docker/Api.Dockerfile'],
      ['worker', '.', 'dockerfile', 'docker/worker.Dockerfile'],
    ]);
  });

  it('attaches the base compose file, not the override, and adds no duplicate for the override', () => {
    const files = {
      'docker-compose.yml': 'services:\n  api:\n    build: ./api\n    image: acme/api\n',
      'docker-compose.prod.yml':
        'services:\n  api:\n    image: acme/api:1.4\n    deploy: {replicas: 3}\n',
      'deploy/docker-compose.yml': 'services:\n  orders-api:\n    image: acme/api:1.4\n',
      'api/Dockerfile': FROM,
    };

    const locations = find(files).locations;

    expect(locations.map((l) => [l.name, l.compose?.file])).toEqual([
      ['api', 'docker-compose.yml'],
    ]);
  });

  it('makes a worker running the image another service builds a service of its own', () => {
    const files = {
      'compose.yaml': [
        'services:',
        '  api:',
        '    build: .',
        '    image: ghcr.io/acme/shop:latest',
        '  worker:',
        '    image: ghcr.io/acme/shop:latest',
        '    command: ["node", "worker.js"]',
        '  scheduler:',
        '    build: .',
        '    command: ["node", "cron.js"]',
        '  db:',
        '    image: postgres:16',
        '',
      ].join('\n'),
      Dockerfile: FROM,
    };

    const locations = summary(files, 'shop');

    expect(locations).toEqual([
      ['api', '.', 'dockerfile', 'Dockerfile'],
      ['scheduler', '.', 'compose', 'Dockerfile'],
      ['worker', '.', 'compose', 'Dockerfile'],
    ]);
  });

  it('keeps a compose build whose Dockerfile is missing, with a note', () => {
    const result = find({
      'docker-compose.yml': 'services:\n  api:\n    build: ./api\n',
      'api/main.go': 'package main\n',
    });

    expect(result.locations.map((l) => [l.name, l.path, l.source, l.dockerfilePath])).toEqual([
      ['api', 'api', 'compose', undefined],
    ]);
    expect(result.notes).toEqual([
      {
        code: 'dockerfile-unreadable',
        path: 'docker-compose.yml',
        message: expect.stringContaining('api/Dockerfile'),
      },
    ]);
  });

  it('falls back to a Procfile in a directory without a Dockerfile', () => {
    const files = {
      'billing/Procfile':
        '# processes\nweb: bundle exec puma -C config/puma.rb\nworker:   bundle exec sidekiq\n\nnot a process\n',
      'billing/Gemfile': 'gem "rails"\n',
      'api/Dockerfile': FROM,
      'api/Procfile': 'web: node server.js\n',
    };

    const locations = find(files).locations;

    expect(locations.map((l) => [l.name, l.source, l.procfile])).toEqual([
      ['api', 'dockerfile', undefined],
      [
        'billing',
        'procfile',
        [
          { process: 'web', command: 'bundle exec puma -C config/puma.rb' },
          { process: 'worker', command: 'bundle exec sidekiq' },
        ],
      ],
    ]);
  });

  it.each([
    [
      'a root package.json',
      { 'package.json': '{}', 'src/index.js': '' },
      [['svc', '.', 'manifest']],
      /root package\.json/,
    ],
    [
      'a root csproj',
      { 'Shop.csproj': '<Project/>' },
      [['svc', '.', 'manifest']],
      /root Shop\.csproj/,
    ],
    ['no manifest at all', { 'README.md': '# hi' }, [], /still analysed\.$/],
    ['a manifest only below the root', { 'lib/package.json': '{}' }, [], /still analysed\.$/],
  ])('says so when there is no Dockerfile: %s', (_label, files, expected, message) => {
    const result = find(files, 'svc');

    expect(result.locations.map((l) => [l.name, l.path, l.source])).toEqual(expected);
    expect(result.notes).toHaveLength(1);
    expect(result.notes[0]?.code).toBe('no-dockerfile');
    expect(result.notes[0]?.message).toMatch(message);
  });

  it('gives no no-dockerfile note when a Procfile is found', () => {
    const result = find({ Procfile: 'web: gunicorn app:app\n', 'requirements.txt': 'flask\n' });

    expect(result.locations.map((l) => [l.name, l.source])).toEqual([['app', 'procfile']]);
    expect(result.notes).toEqual([]);
  });
});
