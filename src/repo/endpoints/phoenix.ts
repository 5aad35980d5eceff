/**
 * Phoenix `router.ex`: verb macros (`get "/x", PageController, :index`), `match :*`, `forward`,
 * LiveView `live`, `resources` (with `only:`/`except:`/`singleton: true`, nested blocks as
 * `/users/:user_id/posts`) and `scope "/api"` prefixes. Pipelines hold plugs, not routes.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import { actionList, restfulRoutes } from './restful.js';
import { HASH_SYNTAX, joinPath, singular, toMethod, walkBlocks } from './text.js';

const ROUTER_FILE = /(?:^|\/)router\.ex$/;
const SCOPE = /^scope\s*\(?\s*(?:"(?<path>[^"]*)"|path:\s*"(?<keyed>[^"]*)")?/;
const VERB =
  /^(?<verb>get|post|put|patch|delete|options|head|forward|live|live_dashboard|match)\s*\(?\s*(?:(?<methods>:\w+|:\*)\s*,\s*)?"(?<path>[^"]*)"/;
const RESOURCES = /^resources\s*\(?\s*"(?<path>[^"]*)"(?<options>.*)$/;
const OTHER_VERBS: Record<string, HttpMethod> = {
  forward: 'ANY',
  live: 'GET',
  live_dashboard: 'GET',
};

interface Frame {
  base: string[];
}

export const phoenixExtractor: EndpointExtractor = {
  family: 'phoenix',
  accepts: (local) => ROUTER_FILE.test(local),
  markers: [],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const routes: FoundRoute[] = [];
  walkBlocks<Frame>(file.code(HASH_SYNTAX), { base: [] }, false, ({ text, line, frame }) => {
    if (/^scope\b/.test(text)) {
      const scope = SCOPE.exec(text)?.groups;
      return { base: [...frame.base, scope?.path ?? scope?.keyed ?? ''] };
    }
    const resources = RESOURCES.exec(text)?.groups;
    if (resources) {
      const options = resources.options ?? '';
      const path = resources.path ?? '';
      const singleton = /\bsingleton:\s*true\b/.test(options);
      const param = /\bparam:\s*"(?<p>\w+)"/.exec(options)?.groups?.p ?? 'id';
      const collection = [...frame.base, path];
      const found = restfulRoutes('phoenix', collection, {
        memberParam: singleton ? undefined : `:${param}`,
        only: actionList(options, 'only'),
        except: actionList(options, 'except'),
      });
      for (const route of found) routes.push({ ...route, line });
      const last =
        path
          .split('/')
          .filter((s) => s !== '')
          .at(-1) ?? '';
      return { base: singleton ? collection : [...collection, `:${singular(last)}_id`] };
    }
    const verb = VERB.exec(text)?.groups;
    if (verb) {
      const name = verb.verb ?? '';
      const method =
        name === 'match'
          ? (toMethod((verb.methods ?? '').replace(/^:/, '')) ?? 'ANY')
          : (OTHER_VERBS[name] ?? toMethod(name));
      if (method) routes.push({ method, path: joinPath(...frame.base, verb.path), line });
    }
    return undefined;
  });
  return routes;
}
