/**
 * ASP.NET Core: minimal APIs (`app.MapGet("/x", …)`, `MapGroup` prefixes held in variables) and
 * attribute-routed controllers (`[Route("api/[controller]")]` on the class, `[HttpGet("{id}")]` /
 * `[Route]` on actions). `[controller]` becomes the class name without its `Controller` suffix,
 * case kept; `[action]` the method name without `Async`; a template starting with `/` or `~/`
 * ignores the controller's route, as ASP.NET does.
 */
import type { EndpointExtractor, FoundRoute, HttpMethod, SourceFile } from './extractor.js';
import type { PrefixTable } from './text.js';
import {
  C_FAMILY_SYNTAX,
  argumentsAt,
  assignedName,
  definePrefix,
  hasExtension,
  identifierBefore,
  joinPath,
  keywordString,
  leadingString,
  matchesOf,
  methodsIn,
  stringLiterals,
  toMethod,
} from './text.js';

const EXTENSIONS = new Set(['.cs']);
// Patterns start at a literal (`.Map`, `[`); receivers and assigned names are read backwards.
const MAP_CALL =
  /\.\s*(?<fn>MapGet|MapPost|MapPut|MapPatch|MapDelete|MapMethods|MapHealthChecks|Map)\s*\(\s*(?=[@$]*")/g;
const MAP_GROUP = /\.\s*MapGroup\s*\(\s*[@$]*"(?<prefix>[^"\n]{0,500})"/g;
const ROUTE_ATTRIBUTE =
  /\[\s*(?:[\w.]*\.)?(?:Route|Http(?:Get|Post|Put|Patch|Delete|Head|Options)|AcceptVerbs)(?:Attribute)?\b/g;
const ATTRIBUTE = /\s*,?\s*(?:[A-Za-z_]\w*\.)*(?<name>[A-Za-z_]\w*?)(?:Attribute)?\s*(?=\(|,|$)/y;
const DECLARATION =
  /\s*(?:(?:public|private|protected|internal|static|virtual|override|async|new|sealed|abstract|extern|unsafe|partial|readonly)\s+)*(?:(?<kind>class|record|struct|interface)\s+(?<cls>\w+)|[\w<>[\],.?\s]+?\s(?<method>\w+)\s*(?:<[^>()]*>)?\s*\()/y;
const CLASS = /\b(?:class|record)\s+(?<name>[A-Za-z_]\w*)/g;
const MAP_VERBS: Record<string, HttpMethod> = {
  MapGet: 'GET',
  MapPost: 'POST',
  MapPut: 'PUT',
  MapPatch: 'PATCH',
  MapDelete: 'DELETE',
  MapHealthChecks: 'GET',
  Map: 'ANY',
};

interface Attribute {
  name: string;
  args: string;
}

export const aspnetCoreExtractor: EndpointExtractor = {
  family: 'aspnet-core',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: ['Map', '[Http', '[Route', 'AcceptVerbs'],
  probe:
    /\.\s*Map(?:Get|Post|Put|Patch|Delete|Methods|HealthChecks)?\s*\(\s*[@$]*"|\[\s*(?:[\w.]*\.)?(?:Route|Http(?:Get|Post|Put|Patch|Delete|Head|Options)|AcceptVerbs)\b/,
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(C_FAMILY_SYNTAX);
  return [...minimalApis(file, code), ...controllers(file, code)];
}

function minimalApis(file: SourceFile, code: string): FoundRoute[] {
  const groups: PrefixTable = new Map();
  for (const m of matchesOf(code, MAP_GROUP)) {
    const parent = identifierBefore(code, m.index);
    const name = assignedName(code, parent.start);
    if (name !== '') definePrefix(groups, name, parent.name, m.groups?.prefix ?? '');
  }
  const routes: FoundRoute[] = [];
  for (const m of matchesOf(code, MAP_CALL)) {
    const fn = m.groups?.fn ?? '';
    const strings = stringLiterals(
      argumentsAt(file, C_FAMILY_SYNTAX, m.index + m[0].indexOf('(')) ?? '',
    );
    const [path = '', ...rest] = strings;
    const methods = fn === 'MapMethods' ? methodsIn(rest, 'ANY') : [MAP_VERBS[fn] ?? 'ANY'];
    const full = joinPath(...(groups.get(identifierBefore(code, m.index).name) ?? []), path);
    for (const method of methods) routes.push({ method, path: full, line: file.lineAt(m.index) });
  }
  return routes;
}

function controllers(file: SourceFile, code: string): FoundRoute[] {
  const classes = [...matchesOf(code, CLASS)].map((m) => ({
    offset: m.index,
    name: m.groups?.name ?? '',
  }));
  const classRoutes = new Map<string, string[]>();
  let nextClass = 0;
  const routes: FoundRoute[] = [];
  const masked = file.masked(C_FAMILY_SYNTAX);
  for (let m = nextAttribute(masked, 0); m >= 0;) {
    const { attributes, end } = attributeGroup(file, m);
    const declaration = DECLARATION.exec(code.slice(end, end + 300));
    DECLARATION.lastIndex = 0;
    const templates = attributes.filter((a) => a.name === 'Route').map((a) => template(a.args));
    if (declaration?.groups?.cls) {
      classRoutes.set(declaration.groups.cls, templates);
    } else if (declaration?.groups?.method) {
      // Groups come in file order, so the owning class only ever moves forward.
      while ((classes[nextClass]?.offset ?? Infinity) < m) nextClass++;
      const owner = classes[nextClass - 1]?.name ?? '';
      const tokens = {
        controller: owner.replace(/Controller$/, ''),
        action: declaration.groups.method.replace(/Async$/, ''),
      };
      const prefixes = classRoutes.get(owner) ?? [''];
      for (const [method, path] of actionRoutes(attributes, templates)) {
        for (const prefix of prefixes) {
          const absolute = /^~?\//.test(path);
          const full = absolute ? joinPath(path.replace(/^~/, '')) : joinPath(prefix, path);
          routes.push({ method, path: replaceTokens(full, tokens), line: file.lineAt(m) });
        }
      }
    }
    m = nextAttribute(masked, Math.max(end, m + 1));
  }
  return routes;
}

function nextAttribute(code: string, from: number): number {
  ROUTE_ATTRIBUTE.lastIndex = from;
  return ROUTE_ATTRIBUTE.exec(code)?.index ?? -1;
}

/** The `[…]` sections starting at `start`, split into attributes, up to the declaration. */
function attributeGroup(file: SourceFile, start: number): { attributes: Attribute[]; end: number } {
  const code = file.code(C_FAMILY_SYNTAX);
  const attributes: Attribute[] = [];
  let at = start;
  while (code.charAt(at) === '[') {
    const close = file.closing(C_FAMILY_SYNTAX, at);
    if (close < 0) break;
    const section = code.slice(at + 1, close);
    for (let pos = 0; pos < section.length;) {
      ATTRIBUTE.lastIndex = pos;
      const m = ATTRIBUTE.exec(section);
      if (!m || m[0].length === 0) break;
      pos = m.index + m[0].length;
      let args = '';
      if (section.charAt(pos) === '(') {
        // Offsets in the section are offsets in the file shifted by at + 1.
        const open = at + 1 + pos;
        args = argumentsAt(file, C_FAMILY_SYNTAX, open) ?? '';
        pos = file.closing(C_FAMILY_SYNTAX, open) - at;
        if (pos <= 0) break;
      }
      attributes.push({ name: m.groups?.name ?? '', args });
    }
    at = close + 1;
    while (/\s/.test(code.charAt(at))) at++;
  }
  return { attributes, end: at };
}

function template(args: string): string {
  return leadingString(args) ?? keywordString(args, 'template|Template') ?? '';
}

/** (method, template) pairs of one action from its Http*, AcceptVerbs and Route attributes. */
function actionRoutes(
  attributes: Attribute[],
  routeTemplates: string[],
): Array<[HttpMethod, string]> {
  const pairs: Array<[HttpMethod, string]> = [];
  const fallback = routeTemplates.length > 0 ? routeTemplates : [''];
  for (const a of attributes) {
    const verb = /^Http(?<verb>\w+)$/.exec(a.name)?.groups?.verb;
    const method = verb === undefined ? undefined : toMethod(verb);
    if (method) {
      const own = leadingString(a.args) ?? keywordString(a.args, 'template|Template');
      for (const path of own === undefined ? fallback : [own]) pairs.push([method, path]);
    } else if (a.name === 'AcceptVerbs') {
      const own = keywordString(a.args, 'Route');
      const methods = methodsIn(
        stringLiterals(a.args).filter((s) => toMethod(s)),
        'ANY',
      );
      for (const m of methods)
        for (const path of own === undefined ? fallback : [own]) pairs.push([m, path]);
    }
  }
  if (pairs.length === 0) for (const path of routeTemplates) pairs.push(['ANY', path]);
  return pairs;
}

function replaceTokens(path: string, tokens: { controller: string; action: string }): string {
  return path.replace(/\[(?<token>controller|action)\]/gi, (_all, token: string) =>
    token.toLowerCase() === 'controller' ? tokens.controller : tokens.action,
  );
}
