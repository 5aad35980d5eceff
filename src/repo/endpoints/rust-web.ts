/**
 * Actix Web, Axum and Rocket: attribute macros (`#[get("/x")]`, actix `#[route("/x", method =
 * "GET")]`, Rocket `#[post("/x", data = "<d>")]`), actix `web::resource("/x").route(web::get()…)`,
 * and `.route("/x", get(h).post(o))` (one endpoint per method). Prefixes resolved within one file:
 * axum `.nest("/p", …)` and actix `web::scope("/p")…` around inline routes, and Rocket
 * `mount("/p", routes![…])` / actix `scope(…).service(handler)` for attribute-routed handlers.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import type { Scope } from './text.js';
import {
  C_FAMILY_SYNTAX,
  MAX_ARGUMENT_CHARS,
  argumentsAt,
  closingIndex,
  hasExtension,
  joinPath,
  matchesOf,
  methodsIn,
  prefixesAt,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.rs']);
const ATTRIBUTE =
  /#\[\s*(?:(?:actix_web|rocket)::)?(?<verb>get|post|put|patch|delete|head|options|route)\s*\(\s*"(?<path>[^"\n]{0,500})"(?<rest>[^\]]{0,500})\]/g;
const HANDLER_NAME =
  /(?:\s*#\[[^\]]{0,500}\]){0,20}\s*(?:pub(?:\([^)]{0,50}\))?\s+)?(?:async\s+)?fn\s+(?<name>\w+)/y;
const RESOURCE = /\bweb::resource\s*\(\s*"(?<path>[^"\n]{0,500})"\s*\)/g;
const ROUTE_CALL = /\.\s*route\s*\(\s*"(?<path>[^"\n]{0,500})"\s*,/g;
const NEST = /\.\s*nest\s*\(\s*"(?<prefix>[^"\n]{0,500})"\s*,/g;
const SCOPE = /\bweb::scope\s*\(\s*"(?<prefix>[^"\n]{0,500})"\s*\)/g;
const CHAINED = /\s*\.\s*(?<fn>\w+)\s*(?:::<[^>]{0,200}>\s*)?\(/y;
const CALL = /(?<name>[A-Za-z_]\w*)\s*(?:::<[^>]{0,200}>\s*)?\(/g;
const MOUNT =
  /\.\s*mount\s*\(\s*"(?<prefix>[^"\n]{0,500})"\s*,\s*routes!\s*\[(?<names>[^\]]{0,2000})\]/g;
const SERVICE = /\.\s*service\s*\(\s*(?<name>[A-Za-z_][\w:]*)\s*\)/g;

export const rustWebExtractor: EndpointExtractor = {
  family: 'rust-web',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: [
    '#[get',
    '#[post',
    '#[put',
    '#[patch',
    '#[delete',
    '#[head',
    '#[options',
    '#[route',
    '::get',
    '::post',
    'route(',
    'resource(',
  ],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(C_FAMILY_SYNTAX);
  const scopes = prefixScopes(file);
  const handlerPrefixes = new Map<string, string[]>();
  for (const m of matchesOf(code, MOUNT)) {
    for (const name of (m.groups?.names ?? '').split(',')) {
      const short = name.trim().split('::').at(-1) ?? '';
      if (short !== '') handlerPrefixes.set(short, [m.groups?.prefix ?? '']);
    }
  }
  for (const m of matchesOf(code, SERVICE)) {
    const prefixes = prefixesAt(scopes, m.index);
    const short = (m.groups?.name ?? '').split('::').at(-1) ?? '';
    if (prefixes.length > 0) handlerPrefixes.set(short, prefixes);
  }
  const routes: FoundRoute[] = [];

  function add(prefixes: string[], path: string, methods: HttpMethod[], offset: number): void {
    // Rocket query segments ("/search?<q>") are not part of the path.
    const full = joinPath(...prefixes, path.replace(/\?.*$/, ''));
    for (const method of methods) routes.push({ method, path: full, line: file.lineAt(offset) });
  }

  for (const m of matchesOf(code, ATTRIBUTE)) {
    const verb = m.groups?.verb ?? '';
    const methods =
      verb === 'route'
        ? methodsIn(
            [...(m.groups?.rest ?? '').matchAll(/method\s*=\s*"(?<m>\w+)"/g)].map(
              (x) => x.groups?.m ?? '',
            ),
            'ANY',
          )
        : [toMethod(verb) ?? 'ANY'];
    HANDLER_NAME.lastIndex = m.index + m[0].length;
    const handler = HANDLER_NAME.exec(code)?.groups?.name ?? '';
    add(handlerPrefixes.get(handler) ?? [], m.groups?.path ?? '', methods, m.index);
  }
  for (const m of matchesOf(code, RESOURCE)) {
    add(
      prefixesAt(scopes, m.index),
      m.groups?.path ?? '',
      resourceMethods(file, m.index + m[0].length),
      m.index,
    );
  }
  for (const m of matchesOf(code, ROUTE_CALL)) {
    const open = m.index + m[0].indexOf('(');
    const args = argumentsAt(file, C_FAMILY_SYNTAX, open) ?? '';
    const handler = args.slice(args.indexOf(',') + 1);
    add(
      prefixesAt(scopes, m.index),
      m.groups?.path ?? '',
      methodsIn(topLevelCalls(handler).map(verbOf), 'ANY'),
      m.index,
    );
  }
  return routes;
}

/** Regions under axum `.nest("/p", …)` and after actix `web::scope("/p")` in its call chain. */
function prefixScopes(file: SourceFile): Scope[] {
  const code = file.code(C_FAMILY_SYNTAX);
  const scopes: Scope[] = [];
  for (const m of matchesOf(code, NEST)) {
    const open = m.index + m[0].indexOf('(');
    scopes.push({
      start: open,
      end: file.closing(C_FAMILY_SYNTAX, open),
      prefix: m.groups?.prefix ?? '',
    });
  }
  for (const m of matchesOf(code, SCOPE)) {
    const start = m.index + m[0].length;
    scopes.push({ start, end: chainEnd(file, start), prefix: m.groups?.prefix ?? '' });
  }
  return scopes;
}

/** Offset where a `.a(…).b(…)` call chain starting at `from` ends. */
function chainEnd(file: SourceFile, from: number): number {
  const code = file.code(C_FAMILY_SYNTAX);
  let at = from;
  for (;;) {
    CHAINED.lastIndex = at;
    const m = CHAINED.exec(code);
    if (!m) return at;
    const close = file.closing(C_FAMILY_SYNTAX, m.index + m[0].length - 1);
    if (close < 0) return at;
    at = close + 1;
  }
}

/** Methods of an actix resource from its `.route(web::get()…)` calls; ANY for `.to(h)`. */
function resourceMethods(file: SourceFile, from: number): HttpMethod[] {
  const end = chainEnd(file, from);
  const chain = file.code(C_FAMILY_SYNTAX).slice(from, Math.min(end, from + MAX_ARGUMENT_CHARS));
  const words = [...chain.matchAll(/\bweb::(?<verb>get|post|put|patch|delete|head|options)\s*\(/g)];
  return methodsIn(
    words.map((w) => w.groups?.verb ?? ''),
    'ANY',
  );
}

/**
 * Names of the first calls at the top level of an expression: `get(a).post(b)` → get, post. A
 * method router chains a handful at most, so the scan stops there.
 */
function topLevelCalls(expression: string): string[] {
  const names: string[] = [];
  for (let at = 0; at < expression.length && names.length < 12;) {
    CALL.lastIndex = at;
    const m = CALL.exec(expression);
    if (!m) break;
    names.push(m.groups?.name ?? '');
    const close = closingIndex(expression, m.index + m[0].length - 1, C_FAMILY_SYNTAX);
    if (close < 0) break;
    at = close + 1;
  }
  return names;
}

/** `get`, `get_service`, `web::get` → the method; anything else (to, layer) → nothing. */
function verbOf(call: string): string {
  return call.replace(/_service$/, '');
}
