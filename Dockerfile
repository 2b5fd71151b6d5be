# syntax=docker/dockerfile:1
#
# Veriflow image: one static binary, `veriflow api | worker | migrate | …`.
# Build: docker build -t veriflow .   (docker-compose.yml builds it for you)

##### build #####
FROM golang:1.26 AS build
WORKDIR /src
# Module download is its own layer, reused while go.mod/go.sum are unchanged.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/veriflow ./cmd/veriflow

##### runtime #####
# Distroless: no shell, no package manager; runs as uid 65532 (nonroot).
# It has no HEALTHCHECK because there is nothing in the image to run one
# with (no shell, no wget/curl) and veriflow has no health subcommand; the
# API serves GET /healthz and GET /readyz for an orchestrator's HTTP probes.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/veriflow /veriflow
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/veriflow"]
