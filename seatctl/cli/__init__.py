"""The command line: parse, call the domain, render once."""

from __future__ import annotations


def main() -> None:
    from seatctl.cli.app import run

    run()
