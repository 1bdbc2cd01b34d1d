# The engine's image: the worker and the bridge, and the Temporal server, its SQL tool and its Web UI server built
# from their Go modules at the versions `npm run cluster` builds (scripts/temporal-server.ts), so the compose stack
# runs the same binaries, set up by the same scripts (scripts/temporal-setup.ts). See docker-compose.yml.
FROM golang:1.26-bookworm AS temporal-build
ARG TEMPORAL_SERVER_VERSION=v1.32.1
ARG TEMPORAL_UI_VERSION=v2.55.0
# Each binary is built into its own GOBIN: `cmd/server` of both modules would land under the same name.
RUN GOBIN=/out/server go install go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION} \
 && GOBIN=/out/sql go install go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION} \
 && GOBIN=/out/ui go install github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_VERSION}

FROM node:24-trixie-slim
# openssl: `nats-config dev-tls` makes the development CA with it.
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=temporal-build /out/server/server .tools/bin/temporal-server
COPY --from=temporal-build /out/sql/sql .tools/bin/temporal-sql-tool
COPY --from=temporal-build /out/ui/server .tools/bin/temporal-ui-server
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY domain ./domain
COPY workflows ./workflows
COPY messaging ./messaging
COPY config ./config
COPY vault ./vault
COPY activities ./activities
COPY workers ./workers
COPY api ./api
COPY coordinator ./coordinator
COPY agencies ./agencies
COPY scripts ./scripts
# The worker loads this bundle and never runs webpack itself; it refuses a bundle older than the code beside it.
RUN npx tsx scripts/build-workflows.ts
USER node
# The engine's heap settings (workers/memory.ts, ENGINE_NODE_OPTIONS): bounded memory for the worker's cache.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=8"
# Node itself is the container's first process: `docker stop`'s SIGTERM reaches the engine, which drains. (Through npx
# and a shell, the signal stopped at them, and the engine was killed with the container instead.)
ENTRYPOINT ["node", "--import", "tsx", "workers/main.ts"]
CMD ["worker"]
