# The operator image: the static manager binary, a CA bundle and a passwd/group entry
# for the non-root user 65532, on scratch; nothing else (no shell, no package manager).
#
# One file, two final stages with the same layout; they differ only in where the
# binary and the CA bundle come from:
#   (default, the last stage) compiled in a golang stage, CA bundle from that image.
#     For Docker (BuildKit) or podman with access to a registry:
#       docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t IMAGE .
#   --target prebuilt: bin/manager (make build: static, -trimpath, version stamped) and
#     bin/ca-certificates.crt (the build host's) from the build context; needs no
#     registry at all. This is what `make image` does, with podman.
# BuildKit and podman build only the stages the target needs: the prebuilt image never
# pulls golang.
ARG VERSION=dev
ARG REVISION=unknown

FROM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION
ARG REVISION
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/manager ./cmd/manager && \
    mkdir -p /out/etc/ssl/certs && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/

# What both final stages share: the user, the labels, the entrypoint.
FROM scratch AS base
ARG VERSION
ARG REVISION
LABEL org.opencontainers.image.title="whitehall-operator" \
      org.opencontainers.image.description="Runs a government OpenStack cloud as code: department Tenants, ComputeQuotas with PeakSeasons, TestEnvironments." \
      org.opencontainers.image.source="https://github.com/whitehall-cloud/whitehall-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY hack/image/passwd hack/image/group /etc/
USER 65532:65532
ENTRYPOINT ["/manager"]

FROM base AS prebuilt
COPY bin/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/manager /manager

FROM base AS built
COPY --from=build /out/ /
