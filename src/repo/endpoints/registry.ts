/**
 * Canonical framework name (as the stack detector reports it) → the extractor for its family. A new
 * framework is one extractor file plus one line here; frameworks of one family share an extractor.
 */
import { aspnetCoreExtractor } from './aspnet-core.js';
import { djangoExtractor } from './django.js';
import type { EndpointExtractor } from './extractor.js';
import { goRouterExtractor } from './go-router.js';
import { grpcExtractor } from './grpc.js';
import { jvmAnnotationsExtractor } from './jvm-annotations.js';
import { ktorExtractor } from './ktor.js';
import { laravelExtractor } from './laravel.js';
import { nestjsExtractor } from './nestjs.js';
import { nextjsExtractor } from './nextjs.js';
import { nodeRouterExtractor } from './node-router.js';
import { phoenixExtractor } from './phoenix.js';
import { pythonWebExtractor } from './python-web.js';
import { railsExtractor } from './rails.js';
import { rustWebExtractor } from './rust-web.js';
import { sinatraExtractor } from './sinatra.js';
import { symfonyExtractor } from './symfony.js';

export const ENDPOINT_EXTRACTORS: ReadonlyMap<string, EndpointExtractor> = new Map([
  ['express', nodeRouterExtractor],
  ['fastify', nodeRouterExtractor],
  ['koa', nodeRouterExtractor],
  ['hapi', nodeRouterExtractor],
  ['nestjs', nestjsExtractor],
  ['nextjs', nextjsExtractor],
  ['fastapi', pythonWebExtractor],
  ['flask', pythonWebExtractor],
  ['starlette', pythonWebExtractor],
  ['aiohttp', pythonWebExtractor],
  ['django', djangoExtractor],
  ['gin', goRouterExtractor],
  ['echo', goRouterExtractor],
  ['fiber', goRouterExtractor],
  ['chi', goRouterExtractor],
  ['gorilla-mux', goRouterExtractor],
  ['spring-boot', jvmAnnotationsExtractor],
  ['quarkus', jvmAnnotationsExtractor],
  ['micronaut', jvmAnnotationsExtractor],
  ['ktor', ktorExtractor],
  ['aspnet-core', aspnetCoreExtractor],
  ['actix-web', rustWebExtractor],
  ['axum', rustWebExtractor],
  ['rocket', rustWebExtractor],
  ['rails', railsExtractor],
  ['sinatra', sinatraExtractor],
  ['laravel', laravelExtractor],
  ['symfony', symfonyExtractor],
  ['phoenix', phoenixExtractor],
  ['grpc', grpcExtractor],
]);
