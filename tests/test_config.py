"""Every setting read and checked in one place (``config``): a value that cannot be read is named, never a
traceback, and the defaults are the ones the README's tables give."""

from __future__ import annotations

import pytest

from image_analysis import config
from image_analysis.errors import ServiceNotConfiguredError
from tests.helpers import cli


def test_the_defaults():
    limits, problem = config.read_limits({})
    assert problem is None
    assert (limits.memory_mb, limits.decode_seconds, limits.max_upload_mb, limits.decoder) == (1024, 20, 50, "libvips")
    service = config.service({})
    assert (service.base_url, service.model, service.timeout, service.max_retries) == ("", config.DEFAULT_MODEL, 120, 2)


def test_limits_are_read_and_a_bad_one_is_named_with_its_default_kept():
    limits, problem = config.read_limits({"IMAGE_ANALYSIS_MEMORY_MB": "2048", "IMAGE_ANALYSIS_DECODE_SECONDS": "x"})
    assert limits.memory_mb == 2048 and limits.decode_seconds == 20
    assert problem == "IMAGE_ANALYSIS_DECODE_SECONDS must be a non-negative number, not 'x'."
    limits, problem = config.read_limits({"IMAGE_ANALYSIS_DECODER": "magick"})
    assert limits.decoder == "libvips" and "libvips, Pillow" in problem


def test_a_bad_service_setting_raises_naming_it():
    with pytest.raises(ServiceNotConfiguredError, match="VISION_MAX_RETRIES must be a non-negative number, not '-1'"):
        config.service({"VISION_MAX_RETRIES": "-1"})
    assert config.service({"VISION_TIMEOUT": " 5 ", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}).timeout == 5.0


def test_the_command_line_says_a_bad_limit_in_one_line():
    done = cli("prepare", "missing.jpg", env_extra={"IMAGE_ANALYSIS_MEMORY_MB": "lots"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "image_analysis: error: IMAGE_ANALYSIS_MEMORY_MB must be a non-negative number, not 'lots'."
    ]


def test_a_limit_is_read_where_it_applies(monkeypatch):
    """A limit changed for one run applies to that run, in the same process (the app's worker, a test)."""
    monkeypatch.setenv("IMAGE_ANALYSIS_STORE_LOCK_SECONDS", "7")
    assert config.limits().store_lock_seconds == 7
    monkeypatch.setenv("IMAGE_ANALYSIS_STORE_LOCK_SECONDS", "1.5")
    assert config.limits().store_lock_seconds == 1.5
    monkeypatch.setenv("IMAGE_ANALYSIS_MEMORY_MB", "lots")
    assert config.limits().memory_mb == 1024 and "IMAGE_ANALYSIS_MEMORY_MB" in (config.limits_problem() or "")
