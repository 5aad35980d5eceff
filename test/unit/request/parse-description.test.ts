import { parseDescription } from '../../../src/request/parse-description.js';
import { AppProfile } from '../../../src/request/schema.js';

const GiB = 2 ** 30;

describe('request/parse-description', () => {
  describe('whole descriptions', () => {
    it.each<[string, AppProfile]>([
      [
        'Supermarket inventory service, zero downtime, 2000 QPS peak, strong consistency, React frontend + Go/Gin API + PostgreSQL backend',
        {
          peakQps: 2000,
          zeroDowntime: true,
          consistency: 'strong',
          dataStores: ['postgres'],
          languages: ['go'],
          frameworks: ['react', 'gin'],
        },
      ],
      [
        'The payment-service handles 5000 QPS at peak, with P99 latency under 50\u202fms, must never lose transactions, is built in Node.js/Express with a MongoDB backend and Redis cache.',
        {
          peakQps: 5000,
          latency: { milliseconds: 50, percentile: 99 },
          dataStores: ['mongodb', 'redis'],
          languages: ['javascript'],
          frameworks: ['express'],
        },
      ],
      [
        'Checkout API for our EU shop: Java 21 + Spring Boot, production-critical, 99.95% availability, p95 < 150 ms, ~800 RPS average and 4k RPS at peak during Black Friday, PostgreSQL and Kafka, calls the Stripe API, GDPR applies.',
        {
          peakQps: 4000,
          averageQps: 800,
          latency: { milliseconds: 150, percentile: 95 },
          availability: 0.9995,
          criticality: 'critical',
          dataStores: ['postgres', 'kafka'],
          languages: ['java'],
          frameworks: ['spring-boot'],
          spiky: true,
          gdpr: true,
          externalDependencies: ['stripe'],
        },
      ],
      [
        'Internal reporting tool in Python/Django, non-critical, dev environment, nightly ETL from MySQL, 20 GB of data.',
        {
          criticality: 'low',
          environment: 'dev',
          storageBytes: 20e9,
          dataStores: ['mysql'],
          languages: ['python'],
          frameworks: ['django'],
          batch: true,
        },
      ],
      [
        'Stateful chat gateway in Elixir/Phoenix with 50k concurrent users over websockets, sticky sessions required, multi-region active-active, eventual consistency is acceptable.',
        {
          concurrentUsers: 50_000,
          stateful: true,
          sessionAffinity: true,
          consistency: 'eventual',
          languages: ['elixir'],
          frameworks: ['phoenix'],
          geoRedundant: true,
        },
      ],
    ])('%s', (text, expected) => {
      const profile = parseDescription(text);

      expect(AppProfile.parse(profile)).toEqual(expected);
    });
  });

  describe('one fact at a time', () => {
    it.each<[string, AppProfile]>([
      // request rates: spellings, multipliers, units
      ['2k QPS', { peakQps: 2000 }],
      ['2K qps', { peakQps: 2000 }],
      ['2,000 requests per second', { peakQps: 2000 }],
      ['5000 RPS at peak', { peakQps: 5000 }],
      ['1.5k req/s', { peakQps: 1500 }],
      ['2 thousand requests per second', { peakQps: 2000 }],
      ['handles 300 reqs/sec', { peakQps: 300 }],
      ['about 250 TPS', { peakQps: 250 }],
      ['30,000 requests per minute at peak', { peakQps: 500 }],
      ['6000 rpm', { peakQps: 100 }],
      ['1M requests per day', { averageQps: 11.5741 }],
      ['peak of 3.6M requests per hour', { peakQps: 1000 }],
      ['QPS of 2 thousand', { peakQps: 2000 }],
      ['peak QPS: 5k', { peakQps: 5000 }],
      ['target RPS ~ 1200', { peakQps: 1200 }],
      ['2000+ QPS', { peakQps: 2000 }],
      ['1,200 HTTP requests/s', { peakQps: 1200 }],
      ['average 500 RPS and peak 2000 RPS', { peakQps: 2000, averageQps: 500 }],
      ['typically 200 req/s, max 900 req/s', { peakQps: 900, averageQps: 200 }],
      ['sustained 400 QPS', { averageQps: 400 }],
      [
        '1.5k req/s on average with bursts to 6k req/s',
        { peakQps: 6000, averageQps: 1500, spiky: true },
      ],
      ['10 queries per second', { peakQps: 10 }],
      // concurrent users
      ['10k concurrent users', { concurrentUsers: 10_000 }],
      ['5,000 simultaneous users', { concurrentUsers: 5000 }],
      ['up to 20000 users online at the same time', { concurrentUsers: 20_000 }],
      ['concurrent users: 750', { concurrentUsers: 750 }],
      ['2.5k concurrent connections', { concurrentUsers: 2500 }],
      // latency and its percentile
      ['p99 < 50ms', { latency: { milliseconds: 50, percentile: 99 } }],
      ['P95 latency of 200 ms', { latency: { milliseconds: 200, percentile: 95 } }],
      ['sub-100ms responses', { latency: { milliseconds: 100 } }],
      ['latency under 0.5 s', { latency: { milliseconds: 500 } }],
      ['99th percentile 300ms', { latency: { milliseconds: 300, percentile: 99 } }],
      ['median 20ms latency', { latency: { milliseconds: 20, percentile: 50 } }],
      ['p50 20 ms, p99 120 ms latency', { latency: { milliseconds: 120, percentile: 99 } }],
      ['95% of requests under 200ms', { latency: { milliseconds: 200, percentile: 95 } }],
      ['response time below 1 second', { latency: { milliseconds: 1000 } }],
      ['p99.9 latency 10 ms', { latency: { milliseconds: 10, percentile: 99.9 } }],
      ['average latency of 30 milliseconds', { latency: { milliseconds: 30 } }],
      // availability as a fraction
      ['99.9% uptime', { availability: 0.999 }],
      ['99.95% availability', { availability: 0.9995 }],
      ['three nines', { availability: 0.999 }],
      ['four 9s', { availability: 0.9999 }],
      ['5 nines availability', { availability: 0.99999 }],
      ['three and a half nines', { availability: 0.9995 }],
      ['available 99.99% of the time', { availability: 0.9999 }],
      ['SLA of 99.5 percent', { availability: 0.995 }],
      ['95% uptime is enough', { availability: 0.95 }],
      // zero downtime
      ['zero downtime', { zeroDowntime: true }],
      ['zero-downtime deploys', { zeroDowntime: true }],
      ['no downtime during releases', { zeroDowntime: true }],
      ['some downtime is acceptable at night', { zeroDowntime: false }],
      // criticality
      ['production-critical', { criticality: 'critical' }],
      ['mission-critical billing', { criticality: 'critical' }],
      ['business critical', { criticality: 'critical' }],
      ['high priority', { criticality: 'high' }],
      ['non-critical', { criticality: 'low' }],
      ['best effort', { criticality: 'low' }],
      // environment
      ['runs in production', { environment: 'prod' }],
      ['prod', { environment: 'prod' }],
      ['Billing API, production, 300 RPS', { environment: 'prod', peakQps: 300 }],
      ['staging only', { environment: 'staging' }],
      ['for the dev environment', { environment: 'dev' }],
      ['development cluster', { environment: 'dev' }],
      // state
      ['stateless', { stateful: false }],
      ['stateful', { stateful: true }],
      ['needs persistent volumes', { stateful: true }],
      ['session affinity', { sessionAffinity: true }],
      ['sticky sessions', { sessionAffinity: true }],
      ['no sticky sessions needed', { sessionAffinity: false }],
      // storage sizes: binary and decimal
      ['50 GiB of storage', { storageBytes: 50 * GiB }],
      ['500GB of data', { storageBytes: 500e9 }],
      ['2 TB', { storageBytes: 2e12 }],
      ['1.5 TiB', { storageBytes: 1.5 * 2 ** 40 }],
      ['100Gi volume', { storageBytes: 100 * GiB }],
      // consistency
      ['strong consistency', { consistency: 'strong' }],
      ['strongly consistent reads', { consistency: 'strong' }],
      ['eventually consistent', { consistency: 'eventual' }],
      // data stores
      ['Postgres', { dataStores: ['postgres'] }],
      ['PG 16 with PostGIS', { dataStores: ['postgres'] }],
      ['Mongo', { dataStores: ['mongodb'] }],
      ['ES cluster for search', { dataStores: ['elasticsearch'] }],
      ['Elastic for logs', { dataStores: ['elasticsearch'] }],
      ['MySQL, MariaDB and Memcached', { dataStores: ['mysql', 'mariadb', 'memcached'] }],
      ['RabbitMQ and NATS', { dataStores: ['rabbitmq', 'nats'] }],
      ['Cassandra, DynamoDB, ClickHouse', { dataStores: ['cassandra', 'dynamodb', 'clickhouse'] }],
      ['files in S3, jobs via SQS', { dataStores: ['s3', 'sqs'] }],
      // languages and frameworks
      ['written in Golang', { languages: ['go'] }],
      ['Go service on Echo', { languages: ['go'], frameworks: ['echo'] }],
      ['Go + Fiber', { languages: ['go'], frameworks: ['fiber'] }],
      ['Kotlin with Quarkus', { languages: ['kotlin'], frameworks: ['quarkus'] }],
      ['Java 17 on Micronaut', { languages: ['java'], frameworks: ['micronaut'] }],
      ['TypeScript NestJS API', { languages: ['typescript'], frameworks: ['nestjs'] }],
      ['Fastify on Node 20', { languages: ['javascript'], frameworks: ['fastify'] }],
      ['Next.js frontend', { frameworks: ['nextjs'] }],
      ['Vue SPA and an Angular admin', { frameworks: ['vue', 'angular'] }],
      ['Python FastAPI', { languages: ['python'], frameworks: ['fastapi'] }],
      ['Flask app', { frameworks: ['flask'] }],
      ['Ruby on Rails monolith', { languages: ['ruby'], frameworks: ['rails'] }],
      ['Sinatra microservice', { frameworks: ['sinatra'] }],
      ['PHP 8 / Laravel', { languages: ['php'], frameworks: ['laravel'] }],
      ['C# ASP.NET Core', { languages: ['csharp'], frameworks: ['aspnet-core'] }],
      ['.NET 8 worker', { languages: ['csharp'] }],
      ['Rust with Axum', { languages: ['rust'], frameworks: ['axum'] }],
      ['Rust + Actix', { languages: ['rust'], frameworks: ['actix-web'] }],
      ['gRPC services', { frameworks: ['grpc'] }],
      // workload shape and special requirements
      ['nightly batch jobs', { batch: true }],
      ['a cron job every hour', { batch: true, workloadClass: 'periodic-job' }],
      ['ETL pipeline', { batch: true }],
      ['spiky traffic', { spiky: true }],
      ['bursty load', { spiky: true }],
      ['flash sale campaigns', { spiky: true }],
      ['steady traffic all day', { spiky: false }],
      ['GDPR compliant', { gdpr: true }],
      ['EU data residency', { gdpr: true }],
      ['geo-redundant', { geoRedundant: true }],
      ['multi-region deployment', { geoRedundant: true }],
      ['needs DR in a second site', { geoRedundant: true }],
      ['single region is fine', { geoRedundant: false }],
      // external dependencies
      ['calls Stripe API', { externalDependencies: ['stripe'] }],
      [
        'uses a third-party payment gateway',
        { externalDependencies: ['third-party payment gateway'] },
      ],
      ['integrates with the Acme Shipping API', { externalDependencies: ['acme-shipping'] }],
      ['sends SMS via Twilio', { externalDependencies: ['twilio'] }],
    ])('%s', (text, expected) => {
      const profile = parseDescription(text);

      expect(AppProfile.parse(profile)).toEqual(expected);
    });
  });

  describe('false-positive traps', () => {
    it.each<[string, AppProfile]>([
      ['We go live next week', {}],
      ['Go to market in March', {}],
      ['written in modern JS with ES6 modules', { languages: ['javascript'] }],
      ['uses ES2020 syntax', {}],
      ['upgrade the npm package', {}],
      ['we trust our users', {}],
      ['JavaScript only', { languages: ['javascript'] }],
      ['elastic scaling on demand', {}],
      ['runs on 3 Kubernetes nodes in the node pool', {}],
      ['we react quickly to incidents', {}],
      ['express delivery for orders', {}],
      ['1M monthly active users', {}],
      ['needs 4 GB RAM', {}],
      ['file uploads up to 10 MB', {}],
      ['request timeout of 30s', {}],
      ['CPU stays under 95%', {}],
      ['90% reads, 10% writes', {}],
      ['a production-ready template', {}],
      ['pre-prod checks', { environment: 'staging' }],
      ['no traffic spikes expected', { spiky: false }],
      ['100s of users', {}],
      ['not mission-critical', { criticality: 'low' }],
      ['a REST API', {}],
      ['hosted on Oracle Cloud', {}],
      ['production-grade logging', {}],
      ['10,000 concurrent requests', {}],
      ['99% of users are in Europe', {}],
      ['cache hit ratio of 99%', {}],
      ['1 GB/s of network throughput', {}],
      ['a 10 Gbps link', {}],
      ['our product catalogue', {}],
    ])('%s', (text, expected) => {
      const profile = parseDescription(text);

      expect(AppProfile.parse(profile)).toEqual(expected);
    });
  });

  describe('nothing stated', () => {
    it.each(['A simple service', '', '   ', 'Hello world, this is my app.'])('%p → {}', (text) => {
      const profile = parseDescription(text);

      expect(profile).toEqual({});
      expect(Object.keys(profile)).toHaveLength(0);
    });
  });

  it('is deterministic and leaves no undefined keys', () => {
    const text = 'Go API, 2k QPS peak, p99 < 80ms, Redis, three nines';

    const first = parseDescription(text);
    const second = parseDescription(text);

    expect(second).toEqual(first);
    expect(Object.values(first).every((v) => v !== undefined)).toBe(true);
  });

  it.each([
    'x'.repeat(100_000),
    '9'.repeat(5000) + ' QPS',
    '1,'.repeat(5000) + '000 rps',
    'p99 '.repeat(3000) + '< 1ms',
    'qps' + ' '.repeat(19_000) + 'x',
    'qps' + '\n'.repeat(19_000) + 'x',
  ])('survives pathological input #%#', (text) => {
    const started = Date.now();

    const profile = parseDescription(text);

    expect(AppProfile.safeParse(profile).success).toBe(true);
    // Generous bound: this guards against catastrophic regex backtracking, not speed.
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('request/parse-description contradictions', () => {
  it.each([
    ['Stateless Go API with 50 GiB of persistent storage', ['stateless-and-stateful']],
    ['Stateless API behind a load balancer', undefined],
    ['Stateful queue with a persistent volume', undefined],
  ])('%s', (text, expected) => {
    expect(parseDescription(text).contradictions).toEqual(expected);
  });
});

describe('request/parse-description workload classes', () => {
  it.each([
    ['A Kubernetes operator that reconciles Database custom resources', 'kubernetes-controller'],
    ['Admission webhook that validates every API request', 'kubernetes-controller'],
    ['The Jenkins controller: an automation server with a web UI', 'web-ui-server'],
    ['Prometheus exporter for our PostgreSQL database', 'metrics-exporter'],
    ['Log collector run on every node of the cluster', 'node-agent'],
    ['A background process that periodically deletes old preview environments', 'periodic-job'],
    ['Data processing pipeline that ingests events from Beats', 'stream-processor'],
    ['Service mesh control plane that pushes configuration to proxies', 'control-plane'],
    ['Order API for the shop, 500 req/s peak', undefined],
    ['A DNS server that answers cluster lookups and exposes Prometheus metrics', undefined],
  ])('%s → %s', (text, expected) => {
    expect(parseDescription(text).workloadClass).toBe(expected);
  });
});
