"""Issue 14, input hardening (SPEC §8 bounds, input files, error order): e-mail domains, prices as
plain decimal text, bounds on quantities, the order of errors, CSV rows with control characters,
an import's audit trail and progress bar."""

from __future__ import annotations

import pytest
from support import one_error_line

NOW = "2026-11-16T10:00:00Z"


@pytest.fixture
def acme(acme):
    """acme (monthly from 1 Nov) with user ana and one base seat; the clock at 16 Nov."""
    acme.now = NOW
    acme.ok("user", "add", "acme", "ana@example.com")
    acme.ok("buy", "acme", "base", "1", "--yes")
    return acme


def emails(cli, slug="acme"):
    return [u["email"] for u in cli.json("user", "list", slug)]


# 1. Internal and special-use domains are e-mail domains like any other.

SPECIAL = ["ana@corp.local", "bo@lab.internal", "cy@x.test", "di@sub.corp.local", "ed@host.localhost",
           "fa@x.onion", "gi@x.invalid", "ha@in-addr.arpa"]


@pytest.mark.parametrize("email", SPECIAL)
def test_special_use_domains_are_accepted_by_user_add(acme, email):
    acme.ok("user", "add", "acme", email)
    assert email in emails(acme)


def test_special_use_domains_are_accepted_by_import_and_sync(acme):
    users = acme.folder / "users.csv"
    users.write_text("email\nana@corp.local\nbo@lab.internal\n")
    acme.ok("user", "import", "acme", str(users))
    export = acme.folder / "directory.csv"
    export.write_text("email,licences\nana@example.com,base\ncy@x.test,\nana@corp.local,\n")
    acme.ok("sync", "acme", str(export))
    assert emails(acme) == ["ana@corp.local", "ana@example.com", "bo@lab.internal", "cy@x.test"]


@pytest.mark.parametrize("email", ["ana@local", "ana@corp", "ana@localhost", "ana@test", "ana@corp.123"])
def test_the_shape_local_at_domain_dot_tld_is_still_required(acme, email):
    result = acme("user", "add", "acme", email)
    assert result.code == 2
    one_error_line(result.err, result.out)
    assert emails(acme) == ["ana@example.com"]


# 4. When several errors apply, the first in this order wins: usage (2), permission (5), not found (3),
#    rule (4).

def test_an_unknown_user_or_licence_in_a_suspended_account_is_not_found(acme):
    acme.ok("account", "suspend", "acme")
    for args in [("assign", "acme", "nobody@x.example", "base"), ("assign", "acme", "ana@example.com", "nope"),
                 ("assign", "acme", "ana@example.com", "base", "nope")]:
        result = acme(*args)
        assert result.code == 3, (args, result.err)
        one_error_line(result.err, result.out)
    assert acme("assign", "acme", "ana@example.com", "base").code == 4  # the rule, once every name is known


def test_an_unknown_licence_for_an_inactive_user_is_not_found(acme):
    acme.ok("user", "add", "acme", "bo@example.com")
    acme.ok("user", "deactivate", "acme", "bo@example.com")
    assert acme("assign", "acme", "bo@example.com", "nope").code == 3
    assert acme("assign", "acme", "bo@example.com", "base").code == 4
    pairs = acme.folder / "pairs.csv"
    pairs.write_text("email,licence\nbo@example.com,base\nnobody@example.com,base\n")
    assert acme("assign", "acme", "--from-csv", str(pairs)).code == 3


@pytest.mark.parametrize("args", [
    ("assign", "acme", "nobody@x.example", "base"),
    ("assign", "acme", "ana@example.com", "nope"),
    ("release", "acme", "nobody@x.example", "base"),
    ("release", "acme", "ana@example.com", "nope"),
    ("buy", "acme", "nope", "1", "--yes"),
    ("buy", "acme", "nope", "1", "--quote"),
    ("user", "deactivate", "acme", "nobody@x.example"),
    ("user", "activate", "acme", "nobody@x.example"),
    ("account", "set-min", "acme", "nope=1"),
    ("account", "set-plan", "acme", "nope"),
    ("usage", "record", "acme", "nope", "1"),
    ("waitlist", "cancel", "acme", "nobody@x.example", "base"),
])
def test_an_unknown_name_in_a_closed_account_is_not_found(acme, args):
    acme.ok("account", "close", "acme")
    result = acme(*args)
    assert result.code == 3, result.err
    one_error_line(result.err, result.out)


def test_a_known_name_in_a_closed_account_is_refused(acme):
    acme.ok("account", "close", "acme")
    for args in [("assign", "acme", "ana@example.com", "base"), ("release", "acme", "ana@example.com", "base"),
                 ("buy", "acme", "base", "1", "--yes"), ("user", "deactivate", "acme", "ana@example.com"),
                 ("account", "set-min", "acme", "base=1")]:
        assert acme(*args).code == 4, args


@pytest.mark.parametrize("args", [
    ("buy", "acme", "base", "0", "--yes"),
    ("buy", "acme", "base", "--yes", "--", "-1"),
    ("buy", "acme", "base", "2000000", "--yes"),
    ("buy", "nope", "base", "0", "--yes"),
    ("buy", "acme", "base", "1"),  # piped without --yes
    ("user", "deactivate", "acme", "not-an-e-mail"),
    ("user", "deactivate", "nope", "not-an-e-mail"),
    ("account", "set-min", "acme", "base=-1"),
    ("account", "set-min", "nope", "base=x"),
    ("usage", "record", "acme", "sms", "--", "-1"),
])
def test_a_usage_error_wins_over_permission_and_not_found(acme, args):
    result = acme(*args, operator="vera")  # a viewer
    assert result.code == 2, result.err
    one_error_line(result.err, result.out)


@pytest.mark.parametrize("args", [
    ("assign", "nope", "ana@example.com", "base"),
    ("buy", "nope", "base", "1", "--yes"),
    ("user", "deactivate", "nope", "ana@example.com"),
])
def test_permission_wins_over_not_found(acme, args):
    assert acme(*args, operator="vera").code == 5
