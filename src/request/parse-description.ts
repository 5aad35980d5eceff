/**
 * Reads the free-text `app_description` into an AppProfile. Pure and deterministic: the same text
 * always gives the same profile, and a field is set only when the text states it. Guessing is
 * worse than silence here, because later stages treat a present value as the user's word, so the
 * patterns lean towards missing an odd phrasing rather than inventing a fact.
 *
 * Most numbers are judged within their clause (the text between commas, semicolons, "and",
 * "with", "but", …), which is how people attach qualifiers: "2000 QPS peak, 300 average".
 */
import type { AppProfile, LatencyTarget, WorkloadClass } from './schema.js';

/** Longer input is cut: descriptions are capped at 2,000 characters at the edge anyway. */
const MAX_INPUT = 20_000;

// ---------------------------------------------------------------------------------------------
// Text helpers

interface Span {
  start: number;
  end: number;
}

interface Clause extends Span {
  text: string;
}

function allMatches(pattern: RegExp, text: string): RegExpExecArray[] {
  const flags = pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`;
  return [...text.matchAll(new RegExp(pattern.source, flags))];
}

function firstIndex(patterns: readonly RegExp[], text: string): number {
  let best = -1;
  for (const pattern of patterns) {
    const index = text.search(pattern);
    if (index !== -1 && (best === -1 || index < best)) best = index;
  }
  return best;
}

/**
 * Where clauses break: punctuation (not the comma in "2,000" or the dot in "1.5k"), a spaced dash
 * or plus, and the joining words people put between separate facts.
 */
const CLAUSE_BREAK =
  /[;!?()[\]\n]|,(?!\d{3}(?!\d))|\.(?!\d)|\s[-–—+]\s|\b(?:and|but|while|whereas|with|although|though|plus|whilst)\b/gi;

function clauseBreaks(text: string): Span[] {
  return allMatches(CLAUSE_BREAK, text).map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
  }));
}

function clauseAround(text: string, breaks: readonly Span[], span: Span): Clause {
  let start = 0;
  let end = text.length;
  for (const b of breaks) {
    if (b.end <= span.start && b.end > start) start = b.end;
    if (b.start >= span.end && b.start < end) end = b.start;
  }
  return { start, end, text: text.slice(start, end) };
}

/** Distance from a span to the nearest match of `pattern` inside the clause, or Infinity. */
function nearest(pattern: RegExp, clause: Clause, span: Span): number {
  let best = Number.POSITIVE_INFINITY;
  for (const m of allMatches(pattern, clause.text)) {
    const start = clause.start + m.index;
    const end = start + m[0].length;
    const distance =
      end <= span.start ? span.start - end : start >= span.end ? start - span.end : 0;
    best = Math.min(best, distance);
  }
  return best;
}

/** True when `pattern` occurs and the occurrence is not negated just before ("no spikes"). */
function statedPositively(pattern: RegExp, text: string): boolean {
  return allMatches(pattern, text).some((m) => {
    const before = text.slice(Math.max(0, m.index - 16), m.index);
    return !/\b(?:no|not|without|never|rarely|few|zero)\s+(?:\w+\s+)?$/i.test(before);
  });
}

/** Trims float noise from derived values (1M/day → 11.5741) without touching whole numbers. */
function round(value: number, digits = 6): number {
  return Number.isInteger(value) ? value : Number(value.toPrecision(digits));
}

function normalise(text: string): string {
  return (
    text
      .slice(0, MAX_INPUT)
      .replace(/[\u00a0\u2000-\u200b\u202f\u205f\u3000]/g, ' ')
      // One space per gap keeps every pattern linear on long runs of padding.
      .replace(/[ \t\r\f\v]+/g, ' ')
      .replace(/\n[ \n]*/g, '\n')
      .replace(/ \n/g, '\n')
      .replace(/[\u2010-\u2012]/g, '-')
      .replace(/[\u2018\u2019]/g, "'")
      .replace(/\u2264/g, '<=')
      .replace(/\u2265/g, '>=')
  );
}

// ---------------------------------------------------------------------------------------------
// Numbers

const NUMBER = String.raw`(?<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)`;
const MULTIPLIER = String.raw`(?:\s?(?<mult>k|mm|m|bn|b|thousand|million|billion|mil)(?![a-z]))?`;

function numberFrom(groups: Record<string, string | undefined>): number {
  const base = Number((groups.num ?? '').replace(/,/g, ''));
  const mult = (groups.mult ?? '').toLowerCase();
  const factor =
    mult === 'k' || mult === 'thousand'
      ? 1e3
      : mult === 'm' || mult === 'mm' || mult === 'million' || mult === 'mil'
        ? 1e6
        : mult === 'b' || mult === 'bn' || mult === 'billion'
          ? 1e9
          : 1;
  return base * factor;
}

// ---------------------------------------------------------------------------------------------
// Request rates

type Period = 'second' | 'minute' | 'hour' | 'day';

const SECONDS: Record<Period, number> = { second: 1, minute: 60, hour: 3600, day: 86_400 };

const RATE_NOUN = String.raw`(?:req|reqs|requests?|queries|query|transactions?|txns?|calls|hits|events|messages|msgs|ops|operations)`;
const RATE_PERIOD = String.raw`(?<per>s|sec|secs|second|min|mins|minute|h|hr|hour|d|day)`;
const RATE_QUALIFIER = String.raw`(?:(?:peak|average|avg|max|maximum|sustained|typical|http|https|api|incoming|inbound|read|write|search|total|user|concurrent|rest|graphql|grpc)\s+){0,3}`;

/** "2k QPS", "2,000 requests per second", "1M requests/day", "300 peak RPS". */
const RATE_AFTER = new RegExp(
  String.raw`(?<![\w.,])${NUMBER}${MULTIPLIER}\s*(?:\+\s*)?${RATE_QUALIFIER}(?<unit>(?:qps|rps|tps|rpm|rph|rpd)(?![a-z])|${RATE_NOUN}\s*(?:\/|per|a|an|each|every)\s*${RATE_PERIOD}(?![a-z]))`,
  'gi',
);

/** "QPS of 2000", "peak RPS: 5k", "rps ~ 300". */
const RATE_BEFORE = new RegExp(
  String.raw`\b(?<unit>qps|rps|tps|rpm)\b(?:\s*(?:of|:|=|~|at|around|about|approximately|approx\.?|up to|reaching|near|over|above|>=?)\s*)*\s*~?\s*${NUMBER}${MULTIPLIER}(?![\d.,])(?!\s*(?:%|ms\b|s\b|sec|seconds|users|percent))`,
  'gi',
);

const PEAK_WORD =
  /\b(?:peak(?:s|ing)?|max(?:imum)?|burst(?:s|ing)?|spik(?:e|es|ing)|up to|top|highest|at most)\b/i;
const AVERAGE_WORD =
  /\b(?:average|avg|typical(?:ly)?|sustained|normal(?:ly)?|steady|baseline|mean|usual(?:ly)?|nominal|regular(?:ly)?|on average)\b/i;

function periodOf(unit: string, per: string | undefined): Period {
  const u = unit.toLowerCase();
  if (per !== undefined) {
    const p = per.toLowerCase();
    if (p.startsWith('m')) return 'minute';
    if (p.startsWith('h')) return 'hour';
    if (p.startsWith('d')) return 'day';
    return 'second';
  }
  if (u === 'rpm') return 'minute';
  if (u === 'rph') return 'hour';
  if (u === 'rpd') return 'day';
  return 'second';
}

interface Rates {
  peak?: number;
  average?: number;
}

function extractRates(text: string, breaks: readonly Span[]): Rates {
  const rates: Rates = {};
  const taken: Span[] = [];
  const consider = (m: RegExpExecArray): void => {
    const span = { start: m.index, end: m.index + m[0].length };
    if (taken.some((t) => t.start < span.end && span.start < t.end)) return;
    taken.push(span);
    const groups = m.groups ?? {};
    const period = periodOf(groups.unit ?? '', groups.per);
    const perSecond = round(numberFrom(groups) / SECONDS[period]);
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) return;
    const clause = clauseAround(text, breaks, span);
    const toPeak = nearest(PEAK_WORD, clause, span);
    const toAverage = nearest(AVERAGE_WORD, clause, span);
    // Daily and hourly totals are averages by nature unless the text says peak.
    const isPeak =
      toPeak < toAverage || (toPeak === toAverage && period !== 'day' && period !== 'hour');
    if (isPeak) rates.peak = Math.max(rates.peak ?? 0, perSecond);
    else rates.average = Math.max(rates.average ?? 0, perSecond);
  };
  for (const m of allMatches(RATE_AFTER, text)) consider(m);
  for (const m of allMatches(RATE_BEFORE, text)) consider(m);
  return rates;
}

// ---------------------------------------------------------------------------------------------
// Concurrent users

const CONCURRENT_ADJ = String.raw`(?:concurrent(?:ly[- ]connected)?|simultaneous|parallel)`;
const PEOPLE = String.raw`(?:users|sessions|connections|clients|players|visitors|viewers|websocket connections|websockets)`;

const CONCURRENT_PATTERNS = [
  new RegExp(
    String.raw`(?<![\w.,])${NUMBER}${MULTIPLIER}\+?\s+(?:active\s+|online\s+)?${CONCURRENT_ADJ}\s+(?:active\s+|online\s+|logged[- ]in\s+)?${PEOPLE}`,
    'gi',
  ),
  new RegExp(
    String.raw`(?<![\w.,])${NUMBER}${MULTIPLIER}\+?\s+(?:active\s+|online\s+)?${PEOPLE}\s+(?:online\s+)?(?:concurrently|simultaneously|at once|at the same time|in parallel)`,
    'gi',
  ),
  new RegExp(
    String.raw`\b${CONCURRENT_ADJ}\s+${PEOPLE}\s*(?:of|:|=|~|around|about|up to|peaking at|reaching)?\s*~?\s*${NUMBER}${MULTIPLIER}(?![\d.,%])`,
    'gi',
  ),
];

function extractConcurrentUsers(text: string): number | undefined {
  let best: number | undefined;
  for (const pattern of CONCURRENT_PATTERNS) {
    for (const m of allMatches(pattern, text)) {
      const n = Math.round(numberFrom(m.groups ?? {}));
      if (n > 0) best = Math.max(best ?? 0, n);
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Latency

const DURATION =
  /(?<![\w.])(?<num>\d+(?:\.\d+)?)\s*(?<unit>ms|msecs?|millis(?:econds?)?|milliseconds?|µs|us|microseconds?|s|secs?|seconds?)(?![a-z])(?!\s*of\b)/gi;
const LATENCY_CUE =
  /latenc|response|respond|round[- ]?trip|\bp\d{2,3}\b|percentile|\bmedian\b|\bsub-?\s*\d|\bttfb\b|\btail\b|\banswer|\brepl(?:y|ies)\b|%\s*of\s+(?:all\s+)?(?:requests|responses|calls|queries|transactions)\b/i;
const NOT_LATENCY =
  /time[- ]?outs?\b|\bevery\b|interval|\bcron\b|\bttl\b|cach(?:e|ing)|start[- ]?up|\bboot|cold start|deadline|retention|\bwindow|\bdelay|schedul|backoff|\bgrace\b|\bbuild\b|deploy/i;
const PERCENTILES: readonly { pattern: RegExp; value: (m: RegExpExecArray) => number }[] = [
  { pattern: /\bp(?<p>\d{2,3}(?:\.\d+)?)\b/gi, value: (m) => percentileFromP(m.groups!.p!) },
  {
    pattern: /\b(?<p>\d{2}(?:\.\d+)?)(?:st|nd|rd|th)[- ]percentile\b/gi,
    value: (m) => Number(m.groups!.p),
  },
  { pattern: /\bmedian\b/gi, value: () => 50 },
  {
    pattern:
      /\b(?<p>\d{2}(?:\.\d+)?)\s*%\s*of\s+(?:all\s+)?(?:requests|responses|calls|queries|transactions|reads|writes)\b/gi,
    value: (m) => Number(m.groups!.p),
  },
];

/** "p99" → 99, "p999" → 99.9, "p99.9" → 99.9. */
function percentileFromP(p: string): number {
  if (/^\d{3}$/.test(p)) return Number(`${p.slice(0, 2)}.${p.slice(2)}`);
  return Number(p);
}

function millisecondsFrom(num: string, unit: string): number {
  const u = unit.toLowerCase();
  const n = Number(num);
  if (u === 'µs' || u === 'us' || u.startsWith('micro')) return n / 1000;
  if (u.startsWith('ms') || u.startsWith('milli')) return n;
  return n * 1000;
}

function extractLatency(text: string, breaks: readonly Span[]): LatencyTarget | undefined {
  let best: LatencyTarget | undefined;
  for (const m of allMatches(DURATION, text)) {
    const span = { start: m.index, end: m.index + m[0].length };
    const clause = clauseAround(text, breaks, span);
    if (!LATENCY_CUE.test(clause.text) || NOT_LATENCY.test(clause.text)) continue;
    const milliseconds = round(millisecondsFrom(m.groups!.num!, m.groups!.unit!));
    if (!(milliseconds > 0)) continue;

    let percentile: number | undefined;
    let distance = Number.POSITIVE_INFINITY;
    for (const { pattern, value } of PERCENTILES) {
      for (const p of allMatches(pattern, clause.text)) {
        const start = clause.start + p.index;
        const end = start + p[0].length;
        const d = end <= span.start ? span.start - end : start - span.end;
        const candidate = value(p);
        if (d >= 0 && d < distance && candidate >= 1 && candidate <= 100) {
          distance = d;
          percentile = candidate;
        }
      }
    }
    const target: LatencyTarget =
      percentile === undefined ? { milliseconds } : { milliseconds, percentile };
    // The tail (highest percentile) is what sizing must meet; among equals, the strictest.
    const rank = (t: LatencyTarget): number => t.percentile ?? 0;
    if (
      best === undefined ||
      rank(target) > rank(best) ||
      (rank(target) === rank(best) && target.milliseconds < best.milliseconds)
    ) {
      best = target;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Availability

const PERCENT = /(?<![\w.])(?<pct>\d{2}(?:\.\d+)?)\s*(?:%|percent\b)/gi;
const AVAILABILITY_CUE = /uptime|availab|\bsla\b|\bslo\b|\bup\b|\bha\b/i;
const NOT_AVAILABILITY =
  /\bcpu\b|memory|\bram\b|utili[sz]|\bdisk|\bload\b|hit (?:rate|ratio)|accuracy|coverage|discount|\boff\b|\breads?\b|\bwrites?\b|durab|success rate|error rate|percentile|latenc|\bof (?:all )?(?:requests|responses|calls|queries|traffic|users|reads|writes|transactions)\b/i;
const NINES =
  /\b(?<n>two|three|four|five|six|[2-6])(?<half>\s+and\s+a\s+half)?[\s-]+(?:nines|9'?s)(?![a-z])/gi;
const WORD_NUMBERS: Record<string, number> = { two: 2, three: 3, four: 4, five: 5, six: 6 };

function extractAvailability(text: string, breaks: readonly Span[]): number | undefined {
  let best: number | undefined;
  const keep = (fraction: number): void => {
    if (fraction > 0 && fraction < 1) best = Math.max(best ?? 0, fraction);
  };
  for (const m of allMatches(PERCENT, text)) {
    const pct = Number(m.groups!.pct);
    if (pct < 90 || pct >= 100) continue;
    const clause = clauseAround(text, breaks, { start: m.index, end: m.index + m[0].length });
    if (NOT_AVAILABILITY.test(clause.text)) continue;
    // A bare "99.9%" is availability in practice; lower figures need the word to say so.
    if (pct < 99 && !AVAILABILITY_CUE.test(clause.text)) continue;
    keep(Math.round(pct * 1e6) / 1e8);
  }
  for (const m of allMatches(NINES, text)) {
    const raw = m.groups!.n!.toLowerCase();
    const n = WORD_NUMBERS[raw] ?? Number(raw);
    const miss = 10 ** -n * (m.groups!.half === undefined ? 1 : 0.5);
    keep(round(1 - miss, 12));
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Simple stated facts

const ZERO_DOWNTIME =
  /\bzero[- ]?downtime\b|\bno downtime\b|\bwithout (?:any )?downtime\b|\bnever (?:go|be) down\b|\bno (?:planned )?outages?\b|\bhitless\b/i;
const DOWNTIME_OK =
  /\bdowntime (?:is |would be )?(?:acceptable|ok|okay|fine|tolerable|tolerated|allowed)\b|\bcan tolerate (?:some )?downtime\b|\bmaintenance windows? (?:is |are )?(?:fine|ok|okay|acceptable)\b/i;

function extractZeroDowntime(text: string): boolean | undefined {
  if (ZERO_DOWNTIME.test(text)) return true;
  if (DOWNTIME_OK.test(text)) return false;
  return undefined;
}

type Criticality = NonNullable<AppProfile['criticality']>;

const CRITICALITY: readonly { tier: Criticality; pattern: RegExp }[] = [
  {
    tier: 'critical',
    pattern:
      /(?<!\bnot )(?<!\bnon[- ])\b(?:production|mission|business|safety|revenue)[- ]critical\b|(?<!\bnon[- ]?)(?<!\bnot )\bcritical (?:service|workload|system|app|application|component|infrastructure)\b|\b(?:is|are) (?:highly |very |extremely )?critical\b|\btier[- ]?0\b/i,
  },
  { tier: 'high', pattern: /\bhigh[- ](?:priority|criticality|importance)\b|\btier[- ]?1\b/i },
  {
    tier: 'normal',
    pattern: /\b(?:medium|normal|standard)[- ](?:priority|criticality)\b|\btier[- ]?2\b/i,
  },
  {
    tier: 'low',
    pattern:
      /\bnon[- ]?critical\b|\bnot (?:business[- ]|mission[- ]|very )?critical\b|\bbest[- ]effort\b|\blow[- ](?:priority|criticality|importance)\b|\btier[- ]?3\b/i,
  },
];

/** The most severe tier stated wins: sizing for less than the user asked is the costly mistake. */
function extractCriticality(text: string): Criticality | undefined {
  return CRITICALITY.find(({ pattern }) => pattern.test(text))?.tier;
}

type EnvironmentName = NonNullable<AppProfile['environment']>;

const ENVIRONMENT: readonly { name: EnvironmentName; pattern: RegExp }[] = [
  {
    name: 'prod',
    pattern:
      /(?<!\b(?:pre|non)[- ]?)\bprod\b(?![- ]?(?:critical|grade|ready|like))|\b(?:in|for|to|on|into|hits?)\s+(?:the\s+)?production\b(?![- ]?(?:critical|grade|ready|like))|\bproduction\s+(?:environment|env|cluster|deployment|workload|traffic|use|namespace|system|setup|release)\b|\b(?:environment|env)\s*[:=]?\s*(?:prod|production)\b|(?:^|[,;]\s*)production(?=\s*(?:[,;.]|$))/i,
  },
  {
    name: 'staging',
    pattern:
      /\bstaging\b|\bpre[- ]?prod(?:uction)?\b|\buat\b|\b(?:environment|env)\s*[:=]?\s*stage\b/i,
  },
  {
    name: 'dev',
    pattern:
      /\b(?:dev|development)\s+(?:environment|env|cluster|namespace|deployment|instance|setup|stage|only)\b|\bdev[- ]only\b|\b(?:in|for|on|to)\s+(?:the\s+)?dev\b|\b(?:environment|env)\s*[:=]?\s*(?:dev|development)\b/i,
  },
];

/** With several environments named, the most demanding one is what the plan must hold up in. */
function extractEnvironment(text: string): EnvironmentName | undefined {
  return ENVIRONMENT.find(({ pattern }) => pattern.test(text))?.name;
}

const STATEFUL =
  /\bstateful(?:[- ]?sets?)?\b|\bpersistent (?:volumes?|storage|disks?)\b|\bPVCs?\b|\bpersistent volume claims?\b/i;
const STATELESS = /\bstateless\b/i;

/** Something stateful anywhere means storage to plan for, even beside a stateless part. */
function extractStateful(text: string): boolean | undefined {
  if (STATEFUL.test(text)) return true;
  if (STATELESS.test(text)) return false;
  return undefined;
}

/**
 * Workload classes, most specific first. Each needs an unambiguous phrase: "controller" alone is
 * not enough (a Jenkins controller is a web application), it must be a Kubernetes one.
 */
const WORKLOAD_CLASS_PATTERNS: readonly { name: WorkloadClass; pattern: RegExp }[] = [
  {
    name: 'kubernetes-controller',
    pattern:
      /\b(?:kubernetes|k8s)\b[^.]*\b(?:operator|controller|reconcil\w*)\b|\b(?:operator|controller)\b[^.]*\b(?:custom resources?|CRDs?|reconcil\w*|controller-runtime|kube-rs|client-go)\b|\badmission (?:webhook|controller)s?\b/i,
  },
  {
    name: 'node-agent',
    pattern:
      /\bon every node\b|\bper[- ]node\b|\bdaemonset\b|\bnode agent\b|\blog (?:collector|shipper|forwarder)\b/i,
  },
  // Only a process whose purpose is metrics: most services also expose /metrics on the side.
  { name: 'metrics-exporter', pattern: /\bexporter\b/i },
  {
    name: 'periodic-job',
    pattern:
      /\bperiodically\b|\bcron(?:job)?\b|\bjanitor\b|\bclean[- ]?up job\b|\bbackground process\b/i,
  },
  {
    name: 'stream-processor',
    pattern:
      /\b(?:data )?processing pipeline\b|\bstream processing\b|\bstream processor\b|\bingests? events\b/i,
  },
  { name: 'control-plane', pattern: /\bcontrol plane\b/i },
  {
    name: 'web-ui-server',
    pattern:
      /\buser interface\b|\bweb ui\b|\bdashboards?\b[^.]*\bserver\b|\bserver\b[^.]*\bdashboards?\b/i,
  },
];

function extractWorkloadClass(text: string): WorkloadClass | undefined {
  return WORKLOAD_CLASS_PATTERNS.find(({ pattern }) => pattern.test(text))?.name;
}

const AFFINITY =
  /\bsticky[- ]sessions?\b|\bsession[- ](?:affinity|stickiness)\b|\bsticky routing\b|\bclient[- ]?ip affinity\b/i;
const NO_AFFINITY =
  /\b(?:no|without|doesn'?t need|does not need|don'?t need|not need|no need for)\s+(?:sticky[- ]sessions?|session[- ]affinity|sticky routing)\b/i;

function extractSessionAffinity(text: string): boolean | undefined {
  if (NO_AFFINITY.test(text)) return false;
  if (AFFINITY.test(text)) return true;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Storage

const SIZE = new RegExp(
  String.raw`(?<![\w.,])${NUMBER}\s*(?<unit>[kmgtp]i?b|[kmgtp]i|bytes)(?![a-z])(?!\s*\/\s*(?:s|sec|second|day|month|h|hour)\b)`,
  'gi',
);
const NOT_STORAGE =
  /\bram\b|memory|\bheap\b|\bmem\b|payloads?|uploads?|file size|\bfiles? (?:of|up to)|messages?\b|request size|\brequests? (?:of|up to)|bandwidth|\bper (?:second|request|user|file|message|day|week|month|hour)\b|\bcach(?:e|es|ing)\b|\bredis\b|memcached|\bjvm\b|xmx|\blimit\b|\bbody\b|\bimages? (?:of|up to)/i;
const SIZE_FACTORS: Record<string, number> = {
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
  pi: 2 ** 50,
  bytes: 1,
};

/** The largest size stated as data or storage; memory and payload sizes do not count. */
function extractStorageBytes(text: string, breaks: readonly Span[]): number | undefined {
  let best: number | undefined;
  for (const m of allMatches(SIZE, text)) {
    const factor = SIZE_FACTORS[m.groups!.unit!.toLowerCase()];
    if (factor === undefined) continue;
    const clause = clauseAround(text, breaks, { start: m.index, end: m.index + m[0].length });
    if (NOT_STORAGE.test(clause.text)) continue;
    const value = Math.round(numberFrom(m.groups!) * factor);
    if (value > 0) best = Math.max(best ?? 0, value);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Consistency

const STRONG =
  /\bstrong(?:ly)?[- ]consisten(?:t|cy)\b|\blineari[sz]ab(?:le|ility)\b|\bserializable\b/i;
const EVENTUAL = /\beventual(?:ly)?[- ]consisten(?:t|cy)\b/i;

/** Both stated means some data needs the strong guarantee, which is the one sizing must honour. */
function extractConsistency(text: string): AppProfile['consistency'] {
  if (STRONG.test(text)) return 'strong';
  if (EVENTUAL.test(text)) return 'eventual';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Named technologies

/** Canonical name and its spellings. Case-sensitive patterns guard short or everyday words. */
type Catalogue = readonly (readonly [name: string, patterns: readonly RegExp[]])[];

/** Names match DATA_STORE_KINDS in repo/schema.ts where it has them. */
const DATA_STORES: Catalogue = [
  ['postgres', [/\bpostgre(?:s|sql)?\b/i, /\bpostgis\b/i, /\bpsql\b/i, /\bpgsql\b/i, /\bPG\b/]],
  ['mysql', [/\bmy ?sql\b/i]],
  ['mariadb', [/\bmaria ?db\b/i]],
  ['sqlite', [/\bsqlite3?\b/i]],
  ['mongodb', [/\bmongo(?:db)?\b/i]],
  ['redis', [/\bredis\b/i, /\bvalkey\b/i]],
  ['memcached', [/\bmemcached?\b/i]],
  ['cassandra', [/\bcassandra\b/i, /\bscylla(?:db)?\b/i]],
  ['dynamodb', [/\bdynamo(?: ?db)?\b/i]],
  [
    'elasticsearch',
    [
      /\belastic ?search\b/i,
      /\bElastic\b(?!\s+(?:Beanstalk|Load|IP|Block|Kubernetes|Container|Compute|File|Cloud Compute|scaling))/,
      /\bES\b(?![\d-])(?!\s+(?:modules?|syntax|features?|versions?|specs?|targets?|imports?)\b)/,
      /\bELK\b/,
    ],
  ],
  ['opensearch', [/\bopen ?search\b/i]],
  ['kafka', [/\bkafka\b/i, /\bMSK\b/, /\bredpanda\b/i]],
  ['rabbitmq', [/\brabbit ?mq\b/i, /\bRabbit\b/]],
  ['nats', [/\bnats(?:\.io)?\b/i, /\bjetstream\b/i]],
  ['sqs', [/\bsqs\b/i]],
  ['pubsub', [/\b(?:google|gcp|cloud) pub\/?sub\b/i, /\bPubSub\b/]],
  ['clickhouse', [/\bclick ?house\b/i]],
  ['s3', [/\bs3\b/i, /\bminio\b/i]],
  ['mssql', [/\bms ?sql\b/i, /\bsql server\b/i]],
  ['oracle', [/\bOracle(?: DB| Database)?\b(?!\s+(?:Cloud|Linux|OCI)\b)/]],
  ['cockroachdb', [/\bcockroach ?db\b/i]],
  ['cosmosdb', [/\bcosmos ?db\b/i]],
  ['neo4j', [/\bneo4j\b/i]],
  ['influxdb', [/\binflux ?db\b/i]],
  ['timescaledb', [/\btimescale(?: ?db)?\b/i]],
  ['couchdb', [/\bcouch ?db\b/i]],
  ['firestore', [/\bfirestore\b/i]],
  ['bigquery', [/\bbig ?query\b/i]],
  ['etcd', [/\betcd\b/i]],
  ['aerospike', [/\baerospike\b/i]],
  ['pulsar', [/\bpulsar\b/i]],
  ['kinesis', [/\bkinesis\b/i]],
  ['activemq', [/\bactive ?mq\b/i]],
];

/** Names match LANGUAGES in repo/schema.ts, so a profile can be compared with detected stacks. */
const LANGUAGE_NAMES: Catalogue = [
  [
    'go',
    [
      /\bgolang\b/i,
      // Capitalised "Go" only, and not the English verb: "go live", "Go to market", "go-live".
      /\bGo\b(?![- ]live)(?!\s+(?:to|back|down|up|through|for|with|ahead|out|over|into|beyond|away|on|off|public|wrong|from|fast|slow)\b)/,
    ],
  ],
  ['java', [/\bjava\b(?![- ]?script)/i]],
  ['kotlin', [/\bkotlin\b/i]],
  ['scala', [/\bscala\b/i]],
  ['python', [/\bpython\d?\b/i]],
  [
    'javascript',
    [
      /\bnode\.?js\b/i,
      /\bNode\b(?!\s+(?:pools?|selectors?|affinity|groups?|counts?|sizes?|types?|failures?|drain))/,
      /\bjavascript\b/i,
      /\bJS\b/,
      /\bdeno\b/i,
    ],
  ],
  ['typescript', [/\btypescript\b/i]],
  [
    'csharp',
    [/(?<![\w#])C#(?![\w#])/i, /(?<!\w)\.NET\b/i, /\basp\.net\b/i, /\bdotnet\b/i, /\bcsharp\b/i],
  ],
  ['rust', [/\brust(?:lang)?\b/i]],
  ['ruby', [/\bruby\b/i]],
  ['php', [/\bphp\d?\b/i]],
  ['elixir', [/\belixir\b/i]],
  ['cpp', [/\bC\+\+(?![\w+])/i, /\bcpp\b/i]],
];

/** Names match the framework names RepoFacts uses (repo/schema.ts). */
const FRAMEWORK_NAMES: Catalogue = [
  ['gin', [/\bgin(?:-gonic)?\b/i]],
  ['echo', [/\bEcho\b/, /\blabstack\/echo\b/i]],
  ['fiber', [/\bFiber\b/, /\bgofiber\b/i]],
  ['spring-boot', [/\bspring[- ]?boot\b/i]],
  ['quarkus', [/\bquarkus\b/i]],
  ['micronaut', [/\bmicronaut\b/i]],
  ['ktor', [/\bktor\b/i]],
  ['vertx', [/\bvert\.?x\b/i]],
  [
    'express',
    [
      /\bexpress\.?js\b/i,
      /\bExpress\b(?!\s+(?:delivery|shipping|checkout|lane|mail|entry|route|Route))(?!\.\w)/,
    ],
  ],
  ['fastify', [/\bfastify\b/i]],
  ['nestjs', [/\bnest\.?js\b/i]],
  ['koa', [/\bkoa(?:\.?js)?\b/i]],
  ['nextjs', [/\bnext\.?js\b/i]],
  ['react', [/\bReact(?:\.?js)?\b/, /\breact\.?js\b/i]],
  ['vue', [/\bvue(?:\.?js)?\b/i]],
  ['angular', [/\bAngular(?:JS)?\b/, /\bangular(?:js|\.js)\b/i]],
  ['svelte', [/\bsvelte(?:kit)?\b/i]],
  ['django', [/\bdjango\b/i]],
  ['flask', [/\bflask\b/i]],
  ['fastapi', [/\bfast ?api\b/i]],
  ['rails', [/\bRails\b/, /\bruby on rails\b/i, /\bRoR\b/]],
  ['sinatra', [/\bsinatra\b/i]],
  ['laravel', [/\blaravel\b/i]],
  ['symfony', [/\bsymfony\b/i]],
  ['wordpress', [/\bword ?press\b/i]],
  ['phoenix', [/\bPhoenix\b/]],
  ['aspnet-core', [/\basp\.?net(?: core)?\b/i]],
  ['actix-web', [/\bactix(?:[- ]web)?\b/i]],
  ['axum', [/\baxum\b/i]],
  ['grpc', [/\bgrpc\b/i]],
];

const VENDORS: Catalogue = [
  ['stripe', [/\bStripe\b/, /\bstripe api\b/i]],
  ['paypal', [/\bpaypal\b/i]],
  ['adyen', [/\badyen\b/i]],
  ['braintree', [/\bbraintree\b/i]],
  ['klarna', [/\bklarna\b/i]],
  ['plaid', [/\bplaid\b/i]],
  ['twilio', [/\btwilio\b/i]],
  ['sendgrid', [/\bsendgrid\b/i]],
  ['mailgun', [/\bmailgun\b/i]],
  ['mailchimp', [/\bmailchimp\b/i]],
  ['auth0', [/\bauth0\b/i]],
  ['okta', [/\bokta\b/i]],
  ['salesforce', [/\bsalesforce\b/i]],
  ['shopify', [/\bshopify\b/i]],
  ['hubspot', [/\bhubspot\b/i]],
  ['zendesk', [/\bzendesk\b/i]],
  ['algolia', [/\balgolia\b/i]],
  ['openai', [/\bopenai\b/i, /\bchatgpt\b/i]],
  ['anthropic', [/\banthropic\b/i]],
  ['google-maps', [/\bgoogle maps\b/i]],
  ['mapbox', [/\bmapbox\b/i]],
  ['firebase', [/\bfirebase\b/i]],
  ['github', [/\bgithub api\b/i]],
];

function namesIn(catalogue: Catalogue, text: string): { name: string; index: number }[] {
  const found: { name: string; index: number }[] = [];
  for (const [name, patterns] of catalogue) {
    const index = firstIndex(patterns, text);
    if (index !== -1) found.push({ name, index });
  }
  return found;
}

/** Names in order of first mention, or undefined when none is mentioned. */
function mentioned(catalogue: Catalogue, text: string): string[] | undefined {
  const found = namesIn(catalogue, text).sort((a, b) => a.index - b.index);
  return found.length === 0 ? undefined : found.map((f) => f.name);
}

// ---------------------------------------------------------------------------------------------
// Workload shape and requirements

const BATCH =
  /\bbatch(?:[- ](?:jobs?|processing|workloads?|imports?|exports?|pipelines?|runs?|loads?))\b|\bin batches\b|\bcron(?:[- ]?jobs?|tab)?\b|\bETL\b|\b(?:nightly|hourly|daily|weekly)\s+(?:jobs?|runs?|batch(?:es)?|imports?|exports?|reports?|syncs?|reconciliation)\b|\bscheduled (?:jobs?|tasks?)\b/i;
const SPIKY =
  /\bspik(?:y|es?|ing)\b|\bburst(?:y|s|ing)?\b|\bflash[- ]sales?\b|\bblack friday\b|\bcyber monday\b|\bsurg(?:e|es|ing)\b|\bseasonal (?:peaks?|traffic|spikes?)\b|\bthundering herd\b|\bunpredictable (?:traffic|load)\b/i;
const STEADY =
  /\b(?:steady|flat|stable|predictable|constant|even)\s+(?:traffic|load|throughput|usage)\b/i;

function extractSpiky(text: string): boolean | undefined {
  if (statedPositively(SPIKY, text)) return true;
  if (STEADY.test(text) || /\b(?:no|without)\s+(?:\w+\s+)?(?:spikes|bursts)\b/i.test(text))
    return false;
  return undefined;
}

const GDPR =
  /\bGDPR\b|\bDSGVO\b|\bdata residency\b|\bEU[- ]only\b|\bEU data\b|\b(?:data|user data|customer data|personal data)\s+(?:must\s+)?(?:stays?|remains?|(?:be\s+)?kept|(?:be\s+)?stored)\s+(?:in|within|inside)\s+(?:the\s+)?(?:EU|European Union)\b/i;

const GEO_REDUNDANT =
  /\bgeo[- ]?(?:redundan(?:t|cy)|replicat\w*|distributed)\b|\bmulti[- ]?region(?:al)?\b|\bcross[- ]region\b|\bdisaster[- ]recovery\b|\bmulti[- ]?(?:dc|datacenter|data[- ]center|site)\b|\b(?:two|three|several|multiple|[2-9]) regions\b/i;
const SINGLE_REGION = /\bsingle[- ]region\b|\bone region\b|\bno (?:dr|disaster recovery)\b/i;

function extractGeoRedundant(text: string): boolean | undefined {
  if (statedPositively(GEO_REDUNDANT, text) || statedPositively(/\bDR\b/, text)) return true;
  if (SINGLE_REGION.test(text)) return false;
  return undefined;
}

const EXTERNAL_PHRASE =
  /\b(?:third[- ]party|3rd[- ]party|external|upstream|partner)\s+(?:[a-z][a-z0-9-]*\s+){0,3}?(?:apis?|services?|gateways?|providers?|systems?|endpoints?|webhooks?|integrations?|vendors?)\b/gi;
const CALLS_NAMED_API =
  /\b(?:calls?|calling|uses?|using|integrates? with|integrating with|depends on|talks to|consumes?|queries|hits)\s+(?:the\s+|an?\s+)?(?<name>[A-Z][\w.&-]*(?:\s+[A-Z][\w.&-]*)?)\s+APIs?\b/g;
/** Capitalised words before "API" that name a protocol or our own side, not a third party. */
const NOT_A_VENDOR =
  /^(?:rest|restful|http|https|graphql|grpc|json|xml|soap|web|internal|public|private|our|the|this|admin|backend|frontend|go|node|java|python|ruby|gin|express|django|flask|fastapi|spring|open)$/i;

function extractExternalDependencies(text: string): string[] | undefined {
  const found = namesIn(VENDORS, text);
  const names = new Set(found.map((f) => f.name));
  for (const m of allMatches(CALLS_NAMED_API, text)) {
    const raw = m.groups!.name!;
    if (raw.split(/\s+/).some((word) => NOT_A_VENDOR.test(word))) continue;
    const name = raw
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
    if (name === '' || names.has(name) || namesIn(VENDORS, raw).length > 0) continue;
    names.add(name);
    found.push({ name, index: m.index });
  }
  for (const m of allMatches(EXTERNAL_PHRASE, text)) {
    const phrase = m[0].toLowerCase().replace(/\s+/g, ' ');
    if (names.has(phrase)) continue;
    names.add(phrase);
    found.push({ name: phrase, index: m.index });
  }
  if (found.length === 0) return undefined;
  return found.sort((a, b) => a.index - b.index).map((f) => f.name);
}

// ---------------------------------------------------------------------------------------------

/**
 * Extracts what the description states about load, SLAs, tier, stack, state, data and special
 * requirements. Fields not stated are absent (never a default); lists are absent when empty.
 * Never throws, whatever the input.
 */
export function parseDescription(text: string): AppProfile {
  const source = normalise(typeof text === 'string' ? text : '');
  const breaks = clauseBreaks(source);
  const rates = extractRates(source, breaks);
  const candidates: AppProfile = {
    peakQps: rates.peak,
    averageQps: rates.average,
    concurrentUsers: extractConcurrentUsers(source),
    latency: extractLatency(source, breaks),
    availability: extractAvailability(source, breaks),
    zeroDowntime: extractZeroDowntime(source),
    criticality: extractCriticality(source),
    environment: extractEnvironment(source),
    stateful: extractStateful(source),
    sessionAffinity: extractSessionAffinity(source),
    storageBytes: extractStorageBytes(source, breaks),
    consistency: extractConsistency(source),
    dataStores: mentioned(DATA_STORES, source),
    languages: mentioned(LANGUAGE_NAMES, source),
    frameworks: mentioned(FRAMEWORK_NAMES, source),
    batch: BATCH.test(source) ? true : undefined,
    spiky: extractSpiky(source),
    gdpr: GDPR.test(source) ? true : undefined,
    geoRedundant: extractGeoRedundant(source),
    externalDependencies: extractExternalDependencies(source),
    workloadClass: extractWorkloadClass(source),
    contradictions:
      STATEFUL.test(source) && STATELESS.test(source)
        ? ['stateless-and-stateful' as const]
        : undefined,
  };
  // Absent keys, not keys holding undefined: the profile is serialised and compared as-is.
  const profile: AppProfile = {};
  for (const [key, value] of Object.entries(candidates)) {
    if (value !== undefined) Object.assign(profile, { [key]: value });
  }
  return profile;
}
