"""seatctl: a ledger of per-seat licences (buy, assign, close cycles, report)."""

__version__ = "0.1.0"
