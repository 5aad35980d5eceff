/**
 * Generates a large, realistic monorepo for the analysis benchmark: `services` services over several
 * stacks, each with a Dockerfile, a package manifest, route files and filler sources, plus
 * Kubernetes manifests, until the tree holds `files` files. Deterministic for given sizes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface StackTemplate {
  id: string;
  ext: string;
  files(name: string, port: number): Record<string, string>;
  filler(name: string, i: number): string;
}

const STACKS: StackTemplate[] = [
  {
    id: 'node-express',
    ext: 'js',
    files: (name, port) => ({
      'package.json': JSON.stringify(
        {
          name,
          version: '1.0.0',
          engines: { node: '>=20' },
          dependencies: { express: '^4.19.2', pg: '^8.11.0' },
        },
        null,
        2,
      ),
      'package-lock.json': '{}\n',
      Dockerfile: `FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nENV NODE_OPTIONS=--max-old-space-size=512\nEXPOSE ${port}\nUSER node\nCMD ["node", "src/server.js"]\n`,
      'src/server.js': `const express = require('express');\nconst app = express();\napp.get('/healthz', (req, res) => res.send('ok'));\napp.get('/api/${name}', list);\napp.post('/api/${name}', create);\napp.get('/api/${name}/:id', show);\napp.delete('/api/${name}/:id', remove);\napp.listen(${port});\n`,
    }),
    filler: (name, i) =>
      `// ${name} module ${i}\nexport function handler${i}(input) {\n  const items = input.items ?? [];\n  return items.map((x) => ({ ...x, index: ${i} })).filter(Boolean);\n}\n`.repeat(
        6,
      ),
  },
  {
    id: 'python-fastapi',
    ext: 'py',
    files: (name, port) => ({
      'pyproject.toml': `[project]\nname = "${name}"\nrequires-python = ">=3.12"\ndependencies = ["fastapi>=0.110", "uvicorn[standard]>=0.29", "psycopg[binary]>=3.1", "redis>=5"]\n`,
      Dockerfile: `FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\nEXPOSE ${port}\nCMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "${port}", "--workers", "4"]\n`,
      'app/main.py': `from fastapi import FastAPI, APIRouter\n\napp = FastAPI()\nrouter = APIRouter(prefix="/api/${name}")\n\n@app.get("/healthz")\ndef health():\n    return "ok"\n\n@router.get("/")\ndef list_items():\n    return []\n\n@router.post("/")\ndef create_item():\n    return {}\n\n@router.get("/{item_id}")\ndef get_item(item_id: int):\n    return {}\n\napp.include_router(router)\n`,
    }),
    filler: (name, i) =>
      `# ${name} module ${i}\ndef handler_${i}(items):\n    result = []\n    for item in items:\n        result.append({"index": ${i}, **item})\n    return result\n\n`.repeat(
        6,
      ),
  },
  {
    id: 'go-gin',
    ext: 'go',
    files: (name, port) => ({
      'go.mod': `module example.com/${name}\n\ngo 1.22\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.10.0\n\tgithub.com/jackc/pgx/v5 v5.6.0\n)\n`,
      Dockerfile: `FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n\nFROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\nENV GOMAXPROCS=2 GOMEMLIMIT=256MiB\nEXPOSE ${port}\nUSER nonroot\nENTRYPOINT ["/app"]\n`,
      'main.go': `package main\n\nimport "github.com/gin-gonic/gin"\n\nfunc main() {\n\tr := gin.Default()\n\tv1 := r.Group("/api/v1")\n\tv1.GET("/${name}", list)\n\tv1.POST("/${name}", create)\n\tv1.GET("/${name}/:id", show)\n\tr.GET("/healthz", health)\n\tr.Run(":${port}")\n}\n`,
    }),
    filler: (name, i) =>
      `// ${name} module ${i}\npackage internal\n\nfunc Handler${i}(items []string) []string {\n\tout := make([]string, 0, len(items))\n\tfor _, it := range items {\n\t\tout = append(out, it)\n\t}\n\treturn out\n}\n`.repeat(
        5,
      ),
  },
  {
    id: 'java-spring',
    ext: 'java',
    files: (name, port) => ({
      'pom.xml': `<?xml version="1.0" encoding="UTF-8"?>\n<project>\n  <modelVersion>4.0.0</modelVersion>\n  <parent>\n    <groupId>org.springframework.boot</groupId>\n    <artifactId>spring-boot-starter-parent</artifactId>\n    <version>3.3.1</version>\n  </parent>\n  <artifactId>${name}</artifactId>\n  <properties><java.version>21</java.version></properties>\n  <dependencies>\n    <dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-web</artifactId></dependency>\n    <dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId></dependency>\n  </dependencies>\n</project>\n`,
      Dockerfile: `FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY . .\nRUN mvn -q package\n\nFROM eclipse-temurin:21-jre\nCOPY --from=build /src/target/app.jar /app.jar\nENV JAVA_OPTS="-Xms256m -Xmx768m"\nEXPOSE ${port}\nENTRYPOINT ["sh", "-c", "java $JAVA_OPTS -jar /app.jar"]\n`,
      'src/main/java/com/example/Controller.java': `package com.example;\n\nimport org.springframework.web.bind.annotation.*;\n\n@RestController\n@RequestMapping("/api/${name}")\npublic class Controller {\n  @GetMapping\n  public String list() { return "[]"; }\n  @PostMapping\n  public String create() { return "{}"; }\n  @GetMapping("/{id}")\n  public String show(@PathVariable String id) { return "{}"; }\n}\n`,
    }),
    filler: (name, i) =>
      `package com.example.m${i};\n\n// ${name} module ${i}\npublic class Handler${i} {\n  public java.util.List<String> handle(java.util.List<String> items) {\n    return items.stream().map(x -> x + ${i}).toList();\n  }\n}\n`.repeat(
        4,
      ),
  },
  {
    id: 'ruby-rails',
    ext: 'rb',
    files: (name, port) => ({
      Gemfile: `source "https://rubygems.org"\nruby "3.3.0"\ngem "rails", "~> 7.1"\ngem "pg"\ngem "puma"\ngem "sidekiq"\n`,
      Dockerfile: `FROM ruby:3.3-slim\nWORKDIR /app\nCOPY . .\nRUN bundle install\nENV RAILS_MAX_THREADS=5 WEB_CONCURRENCY=2\nEXPOSE ${port}\nCMD ["bundle", "exec", "puma", "-w", "2", "-t", "5:5"]\n`,
      'config/routes.rb': `Rails.application.routes.draw do\n  get "/healthz", to: "health#show"\n  namespace :api do\n    resources :${name.replace(/-/g, '_')}\n  end\nend\n`,
    }),
    filler: (name, i) =>
      `# ${name} module ${i}\nclass Handler${i}\n  def call(items)\n    items.map { |x| x.merge(index: ${i}) }\n  end\nend\n`.repeat(
        6,
      ),
  },
  {
    id: 'dotnet',
    ext: 'cs',
    files: (name, port) => ({
      [`${name}.csproj`]: `<Project Sdk="Microsoft.NET.Sdk.Web">\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include="Npgsql" Version="8.0.3" />\n    <PackageReference Include="StackExchange.Redis" Version="2.7.33" />\n  </ItemGroup>\n</Project>\n`,
      Dockerfile: `FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nWORKDIR /src\nCOPY . .\nRUN dotnet publish -c Release -o /out\n\nFROM mcr.microsoft.com/dotnet/aspnet:8.0\nCOPY --from=build /out /app\nEXPOSE ${port}\nENTRYPOINT ["dotnet", "/app/${name}.dll"]\n`,
      'Program.cs': `var builder = WebApplication.CreateBuilder(args);\nvar app = builder.Build();\napp.MapGet("/healthz", () => "ok");\napp.MapGet("/api/${name}", () => "[]");\napp.MapPost("/api/${name}", () => "{}");\napp.MapDelete("/api/${name}/{id}", (string id) => "{}");\napp.Run();\n`,
    }),
    filler: (name, i) =>
      `// ${name} module ${i}\nnamespace Example.M${i};\n\npublic static class Handler${i}\n{\n    public static IEnumerable<string> Handle(IEnumerable<string> items) => items.Select(x => x + ${i});\n}\n`.repeat(
        5,
      ),
  },
];

export interface GeneratedRepo {
  /** Working tree (a git repository). */
  dir: string;
  /** Bare clone of it, to clone from. */
  bare: string;
  files: number;
}

/**
 * Creates (or reuses, when already generated with the same sizes) the monorepo under `baseDir`.
 */
export function generateMonorepo(baseDir: string, files: number, services: number): GeneratedRepo {
  const dir = join(baseDir, `monorepo-${files}-${services}`);
  const bare = `${dir}.git`;
  if (existsSync(`${dir}.done`) && existsSync(bare)) return { dir, bare, files };
  rmSync(dir, { recursive: true, force: true });
  rmSync(bare, { recursive: true, force: true });
  rmSync(`${dir}.done`, { force: true });
  mkdirSync(dir, { recursive: true });

  let written = 0;
  const write = (path: string, content: string): void => {
    const abs = join(dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    written++;
  };

  write('README.md', `# Generated monorepo\n\n${services} services, ${files} files.\n`);
  const names: { name: string; stack: StackTemplate }[] = [];
  for (let s = 0; s < services; s++) {
    const stack = STACKS[s % STACKS.length]!;
    const name = `svc-${String(s).padStart(2, '0')}-${stack.id}`;
    names.push({ name, stack });
    const port = 8000 + s;
    for (const [path, content] of Object.entries(stack.files(name, port)))
      write(`services/${name}/${path}`, content);
    write(
      `deploy/k8s/${name}.yaml`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: ${name}\n          image: ghcr.io/bench/${name}:1.0.0\n          resources:\n            requests: {cpu: 100m, memory: 128Mi}\n            limits: {cpu: 500m, memory: 512Mi}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports:\n    - port: ${port}\n`,
    );
  }
  // Fill up to the requested size with sources spread over each service's nested modules, plus docs.
  let i = 0;
  while (written < files) {
    const { name, stack } = names[i % names.length]!;
    const n = Math.floor(i / names.length);
    if (i % 10 === 9)
      write(`docs/${name}/page-${n}.md`, `# ${name} page ${n}\n\nSome documentation text.\n`);
    else write(`services/${name}/lib/m${n % 20}/file_${n}.${stack.ext}`, stack.filler(name, n));
    i++;
  }

  const git = (args: string[], cwd: string): void => {
    execFileSync('git', args, {
      cwd,
      stdio: 'ignore',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'bench',
        GIT_AUTHOR_EMAIL: 'bench@example.invalid',
        GIT_COMMITTER_NAME: 'bench',
        GIT_COMMITTER_EMAIL: 'bench@example.invalid',
        GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
        GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
      },
    });
  };
  git(['init', '-q', '-b', 'main'], dir);
  git(['add', '-A'], dir);
  git(['commit', '-q', '-m', 'generated monorepo'], dir);
  git(['clone', '-q', '--bare', dir, bare], baseDir);
  writeFileSync(`${dir}.done`, `${written}\n`);
  return { dir, bare, files: written };
}
