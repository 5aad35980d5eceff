/**
 * The routes a `resources` declaration expands to in Rails, Phoenix and Laravel. Update answers
 * both PATCH and PUT in all three, so it yields two endpoints.
 */
import type { HttpMethod } from './extractor.js';
import { joinPath } from './text.js';

export type RestStyle = 'rails' | 'phoenix' | 'laravel';

interface RestAction {
  /** The action name as `only:`/`except:` spell it in that framework. */
  name: Record<RestStyle, string>;
  method: HttpMethod;
  /** Acts on one member (`/users/:id`) rather than the collection. */
  member: boolean;
  suffix?: Record<RestStyle, string>;
}

const ACTIONS: readonly RestAction[] = [
  { name: { rails: 'index', phoenix: 'index', laravel: 'index' }, method: 'GET', member: false },
  { name: { rails: 'create', phoenix: 'create', laravel: 'store' }, method: 'POST', member: false },
  {
    name: { rails: 'new', phoenix: 'new', laravel: 'create' },
    method: 'GET',
    member: false,
    suffix: { rails: 'new', phoenix: 'new', laravel: 'create' },
  },
  {
    name: { rails: 'edit', phoenix: 'edit', laravel: 'edit' },
    method: 'GET',
    member: true,
    suffix: { rails: 'edit', phoenix: 'edit', laravel: 'edit' },
  },
  { name: { rails: 'show', phoenix: 'show', laravel: 'show' }, method: 'GET', member: true },
  {
    name: { rails: 'update', phoenix: 'update', laravel: 'update' },
    method: 'PATCH',
    member: true,
  },
  { name: { rails: 'update', phoenix: 'update', laravel: 'update' }, method: 'PUT', member: true },
  {
    name: { rails: 'destroy', phoenix: 'delete', laravel: 'destroy' },
    method: 'DELETE',
    member: true,
  },
];

/** Actions without the HTML form pages (Laravel `apiResource`). */
export const API_ONLY_EXCLUDES = ['create', 'edit'];

export interface RestOptions {
  /** `:id`, `{photo}`; undefined for a singular resource (`resource :profile`), which has no index. */
  memberParam: string | undefined;
  only?: readonly string[];
  except?: readonly string[];
}

export interface RestRoute {
  method: HttpMethod;
  path: string;
}

export function restfulRoutes(
  style: RestStyle,
  base: readonly string[],
  options: RestOptions,
): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const action of ACTIONS) {
    const name = action.name[style];
    if (options.only && !options.only.includes(name)) continue;
    if (options.except?.includes(name)) continue;
    if (options.memberParam === undefined && name === 'index') continue;
    const member = action.member && options.memberParam !== undefined ? [options.memberParam] : [];
    routes.push({
      method: action.method,
      path: joinPath(...base, ...member, action.suffix?.[style]),
    });
  }
  return routes;
}

/** Symbol or string names in `only: [:index, :show]`, `except: :destroy`, `%i[index show]`. */
export function actionList(text: string, key: string): string[] | undefined {
  const m = new RegExp(
    String.raw`\b${key}\s*(?::|=>)\s*(?<list>\[[^\]]*\]|%[iw][\[(][^\])]*[\])]|:\w+|['"]\w+['"])`,
  ).exec(text);
  if (!m?.groups?.list) return undefined;
  return m.groups.list.replace(/^%[iw]/, '').match(/\w+/g) ?? [];
}
