# Catalyst: two commands on a fresh machine — `make run` and `make test`.
GO ?= go
BIN := bin/catalyst
# staticcheck's version, pinned: make lint fetches it through the module proxy.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test test-clock test-chaos build install manifests bench bench-soak lint fmt clean

## run: start the whole platform in one process (embedded Kafka, in-memory stores);
## extra flags go in ARGS, e.g. make run ARGS="-f triggers/examples/pong-to-webhook.yaml".
## Ctrl-C stops it; from a script, `kill $$!` (SIGTERM, which make hands on): a
## background job's make ignores SIGINT sent to it alone.
## exec: the recipe's shell becomes catalyst dev, so the signals the recipe's
## process gets are catalyst dev's (it handles SIGINT even when started with it ignored).
run: build
	exec $(BIN) dev $(ARGS)

## test: every test against real PostgreSQL and Redis (started if none answer)
test:
	hack/test.sh

## test-clock: every test with the clocks moved — a throwaway PostgreSQL whose clock
## reads a year's last minute, and the tests' time zone 14 hours east of UTC — so a test
## that depends on the real date, the database's clock or the time zone fails
test-clock:
	CATALYST_TEST_FAKETIME="$${CATALYST_TEST_FAKETIME:-2027-12-31 23:59:30}" TZ="$${TZ_UNDER_TEST:-Pacific/Kiritimati}" hack/test.sh

## test-chaos: the pipeline under load while it is hurt (tests/chaos_test.go; three
## seeds, CATALYST_CHAOS_SEEDS=1,2,3 to choose)
test-chaos:
	CATALYST_CHAOS=1 hack/test.sh -run TestChaos -v ./tests/

## build: the one binary
build:
	$(GO) build -o $(BIN) ./cmd/catalyst

## install: catalyst into $(go env GOPATH)/bin (or GOBIN), so `catalyst …` works as the docs write it
install:
	$(GO) install ./cmd/catalyst

## lint: formatting (gofmt lists files to fix and fails), go vet, staticcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt: needs formatting (make fmt):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## manifests: regenerate knative/ Services from config/scaling.yaml
manifests:
	$(GO) run ./cmd/catalyst manifests

## bench: the benchmarks quoted in BENCHMARKS.md
bench:
	$(GO) test -run '^$$' -bench . -benchtime 50000x -count 3 ./internal/broker/
	$(GO) test -run '^$$' -bench BenchmarkPod -benchtime 30000x -count 3 ./internal/fnhttp/
	$(GO) test -run '^$$' -bench BenchmarkSendMessage -benchtime 10000x -count 3 ./internal/dev/
	$(GO) test -run '^$$' -bench 'BenchmarkHandler|BenchmarkMatch' -benchmem -count 3 ./internal/fnhttp/ ./internal/eventfilter/
	$(GO) test -run '^$$' -bench Price -benchtime 2s -count 3 ./internal/billing
	$(GO) test -run '^$$' -bench . -benchtime 3s -count 3 ./internal/wallet
	$(GO) test -run '^$$' -bench 'Ledger|PostgresCopyRaw' -benchtime 3s -count 3 ./internal/postgres
	$(GO) test -run '^$$' -bench BenchmarkScreenFused -benchtime 200000x -count 5 ./internal/screening/
	$(GO) test -run '^$$' -bench 'BenchmarkPod/firewall|BenchmarkChainHTTP' -benchtime 20000x -count 3 ./internal/fnhttp/
	$(GO) test -run '^$$' -bench 'Scan' -benchmem -count 3 ./internal/firewall/dpi
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 3 ./internal/velocity
	$(GO) run ./hack/bench-e2e -duration 60s -paced 300 -write BENCHMARKS.md

## bench-soak: ten minutes fused at a steady rate, RSS minute by minute (BENCHMARKS.md)
bench-soak:
	$(GO) run ./hack/bench-e2e -soak 10m -soak-rate 250 -write BENCHMARKS.md

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
