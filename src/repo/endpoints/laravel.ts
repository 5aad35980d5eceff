/**
 * Laravel route files (`routes/*.php`): `Route::get('/x', …)`, `Route::match([…], '/x', …)`,
 * `Route::any`, `Route::view`, `Route::resource`/`apiResource` (with `->only`/`->except`), Lumen's
 * `$router->get(…)`, and `Route::prefix('p')->group(…)` / `Route::group(['prefix' => 'p'], …)`
 * prefixes. routes/api.php is served under /api, as the framework's default provider does.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import type { RestRoute } from './restful.js';
import { API_ONLY_EXCLUDES, restfulRoutes } from './restful.js';
import type { Scope } from './text.js';
import {
  PHP_SYNTAX,
  argumentsAt,
  joinPath,
  keywordString,
  leadingString,
  matchesOf,
  methodsIn,
  prefixesAt,
  singular,
  stringLiterals,
  toMethod,
} from './text.js';

const ROUTE_FILE = /^routes\/.+\.php$|(?:^|\/)routes\.php$/;
/**
 * `Route::` then any number of `name(…)->` calls (one level of nested parentheses, never past a `;`,
 * so a failed match costs one statement, not the rest of the file).
 */
const CHAIN = String.raw`(?:Route::|\$router\s*->\s*)(?<chain>(?:\w+\s*\((?:[^();]|\([^();]{0,200}\)){0,200}\)\s*->\s*){0,10})`;
const ROUTE_CALL = new RegExp(
  String.raw`${CHAIN}(?<fn>get|post|put|patch|delete|options|any|match|view|resource|apiResource)\s*\(`,
  'g',
);
const GROUP_CALL = new RegExp(String.raw`${CHAIN}group\s*\(`, 'g');
const CHAINED = /\s*->\s*(?<fn>\w+)\s*\(/y;

export const laravelExtractor: EndpointExtractor = {
  family: 'laravel',
  accepts: (local) => ROUTE_FILE.test(local),
  markers: ['Route::', '$router'],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(PHP_SYNTAX);
  const filePrefix = file.local === 'routes/api.php' ? '/api' : '';
  const scopes: Scope[] = [];
  for (const m of matchesOf(code, GROUP_CALL)) {
    const open = m.index + m[0].length - 1;
    const args = argumentsAt(file, PHP_SYNTAX, open) ?? '';
    const prefix =
      /\bprefix\s*\(\s*(?<q>['"])(?<p>[^'"]*)\k<q>/.exec(m.groups?.chain ?? '')?.groups?.p ??
      (args.trimStart().startsWith('[') ? keywordString(args, 'prefix') : undefined);
    if (prefix !== undefined)
      scopes.push({ start: open, end: file.closing(PHP_SYNTAX, open), prefix });
  }
  const routes: FoundRoute[] = [];
  for (const m of matchesOf(code, ROUTE_CALL)) {
    const open = m.index + m[0].length - 1;
    const args = argumentsAt(file, PHP_SYNTAX, open) ?? '';
    const fn = m.groups?.fn ?? '';
    const base = [filePrefix, ...prefixesAt(scopes, m.index)];
    const line = file.lineAt(m.index);
    if (fn === 'resource' || fn === 'apiResource') {
      const name = leadingString(args);
      if (name === undefined) continue;
      for (const route of resourceRoutes(name, fn === 'apiResource', file, open)) {
        routes.push({ method: route.method, path: joinPath(...base, route.path), line });
      }
      continue;
    }
    let methods: HttpMethod[];
    let path: string | undefined;
    if (fn === 'match') {
      const list = /^\s*\[(?<list>[^\]]*)\]/.exec(args)?.groups?.list ?? '';
      methods = methodsIn(stringLiterals(list), 'ANY');
      path = stringLiterals(args.slice(args.indexOf(']') + 1))[0];
    } else {
      methods = [fn === 'view' ? 'GET' : (toMethod(fn) ?? 'ANY')];
      path = leadingString(args);
    }
    if (path === undefined) continue;
    for (const method of methods) routes.push({ method, path: joinPath(...base, path), line });
  }
  return routes;
}

/** `photos.comments` nests: /photos/{photo}/comments/{comment}. */
function resourceRoutes(
  name: string,
  apiOnly: boolean,
  file: SourceFile,
  open: number,
): RestRoute[] {
  const parts = name.split('.').filter((p) => p !== '');
  const last = parts.pop() ?? name;
  const base = parts.flatMap((p) => [p, `{${singular(p)}}`]);
  const chain = chainedCalls(file, file.closing(PHP_SYNTAX, open));
  const except = [...(apiOnly ? API_ONLY_EXCLUDES : []), ...(chain.get('except') ?? [])];
  return restfulRoutes('laravel', [...base, last], {
    memberParam: `{${singular(last)}}`,
    only: chain.get('only'),
    except,
  });
}

/** String arguments of `->only([…])`, `->except([…])`, … chained after a call ending at `close`. */
function chainedCalls(file: SourceFile, close: number): Map<string, string[]> {
  const code = file.code(PHP_SYNTAX);
  const calls = new Map<string, string[]>();
  for (let at = close; at >= 0;) {
    CHAINED.lastIndex = at + 1;
    const m = CHAINED.exec(code);
    if (!m) break;
    const open = m.index + m[0].length - 1;
    calls.set(m.groups?.fn ?? '', stringLiterals(argumentsAt(file, PHP_SYNTAX, open) ?? ''));
    at = file.closing(PHP_SYNTAX, open);
  }
  return calls;
}
