# make demo   describe a sample image with the model (creates .venv; needs OPENAI_BASE_URL outside VIKTOR)
# make test   lint and run every test, browser tests included (creates .venv; installs chromium when root)
# make bench  measure image preparation on ../shared/images and rewrite BENCHMARKS.md

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE ?= sample_images/site_photo_column_crack.jpg
OUT ?= report.html

.PHONY: demo test bench system-packages samples clean

$(VENV)/.app: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.app requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

demo: $(VENV)/.app
	$(PY) -m image_analysis describe $(SAMPLE) --out $(OUT)

test: $(VENV)/.test system-packages
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: $(VENV)/.test
	$(PY) benchmarks/run.py

samples: $(VENV)/.app
	$(PY) scripts/make_sample_images.py

# Debian packages the tests use: chromium (browser tests) and libgs-common (a CMYK ICC profile).
system-packages:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/color/icc/ghostscript/default_cmyk.icc ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core libgs-common; \
	  else \
	    echo "The tests need Debian's chromium and libgs-common: sudo apt-get install chromium libgs-common" >&2; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/artifacts $(OUT)
