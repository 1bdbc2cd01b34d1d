# The worker and bridge image. One image, two commands (see docker-compose.yml).
FROM node:20-bookworm-slim
# openssl: `nats-config dev-tls` makes the development CA with it.
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY coordinator ./coordinator
COPY agencies ./agencies
COPY scripts ./scripts
USER node
ENTRYPOINT ["npx", "tsx", "workers/main.ts"]
CMD ["worker"]
