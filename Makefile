# Chancery: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# command:package pairs the tests need
SYSTEM_TOOLS := openssl:openssl pg_isready:postgresql-client slapd:slapd slapadd:slapd ldapsearch:ldap-utils chromium:chromium \
	softhsm2-util:softhsm2 pkcs11-tool:opensc pebble-challtestsrv:pebble scepclient:scep certmonger:certmonger \
	dbus-run-session:dbus certbot:certbot lego:lego

.PHONY: run test venv system-deps postgres bench lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

## run: create the environment, initialise a demo hierarchy on SQLite if none exists, serve on 127.0.0.1:8000
run: $(STAMP)
	$(BIN)/chancery demo --host 127.0.0.1 --port 8000

## test: create the environment, install missing system packages, run the whole suite (SQLite and PostgreSQL)
test: $(STAMP) system-deps postgres
	$(BIN)/pytest

system-deps:
	@missing=""; \
	for pair in $(SYSTEM_TOOLS); do \
		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The suite needs the PostgreSQL server on 127.0.0.1:5432 (trust auth); start it if it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
		echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -n 1) main start; \
		for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

## bench: issuance and revocation benchmarks against their peers (see bench/README.md)
bench: $(STAMP)
	@missing=""; command -v wrk >/dev/null || missing="$$missing wrk"; command -v ab >/dev/null || missing="$$missing apache2-utils"; \
	command -v /usr/bin/time >/dev/null || missing="$$missing time"; command -v pebble >/dev/null || missing="$$missing pebble"; \
	command -v scepserver >/dev/null || missing="$$missing scep"; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; fi
	$(BIN)/python bench/issue.py
	$(BIN)/python bench/revocation.py
	$(BIN)/python bench/login.py
	$(BIN)/python bench/emv.py
	$(BIN)/python bench/keys.py
	$(BIN)/python bench/acme.py
	$(BIN)/python bench/scep.py

lint: $(STAMP)
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
