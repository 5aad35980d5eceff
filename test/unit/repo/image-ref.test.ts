import {
  canonicalRepository,
  parseImageRef,
  repositoryAsWritten,
  runtimeFromImage,
  shortImageName,
} from '../../../src/repo/image-ref.js';
import { ImageRef } from '../../../src/repo/schema.js';

describe('repo/image-ref', () => {
  describe('parseImageRef', () => {
    it.each([
      ['node:20-alpine', { name: 'node', tag: '20-alpine' }],
      ['docker.io/library/postgres:16', { name: 'postgres', registry: 'docker.io', tag: '16' }],
      ['library/redis:7', { name: 'redis', tag: '7' }],
      [
        'ghcr.io/acme/api@sha256:0123abcd',
        { name: 'acme/api', registry: 'ghcr.io', digest: 'sha256:0123abcd' },
      ],
      [
        'ghcr.io/acme/api:1.4.2@sha256:0123abcd',
        { name: 'acme/api', registry: 'ghcr.io', tag: '1.4.2', digest: 'sha256:0123abcd' },
      ],
      ['localhost:5000/x:1', { name: 'x', registry: 'localhost:5000', tag: '1' }],
      ['localhost/tools/x', { name: 'tools/x', registry: 'localhost' }],
      [
        'registry.example.com:5000/team/app',
        { name: 'team/app', registry: 'registry.example.com:5000' },
      ],
      ['eclipse-temurin:21-jre', { name: 'eclipse-temurin', tag: '21-jre' }],
      [
        'mcr.microsoft.com/dotnet/aspnet:8.0',
        { name: 'dotnet/aspnet', registry: 'mcr.microsoft.com', tag: '8.0' },
      ],
      ['quay.io/library/thing:1', { name: 'library/thing', registry: 'quay.io', tag: '1' }],
      ['bitnami/node:20', { name: 'bitnami/node', tag: '20' }],
      ['scratch', { name: 'scratch' }],
      ['${BASE}', { name: '${BASE}' }],
      ['${BASE:-node:20}', { name: '${BASE:-node:20}' }],
      ['node:${NODE_VERSION}-alpine', { name: 'node', tag: '${NODE_VERSION}-alpine' }],
    ])('splits %s', (raw, expected) => {
      const ref = parseImageRef(raw);

      expect(ref).toEqual({ raw, ...expected });
      expect(ImageRef.parse(ref)).toEqual(ref);
    });

    it('trims surrounding whitespace into raw', () => {
      const ref = parseImageRef('  node:20 \n');

      expect(ref).toEqual({ raw: 'node:20', name: 'node', tag: '20' });
    });
  });

  describe('runtimeFromImage', () => {
    it.each([
      ['node:20-alpine', { name: 'node', version: '20' }],
      ['node:20.11.1-bookworm-slim', { name: 'node', version: '20.11.1' }],
      ['node:lts-alpine', { name: 'node' }],
      ['node@sha256:0123abcd', { name: 'node' }],
      ['python:3.12-slim', { name: 'python', version: '3.12' }],
      ['docker.io/library/python:3.11.9-alpine3.20', { name: 'python', version: '3.11.9' }],
      ['golang:1.22-alpine', { name: 'go', version: '1.22' }],
      ['eclipse-temurin:21-jre', { name: 'java', version: '21' }],
      ['eclipse-temurin:17.0.10_7-jre-jammy', { name: 'java', version: '17' }],
      ['openjdk:8u342-jdk', { name: 'java', version: '8' }],
      ['amazoncorretto:21-alpine', { name: 'java', version: '21' }],
      ['ibm-semeru-runtimes:open-17-jre', { name: 'java', version: '17' }],
      ['maven:3.9-eclipse-temurin-21', { name: 'java', version: '21' }],
      ['gradle:8.7-jdk17-alpine', { name: 'java', version: '17' }],
      ['maven:3.9.6', { name: 'java' }],
      ['gcr.io/distroless/java21-debian12', { name: 'java', version: '21' }],
      ['gcr.io/distroless/java17-debian12:nonroot', { name: 'java', version: '17' }],
      ['gcr.io/distroless/nodejs20-debian12', { name: 'node', version: '20' }],
      ['gcr.io/distroless/python3-debian12', { name: 'python', version: '3' }],
      ['gcr.io/distroless/static-debian12:nonroot', { name: 'native' }],
      ['gcr.io/distroless/base-debian12', { name: 'native' }],
      ['scratch', { name: 'native' }],
      ['mcr.microsoft.com/dotnet/aspnet:8.0', { name: 'dotnet', version: '8.0' }],
      ['mcr.microsoft.com/dotnet/runtime:6.0-alpine', { name: 'dotnet', version: '6.0' }],
      ['mcr.microsoft.com/dotnet/sdk:8.0.204-jammy', { name: 'dotnet', version: '8.0.204' }],
      ['ruby:3.3-slim', { name: 'ruby', version: '3.3' }],
      ['php:8.3-fpm-alpine', { name: 'php', version: '8.3' }],
      ['bitnami/php-fpm:8.2', { name: 'php', version: '8.2' }],
      ['elixir:1.16-alpine', { name: 'elixir', version: '1.16' }],
      ['hexpm/elixir:1.16.2-erlang-26.2.5-alpine-3.19.1', { name: 'elixir', version: '1.16.2' }],
      ['rust:1.77-slim', { name: 'rust', version: '1.77' }],
      ['nginx:1.25-alpine', { name: 'nginx', version: '1.25' }],
      ['bitnami/node:20.11.1-debian-12-r0', { name: 'node', version: '20.11.1' }],
      ['harbor.corp.example/hub-proxy/library/python:3.11', { name: 'python', version: '3.11' }],
      ['cgr.dev/chainguard/node:latest', { name: 'node' }],
    ])('%s runs %p', (raw, expected) => {
      const image = parseImageRef(raw);

      const runtime = runtimeFromImage(image);

      expect(runtime).toEqual(expected);
    });

    it.each([
      'alpine:3.19',
      'ubuntu:22.04',
      'debian:bookworm-slim',
      '${BASE}',
      'acme/internal-base:1.0',
    ])('%s names no runtime', (raw) => {
      const image = parseImageRef(raw);

      const runtime = runtimeFromImage(image);

      expect(runtime).toBeUndefined();
    });
  });
});

describe('repo/image-ref repository names', () => {
  it.each([
    ['nginx:1.25', 'nginx', 'nginx'],
    ['docker.io/library/postgres:16@sha256:abc', 'docker.io/library/postgres', 'postgres'],
    ['GHCR.io/Acme/Orders:1.4.2', 'GHCR.io/Acme/Orders', 'ghcr.io/acme/orders'],
    ['localhost:5000/app', 'localhost:5000/app', 'localhost:5000/app'],
    [
      'registry.acme.io/payments/billing-svc@sha256:def',
      'registry.acme.io/payments/billing-svc',
      'registry.acme.io/payments/billing-svc',
    ],
  ])('%s is written %s and known as %s', (raw, written, canonical) => {
    const ref = parseImageRef(raw);

    expect(repositoryAsWritten(ref)).toBe(written);
    expect(canonicalRepository(ref)).toBe(canonical);
  });
});

describe('repo/image-ref shortImageName', () => {
  it.each([
    ['docker.io/bitnami/redis:7.2', 'redis'],
    ['postgres:16@sha256:abc', 'postgres'],
    ['mcr.microsoft.com/dotnet/aspnet:8.0', 'aspnet'],
    ['GHCR.io/Acme/Orders', 'orders'],
  ])('%s → %s', (raw, expected) => {
    expect(shortImageName(raw)).toBe(expected);
  });
});
