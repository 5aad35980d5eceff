/**
 * The sizing knowledge base: one markdown file per subject in knowledge/, with YAML front matter
 * that carries machine-readable figures and the public sources they come from.
 */
import { z } from 'zod';

export const KNOWLEDGE_KINDS = ['runtime', 'framework', 'image', 'pattern'] as const;
export const KnowledgeKind = z.enum(KNOWLEDGE_KINDS);
export type KnowledgeKind = z.infer<typeof KnowledgeKind>;

export const FIGURE_UNITS = [
  'millicores',
  'mebibytes',
  'gibibytes',
  'ratio',
  'percent',
  'count',
  'rps',
  'seconds',
  'milliseconds',
  'usd',
] as const;

/** One number with its plausible range, unit and where it comes from. */
export const Figure = z
  .object({
    value: z.number(),
    unit: z.enum(FIGURE_UNITS),
    low: z.number().optional(),
    high: z.number().optional(),
    /** Index into the entry's `sources`. */
    source: z.number().int().nonnegative().optional(),
    note: z.string().optional(),
  })
  .strict()
  .refine(
    (f) => (f.low === undefined || f.low <= f.value) && (f.high === undefined || f.value <= f.high),
    {
      message: 'expected low ≤ value ≤ high',
    },
  );
export type Figure = z.infer<typeof Figure>;

export const Source = z
  .object({
    title: z.string().min(1),
    url: z.string().url(),
    note: z.string().optional(),
  })
  .strict();
export type Source = z.infer<typeof Source>;

/** Figure names are snake_case; knowledge/README.md lists the names the offline reasoner reads. */
const FIGURE_NAME = /^[a-z][a-z0-9_]*$/;

export const KnowledgeEntry = z
  .object({
    /** Equals the file name without `.md`. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    title: z.string().min(1),
    kind: KnowledgeKind,
    applies_to: z
      .object({
        /** Canonical language names as RepoFacts uses them (java, javascript, typescript, python, …). */
        languages: z.array(z.string()).default([]),
        /** Canonical framework names as the stack detectors use them (spring-boot, express, …). */
        frameworks: z.array(z.string()).default([]),
        /** Image names without registry or tag (postgres, bitnami/redis → redis, eclipse-temurin). */
        images: z.array(z.string()).default([]),
        /** Pattern names (replicas-per-tier, hpa-target, pdb, cpu-limit-policy, …). */
        patterns: z.array(z.string()).default([]),
        /**
         * Process servers whose model the entry describes (gunicorn, uvicorn, puma, …), as the
         * Dockerfile analysis names them; among runtime entries of one language, a match wins.
         */
        servers: z.array(z.string()).default([]),
      })
      .strict(),
    figures: z.record(z.string().regex(FIGURE_NAME), Figure).default({}),
    sources: z.array(Source).min(1),
    /** The markdown after the front matter. */
    body: z.string(),
  })
  .strict();
export type KnowledgeEntry = z.infer<typeof KnowledgeEntry>;

/** A retrieved piece of knowledge, always with where it comes from. */
export const Passage = z.object({
  entryId: z.string(),
  title: z.string(),
  kind: KnowledgeKind,
  text: z.string(),
  /** Similarity in [0, 1] (cosine of the embeddings), after metadata filtering. */
  score: z.number(),
  sources: z.array(Source),
});
export type Passage = z.infer<typeof Passage>;

export interface RetrievalFilters {
  languages?: string[];
  frameworks?: string[];
  images?: string[];
  patterns?: string[];
  kinds?: KnowledgeKind[];
}

export interface RetrievalQuery {
  text: string;
  /**
   * An entry passes when any of its `applies_to` values is in the matching filter list (OR across
   * fields); pattern entries pass when `patterns` names them or `kinds` includes 'pattern'.
   */
  filters?: RetrievalFilters;
  topK?: number;
}

/**
 * Ranked, metadata-filtered passages over the knowledge base. Implementations must be
 * deterministic for the same knowledge and query.
 */
export interface Retriever {
  retrieve(query: RetrievalQuery): Promise<Passage[]>;
  /** Whole entries by id, for reading their figures. */
  entry(id: string): KnowledgeEntry | undefined;
  entries(): readonly KnowledgeEntry[];
}
