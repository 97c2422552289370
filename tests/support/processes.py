"""`seatctl` as a real process (start-up, concurrency, crash and file-mode tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any


def process_env(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any SEATCTL_ variable, then `env` on top."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    environ.update(env)
    return environ


def run_process(args: list[str], env: Mapping[str, str], timeout: float = 60,
                **popen: Any) -> subprocess.CompletedProcess[str]:
    """`python -m seatctl ARGS…` to its end, output captured; `popen` goes to subprocess.run (preexec_fn…)."""
    return subprocess.run([sys.executable, "-m", "seatctl", *args], env=process_env(env), capture_output=True,
                          text=True, timeout=timeout, **popen)


def spawn(args: list[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    """`python -m seatctl ARGS…` started and left running, its output piped."""
    return subprocess.Popen([sys.executable, "-m", "seatctl", *args], env=process_env(env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
