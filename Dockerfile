# the dashboard's browser libraries, from the lock file (interfaces/web/package-lock.json)
FROM node:20-slim AS web
WORKDIR /web
COPY interfaces/web/package.json interfaces/web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY application application
COPY infrastructure infrastructure
COPY projections projections
COPY interfaces interfaces
COPY --from=web /web/node_modules interfaces/web/node_modules
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT []
CMD ["tbot", "--help"]
