# Two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .tenure
DEMO_DATA ?= demo-data
DEMO_ACCOUNTS ?= 2000
DEMO_MONTHS ?= 12
DEMO_LOGIN ?= demo@example.com
DEMO_PORT ?= 8000
DEMO_ARM ?= nudge:0.3:0.3:0.15
DEMO_EXPERIMENT ?= retention-nudge
DEMO_POLICY ?= src/tenure/simulate/demo_policy.toml
# the loyalty programme's hidden effect: engaged members' churn hazard cut (enrolled 95 days ago)
DEMO_LOYALTY_EFFECT ?= 0.5

.PHONY: install demo test test-postgres lint bench clean

ASSETS := src/tenure/web/static/vendor/swagger-ui-bundle.js

install: $(STAMP) $(ASSETS)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps 'gbstats==0.8.0' 'lifetimes==0.11.3'
	@touch $(STAMP)

# Dashboard scripts (Plotly.js from the plotly package, htmx via npm pack): git-ignored.
$(ASSETS): $(STAMP)
	$(BIN)/python -m tenure.web.assets

demo: install
	$(BIN)/tenure --data-dir $(DEMO_DIR) init
	$(BIN)/tenure simulate --accounts $(DEMO_ACCOUNTS) --months $(DEMO_MONTHS) --seed 7 --arm $(DEMO_ARM) --policy $(DEMO_POLICY) --out $(DEMO_DATA) \
	  --loyalty-effect $(DEMO_LOYALTY_EFFECT) --loyalty-start $$(date -u -d '95 days ago' +%F)
	$(BIN)/tenure --data-dir $(DEMO_DIR) import simulated $(DEMO_DATA) || test $$? -eq 3
	$(BIN)/tenure --data-dir $(DEMO_DIR) warehouse sync
	$(BIN)/tenure --data-dir $(DEMO_DIR) dq report
	$(BIN)/tenure --data-dir $(DEMO_DIR) model train
	$(BIN)/tenure --data-dir $(DEMO_DIR) segments load --defaults
	$(BIN)/tenure --data-dir $(DEMO_DIR) messages templates load --defaults
	$(BIN)/tenure --data-dir $(DEMO_DIR) journeys load --defaults
	$(BIN)/tenure --data-dir $(DEMO_DIR) plays load --defaults
	$(BIN)/tenure --data-dir $(DEMO_DIR) loyalty program load --defaults
	$(BIN)/tenure --data-dir $(DEMO_DIR) experiments show $(DEMO_EXPERIMENT) >/dev/null 2>&1 || { \
	  $(BIN)/tenure --data-dir $(DEMO_DIR) experiments create $(DEMO_EXPERIMENT) --name "Retention nudge (simulated)" \
	    --hypothesis "A nudge to at-risk accounts lowers 90-day churn" --variant control=0.7 --variant nudge=0.3 \
	    --metric churn_90d --metric events_30d --metric active_days_30d --guardrail tickets_30d && \
	  $(BIN)/tenure --data-dir $(DEMO_DIR) experiments start $(DEMO_EXPERIMENT) \
	    --at $$($(BIN)/python -c "import json; print(json.load(open('$(DEMO_DATA)/manifest.json'))['treatment']['start'])"); }
	$(BIN)/tenure --data-dir $(DEMO_DIR) experiments load-exposures $(DEMO_EXPERIMENT) $(DEMO_DATA)/assignments.csv \
	  --unit account_id --variant group --exposed-at exposed_on
	@# one day three months back: loyalty enters then and is judged today (fills /roi); the plays'
	@# past is the simulated closed loop's runs (imported above), judged by today's plays stage
	$(BIN)/tenure --data-dir $(DEMO_DIR) pipeline run --as-of $$(date -u -d '95 days ago' +%F) --skip plays
	$(BIN)/tenure --data-dir $(DEMO_DIR) pipeline run --from $$(date -u -d '7 days ago' +%F) --to $$(date -u +%F)
	@# the scheduler's first pass: the pipeline is done for today, the digests are queued
	$(BIN)/tenure --data-dir $(DEMO_DIR) scheduler --once
	@# an empty quiet-hours window: the demo's first journey emails go out at any hour
	TENURE_JOURNEY_QUIET_HOURS=00:00-00:00 $(BIN)/tenure --data-dir $(DEMO_DIR) journeys tick
	$(BIN)/tenure --data-dir $(DEMO_DIR) journeys list
	$(BIN)/tenure --data-dir $(DEMO_DIR) segments grid
	$(BIN)/tenure --data-dir $(DEMO_DIR) metrics summary
	$(BIN)/tenure --data-dir $(DEMO_DIR) metrics movements
	@# a book too small for a model that beats chance has no champion, so no churn scores (exit 4)
	$(BIN)/tenure --data-dir $(DEMO_DIR) scores top --n 20 || test $$? -eq 4
	$(BIN)/tenure --data-dir $(DEMO_DIR) health show
	$(BIN)/tenure --data-dir $(DEMO_DIR) health backtest
	$(BIN)/tenure --data-dir $(DEMO_DIR) alerts list --status open --limit 20
	$(BIN)/tenure --data-dir $(DEMO_DIR) experiments report $(DEMO_EXPERIMENT)
	$(BIN)/tenure --data-dir $(DEMO_DIR) plays report
	$(BIN)/tenure --data-dir $(DEMO_DIR) reports roi
	$(BIN)/tenure --data-dir $(DEMO_DIR) reports scorecard
	$(BIN)/tenure --data-dir $(DEMO_DIR) risks list --kind programme
	@# the board pack as PDF (its forecast is stored: the /forecast page opens at once)
	$(BIN)/tenure --data-dir $(DEMO_DIR) reports render board --pdf $(DEMO_DIR)/board-pack.pdf --html $(DEMO_DIR)/board-pack.html
	@test -s $(DEMO_DIR)/demo-password || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(12))" > $(DEMO_DIR)/demo-password
	@TENURE_PASSWORD="$$(cat $(DEMO_DIR)/demo-password)" $(BIN)/tenure --data-dir $(DEMO_DIR) users create $(DEMO_LOGIN) --role admin --exist-ok
	@echo
	@echo "Tenure dashboard: http://127.0.0.1:$(DEMO_PORT)/  (log in as $(DEMO_LOGIN), password $$(cat $(DEMO_DIR)/demo-password)); Ctrl-C stops it"
	TENURE_SECURE_COOKIES=false TENURE_LOG_LEVEL=ERROR $(BIN)/tenure --data-dir $(DEMO_DIR) serve --port $(DEMO_PORT)

# .ci/setup installs chromium where it can and finds the public data sets, as .ci/run does;
# with CI set, a missing browser or data set fails the run instead of skipping its tests.
test: install lint
	@. .ci/setup; $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite's set-up is broken" >&2; exit 1; fi; \
	exit $$rc

# The same suite with every default app DB on PostgreSQL (127.0.0.1:5432, database `test`):
# each data dir gets its own schema (tests/pg_switch.py); SQLite-only tests are skipped.
test-postgres: install
	@. .ci/setup; TENURE_TEST_DATABASE=postgres $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite's set-up is broken" >&2; exit 1; fi; \
	exit $$rc

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/features.py
	$(BIN)/python bench/train.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/health.py
	$(BIN)/python bench/alerts.py
	command -v wrk >/dev/null || apt-get install -y -q wrk
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) $(DEMO_DATA) build *.egg-info
