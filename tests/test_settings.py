"""Ledger settings (SPEC §10): `settings show|set`, their roles and bad input, values that apply to
invoices written after them, the currency frozen by the first invoice, and config keys that are
ledger settings now."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatctl.errors import UsageError
from seatctl.ops.settings import parse_prefix, parse_tax_rate

NOV_16 = "2026-11-16T10:00:00Z"
NOV_20 = "2026-11-20T10:00:00Z"
NOV_21 = "2026-11-21T10:00:00Z"
DEFAULTS = [{"key": "currency", "value": "EUR"}, {"key": "timezone", "value": "UTC"},
            {"key": "tax_rate", "value": "0"}, {"key": "invoice_prefix", "value": "INV-"}]


def settings(cli):
    return cli.json("settings", "show", operator="vera")


def setting_events(cli):
    return [e for e in cli.json("log") if e["action"] == "settings.set"]


def test_settings_show_lists_the_four_settings_to_a_viewer(ledger):
    assert settings(ledger) == DEFAULTS
    plain = ledger.ok("settings", "show", "--format", "plain", operator="vera").out.splitlines()
    assert plain[1:] == ["currency        EUR", "timezone        UTC", "tax_rate        0", "invoice_prefix  INV-"]


def test_a_new_tax_rate_applies_to_invoices_written_after_it(acme):
    before = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16)
    first = acme.json("invoice", "show", before["invoice"])
    changed = acme.json("settings", "set", "tax_rate", "21", now=NOV_20, operator="cron")
    assert changed == {"key": "tax_rate", "value": "21", "previous": "0", "changed": True}
    after = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_21)
    shown = acme.json("invoice", "show", after["invoice"])
    assert (shown["subtotal"], shown["tax"], shown["total"]) == ("10.00", "2.10", "12.10")
    assert [(line["licence"], line["description"], line["amount"]) for line in shown["lines"]][1] == \
        (None, "Tax 21%", "2.10")
    assert acme.json("invoice", "show", before["invoice"]) == first  # the earlier invoice is as written
    assert (first["tax"], first["total"]) == ("0.00", "15.00")
    [event] = setting_events(acme)
    assert (event["operator"], event["at"]) == ("cron", NOV_20)
    assert event["details"] == {"key": "tax_rate", "value": "21", "previous": "0"}


def test_a_tax_rate_of_zero_writes_no_tax_line_again(acme):
    acme.ok("settings", "set", "tax_rate", "8.875")
    assert settings(acme)[2] == {"key": "tax_rate", "value": "8.875"}
    acme.ok("settings", "set", "tax_rate", "0.000")
    out = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16)
    shown = acme.json("invoice", "show", out["invoice"])
    assert [line["licence"] for line in shown["lines"]] == ["base"]
    assert settings(acme)[2] == {"key": "tax_rate", "value": "0"}


def test_a_new_invoice_prefix_numbers_the_next_invoices_in_its_own_series(acme):
    first = acme.json("buy", "acme", "base", "1", "--yes", now=NOV_16)["invoice"]
    acme.ok("settings", "set", "invoice_prefix", "AC/", now=NOV_20)
    second = acme.json("buy", "acme", "voip", "1", "--yes", now=NOV_21)["invoice"]
    acme.ok("settings", "set", "invoice_prefix", "INV-", now=NOV_21)
    third = acme.json("buy", "acme", "gsm", "1", "--yes", now=NOV_21)["invoice"]
    credit = acme.json("invoice", "void", second, "--reason", "test", now=NOV_21)["number"]
    assert (first, second, third, credit) == ("INV-2026-000001", "AC/2026-000001", "INV-2026-000002",
                                              "CN-2026-000001")
    assert [i["number"] for i in acme.json("invoice", "list")] == sorted([first, second, third, credit])
    assert acme.ok("doctor").code == 0  # every series gapless


def test_the_ledger_timezone_is_the_default_of_new_accounts_only(acme):
    acme.ok("settings", "set", "timezone", "Europe/Madrid", operator="cron")
    acme.ok("account", "add", "bravo", "--name", "Bravo")
    assert acme.json("account", "show", "bravo")["timezone"] == "Europe/Madrid"
    assert acme.json("account", "show", "acme")["timezone"] == "UTC"


def test_the_currency_can_change_before_the_first_invoice_with_its_minor_unit(acme):
    out = acme.json("settings", "set", "currency", "jpy")
    assert (out["value"], out["previous"]) == ("JPY", "EUR")
    bought = acme.json("buy", "acme", "voip", "1", "--yes", now=NOV_16)  # 5.35 × 15/30 = 2.675
    assert bought["total"] == "3"
    shown = acme.json("invoice", "show", bought["invoice"])
    assert (shown["lines"][0]["amount"], shown["total"]) == ("3", "3")
    assert acme.json("invoice", "list")[0]["total"] == "3"


def test_the_currency_is_frozen_once_an_invoice_exists(acme):
    acme.ok("buy", "acme", "base", "1", "--yes", now=NOV_16)
    events = len(acme.json("log"))
    result = acme("settings", "set", "currency", "USD", now=NOV_16)
    assert result.code == 4
    assert result.err == ("error: the currency cannot change once invoices exist (1 in EUR). "
                          "Start a new ledger for another currency\n")
    assert settings(acme) == DEFAULTS
    assert len(acme.json("log")) == events


def test_a_pending_order_freezes_the_currency_too(acme):
    assert acme.json("buy", "acme", "base", "1", "--yes", operator="olivia")["status"] == "pending"
    result = acme("settings", "set", "currency", "USD")
    assert result.code == 4 and "once orders exist (1 quoted in EUR)" in result.err


def test_setting_the_value_a_setting_has_is_a_no_op(acme):
    acme.ok("buy", "acme", "base", "1", "--yes", now=NOV_16)
    out = acme.json("settings", "set", "currency", "eur", now=NOV_16)  # the same currency: not a change
    assert out == {"key": "currency", "value": "EUR", "previous": "EUR", "changed": False}
    assert acme.json("settings", "set", "tax_rate", "0", now=NOV_16)["changed"] is False
    assert setting_events(acme) == []


@pytest.mark.parametrize(("operator", "key", "value", "code"), [
    ("vera", "tax_rate", "21", 5),          # viewer
    ("olivia", "invoice_prefix", "X-", 5),  # operator
    ("cron", "currency", "USD", 5),         # billing: currency needs owner
    ("cron", "timezone", "Europe/Paris", 0),
    ("alice", "currency", "USD", 0),
])
def test_who_may_change_which_setting(ledger, operator, key, value, code):
    result = ledger("settings", "set", key, value, operator=operator)
    assert result.code == code, result.err
    if code:
        needed = "owner" if key == "currency" else "billing"
        assert result.err.startswith(f"error: operator '{operator}' ")
        assert f"It needs the '{needed}' role" in result.err
        assert settings(ledger) == DEFAULTS
    else:
        assert {"key": key, "value": value} in settings(ledger)


BAD = [
    ("tax_rate", "abc"), ("tax_rate", "-5"), ("tax_rate", "101"), ("tax_rate", "100.0001"), ("tax_rate", "21%"),
    ("tax_rate", "1e1"), ("tax_rate", ""), ("tax_rate", "NaN"), ("tax_rate", "12.34567"), ("tax_rate", "２１"),
    ("invoice_prefix", "INV 1"), ("invoice_prefix", "INV#"), ("invoice_prefix", "FACTURÉ-"), ("invoice_prefix", ""),
    ("invoice_prefix", "-INV"), ("invoice_prefix", "A" * 21), ("invoice_prefix", "INV-\n"), ("invoice_prefix", "cn-"),
    ("invoice_prefix", "=HYPERLINK()"),
    ("currency", "XYZ"), ("currency", "euro"), ("currency", ""),
    ("timezone", "Mars/Olympus"), ("timezone", ""), ("timezone", "../../etc/passwd"),
]


def test_bad_values_are_exit_2_and_write_nothing(ledger):
    events = len(ledger.json("log"))
    for key, value in BAD:
        result = ledger("settings", "set", key, value, operator="vera")  # usage comes before permission
        assert result.code == 2, (key, value, result.err)
        assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
        assert "Traceback" not in result.err
    assert settings(ledger) == DEFAULTS
    assert len(ledger.json("log")) == events


def test_an_unknown_key_is_exit_2_and_lists_the_keys(ledger):
    result = ledger("settings", "set", "minor_digits", "0")
    assert result.code == 2
    assert result.err == ("error: unknown setting 'minor_digits'. "
                          "Settings: currency, timezone, tax_rate, invoice_prefix\n")


def test_settings_on_a_missing_ledger_is_exit_3(cli):
    assert cli("settings", "show").code == 3
    assert cli("settings", "set", "tax_rate", "abc").code == 2  # bad input first, as everywhere


# --- the config file keeps per-machine keys ---------------------------------------------------

def test_old_config_keys_are_ignored_with_a_one_line_warning(acme, tmp_path):
    (tmp_path / "seatctl.toml").write_text('tax_rate = 21\ninvoice_prefix = "OLD-"\nbusy_timeout = 5\n',
                                           encoding="utf-8")
    result = acme.ok("buy", "acme", "base", "1", "--yes", "--format", "json", now=NOV_16)
    assert result.err == ("warning: config 'seatctl.toml': tax_rate, invoice_prefix ignored "
                          "(ledger settings now: seatctl settings show); remove them from the file\n")
    shown = acme.json("invoice", "show", result.json()["invoice"])
    assert (shown["number"], shown["tax"], shown["total"]) == ("INV-2026-000001", "0.00", "15.00")


def test_the_config_format_is_the_default_format(ledger, tmp_path):
    (tmp_path / "seatctl.toml").write_text('format = "json"\n', encoding="utf-8")
    import json

    assert json.loads(ledger.ok("settings", "show").out) == DEFAULTS
    assert ledger.ok("settings", "show", "--format", "csv").out.splitlines()[0] == "key,value"
    (tmp_path / "seatctl.toml").write_text('format = "yaml"\n', encoding="utf-8")
    result = ledger("settings", "show")
    assert result.code == 2
    assert result.err.startswith("error: format 'yaml' in config ")


# --- the value rules, over many inputs --------------------------------------------------------

@given(st.text(max_size=12))
def test_an_accepted_tax_rate_is_a_percentage_from_0_to_100_equal_to_its_text(text):
    try:
        stored = parse_tax_rate(text)
    except UsageError:
        return
    assert Decimal(stored) == Decimal(text.strip())
    assert 0 <= Decimal(stored) <= 100
    assert parse_tax_rate(stored) == stored  # stored text is canonical


@given(st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False))
def test_every_percentage_with_up_to_4_decimals_is_accepted(rate):
    assert Decimal(parse_tax_rate(f"{rate:f}")) == rate


@given(st.text(max_size=24))
def test_an_accepted_prefix_only_has_invoice_number_characters(text):
    try:
        prefix = parse_prefix(text)
    except UsageError:
        return
    assert prefix == text and 1 <= len(prefix) <= 20 and prefix[0].isascii() and prefix[0].isalpha()
    assert all(ch.isascii() and (ch.isalnum() or ch in "-/_") for ch in prefix)
    assert prefix.upper() != "CN-"


def test_the_reserved_prefix_is_the_credit_notes_series():
    from seatctl.ops import invoices, settings

    assert settings.CREDIT_SERIES == invoices.CREDIT_SERIES


def test_init_of_a_new_ledger_takes_the_old_config_keys_once(cli, tmp_path):
    (tmp_path / "seatctl.toml").write_text('currency = "USD"\ntimezone = "America/New_York"\ntax_rate = 7.25\n'
                                           'invoice_prefix = "US-"\n', encoding="utf-8")
    result = cli.ok("init", "--timezone", "Europe/Madrid", "--format", "json")
    assert result.json()["copied"] == {"currency": "USD", "tax_rate": "7.25", "invoice_prefix": "US-"}
    assert result.err == ("warning: config 'seatctl.toml': timezone ignored (ledger settings now: "
                          "seatctl settings show); remove them from the file\n")  # --timezone won
    assert cli.json("settings", "show") == [
        {"key": "currency", "value": "USD"}, {"key": "timezone", "value": "Europe/Madrid"},
        {"key": "tax_rate", "value": "7.25"}, {"key": "invoice_prefix", "value": "US-"}]
    again = cli.ok("init", "--format", "json")
    assert (again.json()["status"], again.json()["copied"]) == ("up to date", {})
    assert again.err.startswith("warning: config 'seatctl.toml': currency, timezone, tax_rate, invoice_prefix ignored")


def test_the_example_config_has_only_per_machine_keys():
    from pathlib import Path

    from seatctl import config

    example = config.load(str(Path(__file__).parent.parent / "seatctl.toml.example"))
    assert (example.legacy, example.busy_timeout, example.format) == ({}, 10.0, None)
    assert set(example.raw) <= config.KEYS
