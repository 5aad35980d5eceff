/**
 * How close a rendered manifest is to a reference manifest, for the accuracy benchmark.
 *
 * Two scores, both in [0, 1]:
 *
 * - `bleu`: BLEU-4 (Papineni et al., 2002) over YAML tokens. Clipped n-gram precisions for n = 1…4,
 *   combined by a geometric mean with equal weights, times the brevity penalty
 *   BP = 1 when the candidate is longer than the reference, else exp(1 − r/c). Precisions for
 *   n ≥ 2 use add-one smoothing (Lin & Och, 2004), so one missing 4-gram in a short manifest does
 *   not zero the whole score; unigram precision is never smoothed, so unrelated texts still score
 *   near 0.
 * - `codeBleu`: a CodeBLEU-style mix (Ren et al., 2020) for configuration: CodeBLEU adds syntax and
 *   data-flow matches to BLEU; a manifest's syntax is its tree of keys, so the second half here is
 *   the key-path match — the share of the reference's `path=value` leaves that the candidate
 *   contains after both are parsed as YAML. score = weight · BLEU + (1 − weight) · keyPath, with
 *   weight 0.5 by default.
 *
 * Tokens: comments and document markers are dropped (they explain, they do not configure); the
 * text is split on whitespace and on the punctuation `: { } [ ] , " '`, which is discarded, so a
 * quantity such as `250m` or `1.5Gi` and a dotted key such as `app.kubernetes.io/name` stay one
 * token. Quoting style therefore does not matter, and structure is left to the key-path score.
 *
 * Leaves: lists whose items all carry a `name` are keyed by that name (`containers[web]`), so the
 * order of containers or ports does not matter; other lists by index. Values under a `cpu` or
 * `memory` key are compared as quantities ("1000m" equals "1", "1Gi" equals "1024Mi"). Each leaf is
 * prefixed with its document's kind, so a Deployment's replicas never match an HPA's.
 */
import { parseAllDocuments } from 'yaml';
import {
  bytesFromMemoryQuantity,
  cpuQuantityFromMillicores,
  memoryQuantityFromBytes,
  millicoresFromCpuQuantity,
} from '../units.js';

export interface BleuScore {
  /** BLEU in [0, 1]. */
  score: number;
  /** Modified n-gram precisions p1…p4 as used in the mean (n ≥ 2 smoothed). */
  precisions: number[];
  brevityPenalty: number;
  candidateLength: number;
  referenceLength: number;
}

export interface CodeBleuScore {
  score: number;
  bleu: number;
  keyPath: number;
}

const MAX_N = 4;
const COMMENT = /(?:^|\s)#.*$/gm;
const DOCUMENT_MARKER = /^(?:---|\.\.\.)\s*$/gm;
const SEPARATORS = /[\s:{}[\],"']+/;

/** YAML text → tokens, as described in the module header. */
export function tokenizeYaml(text: string): string[] {
  return text
    .replace(COMMENT, '')
    .replace(DOCUMENT_MARKER, '')
    .split(SEPARATORS)
    .filter((t) => t !== '');
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    // The unit separator cannot occur inside a token, so joined n-grams never collide.
    const gram = tokens.slice(i, i + n).join('\u001f');
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

/** Clipped matches and total candidate n-grams for one n. */
function clippedMatches(
  candidate: readonly string[],
  reference: readonly string[],
  n: number,
): { matches: number; total: number } {
  const cand = ngramCounts(candidate, n);
  const ref = ngramCounts(reference, n);
  let matches = 0;
  let total = 0;
  for (const [gram, count] of cand) {
    total += count;
    matches += Math.min(count, ref.get(gram) ?? 0);
  }
  return { matches, total };
}

/** BLEU-4 of a candidate text against one reference text, both tokenised as YAML. */
export function bleu(candidate: string, reference: string): BleuScore {
  return bleuFromTokens(tokenizeYaml(candidate), tokenizeYaml(reference));
}

export function bleuFromTokens(
  candidate: readonly string[],
  reference: readonly string[],
): BleuScore {
  const c = candidate.length;
  const r = reference.length;
  if (c === 0 || r === 0) {
    return {
      score: c === r ? 1 : 0,
      precisions: [],
      brevityPenalty: c === 0 ? 0 : 1,
      candidateLength: c,
      referenceLength: r,
    };
  }
  const precisions: number[] = [];
  for (let n = 1; n <= MAX_N; n++) {
    const { matches, total } = clippedMatches(candidate, reference, n);
    precisions.push(n === 1 ? matches / total : (matches + 1) / (total + 1));
  }
  const brevityPenalty = c > r ? 1 : Math.exp(1 - r / c);
  const logMean = precisions.reduce((sum, p) => sum + Math.log(p), 0) / MAX_N;
  const score = precisions[0] === 0 ? 0 : brevityPenalty * Math.exp(logMean);
  return { score, precisions, brevityPenalty, candidateLength: c, referenceLength: r };
}

function canonicalLeafValue(key: string, value: unknown): string {
  if (key === 'cpu' && (typeof value === 'string' || typeof value === 'number')) {
    const m = millicoresFromCpuQuantity(value);
    if (m !== undefined) return cpuQuantityFromMillicores(m);
  }
  if (key === 'memory' && (typeof value === 'string' || typeof value === 'number')) {
    const b = bytesFromMemoryQuantity(value);
    if (b !== undefined) return memoryQuantityFromBytes(b);
  }
  return value === null ? 'null' : String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function collectLeaves(value: unknown, path: string, key: string, out: Set<string>): void {
  if (Array.isArray(value)) {
    const named = value.length > 0 && value.every((v) => isRecord(v) && typeof v.name === 'string');
    value.forEach((item, i) => {
      const label = named ? String((item as Record<string, unknown>).name) : String(i);
      collectLeaves(item, `${path}[${label}]`, key, out);
    });
    if (value.length === 0) out.add(`${path}=[]`);
    return;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) out.add(`${path}={}`);
    for (const [k, v] of entries) collectLeaves(v, path === '' ? k : `${path}.${k}`, k, out);
    return;
  }
  out.add(`${path}=${canonicalLeafValue(key, value)}`);
}

/**
 * Every `Kind:path=value` leaf of a YAML stream. Documents that fail to parse contribute nothing,
 * so a broken candidate scores low instead of throwing.
 */
export function keyPathLeaves(text: string): Set<string> {
  const leaves = new Set<string>();
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (!isRecord(value)) continue;
    const kind = typeof value.kind === 'string' ? value.kind : '?';
    const own = new Set<string>();
    collectLeaves(value, '', '', own);
    for (const leaf of own) leaves.add(`${kind}:${leaf}`);
  }
  return leaves;
}

/** Share of the reference's leaves present in the candidate; 1 when the reference has none. */
export function keyPathMatch(candidate: string, reference: string): number {
  const ref = keyPathLeaves(reference);
  if (ref.size === 0) return 1;
  const cand = keyPathLeaves(candidate);
  let hits = 0;
  for (const leaf of ref) if (cand.has(leaf)) hits++;
  return hits / ref.size;
}

/** BLEU and key-path match mixed as `weight · BLEU + (1 − weight) · keyPath`. */
export function codeBleu(candidate: string, reference: string, weight = 0.5): CodeBleuScore {
  const b = bleu(candidate, reference).score;
  const keyPath = keyPathMatch(candidate, reference);
  return { score: weight * b + (1 - weight) * keyPath, bleu: b, keyPath };
}
