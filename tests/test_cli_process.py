"""The command line as a shell runs it, in a process of its own: the exit code the shell sees, stdout and stderr
apart, one line per message and never a traceback. (Everything else about the command line runs in process:
``tests/test_cli.py``.)"""

from __future__ import annotations

import json

import pytest

from tests.conftest import shared_image_path
from tests.helpers import cli_process, service_env

pytestmark = pytest.mark.process


def test_success_is_exit_0_with_the_result_on_stdout():
    done = cli_process("prepare", str(shared_image_path("webp_photo_flower.webp")))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"]["format"] == "WEBP"
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["prepare", str(shared_image_path("corrupt_truncated_jpeg.jpg"))], "truncated"),
        (["summarise", "x.jpg"], "invalid choice"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(args, expected):
    done = cli_process(*args)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and expected in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_service_failure_is_exit_3_with_one_line(model_service):
    model_service.fail(503, {"error": {"message": "overloaded"}})
    done = cli_process(
        "describe", str(shared_image_path("webp_photo_flower.webp")), env_extra=service_env(model_service)
    )
    assert done.returncode == 3
    assert len(done.stderr.splitlines()) == 1 and "HTTP 503" in done.stderr
    assert "Traceback" not in done.stderr
