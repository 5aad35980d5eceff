/**
 * Next.js file-based API routes: `pages/api/**` (any method unless the handler compares
 * `req.method`) and App Router `app/**\/route.ts` with exported `GET`/`POST`/… handlers. Dynamic
 * segments stay as written (`[id]`); route groups `(x)` and parallel slots `@x` add nothing; private
 * `_folders` are not routes. Both layouts may sit under `src/`.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import { JS_SYNTAX, joinPath, matchesOf, toMethod } from './text.js';

const PAGES_API = /^(?:src\/)?pages\/(?<route>api(?:\/.+)?)\.(?:[cm]?[jt]sx?)$/;
const APP_ROUTE = /^(?:src\/)?app\/(?:(?<route>.+)\/)?route\.(?:[cm]?[jt]s)$/;
const VERB = 'GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS';
const EXPORTED_HANDLER = new RegExp(
  String.raw`\bexport\s+(?:async\s+)?(?:function\s*\*?\s*|(?:const|let|var)\s+)(?<verb>${VERB})\b`,
  'g',
);
const VERB_NAME = new RegExp(`^(?:${VERB})$`);
const EXPORT_LIST = /\bexport\s*\{(?<names>[^}]{0,500})\}/g;
const METHOD_CHECK = new RegExp(
  String.raw`(?:\bmethod\s*[!=]==?\s*|\bcase\s+)(?<q>['"\`])(?<verb>${VERB})\k<q>`,
  'g',
);

export const nextjsExtractor: EndpointExtractor = {
  family: 'nextjs',
  accepts: (local) => PAGES_API.test(local) || APP_ROUTE.test(local),
  markers: [],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(JS_SYNTAX);
  const pages = PAGES_API.exec(file.local);
  if (pages) return pagesRoutes(file, code, pages.groups?.route ?? 'api');
  const app = APP_ROUTE.exec(file.local);
  if (!app) return [];
  const segments = (app.groups?.route ?? '').split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('_'))) return [];
  const path = joinPath(...segments.filter((s) => !s.startsWith('(') && !s.startsWith('@')));
  const routes: FoundRoute[] = [];
  for (const m of matchesOf(code, EXPORTED_HANDLER)) {
    const method = toMethod(m.groups?.verb ?? '');
    if (method) routes.push({ method, path, line: file.lineAt(m.index) });
  }
  for (const m of matchesOf(code, EXPORT_LIST)) {
    for (const entry of (m.groups?.names ?? '').split(',')) {
      const exported = /(?<name>\w+)\s*$/.exec(entry.trim())?.groups?.name ?? '';
      const method = VERB_NAME.test(exported) ? toMethod(exported) : undefined;
      if (method) routes.push({ method, path, line: file.lineAt(m.index) });
    }
  }
  return routes;
}

/** A pages/api handler answers every method, unless it visibly branches on `req.method`. */
function pagesRoutes(file: SourceFile, code: string, route: string): FoundRoute[] {
  const path = joinPath(
    ...route.split('/').filter((s, i, all) => !(s === 'index' && i === all.length - 1)),
  );
  const routes: FoundRoute[] = [];
  for (const m of matchesOf(code, METHOD_CHECK)) {
    const method: HttpMethod | undefined = toMethod(m.groups?.verb ?? '');
    if (method) routes.push({ method, path, line: file.lineAt(m.index) });
  }
  if (routes.length > 0) return routes;
  const handler = /\bexport\s+default\b/.exec(code);
  return [{ method: 'ANY', path, line: file.lineAt(handler?.index ?? 0) }];
}
