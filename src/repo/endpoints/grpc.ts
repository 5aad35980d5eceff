/**
 * gRPC from `.proto` service definitions: `rpc Bar(Req) returns (Res);` inside `service Foo { … }`
 * with `package a.b;` is POST /a.b.Foo/Bar, the path gRPC puts on the wire.
 */
import type { EndpointExtractor, FoundRoute, SourceFile } from './extractor.js';
import { C_FAMILY_SYNTAX, hasExtension, matchesOf } from './text.js';

const EXTENSIONS = new Set(['.proto']);
/** `[ \t]*`, not `\s*`: with the m flag, `\s*` would rescan every following blank line. */
const PACKAGE = /^[ \t]*package\s+(?<name>[\w.]+)\s*;/m;
const SERVICE = /\bservice\s+(?<name>\w+)\s*\{/g;
const RPC = /\brpc\s+(?<name>\w+)\s*\(/g;

export const grpcExtractor: EndpointExtractor = {
  family: 'grpc',
  accepts: (local) => hasExtension(local, EXTENSIONS),
  markers: ['service'],
  extract,
};

function extract(file: SourceFile): FoundRoute[] {
  const code = file.code(C_FAMILY_SYNTAX);
  const pkg = PACKAGE.exec(code)?.groups?.name;
  const services = matchesOf(code, SERVICE)
    .map((m) => {
      const open = m.index + m[0].length - 1;
      return { name: m.groups?.name ?? '', open, close: file.closing(C_FAMILY_SYNTAX, open) };
    })
    .filter((s) => s.close > 0);
  const routes: FoundRoute[] = [];
  // One sweep: each rpc belongs to the innermost service whose braces hold it.
  const open: typeof services = [];
  let next = 0;
  for (const rpc of matchesOf(code, RPC)) {
    for (let s = services[next]; s !== undefined && s.open < rpc.index; s = services[++next]) {
      open.push(s);
    }
    while (open.length > 0 && (open.at(-1)?.close ?? 0) < rpc.index) open.pop();
    const service = open.at(-1);
    if (!service) continue;
    const qualified = pkg === undefined ? service.name : `${pkg}.${service.name}`;
    const name = rpc.groups?.name ?? '';
    routes.push({ method: 'POST', path: `/${qualified}/${name}`, line: file.lineAt(rpc.index) });
  }
  return routes;
}
