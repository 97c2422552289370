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
