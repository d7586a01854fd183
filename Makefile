# popsim: two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC ?= runs/fraser.toml
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast golden lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@# the report's render test needs Debian's chromium: installed here when root on Debian
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "popsim: no chromium: the report render test will be skipped (apt-get install chromium)"; fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,geo]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/popsim run $(SPEC)
	$(BIN)/popsim report $(basename $(SPEC))

test: $(STAMP)
	$(BIN)/ruff check popsim tests bench
	$(BIN)/ruff format --check popsim tests bench
	$(BIN)/python -m pytest -q

# the quick part for development: no slow tests, no Dask cluster (under a minute)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not slow and not cluster"

golden: $(STAMP)
	$(BIN)/python tests/golden/make_baseline.py

lint: $(STAMP)
	$(BIN)/ruff check popsim tests bench

format: $(STAMP)
	$(BIN)/ruff format popsim tests bench
	$(BIN)/ruff check --fix popsim tests bench

bench: $(STAMP)
	$(BIN)/python bench/fraser_year.py
	$(BIN)/python bench/reference_ratio.py
	$(BIN)/python bench/ensemble_speedup.py
	$(BIN)/python bench/analysis_scale.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
