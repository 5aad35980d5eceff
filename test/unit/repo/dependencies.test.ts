import { readComposeFiles } from '../../../src/repo/compose.js';
import {
  dataStoreKindFromEnv,
  dataStoreKindFromImage,
  findDependencies,
} from '../../../src/repo/dependencies.js';
import { DataDependency } from '../../../src/repo/schema.js';
import { walkTree } from '../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

afterAll(removeTempRepos);

/** Dependencies of the service in `dir`, attached to compose service `service` when given. */
function deps(files: Record<string, string>, dir = 'svc', service?: string) {
  const tree = walkTree(tempRepo(files));
  const composeAll = readComposeFiles(tree).services;
  const compose = composeAll.find((c) => c.service === service);
  return findDependencies({ tree, dir, compose, composeAll });
}

function triples(files: Record<string, string>, dir = 'svc', service?: string) {
  return deps(files, dir, service).map((d) => [d.kind, d.via, d.evidence]);
}

const packageJson = (dependencies: Record<string, string>, extra: object = {}) =>
  JSON.stringify({ name: 'svc', dependencies, ...extra }, null, 2);

describe('repo/dependencies', () => {
  it.each([
    [
      'node: pg, ioredis and kafkajs',
      { 'svc/package.json': packageJson({ express: '4', pg: '8', ioredis: '5', kafkajs: '2' }) },
      [
        ['kafka', 'package', 'svc/package.json:7'],
        ['postgres', 'package', 'svc/package.json:5'],
        ['redis', 'package', 'svc/package.json:6'],
      ],
    ],
    [
      'node: devDependencies do not count',
      {
        'svc/package.json': packageJson(
          { mongoose: '8' },
          { devDependencies: { 'better-sqlite3': '9' } },
        ),
      },
      [['mongodb', 'package', 'svc/package.json:4']],
    ],
    [
      'node: prisma takes the datasource provider',
      {
        'svc/package.json': packageJson({ '@prisma/client': '5' }),
        'svc/prisma/schema.prisma':
          'generator client {\n  provider = "prisma-client-js"\n}\n\ndatasource db {\n  provider = "mysql"\n  url = env("DATABASE_URL")\n}\n',
      },
      [['mysql', 'package', 'svc/prisma/schema.prisma:6']],
    ],
    [
      'python: requirements with extras, skipping the dev set',
      {
        'svc/requirements.txt':
          '# web\nfastapi==0.110\npsycopg2-binary>=2.9\ncelery[redis]==5.3\n-r base.txt\n',
        'svc/requirements-dev.txt': 'pymongo\n',
      },
      [
        ['postgres', 'package', 'svc/requirements.txt:3'],
        ['redis', 'package', 'svc/requirements.txt:4'],
      ],
    ],
    [
      'python: pyproject (PEP 621) and poetry',
      {
        'svc/pyproject.toml':
          '[project]\nname = "svc"\ndependencies = ["asyncpg>=0.29", "SQLAlchemy[mysql]>=2"]\n\n[tool.poetry.dependencies]\npython = "^3.12"\nconfluent_kafka = "^2.3"\n',
      },
      [
        ['kafka', 'package', 'svc/pyproject.toml:7'],
        ['mysql', 'package', 'svc/pyproject.toml:3'],
        ['postgres', 'package', 'svc/pyproject.toml:3'],
      ],
    ],
    [
      'python: Pipfile packages, not dev-packages',
      {
        'svc/Pipfile':
          '[packages]\npika = "*"\nmotor = {version = "*"}\n\n[dev-packages]\nredis = "*"\n',
      },
      [
        ['mongodb', 'package', 'svc/Pipfile:3'],
        ['rabbitmq', 'package', 'svc/Pipfile:2'],
      ],
    ],
    [
      'go: lib/pq, go-redis v9 and sarama, not indirect requirements',
      {
        'svc/go.mod':
          'module example.com/svc\n\ngo 1.22\n\nrequire github.com/lib/pq v1.10.9\n\nrequire (\n\tgithub.com/redis/go-redis/v9 v9.5.1\n\tgithub.com/IBM/sarama v1.43.0\n\tgo.mongodb.org/mongo-driver v1.15.0 // indirect\n)\n',
      },
      [
        ['kafka', 'package', 'svc/go.mod:9'],
        ['postgres', 'package', 'svc/go.mod:5'],
        ['redis', 'package', 'svc/go.mod:8'],
      ],
    ],
    [
      'go: gorm postgres driver and pgx v5',
      {
        'svc/go.mod':
          'module x\n\nrequire (\n\tgorm.io/driver/postgres v1.5.7\n\tgithub.com/jackc/pgx/v5 v5.6.0\n)\n',
      },
      [['postgres', 'package', 'svc/go.mod:4']],
    ],
    [
      'java: Maven, skipping test scope',
      {
        'svc/pom.xml':
          '<project>\n  <dependencies>\n    <dependency>\n      <groupId>org.springframework.boot</groupId>\n      <artifactId>spring-boot-starter-data-redis</artifactId>\n    </dependency>\n    <dependency>\n      <groupId>org.postgresql</groupId>\n      <artifactId>postgresql</artifactId>\n    </dependency>\n    <dependency>\n      <groupId>org.mongodb</groupId>\n      <artifactId>mongodb-driver-sync</artifactId>\n      <scope>test</scope>\n    </dependency>\n  </dependencies>\n</project>\n',
      },
      [
        ['postgres', 'package', 'svc/pom.xml:9'],
        ['redis', 'package', 'svc/pom.xml:5'],
      ],
    ],
    [
      'java: Gradle Kotlin DSL and Groovy map form',
      {
        'svc/build.gradle.kts':
          'dependencies {\n    implementation("org.springframework.kafka:spring-kafka")\n    runtimeOnly("com.mysql:mysql-connector-j")\n    testImplementation("org.postgresql:postgresql:42.7.3")\n    implementation(group = "org.springframework.boot", name = "spring-boot-starter-amqp")\n}\n',
      },
      [
        ['kafka', 'package', 'svc/build.gradle.kts:2'],
        ['mysql', 'package', 'svc/build.gradle.kts:3'],
        ['rabbitmq', 'package', 'svc/build.gradle.kts:5'],
      ],
    ],
    [
      'dotnet: csproj package references',
      {
        'svc/Orders.Api.csproj':
          '<Project Sdk="Microsoft.NET.Sdk.Web">\n  <ItemGroup>\n    <PackageReference Include="Npgsql.EntityFrameworkCore.PostgreSQL" Version="8.0.4" />\n    <PackageReference Include="StackExchange.Redis" Version="2.7.33" />\n    <PackageReference Include="Confluent.Kafka" Version="2.4.0" />\n    <PackageReference Include="RabbitMQ.Client" Version="6.8.1" />\n  </ItemGroup>\n</Project>\n',
      },
      [
        ['kafka', 'package', 'svc/Orders.Api.csproj:5'],
        ['postgres', 'package', 'svc/Orders.Api.csproj:3'],
        ['rabbitmq', 'package', 'svc/Orders.Api.csproj:6'],
        ['redis', 'package', 'svc/Orders.Api.csproj:4'],
      ],
    ],
    [
      'rust: sqlx postgres feature, diesel and redis',
      {
        'svc/Cargo.toml':
          '[package]\nname = "svc"\n\n[dependencies]\naxum = "0.7"\nsqlx = { version = "0.7", features = ["runtime-tokio", "postgres"] }\nredis = "0.25"\nlapin = "2"\n',
      },
      [
        ['postgres', 'package', 'svc/Cargo.toml:6'],
        ['rabbitmq', 'package', 'svc/Cargo.toml:8'],
        ['redis', 'package', 'svc/Cargo.toml:7'],
      ],
    ],
    [
      'ruby: pg and sidekiq, not the test group',
      {
        'svc/Gemfile':
          'source "https://rubygems.org"\ngem "rails", "~> 7.1"\ngem "pg"\ngem "sidekiq"\n\ngroup :development, :test do\n  gem "sqlite3"\nend\ngem "dalli", group: :production\ngem "mongoid", group: :test\n',
      },
      [
        ['memcached', 'package', 'svc/Gemfile:9'],
        ['postgres', 'package', 'svc/Gemfile:3'],
        ['redis', 'package', 'svc/Gemfile:4'],
      ],
    ],
    [
      'php: composer require, not require-dev',
      {
        'svc/composer.json': JSON.stringify(
          {
            require: { php: '^8.2', 'ext-pdo_pgsql': '*', 'predis/predis': '^2' },
            'require-dev': { 'ext-mongodb': '*' },
          },
          null,
          2,
        ),
      },
      [
        ['postgres', 'package', 'svc/composer.json:4'],
        ['redis', 'package', 'svc/composer.json:5'],
      ],
    ],
    [
      'elixir: mix deps',
      {
        'svc/mix.exs':
          'defp deps do\n  [\n    {:phoenix, "~> 1.7"},\n    {:postgrex, ">= 0.0.0"},\n    {:redix, "~> 1.1"}\n  ]\nend\n',
      },
      [
        ['postgres', 'package', 'svc/mix.exs:4'],
        ['redis', 'package', 'svc/mix.exs:5'],
      ],
    ],
  ])('detects client libraries: %s', (_label, files, expected) => {
    const result = triples(files);

    expect(result).toEqual(expected);
  });

  it('reads the monorepo compose data stores the service depends on', () => {
    const files = {
      'docker-compose.yml': [
        'services:',
        '  orders:',
        '    build: ./services/orders',
        '    depends_on:',
        '      db: {condition: service_healthy}',
        '      cache: {condition: service_started}',
        '      kafka: {condition: service_started}',
        '      payments: {condition: service_started}',
        '  payments:',
        '    build: ./services/payments',
        '  db:',
        '    image: docker.io/library/postgres:16-alpine',
        '  cache:',
        '    image: redis:7',
        '  kafka:',
        '    image: confluentinc/cp-kafka:7.6.1',
        '  search:',
        '    image: opensearchproject/opensearch:2',
        '',
      ].join('\n'),
      'services/orders/Dockerfile': 'FROM node:20\n',
      'services/payments/Dockerfile': 'FROM node:20\n',
    };

    const result = triples(files, 'services/orders', 'orders');

    expect(result).toEqual([
      ['kafka', 'compose', 'docker-compose.yml#kafka'],
      ['postgres', 'compose', 'docker-compose.yml#db'],
      ['redis', 'compose', 'docker-compose.yml#cache'],
    ]);
  });

  it('classifies env files by URL scheme and key, and never outputs values', () => {
    const files = {
      'svc/.env.example': [
        '# connection strings',
        'DATABASE_URL=postgres://orders:hunter2@db:5432/orders',
        'CACHE_URL="rediss://:hunter2@cache:6380/0"',
        'BROKER_URL=amqp://guest:hunter2@mq:5672',
        'MONGO_URI=${MONGO_URI}',
        'KAFKA_BROKERS=kafka:9092',
        'ELASTICSEARCH_URL=http://search:9200',
        'LOG_LEVEL=debug',
        '',
      ].join('\n'),
      'svc/.env.sample': 'PGHOST=db\nNATS_URL=nats://nats:4222\n',
    };

    const result = deps(files);

    expect(result.map((d) => [d.kind, d.via, d.evidence])).toEqual([
      ['elasticsearch', 'env', 'svc/.env.example:7'],
      ['kafka', 'env', 'svc/.env.example:6'],
      ['mongodb', 'env', 'svc/.env.example:5'],
      ['nats', 'env', 'svc/.env.sample:2'],
      ['postgres', 'env', 'svc/.env.example:2'],
      ['rabbitmq', 'env', 'svc/.env.example:4'],
      ['redis', 'env', 'svc/.env.example:3'],
    ]);
    expect(JSON.stringify(result)).not.toMatch(/hunter2|orders:|9092/);
  });

  it('classifies compose environment keys, using value schemes without keeping them', () => {
    const files = {
      'compose.yaml':
        'services:\n  api:\n    build: .\n    environment:\n      DATABASE_URL: mysql://root:hunter2@db/app\n      REDIS_HOST: cache\n',
      Dockerfile: 'FROM x\n',
    };

    const result = deps(files, '.', 'api');

    expect(result).toEqual([
      { kind: 'mysql', via: 'env', evidence: 'compose.yaml#api' },
      { kind: 'redis', via: 'env', evidence: 'compose.yaml#api' },
    ]);
  });

  it('keeps one dependency per kind with the first evidence: package, then compose, then env', () => {
    const files = {
      'docker-compose.yml':
        'services:\n  api:\n    build: ./svc\n    depends_on: [db, cache]\n    environment: [REDIS_URL=redis://cache, AMQP_URL]\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n',
      'svc/Dockerfile': 'FROM node:20\n',
      'svc/package.json': packageJson({ pg: '8' }),
      'svc/.env': 'DATABASE_URL=postgres://db/app\nREDIS_URL=redis://cache\n',
    };

    const result = triples(files, 'svc', 'api');

    expect(result).toEqual([
      ['postgres', 'package', 'svc/package.json:4'],
      ['rabbitmq', 'env', 'docker-compose.yml#api'],
      ['redis', 'compose', 'docker-compose.yml#cache'],
    ]);
  });

  it('does not let a root service claim its sub-services’ manifests', () => {
    const files = {
      'package.json': packageJson({ express: '4' }),
      'services/api/package.json': packageJson({ pg: '8' }),
      'requirements/base.txt': 'redis\n',
      'requirements/test.txt': 'pymongo\n',
    };

    const result = triples(files, '.');

    expect(result).toEqual([['redis', 'package', 'requirements/base.txt:1']]);
  });

  it('finds nothing, and does not throw, on unreadable or malformed manifests', () => {
    const files = {
      'svc/package.json': '{ "dependencies": { "pg": ',
      'svc/pyproject.toml': '[project\n',
      'svc/pom.xml': '<project><dependencies><dependency>',
      'svc/Cargo.toml': 'not toml at all = = =',
    };

    const result = triples(files);

    expect(result).toEqual([]);
  });

  it('produces dependencies that fit the DataDependency schema', () => {
    const result = deps({
      'svc/package.json': packageJson({ mongodb: '6', '@aws-sdk/client-s3': '3' }),
    });

    expect(result.map((d) => DataDependency.safeParse(d).success)).toEqual([true, true]);
  });

  it.each([
    ['postgres:16-alpine', 'postgres'],
    ['docker.io/library/postgres:16', 'postgres'],
    ['bitnami/postgresql:16', 'postgres'],
    ['mysql:8.4', 'mysql'],
    ['mariadb:11', 'mariadb'],
    ['mongo:7', 'mongodb'],
    ['redis:7-alpine', 'redis'],
    ['memcached:1.6', 'memcached'],
    ['bitnami/kafka:3.7', 'kafka'],
    ['confluentinc/cp-kafka:7.6.1', 'kafka'],
    ['rabbitmq:3-management', 'rabbitmq'],
    ['docker.elastic.co/elasticsearch/elasticsearch:8.13.0', 'elasticsearch'],
    ['opensearchproject/opensearch:2', 'opensearch'],
    ['nats:2.10', 'nats'],
    ['cassandra:5', 'cassandra'],
    ['clickhouse/clickhouse-server:24.3', 'clickhouse'],
    ['minio/minio:latest', 's3'],
    ['localhost:5000/redis@sha256:abc', 'redis'],
    ['nginx:1.27', undefined],
    ['acme/redis-exporter:1', undefined],
  ])('dataStoreKindFromImage(%p) = %p', (image, expected) => {
    const kind = dataStoreKindFromImage(image);

    expect(kind).toBe(expected);
  });

  it.each([
    ['DATABASE_URL', 'postgresql', 'postgres'],
    ['DATABASE_URL', 'mongodb+srv', 'mongodb'],
    ['DATABASE_URL', 'postgresql+asyncpg', 'postgres'],
    ['DATABASE_URL', undefined, undefined],
    ['DATABASE_URL', 'sqlserver', undefined],
    ['CACHE', 'rediss', 'redis'],
    ['SPRING_KAFKA_BOOTSTRAP_SERVERS', undefined, 'kafka'],
    ['PGDATABASE', undefined, 'postgres'],
    ['POSTGRES_PASSWORD', undefined, 'postgres'],
    ['ES_URL', undefined, 'elasticsearch'],
    ['ELASTIC_APM_SERVER_URL', undefined, undefined],
    ['RABBITMQ_URL', 'http', 'rabbitmq'],
    ['AWS_S3_BUCKET', undefined, 's3'],
    ['ESLINT_USE_FLAT_CONFIG', undefined, undefined],
  ])('dataStoreKindFromEnv(%p, %p) = %p', (key, scheme, expected) => {
    const kind = dataStoreKindFromEnv(key, scheme);

    expect(kind).toBe(expected);
  });
});
