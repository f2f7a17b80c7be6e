# make demo   describe a sample image with the model (creates .venv; needs OPENAI_BASE_URL outside VIKTOR)
# make test   lint, type-check and run every test, browser tests included (creates .venv; installs chromium when root)
# make test-fast  lint and every test that needs no browser, office program, process of its own or seconds (< 30 s)
# make bench  measure image preparation on ../shared/images and rewrite BENCHMARKS.md

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLE ?= sample_images/site_photo_column_crack.jpg
OUT ?= report.html

.PHONY: demo test test-fast bench system-packages samples clean pictures

# Packages are installed by uv (from the package registry, downloads in parallel: a third of pip's time), pip when uv
# cannot; without compiling every module to bytecode (scipy alone has thousands); a module is compiled when first
# imported, and kept (PYTHONDONTWRITEBYTECODE is cleared for the tests, so that every process after the first reuses
# it).
INSTALL = $(VENV)/bin/uv pip install --quiet --python $(PY) -r $(1) || $(PY) -m pip install --quiet --no-compile -r $(1)

$(VENV)/.app: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv || true
	$(call INSTALL,requirements.txt)
	touch $@

$(VENV)/.test: $(VENV)/.app requirements-test.txt requirements-ray.txt
	$(call INSTALL,requirements-test.txt)
	touch $@

demo: $(VENV)/.app
	$(PY) -m image_analysis describe $(SAMPLE) --out $(OUT)

# Tests run in parallel (pytest-xdist), two workers per core: much of the suite waits on a child process, a socket or
# a clock, and the second worker fills the wait. A test file stays on one worker (--dist loadfile), so that what a
# module makes once (a described batch, a browser, the hostile files) is made once. The slowest 20 are listed.
WORKERS ?= $(shell echo $$(( 2 * $$(nproc) )))
FAST = not browser and not office and not process and not slow

# mypy runs beside the tests (a core's worth of work while the workers wait on processes and sockets); its report
# follows theirs, and either failing fails the target.
test: $(VENV)/.test system-packages
	$(PY) -m ruff check .
	@PYTHONDONTWRITEBYTECODE= $(PY) -m mypy > .mypy.log 2>&1 & mypy=$$!; \
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(WORKERS) --dist loadfile --durations=20; tests=$$?; \
	wait $$mypy; types=$$?; echo "mypy:"; cat .mypy.log; rm -f .mypy.log; \
	test $$tests -eq 0 && test $$types -eq 0

# The edit-run loop (under 30 s): every test not marked browser, office, process or slow (tests/conftest.py fails a
# test that starts a process without its marker), one worker per core. Bytecode is kept between runs (__pycache__,
# ignored by git) even where PYTHONDONTWRITEBYTECODE is set: each worker compiles and rewrites the test modules
# again otherwise, 4 s of every run.
test-fast: $(VENV)/.test
	$(PY) -m ruff check .
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -p no:cacheprovider -n auto -m "$(FAST)"

# The README's pictures, from the screenshots and pages the last test run left in tests/artifacts/.
pictures:
	cp tests/artifacts/page-desktop.png docs/screenshot-desktop.png
	cp tests/artifacts/page-drawing.png docs/screenshot-drawing.png
	cp tests/artifacts/page-phone.png docs/screenshot-phone.png
	cp tests/artifacts/report-inspection.png docs/screenshot-report.png
	cp tests/artifacts/repairs-1280.png docs/screenshot-repairs.png
	cp tests/artifacts/register.png docs/screenshot-register.png
	cp tests/artifacts/word-cover.png docs/word-cover.png
	cp tests/artifacts/word-entry.png docs/word-entry.png
	cp tests/artifacts/quality-1280.png docs/quality.png
	cp tests/artifacts/changes-1280.png docs/changes.png
	cp tests/artifacts/word-changes.png docs/word-changes.png
	cp tests/artifacts/word-sheet.png docs/word-sheet.png
	cp tests/artifacts/workbook.png docs/workbook.png
	cp tests/artifacts/report-entry-1280.png docs/report-entry-1280.png

bench: $(VENV)/.test
	$(PY) benchmarks/run.py

samples: $(VENV)/.app
	$(PY) scripts/make_sample_images.py

# Debian packages the tests use: chromium (browser tests), libgs-common (a CMYK ICC profile), and
# libreoffice-writer-nogui with poppler-utils (the Word report looked at as a PDF page), libreoffice-calc-nogui (the
# findings CSV opened and saved as Calc does), tesseract-ocr (legibility).
DEBIAN_PACKAGES = chromium fonts-dejavu-core fonts-liberation libgs-common libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils tesseract-ocr
system-packages:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/color/icc/ghostscript/default_cmyk.icc ] || [ ! -x /usr/bin/soffice ] || [ ! -f /usr/lib/libreoffice/program/libsclo.so ] || [ ! -x /usr/bin/pdftoppm ] || [ ! -x /usr/bin/tesseract ] || [ ! -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES); \
	  else \
	    echo "The tests need Debian packages: sudo apt-get install $(DEBIAN_PACKAGES)" >&2; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache tests/artifacts $(OUT)
