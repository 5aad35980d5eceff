/**
 * Spring Boot, Micronaut and Quarkus/JAX-RS in Java and Kotlin: a class-level `@RequestMapping`,
 * Micronaut `@Controller("/x")` or JAX-RS `@Path` gives the prefix; method-level
 * `@GetMapping("/{id}")`, `@RequestMapping(value=…, method=RequestMethod.GET)`, Micronaut
 * `@Get("/x")` or JAX-RS `@GET` (+ `@Path`) give the routes. Annotations are read in groups — the
 * run of annotations before one declaration — so `@GET` and `@Path` on one method pair up.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import {
  C_FAMILY_SYNTAX,
  argumentsAt,
  hasExtension,
  joinPath,
  keywordStrings,
  leadingString,
  methodsIn,
  stringLiterals,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.java', '.kt']);
const ANNOTATION_START = /@(?=[A-Za-z_])/g;
const ANNOTATION = /@(?:[A-Za-z_]\w*\.)*(?<name>[A-Za-z_]\w*)\s*/y;
const CLASS_DECLARATION =
  /\s*(?:(?:public|protected|private|abstract|final|static|open|internal|sealed|data|inner|enum|annotation|value|strictfp)\s+)*(?:class|interface|object|record)\b/y;

const SPRING_VERBS: Record<string, HttpMethod> = {
  GetMapping: 'GET',
  PostMapping: 'POST',
  PutMapping: 'PUT',
  PatchMapping: 'PATCH',
  DeleteMapping: 'DELETE',
};
const MICRONAUT_VERBS = new Set(['Get', 'Post', 'Put', 'Patch', 'Delete', 'Head', 'Options']);
const JAXRS_VERBS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const CLASS_ROUTING = new Set(['RequestMapping', 'Path', 'Controller', 'RestController']);
/** Declarative HTTP clients carry the same annotations, but their routes live on another service. */
const HTTP_CLIENTS = new Set(['FeignClient', 'RegisterRestClient', 'HttpExchange', 'Client']);

interface Annotation {
  name: string;
  args: string | undefined;
  offset: number;
}

export const jvmAnnotationsExtractor: EndpointExtractor = {
  family: 'jvm-annotations',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: [
    'Mapping',
    '@Path',
    '@Controller',
    '@Get',
    '@Post',
    '@Put',
    '@Patch',
    '@Delete',
    '@GET',
    '@POST',
    '@PUT',
    '@PATCH',
    '@DELETE',
    '@HEAD',
    '@OPTIONS',
  ],
  // '@Get' alone would also pass every Lombok @Getter.
  probe:
    /@(?:\w+\.)*(?:RequestMapping|GetMapping|PostMapping|PutMapping|PatchMapping|DeleteMapping|Controller|Path|Get|Post|Put|Patch|Delete|Head|Options|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b/,
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(C_FAMILY_SYNTAX);
  // Annotations are found where strings are blanked ("@GetMapping" in a string is text) and read
  // where they are not.
  const masked = file.masked(C_FAMILY_SYNTAX);
  const routes: FoundRoute[] = [];
  let prefixes: string[] | undefined = [''];
  for (let start = nextAnnotation(masked, 0); start >= 0;) {
    const { annotations, end } = annotationGroup(file, start);
    CLASS_DECLARATION.lastIndex = end;
    if (CLASS_DECLARATION.test(code)) {
      if (annotations.some((a) => HTTP_CLIENTS.has(a.name))) prefixes = undefined;
      else if (annotations.some((a) => CLASS_ROUTING.has(a.name))) {
        prefixes = classPrefixes(annotations);
      }
    } else if (prefixes) {
      routes.push(...methodRoutes(file, annotations, prefixes));
    }
    start = nextAnnotation(masked, Math.max(end, start + 1));
  }
  return routes;
}

function nextAnnotation(code: string, from: number): number {
  ANNOTATION_START.lastIndex = from;
  return ANNOTATION_START.exec(code)?.index ?? -1;
}

/** The annotations starting at `start` up to the declaration they annotate. */
function annotationGroup(
  file: SourceFile,
  start: number,
): { annotations: Annotation[]; end: number } {
  const code = file.code(C_FAMILY_SYNTAX);
  const annotations: Annotation[] = [];
  let at = start;
  for (;;) {
    ANNOTATION.lastIndex = at;
    const m = ANNOTATION.exec(code);
    if (!m) break;
    at = m.index + m[0].length;
    let args: string | undefined;
    if (code.charAt(at) === '(') {
      args = argumentsAt(file, C_FAMILY_SYNTAX, at);
      if (args === undefined) break;
      at = file.closing(C_FAMILY_SYNTAX, at) + 1;
    }
    annotations.push({ name: m.groups?.name ?? '', args, offset: m.index });
    while (/\s/.test(code.charAt(at))) at++;
    if (code.charAt(at) !== '@') break;
  }
  return { annotations, end: at };
}

/** `value`/`path`/`uri` keyword or the leading literal (or array of them); [''] when absent. */
function pathsOf(args: string | undefined): string[] {
  if (args === undefined) return [''];
  const keyed = keywordStrings(args, 'value|path|uri');
  if (keyed) return keyed.length > 0 ? keyed : [''];
  const trimmed = args.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const list = stringLiterals(trimmed.slice(1, trimmed.search(/[}\]]/)));
    return list.length > 0 ? list : [''];
  }
  return [leadingString(args) ?? ''];
}

function classPrefixes(annotations: Annotation[]): string[] {
  const prefixes: string[] = [];
  for (const a of annotations) {
    if (a.name === 'RequestMapping' || a.name === 'Path') prefixes.push(...pathsOf(a.args));
    // Spring's @Controller("name") names a bean; Micronaut's @Controller("/x") is a path.
    if (a.name === 'Controller') prefixes.push(...pathsOf(a.args).filter((p) => p.startsWith('/')));
  }
  return prefixes.length > 0 ? prefixes : [''];
}

function methodRoutes(
  file: SourceFile,
  annotations: Annotation[],
  prefixes: string[],
): FoundRoute[] {
  // Spring and Micronaut annotations carry their own paths; JAX-RS verbs pair with @Path.
  const pairs: Array<[HttpMethod, string]> = [];
  const jaxrsVerbs: HttpMethod[] = [];
  const jaxrsPaths: string[] = [];
  let offset: number | undefined;
  for (const a of annotations) {
    const spring = SPRING_VERBS[a.name];
    let verbs: HttpMethod[];
    if (spring || MICRONAUT_VERBS.has(a.name)) {
      verbs = [spring ?? toMethod(a.name) ?? 'ANY'];
    } else if (a.name === 'RequestMapping') {
      const named = [...(a.args ?? '').matchAll(/RequestMethod\.(?<m>[A-Z]+)/g)];
      verbs = methodsIn(
        named.map((m) => m.groups?.m ?? ''),
        'ANY',
      );
    } else if (JAXRS_VERBS.has(a.name)) {
      jaxrsVerbs.push(toMethod(a.name) ?? 'ANY');
      offset ??= a.offset;
      continue;
    } else {
      if (a.name === 'Path') jaxrsPaths.push(...pathsOf(a.args));
      continue;
    }
    for (const path of pathsOf(a.args)) for (const verb of verbs) pairs.push([verb, path]);
    offset ??= a.offset;
  }
  for (const path of jaxrsPaths.length > 0 ? jaxrsPaths : ['']) {
    for (const verb of jaxrsVerbs) pairs.push([verb, path]);
  }
  // A JAX-RS @Path without a verb is a sub-resource locator, not an endpoint.
  if (offset === undefined) return [];
  const line = file.lineAt(offset);
  const routes: FoundRoute[] = [];
  for (const prefix of prefixes) {
    for (const [method, path] of pairs) routes.push({ method, path: joinPath(prefix, path), line });
  }
  return routes;
}
