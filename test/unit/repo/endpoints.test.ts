import type { EndpointLimits, EndpointScan } from '../../../src/repo/endpoints.js';
import { DEFAULT_ENDPOINT_LIMITS, findEndpoints } from '../../../src/repo/endpoints.js';
import { walkTree } from '../../../src/repo/tree.js';
import { removeTempRepos, tempRepo } from '../../support/temp-repo.js';

afterAll(removeTempRepos);

function scan(
  files: Record<string, string>,
  frameworks: readonly string[],
  dir = '.',
  limits: EndpointLimits = DEFAULT_ENDPOINT_LIMITS,
): EndpointScan {
  const tree = walkTree(tempRepo(files));
  return findEndpoints(tree, dir, frameworks, tree.under(dir), limits);
}

function routesOf(result: EndpointScan): string[] {
  return result.endpoints.map((e) => `${e.method} ${e.path}`);
}

interface Case {
  name: string;
  frameworks: string[];
  files: Record<string, string>;
  expected: string[];
}

const RAILS_USERS = [
  'GET /users',
  'POST /users',
  'GET /users/:id',
  'PUT /users/:id',
  'PATCH /users/:id',
  'DELETE /users/:id',
  'GET /users/:id/edit',
  'GET /users/new',
];

const cases: Case[] = [
  // --- Express / Koa / Fastify / Hapi
  {
    name: 'express verbs, double quotes and template literals',
    frameworks: ['express'],
    files: {
      'src/app.js': [
        'const app = express();',
        "app.get('/health', (req, res) => res.send('ok'));",
        'router.post("/users", createUser);',
        'app.delete(`/users/:id`, removeUser);',
        "app.all('*', notFound);",
      ].join('\n'),
    },
    expected: ['ANY /*', 'GET /health', 'POST /users', 'DELETE /users/:id'],
  },
  {
    name: 'express router mounted with app.use resolves the prefix in one file',
    frameworks: ['express'],
    files: {
      'server.ts': [
        'const api = express.Router();',
        "api.get('/items', list);",
        "api.put('/items/:id', auth, update);",
        "app.use('/api', api);",
      ].join('\n'),
    },
    expected: ['GET /api/items', 'PUT /api/items/:id'],
  },
  {
    name: 'express route chains',
    frameworks: ['express'],
    files: { 'routes/books.js': "router.route('/books').get(list).post(create);" },
    expected: ['GET /books', 'POST /books'],
  },
  {
    name: 'template literal paths with a same-file constant',
    frameworks: ['express'],
    files: {
      'app.mjs':
        "const BASE = '/v2';\napp.get(`${BASE}/status`, status);\napp.get(`${OTHER}/x`, h);",
    },
    expected: ['GET /v2/status', 'GET /{OTHER}/x'],
  },
  {
    name: 'fastify route objects with one or several methods',
    frameworks: ['fastify'],
    files: {
      'src/server.ts': [
        "fastify.route({ method: 'GET', url: '/reports', handler: list });",
        'fastify.route({',
        "  method: ['POST', 'PUT'],",
        "  url: '/reports/:id',",
        '  handler: save,',
        '});',
        "fastify.get('/ping', { schema }, async () => 'pong');",
      ].join('\n'),
    },
    expected: ['GET /ping', 'GET /reports', 'POST /reports/:id', 'PUT /reports/:id'],
  },
  {
    name: 'hapi server.route with an array of route objects',
    frameworks: ['hapi'],
    files: {
      'lib/routes.js': [
        'server.route([',
        "  { method: 'GET', path: '/a', handler: a },",
        "  { method: '*', path: '/b', options: { handler: b } },",
        ']);',
      ].join('\n'),
    },
    expected: ['GET /a', 'ANY /b'],
  },
  {
    name: 'koa-router prefix',
    frameworks: ['koa'],
    files: {
      'src/users.js':
        "const router = new Router({ prefix: '/users' });\nrouter.get('/:id', show);\nrouter.del('/:id', remove);",
    },
    expected: ['GET /users/:id', 'DELETE /users/:id'],
  },
  // --- NestJS
  {
    name: 'nestjs controller prefix combined with method decorators',
    frameworks: ['nestjs'],
    files: {
      'src/users/users.controller.ts': [
        "@Controller('users')",
        'export class UsersController {',
        "  @Get(':id')",
        '  findOne() {}',
        '  @Post()',
        '  create() {}',
        '}',
        "@Controller({ path: 'admin', version: '1' })",
        'export class AdminController {',
        "  @Delete('cache')",
        '  clear() {}',
        '}',
      ].join('\n'),
    },
    expected: ['DELETE /admin/cache', 'POST /users', 'GET /users/:id'],
  },
  // --- Next.js
  {
    name: 'next.js pages/api routes, with and without method checks',
    frameworks: ['nextjs'],
    files: {
      'pages/api/users/[id].ts': 'export default function handler(req, res) { res.json({}) }',
      'pages/api/index.ts': 'export default (req, res) => res.end()',
      'src/pages/api/health.js':
        "export default function h(req, res) {\n  if (req.method === 'POST') return res.end();\n}",
      'pages/about.tsx': 'export default function About() { return null }',
    },
    expected: ['ANY /api', 'POST /api/health', 'ANY /api/users/[id]'],
  },
  {
    name: 'next.js app router route handlers, groups and private folders',
    frameworks: ['nextjs'],
    files: {
      'app/api/items/route.ts':
        'export async function GET() {}\nexport const POST = async () => new Response();',
      'src/app/(shop)/products/[slug]/route.js':
        'function handler() {}\nexport { handler as GET, handler as HEAD };',
      'app/_lib/route.ts': 'export function GET() {}',
      'app/page.tsx': 'export default function Page() {}',
    },
    expected: [
      'GET /api/items',
      'POST /api/items',
      'GET /products/[slug]',
      'HEAD /products/[slug]',
    ],
  },
  // --- FastAPI / Flask / aiohttp / Starlette
  {
    name: 'fastapi decorators with APIRouter and include_router prefixes',
    frameworks: ['fastapi'],
    files: {
      'app/main.py': [
        'app = FastAPI()',
        'router = APIRouter(prefix="/users", tags=["users"])',
        '@app.get("/items/{item_id}")',
        'async def read_item(item_id: int): ...',
        '@router.post("/")',
        'async def create(): ...',
        '@router.get(',
        '    "/{user_id}",',
        '    response_model=User,',
        ')',
        'async def get_user(): ...',
        'app.include_router(router, prefix="/v1")',
      ].join('\n'),
    },
    expected: ['GET /items/{item_id}', 'POST /v1/users', 'GET /v1/users/{user_id}'],
  },
  {
    name: 'flask route methods, default GET and blueprint url_prefix',
    frameworks: ['flask'],
    files: {
      'app.py': [
        '@app.route("/")',
        'def index(): ...',
        "@app.route('/login', methods=['GET', 'POST'])",
        'def login(): ...',
        'bp = Blueprint("admin", __name__, url_prefix="/admin")',
        '@bp.route("/stats")',
        'def stats(): ...',
        '@bp.delete("/cache")',
        'def clear(): ...',
      ].join('\n'),
    },
    expected: ['GET /', 'DELETE /admin/cache', 'GET /admin/stats', 'GET /login', 'POST /login'],
  },
  {
    name: 'aiohttp web.get and router.add_* registrations',
    frameworks: ['aiohttp'],
    files: {
      'server.py': [
        "app.add_routes([web.get('/', index), web.post('/items', create)])",
        "app.router.add_get('/health', health)",
        "app.router.add_route('DELETE', '/items/{id}', remove)",
      ].join('\n'),
    },
    expected: ['GET /', 'GET /health', 'POST /items', 'DELETE /items/{id}'],
  },
  {
    name: 'starlette Route lists',
    frameworks: ['starlette'],
    files: {
      'app.py':
        'routes = [\n    Route("/", homepage),\n    Route("/users", users, methods=["POST"]),\n]',
    },
    expected: ['GET /', 'POST /users'],
  },
  // --- Django
  {
    name: 'django path and re_path, include() lines skipped',
    frameworks: ['django'],
    files: {
      'mysite/urls.py': [
        'urlpatterns = [',
        "    path('', views.index),",
        "    path('users/<int:id>/', views.user),",
        "    re_path(r'^articles/(?P<year>[0-9]{4})/$', views.year),",
        "    path('api/', include('api.urls')),",
        ']',
      ].join('\n'),
      'mysite/views.py': "path('not/a/urlconf/', view)",
    },
    expected: ['ANY /', 'ANY /articles/(?P<year>[0-9]{4})/', 'ANY /users/<int:id>/'],
  },
  {
    name: 'django rest framework router included in the same urls.py',
    frameworks: ['django'],
    files: {
      'api/urls.py':
        "router = DefaultRouter()\nrouter.register(r'users', UserViewSet)\nurlpatterns = [path('api/', include(router.urls))]",
    },
    expected: ['ANY /api/users/', 'ANY /api/users/<pk>/'],
  },
  // --- Go
  {
    name: 'gin routes and group prefixes',
    frameworks: ['gin'],
    files: {
      'main.go': [
        'r := gin.Default()',
        'r.GET("/ping", ping)',
        'v1 := r.Group("/v1")',
        '{',
        '\tv1.POST("/login", login)',
        '\tadmin := v1.Group("/admin")',
        '\tadmin.DELETE("/users/:id", remove)',
        '}',
        'r.Handle("PATCH", "/raw", raw)',
      ].join('\n'),
    },
    expected: ['DELETE /v1/admin/users/:id', 'POST /v1/login', 'GET /ping', 'PATCH /raw'],
  },
  {
    name: 'echo routes and groups',
    frameworks: ['echo'],
    files: {
      'server.go':
        'e.GET("/", home)\ng := e.Group("/admin", middleware.BasicAuth(check))\ng.PUT("/users/:id", update)',
    },
    expected: ['GET /', 'PUT /admin/users/:id'],
  },
  {
    name: 'fiber routes and groups',
    frameworks: ['fiber'],
    files: {
      'cmd/api/main.go':
        'app.Get("/list", list)\napi := app.Group("/api")\napi.Post("/items", create)',
    },
    expected: ['POST /api/items', 'GET /list'],
  },
  {
    name: 'chi Route blocks and Go 1.22 method patterns',
    frameworks: ['chi'],
    files: {
      'internal/http/router.go': [
        'r.Get("/", index)',
        'r.Route("/articles", func(r chi.Router) {',
        '\tr.Get("/{id}", get)',
        '\tr.Delete("/{id}", remove)',
        '})',
        'mux.HandleFunc("GET /items/{id}", item)',
      ].join('\n'),
    },
    expected: ['GET /', 'GET /articles/{id}', 'DELETE /articles/{id}', 'GET /items/{id}'],
  },
  {
    name: 'gorilla/mux HandleFunc with Methods and subrouter prefixes',
    frameworks: ['gorilla-mux'],
    files: {
      'main.go': [
        'r.HandleFunc("/products", products).Methods("GET", "POST")',
        'r.HandleFunc("/health", health)',
        's := r.PathPrefix("/api").Subrouter()',
        's.HandleFunc("/orders/{id}", order).Methods(http.MethodGet, "DELETE")',
      ].join('\n'),
    },
    expected: ['DELETE /api/orders/{id}', 'ANY /health', 'GET /products', 'POST /products'],
  },
  // --- Spring Boot / Micronaut / Quarkus
  {
    name: 'spring class-level RequestMapping combined with method mappings',
    frameworks: ['spring-boot'],
    files: {
      'src/main/java/com/acme/UserController.java': [
        '@RestController',
        '@RequestMapping("/api/users")',
        'public class UserController {',
        '    @GetMapping("/{id}")',
        '    public User get(@PathVariable Long id) { return null; }',
        '    @PostMapping',
        '    public User create(@RequestBody User u) { return u; }',
        '    @RequestMapping(value = "/search", method = RequestMethod.GET)',
        '    public List<User> search(@RequestParam("q") String q) { return null; }',
        '    @DeleteMapping(path = "/{id}", produces = "application/json")',
        '    public void delete(@PathVariable Long id) {}',
        '}',
      ].join('\n'),
    },
    expected: [
      'POST /api/users',
      'GET /api/users/search',
      'GET /api/users/{id}',
      'DELETE /api/users/{id}',
    ],
  },
  {
    name: 'spring in kotlin with mapping arrays and no class prefix',
    frameworks: ['spring-boot'],
    files: {
      'src/main/kotlin/OrderController.kt': [
        '@RestController',
        'class OrderController(private val service: OrderService) {',
        '    @GetMapping(["/orders", "/orders/all"])',
        '    fun list(): List<Order> = service.all()',
        '    @PutMapping("/orders/{id}")',
        '    fun update(@PathVariable id: Long) {}',
        '}',
      ].join('\n'),
    },
    expected: ['GET /orders', 'GET /orders/all', 'PUT /orders/{id}'],
  },
  {
    name: 'micronaut controller path and verb annotations',
    frameworks: ['micronaut'],
    files: {
      'src/main/java/hello/HelloController.java': [
        '@Controller("/hello")',
        'public class HelloController {',
        '    @Get("/{name}")',
        '    public String greet(String name) { return name; }',
        '    @Post',
        '    public void save() {}',
        '}',
      ].join('\n'),
    },
    expected: ['POST /hello', 'GET /hello/{name}'],
  },
  {
    name: 'quarkus JAX-RS @Path with @GET and method-level @Path',
    frameworks: ['quarkus'],
    files: {
      'src/main/java/org/acme/FruitResource.java': [
        '@Path("/fruits")',
        '@Produces(MediaType.APPLICATION_JSON)',
        'public class FruitResource {',
        '    @GET',
        '    public List<Fruit> list() { return List.of(); }',
        '    @GET',
        '    @Path("/{id}")',
        '    public Fruit get(@PathParam("id") long id) { return null; }',
        '    @Path("/{id}/sub")',
        '    public SubResource locator() { return null; }',
        '    @POST',
        '    public void add(Fruit f) {}',
        '}',
      ].join('\n'),
    },
    expected: ['GET /fruits', 'POST /fruits', 'GET /fruits/{id}'],
  },
  // --- Ktor
  {
    name: 'ktor routing with route blocks; the ktor client is not a route',
    frameworks: ['ktor'],
    files: {
      'src/main/kotlin/Routing.kt': [
        'fun Application.configureRouting() {',
        '    routing {',
        '        get("/") { call.respondText("hi") }',
        '        route("/customers") {',
        '            get { call.respond(all) }',
        '            post("/{id}") { call.respond(ok) }',
        '        }',
        '    }',
        '    val r = client.get("https://example.com/x") { header("a", "b") }',
        '}',
      ].join('\n'),
    },
    expected: ['GET /', 'GET /customers', 'POST /customers/{id}'],
  },
  // --- ASP.NET Core
  {
    name: 'asp.net core minimal APIs and MapGroup prefixes',
    frameworks: ['aspnet-core'],
    files: {
      'Program.cs': [
        'var app = builder.Build();',
        'app.MapGet("/", () => "Hello");',
        'app.MapPost("/todos", (Todo t) => Results.Created());',
        'var todos = app.MapGroup("/todoitems");',
        'todos.MapGet("/{id}", GetTodo);',
        'app.MapMethods("/ops", new[] { "PUT", "PATCH" }, Handler);',
        'app.MapHealthChecks("/healthz");',
      ].join('\n'),
    },
    expected: [
      'GET /',
      'GET /healthz',
      'PUT /ops',
      'PATCH /ops',
      'GET /todoitems/{id}',
      'POST /todos',
    ],
  },
  {
    name: 'asp.net core controllers with [controller] and [action] tokens',
    frameworks: ['aspnet-core'],
    files: {
      'Controllers/UsersController.cs': [
        'namespace Api.Controllers;',
        '[ApiController]',
        '[Route("api/[controller]")]',
        'public class UsersController : ControllerBase',
        '{',
        '    [HttpGet]',
        '    public IActionResult List() => Ok();',
        '    [HttpGet("{id:int}")]',
        '    public async Task<ActionResult<User>> Get(int id) => Ok();',
        '    [HttpPost, Route("[action]")]',
        '    public IActionResult ImportAsync() => Ok();',
        '    [HttpDelete("/admin/users/{id}")]',
        '    public IActionResult Remove(int id) => Ok();',
        '}',
      ].join('\n'),
    },
    expected: [
      'DELETE /admin/users/{id}',
      'GET /api/Users',
      'POST /api/Users/Import',
      'GET /api/Users/{id:int}',
    ],
  },
  // --- Actix / Axum / Rocket
  {
    name: 'actix-web attribute macros, web::resource and App::route',
    frameworks: ['actix-web'],
    files: {
      'src/main.rs': [
        '#[get("/")]',
        'async fn index() -> impl Responder { "hi" }',
        '#[post("/echo")]',
        "async fn echo<'a>(body: &'a str) -> impl Responder { body }",
        'App::new()',
        '    .service(web::resource("/users").route(web::get().to(list)).route(web::post().to(create)))',
        '    .route("/hey", web::get().to(hey))',
        '    .service(web::scope("/admin").route("/stats", web::get().to(stats)))',
      ].join('\n'),
    },
    expected: ['GET /', 'GET /admin/stats', 'POST /echo', 'GET /hey', 'GET /users', 'POST /users'],
  },
  {
    name: 'axum route method routers and nest prefixes',
    frameworks: ['axum'],
    files: {
      'src/routes.rs': [
        'let app = Router::new()',
        '    .route("/", get(root))',
        '    .route("/users", get(list_users).post(create_user))',
        '    .nest("/api", Router::new().route("/items/:id", axum::routing::delete(remove)));',
      ].join('\n'),
    },
    expected: ['GET /', 'DELETE /api/items/:id', 'GET /users', 'POST /users'],
  },
  {
    name: 'rocket attribute routes with data guards and mount prefixes',
    frameworks: ['rocket'],
    files: {
      'src/main.rs': [
        '#[get("/hello/<name>")]',
        'fn hello(name: &str) -> String { name.into() }',
        '#[post("/items", data = "<item>")]',
        'fn create(item: Json<Item>) {}',
        '#[get("/search?<q>")]',
        'fn search(q: &str) {}',
        'fn rocket() -> _ { rocket::build().mount("/api", routes![hello, create]) }',
      ].join('\n'),
    },
    expected: ['GET /api/hello/<name>', 'POST /api/items', 'GET /search'],
  },
  // --- Rails / Sinatra
  {
    name: 'rails verbs, root, resources and a singular resource with only:',
    frameworks: ['rails'],
    files: {
      'config/routes.rb': [
        'Rails.application.routes.draw do',
        "  root 'home#index'",
        "  get '/about', to: 'pages#about'",
        '  resources :users',
        '  resource :profile, only: [:show, :update]',
        "  match 'search', to: 'search#run', via: [:get, :post]",
        'end',
      ].join('\n'),
    },
    expected: [
      'GET /',
      'GET /about',
      'GET /profile',
      'PUT /profile',
      'PATCH /profile',
      'GET /search',
      'POST /search',
      ...RAILS_USERS,
    ],
  },
  {
    name: 'rails namespaces, nested resources, member and collection blocks',
    frameworks: ['rails'],
    files: {
      'config/routes.rb': [
        'Rails.application.routes.draw do',
        '  namespace :api do',
        '    namespace :v1 do',
        '      resources :posts, only: %i[index show] do',
        '        resources :comments, only: [:create]',
        '        member do',
        "          post 'publish'",
        '        end',
        '        collection do',
        '          get :drafts',
        '        end',
        '      end',
        '    end',
        '  end',
        "  get 'status', to: 'status#show'",
        'end',
      ].join('\n'),
    },
    expected: [
      'GET /api/v1/posts',
      'GET /api/v1/posts/:id',
      'POST /api/v1/posts/:id/publish',
      'POST /api/v1/posts/:post_id/comments',
      'GET /api/v1/posts/drafts',
      'GET /status',
    ],
  },
  {
    name: 'sinatra routes and namespaces; client calls without a block are not routes',
    frameworks: ['sinatra'],
    files: {
      'app.rb': [
        "get '/' do",
        "  'hi'",
        'end',
        'post "/items" do',
        '  HTTParty.get("/remote")',
        'end',
        "namespace '/api' do",
        "  get '/status' do",
        '    json ok: true',
        '  end',
        'end',
      ].join('\n'),
    },
    expected: ['GET /', 'GET /api/status', 'POST /items'],
  },
  // --- Laravel / Symfony
  {
    name: 'laravel verbs, match and prefix groups',
    frameworks: ['laravel'],
    files: {
      'routes/web.php': [
        '<?php',
        "Route::get('/', fn () => view('welcome'));",
        "Route::post('/users', [UserController::class, 'store'])->name('users.store');",
        "Route::match(['get', 'post'], '/form', FormController::class);",
        "Route::prefix('admin')->middleware('auth')->group(function () {",
        "    Route::get('/users', [AdminController::class, 'users']);",
        '});',
        "Route::group(['prefix' => 'legacy'], function () {",
        "    Route::delete('items/{id}', [ItemController::class, 'destroy']);",
        '});',
      ].join('\n'),
    },
    expected: [
      'GET /',
      'GET /admin/users',
      'GET /form',
      'POST /form',
      'DELETE /legacy/items/{id}',
      'POST /users',
    ],
  },
  {
    name: 'laravel apiResource in routes/api.php gets the /api prefix',
    frameworks: ['laravel'],
    files: {
      'routes/api.php': "<?php\nRoute::apiResource('photos', PhotoController::class);",
    },
    expected: [
      'GET /api/photos',
      'POST /api/photos',
      'GET /api/photos/{photo}',
      'PUT /api/photos/{photo}',
      'PATCH /api/photos/{photo}',
      'DELETE /api/photos/{photo}',
    ],
  },
  {
    name: 'laravel resource with only()',
    frameworks: ['laravel'],
    files: {
      'routes/web.php':
        "<?php\nRoute::resource('posts', PostController::class)->only(['index', 'show']);",
    },
    expected: ['GET /posts', 'GET /posts/{post}'],
  },
  {
    name: 'symfony Route attributes and doc-block annotations with a class prefix',
    frameworks: ['symfony'],
    files: {
      'src/Controller/BlogController.php': [
        '<?php',
        "#[Route('/blog')]",
        'final class BlogController extends AbstractController',
        '{',
        "    #[Route('/', name: 'blog_index', methods: ['GET'])]",
        '    public function index(): Response {}',
        "    #[Route('/{slug}', methods: ['GET', 'POST'])]",
        '    public function show(string $slug): Response {}',
        '    /**',
        '     * @Route("/legacy", methods={"GET"})',
        '     */',
        '    public function legacy(): Response {}',
        "    // #[Route('/old')]",
        '}',
      ].join('\n'),
    },
    expected: ['GET /blog', 'GET /blog/legacy', 'GET /blog/{slug}', 'POST /blog/{slug}'],
  },
  // --- Phoenix
  {
    name: 'phoenix scopes, verbs and resources with except:',
    frameworks: ['phoenix'],
    files: {
      'lib/app_web/router.ex': [
        'defmodule AppWeb.Router do',
        '  use AppWeb, :router',
        '  pipeline :api do',
        '    plug :accepts, ["json"]',
        '  end',
        '  scope "/", AppWeb do',
        '    pipe_through :browser',
        '    get "/", PageController, :home',
        '    live "/dashboard", DashboardLive',
        '  end',
        '  scope "/api", AppWeb do',
        '    pipe_through :api',
        '    resources "/users", UserController, except: [:new, :edit]',
        '    post "/login", SessionController, :create',
        '  end',
        'end',
      ].join('\n'),
    },
    expected: [
      'GET /',
      'POST /api/login',
      'GET /api/users',
      'POST /api/users',
      'GET /api/users/:id',
      'PUT /api/users/:id',
      'PATCH /api/users/:id',
      'DELETE /api/users/:id',
      'GET /dashboard',
    ],
  },
  // --- gRPC
  {
    name: 'grpc services from .proto files, with and without a package',
    frameworks: ['grpc'],
    files: {
      'proto/catalog.proto': [
        'syntax = "proto3";',
        'package shop.v1;',
        '// service Old { rpc Gone(A) returns (B); }',
        'service Catalog {',
        '  rpc GetItem(GetItemRequest) returns (Item);',
        '  rpc ListItems(ListItemsRequest) returns (stream Item) {}',
        '}',
      ].join('\n'),
      'health.proto': 'service Health { rpc Check(Req) returns (Res); }',
    },
    expected: [
      'POST /Health/Check',
      'POST /shop.v1.Catalog/GetItem',
      'POST /shop.v1.Catalog/ListItems',
    ],
  },
];

describe('repo/endpoints', () => {
  it.each(cases)('$name', ({ files, frameworks, expected }) => {
    const result = scan(files, frameworks);

    expect(routesOf(result).sort()).toEqual([...expected].sort());
    expect(result.truncated).toBe(false);
  });

  it.each<Case>([
    {
      name: 'a Map lookup, an axios call and a commented-out route in Node code',
      frameworks: ['express'],
      files: {
        'src/app.ts': [
          'const cache = new Map<string, string>();',
          "cache.get('/users');",
          "const res = await axios.get('/api/users', { params });",
          "// app.get('/old', legacy);",
          '/* router.post("/older", legacy); */',
          "const users = await api.get('/users', { params: { q } });",
          "$.post('/form', data, done);",
          "const url = 'http://example.com/a'; app.get('/real', h);",
        ].join('\n'),
      },
      expected: ['GET /real'],
    },
    {
      name: 'requests/httpx client calls and commented decorators in Python code',
      frameworks: ['fastapi', 'flask'],
      files: {
        'client.py': [
          'import requests',
          'r = requests.get("http://example.com/api/users")',
          'httpx.post("/relative", json={})',
          '# @app.get("/commented")',
          '@mock.patch("module.thing")',
          'def test(): ...',
          '@app.get("/kept")',
          'def kept(): ...',
        ].join('\n'),
      },
      expected: ['GET /kept'],
    },
    {
      name: 'one-argument getters and HTTP clients in Go code',
      frameworks: ['gin', 'chi'],
      files: {
        'handlers.go': [
          'user := c.Get("user")',
          'resp, _ := http.Get("http://example.com/x")',
          'id := r.Header.Get("X-Id")',
          '// r.GET("/commented", h)',
          'r.GET("/kept", h)',
        ].join('\n'),
      },
      expected: ['GET /kept'],
    },
    {
      name: 'route strings inside string literals and block comments in Java',
      frameworks: ['spring-boot'],
      files: {
        'src/main/java/Api.java': [
          '@RestController',
          'class Api {',
          '  /* @GetMapping("/commented") */',
          '  String doc = "@GetMapping(\\"/in-string\\")";',
          '  @GetMapping("/kept") String kept() { return "a@b.c"; }',
          '}',
        ].join('\n'),
      },
      expected: ['GET /kept'],
    },
    {
      name: 'a Feign client interface, whose routes belong to another service',
      frameworks: ['spring-boot'],
      files: {
        'src/main/java/UserClient.java': [
          '@FeignClient(name = "users", url = "${users.url}")',
          'public interface UserClient {',
          '  @GetMapping("/users/{id}") User get(@PathVariable long id);',
          '}',
          '@RestController',
          'class Api {',
          '  @PostMapping("/kept") void kept() {}',
          '}',
        ].join('\n'),
      },
      expected: ['POST /kept'],
    },
    {
      name: 'commented-out Ruby routes and a Rails concern body',
      frameworks: ['rails'],
      files: {
        'config/routes.rb': [
          'Rails.application.routes.draw do',
          "  # get '/commented', to: 'x#y'",
          '  concern :commentable do',
          '    resources :comments',
          '  end',
          "  get '/kept', to: 'x#y' # trailing comment",
          'end',
        ].join('\n'),
      },
      expected: ['GET /kept'],
    },
  ])('ignores false positives: $name', ({ files, frameworks, expected }) => {
    const result = scan(files, frameworks);

    expect(routesOf(result)).toEqual(expected);
  });

  it.each([
    ['a Jest test file', 'src/app.test.ts'],
    ['a spec file', 'src/app.spec.js'],
    ['a __tests__ directory', 'src/__tests__/routes.js'],
    ['a test directory', 'test/routes.js'],
    ['a fixtures directory', 'src/fixtures/app.js'],
    ['a vendored file', 'vendor/lib/app.js'],
    ['a minified bundle', 'public/app.min.js'],
    ['a TypeScript declaration', 'src/types.d.ts'],
  ])('skips %s', (_what, path) => {
    const files = { [path]: "app.get('/from-skipped', h);", 'src/app.js': "app.get('/kept', h);" };

    const result = scan(files, ['express']);

    expect(routesOf(result)).toEqual(['GET /kept']);
  });

  it.each([
    [
      'a generated Go file',
      'api.go',
      '// Code generated by oapi-codegen. DO NOT EDIT.\nr.GET("/gen", h)\n',
    ],
    ['a one-line bundle without a .min name', 'api.go', `r.GET("/gen", h); ${'x();'.repeat(2000)}`],
    ['a file over 256 KiB', 'api.go', `r.GET("/gen", h)\n${'// padding\n'.repeat(30_000)}`],
  ])('skips %s by its content or size', (_what, path, content) => {
    const files = { [path]: content, 'main.go': 'r.GET("/kept", h)' };

    const result = scan(files, ['gin']);

    expect(routesOf(result)).toEqual(['GET /kept']);
  });

  it('survives unbalanced brackets, unterminated strings and comments in every family', () => {
    const junk =
      '@Get(\'/a\' [Route("x #[get("/b" route("/c") { /* app.get(\'/d\', `${ """ \' do\nend end\n';
    const paths = [
      'a.js',
      'a.py',
      'urls.py',
      'a.go',
      'A.java',
      'A.kt',
      'A.cs',
      'a.rs',
      'a.rb',
      'config/routes.rb',
      'routes/web.php',
      'A.php',
      'lib/router.ex',
      'a.proto',
      'pages/api/a.ts',
    ];
    const files = Object.fromEntries(paths.map((p) => [p, junk.repeat(50)]));
    const frameworks = ['express', 'nestjs', 'nextjs', 'fastapi', 'django', 'gin', 'spring-boot'];
    const more = ['ktor', 'aspnet-core', 'axum', 'rails', 'sinatra', 'laravel', 'symfony'];

    const result = scan(files, [...frameworks, ...more, 'phoenix', 'grpc']);

    expect(result.truncated).toBe(false);
    expect(result.endpoints.every((e) => e.path.startsWith('/'))).toBe(true);
    expect(result.endpoints.map((e) => e.evidence)).toContain('pages/api/a.ts:1');
  });

  it.each<Case>([
    {
      name: 'an Express router imported and mounted in another file, two levels deep',
      frameworks: ['express'],
      files: {
        'src/server.ts': [
          "import { apiRouter } from './api/index.js';",
          "import healthRouter from './health.js';",
          "app.use('/api', apiRouter);",
          'app.use(healthRouter);',
        ].join('\n'),
        'src/api/index.ts': [
          "const { linksRouter } = require('./links');",
          'export const apiRouter = Router();',
          "apiRouter.use('/links', linksRouter);",
          "apiRouter.get('/version', version);",
        ].join('\n'),
        'src/api/links.ts': "linksRouter.post('/', create);\nlinksRouter.get('/:code', show);",
        'src/health.ts': "router.get('/healthz', ok);",
      },
      expected: ['POST /api/links', 'GET /api/links/:code', 'GET /api/version', 'GET /healthz'],
    },
    {
      name: 'a Fastify plugin registered with a prefix',
      frameworks: ['fastify'],
      files: {
        'app.js': "app.register(require('./routes/users'), { prefix: '/users' });",
        'routes/users.js':
          "module.exports = async (f) => { f.get('/', list); f.get('/:id', show); };",
      },
      expected: ['GET /users', 'GET /users/:id'],
    },
    {
      name: 'a FastAPI router imported from another module and included with a prefix',
      frameworks: ['fastapi'],
      files: {
        'app/main.py': [
          'from fastapi import FastAPI',
          'from .routers import users',
          'from app.routers.items import router as items_router',
          'app = FastAPI()',
          'app.include_router(users.router, prefix="/users")',
          'app.include_router(items_router, prefix="/v1")',
        ].join('\n'),
        'app/routers/users.py': 'router = APIRouter()\n@router.get("/{user_id}")\ndef get(): ...',
        'app/routers/items.py':
          'router = APIRouter(prefix="/items")\n@router.post("/")\ndef create(): ...',
      },
      expected: ['POST /v1/items', 'GET /users/{user_id}'],
    },
    {
      name: 'a Django URLconf included from the project urls.py',
      frameworks: ['django'],
      files: {
        'mysite/urls.py': "urlpatterns = [path('api/', include('api.urls')), path('', home)]",
        'api/urls.py':
          "urlpatterns = [path('items/', views.items), path('items/<int:pk>/', views.item)]",
      },
      expected: ['ANY /', 'ANY /api/items/', 'ANY /api/items/<int:pk>/'],
    },
  ])('resolves prefixes across files: $name', ({ files, frameworks, expected }) => {
    const result = scan(files, frameworks);

    expect(routesOf(result).sort()).toEqual([...expected].sort());
  });

  it('stops at a cycle of files that mount each other, keeping every route once', () => {
    const files = {
      'a.js': "import b from './b.js';\napp.use('/b', b);\napp.get('/a-route', h);",
      'b.js': "import a from './a.js';\nb.use('/a', a);\nb.get('/b-route', h);",
    };

    const result = scan(files, ['express']);

    expect(result.endpoints).toHaveLength(2);
    expect(result.endpoints.map((e) => e.path.split('/').at(-1)).sort()).toEqual([
      'a-route',
      'b-route',
    ]);
  });

  it('gives repository-relative evidence with a 1-based line, for a service in a subdirectory', () => {
    const files = {
      'services/api/src/app.js': "const app = express();\n\napp.post('/orders', create);",
      'services/web/src/app.js': "app.get('/other-service', h);",
    };

    const result = scan(files, ['express'], 'services/api');

    expect(result.endpoints).toEqual([
      { method: 'POST', path: '/orders', evidence: 'services/api/src/app.js:3' },
    ]);
  });

  it('routes Next.js files relative to the service directory', () => {
    const files = { 'apps/web/pages/api/ping.ts': 'export default function h() {}' };

    const result = scan(files, ['nextjs'], 'apps/web');

    expect(result.endpoints).toEqual([
      { method: 'ANY', path: '/api/ping', evidence: 'apps/web/pages/api/ping.ts:1' },
    ]);
  });

  it('deduplicates by method and path, keeping the first evidence, and sorts by path then method', () => {
    const files = {
      'a.js': "app.post('/b', h);\napp.get('/b', h);",
      'b.js': "app.get('/b', other);\napp.delete('/a', h);",
    };

    const result = scan(files, ['express', 'koa']);

    expect(result.endpoints).toEqual([
      { method: 'DELETE', path: '/a', evidence: 'b.js:2' },
      { method: 'GET', path: '/b', evidence: 'a.js:2' },
      { method: 'POST', path: '/b', evidence: 'a.js:1' },
    ]);
  });

  it.each([
    ['no frameworks', []],
    ['only frameworks without routes', ['react', 'celery']],
  ])('finds nothing for %s', (_what, frameworks) => {
    const files = { 'app.js': "app.get('/x', h);" };

    const result = scan(files, frameworks);

    expect(result).toEqual({ endpoints: [], truncated: false });
  });

  it('reads only files of the detected frameworks’ languages', () => {
    const files = { 'app.js': "app.get('/node', h);", 'main.go': 'r.GET("/go", h)' };

    const result = scan(files, ['gin']);

    expect(routesOf(result)).toEqual(['GET /go']);
  });

  it('keeps at most 200 endpoints by default and says the list is truncated', () => {
    const lines = Array.from(
      { length: 201 },
      (_, i) => `app.get('/r${String(i).padStart(3, '0')}', h);`,
    );

    const result = scan({ 'app.js': lines.join('\n') }, ['express']);

    expect(result.endpoints).toHaveLength(200);
    expect(result.endpoints.at(-1)?.path).toBe('/r199');
    expect(result.truncated).toBe(true);
  });

  it('caps the files read per service, reading route-like files first', () => {
    const files = {
      'src/a-util.js': "app.get('/util', h);",
      'src/b-helper.js': "app.get('/helper', h);",
      'src/routes.js': "app.get('/routes', h);",
    };
    const limits = { ...DEFAULT_ENDPOINT_LIMITS, maxFiles: 2 };

    const result = scan(files, ['express'], '.', limits);

    expect(routesOf(result)).toEqual(['GET /routes', 'GET /util']);
    expect(result.truncated).toBe(true);
  });
});
