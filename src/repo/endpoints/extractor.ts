/**
 * The contract every endpoint extractor implements. An extractor handles one framework family
 * (Express/Koa/Fastify/Hapi share call shapes, Spring/Micronaut/Quarkus share annotations), reads
 * one file at a time and never executes or throws on repository content.
 */
import type { Endpoint } from '../schema.js';
import type { Syntax } from './text.js';

export type HttpMethod = Endpoint['method'];

/** One source file as an extractor sees it. */
export interface SourceFile {
  /** Repository-relative path; evidence is built from it. */
  path: string;
  /** Path relative to the service directory; file-based routers (Next.js) route by it. */
  local: string;
  /** The raw text, LF line endings. */
  text: string;
  /** The text with comments blanked out: same length, same offsets, same lines. Memoised. */
  code(syntax: Syntax): string;
  /** `code` with string literals emptied as well (quotes kept), to find structure outside strings. */
  masked(syntax: Syntax): string;
  /**
   * Offset of the bracket closing the one at `open` in `code(syntax)`, or -1 when unbalanced. All
   * pairs are found in one pass per file, so asking for every opener stays linear.
   */
  closing(syntax: Syntax, open: number): number;
  /** 1-based line of an offset into `text` (or into `code(…)`, which has the same offsets). */
  lineAt(offset: number): number;
}

/** A route as found, before deduplication; the caller adds the file to the line. */
export interface FoundRoute {
  method: HttpMethod;
  /** Always starts with '/'. */
  path: string;
  line: number;
}

export interface EndpointExtractor {
  /** Family name, for diagnostics: "node-router", "jvm-annotations", … */
  family: string;
  /** Whether the file (service-relative path) can hold this family's routes. Must be cheap. */
  accepts(local: string): boolean;
  /**
   * Substrings of which at least one must occur in the raw text before any regex runs. Empty when
   * the file's location alone makes it a route file (Next.js, Rails routes.rb, Phoenix router.ex).
   */
  markers: readonly string[];
  /**
   * A stricter test on the raw text, run after the markers and before comments are stripped (the
   * costly step): a regex that starts at a literal and matches wherever a route could be. Files
   * that merely mention `.get(` on a Map never get further. Not global.
   */
  probe?: RegExp;
  extract(file: SourceFile): FoundRoute[];
  /**
   * Where this file serves another file's routes under a prefix (`app.use('/api', usersRouter)`
   * with the router imported, `include_router(users.router, prefix=…)`, Django `include()`).
   * Checked on every accepted file that contains one of `markers`, routes or not.
   */
  mounts?: {
    markers: readonly string[];
    find(file: SourceFile): Mount[];
  };
}

/** "Serve the routes of another file under this prefix." */
export interface Mount {
  /** Service-relative paths the mounted module may be at, most likely first. */
  candidates: string[];
  /** Path fragments put in front of every route of that file. */
  prefix: string[];
}
