/**
 * FastAPI, Flask, Starlette and aiohttp: route decorators (`@app.get("/x")`,
 * `@bp.route("/x", methods=[…])`), `add_url_rule`, Starlette `Route(…)`, and aiohttp
 * `web.get(…)`/`router.add_get(…)`. Router prefixes (`APIRouter(prefix=…)`,
 * `Blueprint(url_prefix=…)`, `include_router(r, prefix=…)`) are resolved within one file.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, Mount, SourceFile } from './extractor.js';
import { pythonBindings, pythonExpressionCandidates } from './modules.js';
import type { PrefixTable } from './text.js';
import {
  PYTHON_SYNTAX,
  argumentsAt,
  assignedName,
  definePrefix,
  hasExtension,
  identifierBefore,
  joinPath,
  keywordString,
  keywordStrings,
  leadingString,
  matchesOf,
  methodsIn,
  stringLiterals,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.py']);
const VERBS = 'get|post|put|patch|delete|head|options';

// Every pattern starts at a literal (`@`, `.add_`, `Route(`); receivers are read backwards.
/** Decorators must start their line (checked in code), which keeps `requests.get(…)` out. */
const DECORATOR = new RegExp(
  String.raw`@(?<recv>[A-Za-z_][\w.]{0,200})\.(?<verb>${VERBS}|route|api_route)\s*\(`,
  'g',
);
const AIOHTTP_CALL = new RegExp(String.raw`web\.(?<verb>${VERBS}|view|route)\s*\(`, 'g');
const ADD_CALL = new RegExp(
  String.raw`\.(?<fn>add_(?:${VERBS}|view|route)|add_url_rule|add_api_route)\s*\(`,
  'g',
);
const STARLETTE_ROUTE = /Route\s*\(/g;
const ROUTER_DEFINITION = /(?:APIRouter|Blueprint|RouteTableDef)\s*\(/g;
const ROUTER_MOUNT = /\.(?:include_router|register_blueprint)\s*\(/g;
const PREFIX_KEYS = 'prefix|url_prefix';

export const pythonWebExtractor: EndpointExtractor = {
  family: 'python-web',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  probe:
    /@[\w.]{1,200}\.(?:get|post|put|patch|delete|head|options|route|api_route)\s*\(|web\.\w+\s*\(|\.add_\w+\s*\(|Route\s*\(/,
  mounts: { markers: ['include_router', 'register_blueprint'], find: findMounts },
  markers: ['.get(', '.post(', '.put(', '.patch(', '.delete(', 'route(', 'web.', 'add_', 'Route('],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(PYTHON_SYNTAX);
  const prefixes = routerPrefixes(file);
  const routes: FoundRoute[] = [];

  function add(
    prefix: string[],
    path: string | undefined,
    methods: HttpMethod[],
    offset: number,
  ): void {
    if (path === undefined || !(path === '' || path.startsWith('/'))) return;
    const full = joinPath(...prefix, path);
    for (const method of methods) routes.push({ method, path: full, line: file.lineAt(offset) });
  }
  function argsAt(offset: number): string {
    return argumentsAt(file, PYTHON_SYNTAX, offset) ?? '';
  }

  for (const m of matchesOf(code, DECORATOR)) {
    if (!startsLine(code, m.index)) continue;
    const args = argsAt(m.index + m[0].length - 1);
    const verb = m.groups?.verb ?? '';
    const path = leadingString(args) ?? keywordString(args, 'path|rule');
    const methods =
      verb === 'route' || verb === 'api_route'
        ? methodsIn(keywordStrings(args, 'methods') ?? [], 'GET')
        : [toMethod(verb) ?? 'GET'];
    add(prefixes.get(m.groups?.recv ?? '') ?? [], path, methods, m.index);
  }
  for (const m of matchesOf(code, AIOHTTP_CALL)) {
    if (identifierBefore(code, m.index + 'web'.length).name !== 'web') continue;
    const args = argsAt(m.index + m[0].length - 1);
    const verb = m.groups?.verb ?? '';
    if (verb === 'route') {
      const [method = '', path] = stringLiterals(args);
      add([], path, methodsIn([method], 'ANY'), m.index);
    } else {
      add([], leadingString(args), [toMethod(verb) ?? 'ANY'], m.index);
    }
  }
  for (const m of matchesOf(code, ADD_CALL)) {
    const args = argsAt(m.index + m[0].length - 1);
    const fn = m.groups?.fn ?? '';
    const prefix = prefixes.get(identifierBefore(code, m.index, true).name) ?? [];
    const first = leadingString(args);
    if (fn === 'add_route' && first !== undefined && !first.startsWith('/')) {
      // aiohttp: add_route(method, path, handler)
      add(prefix, stringLiterals(args)[1], methodsIn([first], 'ANY'), m.index);
    } else if (fn === 'add_url_rule' || fn === 'add_route' || fn === 'add_api_route') {
      // Flask, Starlette and FastAPI take the path first and methods as a keyword.
      add(prefix, first, methodsIn(keywordStrings(args, 'methods') ?? [], 'GET'), m.index);
    } else {
      add(prefix, first, [toMethod(fn.slice('add_'.length)) ?? 'ANY'], m.index);
    }
  }
  for (const m of matchesOf(code, STARLETTE_ROUTE)) {
    if (/[\w.]/.test(code.charAt(m.index - 1))) continue;
    const args = argsAt(m.index + m[0].length - 1);
    add([], leadingString(args), methodsIn(keywordStrings(args, 'methods') ?? [], 'GET'), m.index);
  }
  return routes;
}

/** Router or blueprint variable → prefixes, from its constructor and from where it is mounted. */
function routerPrefixes(file: SourceFile): PrefixTable {
  const code = file.code(PYTHON_SYNTAX);
  const own = new Map<string, string>();
  const table: PrefixTable = new Map();
  if (!/APIRouter|Blueprint|RouteTableDef|include_router|register_blueprint/.test(code))
    return table;
  for (const m of matchesOf(code, ROUTER_DEFINITION)) {
    // `router = APIRouter(…)`, `bp = flask.Blueprint(…)`, `router: APIRouter = APIRouter(…)`
    const name = assignedName(code, identifierBefore(code, m.index, true).start);
    const args = argumentsAt(file, PYTHON_SYNTAX, m.index + m[0].length - 1) ?? '';
    if (name !== '') own.set(name, keywordString(args, PREFIX_KEYS) ?? '');
  }
  for (const [name, prefix] of own) definePrefix(table, name, undefined, prefix);
  for (const m of matchesOf(code, ROUTER_MOUNT)) {
    const args = argumentsAt(file, PYTHON_SYNTAX, m.index + m[0].length - 1) ?? '';
    const child = /^\s*(?<child>[A-Za-z_][\w.]*)/.exec(args)?.groups?.child;
    if (child === undefined) continue;
    const mount = keywordString(args, PREFIX_KEYS) ?? '';
    const parent = identifierBefore(code, m.index, true).name;
    definePrefix(table, child, parent, mount, own.get(child) ?? '');
  }
  return table;
}

/**
 * Routers and blueprints imported from another module and mounted with a prefix:
 * `app.include_router(users.router, prefix="/users")`, `app.register_blueprint(bp, url_prefix=…)`.
 */
function findMounts(file: SourceFile): Mount[] {
  const code = file.code(PYTHON_SYNTAX);
  const bindings = pythonBindings(code);
  const prefixes = routerPrefixes(file);
  const mounts: Mount[] = [];
  for (const m of matchesOf(code, ROUTER_MOUNT)) {
    const args = argumentsAt(file, PYTHON_SYNTAX, m.index + m[0].length - 1) ?? '';
    const child = /^\s*(?<child>[A-Za-z_][\w.]*)/.exec(args)?.groups?.child;
    const candidates =
      child === undefined ? [] : pythonExpressionCandidates(file.local, child, bindings);
    if (candidates.length === 0) continue;
    const parent = identifierBefore(code, m.index, true).name;
    const mount = keywordString(args, PREFIX_KEYS) ?? '';
    mounts.push({ candidates, prefix: [...(prefixes.get(parent) ?? []), mount] });
  }
  return mounts;
}

/** Only whitespace between the start of the line and `offset`. */
function startsLine(code: string, offset: number): boolean {
  const lineStart = code.lastIndexOf('\n', offset - 1) + 1;
  return code.slice(lineStart, offset).trim() === '';
}
