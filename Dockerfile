# syntax=docker/dockerfile:1
# Build: dependencies in their own layer (rebuilt only when Cargo.toml/Cargo.lock
# change), then the service. The image is the version rust-toolchain.toml pins (a test
# checks that the two agree), so with that file in the build rustup finds the toolchain
# installed under its name and downloads nothing.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY rust-toolchain.toml Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > benches/decide.rs && echo 'fn main() {}' > benches/http.rs \
 && cargo build --release --locked \
 && rm -rf src benches
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin aftersales \
 && strip target/release/aftersales

# Run: glibc, libgcc and CA certificates only, no shell, no package manager, non-root
# (uid 65532). scripts/image-smoke.sh runs the binary in such a root, read-only, in CI.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/aftersales /usr/local/bin/aftersales
USER nonroot:nonroot
ENV AFTERSALES_LISTEN=0.0.0.0:8080
EXPOSE 8080
# The image has no curl: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/aftersales", "health", "--url", "http://127.0.0.1:8080"]
ENTRYPOINT ["/usr/local/bin/aftersales"]
CMD ["serve"]
