/**
 * NestJS: `@Controller('users')` on a class and `@Get(':id')` on its methods give GET /users/:id.
 * Each method decorator takes the prefix of the last controller above it in the same file.
 */
import type { EndpointExtractor, FoundRoute, SourceFile } from './extractor.js';
import {
  JS_SYNTAX,
  argumentsAt,
  hasExtension,
  joinPath,
  keywordString,
  leadingString,
  matchesOf,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);
const DECORATOR = /@(?<name>Controller|Get|Post|Put|Patch|Delete|Head|Options|All)\s*\(/g;

export const nestjsExtractor: EndpointExtractor = {
  family: 'nestjs',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: ['@Controller'],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const routes: FoundRoute[] = [];
  let prefix = '';
  // Decorators are found outside strings and read with their string arguments intact.
  for (const m of matchesOf(file.masked(JS_SYNTAX), DECORATOR)) {
    const args = argumentsAt(file, JS_SYNTAX, m.index + m[0].length - 1) ?? '';
    // `@Controller({ path: 'users', version: '1' })` and `@Get(['a', 'b'])` (first path) too.
    const path = keywordString(args, 'path') ?? leadingString(args.replace(/^\s*\[/, '')) ?? '';
    if (m.groups?.name === 'Controller') {
      prefix = path;
      continue;
    }
    const method = toMethod(m.groups?.name ?? '');
    if (method) routes.push({ method, path: joinPath(prefix, path), line: file.lineAt(m.index) });
  }
  return routes;
}
