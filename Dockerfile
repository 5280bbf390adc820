# Multi-stage build: compile in the Rust image, ship a small Debian runtime with only the CA
# bundle and the binary, running as an unprivileged user.
#   docker build -t readyprobe .
#   docker run --rm readyprobe audit https://staging.example.com
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY probes ./probes
COPY config ./config
COPY tests ./tests
RUN cargo build --release --locked --bin readyprobe \
 && strip target/release/readyprobe

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/readyprobe --create-home readyprobe
COPY --from=build /src/target/release/readyprobe /usr/local/bin/readyprobe
USER 10001:10001
WORKDIR /var/lib/readyprobe
# History defaults to ./readyprobe-history.sqlite: mount a volume here to keep it.
VOLUME ["/var/lib/readyprobe"]
EXPOSE 9797
ENTRYPOINT ["/usr/local/bin/readyprobe"]
CMD ["--help"]
