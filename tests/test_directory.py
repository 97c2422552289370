"""Reading directory exports (rules/directory.py, pure): profiles from the config, rows, e-mails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatctl.errors import UsageError
from seatctl.rules.directory import NATIVE, _Emails, parse_export, profile_from_config
from seatctl.rules.emails import normalize_email

PROFILES = {
    "hr": {"email": "Mail", "name": ["Given", "Family"], "licences": "Apps", "separator": "|", "delimiter": ";",
           "inactive_when": {"State": ["Left", "On leave"]}, "licence_map": {"CRM": "base", "PBX": "voip"},
           "ignore": ["none"]},
}


def test_a_profile_reads_its_columns_delimiter_separator_map_and_blocked_values():
    profile = profile_from_config("hr", PROFILES)
    data = ("\ufeffMail;Given;Family;Apps;State\r\n"
            "ana@example.com;Ana;Ruiz;acme:CRM|acme:PBX|acme:BI;Active\r\n"
            "bo@example.com;Bo;;none;On Leave\r\n").encode()
    export = parse_export(data, profile, source="hr.csv")
    assert [(w.email, w.name, w.licences, w.active) for w in export.rows] == [
        ("ana@example.com", "Ana Ruiz", ("base", "voip"), True), ("bo@example.com", "Bo", (), False)]
    assert (export.unmapped, export.manages_licences, export.profile) == (1, True, "hr")


@pytest.mark.parametrize(("table", "message"), [
    ({"email": "Mail", "colour": "x"}, "unknown key 'colour'"),
    ({"name": "Name"}, "names no email column"),
    ({"email": "Mail", "inactive_when": "yes"}, "inactive_when must be a table"),
    ({"email": "Mail", "licence_map": {"CRM": 3}}, "licence_map must map"),
    ({"email": "Mail", "delimiter": ";;"}, "delimiter must be one character"),
    ({"email": ""}, "must be a column name"),
])
def test_a_malformed_profile_is_a_usage_error(table, message):
    with pytest.raises(UsageError, match=message):
        profile_from_config("p", {"p": table})


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(UsageError, match="unknown profile 'okta'") as err:
        profile_from_config("okta", PROFILES, "'seatctl.toml'")
    assert err.value.hint == "Profiles in 'seatctl.toml': hr"


@pytest.mark.parametrize("data", [
    b"email,licences\nana@example.com,base\n",
    b"\xef\xbb\xbfemail,licences\r\nana@example.com,base\r\n",
    b"Email , Licences\r\n\r\nana@example.com,\"base\"\r\n\r\n",
])
def test_bom_crlf_blank_lines_and_header_case_read_alike(data):
    export = parse_export(data, NATIVE)
    assert [(w.row, w.email, w.licences) for w in export.rows] in ([(2, "ana@example.com", ("base",))],
                                                                   [(3, "ana@example.com", ("base",))])


def test_not_utf8_is_a_usage_error():
    with pytest.raises(UsageError, match="not UTF-8"):
        parse_export("email\nané@example.com\n".encode("latin-1"), NATIVE)


local = st.text(alphabet="abcAZ09.-_+!#$%&'*/=?^`{|}~é\" ", min_size=0, max_size=70)
label = st.text(alphabet="abZ09-é_", min_size=0, max_size=8)
tld = st.sampled_from(["com", "local", "test", "internal", "c", "co", "x1", "123", "example", "invalid", "org"])


@settings(max_examples=3000, deadline=None)
@given(local, st.lists(label, max_size=3), tld)
def test_the_fast_email_check_agrees_with_email_validator(local_part, labels, top):
    """Plain addresses skip email-validator (it checks each domain once): same verdict, same key."""
    text = local_part + "@" + ".".join([*labels, top])
    try:
        fast: str | None = _Emails()(text, "")
    except UsageError:
        fast = None
    try:
        full: str | None = normalize_email(text).lower()
    except UsageError:
        full = None
    assert fast == full
