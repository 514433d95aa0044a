# One image: the quorum server, the built web client and nats-server.
#   docker build -t quorum .
#   docker run --rm -p 8080:8080 -p 8081:8081 -v quorum-data:/data quorum

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same idempotent installer the README's first command uses.
RUN scripts/setup.sh \
 && . scripts/env.sh \
 && trunk build --release \
 && cargo build --release --locked -p quorum-server --bin quorum

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data quorum \
 && mkdir -p /data /app \
 && chown quorum /data
COPY --from=build /src/target/release/quorum /app/quorum
COPY --from=build /src/dist /app/dist
COPY --from=build /src/.tools/venv/bin/nats-server /app/nats-server
ENV QUORUM_LISTEN=0.0.0.0:8080 \
    QUORUM_PUBLIC_URL=http://localhost:8080 \
    QUORUM_DATA_DIR=/data \
    QUORUM_CLIENT_DIR=/app/dist \
    QUORUM_NATS_BINARY=/app/nats-server \
    QUORUM_NATS_WS_HOST=0.0.0.0 \
    QUORUM_NATS_WS_PORT=8081
USER quorum
VOLUME /data
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["/app/quorum", "--healthcheck"]
ENTRYPOINT ["/app/quorum"]
