import {
  bytesFromComposeMemory,
  isComposeFileName,
  readComposeFiles,
} from '../../../src/repo/compose.js';
import { ComposeServiceFacts } from '../../../src/repo/schema.js';
import { walkTree } from '../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

afterAll(removeTempRepos);

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function read(files: Record<string, string>) {
  return readComposeFiles(walkTree(tempRepo(files)));
}

function onlyService(yaml: string) {
  const { services, notes } = read({ 'docker-compose.yml': yaml });
  expect(notes).toEqual([]);
  expect(services).toHaveLength(1);
  return services[0]!;
}

describe('repo/compose', () => {
  it.each([
    ['docker-compose.yml', true],
    ['docker-compose.yaml', true],
    ['compose.yml', true],
    ['compose.yaml', true],
    ['docker-compose.prod.yml', true],
    ['compose.override.yaml', true],
    ['docker-compose.json', false],
    ['my-compose.yml', false],
    ['docker-compose.yml.bak', false],
  ])('recognises %p as a compose file: %p', (name, expected) => {
    const result = isComposeFileName(name);

    expect(result).toBe(expected);
  });

  it.each([
    ['short host:container', `["8080:80"]`, [80]],
    ['ip, host, container and protocol', `["127.0.0.1:8080:80/tcp"]`, [80]],
    ['a bare number', `[3000]`, [3000]],
    ['a range takes the first port', `["9000-9001:8000-8001"]`, [8000]],
    ['a container-only range', `["3000-3005"]`, [3000]],
    ['interpolated host side', `["\${PORT:-8080}:80"]`, [80]],
    ['long syntax', `[{target: 80, published: 8080, protocol: tcp}]`, [80]],
    ['long syntax with a string target', `[{target: "9090"}]`, [9090]],
    ['duplicates are kept once', `["80:80", "8080:80/udp"]`, [80]],
    ['an unresolved container port is skipped', `["\${PORT}"]`, []],
  ])('reads container ports: %s', (_label, ports, expected) => {
    const service = onlyService(`services:\n  web:\n    image: nginx\n    ports: ${ports}\n`);

    expect(service.ports).toEqual(expected);
  });

  it('adds expose ports after published ones', () => {
    const service = onlyService(
      'services:\n  web:\n    image: x\n    ports: ["80"]\n    expose: ["9000", 9100]\n',
    );

    expect(service.ports).toEqual([80, 9000, 9100]);
  });

  it.each([
    [
      'a string context',
      'docker-compose.yml',
      'build: ./api',
      { buildContext: 'api', dockerfile: 'api/Dockerfile' },
    ],
    [
      'a context and a dockerfile under it',
      'docker-compose.yml',
      'build: {context: ., dockerfile: docker/Api.Dockerfile}',
      { buildContext: '.', dockerfile: 'docker/Api.Dockerfile' },
    ],
    [
      'a context relative to a nested compose file',
      'deploy/local/docker-compose.yml',
      'build: {context: ../../services/api}',
      { buildContext: 'services/api', dockerfile: 'services/api/Dockerfile' },
    ],
    [
      'a default from interpolation',
      'compose.yaml',
      'build: "${API_DIR:-./api}"',
      { buildContext: 'api', dockerfile: 'api/Dockerfile' },
    ],
    [
      'a Containerfile when there is no Dockerfile',
      'compose.yaml',
      'build: ./worker',
      { buildContext: 'worker', dockerfile: 'worker/Containerfile' },
    ],
    [
      'an inline Dockerfile',
      'compose.yaml',
      'build: {context: ., dockerfile_inline: "FROM alpine"}',
      { buildContext: '.', dockerfile: undefined },
    ],
    [
      'a context outside the repository',
      'compose.yaml',
      'build: ../elsewhere',
      { buildContext: undefined, dockerfile: undefined },
    ],
    [
      'a git URL context',
      'compose.yaml',
      'build: https://github.com/acme/api.git#main',
      { buildContext: undefined, dockerfile: undefined },
    ],
    [
      'no build at all',
      'compose.yaml',
      'image: postgres:16',
      { buildContext: undefined, dockerfile: undefined },
    ],
  ])('resolves build with %s', (_label, file, build, expected) => {
    const { services } = read({
      [file]: `services:\n  api:\n    ${build}\n`,
      'api/Dockerfile': 'FROM node:20\n',
      'worker/Containerfile': 'FROM alpine\n',
      'services/api/Dockerfile': 'FROM node:20\n',
    });

    expect({
      buildContext: services[0]?.buildContext,
      dockerfile: services[0]?.dockerfile,
    }).toEqual(expected);
  });

  it.each([
    ['a list', 'depends_on: [db, cache]', ['db', 'cache']],
    [
      'a map with conditions',
      'depends_on:\n      db: {condition: service_healthy}\n      cache: {condition: service_started}',
      ['db', 'cache'],
    ],
    ['legacy links', 'links: ["db:database", queue]', ['db', 'queue']],
  ])('reads depends_on as %s', (_label, snippet, expected) => {
    const service = onlyService(`services:\n  api:\n    image: x\n    ${snippet}\n`);

    expect(service.dependsOn).toEqual(expected);
  });

  it.each([
    [
      'a list',
      'environment: ["DATABASE_URL=postgres://u:hunter2@db/app", "DEBUG"]',
      ['DATABASE_URL', 'DEBUG'],
    ],
    [
      'a map',
      'environment:\n      REDIS_URL: redis://:hunter2@cache:6379\n      EMPTY:',
      ['REDIS_URL', 'EMPTY'],
    ],
    [
      'an env_file in the tree',
      'env_file: [api.env, missing.env]',
      ['SECRET_TOKEN', 'KAFKA_BROKERS'],
    ],
    [
      'an env_file object list',
      'env_file: [{path: api.env, required: false}]',
      ['SECRET_TOKEN', 'KAFKA_BROKERS'],
    ],
  ])('keeps environment keys from %s, never values', (_label, snippet, expected) => {
    const { services } = read({
      'docker-compose.yml': `services:\n  api:\n    image: x\n    ${snippet}\n`,
      'api.env': '# comment\nSECRET_TOKEN=hunter2\nexport KAFKA_BROKERS=kafka:9092\n',
    });

    expect(services[0]?.environmentKeys).toEqual(expected);
    expect(JSON.stringify(services)).not.toContain('hunter2');
  });

  it.each([
    [
      'deploy limits and reservations',
      `deploy:\n      replicas: 3\n      resources:\n        limits: {cpus: '0.50', memory: 512M}\n        reservations: {cpus: '0.25', memory: 256m}`,
      {
        replicas: 3,
        resources: {
          limits: { cpu: 500, memory: 512 * MiB },
          requests: { cpu: 250, memory: 256 * MiB },
        },
      },
    ],
    [
      'numeric cpus and gigabytes',
      `deploy:\n      resources:\n        limits: {cpus: 2, memory: 1.5g}`,
      { replicas: undefined, resources: { limits: { cpu: 2000, memory: 1.5 * GiB } } },
    ],
    [
      'legacy mem_limit, cpus and mem_reservation',
      `mem_limit: 1gb\n    mem_reservation: 128m\n    cpus: 1.5\n    scale: 2`,
      {
        replicas: 2,
        resources: { limits: { cpu: 1500, memory: GiB }, requests: { memory: 128 * MiB } },
      },
    ],
    ['no resources at all', 'restart: always', { replicas: undefined, resources: undefined }],
  ])('converts %s', (_label, snippet, expected) => {
    const service = onlyService(`services:\n  api:\n    image: x\n    ${snippet}\n`);

    expect({ replicas: service.replicas, resources: service.resources }).toEqual(expected);
  });

  it.each([
    [512, 512],
    ['512b', 512],
    ['64k', 64 * 1024],
    ['512M', 512 * MiB],
    ['256mb', 256 * MiB],
    ['2G', 2 * GiB],
    ['1Gi', GiB],
    ['0.5g', 0.5 * GiB],
    ['lots', undefined],
    ['${MEM}', undefined],
    [-1, undefined],
  ])('bytesFromComposeMemory(%p) = %p (compose units are binary)', (value, expected) => {
    const result = bytesFromComposeMemory(value);

    expect(result).toBe(expected);
  });

  it('applies merge keys from anchors', () => {
    const yaml = [
      'x-default: &default',
      '  restart: always',
      '  environment: {LOG_LEVEL: info}',
      '  deploy: {resources: {limits: {memory: 256M}}}',
      'services:',
      '  api:',
      '    <<: *default',
      '    build: ./api',
      '  worker:',
      '    <<: *default',
      '    image: acme/worker',
      '',
    ].join('\n');

    const { services, notes } = read({ 'docker-compose.yml': yaml, 'api/Dockerfile': 'FROM x\n' });

    expect(notes).toEqual([]);
    expect(
      services.map((s) => [s.service, s.environmentKeys, s.resources?.limits?.memory]),
    ).toEqual([
      ['api', ['LOG_LEVEL'], 256 * MiB],
      ['worker', ['LOG_LEVEL'], 256 * MiB],
    ]);
  });

  it.each([
    [
      'broken indentation',
      'services:\n  api:\n    image: x\n   ports: [80]\n',
      /^Invalid YAML at line 4: All mapping items must start at the same column\.?$/,
    ],
    [
      'an unclosed flow sequence',
      'services:\n  api:\n    ports: [80\n',
      /^Invalid YAML at line 4: Flow sequence/,
    ],
    [
      'duplicate keys',
      'services:\n  a: {image: x}\n  a: {image: y}\n',
      /^Invalid YAML at line 3: Map keys must be unique/,
    ],
    ['a scalar document', 'just a string\n', /must be a mapping/],
    ['an empty file', '', /must be a mapping/],
    ['services as a list', 'services:\n  - api\n', /`services` must be a mapping/],
  ])('notes compose-invalid for %s and carries on', (_label, yaml, message) => {
    const { services, notes } = read({
      'a/docker-compose.yml': yaml,
      'b/compose.yaml': 'services:\n  ok:\n    image: x\n',
    });

    expect(services.map((s) => s.file)).toEqual(['b/compose.yaml']);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ code: 'compose-invalid', path: 'a/docker-compose.yml' });
    expect(notes[0]?.message).toMatch(message);
  });

  it('notes a service that is not a mapping and keeps the others', () => {
    const { services, notes } = read({
      'compose.yaml': 'services:\n  broken: 42\n  ok:\n    image: redis\n',
    });

    expect(services.map((s) => s.service)).toEqual(['ok']);
    expect(notes).toEqual([
      {
        code: 'compose-invalid',
        path: 'compose.yaml',
        message: expect.stringContaining('"broken"'),
      },
    ]);
  });

  it('keeps one entry per file for a service in a base and an override file', () => {
    const { services } = read({
      'docker-compose.yml': 'services:\n  api:\n    build: .\n    deploy: {replicas: 1}\n',
      'docker-compose.prod.yml':
        'services:\n  api:\n    image: acme/api:1.2\n    deploy: {replicas: 4}\n',
      Dockerfile: 'FROM x\n',
    });

    expect(services.map((s) => [s.file, s.service, s.replicas])).toEqual([
      ['docker-compose.prod.yml', 'api', 4],
      ['docker-compose.yml', 'api', 1],
    ]);
  });

  it('reads the version 1 format with services at the top level', () => {
    const { services } = read({
      'docker-compose.yml': 'web:\n  build: .\n  links: [db]\ndb:\n  image: postgres:9.6\n',
    });

    expect(services.map((s) => [s.service, s.image ?? s.buildContext])).toEqual([
      ['web', '.'],
      ['db', 'postgres:9.6'],
    ]);
  });

  it.each(['testdata', 'fixtures', 'vendor', '.devcontainer'])(
    'ignores compose files under %s/',
    (dir) => {
      const { services } = read({
        [`${dir}/docker-compose.yml`]: 'services:\n  x:\n    image: y\n',
      });

      expect(services).toEqual([]);
    },
  );

  it('produces facts that fit the ComposeServiceFacts schema', () => {
    const service = onlyService(
      'services:\n  api:\n    build: .\n    ports: ["80:8080"]\n    deploy: {replicas: 2}\n',
    );

    const parsed = ComposeServiceFacts.safeParse(service);

    expect(parsed.success).toBe(true);
  });

  it('keeps URL schemes of environment values for classification, never the values', () => {
    const { services } = read({
      'docker-compose.yml':
        'services:\n  api:\n    image: x\n    environment:\n      DATABASE_URL: postgresql+asyncpg://u:hunter2@db/app\n      LOG_LEVEL: debug\n    env_file: .env\n',
      '.env': 'BROKER_URL="amqp://guest:guest@mq:5672"\nJDBC_URL=jdbc:mysql://db/app\n',
    });

    expect(services[0]?.environmentSchemes).toEqual({
      DATABASE_URL: 'postgresql+asyncpg',
      BROKER_URL: 'amqp',
      JDBC_URL: 'mysql',
    });
    expect(JSON.stringify(services)).not.toMatch(/hunter2|guest/);
  });

  it('leaves environmentSchemes out of RepoFacts', () => {
    const service = onlyService(
      'services:\n  api:\n    image: x\n    environment: [DB=postgres://db]\n',
    );

    const parsed = ComposeServiceFacts.parse(service);

    expect(parsed).not.toHaveProperty('environmentSchemes');
    expect(service.environmentSchemes).toEqual({ DB: 'postgres' });
  });
});
