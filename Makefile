# Peregrine — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
BIN         := bin/peregrine
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
CHROMIUM    ?= /usr/bin/chromium
DRIVER_DIR  := $(CURDIR)/.cache/playwright-driver

.PHONY: help run build generate test test-deps go-deps postgres chromium cc node playwright-driver check fuzz bench bench-scoring bench-tracker bench-alerts bench-reports bench-api update-crawlers update-vendor clean

help:
	@echo "make run    build and start Peregrine on http://localhost:8080 (embedded PostgreSQL unless DATABASE_URL is set)"
	@echo "make test   install test dependencies and run every test (unit, database, browser)"
	@echo "make build  build $(BIN)"
	@echo "make generate  regenerate templ code after editing views/*.templ"

run: build
	@[ -n "$$DATABASE_URL" ] || $(MAKE) --no-print-directory postgres
	./$(BIN) serve

build:
	$(GO) build -o $(BIN) ./cmd/peregrine

generate:
	$(GO) tool templ generate

# The PostgreSQL server binaries (initdb, pg_ctl, postgres), from Debian when missing.
postgres:
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; else \
		echo "Installing PostgreSQL (apt-get install postgresql)"; \
		$(SUDO) apt-get update -q && $(APT_INSTALL) postgresql; \
	fi

# Chromium for the browser tests, and an emoji font so labels' emoji render in screenshots.
chromium:
	@if [ -x "$(CHROMIUM)" ] && [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then :; else \
		echo "Installing Chromium and an emoji font (apt-get install chromium fonts-noto-color-emoji)"; \
		$(SUDO) apt-get update -q && $(APT_INSTALL) chromium fonts-noto-color-emoji; \
	fi

# A C compiler for the race detector (go test -race needs cgo).
cc:
	@if command -v gcc >/dev/null 2>&1; then :; else \
		echo "Installing a C compiler for the race detector (apt-get install gcc libc6-dev)"; \
		$(SUDO) apt-get update -q && $(APT_INSTALL) gcc libc6-dev; \
	fi

node:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then :; else \
		echo "Installing Node.js and npm"; \
		$(SUDO) apt-get update -q && $(APT_INSTALL) nodejs npm; \
	fi

# Every Go module the build, the tests and the templ tool need, into the module cache (a fresh
# machine, or CI with an empty GOMODCACHE, has none).
go-deps:
	$(GO) mod download

# playwright-go drives the browser through playwright-core's cli.js; fetch exactly the version
# playwright-go was built for (read from the downloaded module) from npm into a git-ignored
# folder (playwright's own installer downloads browsers, which cannot work here).
playwright-driver: node go-deps
	@dir=$$($(GO) list -m -f '{{.Dir}}' github.com/playwright-community/playwright-go) && \
	want=$$(sed -n 's/^const playwrightCliVersion = "\(.*\)"/\1/p' "$$dir/run.go"); \
	if [ -z "$$want" ]; then echo "cannot read playwright-go's pinned playwright version from $$dir/run.go" >&2; exit 1; fi; \
	have=$$(node -p "require('$(DRIVER_DIR)/package/package.json').version" 2>/dev/null); \
	if [ "$$have" != "$$want" ]; then \
		echo "Fetching playwright-core@$$want from npm"; \
		rm -rf "$(DRIVER_DIR)" && mkdir -p "$(DRIVER_DIR)" && cd "$(DRIVER_DIR)" && \
		npm pack --silent "playwright-core@$$want" >/dev/null && tar -xzf "playwright-core-$$want.tgz" && \
		rm -f "playwright-core-$$want.tgz"; \
	fi

test-deps: go-deps postgres chromium playwright-driver cc

# Static checks that need no database: generated templ code is current, code is gofmt'ed,
# vet is clean.
check:
	$(GO) tool templ generate -check
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'ed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

test: test-deps check
	PLAYWRIGHT_DRIVER_PATH="$(DRIVER_DIR)" PLAYWRIGHT_NODEJS_PATH="$$(command -v node)" PEREGRINE_CHROMIUM="$(CHROMIUM)" \
		CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz

# Fuzzing for a bounded number of runs, so every run explores beyond the seeds (the inputs
# that once crashed the server or stalled processing): the Currents decoder, the activity
# builder and the JSON guard. A failing input is saved under testdata/fuzz/ for go test to
# replay. A count, not a duration: Go 1.26's fuzzing coordinator can report its own
# duration deadline as a failure ("context deadline exceeded", golang/go#75804, fixed in 1.27).
# Each input that reaches new code is minimized for up to FUZZMINIMIZE (Go's default, 60 s,
# stalled the Currents decoder's run for 50 s at a time: 38–63 s a run against 9–14 s).
FUZZTIME ?= 100000x
FUZZMINIMIZE ?= 5s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeBatch$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./domain/events
	$(GO) test -run '^$$' -fuzz '^FuzzActivity$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./domain/events
	$(GO) test -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./domain/jsonsafe

# Benchmarks (fsync on); each prints its figures. Ingest: a real server on a fresh embedded
# PostgreSQL. Scoring: re-score, incremental scoring and the lead list against PostgreSQL.
# Salesforce: pushing 10,000 leads to the fake, and the delay at 100 changes/s.
bench: postgres build
	$(GO) run ./cmd/peregrine-bench --bin $(BIN)
	$(MAKE) bench-scoring
	$(MAKE) bench-tracker
	$(MAKE) bench-alerts
	$(MAKE) bench-reports
	$(MAKE) bench-api

# The website tracker's collect endpoint: hits/s acknowledged while the default rules score in
# the background, and the delay from a form submission to the lead's score.
bench-tracker: postgres
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkCollect$$' -benchtime 1x -timeout 30m ./web/

# Alerts: delay from a qualifying event to its email and webhook at 100 events a second.
bench-alerts: postgres
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkAlertDelay$$' -benchtime 1x -timeout 30m ./web/

# The open API: events acknowledged per second, and the lead list on 1,000,000 leads.
bench-api: postgres
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkAPI$$' -benchtime 1x -timeout 30m ./web/

# Reports: crediting crossings, attribution reports and the dashboard on 100,000 leads.
bench-reports: postgres
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkReports$$' -benchtime 1x -timeout 30m ./domain/milestones/

bench-scoring: postgres
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkScoring$$' -benchtime 1x -timeout 60m ./domain/scoring/
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkLeadPassFloor$$' -benchtime 1x -timeout 30m ./domain/scoring/
	$(GO) test -run '^$$' -bench '^BenchmarkLeadPass$$' -benchtime 2s ./domain/scoring/
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkLedgerWrite$$' -benchtime 1x -timeout 30m ./domain/store/
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkLeadList$$' -benchtime 1x -timeout 60m ./domain/store/
	PGTEST_FSYNC=on $(GO) test -run '^$$' -bench 'BenchmarkPush$$' -benchtime 1x -timeout 30m ./domain/crmsync/

# Refresh the crawler list the website tracker ignores (npm's crawler-user-agents, MIT),
# vendored with its licence in domain/tracker/crawlers; review the diff and commit it.
update-crawlers: node
	@tmp=$$(mktemp -d) && cd "$$tmp" && npm pack --silent crawler-user-agents >/dev/null && \
	tar -xzf crawler-user-agents-*.tgz && \
	cp package/crawler-user-agents.json package/LICENSE "$(CURDIR)/domain/tracker/crawlers/" && \
	sed -i "s/crawler-user-agents [0-9.]* /crawler-user-agents $$(node -p "require('./package/package.json').version") /" "$(CURDIR)/domain/tracker/crawlers/README.md" && \
	echo "crawler-user-agents $$(node -p "require('./package/package.json').version") copied; run go test ./domain/tracker" && \
	rm -rf "$$tmp"

# Refresh the browser libraries embedded under static/vendor to the versions package.json
# pins (Chart.js and Redoc: their browser builds and licences; no build step). Review the
# diff and commit.
update-vendor: node
	@tmp=$$(mktemp -d) && want=$$(node -p "require('./package.json').dependencies['chart.js']") && cd "$$tmp" && \
	npm pack --silent "chart.js@$$want" >/dev/null && tar -xzf chart.js-*.tgz && \
	cp package/dist/chart.umd.min.js package/LICENSE.md "$(CURDIR)/static/vendor/chartjs/" && rm -rf package && \
	want=$$(node -p "require('$(CURDIR)/package.json').dependencies['redoc']") && npm pack --silent "redoc@$$want" >/dev/null && \
	tar -xzf redoc-*.tgz && cp package/bundles/redoc.standalone.js package/LICENSE "$(CURDIR)/static/vendor/redoc/" && \
	echo "chart.js and redoc copied; run go test ./static" && rm -rf "$$tmp"

clean:
	rm -rf bin .cache
