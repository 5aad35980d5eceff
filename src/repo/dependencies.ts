/**
 * A service's data dependencies (databases, caches, brokers, object stores) from three sources, in
 * order of trust: the client libraries in its package manifests, the data-store images its compose
 * service depends on, and the keys (and URL schemes) of its environment. One dependency per kind,
 * with the first evidence in that order. Environment values are read only for their URL scheme and
 * never appear in the output.
 *
 * Manifests are read from the service directory itself (plus requirements/*.txt), not from
 * subdirectories: a root service of a monorepo must not claim its sub-services' libraries. Only
 * runtime dependencies count: devDependencies, test scopes, require-dev, dev/test groups and
 * indirect Go requirements are skipped, since test-only databases would be false positives.
 */
import { XMLParser } from 'fast-xml-parser';
import { parse as parseToml } from 'smol-toml';
import { composeFileRank, parseEnvFile, urlScheme } from './compose.js';
import type { ComposeService } from './compose.js';
import type { ComposeServiceFacts, DataDependency, DataStoreKind } from './schema.js';
import { dirOf } from './tree.js';
import type { RepoFile, RepoTree } from './tree.js';

export interface FindDependenciesInput {
  tree: RepoTree;
  /** Service directory, '.' for the root. */
  dir: string;
  /** The service's files when the caller has them (e.g. tree.under(dir)); only direct children are used. */
  files?: RepoFile[];
  /** The compose service this service runs as, if any. */
  compose?: ComposeServiceFacts;
  /** Every compose service of the repository, to resolve depends_on. */
  composeAll: ComposeServiceFacts[];
}

export type Ecosystem =
  'npm' | 'pypi' | 'go' | 'maven' | 'nuget' | 'cargo' | 'rubygems' | 'composer' | 'hex';

interface Found {
  kind: DataStoreKind;
  evidence: string;
}

type Table = Record<string, unknown>;

/** Well-known client libraries per ecosystem. Keys are as the ecosystem normalises names. */
export const CLIENT_LIBRARIES: ReadonlyMap<Ecosystem, ReadonlyMap<string, DataStoreKind>> = new Map<
  Ecosystem,
  ReadonlyMap<string, DataStoreKind>
>([
  [
    'npm',
    new Map<string, DataStoreKind>([
      ['pg', 'postgres'],
      ['pg-promise', 'postgres'],
      ['postgres', 'postgres'],
      ['@neondatabase/serverless', 'postgres'],
      ['@vercel/postgres', 'postgres'],
      ['mysql', 'mysql'],
      ['mysql2', 'mysql'],
      ['mariadb', 'mariadb'],
      ['mongodb', 'mongodb'],
      ['mongoose', 'mongodb'],
      ['redis', 'redis'],
      ['ioredis', 'redis'],
      ['@redis/client', 'redis'],
      ['bull', 'redis'],
      ['bullmq', 'redis'],
      ['memcached', 'memcached'],
      ['memjs', 'memcached'],
      ['kafkajs', 'kafka'],
      ['node-rdkafka', 'kafka'],
      ['@confluentinc/kafka-javascript', 'kafka'],
      ['amqplib', 'rabbitmq'],
      ['amqp-connection-manager', 'rabbitmq'],
      ['@elastic/elasticsearch', 'elasticsearch'],
      ['elasticsearch', 'elasticsearch'],
      ['@opensearch-project/opensearch', 'opensearch'],
      ['nats', 'nats'],
      ['cassandra-driver', 'cassandra'],
      ['@aws-sdk/client-dynamodb', 'dynamodb'],
      ['@aws-sdk/lib-dynamodb', 'dynamodb'],
      ['@aws-sdk/client-sqs', 'sqs'],
      ['@aws-sdk/client-s3', 's3'],
      ['@google-cloud/pubsub', 'pubsub'],
      ['@clickhouse/client', 'clickhouse'],
      ['sqlite3', 'sqlite'],
      ['better-sqlite3', 'sqlite'],
    ]),
  ],
  [
    'pypi',
    new Map<string, DataStoreKind>([
      ['psycopg2', 'postgres'],
      ['psycopg2-binary', 'postgres'],
      ['psycopg', 'postgres'],
      ['psycopg-binary', 'postgres'],
      ['asyncpg', 'postgres'],
      ['pg8000', 'postgres'],
      ['pymysql', 'mysql'],
      ['mysqlclient', 'mysql'],
      ['mysql-connector-python', 'mysql'],
      ['aiomysql', 'mysql'],
      ['asyncmy', 'mysql'],
      ['mariadb', 'mariadb'],
      ['pymongo', 'mongodb'],
      ['motor', 'mongodb'],
      ['mongoengine', 'mongodb'],
      ['beanie', 'mongodb'],
      ['redis', 'redis'],
      ['redis-py', 'redis'],
      ['aioredis', 'redis'],
      ['hiredis', 'redis'],
      ['django-redis', 'redis'],
      ['channels-redis', 'redis'],
      ['rq', 'redis'],
      ['pymemcache', 'memcached'],
      ['python-memcached', 'memcached'],
      ['pylibmc', 'memcached'],
      ['confluent-kafka', 'kafka'],
      ['kafka-python', 'kafka'],
      ['aiokafka', 'kafka'],
      ['pika', 'rabbitmq'],
      ['aio-pika', 'rabbitmq'],
      ['elasticsearch', 'elasticsearch'],
      ['elasticsearch-dsl', 'elasticsearch'],
      ['opensearch-py', 'opensearch'],
      ['nats-py', 'nats'],
      ['cassandra-driver', 'cassandra'],
      ['scylla-driver', 'cassandra'],
      ['google-cloud-pubsub', 'pubsub'],
      ['clickhouse-driver', 'clickhouse'],
      ['clickhouse-connect', 'clickhouse'],
      ['aiosqlite', 'sqlite'],
    ]),
  ],
  [
    'go',
    new Map<string, DataStoreKind>([
      ['github.com/lib/pq', 'postgres'],
      ['github.com/jackc/pgx', 'postgres'],
      ['gorm.io/driver/postgres', 'postgres'],
      ['github.com/go-pg/pg', 'postgres'],
      ['github.com/go-sql-driver/mysql', 'mysql'],
      ['gorm.io/driver/mysql', 'mysql'],
      ['go.mongodb.org/mongo-driver', 'mongodb'],
      ['github.com/redis/go-redis', 'redis'],
      ['github.com/go-redis/redis', 'redis'],
      ['github.com/gomodule/redigo', 'redis'],
      ['github.com/redis/rueidis', 'redis'],
      ['github.com/bradfitz/gomemcache', 'memcached'],
      ['github.com/IBM/sarama', 'kafka'],
      ['github.com/Shopify/sarama', 'kafka'],
      ['github.com/twmb/franz-go', 'kafka'],
      ['github.com/segmentio/kafka-go', 'kafka'],
      ['github.com/confluentinc/confluent-kafka-go', 'kafka'],
      ['github.com/streadway/amqp', 'rabbitmq'],
      ['github.com/rabbitmq/amqp091-go', 'rabbitmq'],
      ['github.com/elastic/go-elasticsearch', 'elasticsearch'],
      ['github.com/olivere/elastic', 'elasticsearch'],
      ['github.com/opensearch-project/opensearch-go', 'opensearch'],
      ['github.com/nats-io/nats.go', 'nats'],
      ['github.com/gocql/gocql', 'cassandra'],
      ['github.com/aws/aws-sdk-go-v2/service/dynamodb', 'dynamodb'],
      ['github.com/aws/aws-sdk-go-v2/service/sqs', 'sqs'],
      ['github.com/aws/aws-sdk-go-v2/service/s3', 's3'],
      ['cloud.google.com/go/pubsub', 'pubsub'],
      ['github.com/ClickHouse/clickhouse-go', 'clickhouse'],
      ['github.com/mattn/go-sqlite3', 'sqlite'],
      ['modernc.org/sqlite', 'sqlite'],
      ['gorm.io/driver/sqlite', 'sqlite'],
    ]),
  ],
  [
    'maven',
    new Map<string, DataStoreKind>([
      ['org.postgresql:postgresql', 'postgres'],
      ['org.postgresql:r2dbc-postgresql', 'postgres'],
      ['io.quarkus:quarkus-jdbc-postgresql', 'postgres'],
      ['io.quarkus:quarkus-reactive-pg-client', 'postgres'],
      ['com.mysql:mysql-connector-j', 'mysql'],
      ['mysql:mysql-connector-java', 'mysql'],
      ['io.quarkus:quarkus-jdbc-mysql', 'mysql'],
      ['org.mariadb.jdbc:mariadb-java-client', 'mariadb'],
      ['org.mongodb:mongodb-driver-sync', 'mongodb'],
      ['org.mongodb:mongodb-driver-reactivestreams', 'mongodb'],
      ['org.springframework.boot:spring-boot-starter-data-mongodb', 'mongodb'],
      ['org.springframework.boot:spring-boot-starter-data-mongodb-reactive', 'mongodb'],
      ['io.quarkus:quarkus-mongodb-client', 'mongodb'],
      ['redis.clients:jedis', 'redis'],
      ['io.lettuce:lettuce-core', 'redis'],
      ['org.redisson:redisson', 'redis'],
      ['org.springframework.boot:spring-boot-starter-data-redis', 'redis'],
      ['org.springframework.boot:spring-boot-starter-data-redis-reactive', 'redis'],
      ['io.quarkus:quarkus-redis-client', 'redis'],
      ['net.spy:spymemcached', 'memcached'],
      ['org.springframework.kafka:spring-kafka', 'kafka'],
      ['org.apache.kafka:kafka-clients', 'kafka'],
      ['io.quarkus:quarkus-kafka-client', 'kafka'],
      ['io.quarkus:quarkus-messaging-kafka', 'kafka'],
      ['io.quarkus:quarkus-smallrye-reactive-messaging-kafka', 'kafka'],
      ['org.springframework.boot:spring-boot-starter-amqp', 'rabbitmq'],
      ['com.rabbitmq:amqp-client', 'rabbitmq'],
      ['org.springframework.data:spring-data-elasticsearch', 'elasticsearch'],
      ['org.springframework.boot:spring-boot-starter-data-elasticsearch', 'elasticsearch'],
      ['co.elastic.clients:elasticsearch-java', 'elasticsearch'],
      ['org.elasticsearch.client:elasticsearch-rest-high-level-client', 'elasticsearch'],
      ['org.opensearch.client:opensearch-java', 'opensearch'],
      ['io.nats:jnats', 'nats'],
      ['com.datastax.oss:java-driver-core', 'cassandra'],
      ['org.springframework.boot:spring-boot-starter-data-cassandra', 'cassandra'],
      ['software.amazon.awssdk:dynamodb', 'dynamodb'],
      ['software.amazon.awssdk:dynamodb-enhanced', 'dynamodb'],
      ['software.amazon.awssdk:sqs', 'sqs'],
      ['software.amazon.awssdk:s3', 's3'],
      ['com.google.cloud:google-cloud-pubsub', 'pubsub'],
      ['com.clickhouse:clickhouse-jdbc', 'clickhouse'],
      ['org.xerial:sqlite-jdbc', 'sqlite'],
    ]),
  ],
  [
    'nuget',
    new Map<string, DataStoreKind>([
      ['npgsql', 'postgres'],
      ['npgsql.entityframeworkcore.postgresql', 'postgres'],
      ['mysqlconnector', 'mysql'],
      ['mysql.data', 'mysql'],
      ['pomelo.entityframeworkcore.mysql', 'mysql'],
      ['mongodb.driver', 'mongodb'],
      ['stackexchange.redis', 'redis'],
      ['microsoft.extensions.caching.stackexchangeredis', 'redis'],
      ['enyimmemcachedcore', 'memcached'],
      ['confluent.kafka', 'kafka'],
      ['rabbitmq.client', 'rabbitmq'],
      ['masstransit.rabbitmq', 'rabbitmq'],
      ['elastic.clients.elasticsearch', 'elasticsearch'],
      ['nest', 'elasticsearch'],
      ['opensearch.client', 'opensearch'],
      ['nats.client', 'nats'],
      ['nats.net', 'nats'],
      ['cassandracsharpdriver', 'cassandra'],
      ['awssdk.dynamodbv2', 'dynamodb'],
      ['awssdk.sqs', 'sqs'],
      ['awssdk.s3', 's3'],
      ['google.cloud.pubsub.v1', 'pubsub'],
      ['clickhouse.client', 'clickhouse'],
      ['microsoft.data.sqlite', 'sqlite'],
    ]),
  ],
  [
    'cargo',
    new Map<string, DataStoreKind>([
      ['postgres', 'postgres'],
      ['tokio-postgres', 'postgres'],
      ['deadpool-postgres', 'postgres'],
      ['mysql', 'mysql'],
      ['mysql_async', 'mysql'],
      ['mongodb', 'mongodb'],
      ['redis', 'redis'],
      ['deadpool-redis', 'redis'],
      ['fred', 'redis'],
      ['memcache', 'memcached'],
      ['rdkafka', 'kafka'],
      ['lapin', 'rabbitmq'],
      ['elasticsearch', 'elasticsearch'],
      ['opensearch', 'opensearch'],
      ['async-nats', 'nats'],
      ['nats', 'nats'],
      ['scylla', 'cassandra'],
      ['cdrs-tokio', 'cassandra'],
      ['aws-sdk-dynamodb', 'dynamodb'],
      ['aws-sdk-sqs', 'sqs'],
      ['aws-sdk-s3', 's3'],
      ['clickhouse', 'clickhouse'],
      ['rusqlite', 'sqlite'],
    ]),
  ],
  [
    'rubygems',
    new Map<string, DataStoreKind>([
      ['pg', 'postgres'],
      ['mysql2', 'mysql'],
      ['trilogy', 'mysql'],
      ['mongo', 'mongodb'],
      ['mongoid', 'mongodb'],
      ['redis', 'redis'],
      ['redis-client', 'redis'],
      ['hiredis', 'redis'],
      ['sidekiq', 'redis'],
      ['dalli', 'memcached'],
      ['ruby-kafka', 'kafka'],
      ['rdkafka', 'kafka'],
      ['karafka', 'kafka'],
      ['bunny', 'rabbitmq'],
      ['sneakers', 'rabbitmq'],
      ['elasticsearch', 'elasticsearch'],
      ['opensearch-ruby', 'opensearch'],
      ['nats-pure', 'nats'],
      ['cassandra-driver', 'cassandra'],
      ['aws-sdk-dynamodb', 'dynamodb'],
      ['aws-sdk-sqs', 'sqs'],
      ['aws-sdk-s3', 's3'],
      ['clickhouse-activerecord', 'clickhouse'],
      ['sqlite3', 'sqlite'],
    ]),
  ],
  [
    'composer',
    new Map<string, DataStoreKind>([
      ['ext-pgsql', 'postgres'],
      ['ext-pdo_pgsql', 'postgres'],
      ['ext-mysqli', 'mysql'],
      ['ext-pdo_mysql', 'mysql'],
      ['mongodb/mongodb', 'mongodb'],
      ['ext-mongodb', 'mongodb'],
      ['predis/predis', 'redis'],
      ['ext-redis', 'redis'],
      ['ext-memcached', 'memcached'],
      ['ext-rdkafka', 'kafka'],
      ['enqueue/rdkafka', 'kafka'],
      ['php-amqplib/php-amqplib', 'rabbitmq'],
      ['ext-amqp', 'rabbitmq'],
      ['elasticsearch/elasticsearch', 'elasticsearch'],
      ['opensearch-project/opensearch-php', 'opensearch'],
      ['basis-company/nats', 'nats'],
      ['smi2/phpclickhouse', 'clickhouse'],
      ['ext-pdo_sqlite', 'sqlite'],
    ]),
  ],
  [
    'hex',
    new Map<string, DataStoreKind>([
      ['postgrex', 'postgres'],
      ['myxql', 'mysql'],
      ['mongodb_driver', 'mongodb'],
      ['redix', 'redis'],
      ['brod', 'kafka'],
      ['kafka_ex', 'kafka'],
      ['broadway_kafka', 'kafka'],
      ['amqp', 'rabbitmq'],
      ['broadway_rabbitmq', 'rabbitmq'],
      ['elasticsearch', 'elasticsearch'],
      ['gnat', 'nats'],
      ['xandra', 'cassandra'],
      ['ex_aws_dynamo', 'dynamodb'],
      ['ex_aws_sqs', 'sqs'],
      ['ex_aws_s3', 's3'],
      ['ch', 'clickhouse'],
      ['ecto_sqlite3', 'sqlite'],
      ['exqlite', 'sqlite'],
    ]),
  ],
]);

/** Data-store images by repository (registry and tag removed), then by last path segment. */
const DATA_STORE_IMAGES = new Map<string, DataStoreKind>([
  ['postgres', 'postgres'],
  ['postgresql', 'postgres'],
  ['postgis/postgis', 'postgres'],
  ['timescale/timescaledb', 'postgres'],
  ['mysql', 'mysql'],
  ['mariadb', 'mariadb'],
  ['mongo', 'mongodb'],
  ['mongodb', 'mongodb'],
  ['mongodb/mongodb-community-server', 'mongodb'],
  ['redis', 'redis'],
  ['redis/redis-stack', 'redis'],
  ['redis/redis-stack-server', 'redis'],
  ['valkey/valkey', 'redis'],
  ['eqalpha/keydb', 'redis'],
  ['memcached', 'memcached'],
  ['kafka', 'kafka'],
  ['bitnami/kafka', 'kafka'],
  ['confluentinc/cp-kafka', 'kafka'],
  ['apache/kafka', 'kafka'],
  ['redpandadata/redpanda', 'kafka'],
  ['rabbitmq', 'rabbitmq'],
  ['elasticsearch', 'elasticsearch'],
  ['elasticsearch/elasticsearch', 'elasticsearch'],
  ['opensearchproject/opensearch', 'opensearch'],
  ['nats', 'nats'],
  ['cassandra', 'cassandra'],
  ['scylladb/scylla', 'cassandra'],
  ['clickhouse/clickhouse-server', 'clickhouse'],
  ['clickhouse-server', 'clickhouse'],
  ['minio/minio', 's3'],
  ['minio', 's3'],
  ['amazon/dynamodb-local', 'dynamodb'],
  ['softwaremill/elasticmq', 'sqs'],
]);

/** URL schemes (the part before any "+driver") of connection strings. */
const SCHEME_KINDS = new Map<string, DataStoreKind>([
  ['postgres', 'postgres'],
  ['postgresql', 'postgres'],
  ['mysql', 'mysql'],
  ['mysqlx', 'mysql'],
  ['mariadb', 'mariadb'],
  ['mongodb', 'mongodb'],
  ['redis', 'redis'],
  ['rediss', 'redis'],
  ['memcached', 'memcached'],
  ['memcache', 'memcached'],
  ['amqp', 'rabbitmq'],
  ['amqps', 'rabbitmq'],
  ['kafka', 'kafka'],
  ['nats', 'nats'],
  ['cassandra', 'cassandra'],
  ['clickhouse', 'clickhouse'],
  ['sqlite', 'sqlite'],
  ['sqlite3', 'sqlite'],
  ['s3', 's3'],
]);

/** Words of environment keys (split on "_") that name a data store: REDIS_URL, SPRING_KAFKA_…. */
const ENV_KEY_WORDS = new Map<string, DataStoreKind>([
  ['POSTGRES', 'postgres'],
  ['POSTGRESQL', 'postgres'],
  ['PG', 'postgres'],
  ['MYSQL', 'mysql'],
  ['MARIADB', 'mariadb'],
  ['MONGO', 'mongodb'],
  ['MONGODB', 'mongodb'],
  ['REDIS', 'redis'],
  ['VALKEY', 'redis'],
  ['MEMCACHED', 'memcached'],
  ['MEMCACHE', 'memcached'],
  ['CASSANDRA', 'cassandra'],
  ['SCYLLA', 'cassandra'],
  ['DYNAMODB', 'dynamodb'],
  ['DYNAMO', 'dynamodb'],
  ['ELASTICSEARCH', 'elasticsearch'],
  ['OPENSEARCH', 'opensearch'],
  ['KAFKA', 'kafka'],
  ['RABBITMQ', 'rabbitmq'],
  ['RABBIT', 'rabbitmq'],
  ['AMQP', 'rabbitmq'],
  ['NATS', 'nats'],
  ['SQS', 'sqs'],
  ['PUBSUB', 'pubsub'],
  ['CLICKHOUSE', 'clickhouse'],
  ['S3', 's3'],
  ['MINIO', 's3'],
  ['SQLITE', 'sqlite'],
]);
/** libpq's own variables, and Elasticsearch's short forms (ES alone is too ambiguous a word). */
const ENV_KEYS = new Map<string, DataStoreKind>([
  ...['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE'].map(
    (k): [string, DataStoreKind] => [k, 'postgres'],
  ),
  ...['ES_URL', 'ES_HOST', 'ES_HOSTS', 'ES_NODE'].map((k): [string, DataStoreKind] => [
    k,
    'elasticsearch',
  ]),
]);

/** Extras and features that select a driver: celery[redis], sqlalchemy[postgresql], sqlx "postgres". */
const DRIVER_WORDS: [RegExp, DataStoreKind][] = [
  [/^(?:postgres|psycopg|asyncpg)/, 'postgres'],
  [/^(?:sqlx-|with-)?postgres/, 'postgres'],
  [/^(?:sqlx-)?(?:mysql|pymysql|aiomysql|asyncmy)/, 'mysql'],
  [/^(?:sqlx-)?(?:sqlite|aiosqlite)/, 'sqlite'],
  [/^redis/, 'redis'],
  [/^sqs$/, 'sqs'],
  [/^(?:librabbitmq|amqp|pyamqp|rabbitmq)$/, 'rabbitmq'],
  [/^mongo/, 'mongodb'],
  [/^kafka/, 'kafka'],
];
/** Rust crates whose database comes from a feature. */
const FEATURE_CRATES = new Set(['sqlx', 'diesel', 'sea-orm', 'sea-query']);

const ENV_FILES = ['.env', '.env.example', '.env.sample'];
const REQUIREMENTS_FILE = /^requirements(?:[-_.](?<variant>[\w.-]+))?\.(?:txt|in)$/;
const DEV_WORDS =
  /(?:^|[-_.])(?:dev|develop|development|test|tests|testing|lint|docs?|ci)(?:$|[-_.])/;
const REQUIREMENT = /^(?<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?<extras>[^\]]*)\])?/;
const GEM = /^\s*gem\s+["'](?<name>[^"']+)["']/;
const BLOCK_START = /\bdo(?:\s*\|[^|]*\|)?\s*$/;
const GEM_GROUP = /^\s*group\s+(?<groups>.+?)\s+do\b/;
const RUBY_BLOCK_KEYWORD = /^\s*(?:if|unless|case|begin)\b/;
const MIX_DEP = /\{\s*:(?<name>\w+)\s*,/g;
const CSPROJ_PACKAGE = /<PackageReference\b[^>]*?\b(?:Include|Update)\s*=\s*"(?<name>[^"]+)"/gi;
const GRADLE_DEPENDENCY =
  /\b(?:implementation|api|compile|runtimeOnly|runtime)\s*\(?\s*(?:platform\(\s*)?["'](?<group>[\w.-]+):(?<artifact>[\w.-]+)/g;
const GRADLE_MAP_DEPENDENCY =
  /\b(?:implementation|api|compile|runtimeOnly|runtime)\s*\(?\s*group\s*[:=]\s*["'](?<group>[\w.-]+)["']\s*,\s*name\s*[:=]\s*["'](?<artifact>[\w.-]+)/g;
const PRISMA_PROVIDER = /datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*"(?<provider>\w+)"/;
const PRISMA_PROVIDERS = new Map<string, DataStoreKind>([
  ['postgresql', 'postgres'],
  ['postgres', 'postgres'],
  ['mysql', 'mysql'],
  ['mongodb', 'mongodb'],
  ['sqlite', 'sqlite'],
]);

/** Finds a service's data dependencies. Never throws; unreadable files are skipped. */
export function findDependencies(input: FindDependenciesInput): DataDependency[] {
  const { tree, dir } = input;
  const children = directChildren(input);
  const found: DataDependency[] = [];
  const add = (via: DataDependency['via'], items: Found[]): void => {
    for (const item of items) found.push({ kind: item.kind, via, evidence: item.evidence });
  };

  add('package', fromManifests(tree, dir, children));
  if (input.compose !== undefined) add('compose', fromCompose(input.compose, input.composeAll));
  for (const name of ENV_FILES) {
    const path = join(dir, name);
    if (children.has(name)) add('env', fromEnvFile(tree, path));
  }
  if (input.compose !== undefined) add('env', fromComposeEnvironment(input.compose));

  const byKind = new Map<DataStoreKind, DataDependency>();
  for (const dependency of found) {
    if (!byKind.has(dependency.kind)) byKind.set(dependency.kind, dependency);
  }
  return [...byKind.values()].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

/** The data store an image runs: "postgres:16-alpine" → postgres, "bitnami/kafka:3" → kafka. */
export function dataStoreKindFromImage(image: string): DataStoreKind | undefined {
  const withoutDigest = image.trim().toLowerCase().split('@')[0]!;
  const segments = withoutDigest.split('/');
  // A first segment with a dot, a port or "localhost" is a registry host.
  if (segments.length > 1 && /[.:]|^localhost$/.test(segments[0]!)) segments.shift();
  if (segments[0] === 'library') segments.shift();
  const last = segments.pop() ?? '';
  const name = last.split(':')[0]!;
  const repository = [...segments, name].join('/');
  return DATA_STORE_IMAGES.get(repository) ?? DATA_STORE_IMAGES.get(name);
}

/** Classifies one environment variable by its value's URL scheme, else by its key's words. */
export function dataStoreKindFromEnv(
  key: string,
  scheme: string | undefined,
): DataStoreKind | undefined {
  const byScheme = scheme === undefined ? undefined : SCHEME_KINDS.get(scheme.split('+')[0]!);
  if (byScheme !== undefined) return byScheme;
  const upper = key.toUpperCase();
  const exact = ENV_KEYS.get(upper);
  if (exact !== undefined) return exact;
  for (const word of upper.split(/[_.-]+/)) {
    const kind = ENV_KEY_WORDS.get(word);
    if (kind !== undefined) return kind;
  }
  return undefined;
}

/** Basenames of the service directory's own files, plus requirements/*.txt as "requirements/x.txt". */
function directChildren(input: FindDependenciesInput): Set<string> {
  const { dir } = input;
  const prefix = dir === '.' ? '' : `${dir}/`;
  const names = new Set<string>();
  for (const { path } of input.files ?? input.tree.under(dir)) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) names.add(rest);
    else if (rest.startsWith('requirements/') && rest.indexOf('/', slash + 1) < 0) names.add(rest);
  }
  return names;
}

function fromManifests(tree: RepoTree, dir: string, children: Set<string>): Found[] {
  const found: Found[] = [];
  const at = (name: string): string => join(dir, name);
  if (children.has('package.json')) found.push(...fromPackageJson(tree, dir, at('package.json')));
  for (const name of [...children].sort()) {
    if (isRuntimeRequirements(name)) found.push(...fromRequirements(tree, at(name)));
  }
  if (children.has('pyproject.toml')) found.push(...fromPyproject(tree, at('pyproject.toml')));
  if (children.has('Pipfile')) found.push(...fromPipfile(tree, at('Pipfile')));
  if (children.has('go.mod')) found.push(...fromGoMod(tree, at('go.mod')));
  if (children.has('pom.xml')) found.push(...fromPom(tree, at('pom.xml')));
  for (const name of ['build.gradle', 'build.gradle.kts']) {
    if (children.has(name)) found.push(...fromGradle(tree, at(name)));
  }
  for (const name of [...children].sort()) {
    if (/\.(?:cs|fs|vb)proj$/.test(name) && !name.includes('/'))
      found.push(...fromCsproj(tree, at(name)));
  }
  if (children.has('Cargo.toml')) found.push(...fromCargo(tree, at('Cargo.toml')));
  if (children.has('Gemfile')) found.push(...fromGemfile(tree, at('Gemfile')));
  if (children.has('composer.json')) found.push(...fromComposer(tree, at('composer.json')));
  if (children.has('mix.exs')) found.push(...fromMix(tree, at('mix.exs')));
  return found;
}

function fromPackageJson(tree: RepoTree, dir: string, path: string): Found[] {
  const text = tree.read(path);
  const json = text === undefined ? undefined : parseJson(text);
  if (text === undefined || json === undefined) return [];
  const names = [...keysOf(json.dependencies), ...keysOf(json.optionalDependencies)];
  const found = lookup('npm', names, (name) => evidence(path, text, `"${name}"`));
  if (names.includes('@prisma/client') || names.includes('prisma')) {
    const configured =
      isTable(json.prisma) && typeof json.prisma.schema === 'string' ? [json.prisma.schema] : [];
    found.push(...fromPrisma(tree, dir, [...configured, 'prisma/schema.prisma', 'schema.prisma']));
  }
  return found;
}

/** Prisma's datasource provider decides the database behind @prisma/client. */
function fromPrisma(tree: RepoTree, dir: string, candidates: string[]): Found[] {
  for (const candidate of candidates) {
    const path = join(dir, candidate);
    const text = tree.has(path) ? tree.read(path) : undefined;
    if (text === undefined) continue;
    const match = PRISMA_PROVIDER.exec(text);
    const kind = match?.groups ? PRISMA_PROVIDERS.get(match.groups.provider!) : undefined;
    if (kind === undefined || match === null) return [];
    const offset = match.index + match[0].lastIndexOf('provider');
    return [{ kind, evidence: `${path}:${lineAt(text, offset)}` }];
  }
  return [];
}

/** requirements.txt, requirements-prod.txt, requirements/base.txt; not the dev, test or docs sets. */
function isRuntimeRequirements(name: string): boolean {
  if (name.startsWith('requirements/')) {
    const stem = /^requirements\/(?<stem>[^/]+)\.(?:txt|in)$/.exec(name)?.groups?.stem;
    return stem !== undefined && !DEV_WORDS.test(stem);
  }
  const match = REQUIREMENTS_FILE.exec(name);
  if (match === null) return false;
  const variant = match.groups?.variant;
  return variant === undefined || !DEV_WORDS.test(variant);
}

function fromRequirements(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const found: Found[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('-')) continue;
    const match = REQUIREMENT.exec(line);
    if (!match?.groups) continue;
    for (const kind of pythonKinds(match.groups.name!, splitList(match.groups.extras))) {
      found.push({ kind, evidence: `${path}:${index + 1}` });
    }
  }
  return found;
}

function fromPyproject(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  const toml = text === undefined ? undefined : parseTomlSafe(text);
  if (text === undefined || toml === undefined) return [];
  const found: Found[] = [];
  const project = isTable(toml.project) ? toml.project : {};
  for (const requirement of Array.isArray(project.dependencies) ? project.dependencies : []) {
    if (typeof requirement !== 'string') continue;
    const match = REQUIREMENT.exec(requirement.trim());
    if (!match?.groups) continue;
    for (const kind of pythonKinds(match.groups.name!, splitList(match.groups.extras))) {
      found.push({ kind, evidence: evidence(path, text, requirement) });
    }
  }
  const tool = isTable(toml.tool) ? toml.tool : {};
  const poetry = isTable(tool.poetry) ? tool.poetry : {};
  found.push(...fromPythonTable(path, text, poetry.dependencies));
  return found;
}

function fromPipfile(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  const toml = text === undefined ? undefined : parseTomlSafe(text);
  if (text === undefined || toml === undefined) return [];
  return fromPythonTable(path, text, toml.packages);
}

/** Poetry and Pipfile tables: name = "version" or name = {version, extras = [...]}. */
function fromPythonTable(path: string, text: string, table: unknown): Found[] {
  if (!isTable(table)) return [];
  const found: Found[] = [];
  for (const [name, spec] of Object.entries(table)) {
    const extras = isTable(spec) && Array.isArray(spec.extras) ? spec.extras.map(String) : [];
    for (const kind of pythonKinds(name, extras)) {
      found.push({ kind, evidence: evidence(path, text, name) });
    }
  }
  return found;
}

function pythonKinds(name: string, extras: string[]): DataStoreKind[] {
  const normalised = name.toLowerCase().replace(/[-_.]+/g, '-');
  const kinds = extras.map(driverKind).filter((k): k is DataStoreKind => k !== undefined);
  const own = CLIENT_LIBRARIES.get('pypi')!.get(normalised);
  return own === undefined ? kinds : [own, ...kinds];
}

function fromGoMod(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const found: Found[] = [];
  let inBlock = false;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (inBlock && line.startsWith(')')) {
      inBlock = false;
      continue;
    }
    if (/^require\s*\($/.test(line)) {
      inBlock = true;
      continue;
    }
    const spec = inBlock ? line : /^require\s+(?<spec>.+)$/.exec(line)?.groups?.spec;
    // Indirect requirements come from other libraries, not from this service's code.
    if (spec === undefined || spec.includes('// indirect')) continue;
    const kind = goKind(spec.split(/\s+/)[0]!);
    if (kind !== undefined) found.push({ kind, evidence: `${path}:${index + 1}` });
  }
  return found;
}

/** Longest known prefix of a module path, so "github.com/jackc/pgx/v5" matches "…/pgx". */
function goKind(modulePath: string): DataStoreKind | undefined {
  const table = CLIENT_LIBRARIES.get('go')!;
  const segments = modulePath.split('/');
  for (let n = segments.length; n > 0; n--) {
    const kind = table.get(segments.slice(0, n).join('/'));
    if (kind !== undefined) return kind;
  }
  return undefined;
}

function fromPom(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  let xml: unknown;
  try {
    xml = new XMLParser({ ignoreAttributes: true, isArray: (name) => name === 'dependency' }).parse(
      text,
    );
  } catch {
    return [];
  }
  const project = isTable(xml) && isTable(xml.project) ? xml.project : {};
  const dependencies = isTable(project.dependencies) ? project.dependencies.dependency : undefined;
  const coordinates: string[] = [];
  for (const dependency of Array.isArray(dependencies) ? dependencies : []) {
    if (!isTable(dependency) || dependency.scope === 'test') continue;
    coordinates.push(`${String(dependency.groupId)}:${String(dependency.artifactId)}`);
  }
  return lookup('maven', coordinates, (coordinate) =>
    evidence(path, text, `<artifactId>${coordinate.split(':')[1]}</artifactId>`),
  );
}

function fromGradle(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const found: Found[] = [];
  const table = CLIENT_LIBRARIES.get('maven')!;
  for (const pattern of [GRADLE_DEPENDENCY, GRADLE_MAP_DEPENDENCY]) {
    for (const match of text.matchAll(pattern)) {
      const kind = table.get(`${match.groups!.group}:${match.groups!.artifact}`);
      if (kind !== undefined)
        found.push({ kind, evidence: `${path}:${lineAt(text, match.index)}` });
    }
  }
  return found;
}

function fromCsproj(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const table = CLIENT_LIBRARIES.get('nuget')!;
  const found: Found[] = [];
  for (const match of text.matchAll(CSPROJ_PACKAGE)) {
    const kind = table.get(match.groups!.name!.toLowerCase());
    if (kind !== undefined) found.push({ kind, evidence: `${path}:${lineAt(text, match.index)}` });
  }
  return found;
}

function fromCargo(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  const toml = text === undefined ? undefined : parseTomlSafe(text);
  if (text === undefined || toml === undefined || !isTable(toml.dependencies)) return [];
  const table = CLIENT_LIBRARIES.get('cargo')!;
  const found: Found[] = [];
  for (const [key, spec] of Object.entries(toml.dependencies)) {
    // A renamed dependency keeps its real crate name in `package`.
    const crate = isTable(spec) && typeof spec.package === 'string' ? spec.package : key;
    const where = evidence(path, text, key);
    const kind = table.get(crate);
    if (kind !== undefined) found.push({ kind, evidence: where });
    if (!FEATURE_CRATES.has(crate) || !isTable(spec) || !Array.isArray(spec.features)) continue;
    for (const feature of spec.features) {
      const byFeature = driverKind(String(feature));
      if (byFeature !== undefined) found.push({ kind: byFeature, evidence: where });
    }
  }
  return found;
}

function fromGemfile(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const table = CLIENT_LIBRARIES.get('rubygems')!;
  const found: Found[] = [];
  // One frame per open `do` block; true when it is a development/test-only group.
  const blocks: boolean[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (/^\s*end\b/.test(line)) {
      blocks.pop();
      continue;
    }
    if (BLOCK_START.test(line) || RUBY_BLOCK_KEYWORD.test(line)) {
      const groups = GEM_GROUP.exec(line)?.groups?.groups;
      blocks.push(groups !== undefined && isDevGroup(groups));
      continue;
    }
    if (blocks.includes(true)) continue;
    const match = GEM.exec(line);
    if (!match?.groups) continue;
    const inlineGroups = /\bgroups?:\s*(?<groups>.+)$/.exec(line)?.groups?.groups;
    if (inlineGroups !== undefined && isDevGroup(inlineGroups)) continue;
    const kind = table.get(match.groups.name!);
    if (kind !== undefined) found.push({ kind, evidence: `${path}:${index + 1}` });
  }
  return found;
}

function isDevGroup(groups: string): boolean {
  const names = [...groups.matchAll(/:(?<name>\w+)/g)].map((m) => m.groups!.name!);
  return names.length > 0 && names.every((n) => n === 'development' || n === 'test');
}

function fromComposer(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  const json = text === undefined ? undefined : parseJson(text);
  if (text === undefined || json === undefined) return [];
  const names = keysOf(json.require).map((n) => n.toLowerCase());
  return lookup('composer', names, (name) => evidence(path, text, `"${name}"`));
}

function fromMix(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const table = CLIENT_LIBRARIES.get('hex')!;
  const found: Found[] = [];
  for (const match of text.matchAll(MIX_DEP)) {
    const kind = table.get(match.groups!.name!);
    if (kind !== undefined) found.push({ kind, evidence: `${path}:${lineAt(text, match.index)}` });
  }
  return found;
}

/** Data-store services the compose service depends on, looked up in its own compose directory. */
function fromCompose(compose: ComposeServiceFacts, composeAll: ComposeServiceFacts[]): Found[] {
  const dir = dirOf(compose.file);
  const siblings = composeAll
    .filter((c) => dirOf(c.file) === dir)
    .sort(
      (a, b) =>
        Number(b.file === compose.file) - Number(a.file === compose.file) ||
        composeFileRank(a.file) - composeFileRank(b.file),
    );
  const found: Found[] = [];
  for (const name of compose.dependsOn) {
    const target = siblings.find((c) => c.service === name && c.image !== undefined);
    const kind = target?.image === undefined ? undefined : dataStoreKindFromImage(target.image);
    if (target !== undefined && kind !== undefined)
      found.push({ kind, evidence: `${target.file}#${target.service}` });
  }
  return found;
}

function fromEnvFile(tree: RepoTree, path: string): Found[] {
  const text = tree.read(path);
  if (text === undefined) return [];
  const found: Found[] = [];
  for (const { key, value, line } of parseEnvFile(text)) {
    const kind = dataStoreKindFromEnv(key, urlScheme(value));
    if (kind !== undefined) found.push({ kind, evidence: `${path}:${line}` });
  }
  return found;
}

/**
 * Keys of the compose service's environment. Value schemes come from readComposeFiles
 * (ComposeService.environmentSchemes); facts from elsewhere are classified by key alone.
 */
function fromComposeEnvironment(compose: ComposeServiceFacts | ComposeService): Found[] {
  const schemes = 'environmentSchemes' in compose ? compose.environmentSchemes : {};
  const found: Found[] = [];
  for (const key of compose.environmentKeys) {
    const kind = dataStoreKindFromEnv(key, Object.hasOwn(schemes, key) ? schemes[key] : undefined);
    if (kind !== undefined) found.push({ kind, evidence: `${compose.file}#${compose.service}` });
  }
  return found;
}

function driverKind(word: string): DataStoreKind | undefined {
  const lower = word.trim().toLowerCase();
  return DRIVER_WORDS.find(([pattern]) => pattern.test(lower))?.[1];
}

function lookup(ecosystem: Ecosystem, names: string[], where: (name: string) => string): Found[] {
  const table = CLIENT_LIBRARIES.get(ecosystem)!;
  const found: Found[] = [];
  for (const name of names) {
    const kind = table.get(name);
    if (kind !== undefined) found.push({ kind, evidence: where(name) });
  }
  return found;
}

/** "path:line" of the first occurrence of `needle`, or just the path when it cannot be placed. */
function evidence(path: string, text: string, needle: string): string {
  const index = text.indexOf(needle);
  return index < 0 ? path : `${path}:${lineAt(text, index)}`;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function join(dir: string, name: string): string {
  return dir === '.' || dir === '' ? name : `${dir}/${name}`;
}

function splitList(list: string | undefined): string[] {
  return list === undefined
    ? []
    : list
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

function keysOf(value: unknown): string[] {
  return isTable(value) ? Object.keys(value) : [];
}

function parseJson(text: string): Table | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isTable(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function parseTomlSafe(text: string): Table | undefined {
  try {
    return parseToml(text);
  } catch {
    return undefined;
  }
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
