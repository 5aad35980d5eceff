/**
 * Sinatra: `get '/x' do … end` (or `{ … }`) in any Ruby file, with sinatra-contrib
 * `namespace '/api' do` prefixes. A verb call without a block (`HTTParty.get '/x'`, a client
 * helper) is not a route.
 */
import type { EndpointExtractor, FoundRoute, SourceFile } from './extractor.js';
import { HASH_SYNTAX, hasExtension, joinPath, toMethod, walkBlocks } from './text.js';

const EXTENSIONS = new Set(['.rb']);
const ROUTE =
  /^(?<verb>get|post|put|patch|delete|head|options)\s*\(?\s*(?<q>['"])(?<path>\/[^'"]*)\k<q>[^{]*?(?:\bdo\b|\{)/;
const NAMESPACE = /^namespace\s*\(?\s*(?<q>['"])(?<path>[^'"]*)\k<q>/;

interface Frame {
  base: string[];
}

export const sinatraExtractor: EndpointExtractor = {
  family: 'sinatra',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: ['get ', "get('", 'get("', 'post ', 'put ', 'patch ', 'delete ', 'namespace '],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const routes: FoundRoute[] = [];
  walkBlocks<Frame>(file.code(HASH_SYNTAX), { base: [] }, true, ({ text, line, frame }) => {
    const namespace = NAMESPACE.exec(text)?.groups?.path;
    if (namespace !== undefined) return { base: [...frame.base, namespace] };
    const route = ROUTE.exec(text)?.groups;
    const method = toMethod(route?.verb ?? '');
    if (method) routes.push({ method, path: joinPath(...frame.base, route?.path), line });
    return undefined;
  });
  return routes;
}
