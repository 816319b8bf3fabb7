# Warden's container image: one `warden` binary (serve, score, tune, worker) with the default model.
#
#   docker build -t warden .
#   docker run --rm -p 8080:8080 warden                 # serve on 0.0.0.0:8080
#   docker run --rm warden worker --nats-url nats://...  # the JetStream worker
#
# UNBUILT AND UNTESTED: written where no container engine runs. The stages follow what `scripts/setup.sh`
# and `make release` do on Debian 12 (bookworm); the names to check first are the builder's tag and the
# runtime package list (see deploy/kubernetes/README.md).

# Build: Swift 6.3 on bookworm, with Debian's libtorch 1.13 and OpenBLAS headers (as scripts/setup.sh).
FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libtorch-dev libopenblas-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole package (SwiftPM checks that every target's folder exists, tests and example included);
# .dockerignore keeps build outputs, virtualenvs and local data out.
COPY . .
# The Swift runtime and Foundation linked in: the runtime stage needs no Swift toolchain.
RUN swift build -c release --product warden --static-swift-stdlib \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/warden" /out/warden

# Run: bookworm-slim with the shared libraries the binary loads. libtorch1.13 brings its own dependency tree
# (large: OpenCV, FFmpeg and more come with Debian's build); libopenblas0-pthread makes OpenBLAS the system
# libblas.so.3, which Warden expects (it sets OpenBLAS's thread count itself).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libtorch1.13 libopenblas0-pthread zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/warden /usr/local/bin/warden
# The default bundle and the vocabulary its manifest points to (../../tokenizer), laid out as in the repository;
# Warden looks for models/minilm-moderation in its working directory.
COPY models/minilm-moderation /opt/warden/models/minilm-moderation
COPY tokenizer /opt/warden/tokenizer
WORKDIR /opt/warden
ENV WARDEN_MODEL=/opt/warden/models/minilm-moderation
# A numeric non-root user, as the Kubernetes manifests' runAsUser.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["warden"]
CMD ["serve", "--host", "0.0.0.0"]
