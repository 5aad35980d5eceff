/**
 * Decides whether a user-given repository address is one we may fetch. We only ever clone over
 * https from an allow-listed host, never with credentials someone pasted, and never from an address
 * that reaches this machine or its private network (SSRF). Local paths are for the CLI only.
 */
import { renderTemplate } from '../deliver/templates.js';

export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['github.com'];

export interface RepoUrlOptions {
  /** Host names we may clone from, matched exactly and case-insensitively; default github.com. */
  allowedHosts?: readonly string[] | undefined;
  /** True only for the CLI, where the user owns the machine the path is on. */
  allowLocalPath: boolean;
}

/**
 * `url` is normalised: lower-case host, no trailing slash or `.git`. `owner` and `name` are the
 * last two path parts when there are at least two. `rejected.suggestion` is a corrected address
 * that itself passes validation, when one is obvious (ssh or http form, pasted credentials).
 */
export type RepoLocation =
  | { kind: 'url'; url: string; host: string; owner?: string; name?: string }
  | { kind: 'path'; path: string }
  | { kind: 'rejected'; reason: string; suggestion?: string };

const SCHEME = /^(?<scheme>[A-Za-z][A-Za-z0-9+.-]*):\/\//;
/** scp-style git addresses: git@github.com:owner/name.git, or github.com:owner/name. */
const SCP_LIKE = /^(?:[\w.-]+@)?(?<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+):(?<path>[^/].*)$/;
const HOST_LIKE = /^(?:localhost|(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})(?::\d+)?$/;
const LOCAL_PATH = /^(?:\/|\.{1,2}(?:[/\\]|$)|~(?:\/|$)|[A-Za-z]:[\\/]|\\\\)/;
const PATH_PART = /^[A-Za-z0-9_.-]+$/;
const IPV4 = /^(?<a>\d{1,3})\.(?<b>\d{1,3})\.(?<c>\d{1,3})\.(?<d>\d{1,3})$/;

type BlockedKind =
  | 'this machine'
  | 'a loopback address'
  | 'a private network address'
  | 'a link-local address'
  | 'an unspecified address'
  | 'a reserved address';

function rejected(reason: string, suggestion?: string): RepoLocation {
  return suggestion === undefined
    ? { kind: 'rejected', reason }
    : { kind: 'rejected', reason, suggestion };
}

/** Offers a fix only when the fix is itself acceptable, so we never suggest something we refuse. */
function withSuggestion(reason: string, candidate: string, options: RepoUrlOptions): RepoLocation {
  const checked = validateRepoUrl(candidate, { ...options, allowLocalPath: false });
  return rejected(reason, checked.kind === 'url' ? checked.url : undefined);
}

function authorityOf(authorityAndPath: string): string {
  const end = authorityAndPath.search(/[/?#]/);
  return end === -1 ? authorityAndPath : authorityAndPath.slice(0, end);
}

function hasUserinfo(authorityAndPath: string): boolean {
  return authorityOf(authorityAndPath).includes('@');
}

function stripUserinfo(authorityAndPath: string): string {
  const at = authorityOf(authorityAndPath).lastIndexOf('@');
  return at === -1 ? authorityAndPath : authorityAndPath.slice(at + 1);
}

/**
 * Checks a repository address. Never throws; every refusal carries a sentence for the user.
 * DNS names are not resolved here, so a name that resolves to a private address is stopped only
 * by the host allow-list: keep that list to hosts you trust.
 */
export function validateRepoUrl(input: string, options: RepoUrlOptions): RepoLocation {
  const text = input.trim();
  if (text === '') return rejected(renderTemplate('repo-url-empty', {}));
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
  if (/[\s\u0000-\u001f\u007f]/.test(text)) return rejected(renderTemplate('repo-url-spaces', {}));

  if (LOCAL_PATH.test(text)) return localPath(text, options);

  const scheme = SCHEME.exec(text)?.groups?.scheme;
  if (scheme === undefined) return withoutScheme(text, options);

  const rest = text.slice(scheme.length + 3);
  const lower = scheme.toLowerCase();
  if (lower === 'http') {
    // Pasted credentials are the more urgent news: the user should remove and rotate them.
    const reason = hasUserinfo(rest)
      ? renderTemplate('repo-url-credentials', {})
      : renderTemplate('repo-url-http', {});
    return withSuggestion(reason, `https://${stripUserinfo(rest)}`, options);
  }
  if (lower !== 'https') {
    const reason = renderTemplate('repo-url-scheme', { scheme: lower });
    return ['ssh', 'git', 'git+ssh', 'ssh+git'].includes(lower)
      ? withSuggestion(reason, `https://${stripUserinfo(rest)}`, options)
      : rejected(reason);
  }
  return httpsUrl(text, rest, options);
}

function localPath(text: string, options: RepoUrlOptions): RepoLocation {
  if (!options.allowLocalPath) return rejected(renderTemplate('repo-url-local-path', {}));
  return { kind: 'path', path: text };
}

function withoutScheme(text: string, options: RepoUrlOptions): RepoLocation {
  const scp = SCP_LIKE.exec(text)?.groups;
  if (scp) {
    return withSuggestion(
      renderTemplate('repo-url-ssh', {}),
      `https://${scp.host}/${scp.path}`,
      options,
    );
  }
  // Something like "mailto:x" or "host:port" without slashes: not a path anyone would mean.
  if (/^[^/\\]*:/.test(text)) return rejected(renderTemplate('repo-url-invalid', {}));
  const firstPart = text.split('/')[0] ?? '';
  if (HOST_LIKE.test(firstPart)) {
    return withSuggestion(renderTemplate('repo-url-no-scheme', {}), `https://${text}`, options);
  }
  return localPath(text, options);
}

function httpsUrl(text: string, rest: string, options: RepoUrlOptions): RepoLocation {
  // WHATWG URL parsing would quietly turn "\" into "/" and drop a bare "?"; refuse both up front.
  if (rest.includes('\\')) return rejected(renderTemplate('repo-url-invalid', {}));
  if (hasUserinfo(rest)) {
    return withSuggestion(
      renderTemplate('repo-url-credentials', {}),
      `https://${stripUserinfo(rest)}`,
      options,
    );
  }
  if (/[?#]/.test(rest)) {
    return withSuggestion(
      renderTemplate('repo-url-query', {}),
      text.slice(0, text.search(/[?#]/)),
      options,
    );
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return rejected(renderTemplate('repo-url-invalid', {}));
  }
  // The parser has already normalised odd IPv4 spellings (0x7f.1, 2130706433) to dotted form.
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === '') return rejected(renderTemplate('repo-url-invalid', {}));

  const blocked = blockedHostKind(host);
  if (blocked !== undefined) {
    return rejected(renderTemplate('repo-url-blocked-host', { what: blocked, host }));
  }

  const allowed = (options.allowedHosts ?? DEFAULT_ALLOWED_HOSTS).map((h) =>
    h.trim().toLowerCase().replace(/\.$/, ''),
  );
  if (!allowed.includes(host)) {
    return rejected(
      renderTemplate('repo-url-host-not-allowed', { host, allowed: allowed.join(', ') }),
    );
  }

  const parts = url.pathname.split('/').filter((part) => part !== '');
  const last = parts.at(-1);
  if (last !== undefined && last.toLowerCase().endsWith('.git'))
    parts[parts.length - 1] = last.slice(0, -4);
  if (parts.length === 0 || parts.some((part) => !PATH_PART.test(part) || /^\.+$/.test(part))) {
    return rejected(renderTemplate('repo-url-bad-path', {}));
  }

  const origin = `https://${url.host.toLowerCase().replace(/\.(?=:|$)/, '')}`;
  if (host === 'github.com' && parts.length !== 2) {
    const fix = parts.length > 2 ? `${origin}/${parts[0]}/${parts[1]}` : undefined;
    return fix === undefined
      ? rejected(renderTemplate('repo-url-github-shape', {}))
      : withSuggestion(renderTemplate('repo-url-github-shape', {}), fix, options);
  }

  const normalised = `${origin}/${parts.join('/')}`;
  if (parts.length < 2) return { kind: 'url', url: normalised, host };
  return {
    kind: 'url',
    url: normalised,
    host,
    owner: parts.slice(0, -1).join('/'),
    name: parts.at(-1)!,
  };
}

/** Why a host must never be contacted, or undefined when it is an ordinary name or public IP. */
export function blockedHostKind(host: string): BlockedKind | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return 'this machine';
  const v4 = IPV4.exec(name)?.groups;
  if (v4) {
    const octets = [v4.a, v4.b, v4.c, v4.d].map(Number);
    if (octets.some((o) => o > 255)) return 'a reserved address';
    return blockedIpv4(octets[0]!, octets[1]!);
  }
  if (name.startsWith('[') || name.includes(':')) {
    const groups = parseIpv6(name.replace(/^\[|\]$/g, ''));
    // An IPv6 literal we cannot read is not one we can vouch for.
    if (groups === undefined) return 'a reserved address';
    return blockedIpv6(groups);
  }
  return undefined;
}

function blockedIpv4(a: number, b: number): BlockedKind | undefined {
  if (a === 0) return 'an unspecified address';
  if (a === 127) return 'a loopback address';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) {
    return 'a private network address';
  }
  // 100.64/10 is carrier-grade NAT space: internal to some provider's network.
  if (a === 100 && b >= 64 && b <= 127) return 'a private network address';
  if (a === 169 && b === 254) return 'a link-local address';
  if (a >= 224) return 'a reserved address';
  return undefined;
}

function blockedIpv6(g: number[]): BlockedKind | undefined {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (firstFiveZero && g5 === 0 && g6 === 0 && g7 === 0) return 'an unspecified address';
  if (firstFiveZero && g5 === 0 && g6 === 0 && g7 === 1) return 'a loopback address';
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms
  // reach the embedded IPv4 address, so they are judged by it.
  const embedsIpv4 =
    (firstFiveZero && (g5 === 0xffff || g5 === 0)) ||
    (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0);
  if (embedsIpv4) return blockedIpv4(g6 >> 8, g6 & 0xff);
  if ((g0 & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g0 & 0xfe00) === 0xfc00 || (g0 & 0xffc0) === 0xfec0) return 'a private network address';
  if ((g0 & 0xff00) === 0xff00) return 'a reserved address';
  return undefined;
}

/** Eight 16-bit groups, or undefined when the text is not an IPv6 address. */
function parseIpv6(text: string): number[] | undefined {
  // Rewrite a dotted IPv4 tail ("::ffff:127.0.0.1") as two hex groups, then parse one shape.
  const tail = /(?<v4>\d{1,3}(?:\.\d{1,3}){3})$/.exec(text)?.groups?.v4;
  let body = text;
  if (tail !== undefined) {
    const octets = tail.split('.').map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
    body = `${text.slice(0, -tail.length)}${hex(octets[0]!, octets[1]!)}:${hex(octets[2]!, octets[3]!)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const head = hexGroups(halves[0]!);
  const rest = halves.length === 2 ? hexGroups(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const explicit = head.length + rest.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  return [...head, ...new Array<number>(8 - explicit).fill(0), ...rest];
}

function hexGroups(part: string): number[] | undefined {
  if (part === '') return [];
  const groups = part.split(':');
  if (groups.some((group) => !/^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  return groups.map((group) => parseInt(group, 16));
}
