/**
 * Symfony controllers: `#[Route('/x', methods: ['GET'])]` attributes and the older `@Route("/x",
 * methods={"GET"})` doc-block annotations. A Route on the class is the prefix for the Routes on
 * its methods. Without `methods` a route answers any method.
 */
import type { EndpointExtractor, FoundRoute, SourceFile } from './extractor.js';
import {
  MAX_ARGUMENT_CHARS,
  PHP_SYNTAX,
  argumentsAt,
  hasExtension,
  joinPath,
  keywordString,
  keywordStrings,
  leadingString,
  matchesOf,
  methodsIn,
} from './text.js';

const EXTENSIONS = new Set(['.php']);
const ROUTE = /(?:#\[\s*|@)(?:[\w\\]*\\)?Route\s*\(/g;
const NEXT_DECLARATION = /\b(?<kind>class|function)\b/;

export const symfonyExtractor: EndpointExtractor = {
  family: 'symfony',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: ['Route('],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(PHP_SYNTAX);
  const routes: FoundRoute[] = [];
  let prefix = '';
  for (const m of matchesOf(file.masked(PHP_SYNTAX), ROUTE)) {
    const args = argumentsAt(file, PHP_SYNTAX, m.index + m[0].length - 1) ?? '';
    const path = leadingString(args) ?? keywordString(args, 'path|value') ?? '';
    const end = Math.max(file.closing(PHP_SYNTAX, m.index + m[0].length - 1), m.index);
    // The attribute belongs to the next declaration; it is never far.
    const next = NEXT_DECLARATION.exec(code.slice(end, end + MAX_ARGUMENT_CHARS));
    if (next?.groups?.kind === 'class') {
      prefix = path;
      continue;
    }
    const methods = methodsIn(keywordStrings(args, 'methods') ?? [], 'ANY');
    const full = joinPath(prefix, path);
    for (const method of methods) routes.push({ method, path: full, line: file.lineAt(m.index) });
  }
  return routes;
}
