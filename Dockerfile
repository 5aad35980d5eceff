# syntax=docker/dockerfile:1
# The bot itself: build with the full toolchain, run on a slim image as a non-root user.

FROM node:20-bookworm-slim AS build
# The embedded store's driver (better-sqlite3) is a native addon: built here when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; the addons are built next.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim AS runtime
# git: repositories are cloned with the git CLI (simple-git); tini: signals reach node so SIGTERM drains jobs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 AI_PROVISION_DATA_DIR=/data
# The embedded store (SQLite) lives here; mount a volume, or set DATABASE_URL for PostgreSQL.
RUN mkdir /data && chown node:node /data
VOLUME /data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# Read at run time: the sizing knowledge and the agents' prompts.
COPY --chown=node:node knowledge ./knowledge
COPY --chown=node:node prompts ./prompts
COPY --chown=node:node app.yml ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:3000/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/cli.js", "serve"]
