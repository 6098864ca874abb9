# Two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .tenure
DEMO_DATA ?= demo-data
DEMO_ACCOUNTS ?= 2000
DEMO_MONTHS ?= 12

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

demo: install
	$(BIN)/tenure --data-dir $(DEMO_DIR) init
	$(BIN)/tenure simulate --accounts $(DEMO_ACCOUNTS) --months $(DEMO_MONTHS) --seed 7 --out $(DEMO_DATA)
	$(BIN)/tenure --data-dir $(DEMO_DIR) import simulated $(DEMO_DATA) || test $$? -eq 3
	$(BIN)/tenure --data-dir $(DEMO_DIR) warehouse sync
	$(BIN)/tenure --data-dir $(DEMO_DIR) dq report
	$(BIN)/tenure --data-dir $(DEMO_DIR) metrics summary
	$(BIN)/tenure --data-dir $(DEMO_DIR) metrics movements

test: install lint
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite's set-up is broken" >&2; exit 1; fi; \
	exit $$rc

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) $(DEMO_DATA) build *.egg-info
