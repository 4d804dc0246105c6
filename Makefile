# The README's commands. `make run` brings the platform up with demo data; `make test` passes the tests.
# With no environment both use a project-private PostgreSQL under .data/ (tools/embedded.py);
# DATABASE_URL, REDIS_URL and CELERY_BROKER_URL switch to external services.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: help run test bench venv db db-stop migrate seed lint messages clean browser

help:
	@echo "make run    - install, start the embedded database, migrate, seed the demo, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install, start the embedded database, run the test suite (PYTEST_ARGS=... to narrow)"
	@echo "make bench  - the short benchmark (about 5 minutes): bench/results/<date>-short.md; BENCH_ARGS=--full for the targets"
	@echo "make lint   - ruff"
	@echo "make messages - update locale/*/django.po from the code and compile them (needs gettext; docs/i18n.md)"
	@echo "make db-stop / make clean - stop the embedded database / also delete .data and the virtualenv"

$(STAMP): requirements/base.txt requirements/dev.txt
	@if ! "$(PYTHON)" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Python 3.11 with venv from Debian's packages"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv python3-dev >/dev/null; \
	  else \
	    echo "Python 3.11 with the venv module is needed: sudo apt-get install python3.11 python3.11-venv (or set PYTHON=...)"; exit 1; \
	  fi; \
	fi
	@test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	@echo "Installing the pinned requirements into $(VENV)"
	@$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt 2>&1 | grep -v 'is ignored: it is neither' ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

venv: $(STAMP)

db: venv
	@if [ -z "$$DATABASE_URL" ]; then $(BIN)/python -m tools.embedded pg-start >/dev/null; fi

db-stop: venv
	@$(BIN)/python -m tools.embedded pg-stop

migrate: db
	@$(BIN)/python manage.py platform_migrate -v 0

seed: migrate
	@$(BIN)/python manage.py seed_demo --port $(PORT)

# Daphne as in the Procfile: pings find dead station connections, frames up to 2 MiB (docs/ocpp.md, Presence).
DAPHNE_FLAGS := --ping-interval 30 --ping-timeout 30 --websocket_timeout -1 --websocket_connect_timeout 60 \
	--websocket-max-message-size 2097152 --websocket-max-frame-size 2097152
# The seeded demo stations, simulated so the demo is alive (docs/simulator.md); SIMULATE=0 serves without them.
SIMULATE ?= 1
SIMULATOR_ARGS ?= --identities DEMO-16-01:1.6,DEMO-201-01:2.0.1 --password demo-station-password \
	--id-tags DEMO-TAG-1,DEMO-TAG-2,DEMO-TAG-3,DEMO-TAG-4 --session-seconds 120 --idle-seconds 90 \
	--meter-interval 10 --fault-rate 0.1 --fault-seconds 20 --drop-rate 0.1 --offline-seconds 15

# Ctrl-C stops the simulator first, so its stations disconnect cleanly and show offline, then the server (which
# runs in its own session so that the terminal's Ctrl-C does not cut it off before them).
run: seed
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C to stop). Health: curl -H 'Host: demo.localhost' $(HOST):$(PORT)/healthz"
	@export DJANGO_SETTINGS_MODULE=config.settings.local; \
	setsid $(BIN)/daphne -b $(HOST) -p $(PORT) $(DAPHNE_FLAGS) config.asgi:application & server=$$!; simulator=; \
	stop() { trap - EXIT INT TERM; \
	  if [ -n "$$simulator" ]; then kill -TERM $$simulator 2>/dev/null; wait $$simulator; fi; \
	  kill -TERM $$server 2>/dev/null; wait $$server; }; \
	trap stop EXIT INT TERM; \
	if [ "$(SIMULATE)" != 0 ]; then \
	  $(BIN)/python -m tools.simulator --wait 30 ws://$(HOST):$(PORT)/ocpp/demo $(SIMULATOR_ARGS) & simulator=$$!; \
	fi; \
	wait $$server

# The independent OCPP client (ocpp-rpc in strict mode) installs from its committed package-lock.
STRICT_CLIENT := tests/ocpp/strict_client
STRICT_CLIENT_STAMP := $(STRICT_CLIENT)/node_modules/.installed

$(STRICT_CLIENT_STAMP): $(STRICT_CLIENT)/package.json $(STRICT_CLIENT)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 18+ with npm is needed for the strict OCPP client test (apt-get install nodejs npm)"; exit 1; }
	@echo "Installing the strict OCPP client (ocpp-rpc) from its package-lock"
	@npm ci --prefix $(STRICT_CLIENT) --prefer-offline --no-audit --no-fund --loglevel=error
	@touch $@

# Browser tests drive Debian's chromium through Playwright (never Playwright's own download).
browser: venv
	@$(BIN)/python -m tools.embedded chromium >/dev/null

test: db browser $(STRICT_CLIENT_STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

BENCH_ARGS ?=
bench: db
	@$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: venv
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

# Translations (docs/i18n.md). The compiled .mo files are committed, so run and test need no gettext tools.
MESSAGE_LANGUAGES := de fr nl es  # LANGUAGES in config/settings/base.py but English, the source language
messages: venv
	@command -v msgfmt >/dev/null || { echo "GNU gettext is needed to update translations (apt-get install gettext)"; exit 1; }
	@$(BIN)/python manage.py makemessages $(addprefix -l ,$(MESSAGE_LANGUAGES)) --add-location=file --no-obsolete \
	  --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench --ignore=tools --ignore=staticfiles \
	  --ignore=media --ignore=.data
	@$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

clean: db-stop
	rm -rf .data $(VENV) staticfiles $(STRICT_CLIENT)/node_modules
