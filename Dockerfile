# One momo node: the binary, ffmpeg for video processing, data in /data.
#
#   docker build -t momo .
#   docker run -d -p 8080:8080 -p 1935:1935 -v momo-data:/data momo
#
# Needs BuildKit (the default builder since Docker 23) for the cache mounts below.

# --- build -------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src

# Only what the workspace needs to build; see .dockerignore.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates

# The registry and target/ live in cache mounts, so a rebuild after a source change
# downloads nothing and recompiles only momo's own crates. The binary is copied out of
# the cache in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p momo \
 && install -s -m 0755 target/release/momo /usr/local/bin/momo

# --- run ---------------------------------------------------------------------------------
FROM debian:bookworm-slim

# ffmpeg (with ffprobe) processes uploaded videos; ca-certificates for outgoing TLS
# (S3 storage, payment providers). Versions are those of Debian stable, which only takes
# fixes, so they are not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ffmpeg \
 && rm -rf /var/lib/apt/lists/*

# An unprivileged user owns the data dir. A new named volume mounted on /data takes
# this owner and mode (0700, as momo would create it).
RUN groupadd --system --gid 10001 momo \
 && useradd --system --uid 10001 --gid momo --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin momo \
 && install -d -o momo -g momo -m 0700 /data

COPY --from=build /usr/local/bin/momo /usr/local/bin/momo

# Set in the environment rather than as flags so that every command run in the
# container (`momo admin create`, `momo migrate`) uses the same data dir as `serve`.
ENV MOMO_DATA_DIR=/data \
    MOMO_HTTP=0.0.0.0:8080 \
    MOMO_RTMP=0.0.0.0:1935

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

# HTTP (API, web pages, HTTP-FLV, HLS, chat WebSocket) and RTMP (publish and play).
EXPOSE 8080 1935

# Healthy when /readyz answers 200 (the process and its database are up). Plain bash,
# so the image needs no curl; the port is taken from MOMO_HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${MOMO_HTTP##*:} && printf 'GET /readyz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["momo"]
CMD ["serve"]
