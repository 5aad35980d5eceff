/**
 * Ktor routing DSL: `get("/x") { … }`, `post { … }` inside `route("/api") { … }` blocks. A call
 * preceded by a dot (`client.get("…") { … }`, the Ktor HTTP client) is not a route.
 */
import type { EndpointExtractor, FoundRoute, SourceFile } from './extractor.js';
import type { Scope } from './text.js';
import {
  C_FAMILY_SYNTAX,
  hasExtension,
  joinPath,
  matchesOf,
  prefixesAt,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.kt']);
const ROUTE_BLOCK = /(?<![\w.])route\s*\(\s*"(?<prefix>[^"\n]{0,500})"\s*\)\s*\{/g;
const VERB_BLOCK =
  /(?<![\w.])(?<verb>get|post|put|patch|delete|head|options)\s*(?:\(\s*"(?<path>[^"\n]{0,500})"\s*\))?\s*\{/g;

export const ktorExtractor: EndpointExtractor = {
  family: 'ktor',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: ['routing', 'Route.', 'route('],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(C_FAMILY_SYNTAX);
  const scopes: Scope[] = [];
  for (const m of matchesOf(code, ROUTE_BLOCK)) {
    const open = m.index + m[0].length - 1;
    scopes.push({
      start: open,
      end: file.closing(C_FAMILY_SYNTAX, open),
      prefix: m.groups?.prefix ?? '',
    });
  }
  const routes: FoundRoute[] = [];
  for (const m of matchesOf(code, VERB_BLOCK)) {
    const method = toMethod(m.groups?.verb ?? '');
    const prefixes = prefixesAt(scopes, m.index);
    const bare = m.groups?.path === undefined;
    // A bare `get { }` is a route only inside `route("…")`; a bare `head { }` is kotlinx.html.
    if (!method || (bare && (prefixes.length === 0 || method === 'HEAD' || method === 'OPTIONS'))) {
      continue;
    }
    const path = joinPath(...prefixes, m.groups?.path ?? '');
    routes.push({ method, path, line: file.lineAt(m.index) });
  }
  return routes;
}
