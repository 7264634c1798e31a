#!/usr/bin/env bash
# `make test`: every test, against real PostgreSQL and Redis (see test-services.sh),
# with the race detector. Extra arguments go to `go test` (default ./...).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(hack/test-services.sh)"
cleanup() {
  [ -f "$CATALYST_TEST_STATE/stop" ] && bash "$CATALYST_TEST_STATE/stop" >/dev/null 2>&1
  rm -rf "$CATALYST_TEST_STATE"
}
trap cleanup EXIT
export CATALYST_REQUIRE_SERVICES=1
echo "make test: go vet ./..." >&2
go vet ./...
echo "make test: go test -race ${*:-./...}" >&2
go test -race -timeout 30m -count=1 "${@:-./...}"
