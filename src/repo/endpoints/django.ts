/**
 * Django URLconfs: `path('users/<int:id>/', view)`, `re_path(r'^x/$', view)` and the old `url()`
 * in urls.py files, plus Django REST framework `router.register('users', …)` when the router's
 * URLs are included in the same file. Django routes are not method-specific, so every one is ANY.
 * `include('app.urls')` lines are prefixes into other files, not endpoints.
 */
import type { EndpointExtractor, FoundRoute, Mount, SourceFile } from './extractor.js';
import { pythonBindings, pythonExpressionCandidates, pythonModuleCandidates } from './modules.js';
import {
  PYTHON_SYNTAX,
  argumentsAt,
  bracketed,
  identifierBefore,
  joinPath,
  leadingString,
  matchesOf,
} from './text.js';

const URLCONF = /(?:^|\/)urls(?:_\w+)?\.py$|(?:^|\/)urls\/[^/]+\.py$/;
const URL_CALL = /(?<![\w.])(?<fn>path|re_path|url)\s*\(/g;
const REGISTER = /\.register\s*\(/g;
const INCLUDE_ROUTER = /^\s*\(?\s*(?<router>[A-Za-z_]\w*)\.urls\b/;

export const djangoExtractor: EndpointExtractor = {
  family: 'django',
  accepts: (local) => URLCONF.test(local),
  markers: ['path(', 'url(', 'register('],
  mounts: { markers: ['include('], find: findMounts },
  extract,
};

interface UrlCall {
  /** The route as written, regex anchors dropped. */
  route: string;
  args: string;
  offset: number;
  /** The argument of `include(…)`, when the line includes another URLconf. */
  include?: string;
}

function urlCalls(file: SourceFile): UrlCall[] {
  const code = file.code(PYTHON_SYNTAX);
  const calls: UrlCall[] = [];
  for (const m of matchesOf(code, URL_CALL)) {
    const args = argumentsAt(file, PYTHON_SYNTAX, m.index + m[0].length - 1);
    const raw = args === undefined ? undefined : leadingString(args);
    if (args === undefined || raw === undefined) continue;
    const route = m.groups?.fn === 'path' ? raw : raw.replace(/^\^/, '').replace(/\$$/, '');
    const include = /\binclude\s*\(/.exec(args);
    const included = include
      ? (bracketed(args, include.index + include[0].length - 1, PYTHON_SYNTAX) ?? '')
      : undefined;
    calls.push({ route, args, offset: m.index, include: included });
  }
  return calls;
}

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(PYTHON_SYNTAX);
  const routes: FoundRoute[] = [];
  const routerPrefixes = new Map<string, string>();
  for (const call of urlCalls(file)) {
    if (call.include === undefined) {
      routes.push({ method: 'ANY', path: joinPath(call.route), line: file.lineAt(call.offset) });
      continue;
    }
    const router = INCLUDE_ROUTER.exec(call.include)?.groups?.router;
    if (router !== undefined) routerPrefixes.set(router, call.route);
  }
  for (const m of matchesOf(code, REGISTER)) {
    const args = argumentsAt(file, PYTHON_SYNTAX, m.index + m[0].length - 1) ?? '';
    const router = identifierBefore(code, m.index).name;
    const resource = leadingString(args);
    const prefix = routerPrefixes.get(router);
    if (resource === undefined || prefix === undefined) continue;
    const line = file.lineAt(m.index);
    const base = resource.replace(/^\^/, '').replace(/\/?\$?$/, '');
    routes.push({ method: 'ANY', path: joinPath(prefix, `${base}/`), line });
    routes.push({ method: 'ANY', path: joinPath(prefix, base, '<pk>/'), line });
  }
  return routes;
}

/** `path('api/', include('api.urls'))` and `include(api_urls)` serve that URLconf under api/. */
function findMounts(file: SourceFile): Mount[] {
  const bindings = pythonBindings(file.code(PYTHON_SYNTAX));
  const mounts: Mount[] = [];
  for (const call of urlCalls(file)) {
    if (call.include === undefined) continue;
    const module = leadingString(call.include);
    const name = /^\s*(?<name>[A-Za-z_][\w.]*)\s*$/.exec(call.include.split(',')[0] ?? '')?.groups
      ?.name;
    const candidates =
      module !== undefined
        ? pythonModuleCandidates(file.local, module)
        : name !== undefined
          ? pythonExpressionCandidates(file.local, `${name}.urlpatterns`, bindings)
          : [];
    if (candidates.length > 0) mounts.push({ candidates, prefix: [call.route] });
  }
  return mounts;
}
