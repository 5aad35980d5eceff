/**
 * Container image references: splitting "registry/name:tag@digest" into parts, and naming the
 * language runtime a well-known base image carries. Pure string work, never a registry lookup.
 */
import type { ImageRef } from './schema.js';

/** Registries that mean Docker Hub, where official images live under an implicit "library/". */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * Splits an image reference the way Docker does: a first path part with a dot, a colon or
 * "localhost" is a registry; a colon after the last slash starts the tag; "@" starts the digest.
 * Unresolved build variables ("${BASE}", "node:${V}-alpine") are kept verbatim, and a colon inside
 * "${…}" never splits. Docker Hub's "library/" prefix is dropped from `name`.
 */
export function parseImageRef(raw: string): ImageRef {
  const text = raw.trim();
  // Blank out ${…} so a ":-default" inside it is not taken for a tag separator.
  const masked = text.replace(/\$\{[^}]*\}/g, (m) => '_'.repeat(m.length));

  let end = text.length;
  let digest: string | undefined;
  const at = masked.indexOf('@');
  if (at >= 0) {
    digest = text.slice(at + 1);
    end = at;
  }

  let tag: string | undefined;
  const colon = masked.lastIndexOf(':', end - 1);
  const lastSlash = masked.lastIndexOf('/', end - 1);
  if (colon > lastSlash) {
    tag = text.slice(colon + 1, end);
    end = colon;
  }

  let start = 0;
  let registry: string | undefined;
  const firstSlash = masked.indexOf('/');
  if (firstSlash > 0 && firstSlash < end) {
    const head = masked.slice(0, firstSlash);
    if (head.includes('.') || head.includes(':') || head === 'localhost') {
      registry = text.slice(0, firstSlash);
      start = firstSlash + 1;
    }
  }

  let name = text.slice(start, end);
  if (
    (registry === undefined || DOCKER_HUB.has(registry.toLowerCase())) &&
    name.startsWith('library/')
  ) {
    name = name.slice('library/'.length);
  }

  return {
    raw: text,
    name: name === '' ? text : name,
    ...(registry !== undefined && { registry }),
    ...(tag !== undefined && tag !== '' && { tag }),
    ...(digest !== undefined && digest !== '' && { digest }),
  };
}

/** The image's own name, lower-cased, without registry, path or tag: "docker.io/bitnami/redis:7" → "redis". */
export function shortImageName(raw: string): string {
  const name = parseImageRef(raw).name;
  return (name.split('/').pop() ?? name).toLowerCase();
}

/** The repository exactly as written, without tag or digest (kustomize `images:` rules name it so). */
export function repositoryAsWritten(ref: ImageRef): string {
  let end = ref.raw.length;
  if (ref.digest !== undefined) end -= ref.digest.length + 1;
  if (ref.tag !== undefined) end -= ref.tag.length + 1;
  return ref.raw.slice(0, end);
}

/** Registry and name, lower-cased, with Docker Hub's own prefixes dropped: "docker.io/library/x" is "x". */
export function canonicalRepository(ref: ImageRef): string {
  const hub = ref.registry === undefined || DOCKER_HUB.has(ref.registry.toLowerCase());
  return (hub ? ref.name : `${ref.registry}/${ref.name}`).toLowerCase();
}

/**
 * Where a family keeps its version: the numeric prefix of the tag ("3.12-slim" → "3.12"), only the
 * leading major ("17.0.9_9-jre" → "17"), digits at the end of the image name (distroless
 * "java21"), a pattern inside the tag (maven "3.9-eclipse-temurin-21" → "21"), or nowhere.
 */
type VersionRule = 'tag' | 'tag-major' | 'name' | 'none' | { tagPattern: RegExp };

interface RuntimeFamily {
  runtime: string;
  version: VersionRule;
}

/** Build images (maven, gradle, tomcat) name the JDK inside the tag. */
const JDK_IN_TAG = {
  tagPattern:
    /(?:jdk|jre|java|temurin|openjdk|corretto|zulu|sapmachine|semeru|graalvm|liberica)-?(?<v>\d+)/i,
};

/**
 * Well-known base images → runtime, one line per family. Keys are lower-case names as
 * `parseImageRef` gives them, registry-qualified outside Docker Hub. Distroless-style names are
 * looked up without their "-debian12" suffix and trailing version digits.
 *
 * `native` marks images that carry no language runtime at all (scratch, distroless static/base/cc):
 * what runs there is a self-contained binary (Go, Rust, C/C++). Plain OS images (alpine, debian,
 * ubuntu, busybox) are deliberately absent: they name no runtime, so the answer is undefined.
 */
const RUNTIME_BY_IMAGE = new Map<string, RuntimeFamily>([
  ['node', { runtime: 'node', version: 'tag' }],
  ['gcr.io/distroless/nodejs', { runtime: 'node', version: 'name' }],
  ['oven/bun', { runtime: 'bun', version: 'tag' }],
  ['denoland/deno', { runtime: 'deno', version: { tagPattern: /(?<v>\d+(?:\.\d+)*)/ } }],
  ['python', { runtime: 'python', version: 'tag' }],
  ['pypy', { runtime: 'pypy', version: 'tag' }],
  ['gcr.io/distroless/python', { runtime: 'python', version: 'name' }],
  [
    'tiangolo/uvicorn-gunicorn-fastapi',
    { runtime: 'python', version: { tagPattern: /python(?<v>\d+(?:\.\d+)?)/ } },
  ],
  ['golang', { runtime: 'go', version: 'tag' }],
  ['eclipse-temurin', { runtime: 'java', version: 'tag-major' }],
  ['openjdk', { runtime: 'java', version: 'tag-major' }],
  ['amazoncorretto', { runtime: 'java', version: 'tag-major' }],
  ['ibm-semeru-runtimes', { runtime: 'java', version: { tagPattern: /open-(?<v>\d+)/ } }],
  ['sapmachine', { runtime: 'java', version: 'tag-major' }],
  ['azul/zulu-openjdk', { runtime: 'java', version: 'tag-major' }],
  ['azul/zulu-openjdk-alpine', { runtime: 'java', version: 'tag-major' }],
  ['bellsoft/liberica-openjdk-alpine', { runtime: 'java', version: 'tag-major' }],
  ['mcr.microsoft.com/openjdk/jdk', { runtime: 'java', version: 'tag-major' }],
  ['gcr.io/distroless/java', { runtime: 'java', version: 'name' }],
  ['java', { runtime: 'java', version: 'tag-major' }],
  ['maven', { runtime: 'java', version: JDK_IN_TAG }],
  ['gradle', { runtime: 'java', version: JDK_IN_TAG }],
  ['tomcat', { runtime: 'java', version: JDK_IN_TAG }],
  ['jetty', { runtime: 'java', version: JDK_IN_TAG }],
  ['jruby', { runtime: 'jruby', version: 'tag' }],
  ['mcr.microsoft.com/dotnet/aspnet', { runtime: 'dotnet', version: 'tag' }],
  ['mcr.microsoft.com/dotnet/runtime', { runtime: 'dotnet', version: 'tag' }],
  ['mcr.microsoft.com/dotnet/runtime-deps', { runtime: 'dotnet', version: 'tag' }],
  ['mcr.microsoft.com/dotnet/sdk', { runtime: 'dotnet', version: 'tag' }],
  ['dotnet', { runtime: 'dotnet', version: 'tag' }],
  ['aspnet-core', { runtime: 'dotnet', version: 'tag' }],
  ['ruby', { runtime: 'ruby', version: 'tag' }],
  ['php', { runtime: 'php', version: 'tag' }],
  ['php-fpm', { runtime: 'php', version: 'tag' }],
  ['serversideup/php', { runtime: 'php', version: 'tag' }],
  ['elixir', { runtime: 'elixir', version: 'tag' }],
  ['hexpm/elixir', { runtime: 'elixir', version: 'tag' }],
  ['erlang', { runtime: 'erlang', version: 'tag' }],
  ['rust', { runtime: 'rust', version: 'tag' }],
  ['nginx', { runtime: 'nginx', version: 'tag' }],
  ['nginxinc/nginx-unprivileged', { runtime: 'nginx', version: 'tag' }],
  ['openresty/openresty', { runtime: 'nginx', version: 'none' }],
  ['httpd', { runtime: 'httpd', version: 'tag' }],
  ['caddy', { runtime: 'caddy', version: 'tag' }],
  ['scratch', { runtime: 'native', version: 'none' }],
  ['gcr.io/distroless/static', { runtime: 'native', version: 'none' }],
  ['gcr.io/distroless/base', { runtime: 'native', version: 'none' }],
  ['gcr.io/distroless/base-nossl', { runtime: 'native', version: 'none' }],
  ['gcr.io/distroless/cc', { runtime: 'native', version: 'none' }],
  ['cgr.dev/chainguard/static', { runtime: 'native', version: 'none' }],
]);

const LEADING_VERSION = /^v?(?<v>\d+(?:\.\d+)*)/;
const LEADING_MAJOR = /^v?(?<v>\d+)/;

/**
 * The language runtime a base image carries, from the family table above. Also recognises mirrors
 * and vendor rebuilds of official images by their last path segment ("bitnami/node",
 * "harbor.corp/hub-proxy/library/python", "cgr.dev/chainguard/node"). Undefined for OS images,
 * private base images and unresolved "${BASE}".
 */
export function runtimeFromImage(image: ImageRef): { name: string; version?: string } | undefined {
  const name = image.name.toLowerCase();
  const registry = image.registry?.toLowerCase();
  const qualified =
    registry === undefined || DOCKER_HUB.has(registry) ? name : `${registry}/${name}`;

  const direct = RUNTIME_BY_IMAGE.get(qualified);
  if (direct) return withVersion(direct, image.tag, undefined);

  // Distroless names carry the version and the Debian release: "java21-debian12", "python3".
  const withoutDistro = qualified.replace(/-debian\d+$/, '');
  const digits = /^(?<family>.*?[^\d])(?<v>\d+)$/.exec(withoutDistro)?.groups;
  const versioned =
    RUNTIME_BY_IMAGE.get(withoutDistro) ??
    (digits ? RUNTIME_BY_IMAGE.get(digits.family!) : undefined);
  if (versioned) return withVersion(versioned, image.tag, digits?.v);

  // Mirrors and vendor images of official families: only keys without a slash are official names.
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  if (lastSegment === name) return undefined;
  const official = RUNTIME_BY_IMAGE.get(lastSegment);
  if (official && !lastSegment.includes('/')) return withVersion(official, image.tag, undefined);
  return undefined;
}

function withVersion(
  family: RuntimeFamily,
  tag: string | undefined,
  nameDigits: string | undefined,
): { name: string; version?: string } {
  const version = versionOf(family.version, tag, nameDigits);
  return version === undefined ? { name: family.runtime } : { name: family.runtime, version };
}

function versionOf(
  rule: VersionRule,
  tag: string | undefined,
  nameDigits: string | undefined,
): string | undefined {
  if (rule === 'none') return undefined;
  if (rule === 'name') return nameDigits;
  if (tag === undefined) return undefined;
  if (rule === 'tag') return LEADING_VERSION.exec(tag)?.groups?.v;
  if (rule === 'tag-major') return LEADING_MAJOR.exec(tag)?.groups?.v;
  return rule.tagPattern.exec(tag)?.groups?.v;
}
