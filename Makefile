# Veriflow developer tasks.  Run `make` or `make help` for the list.
#
# Local tools live in .dev/bin (git-ignored) and are built from pinned versions
# the first time they are needed; the binary goes to bin/.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory
.DELETE_ON_ERROR:

GO      ?= go
DEV_BIN := .dev/bin
BIN_DIR := bin
INSTALL := scripts/go-install-tool.sh

# ---- pinned tool versions ----------------------------------------------------
# Keep TEMPORAL_CLI_VERSION in step with devstack.TemporalCLIVersion.
TEMPORAL_CLI_VERSION  := v1.5.1
STATICCHECK_VERSION   := v0.8.2
ERRCHECK_VERSION      := v1.30.0
WORKFLOWCHECK_VERSION := v0.6.0
HELM_VERSION          := v3.22.0

TEMPORAL_CLI_PKG  := github.com/temporalio/cli/cmd/temporal
STATICCHECK_PKG   := honnef.co/go/tools/cmd/staticcheck
ERRCHECK_PKG      := github.com/kisielk/errcheck
WORKFLOWCHECK_PKG := go.temporal.io/sdk/contrib/tools/workflowcheck
HELM_PKG          := helm.sh/helm/v3/cmd/helm

TEMPORAL      := $(DEV_BIN)/temporal
STATICCHECK   := $(DEV_BIN)/staticcheck
ERRCHECK      := $(DEV_BIN)/errcheck
WORKFLOWCHECK := $(DEV_BIN)/workflowcheck
HELM          := $(DEV_BIN)/helm

# ---- test settings -----------------------------------------------------------
TEST_TIMEOUT ?= 20m
TEST_FLAGS   ?= -race -count=1 -timeout $(TEST_TIMEOUT)
PKGS         ?= ./...
# Arguments for `make dev`, e.g. make dev DEV_ARGS='...'.
DEV_ARGS     ?=

# ---- fuzz settings -----------------------------------------------------------
# `make fuzz` runs every Fuzz* target of FUZZ_PKGS for FUZZTIME each.
FUZZTIME   ?= 10s
FUZZ_PKGS  ?= ./api ./internal/providers/twilio ./internal/providers/meta
# Extra flags for go test -fuzz, e.g. FUZZ_FLAGS=-parallel=1.
FUZZ_FLAGS ?=

# ---- benchmark settings ------------------------------------------------------
# Extra flags for cmd/veriflow-bench, e.g. BENCH_FLAGS='-levels 8,32 -duration 30s'.
# BENCH_TEMPORAL=postgres runs it against the Temporal server on PostgreSQL
# (scripts/bench-on-postgres.sh) instead of the dev server.
BENCH_TEMPORAL ?=
BENCH_FLAGS ?=
# Extra flags for cmd/veriflow-fairness (`make fairness`), e.g. FAIR_FLAGS='-callers 128'.
FAIR_FLAGS  ?=
# Pending verifications opened by `make bench-pending`.
PENDING     ?= 100000

# Start of this make invocation, so `make test` can report the wall time
# including its prerequisites (Temporal CLI, lint).
MAKE_START := $(shell date +%s)

.PHONY: help temporal-cli helm prism ts-deps ts-generate tools build dev lint fmt-check test unit alerts-test fuzz record-histories chaos chaos-short chaos-dev chaos-dev-short e2e-postgres-short bench bench-pending bench-analytics fairness fraud-sim clean

help: ## list the targets
	@echo "Usage: make <target>"
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo
	@echo "Pinned: Temporal CLI $(TEMPORAL_CLI_VERSION), staticcheck $(STATICCHECK_VERSION), errcheck $(ERRCHECK_VERSION), workflowcheck $(WORKFLOWCHECK_VERSION), helm $(HELM_VERSION)"

temporal-cli: ## build the Temporal CLI into .dev/bin (only if missing; slow the first time)
	@if [[ ! -x $(TEMPORAL) ]]; then \
		echo "building the Temporal CLI $(TEMPORAL_CLI_VERSION) into $(DEV_BIN) (first time: several minutes)…"; \
	fi
	@GO=$(GO) $(INSTALL) $(DEV_BIN) temporal $(TEMPORAL_CLI_PKG) $(TEMPORAL_CLI_VERSION) --if-missing

helm: ## build helm into .dev/bin (only if missing; a few minutes the first time) for the chart's tests (test/helm)
	@if [[ ! -x $(HELM) ]]; then \
		echo "building helm $(HELM_VERSION) into $(DEV_BIN) (first time: a few minutes)…"; \
	fi
	@GO=$(GO) $(INSTALL) $(DEV_BIN) helm $(HELM_PKG) $(HELM_VERSION) --if-missing

PRISM := .dev/node/node_modules/.bin/prism

prism: ## install Stoplight Prism (pinned in test/prism) into .dev/node for the provider contract tests
	@if [[ ! -x $(PRISM) ]] || ! cmp -s test/prism/package-lock.json .dev/node/package-lock.json; then \
		echo "installing Stoplight Prism into .dev/node…"; \
		mkdir -p .dev/node && cp test/prism/package.json test/prism/package-lock.json .dev/node/ && \
		npm ci --prefix .dev/node --no-audit --no-fund --loglevel=error; \
	fi

TS_DIR  := .dev/ts
TS_BIN  := $(TS_DIR)/node_modules/.bin

ts-deps: ## install the TypeScript client's pinned tools (client/typescript: tsc, openapi-typescript, Redocly) into .dev/ts
	@if [[ ! -x $(TS_BIN)/tsc ]] || ! cmp -s client/typescript/package-lock.json $(TS_DIR)/package-lock.json; then \
		echo "installing the TypeScript client's tools into $(TS_DIR)…"; \
		mkdir -p $(TS_DIR) && cp client/typescript/package.json client/typescript/package-lock.json $(TS_DIR)/ && \
		npm ci --prefix $(TS_DIR) --no-audit --no-fund --loglevel=error; \
	fi

ts-generate: ts-deps ## regenerate client/typescript/src/schema.ts from api/openapi.json
	$(TS_BIN)/openapi-typescript api/openapi.json -o client/typescript/src/schema.ts

tools: ## install the pinned linters into .dev/bin (only if missing or another version)
	@GO=$(GO) $(INSTALL) $(DEV_BIN) staticcheck   $(STATICCHECK_PKG)   $(STATICCHECK_VERSION)
	@GO=$(GO) $(INSTALL) $(DEV_BIN) errcheck      $(ERRCHECK_PKG)      $(ERRCHECK_VERSION)
	@GO=$(GO) $(INSTALL) $(DEV_BIN) workflowcheck $(WORKFLOWCHECK_PKG) $(WORKFLOWCHECK_VERSION)

build: ## build bin/veriflow
	$(GO) build -o $(BIN_DIR)/veriflow ./cmd/veriflow

dev: temporal-cli build ## run the whole service locally (veriflow dev)
	@VERIFLOW_LOG_FORMAT=$${VERIFLOW_LOG_FORMAT:-text} exec $(BIN_DIR)/veriflow dev $(DEV_ARGS)

# Each check runs even when an earlier one failed, so one `make lint` shows
# every finding; the target fails at the end if any check did.
lint: tools ## go vet, staticcheck, errcheck, workflowcheck and a gofmt check
	@failed=(); \
	run() { local name=$$1; shift; echo "==> $$name"; if ! "$$@"; then failed+=("$$name"); fi; }; \
	run "go vet"        $(GO) vet $(PKGS); \
	run staticcheck     $(STATICCHECK) $(PKGS); \
	run errcheck        $(ERRCHECK) -exclude .errcheck-excludes $(PKGS); \
	run workflowcheck   $(WORKFLOWCHECK) ./workflows/... ./internal/events/...; \
	run gofmt           scripts/check-gofmt.sh; \
	if (( $${#failed[@]} )); then echo "lint FAILED: $${failed[*]}" >&2; exit 1; fi; \
	echo "lint OK"

fmt-check: ## fail listing Go files that gofmt would change
	@scripts/check-gofmt.sh

test: temporal-cli prism helm ts-deps lint ## lint, then all tests with -race; Postgres, Temporal, Prism, helm and Node are required
	@echo "==> go test $(TEST_FLAGS) $(PKGS)"
	@start=$$(date +%s); rc=0; \
	export VERIFLOW_REQUIRE_POSTGRES=1 VERIFLOW_REQUIRE_TEMPORAL=1 VERIFLOW_REQUIRE_PRISM=1 VERIFLOW_REQUIRE_BROWSER=1 VERIFLOW_REQUIRE_NODE=1 VERIFLOW_REQUIRE_HELM=1 VERIFLOW_REQUIRE_PROMTOOL=1; \
	$(GO) test $(TEST_FLAGS) $(PKGS) || rc=$$?; \
	end=$$(date +%s); \
	fmt() { printf '%dm%02ds' $$(($$1 / 60)) $$(($$1 % 60)); }; \
	echo "go test: $$(fmt $$((end - start))); total wall time (incl. tools and lint): $$(fmt $$((end - $(MAKE_START))))"; \
	if (( rc )); then echo "tests FAILED" >&2; fi; \
	exit $$rc

# make test runs the same promtool checks through go test (test/obs,
# TestAlertRules, with VERIFLOW_REQUIRE_PROMTOOL=1).
alerts-test: ## promtool: check deploy/prometheus/alerts.yml and run its unit tests (apt-get install prometheus)
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install -y prometheus" >&2; exit 1; }
	cd deploy/prometheus && promtool check rules alerts.yml && promtool test rules alerts_test.yml

unit: ## quick tests (go test -short), no Postgres or Temporal needed
	$(GO) test -short $(PKGS)

# Each target runs even when an earlier one failed (a crasher is written to
# the package's testdata/fuzz/<target>/); the table at the end gives the
# executions of each, read from the last "fuzz: elapsed: …, execs: N" line.
fuzz: ## run each fuzz target of FUZZ_PKGS for FUZZTIME (default 10s), one after the other; prints executions per target
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	rows=(); failed=0; \
	row() { rows+=("$$(printf '%-20s %-28s %12s %9s  %s' "$$@")"); }; \
	for pkg in $(FUZZ_PKGS); do \
		if ! list=$$($(GO) test -list '^Fuzz' "$$pkg" 2>&1); then \
			echo "$$list" >&2; row "$$pkg" "-" "-" "-" "FAIL (build)"; failed=1; continue; \
		fi; \
		for target in $$(grep '^Fuzz' <<<"$$list" || true); do \
			echo "==> $$pkg $$target for $(FUZZTIME)"; \
			log="$$tmp/$$target.log"; rc=0; \
			$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $(FUZZ_FLAGS) "$$pkg" 2>&1 | tee "$$log" || rc=$$?; \
			last=$$(grep '^fuzz: elapsed: .*execs: ' "$$log" | tail -n 1 || true); \
			execs=$$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$$last"); \
			elapsed=$$(sed -n 's/^fuzz: elapsed: \([^,]*\),.*/\1/p' <<<"$$last"); \
			if (( rc )); then \
				crasher=$$(sed -n 's/.*Failing input written to \(.*\)/\1/p' "$$log" | head -n 1); \
				row "$$pkg" "$$target" "$${execs:--}" "$${elapsed:--}" "FAIL $${crasher:+($$pkg/$$crasher)}"; failed=1; \
			else \
				row "$$pkg" "$$target" "$${execs:--}" "$${elapsed:--}" "ok"; \
			fi; \
		done; \
	done; \
	echo; echo "fuzz summary (FUZZTIME=$(FUZZTIME))"; \
	printf '%-20s %-28s %12s %9s  %s\n' package target execs elapsed result; \
	printf '%s\n' "$${rows[@]}"; \
	if (( failed )); then echo "fuzz FAILED" >&2; exit 1; fi

record-histories: temporal-cli ## record workflow histories for the replay test into workflows/testdata/histories/<date>-<commit>/
	dir=workflows/testdata/histories/$$(date -u +%Y%m%d)-$$(git rev-parse --short HEAD); mkdir -p $$dir; \
	VERIFLOW_RECORD_HISTORIES=$(CURDIR)/$$dir $(GO) test -count=1 -run 'TestSandboxNumbers|TestCheckRightAfterStartIsApproved|TestWrongCodeThenMaxChecks|TestResendAndCancel|TestResendAfterCooldown|TestTransactionBinding|TestSignatureEvidence|TestEventsCallback|TestChannelGoal|TestNewChannelsSandboxNumbers' ./test/e2e; \
	echo "recorded into $$dir"

# The chaos test on the production topology (TestChaosProd): the Temporal
# server on Postgres (scripts/temporal-on-postgres.sh), two API and two
# worker processes; kill -9 of a random API, a random worker and the Temporal
# server, a Postgres stop+start, every receipt's first signal dropped; the
# live tenant's sends go through the real Twilio and Meta adapters to fake
# endpoints. It prints its figures at the end (docs/reliability.md).
CHAOS_N      ?= 1000
CHAOS_ROUNDS ?= 3
CHAOS_SHORT_N ?= 100

chaos: temporal-cli ## chaos test, production topology: CHAOS_N verifications (1000) over 2 APIs and 2 workers, Temporal on Postgres, CHAOS_ROUNDS rounds (3) of kill -9 (API, worker, Temporal) and Postgres restart; then the e2e suite on Temporal-on-Postgres
	VERIFLOW_CHAOS=1 VERIFLOW_CHAOS_N=$(CHAOS_N) VERIFLOW_CHAOS_ROUNDS=$(CHAOS_ROUNDS) $(GO) test -count=1 -v -run '^TestChaosProd$$' -timeout 120m ./test/chaos/
	scripts/e2e-on-postgres.sh

chaos-short: temporal-cli ## short chaos test, production topology (CHAOS_SHORT_N=100 verifications, one fault of each kind)
	VERIFLOW_CHAOS=1 VERIFLOW_CHAOS_N=$(CHAOS_SHORT_N) VERIFLOW_CHAOS_ROUNDS=1 $(GO) test -count=1 -v -run '^TestChaosProd$$' -timeout 30m ./test/chaos/

# The chaos test's first form (TestChaos): one dev server (file-backed),
# one API and one worker, Postgres paused (SIGSTOP) rather than restarted.
CHAOS_DEV_N ?= 200

chaos-dev: temporal-cli ## chaos test, dev topology: CHAOS_DEV_N verifications (200), one API, one worker, the Temporal dev server, Postgres paused, CHAOS_ROUNDS rounds
	VERIFLOW_CHAOS=1 VERIFLOW_CHAOS_N=$(CHAOS_DEV_N) VERIFLOW_CHAOS_ROUNDS=$(CHAOS_ROUNDS) $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 30m ./test/chaos/

chaos-dev-short: temporal-cli ## short chaos test, dev topology (40 verifications, 1 round)
	VERIFLOW_CHAOS=1 VERIFLOW_CHAOS_N=40 VERIFLOW_CHAOS_ROUNDS=1 $(GO) test -count=1 -v -run '^TestChaos$$' -timeout 20m ./test/chaos/

# The short e2e subset run on the production topology by CI.
E2E_SHORT_RUN ?= ^(TestSandboxNumbers|TestCheckRightAfterStartIsApproved|TestWrongCodeThenMaxChecks|TestResendAndCancel|TestIdempotencyKey|TestTemporalView|TestWhatsAppFailsOverToTwilioSMS)$$

e2e-postgres-short: temporal-cli ## a short e2e subset against the Temporal server on a brand-new Postgres (scripts/e2e-on-postgres.sh; builds the server the first time, ~3 min)
	E2E_FRESH=1 E2E_RUN='$(E2E_SHORT_RUN)' scripts/e2e-on-postgres.sh

bench: temporal-cli ## Veriflow over HTTP vs the bare Temporal shape each on a fresh stack per phase, 30 s windows (~5.5 min): throughput, time to send, latency, CPU, ratio; BENCH_TEMPORAL=postgres: on the Temporal server on PostgreSQL; JSON in .dev/bench/
	@$(GO) build -o $(BIN_DIR)/veriflow-bench ./cmd/veriflow-bench
ifeq ($(BENCH_TEMPORAL),postgres)
	@scripts/bench-on-postgres.sh $(BIN_DIR)/veriflow-bench $(BENCH_FLAGS)
else
	@$(BIN_DIR)/veriflow-bench $(BENCH_FLAGS)
endif

fairness: temporal-cli ## tenant B's start-to-send p50/p99 alone, then under tenant A's flood (~3 min); FAIR_FLAGS='-fairness=false -admission 0 -unsent 0' for the baseline, '-unsent 0 -global 8' for the share rule; JSON in .dev/fairness/
	@$(GO) build -o $(BIN_DIR)/veriflow-fairness ./cmd/veriflow-fairness
	@$(BIN_DIR)/veriflow-fairness $(FAIR_FLAGS)

bench-analytics: ## analytics at 1 000 000 verifications on a throwaway Postgres: seed time, p50/p99 of both analytics queries, store.Record before/after migration 007's index
	VERIFLOW_REQUIRE_POSTGRES=1 VERIFLOW_ANALYTICS_ROWS=$${ROWS:-1000000} VERIFLOW_ANALYTICS_RUNS=$${RUNS:-50} VERIFLOW_ANALYTICS_RECORDS=$${RECORDS:-2000} \
		$(GO) test ./internal/store -run '^TestAnalyticsAtSize$$' -count=1 -v -timeout 60m

fraud-sim: ## the fraud engine against a replayed day of legitimate traffic and four SMS-pumping attacks (SEED=1; SHORT=1 for CI's form); prints the table
	$(GO) run ./cmd/veriflow-fraudsim -seed $${SEED:-1} $(if $(SHORT),-short,)

bench-pending: temporal-cli ## open PENDING (100000) verifications that stay pending and report the process RSS (long: ~15 min per 100k)
	@$(GO) build -o $(BIN_DIR)/veriflow-bench ./cmd/veriflow-bench
	@$(BIN_DIR)/veriflow-bench -pending-only -pending $(PENDING) -json .dev/bench/pending.json $(BENCH_FLAGS)

clean: ## remove bin/ (keeps .dev/ and its slow-to-build tools)
	rm -rf $(BIN_DIR)
