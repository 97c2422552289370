"""Roles (SPEC §6): viewer < operator < billing < owner; unknown identities are refused (exit 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import Seatctl, add_account, build_template, copy_of, one_error_line

NOW = "2026-11-16T10:00:00Z"
USERS_CSV = "email,name\ncarol@example.com,Carol\n"


def _build(cli: Seatctl) -> tuple[str, int]:
    cli.ok("init", "--currency", "EUR", "--timezone", "UTC")  # at the harness's START, 1 Nov 09:00
    for name, role in (("cron", "billing"), ("olivia", "operator"), ("vera", "viewer")):
        cli.ok("operator", "add", name, "--role", role)
    cli.ok("licence", "add", "base", "--name", "Base", "--monthly", "30.00")
    cli.ok("licence", "add", "voip", "--name", "VoIP", "--monthly", "5.35")
    add_account(cli, now="2026-11-01T09:00:00Z")
    cli.now = NOW  # time only moves forward in the ledger
    invoice = cli.json("buy", "acme", "base", "3", "--yes")["invoice"]
    cli.ok("user", "add", "acme", "ana@example.com")
    cli.ok("user", "add", "acme", "bob@example.com")
    cli.ok("assign", "acme", "ana@example.com", "base")
    order = cli.json("buy", "acme", "voip", "1", "--yes", operator="olivia")
    assert order["status"] == "pending"
    (cli.folder / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    return invoice, order["order"]


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, int]]:
    """alice (owner), cron (billing), olivia (operator), vera (viewer); acme with seats, users, one
    invoice and one pending order filed by olivia."""
    return build_template(tmp_path_factory.mktemp("roles"), _build)


@pytest.fixture
def cli(_template, tmp_path: Path) -> Seatctl:
    (tmp_path / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    return copy_of(_template[0], tmp_path, NOW)


@pytest.fixture
def invoice(_template) -> str:
    return _template[1][0]


@pytest.fixture
def order(_template) -> int:
    return _template[1][1]


def _denied(result, role: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 5, (result.code, result.err, result.out)
    line = one_error_line(result.err, result.out)
    assert f"'{role}' role" in line, line
    assert result.out == ""


def _state(cli: Seatctl) -> tuple:  # type: ignore[type-arg]
    """What a write could change, as the owner sees it (every change also writes an event)."""
    return (cli.json("log", operator="alice"), cli.json("status", operator="alice"),
            cli.json("operator", "list", operator="alice"), cli.json("user", "list", "acme", operator="alice"))


READS = [
    ("status",), ("status", "acme"), ("account", "list"), ("account", "show", "acme"), ("user", "list", "acme"),
    ("licence", "list"), ("invoice", "list"), ("invoice", "show", "{invoice}"), ("cycle", "show", "acme"),
    ("log",), ("log", "--account", "acme"), ("operator", "list"), ("order", "list"), ("doctor",),
    ("buy", "acme", "base", "1", "--quote"),
    ("report", "users", "acme"), ("report", "roles"), ("report", "denials"), ("report", "revenue"),
    ("report", "usage", "--from", "2026-11-01", "--to", "2026-11-16", "--by", "day"),
    ("plan", "list"), ("meter", "list"),
]

# (command, the role it needs)
WRITES = [
    (("user", "add", "acme", "dan@example.com"), "operator"),
    (("user", "import", "acme", "users.csv"), "operator"),
    (("user", "deactivate", "acme", "ana@example.com"), "operator"),
    (("user", "activate", "acme", "ana@example.com"), "operator"),
    (("assign", "acme", "bob@example.com", "base"), "operator"),
    (("release", "acme", "ana@example.com", "base"), "operator"),
    (("buy", "acme", "base", "1", "--yes"), "operator"),
    (("account", "add", "newco", "--name", "New"), "billing"),
    (("account", "set", "acme", "--name", "Renamed"), "billing"),
    (("account", "set-min", "acme", "base=3"), "billing"),
    (("account", "suspend", "acme"), "billing"),
    (("account", "close", "acme"), "billing"),
    (("licence", "add", "gsm", "--name", "GSM", "--monthly", "12"), "billing"),
    (("licence", "set-price", "base", "--monthly", "31"), "billing"),
    (("cycle", "close"), "billing"),
    (("invoice", "void", "{invoice}", "--reason", "test"), "billing"),
    (("order", "approve", "{order}"), "billing"),
    (("order", "cancel", "{order}"), "billing"),
    (("operator", "add", "eve", "--role", "viewer"), "owner"),
    (("operator", "remove", "olivia"), "owner"),
    (("backup", "copy.db"), "owner"),
    (("init",), "owner"),
]
ORDER = {"viewer": 0, "operator": 1, "billing": 2, "owner": 3}


def _fill(args: tuple[str, ...], invoice: str, order: int) -> list[str]:
    return [a.replace("{invoice}", invoice).replace("{order}", str(order)) for a in args]


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_a_viewer_can_read_everything(cli, invoice, order, args):
    result = cli(*_fill(args, invoice, order), "--format", "json", operator="vera")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err


def test_every_write_by_a_viewer_is_refused_and_changes_nothing(cli, invoice, order, tmp_path):
    before = _state(cli)
    for args, role in WRITES:
        _denied(cli(*_fill(args, invoice, order), operator="vera"), role)
    assert not (tmp_path / "copy.db").exists()
    assert _state(cli) == before
    assert cli("doctor").code == 0


def test_an_operator_may_not_do_billing_or_owner_work(cli, invoice, order):
    before = _state(cli)
    refused = [(args, role) for args, role in WRITES if ORDER[role] > ORDER["operator"]
               and args[:2] != ("order", "cancel")]  # olivia filed that order: she may cancel it
    assert len(refused) >= 12
    for args, role in refused:
        _denied(cli(*_fill(args, invoice, order), operator="olivia"), role)
    assert _state(cli) == before


def test_an_operator_manages_users_and_seats_and_files_purchase_requests(cli, tmp_path):
    cli.ok("user", "add", "acme", "dan@example.com", operator="olivia")
    cli.ok("user", "import", "acme", str(tmp_path / "users.csv"), operator="olivia")
    assert cli.json("assign", "acme", "bob@example.com", "base", operator="olivia")["assigned"] == ["base"]
    assert cli.json("release", "acme", "ana@example.com", "base", operator="olivia")["released"] == ["base"]
    cli.ok("user", "deactivate", "acme", "bob@example.com", operator="olivia")
    cli.ok("user", "activate", "acme", "bob@example.com", operator="olivia")
    bought = cli.json("buy", "acme", "base", "2", "--yes", operator="olivia")
    assert (bought["status"], bought["invoice"]) == ("pending", None)
    [row] = [r for r in cli.json("status", "acme") if r["licence"] == "base"]
    assert (row["total"], row["buying"]) == (3, 2)
    cli.ok("order", "cancel", str(bought["order"]), operator="olivia")  # the requester may cancel it
    assert cli("doctor").code == 0


def test_an_operator_may_not_cancel_someone_elses_order(cli, order):
    cli.ok("operator", "add", "otto", "--role", "operator")
    _denied(cli("order", "cancel", str(order), operator="otto"), "billing")
    assert [o["status"] for o in cli.json("order", "list", "--all") if o["order"] == order] == ["pending"]


def test_billing_does_billing_work(cli, invoice, order):
    cli.ok("account", "add", "newco", "--name", "New", operator="cron")
    cli.ok("licence", "add", "gsm", "--name", "GSM", "--monthly", "12", operator="cron")
    cli.ok("account", "set-min", "acme", "base=3", operator="cron")
    assert cli.json("order", "approve", str(order), operator="cron")["status"] == "confirmed"
    cli.ok("invoice", "void", invoice, "--reason", "test", operator="cron")
    cli.ok("cycle", "close", operator="cron", now="2026-12-01T01:00:00Z")
    assert cli("doctor", now="2026-12-01T01:00:00Z").code == 0


@pytest.mark.parametrize("who", ["mallory", "ALICE", " ", "vera2"])
def test_an_unknown_identity_is_refused(cli, who):
    before = _state(cli)
    for args in [("status",), ("doctor",), ("log",), ("assign", "acme", "bob@example.com", "base"),
                 ("operator", "add", "mallory", "--role", "owner"), ("init",)]:
        result = cli(*args, operator=who)
        assert result.code == 5, (who, args, result.code, result.err)
        assert "not a registered operator" in one_error_line(result.err, result.out)
        assert result.out == ""
    assert _state(cli) == before


@pytest.mark.parametrize("who", ["cron", "olivia", "vera"])
def test_init_on_an_existing_ledger_needs_the_owner(cli, who):
    before = _state(cli)
    _denied(cli("init", "--currency", "USD", operator=who), "owner")
    assert _state(cli) == before
    result = cli("init", "--format", "json", operator="alice")
    assert result.code == 0, result.err
    assert result.json()["status"] == "up to date"
    assert _state(cli) == before  # an owner's init of an up-to-date ledger registers nobody


@pytest.mark.parametrize("who", ["cron", "olivia", "vera"])
@pytest.mark.parametrize("role", ["viewer", "owner"])
def test_only_the_owner_adds_operators(cli, who, role):
    _denied(cli("operator", "add", "eve", "--role", role, operator=who), "owner")
    assert "eve" not in [o["name"] for o in cli.json("operator", "list")]
    _denied(cli("operator", "add", who, "--role", "owner", operator=who), "owner")  # no self-promotion
    assert {o["name"]: o["role"] for o in cli.json("operator", "list")}[who] != "owner"


def test_the_owner_adds_operators_and_a_new_owner_can_too(cli):
    cli.ok("operator", "add", "olga", "--role", "owner")
    cli.ok("operator", "add", "eve", "--role", "viewer", operator="olga")
    roles = {o["name"]: o["role"] for o in cli.json("operator", "list")}
    assert (roles["olga"], roles["eve"]) == ("owner", "viewer")
    assert cli("status", operator="eve").code == 0
    _denied(cli("user", "add", "acme", "x@example.com", operator="eve"), "operator")
    log = cli.json("log")
    assert [(e["operator"], e["details"].get("operator_name")) for e in log if e["action"] == "operator.add"][-2:] \
        == [("alice", "olga"), ("olga", "eve")]


def test_a_write_by_a_viewer_after_a_period_end_closes_nothing(cli):
    """The refused command does not run the automatic close either: it changes nothing at all."""
    before = _state(cli)
    _denied(cli("assign", "acme", "bob@example.com", "base", operator="vera", now="2026-12-05T00:00:00Z"), "operator")
    assert _state(cli) == before
