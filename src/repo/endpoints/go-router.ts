/**
 * Gin, Echo, Fiber, chi, gorilla/mux and net/http: `r.GET("/x", h)`, `app.Get("/x", h)`,
 * `r.HandleFunc("/x", h).Methods("GET")`, `mux.HandleFunc("GET /x", h)` (Go 1.22 patterns),
 * `r.Handle("GET", "/x", h)`. Group prefixes held in variables (`v1 := r.Group("/v1")`,
 * `s := r.PathPrefix("/p").Subrouter()`) and chi/Fiber `Route("/p", func…)` bodies are resolved
 * within one file.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import type { PrefixTable, Scope } from './text.js';
import {
  GO_SYNTAX,
  argumentsAt,
  assignedName,
  definePrefix,
  hasExtension,
  identifierBefore,
  joinPath,
  matchesOf,
  methodsIn,
  prefixesAt,
  stringLiterals,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.go']);
const VERBS =
  'GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|Any|Get|Post|Put|Patch|Delete|Head|Options|All';
// Every pattern starts at a literal (`.GET(`); receivers and assigned names are read backwards.
/** The comma after the path rules out one-argument getters (`c.Get("key")`, `h.Get("X-Id")`). */
const VERB_CALL = new RegExp(String.raw`\.(?<verb>${VERBS})\(\s*"(?<path>[^"\n]{0,500})"\s*,`, 'g');
const HANDLE_CALL = /\.(?:HandleFunc|Handle)\(\s*"(?<first>[^"\n]{0,500})"/g;
const CHAINED = /\s*\.\s*(?<fn>[A-Z]\w*)\s*\(/y;
const GROUP = /\.(?:Group|Party)\(\s*"(?<prefix>[^"\n]{0,500})"/g;
const SUBROUTER = /\.PathPrefix\(\s*"(?<prefix>[^"\n]{0,500})"\s*\)\s*\.Subrouter\(\s*\)/g;
const ROUTE_BLOCK = /\.Route\(\s*"(?<prefix>[^"\n]{0,500})"\s*,\s*func\b/g;
/** Go 1.22 ServeMux patterns: "GET /items/{id}". */
const METHOD_PATTERN = /^(?<method>[A-Z]+)\s+(?<path>\/\S*)$/;

export const goRouterExtractor: EndpointExtractor = {
  family: 'go-router',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: [
    '.GET(',
    '.POST(',
    '.PUT(',
    '.PATCH(',
    '.DELETE(',
    '.Get(',
    '.Post(',
    '.Put(',
    '.Patch(',
    '.Delete(',
    '.Any(',
    '.All(',
    '.Handle',
  ],
  probe: new RegExp(String.raw`\.(?:${VERBS})\(\s*"[/*"]|\.Handle(?:Func)?\(\s*"`),
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(GO_SYNTAX);
  const table: PrefixTable = new Map();
  const definitions = [...matchesOf(code, GROUP), ...matchesOf(code, SUBROUTER)].sort(
    (a, b) => a.index - b.index,
  );
  for (const m of definitions) {
    const parent = identifierBefore(code, m.index);
    const name = assignedName(code, parent.start);
    if (name !== '') definePrefix(table, name, parent.name, m.groups?.prefix ?? '');
  }
  const scopes: Scope[] = [];
  for (const m of matchesOf(code, ROUTE_BLOCK)) {
    const open = m.index + m[0].indexOf('(');
    scopes.push({
      start: open,
      end: file.closing(GO_SYNTAX, open),
      prefix: m.groups?.prefix ?? '',
    });
  }
  const routes: FoundRoute[] = [];

  function add(dot: number, path: string, methods: HttpMethod[], offset: number): void {
    const recv = identifierBefore(code, dot).name;
    if (recv === '' || !(path === '' || path.startsWith('/') || path === '*')) return;
    const full = joinPath(...prefixesAt(scopes, offset), ...(table.get(recv) ?? []), path);
    for (const method of methods) routes.push({ method, path: full, line: file.lineAt(offset) });
  }

  for (const m of matchesOf(code, VERB_CALL)) {
    const method = toMethod(m.groups?.verb ?? '');
    if (method) add(m.index, m.groups?.path ?? '', [method], m.index);
  }
  for (const m of matchesOf(code, HANDLE_CALL)) {
    const dot = m.index;
    const first = m.groups?.first ?? '';
    const open = m.index + m[0].indexOf('(');
    const pattern = METHOD_PATTERN.exec(first);
    if (pattern?.groups) {
      add(dot, pattern.groups.path ?? '', methodsIn([pattern.groups.method ?? ''], 'ANY'), m.index);
      continue;
    }
    if (/^[A-Z]+$/.test(first)) {
      // httprouter and gin: Handle("GET", "/x", h)
      const path = stringLiterals(argumentsAt(file, GO_SYNTAX, open) ?? '')[1] ?? '';
      add(dot, path, methodsIn([first], 'ANY'), m.index);
      continue;
    }
    add(dot, first, gorillaMethods(file, open), m.index);
  }
  return routes;
}

/** Methods from a gorilla `.Methods("GET", …)` chained after the call; ANY when there is none. */
function gorillaMethods(file: SourceFile, open: number): HttpMethod[] {
  const code = file.code(GO_SYNTAX);
  let at = file.closing(GO_SYNTAX, open);
  const words: string[] = [];
  while (at >= 0) {
    CHAINED.lastIndex = at + 1;
    const next = CHAINED.exec(code);
    if (!next) break;
    const callOpen = next.index + next[0].length - 1;
    if (next.groups?.fn === 'Methods')
      words.push(...stringLiterals(argumentsAt(file, GO_SYNTAX, callOpen) ?? ''));
    at = file.closing(GO_SYNTAX, callOpen);
  }
  return methodsIn(words, 'ANY');
}
