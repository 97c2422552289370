"""Batch and completion benchmark (issue 17): many commands in one `seatctl batch` process, and the cost
of a Tab, on the scale bench's ledger.

    .venv/bin/python bench/batch.py --accounts 10000 --out /tmp/bench-batch.db

Builds the ledger with bench/scale.py's `build` (skipped with --reuse when --out exists), then times, as
real processes with this checkout's seatctl:
- `status ACCOUNT` lines (random accounts) in one batch, and the same batch with --format json;
- assign/release pairs (one user of a fresh account, one seat, every commit synced) in one batch;
- an empty batch (the start-up both include), subtracted for the per-line rates, and each batch's CPU
  time (its process's user + system), which a shared machine disturbs less than wall time;
- a completion request (`seatctl assign acct-00012<Tab>`, bash protocol) beside `seatctl --help`
  (median of 9 each, runs alternated).
Prints one JSON object of figures; bench/README.md says what each means."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

NOW = "2026-02-01T03:00:00Z"  # after the month of history scale.py writes


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process run to its end; it must succeed."""
    started, cpu_before = time.perf_counter(), cpu()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed, used = time.perf_counter() - started, cpu() - cpu_before
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed, used


def seconds(command: list[str], env: dict[str, str]) -> float:
    return timed(command, env)[0]


def paired(first: list[str], second: list[str], env_first: dict[str, str], env_second: dict[str, str],
           runs: int = 9) -> tuple[float, float]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for samples, command, env in ((a, first, env_first), (b, second, env_second)):
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=False)
            samples.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10000)
    parser.add_argument("--users-per-account", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "seatctl-bench-batch.db")
    parser.add_argument("--status-lines", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="use the ledger at --out if it exists")
    args = parser.parse_args()
    figures: dict[str, object] = {"accounts": args.accounts}
    if not (args.reuse and args.out.exists()):
        from scale import build

        from seatctl.store.engine import Location

        for suffix in ("", "-wal", "-shm"):
            Path(str(args.out) + suffix).unlink(missing_ok=True)
        started = time.perf_counter()
        build(Location(str(args.out)), args.accounts, args.users_per_account)
        figures["build_seconds"] = round(time.perf_counter() - started, 1)

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATCTL_")}
    env.update(SEATCTL_DB=str(args.out), SEATCTL_OPERATOR="bench", SEATCTL_NOW=NOW,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # timed as installed: bytecode cached
    seatctl = [sys.executable, "-m", "seatctl"]
    subprocess.run(seatctl + ["--help"], env=env, check=True, capture_output=True)

    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        empty = folder / "empty.txt"
        empty.write_text("# nothing\n")
        statuses = folder / "status.txt"
        statuses.write_text("".join(f"status acct-{rng.randrange(args.accounts):06d}\n"
                                    for _ in range(args.status_lines)))
        slug = f"pairs-{int(time.time())}"
        setup = folder / "setup.txt"
        setup.write_text(f"account add {slug} --name Pairs\nuser add {slug} ana@pairs.example.com\n"
                         f"buy {slug} base 1 --yes\n")
        pairs = folder / "pairs.txt"
        pairs.write_text(f"assign {slug} ana@pairs.example.com base\nrelease {slug} ana@pairs.example.com base\n"
                         * args.pairs)
        seconds(seatctl + ["batch", str(setup)], env)
        seconds(seatctl + ["batch", str(statuses)], env)  # warm: the ledger's pages in the OS cache
        for run in (1, 2):
            start_up, start_up_cpu = min(timed(seatctl + ["batch", str(empty)], env) for _ in range(3))
            status, status_cpu = timed(seatctl + ["batch", str(statuses)], env)
            status_json = seconds(seatctl + ["batch", str(statuses), "--format", "json"], env)
            written, written_cpu = timed(seatctl + ["batch", str(pairs)], env)
            figures[f"run{run}"] = {
                "load_average_1min": round(os.getloadavg()[0], 2),
                "empty_batch_seconds": round(start_up, 3),
                "status_lines": args.status_lines,
                "status_seconds": round(status, 3),
                "status_lines_per_second": round(args.status_lines / status, 1),
                "status_lines_per_second_after_startup": round(args.status_lines / (status - start_up), 1),
                "status_cpu_ms_per_line": round(1000 * (status_cpu - start_up_cpu) / args.status_lines, 2),
                "status_json_lines_per_second": round(args.status_lines / status_json, 1),
                "pairs": args.pairs,
                "pairs_seconds": round(written, 3),
                "pairs_per_second": round(args.pairs / written, 1),
                "pairs_per_second_after_startup": round(args.pairs / (written - start_up), 1),
                "pairs_cpu_ms_per_pair": round(1000 * (written_cpu - start_up_cpu) / args.pairs, 2),
            }

    complete_env = {**env, "_SEATCTL_COMPLETE": "complete_bash", "COMP_WORDS": "seatctl assign acct-00012",
                    "COMP_CWORD": "2"}
    done = subprocess.run(seatctl, env=complete_env, capture_output=True, text=True)
    figures["completion_candidates"] = len(done.stdout.split())
    for run in (1, 2):
        tab, help_ = paired(seatctl, seatctl + ["--help"], complete_env, env)
        figures[f"completion_run{run}"] = {"completion_seconds": round(tab, 4), "help_seconds": round(help_, 4),
                                           "completion_vs_help": round(tab / help_, 2)}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
