/**
 * Express, Koa (koa-router), Fastify and Hapi: `app.get('/x', h)`, `router.route('/x').get(h)`,
 * `fastify.route({ method, url })`, `server.route({ method, path })`. Mount prefixes
 * (`app.use('/api', router)`, `new Router({ prefix })`) are resolved within one file.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, Mount, SourceFile } from './extractor.js';
import { jsModuleCandidates } from './modules.js';
import type { PrefixTable } from './text.js';
import {
  JS_SYNTAX,
  MAX_ARGUMENT_CHARS,
  argumentsAt,
  assignedName,
  definePrefix,
  hasExtension,
  identifierBefore,
  joinPath,
  keywordString,
  matchesOf,
  methodsIn,
  stringLiterals,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);
const VERBS = 'get|post|put|patch|delete|del|head|options|all';
const PATH_LITERAL = String.raw`(?<q>['"\`])(?<path>[^'"\`\n]{0,500})\k<q>`;

// Every pattern starts at a literal (`.get(`, `new Router`); receivers are read backwards.
/** `.get('/path', …` — the comma rules out one-argument getters such as `map.get('/x')`. */
const VERB_CALL = new RegExp(String.raw`\.\s*(?<verb>${VERBS})\s*\(\s*${PATH_LITERAL}\s*,`, 'g');
const ROUTE_CHAIN = new RegExp(String.raw`\.\s*route\s*\(\s*${PATH_LITERAL}\s*\)`, 'g');
const CHAINED_VERB = new RegExp(String.raw`\s*\.\s*(?<verb>${VERBS})\s*\(`, 'y');
const ROUTE_OBJECT = /\.\s*route\s*\((?=\s*[{[])/g;
const OBJECT_METHOD =
  /\bmethods?\s*:\s*(?:\[(?<many>[^\]]{0,500})\]|(?<q>['"`])(?<one>[^'"`\n]{0,500})\k<q>)/;
const OBJECT_PATH = /\b(?:url|path)\s*:\s*(?<q>['"`])(?<path>[^'"`\n]{0,500})\k<q>/;
const MOUNT = new RegExp(
  String.raw`\.\s*use\s*\(\s*${PATH_LITERAL}\s*,(?<rest>[^)]{0,500})\)`,
  'g',
);
const ROUTER_PREFIX = new RegExp(
  String.raw`new\s+(?:Koa)?Router\s*\(\s*\{[^}]{0,500}?\bprefix\s*:\s*${PATH_LITERAL}`,
  'g',
);
const PREFIX_CALL = new RegExp(String.raw`\.\s*prefix\s*\(\s*${PATH_LITERAL}\s*\)`, 'g');
const REGISTER = /\.\s*register\s*\(/g;
const IMPORT_FROM =
  /\bimport\s+(?<what>[^;'"`]{1,500}?)\s+from\s+(?<q>['"])(?<source>\.[^'"\n]{0,300})\k<q>/g;
const REQUIRE =
  /\b(?:const|let|var)\s+(?<what>[A-Za-z_$][\w$]*|\{[^}]{0,500}\})\s*=\s*require\s*\(\s*(?<q>['"])(?<source>\.[^'"\n]{0,300})\k<q>\s*\)/g;
const INLINE_MODULE = /\b(?:require|import)\s*\(\s*(?<q>['"])(?<source>\.[^'"\n]{0,300})\k<q>/;
const STRING_CONST =
  /\b(?:const|let|var)\s+(?<name>[A-Za-z_$][\w$]*)\s*=\s*(?<q>['"`])(?<value>[^'"`\n$]{0,500})\k<q>/g;

/** HTTP clients and request mocks share the call shape of a router; their calls are not routes. */
const CLIENTS = new Set([
  'axios',
  'got',
  'ky',
  'superagent',
  'needle',
  'request',
  'fetch',
  'http',
  'https',
  '$http',
  'httpClient',
  'client',
  'agent',
  'supertest',
  'instance',
  'rest',
  'nock',
  'cy',
  'page',
  '$',
  'jQuery',
]);

export const nodeRouterExtractor: EndpointExtractor = {
  family: 'node-router',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: [
    '.get(',
    '.post(',
    '.put(',
    '.patch(',
    '.delete(',
    '.del(',
    '.all(',
    '.route(',
    '.head(',
    '.options(',
  ],
  mounts: { markers: ['.use(', '.register('], find: findMounts },
  probe: new RegExp(String.raw`\.\s*(?:${VERBS})\s*\(\s*['"\`](?:\/|\*|\$\{)|\.\s*route\s*\(`),
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(JS_SYNTAX);
  // Constants are only needed for template-literal paths, which are rare.
  const consts = code.includes('${') ? stringConstants(code) : new Map<string, string>();
  const prefixes = mountPrefixes(code, consts);
  const routes: FoundRoute[] = [];

  function add(dot: number, methods: HttpMethod[], rawPath: string, offset: number): void {
    const recv = identifierBefore(code, dot).name;
    const path = routePath(rawPath, consts);
    if (path === undefined || recv === '' || CLIENTS.has(recv)) return;
    const full = joinPath(...(prefixes.get(recv) ?? []), path);
    for (const method of methods) routes.push({ method, path: full, line: file.lineAt(offset) });
  }

  for (const m of matchesOf(code, VERB_CALL)) {
    const method = toMethod(m.groups?.verb ?? '');
    if (method && !isClientCall(file, m.index + m[0].length)) {
      add(m.index, [method], m.groups?.path ?? '', m.index);
    }
  }
  if (!/\.\s*route\s*\(/.test(code)) return routes;
  for (const m of matchesOf(code, ROUTE_CHAIN)) {
    let at = m.index + m[0].length;
    for (;;) {
      CHAINED_VERB.lastIndex = at;
      const verb = CHAINED_VERB.exec(code);
      const method = toMethod(verb?.groups?.verb ?? '');
      if (!verb || !method) break;
      add(m.index, [method], m.groups?.path ?? '', verb.index);
      const close = file.closing(JS_SYNTAX, verb.index + verb[0].length - 1);
      if (close < 0) break;
      at = close + 1;
    }
  }
  for (const m of matchesOf(code, ROUTE_OBJECT)) {
    const open = m.index + m[0].length - 1;
    for (const object of routeObjects(file, open)) {
      const end = file.closing(JS_SYNTAX, object);
      if (end < 0) continue;
      const body = code.slice(object, Math.min(end + 1, object + MAX_ARGUMENT_CHARS));
      const path = OBJECT_PATH.exec(body);
      const method = OBJECT_METHOD.exec(body);
      if (!path?.groups || !method?.groups) continue;
      const words = method.groups.many
        ? stringLiterals(method.groups.many)
        : [method.groups.one ?? ''];
      add(m.index, methodsIn(words, 'ANY'), path.groups.path ?? '', object + path.index);
    }
  }
  return routes;
}

/**
 * Routers imported from another file and mounted under a path: Express `app.use('/api', router)`
 * (also `app.use('/api', require('./api'))`) and Fastify `app.register(plugin, { prefix })`.
 */
function findMounts(file: SourceFile): Mount[] {
  const code = file.code(JS_SYNTAX);
  const imports = importedModules(code);
  const consts = code.includes('${') ? stringConstants(code) : new Map<string, string>();
  const prefixes = mountPrefixes(code, consts);
  const mounts: Mount[] = [];

  function mount(target: string, parentDot: number, prefix: string | undefined): void {
    const inline = INLINE_MODULE.exec(target)?.groups?.source;
    const source = inline ?? imports.get(target.trim());
    if (source === undefined || prefix === undefined) return;
    const parent = identifierBefore(code, parentDot).name;
    mounts.push({
      candidates: jsModuleCandidates(file.local, source),
      prefix: [...(prefixes.get(parent) ?? []), prefix],
    });
  }

  for (const m of matchesOf(code, MOUNT)) {
    const prefix = routePath(m.groups?.path ?? '', consts);
    const rest = m.groups?.rest ?? '';
    const inline = INLINE_MODULE.exec(rest);
    if (inline) mount(inline[0], m.index, prefix);
    for (const name of rest.match(/[A-Za-z_$][\w$]*/g) ?? []) mount(name, m.index, prefix);
  }
  for (const m of matchesOf(code, REGISTER)) {
    const args = argumentsAt(file, JS_SYNTAX, m.index + m[0].length - 1) ?? '';
    const target = /^\s*(?<target>(?:require|import)\s*\([^)]*\)|[A-Za-z_$][\w$]*)/.exec(args);
    const prefix = keywordString(args, 'prefix');
    if (target?.groups?.target && prefix !== undefined) {
      mount(target.groups.target, m.index, routePath(prefix, consts));
    }
  }
  return mounts;
}

/** Local name → relative module specifier, from `import … from './x'` and `require('./x')`. */
function importedModules(code: string): Map<string, string> {
  const modules = new Map<string, string>();
  if (!code.includes('./')) return modules;
  for (const m of [...matchesOf(code, IMPORT_FROM), ...matchesOf(code, REQUIRE)]) {
    const source = m.groups?.source ?? '';
    for (const name of boundNames(m.groups?.what ?? '')) modules.set(name, source);
  }
  return modules;
}

/** `X`, `{ a, b as c }`, `* as ns`, `X, { a }` → the local names they bind. */
function boundNames(what: string): string[] {
  const names: string[] = [];
  const braces = /\{(?<inner>[^}]*)\}/.exec(what)?.groups?.inner ?? '';
  for (const entry of braces.split(',')) {
    const local = /(?<local>[A-Za-z_$][\w$]*)\s*$/.exec(entry.trim())?.groups?.local;
    if (local !== undefined) names.push(local);
  }
  for (const id of what.replace(/\{[^}]*\}/, ' ').match(/[A-Za-z_$][\w$]*/g) ?? []) {
    if (id !== 'as' && id !== 'type') names.push(id);
  }
  return names;
}

/**
 * `api.get('/users', { params })`: an object as the last of two arguments is an HTTP client's
 * request config (axios and friends), where a router takes a handler (Fastify's options object is
 * followed by one).
 */
function isClientCall(file: SourceFile, afterComma: number): boolean {
  const code = file.code(JS_SYNTAX);
  const second = code.slice(afterComma, afterComma + 200).search(/\S/) + afterComma;
  if (code.charAt(second) !== '{') return false;
  const close = file.closing(JS_SYNTAX, second);
  return close > 0 && /^\s*\)/.test(code.slice(close + 1, close + 20));
}

function stringConstants(code: string): Map<string, string> {
  const consts = new Map<string, string>();
  for (const m of matchesOf(code, STRING_CONST)) {
    if (m.groups?.name) consts.set(m.groups.name, m.groups.value ?? '');
  }
  return consts;
}

/** Offsets of the `{` of each route object passed to `.route(` (one object or an array of them). */
function routeObjects(file: SourceFile, open: number): number[] {
  const code = file.code(JS_SYNTAX);
  const close = file.closing(JS_SYNTAX, open);
  if (close < 0) return [];
  const first = code.slice(open + 1, close).search(/\S/) + open + 1;
  if (code.charAt(first) === '{') return [first];
  const arrayClose = file.closing(JS_SYNTAX, first);
  const objects: number[] = [];
  for (let at = code.indexOf('{', first); at >= 0 && at < arrayClose;) {
    objects.push(at);
    const end = file.closing(JS_SYNTAX, at);
    if (end < 0) break;
    at = code.indexOf('{', end);
  }
  return objects;
}

/** Router variable → mount prefixes, from `parent.use('/p', child)` and koa-router prefixes. */
function mountPrefixes(code: string, consts: Map<string, string>): PrefixTable {
  const table: PrefixTable = new Map();
  if (code.includes('Router')) {
    for (const m of matchesOf(code, ROUTER_PREFIX)) {
      const name = assignedName(code, m.index);
      const prefix = routePath(m.groups?.path ?? '', consts);
      if (name !== '' && prefix !== undefined) definePrefix(table, name, undefined, prefix);
    }
  }
  if (code.includes('prefix')) {
    for (const m of matchesOf(code, PREFIX_CALL)) {
      const name = identifierBefore(code, m.index).name;
      const prefix = routePath(m.groups?.path ?? '', consts);
      if (name !== '' && prefix !== undefined) definePrefix(table, name, undefined, prefix);
    }
  }
  if (code.includes('use')) {
    for (const m of matchesOf(code, MOUNT)) {
      const prefix = routePath(m.groups?.path ?? '', consts);
      const parent = identifierBefore(code, m.index).name;
      if (prefix === undefined || parent === '') continue;
      for (const child of (m.groups?.rest ?? '').match(/[A-Za-z_$][\w$]*/g) ?? []) {
        if (child === parent) continue;
        definePrefix(table, child, parent, prefix, ...(table.get(child) ?? []));
      }
    }
  }
  return table;
}

/**
 * A route path as written, with `${NAME}` replaced by a same-file string constant (unknown ones
 * become `{NAME}`); undefined when it does not look like a route at all.
 */
function routePath(raw: string, consts: Map<string, string>): string | undefined {
  if (!(raw.startsWith('/') || raw === '*' || raw.startsWith('${'))) return undefined;
  return raw.replace(
    /\$\{\s*(?<expr>[^}]*?)\s*\}/g,
    (_all, expr: string) => consts.get(expr) ?? `{${expr}}`,
  );
}
