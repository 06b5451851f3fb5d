# One image for both roles: `sluice router` and `sluice processor` (and the other subcommands).
# Debian-based: the rocksdb binding's prebuilt binary needs glibc.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# npm install (not ci): see scripts/setup; postinstall applies patches/ (the kafkajs patches)
RUN npm install --no-audit --no-fund --loglevel=error \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error
COPY bin ./bin
COPY lib ./lib
COPY cli ./cli
COPY common ./common
COPY processor ./processor
COPY router ./router
COPY schemas ./schemas
COPY apps ./apps
COPY dev ./dev

FROM node:24-bookworm-slim
# tini as PID 1 forwards SIGTERM to node, so routers drain and processors commit before exiting.
# Your app, mounted or copied anywhere (e.g. /srv/app/app.ts), imports 'sluice': Node looks for
# it up to /node_modules, where the link below makes it this image's own sluice.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.* \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/sluice /etc/sluice /node_modules \
 && chown 1000:1000 /var/lib/sluice \
 && ln -s /app /node_modules/sluice
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production \
    SLUICE_STATE_DIR=/var/lib/sluice \
    SLUICE_CONFIG=/etc/sluice/sluice.yaml
VOLUME ["/var/lib/sluice"]
# the image's `node` user
USER 1000:1000
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/bin/healthcheck.js"]
ENTRYPOINT ["tini", "--", "node", "/app/bin/sluice.js"]
CMD ["--help"]
