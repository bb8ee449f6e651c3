# Doorstep — two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run test lint test-sqlite test-postgres stack test-stack install install-dev system-test-deps system-fonts vendor bench lock clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Python packages from the locks only, each file checked against its hash (`make lock` writes them)
$(VENV)/.runtime: requirements.lock | $(BIN)/activate
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.runtime
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	touch $@

$(VENV)/.bench: requirements-bench.lock $(VENV)/.runtime
	$(BIN)/pip install -q --require-hashes -r requirements-bench.lock
	touch $@

# The locks, from the pins in requirements*.txt, for this Python (3.11, as in the Dockerfile).
lock: | $(BIN)/activate
	$(BIN)/pip install -q pip-tools==7.6.2
	for f in requirements requirements-dev requirements-bench; do \
	  CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
	    --no-emit-index-url --no-emit-find-links -o $$f.lock $$f.txt || exit 1; \
	done

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end libraries come from npm into pwa/vendor/ (not committed).
vendor: node_modules/.installed
	mkdir -p pwa/vendor
	rm -rf pwa/vendor/leaflet pwa/vendor/swagger-ui-dist pwa/vendor/axe-core pwa/vendor/qrcode-generator
	cp -r node_modules/leaflet/dist pwa/vendor/leaflet
	# qrcode-generator: the badge link's and the payment link's QR on the phone (an ES module, precached with the shell)
	mkdir -p pwa/vendor/qrcode-generator
	cp node_modules/qrcode-generator/dist/qrcode.mjs pwa/vendor/qrcode-generator/
	# axe-core: only the accessibility tests load it (tests/conftest.py), never a page
	mkdir -p pwa/vendor/axe-core
	cp node_modules/axe-core/axe.min.js pwa/vendor/axe-core/
	mkdir -p pwa/vendor/swagger-ui-dist
	cp node_modules/swagger-ui-dist/{swagger-ui.css,swagger-ui-bundle.js,swagger-ui-standalone-preset.js} pwa/vendor/swagger-ui-dist/

install: $(VENV)/.runtime vendor system-fonts

# the embedded demo: generated secret, PUBLIC_BASE_URL on loopback (production refuses both)
run: export DOORSTEP_DEMO := 1
run: export PORT := $(PORT)
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed --if-empty
	$(BIN)/flask demo today
	@echo ""
	@echo "  Doorstep demo on http://127.0.0.1:$(PORT)/   (API docs: /api/docs)"
	@echo "  users: admin, dispatcher, owner, agent1 … agent20 — password: demo (embedded demo only)"
	@$(BIN)/flask demo hours
	@echo ""
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --timeout 120 wsgi:app

# A CJK font for the agreement PDFs (debtor names are Chinese); without it they fall back to Latin-only.
system-fonts:
	@if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  echo "installing Debian's fonts-wqy-microhei"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
	    || echo "no fonts-wqy-microhei: agreement PDFs will write Chinese names as code points"; \
	fi

# Debian's Chromium for the browser tests (never a downloaded browser); Debian's redis-server
# for the RQ tests (tests/scale and tests/ops start their own on a free port); Debian's nginx and
# docker-compose to check deploy/nginx.conf and compose.yaml without a container engine (tests/ops).
system-test-deps: system-fonts
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if ! command -v redis-server >/dev/null; then \
	  echo "installing Debian's redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	fi
	@if ! command -v nginx >/dev/null || ! command -v docker-compose >/dev/null; then \
	  echo "installing Debian's nginx and docker-compose"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx docker-compose >/dev/null; \
	fi

install-dev: $(VENV)/.dev vendor system-test-deps

test: install-dev
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# Checked code (pyproject.toml): ruff's lint and format check, and mypy, on backend/.
lint:
	@echo "=== ruff and mypy on backend/ ==="
	$(BIN)/ruff check backend
	$(BIN)/ruff format --check backend
	$(BIN)/mypy

test-sqlite:
	@echo "=== test suite on SQLite ==="
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-postgres:
	@echo "=== test suite on PostgreSQL ==="
	scripts/with-postgres.sh $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The production layout on loopback (PostgreSQL, Redis, RQ worker, gunicorn × 4): docs/deploy.md.
stack: install
	scripts/stack.sh

# The same suite against that stack: background work (route plans) goes through Redis to the RQ
# worker. Push delivery tests drive the in-process sender's retry timing and settings from the
# test itself, so they run in-process here; tests/scale covers push through the real queue.
test-stack: install-dev
	@echo "=== test suite on the production stack (PostgreSQL, Redis, RQ worker) ==="
	scripts/stack.sh run bash -c '$(BIN)/python -m pytest -q -p no:cacheprovider --ignore=tests/push $(PYTEST_ARGS) \
	  && JOBS_BACKEND=inprocess $(BIN)/python -m pytest -q -p no:cacheprovider tests/push $(PYTEST_ARGS)'

bench: install-dev $(VENV)/.bench
	$(BIN)/python bench/routing.py --quick

clean:
	rm -rf $(VENV) node_modules pwa/vendor
