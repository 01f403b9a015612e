# make reports | make test | make lab | make bench — each creates .venv and installs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
ARGS   ?=
# `make reports LANGUAGE=zh` renders the Chinese edition (make would take `-p` as its own option). Only a value
# given on make's command line counts: gettext's LANGUAGE in the environment ("en_US:en") is not a report language.
REPORT_LANGUAGE := $(if $(filter command line,$(origin LANGUAGE)),-p language=$(LANGUAGE))

.PHONY: install reports test lab bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	$(BIN)/python -m ipykernel install --sys-prefix --name memberkit --display-name "Python 3 (memberkit)" >/dev/null
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

reports: install
	$(BIN)/python run_reports.py $(REPORT_LANGUAGE) $(ARGS)

# two workers, each test file whole on one of them (its module fixtures built once); see tests/conftest.py `once`
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile $(ARGS)

lab: install
	$(BIN)/jupyter lab notebooks/

# never in CI: generates 1,000,000 members; ARGS="--members 20000 --out /tmp/b.md", "--huge", "-p engine.memory_limit=2GB"
bench: install
	$(BIN)/python bench/run.py $(ARGS)
	$(BIN)/python bench/uplift.py

clean:
	rm -rf outputs/20* data/sample
