import { readFileSync } from 'node:fs';
import { parseDockerfile } from '../../../src/repo/dockerfile.js';
import type { ParsedDockerfile } from '../../../src/repo/dockerfile.js';
import { DockerfileFacts, Note } from '../../../src/repo/schema.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Parses and checks the result against the RepoFacts schemas; a schema violation fails the test. */
function parse(text: string, path = 'Dockerfile'): ParsedDockerfile {
  const result = parseDockerfile(text, path);
  DockerfileFacts.parse(result.facts);
  for (const note of result.notes) Note.parse(note);
  return result;
}

function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/repos/dockerfiles/${name}`, import.meta.url), 'utf8');
}

function dockerfile(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function codes(result: ParsedDockerfile): string[] {
  return result.notes.map((note) => note.code);
}

describe('repo/dockerfile', () => {
  describe('realistic Dockerfiles', () => {
    it.each([
      [
        'node-multistage.Dockerfile',
        {
          stages: [
            { index: 0, name: 'deps', baseImage: 'node:20.11.1-alpine' },
            { index: 1, name: 'build', baseImage: 'node:20.11.1-alpine' },
            { index: 2, name: 'runner', baseImage: 'node:20.11.1-alpine' },
          ],
          finalImage: { raw: 'node:20.11.1-alpine', name: 'node', tag: '20.11.1-alpine' },
          runtime: { name: 'node', version: '20.11.1' },
          expose: [{ port: 3000, protocol: 'tcp' }],
          user: 'node',
          healthcheck: {
            disabled: false,
            command: 'wget -qO- http://127.0.0.1:3000/healthz || exit 1',
            intervalSeconds: 30,
            timeoutSeconds: 3,
            retries: 3,
          },
          cmd: ['node', 'dist/server.js'],
          envKeys: ['NODE_ENV', 'PORT', 'NODE_OPTIONS'],
          hints: { nodeMaxOldSpaceBytes: 1536 * MiB },
        },
      ],
      [
        'python-gunicorn.Dockerfile',
        {
          finalImage: { name: 'python', tag: '3.12-slim' },
          runtime: { name: 'python', version: '3.12' },
          expose: [{ port: 8000, protocol: 'tcp' }],
          user: 'app',
          cmd: [
            'gunicorn',
            '--bind',
            '0.0.0.0:8000',
            '--workers',
            '4',
            '--threads',
            '2',
            'billing.wsgi:app',
          ],
          hints: { workers: { server: 'gunicorn', processes: 4, threads: 2 } },
          metadata: {
            name: 'billing-api',
            language: 'Python',
            framework: 'Flask',
            expected_qps: 1200,
            sla_latency_ms: 250,
            criticality: 'production',
            oom_tolerance: 'low',
            other: { owner: 'payments-team' },
          },
        },
      ],
      [
        'spring-boot.Dockerfile',
        {
          stages: [
            { index: 0, name: 'build', baseImage: 'maven:3.9-eclipse-temurin-21' },
            { index: 1, baseImage: 'eclipse-temurin:21-jre-alpine' },
          ],
          runtime: { name: 'java', version: '21' },
          user: 'spring:spring',
          expose: [{ port: 8080, protocol: 'tcp' }],
          healthcheck: {
            disabled: false,
            command: 'wget -qO- http://localhost:8080/actuator/health',
            intervalSeconds: 90,
            timeoutSeconds: 10,
            retries: 5,
          },
          entrypoint: ['sh', '-c', 'exec java $JAVA_OPTS -jar /app/app.jar'],
          hints: {
            jvmInitialHeapBytes: 256 * MiB,
            jvmMaxHeapBytes: 768 * MiB,
            jvmMaxRamPercentage: 75,
          },
        },
      ],
      [
        'go-distroless.Dockerfile',
        {
          stages: [
            { index: 0, name: 'build', baseImage: 'golang:1.22-alpine' },
            { index: 1, baseImage: 'gcr.io/distroless/static-debian12:nonroot' },
          ],
          finalImage: {
            name: 'distroless/static-debian12',
            registry: 'gcr.io',
            tag: 'nonroot',
          },
          runtime: { name: 'go', version: '1.22' },
          user: 'nonroot:nonroot',
          entrypoint: ['/server'],
          envKeys: ['GOMAXPROCS', 'GOMEMLIMIT', 'GIN_MODE'],
          hints: { gomaxprocs: 2, goMemLimitBytes: 450 * MiB },
          metadata: {
            name: 'order-service',
            language: 'Go',
            framework: 'Gin',
            expected_qps: 500,
            sla_latency_ms: 100,
            criticality: 'production',
            other: {},
          },
        },
      ],
      [
        'dotnet.Dockerfile',
        {
          finalImage: { name: 'dotnet/aspnet', registry: 'mcr.microsoft.com', tag: '8.0' },
          runtime: { name: 'dotnet', version: '8.0' },
          expose: [
            { port: 8080, protocol: 'tcp' },
            { port: 8081, protocol: 'tcp' },
          ],
          user: '$APP_UID',
          entrypoint: ['dotnet', 'Orders.Api.dll'],
          envKeys: ['ASPNETCORE_URLS', 'DOTNET_gcServer'],
        },
      ],
      [
        'rails-puma.Dockerfile',
        {
          stages: [
            { index: 0, name: 'base', baseImage: 'docker.io/library/ruby:3.3.4-slim' },
            { index: 1, name: 'build', baseImage: 'base' },
            { index: 2, baseImage: 'base' },
          ],
          finalImage: { name: 'ruby', registry: 'docker.io', tag: '3.3.4-slim' },
          runtime: { name: 'ruby', version: '3.3.4' },
          user: '1000:1000',
          expose: [{ port: 80, protocol: 'tcp' }],
          entrypoint: ['/rails/bin/docker-entrypoint'],
          cmd: ['./bin/thrust', './bin/rails', 'server'],
          envKeys: [
            'RAILS_ENV',
            'BUNDLE_DEPLOYMENT',
            'BUNDLE_PATH',
            'RAILS_MAX_THREADS',
            'WEB_CONCURRENCY',
          ],
          hints: { workers: { server: 'puma', processes: 2, threads: 5 } },
        },
      ],
    ])('reads %s', (name, expected) => {
      const text = fixture(name);

      const { facts, notes } = parse(text, `svc/${name}`);

      expect(facts).toMatchObject({ path: `svc/${name}`, ...expected });
      expect(notes).toEqual([]);
    });

    it('keeps hints of build stages out of the final image', () => {
      const text = fixture('node-multistage.Dockerfile');

      const { facts } = parse(text);

      expect(facts.hints.nodeMaxOldSpaceBytes).toBe(1536 * MiB);
      expect(facts.hints.sources).toEqual([
        {
          instruction: 'ENV',
          line: 22,
          text: 'ENV NODE_OPTIONS="--max-old-space-size=1536 --enable-source-maps"',
        },
      ]);
    });

    it('ignores Maven heap flags of the build stage', () => {
      const text = fixture('spring-boot.Dockerfile');

      const { facts } = parse(text);

      expect(facts.hints.jvmMaxHeapBytes).toBe(768 * MiB);
      expect(facts.hints.sources.map((source) => source.line)).toEqual([15]);
    });

    it('never keeps ENV values, which may be secrets', () => {
      const text = fixture('python-gunicorn.Dockerfile');

      const { facts } = parse(text);

      expect(facts.envKeys).toContain('DATABASE_URL');
      expect(JSON.stringify(facts)).not.toContain('s3cr3t');
    });

    it('reads a CRLF copy exactly like the LF original', () => {
      const lf = fixture('spring-boot.Dockerfile');

      const crlf = parse(lf.replace(/\n/g, '\r\n'));

      expect(crlf).toEqual(parse(lf));
    });
  });

  describe('stages and FROM', () => {
    it.each([
      ['${VAR}', dockerfile('ARG BASE=node:20', 'FROM ${BASE}'), 'node:20'],
      ['$VAR', dockerfile('ARG V=3.12', 'FROM python:$V-slim'), 'python:3.12-slim'],
      ['${VAR:-default}', dockerfile('ARG V', 'FROM golang:${V:-1.22}'), 'golang:1.22'],
      [
        'an ARG built from an ARG',
        dockerfile('ARG V=21', 'ARG IMG=eclipse-temurin:${V}-jre', 'FROM $IMG'),
        'eclipse-temurin:21-jre',
      ],
      ['--platform', dockerfile('FROM --platform=$BUILDPLATFORM rust:1.77 AS build'), 'rust:1.77'],
      ['lowercase instructions', dockerfile('arg v=20', 'from node:${v} as web'), 'node:20'],
    ])('substitutes global ARGs: %s', (_case, text, baseImage) => {
      const { facts, notes } = parse(text);

      expect(facts.stages[0]!.baseImage).toBe(baseImage);
      expect(notes).toEqual([]);
    });

    it.each([
      ['no default', dockerfile('ARG BASE', 'FROM ${BASE}'), '${BASE}'],
      [
        'an ARG declared after FROM',
        dockerfile('FROM alpine', 'ARG V=1', 'FROM node:$V'),
        'node:$V',
      ],
      ['a predefined platform ARG', dockerfile('FROM app-${TARGETARCH}:1'), 'app-${TARGETARCH}:1'],
    ])('keeps FROM as written when an ARG is unknown: %s', (_case, text, written) => {
      const { facts, notes } = parse(text);

      expect(facts.stages.at(-1)!.baseImage).toBe(written);
      expect(facts.finalImage?.raw).toBe(written);
      expect(codes({ facts, notes })).toEqual(['dockerfile-arg-in-from']);
    });

    it('follows stage aliases to the real image, case-insensitively', () => {
      const text = dockerfile(
        'FROM python:3.12-slim AS Base',
        'FROM base AS deps',
        'FROM golang:1.22 AS tools',
        'FROM DEPS AS final',
      );

      const { facts } = parse(text);

      expect(facts.stages.map((stage) => stage.baseImage)).toEqual([
        'python:3.12-slim',
        'base',
        'golang:1.22',
        'DEPS',
      ]);
      expect(facts.finalImage).toEqual({
        raw: 'python:3.12-slim',
        name: 'python',
        tag: '3.12-slim',
      });
      expect(facts.runtime).toEqual({ name: 'python', version: '3.12' });
    });

    it.each([
      [
        'scratch with a Go binary',
        dockerfile('FROM golang:1.23 AS b', 'FROM scratch', 'COPY --from=b /app /app'),
        { name: 'go', version: '1.23' },
      ],
      [
        'alpine with a Rust binary by index',
        dockerfile('FROM rust:1.79 AS b', 'FROM alpine:3.20', 'COPY --from=0 /x /x'),
        { name: 'rust', version: '1.79' },
      ],
      [
        'scratch without a build stage',
        dockerfile('FROM scratch', 'COPY app /app'),
        { name: 'native' },
      ],
      [
        'distroless copying from a node stage',
        dockerfile('FROM node:20 AS b', 'FROM gcr.io/distroless/static', 'COPY --from=b /a /a'),
        { name: 'native' },
      ],
    ])('names the runtime for %s', (_case, text, runtime) => {
      const { facts } = parse(text);

      expect(facts.runtime).toEqual(runtime);
    });

    it('leaves the runtime out for a plain OS image', () => {
      const text = dockerfile('FROM ubuntu:22.04', 'RUN apt-get install -y openjdk-17-jre');

      const { facts } = parse(text);

      expect(facts.runtime).toBeUndefined();
      expect(facts.finalImage?.name).toBe('ubuntu');
    });
  });

  describe('EXPOSE', () => {
    it.each([
      ['a single port', ['EXPOSE 80'], [{ port: 80, protocol: 'tcp' }]],
      [
        'protocols',
        ['EXPOSE 80/tcp 53/UDP'],
        [
          { port: 80, protocol: 'tcp' },
          { port: 53, protocol: 'udp' },
        ],
      ],
      [
        'a range',
        ['EXPOSE 8000-8002'],
        [8000, 8001, 8002].map((port) => ({ port, protocol: 'tcp' })),
      ],
      ['a port from ENV', ['ENV PORT=3000', 'EXPOSE $PORT'], [{ port: 3000, protocol: 'tcp' }]],
      [
        'a port from ARG',
        ['ARG PORT=5000', 'EXPOSE ${PORT}/udp'],
        [{ port: 5000, protocol: 'udp' }],
      ],
      ['a default in the reference', ['EXPOSE ${PORT:-8080}'], [{ port: 8080, protocol: 'tcp' }]],
      ['duplicates once', ['EXPOSE 8080', 'EXPOSE 8080/tcp'], [{ port: 8080, protocol: 'tcp' }]],
    ])('reads %s', (_case, lines, expose) => {
      const text = dockerfile('FROM alpine', ...lines);

      const { facts, notes } = parse(text);

      expect(facts.expose).toEqual(expose);
      expect(notes).toEqual([]);
    });

    it.each([
      ['an unknown variable', 'EXPOSE $PORT', []],
      ['an sctp port', 'EXPOSE 9000/sctp', []],
      ['a port above 65535', 'EXPOSE 70000', []],
      [
        'a wide range, capped',
        'EXPOSE 30000-40000',
        Array.from({ length: 32 }, (_, i) => 30000 + i),
      ],
    ])('notes %s', (_case, line, ports) => {
      const text = dockerfile('FROM alpine', line);

      const { facts, notes } = parse(text);

      expect(facts.expose.map((exposed) => exposed.port)).toEqual(ports);
      expect(notes.map((note) => note.code)).toEqual(['dockerfile-syntax']);
    });

    it('inherits ports from the stage the final stage is built FROM', () => {
      const text = dockerfile('FROM nginx:1.25 AS web', 'EXPOSE 80', 'FROM web', 'EXPOSE 443');

      const { facts } = parse(text);

      expect(facts.expose.map((exposed) => exposed.port)).toEqual([80, 443]);
    });
  });

  describe('USER', () => {
    it.each([
      [
        'the last USER of the final stage',
        ['FROM a AS b', 'USER builder', 'FROM c', 'USER one', 'USER two'],
        'two',
      ],
      ['a USER from an ARG default', ['FROM c', 'ARG APP_USER=svc', 'USER ${APP_USER}'], 'svc'],
      ['a USER inherited through an alias', ['FROM c AS base', 'USER 1001', 'FROM base'], '1001'],
      [
        'none when only a build stage sets one',
        ['FROM a AS b', 'USER builder', 'FROM c'],
        undefined,
      ],
    ])('takes %s', (_case, lines, user) => {
      const text = dockerfile(...lines);

      const { facts } = parse(text);

      expect(facts.user).toBe(user);
    });
  });

  describe('HEALTHCHECK', () => {
    it.each([
      ['NONE', 'HEALTHCHECK NONE', { disabled: true }],
      [
        'shell form',
        'HEALTHCHECK CMD curl -f http://localhost/ || exit 1',
        { disabled: false, command: 'curl -f http://localhost/ || exit 1' },
      ],
      [
        'exec form',
        'HEALTHCHECK CMD ["/bin/grpc_health_probe", "-addr=:50051"]',
        { disabled: false, command: '/bin/grpc_health_probe -addr=:50051' },
      ],
      [
        'seconds and retries',
        'HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD true',
        { disabled: false, command: 'true', intervalSeconds: 30, timeoutSeconds: 5, retries: 3 },
      ],
      [
        'compound durations',
        'HEALTHCHECK --interval=1m30s --timeout=500ms CMD true',
        { disabled: false, command: 'true', intervalSeconds: 90, timeoutSeconds: 0.5 },
      ],
      [
        'hours',
        'HEALTHCHECK --interval=1h CMD true',
        { disabled: false, command: 'true', intervalSeconds: 3600 },
      ],
      [
        'a duration without unit, ignored',
        'HEALTHCHECK --interval=30 --retries=x CMD true',
        { disabled: false, command: 'true' },
      ],
      [
        'a continuation line',
        'HEALTHCHECK --interval=10s \\\n  CMD wget -q \\\n  http://x/',
        { disabled: false, command: 'wget -q http://x/', intervalSeconds: 10 },
      ],
    ])('reads %s', (_case, line, healthcheck) => {
      const text = dockerfile('FROM alpine', line);

      const { facts } = parse(text);

      expect(facts.healthcheck).toEqual(healthcheck);
    });

    it('lets the final stage disable an inherited check', () => {
      const text = dockerfile(
        'FROM a AS base',
        'HEALTHCHECK CMD true',
        'FROM base',
        'HEALTHCHECK NONE',
      );

      const { facts } = parse(text);

      expect(facts.healthcheck).toEqual({ disabled: true });
    });

    it('notes a HEALTHCHECK with neither CMD nor NONE', () => {
      const text = dockerfile('FROM alpine', 'HEALTHCHECK curl localhost');

      const { facts, notes } = parse(text);

      expect(facts.healthcheck).toBeUndefined();
      expect(notes.map((note) => note.code)).toEqual(['dockerfile-syntax']);
    });
  });

  describe('ENTRYPOINT and CMD', () => {
    it.each([
      ['exec form', ['CMD ["node", "server.js"]'], undefined, ['node', 'server.js']],
      [
        'shell form',
        ['CMD node server.js --port 80'],
        undefined,
        ['/bin/sh', '-c', 'node server.js --port 80'],
      ],
      [
        'invalid JSON as shell form',
        ["CMD ['node', 'x.js']"],
        undefined,
        ['/bin/sh', '-c', "['node', 'x.js']"],
      ],
      [
        'a SHELL instruction',
        ['SHELL ["pwsh", "-Command"]', 'CMD Start-App'],
        undefined,
        ['pwsh', '-Command', 'Start-App'],
      ],
      ['both', ['ENTRYPOINT ["tini", "--"]', 'CMD ["app"]'], ['tini', '--'], ['app']],
      [
        'continuations with a comment inside',
        ['CMD ["gunicorn", \\', '  # bind everywhere', '  "-b", "0.0.0.0:80"]'],
        undefined,
        ['gunicorn', '-b', '0.0.0.0:80'],
      ],
      [
        'shell continuations',
        ['ENTRYPOINT exec java \\', '    -jar app.jar'],
        ['/bin/sh', '-c', 'exec java -jar app.jar'],
        undefined,
      ],
    ])('reads %s', (_case, lines, entrypoint, cmd) => {
      const text = dockerfile('FROM alpine', ...lines);

      const { facts } = parse(text);

      expect(facts.entrypoint).toEqual(entrypoint);
      expect(facts.cmd).toEqual(cmd);
    });

    it.each([
      [
        'resets a CMD inherited from the parent stage',
        ['FROM a AS base', 'CMD ["old"]', 'FROM base', 'ENTRYPOINT ["new"]'],
        undefined,
      ],
      [
        'keeps a CMD set in the same stage',
        ['FROM a', 'CMD ["arg"]', 'ENTRYPOINT ["new"]'],
        ['arg'],
      ],
      [
        'does not carry CMD across unrelated stages',
        ['FROM a AS build', 'CMD ["build"]', 'FROM b', 'ENTRYPOINT ["run"]'],
        undefined,
      ],
    ])('ENTRYPOINT %s', (_case, lines, cmd) => {
      const text = dockerfile(...lines);

      const { facts } = parse(text);

      expect(facts.cmd).toEqual(cmd);
    });
  });

  describe('hints', () => {
    it.each([
      [
        '-Xmx/-Xms in JAVA_OPTS',
        ['ENV JAVA_OPTS="-Xms512m -Xmx2g"'],
        { jvmInitialHeapBytes: 512 * MiB, jvmMaxHeapBytes: 2 * GiB },
      ],
      [
        'MaxRAMPercentage in JAVA_TOOL_OPTIONS',
        ['ENV JAVA_TOOL_OPTIONS="-XX:+UseContainerSupport -XX:MaxRAMPercentage=80.0"'],
        { jvmMaxRamPercentage: 80 },
      ],
      [
        'JDK_JAVA_OPTIONS in legacy ENV form',
        ['ENV JDK_JAVA_OPTIONS -Xmx1024m'],
        { jvmMaxHeapBytes: 1024 * MiB },
      ],
      [
        'a CMD flag over the environment',
        ['ENV JAVA_OPTS=-Xmx512m', 'CMD ["java", "-Xmx1g", "-jar", "app.jar"]'],
        { jvmMaxHeapBytes: GiB },
      ],
      [
        'an ENV built from an ARG',
        ['ARG HEAP=3g', 'ENV JAVA_OPTS="-Xmx${HEAP}"'],
        { jvmMaxHeapBytes: 3 * GiB },
      ],
      [
        'NODE_OPTIONS',
        ['ENV NODE_OPTIONS=--max-old-space-size=4096'],
        { nodeMaxOldSpaceBytes: 4096 * MiB },
      ],
      [
        'a node CMD flag',
        ['CMD node --max-old-space-size=2048 dist/main.js'],
        { nodeMaxOldSpaceBytes: 2048 * MiB },
      ],
      [
        'GOMAXPROCS and GOMEMLIMIT',
        ['ENV GOMAXPROCS=4 GOMEMLIMIT=1GiB'],
        { gomaxprocs: 4, goMemLimitBytes: GiB },
      ],
      ['GOMEMLIMIT in MiB', ['ENV GOMEMLIMIT=512MiB'], { goMemLimitBytes: 512 * MiB }],
      ['GOMAXPROCS as a command prefix', ['CMD GOMAXPROCS=2 ./server'], { gomaxprocs: 2 }],
      ['the last value of a variable', ['ENV GOMAXPROCS=8', 'ENV GOMAXPROCS=2'], { gomaxprocs: 2 }],
      ['an ENV that shadows an ARG', ['ARG GOMAXPROCS=16', 'ENV GOMAXPROCS=3'], { gomaxprocs: 3 }],
    ])('reads %s', (_case, lines, expected) => {
      const text = dockerfile('FROM base:1', ...lines);

      const { facts } = parse(text);

      expect(facts.hints).toEqual({ ...expected, sources: expect.any(Array) });
      expect(facts.hints.sources.length).toBeGreaterThan(0);
    });

    it('reads a global ARG before the first FROM', () => {
      const text = dockerfile('ARG JAVA_OPTS=-Xmx256m', 'FROM eclipse-temurin:21');

      const { facts } = parse(text);

      expect(facts.hints).toEqual({
        jvmMaxHeapBytes: 256 * MiB,
        sources: [{ instruction: 'ARG', line: 1, text: 'ARG JAVA_OPTS=-Xmx256m' }],
      });
    });

    it.each([
      [
        'gunicorn flags',
        ['CMD ["gunicorn", "-w", "4", "--threads", "2", "app:app"]'],
        { server: 'gunicorn', processes: 4, threads: 2 },
      ],
      [
        'gunicorn = flags',
        ['CMD gunicorn --workers=3 -k uvicorn.workers.UvicornWorker main:app'],
        { server: 'gunicorn', processes: 3 },
      ],
      [
        'gunicorn packed -w',
        ['CMD exec gunicorn -w5 app:app'],
        { server: 'gunicorn', processes: 5 },
      ],
      [
        'GUNICORN_CMD_ARGS',
        ['ENV GUNICORN_CMD_ARGS="--workers 6 --threads 4"', 'CMD ["gunicorn", "app:app"]'],
        { server: 'gunicorn', processes: 6, threads: 4 },
      ],
      [
        'WEB_CONCURRENCY with gunicorn',
        ['ENV WEB_CONCURRENCY=3', 'CMD ["gunicorn", "app:app"]'],
        { server: 'gunicorn', processes: 3 },
      ],
      [
        'a gunicorn flag over WEB_CONCURRENCY',
        ['ENV WEB_CONCURRENCY=3', 'CMD ["gunicorn", "-w", "8", "app:app"]'],
        { server: 'gunicorn', processes: 8 },
      ],
      [
        'a flag from ENV at run time',
        ['ENV WORKERS=7', 'CMD gunicorn --workers $WORKERS app:app'],
        { server: 'gunicorn', processes: 7 },
      ],
      [
        'uvicorn',
        ['CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--workers", "4"]'],
        { server: 'uvicorn', processes: 4 },
      ],
      [
        'python -m uvicorn',
        ['CMD ["python", "-m", "uvicorn", "main:app", "--workers=2"]'],
        { server: 'uvicorn', processes: 2 },
      ],
      [
        'gunicorn inside sh -c',
        ['ENTRYPOINT ["/bin/sh", "-c", "exec gunicorn -w 3 app:app"]'],
        { server: 'gunicorn', processes: 3 },
      ],
      [
        'puma -w and -t min:max',
        ['CMD bundle exec puma -w 3 -t 5:5 -C config/puma.rb'],
        { server: 'puma', processes: 3, threads: 5 },
      ],
      [
        'RAILS_MAX_THREADS and WEB_CONCURRENCY',
        ['ENV RAILS_MAX_THREADS=8 WEB_CONCURRENCY=2'],
        { server: 'puma', processes: 2, threads: 8 },
      ],
      [
        'php-fpm pm.max_children from ENV',
        ['ENV PHP_FPM_PM_MAX_CHILDREN=24'],
        { server: 'php-fpm', processes: 24 },
      ],
      [
        'php-fpm pm.max_children written by RUN',
        [
          "RUN sed -i 's/pm.max_children = 5/pm.max_children = 20/' /usr/local/etc/php-fpm.d/www.conf",
          'CMD ["php-fpm"]',
        ],
        { server: 'php-fpm', processes: 20 },
      ],
      [
        'celery concurrency',
        ['CMD celery -A proj worker --concurrency=4 -l info'],
        { server: 'celery', processes: 4 },
      ],
      [
        'pm2 instances',
        ['CMD ["pm2-runtime", "start", "app.js", "-i", "4"]'],
        { server: 'pm2', processes: 4 },
      ],
      [
        'UV_THREADPOOL_SIZE',
        ['ENV UV_THREADPOOL_SIZE=16', 'CMD ["node", "index.js"]'],
        { server: 'libuv', threads: 16 },
      ],
      ['WEB_CONCURRENCY alone', ['ENV WEB_CONCURRENCY=4'], { server: 'unknown', processes: 4 }],
    ])('reads workers from %s', (_case, lines, workers) => {
      const text = dockerfile('FROM base:1', ...lines);

      const { facts } = parse(text);

      expect(facts.hints.workers).toEqual(workers);
    });

    it.each([
      ['build-tool flags in RUN', ['RUN ./gradlew build -Dorg.gradle.jvmargs=-Xmx2g'], []],
      [
        'a shell-form ENTRYPOINT, which drops CMD',
        ['ENTRYPOINT ./start.sh', 'CMD ["gunicorn", "-w", "4", "app:app"]'],
        [],
      ],
      ['a build stage only', ['ENV GOMAXPROCS=4'], ['FROM scratch']],
      ['an ARG without a value', ['ARG JAVA_OPTS', 'CMD java $JAVA_OPTS -jar x.jar'], []],
    ])('finds no hint in %s', (_case, lines, after) => {
      const text = dockerfile('FROM base:1', ...lines, ...after);

      const { facts } = parse(text);

      expect(facts.hints).toEqual({ sources: [] });
    });

    it('quotes each contributing instruction once, with its 1-based line', () => {
      const text = dockerfile(
        'FROM eclipse-temurin:21',
        'ENV JAVA_OPTS="-Xms1g -Xmx1g" \\',
        '    GOMAXPROCS=2',
        'CMD ["java", "-XX:MaxRAMPercentage=70", "-jar", "a.jar"]',
      );

      const { facts } = parse(text);

      expect(facts.hints.sources).toEqual([
        { instruction: 'ENV', line: 2, text: 'ENV JAVA_OPTS="-Xms1g -Xmx1g"' },
        { instruction: 'ENV', line: 3, text: 'ENV GOMAXPROCS=2' },
        {
          instruction: 'CMD',
          line: 4,
          text: 'CMD ["java", "-XX:MaxRAMPercentage=70", "-jar", "a.jar"]',
        },
      ]);
    });

    it('keeps only ENV keys of the final image', () => {
      const text = dockerfile(
        'FROM node:20 AS build',
        'ENV BUILD_ONLY=1',
        'FROM node:20 AS base',
        'ENV INHERITED=1',
        'FROM base',
        'ENV OWN=1 SECRET_TOKEN=hunter2',
        'ENV OWN=2',
      );

      const { facts } = parse(text);

      expect(facts.envKeys).toEqual(['INHERITED', 'OWN', 'SECRET_TOKEN']);
      expect(JSON.stringify(facts)).not.toContain('hunter2');
    });
  });

  describe('application metadata header', () => {
    const SPEC_HEADER = [
      '# --- Application Metadata ---',
      '# name:       order-service',
      '# language:   Go',
      '# framework:  Gin',
      '# expected_qps: 500',
      '# sla_latency_ms: 100',
      '# criticality: production',
      '# --------------------------------',
    ];
    const SPEC_METADATA = {
      name: 'order-service',
      language: 'Go',
      framework: 'Gin',
      expected_qps: 500,
      sla_latency_ms: 100,
      criticality: 'production',
      other: {},
    };

    it.each([
      ['the SPEC §2 block', dockerfile(...SPEC_HEADER, 'FROM scratch'), SPEC_METADATA],
      [
        'a missing closing line',
        dockerfile(...SPEC_HEADER.slice(0, -1), 'FROM scratch'),
        SPEC_METADATA,
      ],
      [
        'CRLF line endings',
        dockerfile(...SPEC_HEADER, 'FROM scratch').replace(/\n/g, '\r\n'),
        SPEC_METADATA,
      ],
      [
        'a header after a parser directive',
        dockerfile('# syntax=docker/dockerfile:1', ...SPEC_HEADER, 'FROM scratch'),
        SPEC_METADATA,
      ],
      [
        'keys in any case, extra spaces, quotes and other keys',
        dockerfile(
          '#---   application metadata   ---',
          '#   NAME :  "web"  ',
          '# Expected_QPS: 2k',
          '# SLA-Latency-MS: 150ms',
          '# OOM_Tolerance: none',
          '# Team: platform',
          '#',
          '# ---',
          'FROM scratch',
        ),
        {
          name: 'web',
          expected_qps: 2000,
          sla_latency_ms: 150,
          oom_tolerance: 'none',
          other: { team: 'platform' },
        },
      ],
    ])('reads %s', (_case, text, metadata) => {
      const { facts, notes } = parse(text);

      expect(facts.metadata).toEqual(metadata);
      expect(notes).toEqual([]);
    });

    it.each([
      ['expected_qps', '# expected_qps: lots', { name: 'x', other: {} }],
      ['sla_latency_ms', '# sla_latency_ms: 2s', { name: 'x', other: {} }],
    ])('notes a non-numeric %s and leaves it out', (key, line, metadata) => {
      const text = dockerfile('# --- Application Metadata ---', '# name: x', line, 'FROM scratch');

      const { facts, notes } = parse(text);

      expect(facts.metadata).toEqual(metadata);
      expect(notes).toEqual([
        { code: 'metadata-invalid', path: 'Dockerfile', message: expect.stringContaining(key) },
      ]);
    });

    it('stops at the first instruction and ignores later comments', () => {
      const text = dockerfile(
        '# --- Application Metadata ---',
        '# name: x',
        'FROM scratch',
        '# criticality: low',
      );

      const { facts } = parse(text);

      expect(facts.metadata).toEqual({ name: 'x', other: {} });
    });

    it('is absent without a header', () => {
      const text = dockerfile('# name: not-metadata', 'FROM scratch');

      const { facts } = parse(text);

      expect(facts.metadata).toBeUndefined();
    });
  });

  describe('bad input', () => {
    it.each([
      ['an empty file', '', 'dockerfile-syntax'],
      ['whitespace only', ' \n\t\n', 'dockerfile-syntax'],
      ['comments and no FROM', dockerfile('# just a comment', 'RUN echo hi'), 'dockerfile-syntax'],
      ['NUL bytes', 'FROM node\u0000\u0001\u0002ELF', 'dockerfile-unreadable'],
      [
        'mostly replacement characters',
        '\uFFFD\uFFFD\u0001\uFFFDFROM\uFFFD\uFFFD',
        'dockerfile-unreadable',
      ],
    ])('returns minimal facts for %s', (_case, text, code) => {
      const { facts, notes } = parse(text, 'svc/Dockerfile');

      expect(facts).toMatchObject({ path: 'svc/Dockerfile', stages: [], expose: [], envKeys: [] });
      expect(notes.map((note) => note.code)).toContain(code);
      expect(notes.every((note) => note.path === 'svc/Dockerfile')).toBe(true);
    });

    it('turns a parser exception into a dockerfile-unreadable note', () => {
      const notText = 42 as unknown as string;

      const { facts, notes } = parse(notText);

      expect(facts).toEqual({
        path: 'Dockerfile',
        stages: [],
        expose: [],
        envKeys: [],
        hints: { sources: [] },
      });
      expect(notes.map((note) => note.code)).toEqual(['dockerfile-unreadable']);
    });

    it('notes unknown instructions and keeps reading', () => {
      const text = dockerfile(
        'FROM node:20',
        'RUN npm ci &&',
        '    npm run build',
        'FOO bar',
        'EXPOSE 3000',
      );

      const { facts, notes } = parse(text);

      expect(facts.expose).toEqual([{ port: 3000, protocol: 'tcp' }]);
      expect(notes).toEqual([
        {
          code: 'dockerfile-syntax',
          path: 'Dockerfile',
          message: 'Unknown instructions ignored: NPM (line 3), FOO (line 4)',
        },
      ]);
    });

    it('notes instructions before the first FROM', () => {
      const text = dockerfile('ENV A=1', 'FROM alpine');

      const { facts, notes } = parse(text);

      expect(facts.envKeys).toEqual([]);
      expect(notes.map((note) => note.message)).toEqual([
        'Instructions before the first FROM ignored: lines 1',
      ]);
    });

    it('notes a FROM without an image', () => {
      const text = dockerfile('FROM');

      const { facts, notes } = parse(text);

      expect(facts.finalImage).toBeUndefined();
      expect(notes.map((note) => note.code)).toEqual(['dockerfile-syntax']);
    });

    it('never reads heredoc bodies as instructions and keeps line numbers', () => {
      const text = fixture('heredoc.Dockerfile');

      const { facts, notes } = parse(text);

      expect(facts.stages).toEqual([{ index: 0, name: 'app', baseImage: 'python:3.11-slim' }]);
      expect(facts.expose).toEqual([{ port: 9000, protocol: 'tcp' }]);
      expect(facts.user).toBeUndefined();
      expect(facts.cmd).toEqual(['python', '-m', 'app']);
      expect(facts.envKeys).toEqual(['APP_PORT']);
      expect(notes).toEqual([
        {
          code: 'dockerfile-heredoc',
          path: 'Dockerfile',
          message: 'Heredoc bodies not parsed as instructions: lines 4-7, 9-11, 13-16',
        },
      ]);
    });

    it('keeps line numbers after a heredoc for hint sources', () => {
      const text = dockerfile(
        'FROM python:3.12',
        'RUN <<EOF',
        'pip install x',
        'EOF',
        'ENV WEB_CONCURRENCY=2',
      );

      const { facts } = parse(text);

      expect(facts.hints.sources).toEqual([
        { instruction: 'ENV', line: 5, text: 'ENV WEB_CONCURRENCY=2' },
      ]);
    });

    it('notes a heredoc that is never closed', () => {
      const text = dockerfile('FROM alpine', 'RUN <<EOF', 'echo hi', 'CMD ["x"]');

      const { facts, notes } = parse(text);

      expect(facts.cmd).toBeUndefined();
      expect(notes[0]!.message).toContain('never closed');
    });

    it.each([
      ['a shift operator', 'RUN echo $((1<<3))'],
      ['a here-string', 'RUN cat <<<"text"'],
      ['exec form', 'RUN ["sh", "-c", "cat <<EOF"]'],
    ])('adds no heredoc note for %s', (_case, line) => {
      const text = dockerfile('FROM alpine', line, 'CMD ["x"]');

      const { facts, notes } = parse(text);

      expect(facts.cmd).toEqual(['x']);
      expect(notes).toEqual([]);
    });

    it('honours the escape parser directive', () => {
      const text = dockerfile(
        '# escape=`',
        'FROM mcr.microsoft.com/windows/servercore:ltsc2022',
        'CMD powershell `',
        '  -File C:\\app\\run.ps1',
      );

      const { facts } = parse(text);

      expect(facts.cmd).toEqual(['/bin/sh', '-c', 'powershell -File C:\\app\\run.ps1']);
    });

    it('reads a Windows-style file with a BOM and CRLF', () => {
      const text =
        '\uFEFFFROM node:20\r\nENV PORT=8080\r\nEXPOSE $PORT\r\nCMD ["node", "a.js"]\r\n';

      const { facts, notes } = parse(text);

      expect(facts.finalImage?.name).toBe('node');
      expect(facts.expose).toEqual([{ port: 8080, protocol: 'tcp' }]);
      expect(facts.cmd).toEqual(['node', 'a.js']);
      expect(notes).toEqual([]);
    });

    it('stays linear on a large Dockerfile', () => {
      const body = Array.from({ length: 5000 }, (_, i) => `ENV KEY_${i}=value-${i}`);
      const text = dockerfile('FROM alpine', ...body, 'ENV GOMAXPROCS=2');

      const { facts } = parse(text);

      expect(facts.envKeys).toHaveLength(5001);
      expect(facts.hints.gomaxprocs).toBe(2);
    });
  });
});
