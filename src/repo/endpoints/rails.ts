/**
 * Rails `config/routes.rb` (and `config/routes/*.rb`): verbs (`get 'x', to: 'c#a'`, `match …,
 * via:`), `resources`/`resource` with `only:`/`except:`, `member`/`collection` blocks, nested
 * resources (`/users/:user_id/posts`), `namespace` and `scope` prefixes, `root` and `mount`.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import { actionList, restfulRoutes } from './restful.js';
import { HASH_SYNTAX, joinPath, methodsIn, singular, toMethod, walkBlocks } from './text.js';

const ROUTES_FILE = /^config\/routes(?:\.rb|\/.+\.rb)$/;
const STATEMENT = /^(?<keyword>[a-z_]+)\b\s*\(?\s*(?<args>.*?)\s*(?:\bdo\s*(?:\|[^|]*\|)?)?$/;
const FIRST_PATH = /^(?:(?<q>['"])(?<text>[^'"]*)\k<q>|:(?<symbol>\w+))/;

interface Frame {
  /** Prefix of routes declared directly in this block. */
  base: string[];
  /** Inside `resources :x do`: where `member` and `collection` routes go. */
  resource?: { collection: string[]; member: string[] };
  /** A `concern` body: its routes only exist where the concern is used. */
  ignored?: boolean;
}

export const railsExtractor: EndpointExtractor = {
  family: 'rails',
  accepts: (local) => ROUTES_FILE.test(local),
  markers: [],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const routes: FoundRoute[] = [];
  walkBlocks<Frame>(file.code(HASH_SYNTAX), { base: [] }, true, ({ text, line, frame }) => {
    const statement = STATEMENT.exec(text)?.groups;
    if (!statement || frame.ignored) return undefined;
    const keyword = statement.keyword ?? '';
    const args = statement.args ?? '';
    const first = FIRST_PATH.exec(args)?.groups;
    const firstPath = first?.text ?? first?.symbol;

    function emit(method: HttpMethod, path: string): void {
      routes.push({ method, path, line });
    }

    switch (keyword) {
      case 'namespace':
        return { base: [...frame.base, firstPath ?? ''] };
      case 'scope': {
        const path = /\bpath:\s*(?<q>['"])(?<p>[^'"]*)\k<q>/.exec(args)?.groups?.p ?? first?.text;
        return { base: [...frame.base, path ?? ''] };
      }
      case 'resources':
      case 'resource':
        return resources(keyword === 'resources', args, frame, emit);
      case 'concern':
        return { ...frame, ignored: true };
      case 'member':
        return { base: frame.resource?.member ?? frame.base };
      case 'collection':
        return { base: frame.resource?.collection ?? frame.base };
      case 'root':
        emit('GET', joinPath(...frame.base));
        return undefined;
      case 'mount': {
        const at = /(?:=>|\bat:)\s*(?<q>['"])(?<p>[^'"]*)\k<q>/.exec(args)?.groups?.p;
        if (at !== undefined) emit('ANY', joinPath(...frame.base, at));
        return undefined;
      }
      default:
        break;
    }
    const verb = keyword === 'match' ? 'ANY' : toMethod(keyword);
    if (!verb || firstPath === undefined) return undefined;
    const on = /\bon:\s*:(?<on>member|collection)/.exec(args)?.groups?.on;
    const base =
      on === 'member'
        ? frame.resource?.member
        : on === 'collection'
          ? frame.resource?.collection
          : undefined;
    const via = /\bvia:\s*(?<via>\[[^\]]*\]|:\w+)/.exec(args)?.groups?.via;
    const methods = via === undefined ? [verb] : methodsIn(via.match(/\w+/g) ?? [], 'ANY');
    for (const method of methods) emit(method, joinPath(...(base ?? frame.base), firstPath));
    return undefined;
  });
  return routes;
}

/** Emits a `resources`/`resource` line's routes and returns the frame for its block. */
function resources(
  plural: boolean,
  args: string,
  frame: Frame,
  emit: (method: HttpMethod, path: string) => void,
): Frame {
  const optionsAt = args.search(/\b\w+:\s|\b\w+\s*=>/);
  const names = (optionsAt < 0 ? args : args.slice(0, optionsAt)).match(/(?<=:|['"])\w+/g) ?? [];
  const options = optionsAt < 0 ? '' : args.slice(optionsAt);
  const only = actionList(options, 'only');
  const except = actionList(options, 'except');
  const pathOption = /\bpath:\s*(?<q>['"])(?<p>[^'"]*)\k<q>/.exec(options)?.groups?.p;
  const param = /\bparam:\s*:(?<p>\w+)/.exec(options)?.groups?.p ?? 'id';
  let nested: Frame = frame;
  for (const name of names) {
    const collection = [...frame.base, pathOption ?? name];
    const memberParam = plural ? `:${param}` : undefined;
    for (const route of restfulRoutes('rails', collection, { memberParam, only, except })) {
      emit(route.method, route.path);
    }
    const member = plural ? [...collection, `:${param}`] : collection;
    nested = {
      base: plural ? [...collection, `:${singular(name)}_id`] : collection,
      resource: { collection, member },
    };
  }
  return nested;
}
