"""Peak resident memory of a command's whole process tree (the command and every child it starts), sampled from
/proc every 20 ms: what a worker's memory limit sees. Linux only."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def run_measured(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> Measured:
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        if time.monotonic() - start > timeout:
            process.kill()
            break
        time.sleep(0.02)
    stdout, stderr = process.communicate()
    return Measured(process.returncode, stdout, stderr, time.monotonic() - start, peak / 1024)


def _tree_rss_kb(pid: int) -> int:
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) if "VmRSS:" in status else 0
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, ValueError, IndexError):
            continue
    return total
