"""A result store as a given release wrote it, for the migration tests (tests/fixtures/release-store/).

Run with that release's package first on the path, from a worktree of its commit:

    git worktree add /tmp/release 979a4a7
    PYTHONPATH=/tmp/release python scripts/make_release_store.py tests/fixtures/release-store

Two ``describe --store`` runs (two photos with a sign-off, then a third photo alone), answered by a local
Chat Completions server with the long replies of ``tests/long_replies`` in order, and the reviewed report that
release made from the first run's findings CSV (``report --store``). Everything it writes is that release's.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.append(str(HERE))  # tests.long_replies; the release's package stays first on the path

from tests.long_replies import LONG_REPLIES  # noqa: E402

IMAGES = HERE.parent / "shared" / "images"
RUNS = (
    ("crack_concrete_ozgenel_a.png", "corrosion_rusty_metal_05_polyhaven_1k.jpg"),
    ("crack_concrete_ozgenel_b.png",),
)
SIGNOFF = ("--project", "Kade Noord quay wall", "--inspector", "J. de Vries", "--date", "2026-11-20")


def _server(replies: list[str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = {
                "id": "chatcmpl-release",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "mistral.ministral-3-14b-instruct",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": replies.pop(0)}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 2400, "completion_tokens": 120, "total_tokens": 2520},
            }
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(folder: Path) -> None:
    from image_analysis.cli import main as cli

    folder.mkdir(parents=True, exist_ok=True)
    replies = [json.dumps(LONG_REPLIES[name]) for run in RUNS for name in run]
    server = _server(replies)
    os.environ.update(OPENAI_BASE_URL=f"http://127.0.0.1:{server.server_port}/v1", OPENAI_API_KEY="release")
    store = str(folder / "store.sqlite")
    first, second = ([str(IMAGES / name) for name in run] for run in RUNS)
    common = ("--preset", "inspection", "--store", store, "--concurrency", "1")
    outputs = ("--csv", str(folder / "findings.csv"), "--xlsx", str(folder / "findings.xlsx"))
    assert cli(["describe", *first, *common, *outputs, *SIGNOFF]) == 0
    assert cli(["describe", *second, *common]) == 0
    assert cli(["report", str(folder / "findings.csv"), "--store", store, "--docx", str(folder / "report.docx")]) == 0
    server.shutdown()
    for leftover in folder.glob("store.sqlite-*"):
        leftover.unlink()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
