# The README's commands.

.PHONY: demo test build image image-standin

# The stamps of `connector version` and the image's labels. Override them
# for a release: make image VERSION=1.2.0
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
IMAGE   ?= localhost/sfconnector
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

# Runs the connector's main job on embedded defaults.
demo:
	go run ./cmd/connector demo

# Passes the tests: PostgreSQL is started (or installed from Debian's
# packages) on 127.0.0.1:5432 when none answers, for the postgres driver's
# tests and the replicas test; podman is installed where missing, for the
# image's test (which runs make image), and Chromium, for the console's
# browser tests; then every test, with the race detector, never from the
# test cache (the integration tests run binaries and images the cache
# knows nothing of).
test:
	bash .ci/postgres.sh
	bash .ci/podman.sh
	bash .ci/chromium.sh
	CONNECTOR_TEST_POSTGRES_DSN="$${CONNECTOR_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" go test -race -count=1 ./...

# Static binaries in bin/: the connector with its version stamped, and the
# Salesforce stand-in.
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/connector ./cmd/connector
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/sfstandin ./cmd/sfstandin

# The connector's image, $(IMAGE):$(VERSION) and :latest (podman or buildah;
# podman is installed from Debian's packages where neither is).
image: build
	VERSION="$(VERSION)" COMMIT="$(COMMIT)" DATE="$(DATE)" IMAGE="$(IMAGE)" bash deploy/image/build.sh connector

# The Salesforce stand-in's image, $(IMAGE)-sfstandin, for compose.yaml.
image-standin: build
	VERSION="$(VERSION)" COMMIT="$(COMMIT)" DATE="$(DATE)" IMAGE="$(IMAGE)" bash deploy/image/build.sh sfstandin
