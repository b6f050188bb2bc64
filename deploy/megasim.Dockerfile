# syntax=docker/dockerfile:1
#
# The megasim binary in an image, for sweeps across machines
# (deploy/k8s/megasim-sweep-job.yaml; Slurm can run it with Apptainer).
# Build it from the repository root, stamping the commit: every shard of a
# sweep must come from one build, and megasim merge refuses shards whose
# build ids differ.
#
#   docker build -f deploy/megasim.Dockerfile \
#     --build-arg BUILD_ID=$(git rev-parse HEAD)$(git diff --quiet HEAD || echo +dirty) \
#     -t registry.example.com/megasim:$(git rev-parse --short HEAD) .
#   docker push registry.example.com/megasim:$(git rev-parse --short HEAD)

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG BUILD_ID=unknown
# cgo: go-ethereum's secp256k1 is ~4x faster than the pure-Go fallback.
RUN CGO_ENABLED=1 go build -trimpath -buildvcs=false \
      -ldflags "-X main.buildStamp=${BUILD_ID}" -o /out/megasim ./cmd/megasim

FROM debian:bookworm-slim
COPY --from=build /out/megasim /usr/local/bin/megasim
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["megasim"]
