# keygate's container image: a static binary on distroless, running as nonroot.
#   docker build -t keygate .      (docker-compose.yml builds it as keygate:trial)

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
COPY --from=build /out/keygate /usr/local/bin/keygate
USER nonroot:nonroot
# keygate's own listeners: ext_proc (gRPC, for Envoy), admin (/v1, /metrics, /healthz), xDS.
# Envoy's egress port (10000 in docker-compose.yml) belongs to the Envoy container.
EXPOSE 18080 18081 18000
ENTRYPOINT ["/usr/local/bin/keygate"]
CMD ["serve", "--config", "/etc/keygate/keygate.yaml"]
