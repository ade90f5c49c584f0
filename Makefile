# Optiscope's developer commands: run the app, test, lint, benchmark, clean. Everything runs in .venv.

PORT ?= 8501
PYTEST_ARGS ?=
VENV := .venv
PY := $(VENV)/bin/python
BOOTSTRAP_PYTHON := $(shell command -v python3.11 2>/dev/null || command -v python3)

.PHONY: run test lint bench clean

run: $(VENV)/.requirements.stamp
	$(PY) -m streamlit run app.py --server.headless true --server.port $(PORT)

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.requirements-dev.stamp
	$(PY) -m ruff check .

bench: $(VENV)/.requirements-dev.stamp
	@for script in benchmarks/bench_*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		PYTHONPATH=. $(PY) "$$script" || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

$(PY):
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)

# A stamp per requirements file: pip runs again only when that file is newer than its stamp.
$(VENV)/.requirements.stamp: requirements.txt | $(PY)
	$(PY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.requirements-dev.stamp: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	touch $@
