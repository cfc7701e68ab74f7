# The README's commands.

.PHONY: demo test

# Runs the connector's main job on embedded defaults.
demo:
	go run ./cmd/connector demo

# Passes the tests: PostgreSQL is started (or installed from Debian's
# packages) on 127.0.0.1:5432 when none answers, for the postgres driver's
# tests and the replicas test; then every test, with the race detector and
# never from the test cache (the integration tests build the binary, whose
# sources the cache does not see).
test:
	bash .ci/postgres.sh
	CONNECTOR_TEST_POSTGRES_DSN="$${CONNECTOR_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" go test -race -count=1 ./...
