# keygate's container image: a static binary on distroless, running as nonroot.
#   make image                     (stamped: version, commit; or docker build -t keygate .)
#   docker compose build           (docker-compose.yml builds it as keygate:trial)

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# keygate version reports these: docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD)
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X github.com/keygate/keygate/internal/cli.Version=${VERSION} -X github.com/keygate/keygate/internal/cli.Commit=${COMMIT}" \
    -o /out/keygate ./cmd/keygate

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=
# OCI image labels (docker inspect, registries); `keygate version -o json` says the same from
# inside, with the Envoy API version.
LABEL org.opencontainers.image.title="keygate" \
      org.opencontainers.image.description="Egress key gateway: Envoy ext_proc that signs and encrypts requests with keys from Vault" \
      org.opencontainers.image.source="https://github.com/keygate/keygate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/keygate /usr/local/bin/keygate
USER nonroot:nonroot
# Distroless has no shell or curl: keygate probes itself (GET /readyz on the default admin
# address; override with --url for another listen.admin or the listen.health port).
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/keygate", "healthcheck"]
# keygate's own listeners: ext_proc (gRPC, for Envoy), admin (/v1, /metrics, /healthz), xDS.
# Envoy's egress port (10000 in docker-compose.yml) belongs to the Envoy container.
EXPOSE 18080 18081 18000
ENTRYPOINT ["/usr/local/bin/keygate"]
CMD ["serve", "--config", "/etc/keygate/keygate.yaml"]
