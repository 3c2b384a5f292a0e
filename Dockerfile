# keygate's container image: a static binary on distroless, running as nonroot.
#   docker build -t keygate .      (docker-compose.yml builds it as keygate:trial)

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/keygate ./cmd/keygate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/keygate /usr/local/bin/keygate
USER nonroot:nonroot
EXPOSE 10000 18081
ENTRYPOINT ["/usr/local/bin/keygate"]
CMD ["serve", "--config", "/etc/keygate/keygate.yaml"]
