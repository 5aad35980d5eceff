/**
 * Where an import points, as service-relative candidate paths, so a mount in one file can prefix
 * the routes of another. Only relative JavaScript specifiers and Python modules inside the service
 * are followed; packages are not routes of this service.
 */
import { posix } from 'node:path';

const JS_EXTENSIONS = ['.ts', '.js', '.mts', '.mjs', '.cts', '.cjs', '.tsx', '.jsx'];

/** `./routes/users.js` from `src/server.ts` → src/routes/users.ts, src/routes/users.js, …/index.ts, … */
export function jsModuleCandidates(fromLocal: string, specifier: string): string[] {
  if (!specifier.startsWith('.')) return [];
  const joined = posix.normalize(posix.join(posix.dirname(fromLocal), specifier));
  if (joined.startsWith('..')) return [];
  // TypeScript ESM imports name the emitted .js file; the source is .ts.
  const base = joined.replace(/\.(?:[cm]?[jt]s|[jt]sx)$/, '');
  return [
    ...JS_EXTENSIONS.map((ext) => `${base}${ext}`),
    ...JS_EXTENSIONS.map((ext) => `${base}/index${ext}`),
  ];
}

/**
 * `.routers.users` (relative) or `app.routers.users` (absolute) from `app/main.py`: the module's
 * file or package, looked up from the importing file's directory and each of its ancestors (src
 * layouts, services whose package is not at the service root).
 */
export function pythonModuleCandidates(fromLocal: string, module: string): string[] {
  const dots = /^\.*/.exec(module)?.[0].length ?? 0;
  const parts = module
    .slice(dots)
    .split('.')
    .filter((p) => p !== '');
  let dirs: string[];
  if (dots > 0) {
    let dir = posix.dirname(fromLocal);
    for (let i = 1; i < dots; i++) dir = posix.dirname(dir);
    dirs = [dir];
  } else {
    dirs = [];
    for (let dir = posix.dirname(fromLocal); ; dir = posix.dirname(dir)) {
      dirs.push(dir);
      if (dir === '.' || dir === '/' || dir === '') break;
    }
  }
  const candidates: string[] = [];
  for (const dir of dirs) {
    const base = posix.normalize(posix.join(dir, ...parts));
    if (base.startsWith('..')) continue;
    candidates.push(
      parts.length === 0 ? `${base}/__init__.py` : `${base}.py`,
      `${base}/__init__.py`,
    );
  }
  return candidates.map((c) => c.replace(/^\.\//, ''));
}

/** Python `import` and `from … import …` bindings: local name → module it names or comes from. */
export interface PythonBinding {
  /** The module holding the name (`from M import N` → M). */
  module: string;
  /** The imported name itself, which may be a submodule (`from .routers import users`). */
  name?: string;
  /** `import a.b.c` binds `a` but names a.b.c: the expression spells the module out. */
  dotted?: boolean;
}

const FROM_IMPORT =
  /^[ \t]*from[ \t]+(?<module>\.*[\w.]*)[ \t]+import[ \t]+(?<names>\([^)]{0,2000}\)|[^\n]{0,2000})/gm;
const PLAIN_IMPORT = /^[ \t]*import[ \t]+(?<module>[\w.]+)(?:[ \t]+as[ \t]+(?<alias>\w+))?/gm;

export function pythonBindings(code: string): Map<string, PythonBinding> {
  const bindings = new Map<string, PythonBinding>();
  if (!code.includes('import')) return bindings;
  for (const m of code.matchAll(FROM_IMPORT)) {
    const module = m.groups?.module ?? '';
    for (const entry of (m.groups?.names ?? '').replace(/[()]/g, '').split(',')) {
      const named = /^\s*(?<name>\w+)(?:\s+as\s+(?<alias>\w+))?\s*$/.exec(entry)?.groups;
      if (named?.name) bindings.set(named.alias ?? named.name, { module, name: named.name });
    }
  }
  for (const m of code.matchAll(PLAIN_IMPORT)) {
    const module = m.groups?.module ?? '';
    const alias = m.groups?.alias;
    bindings.set(alias ?? module.split('.')[0] ?? module, { module, dotted: alias === undefined });
  }
  return bindings;
}

/**
 * Candidates for the module behind `expression` (`users.router`, `users_router`, `api.v1`) given
 * the file's Python imports; [] when it is not imported from a module of this service.
 */
export function pythonExpressionCandidates(
  fromLocal: string,
  expression: string,
  bindings: Map<string, PythonBinding>,
): string[] {
  const head = expression.split('.')[0] ?? '';
  const binding = bindings.get(head);
  if (!binding) return [];
  const candidates: string[] = [];
  // `from .routers import users` then `users.router`: users is the module.
  if (binding.name !== undefined) {
    const sub = binding.module.endsWith('.')
      ? `${binding.module}${binding.name}`
      : `${binding.module}.${binding.name}`;
    candidates.push(...pythonModuleCandidates(fromLocal, sub));
  }
  const spelled = expression.split('.').slice(0, -1).join('.');
  const module = binding.dotted && spelled !== '' ? spelled : binding.module;
  candidates.push(...pythonModuleCandidates(fromLocal, module));
  return candidates;
}
