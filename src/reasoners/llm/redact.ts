/**
 * Removes secret-looking strings from text before anything is sent to a model. Two families:
 * tokens recognisable by their own shape (a GitHub token, a JWT, a private key block) and values
 * assigned to a name that looks secret (`DB_PASSWORD=…`), where the name is kept so a reader still
 * sees that a password is configured.
 *
 * The text is often JSON (a serialised context bundle), so a redaction never swallows a backslash
 * or a quote that belongs to the JSON, and an escaped newline (`\n` as two characters) counts as a
 * line break. Every regex is linear: a pattern may only start where a run of its own characters
 * starts (a lookbehind), so no run is rescanned from each of its positions.
 */

export interface Redacted {
  text: string;
  /** Secrets replaced by this call (markers already in the input are not counted again). */
  count: number;
}

const MARKER = /\[REDACTED:[a-z0-9-]{1,40}\]/g;
const EXACT_MARKER = /^\[REDACTED:[a-z0-9-]{1,40}\]$/;
/** A marker is matched whole by the value patterns, so a second pass leaves it alone. */
const MARKER_SOURCE = String.raw`\[REDACTED:[a-z0-9-]{1,40}\]`;

function marker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

function countMarkers(text: string): number {
  return text.match(MARKER)?.length ?? 0;
}

/** Replaces every secret found in `text` with `[REDACTED:<kind>]`. Idempotent. */
export function redactSecrets(text: string): Redacted {
  let out = redactPrivateKeys(text);
  for (const rule of TOKEN_RULES) {
    out = out.replace(rule.pattern, (match: string) =>
      rule.accept === undefined || rule.accept(match) ? marker(rule.kind) : match,
    );
  }
  out = out.replace(URL_CREDENTIALS, (match: string, head: string, password: string) =>
    EXACT_MARKER.test(password) ? match : `${head}${marker('url-password')}@`,
  );
  out = out.replace(AWS_SECRET, (match: string, head: string, value: string) =>
    EXACT_MARKER.test(value) ? match : `${head}${marker('aws-secret-access-key')}`,
  );
  for (const rule of ASSIGNMENT_RULES) out = out.replace(rule, redactAssignment);
  // Counting markers rather than replacements keeps the count right when a name-based rule
  // takes in a value an earlier token rule had already marked ("Bearer [REDACTED:jwt]").
  return { text: out, count: Math.max(0, countMarkers(out) - countMarkers(text)) };
}

/**
 * Where a pattern whose characters are `chars` may start: not inside a run of them, and not right
 * after a backslash (the "n" of an escaped newline) — but right after an escaped \n, \r or \t.
 */
function startOf(chars: string): string {
  // The backslash goes first so that a "-" ending `chars` stays a literal.
  return String.raw`(?:(?<![\\${chars}])|(?<=\\[nrt]))`;
}

// ---------------------------------------------------------------------------------------------
// Private key blocks, scanned by hand: a lazy regex from every BEGIN to the next END is quadratic
// when many BEGINs have no END.

const KEY_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----/g;
const KEY_END = /-----END [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----/g;
/** Base64 lines after a BEGIN whose END is missing: a truncated paste still leaks the key. */
const KEY_BODY = /(?:(?:\r?\n|(?:\\r)?\\n)[A-Za-z0-9+/=]{16,})*/y;

function redactPrivateKeys(text: string): string {
  if (!text.includes('PRIVATE KEY')) return text;
  let out = '';
  let from = 0;
  // The next END and the next BEGIN after the current one; each search resumes where the last
  // one stopped, so the whole scan is linear.
  let end: RegExpExecArray | null | undefined;
  KEY_BEGIN.lastIndex = 0;
  let begin = KEY_BEGIN.exec(text);
  while (begin !== null) {
    const afterBegin = begin.index + begin[0].length;
    if (end === undefined || (end !== null && end.index < afterBegin)) {
      KEY_END.lastIndex = afterBegin;
      end = KEY_END.exec(text);
    }
    KEY_BEGIN.lastIndex = afterBegin;
    const next = KEY_BEGIN.exec(text);
    let stop: number;
    if (end !== null && (next === null || end.index < next.index)) {
      stop = end.index + end[0].length;
    } else {
      // No END before the next key starts: redact the header and the base64 lines after it.
      KEY_BODY.lastIndex = afterBegin;
      stop = afterBegin + (KEY_BODY.exec(text)?.[0].length ?? 0);
    }
    out += text.slice(from, begin.index) + marker('private-key');
    from = stop;
    if (next !== null && next.index >= stop) {
      begin = next;
    } else {
      KEY_BEGIN.lastIndex = stop;
      begin = KEY_BEGIN.exec(text);
    }
  }
  return out + text.slice(from);
}

// ---------------------------------------------------------------------------------------------
// Tokens recognisable by their shape.

interface TokenRule {
  kind: string;
  pattern: RegExp;
  /** A second look at a match the pattern alone cannot decide. */
  accept?: (match: string) => boolean;
}

/** OpenAI-style keys are random base62: a lowercase slug such as "sk-learn-…" is not one. */
function looksRandom(match: string): boolean {
  return /[0-9]/.test(match) && /[A-Z]/.test(match) && /[a-z]/.test(match);
}

const token = (kind: string, source: string, accept?: (m: string) => boolean): TokenRule => ({
  kind,
  pattern: new RegExp(source, 'g'),
  ...(accept === undefined ? {} : { accept }),
});

const TOKEN_RULES: TokenRule[] = [
  token(
    'aws-access-key-id',
    String.raw`${startOf('A-Za-z0-9')}(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`,
  ),
  token(
    'github-token',
    String.raw`${startOf('A-Za-z0-9_')}(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`,
  ),
  // Before the OpenAI rule: Anthropic keys also start with "sk-".
  token('anthropic-key', String.raw`${startOf('A-Za-z0-9_-')}sk-ant-[A-Za-z0-9_-]{20,}`),
  token('openai-key', String.raw`${startOf('A-Za-z0-9_-')}sk-[A-Za-z0-9_-]{32,}`, looksRandom),
  token('slack-token', String.raw`${startOf('A-Za-z0-9_-')}xox[abposr]-[A-Za-z0-9-]{10,}`),
  token(
    'google-api-key',
    String.raw`${startOf('A-Za-z0-9_-')}AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])`,
  ),
  token('stripe-key', String.raw`${startOf('A-Za-z0-9_')}[sr]k_(?:live|test)_[0-9A-Za-z]{10,}`),
  token(
    'jwt',
    String.raw`${startOf('A-Za-z0-9_-')}eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*`,
  ),
];

/** scheme://user:password@ — the password only; user and host stay readable. */
const URL_CREDENTIALS = new RegExp(
  String.raw`(${startOf('A-Za-z0-9+.-')}[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s:/?#@'"<>\\]*:)([^\s/?#@'"<>\\]+)@`,
  'g',
);

const AWS_SECRET = new RegExp(
  String.raw`(${startOf('A-Za-z0-9_')}aws_secret(?:_access)?_key["']?[ \t]*[:=][ \t]*["']?)([A-Za-z0-9/+=]{40}|${MARKER_SOURCE})(?![A-Za-z0-9/+=])`,
  'gi',
);

// ---------------------------------------------------------------------------------------------
// Values assigned to secret-looking names. Named groups: `head` (kept before the value), `name`,
// and the value as `dq` "double-quoted", `eq` \"JSON-escaped\", `sq` 'single-quoted' or `bare`.

const NAME_START = startOf('A-Za-z0-9_.-');
const NAME = String.raw`(?<name>[A-Za-z_][A-Za-z0-9_.-]{0,127})`;
/**
 * A quoted value. A value never starts with a space or JSON punctuation: that would be a quote
 * closing one JSON string and the next opening another, and replacing between them breaks the JSON.
 */
const QUOTED = String.raw`"(?<dq>(?![\s,:{}\[\]])[^"\\\n]*)"|\\"(?<eq>[^"\\\n]*)\\"|'(?<sq>(?![\s,:{}\[\]])[^'\\\n]*)'`;
/** After "=" or a flag: one shell word. */
const WORD = String.raw`(?<bare>${MARKER_SOURCE}|[^\s"'\x60;&|=\\][^\s"'\x60;&|\\]*)`;
/** After ":" (YAML, headers): the rest of the line, stopping at a " #" comment. */
const LINE = String.raw`(?<bare>${MARKER_SOURCE}|[^\s"'\x60#\\][^\s"'\x60\\]*(?:[ \t]+[^\s"'\x60#\\][^\s"'\x60\\]*)*)`;
/** Inside JSON or a flow mapping: up to the next separator. */
const FLOW = String.raw`(?<bare>${MARKER_SOURCE}|[^\s"'\x60,{}\[\]\\][^\s"'\x60,{}\[\]\\]*)`;
const NEWLINE = String.raw`(?:\r?\n|(?:\\r)?\\n)`;
const QUOTE = String.raw`(?:["']|\\")?`;

const ASSIGNMENT_RULES: RegExp[] = [
  // Kubernetes / ECS env lists: `- name: DB_PASSWORD` then `value: …` (block, flow or JSON).
  String.raw`(?<head>${NAME_START}${QUOTE}name${QUOTE}[ \t]*:[ \t]*${QUOTE}${NAME}${QUOTE}[ \t]*(?:,[ \t]*(?:${NEWLINE}[ \t]*)?|${NEWLINE}[ \t]*)${QUOTE}value${QUOTE}[ \t]*:[ \t]*)(?:${QUOTED}|${FLOW})`,
  // Command-line flags: `--password value`, `--api-key=value`.
  String.raw`(?<head>${startOf('A-Za-z0-9_-')}--${NAME}(?:[ \t]*=[ \t]*|[ \t]+))(?!-)(?:${QUOTED}|${WORD})`,
  // Quoted keys: `"password": "value"`, `'token': value`, `\"secret\": \"value\"`.
  String.raw`(?<head>(?<q>["']|\\")${NAME}\k<q>[ \t]*[:=][ \t]*)(?:${QUOTED}|${FLOW})`,
  // NAME=value, NAME := value (env files, shell, properties, Go, TOML).
  String.raw`(?<head>${NAME_START}${NAME}[ \t]*:?=[ \t]*)(?!=)(?:${QUOTED}|${WORD})`,
  // NAME: value (YAML, HTTP headers); the colon must be followed by a space, as in YAML.
  String.raw`(?<head>${NAME_START}${NAME}:[ \t]+)(?:${QUOTED}|${LINE})`,
].map((source) => new RegExp(source, 'g'));

interface AssignmentGroups {
  head: string;
  name: string;
  dq?: string;
  eq?: string;
  sq?: string;
  bare?: string;
}

/** String.replace callback of the assignment rules: the last argument holds the named groups. */
function redactAssignment(match: string, ...args: unknown[]): string {
  const { head, name, dq, eq, sq, bare } = args[args.length - 1] as AssignmentGroups;
  const kind = secretKind(name);
  const value = dq ?? eq ?? sq ?? bare ?? '';
  if (kind === undefined || keptValue(value)) return match;
  // A value holding one token an earlier rule marked keeps that token's kind.
  const inner = value.match(MARKER);
  const replacement = marker(inner?.length === 1 ? inner[0].slice(10, -1) : kind);
  if (dq !== undefined) return `${head}"${replacement}"`;
  if (eq !== undefined) return `${head}\\"${replacement}\\"`;
  if (sq !== undefined) return `${head}'${replacement}'`;
  return `${head}${replacement}`;
}

/** Values that are not secrets even under a secret name: they say nothing, or only point elsewhere. */
function keptValue(raw: string): boolean {
  const value = raw.trim();
  return (
    value === '' ||
    EXACT_MARKER.test(value) ||
    /^[-+]?\d+(?:\.\d+)?$/.test(value) ||
    /^(?:true|false|yes|no|on|off|null|none|nil|~)$/i.test(value) ||
    // ${VAR}, $VAR, $(command), {{ .Values.x }}: a reference to where the secret really lives.
    /^\$(?:\{|\(|[A-Za-z_])/.test(value) ||
    value.startsWith('{{') ||
    // YAML block scalar indicators: the value is on the next lines.
    /^[|>][+-]?$/.test(value) ||
    // A file path (the PASSWORD_FILE convention, GOOGLE_APPLICATION_CREDENTIALS).
    /^(?:\/|\.\/|~\/)[A-Za-z0-9_./-]*$/.test(value)
  );
}

/** Last name parts that make a secret-sounding name describe something else (`password_min_length`). */
const BENIGN_LAST = new Set([
  'name',
  'ref',
  'file',
  'path',
  'dir',
  'url',
  'uri',
  'endpoint',
  'host',
  'port',
  'enabled',
  'disabled',
  'required',
  'type',
  'kind',
  'mode',
  'method',
  'provider',
  'length',
  'ttl',
  'timeout',
  'expiry',
  'expires',
  'expiration',
  'policy',
  'count',
  'size',
  'min',
  'max',
  'version',
  'id',
  'format',
  'algorithm',
]);

/** The marker kind for a secret-looking name, or undefined when the name looks harmless. */
export function secretKind(name: string): string | undefined {
  const parts = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((p) => p !== '');
  const last = parts[parts.length - 1];
  if (last === undefined) return undefined;
  if (parts.length > 1 && BENIGN_LAST.has(last)) return undefined;
  // PWD alone is the shell's working directory.
  if (parts.length === 1 && last === 'pwd') return undefined;
  const joined = parts.join('');
  if (parts.some((p) => /passw(?:or)?d|passphrase/.test(p) || p === 'pass' || p === 'pwd'))
    return 'password';
  if (joined.includes('apikey')) return 'api-key';
  if (parts.some((p) => p.includes('secret'))) return 'secret';
  if (parts.some((p) => p.endsWith('token') || p === 'tokens')) return 'token';
  if (/(?:access|private|signing|encryption|master)key/.test(joined)) return 'secret';
  if (parts.some((p) => p === 'credential' || p === 'credentials' || p === 'creds'))
    return 'credentials';
  if (parts.some((p) => p === 'auth' || p === 'authorization')) return 'auth';
  return undefined;
}
