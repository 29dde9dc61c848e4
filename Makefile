# Development entry points. `make demo` and `make test` work on a fresh Debian machine.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DEMO   := $(VENV)/.demo-installed
PKGS   := core services jobs operator

.PHONY: install system-deps testenv demo test test-fast bench lint dashboards clean

$(STAMP): $(foreach p,$(PKGS),$(p)/pyproject.toml) requirements-dev.txt
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e core -e services -e "jobs[rl,research]" -e operator -r requirements-dev.txt
	$(PY) scripts/fetch_helm.py
	touch $@ $(DEMO)

# The demo needs core and services only: no torch, ray, mlflow or test tools.
$(DEMO): core/pyproject.toml services/pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -e core -e services
	touch $@

install: $(STAMP)  ## venv with all four distributions (editable) and the test tools

system-deps:  ## PostgreSQL 15 and Prometheus from Debian, if missing
	bash scripts/system-deps.sh

testenv:  ## the test control plane's binaries (etcd, kube-apiserver, controller manager, scheduler, kwok), built once from Go modules into .tools/
	bash scripts/testenv.sh build

demo: $(DEMO)  ## replay two days of real BTCUSDT candles through the embedded bot (installs core + services)
	rm -f demo.db
	$(VENV)/bin/botrader up -f examples/tradingbot-replay.yaml --db sqlite:///demo.db

BROWSER := tests/e2e/browser/node_modules/.package-lock.json

$(BROWSER): tests/e2e/browser/package.json tests/e2e/browser/package-lock.json
	npm ci --prefix tests/e2e/browser --no-audit --no-fund --loglevel=error

test: system-deps install testenv $(BROWSER)  ## the whole suite: unit, integration (PostgreSQL, Prometheus, MLflow, Kubernetes), browser
	$(PY) -m pytest

test-fast: install  ## unit tests only: no servers
	$(PY) -m pytest -m "not slow and not postgres and not prometheus and not kube" core/tests

bench: system-deps install  ## benchmarks (figures, not pass/fail)
	$(PIP) install -q -r bench/requirements.txt
	$(PY) bench/bench_ingest.py
	$(PY) bench/bench_stream_latency.py
	$(PY) bench/bench_backtest.py
	$(PY) bench/bench_decision_latency.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint operator/Dockerfile services/Dockerfile jobs/Dockerfile
	$(VENV)/bin/helm lint --strict charts/botrader

dashboards: install  ## regenerate grafana/dashboards (and the chart's copies) from grafana/build_dashboards.py
	$(PY) grafana/build_dashboards.py

clean:
	rm -rf $(VENV) demo.db .pytest_cache  # .tools/ (the control plane's binaries) stays: minutes to rebuild
