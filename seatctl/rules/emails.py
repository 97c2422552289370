"""People in input: e-mail addresses, user roles, user rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from seatctl.errors import UsageError
from seatctl.rules.names import clean_name

ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


DEFAULT_ROLE = "member"


def normalize_email(text: str, where: str = "") -> str:
    """`local@domain.tld`, checked by email-validator (no DNS look-up); stored lower-case.

    Special-use and internal domains (`corp.local`, `lab.internal`, `x.test`) are e-mail domains like
    any other (SPEC §8: company directories use them): email-validator's documented list of refused
    special-use names is emptied. Its other checks stay, the shape `local@domain.tld` included (a
    domain needs a dot and a top-level label ending in a letter)."""
    import email_validator
    from email_validator import EmailNotValidError, validate_email

    email_validator.SPECIAL_USE_DOMAIN_NAMES = []
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise UsageError(f"{where}'{text}' is not an e-mail address ({exc})", "Write it as local@domain.tld") from None
    return result.normalized.lower()


SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def email_key(text: str, where: str = "") -> str:
    """An e-mail that names an existing user: checked for shape only (users were validated when
    added), lower-cased like the stored ones. Cheap enough for files of many thousand rows."""
    key = text.strip().lower()
    if not SHAPE.match(key):
        raise UsageError(f"{where}'{text}' is not an e-mail address", "Write it as local@domain.tld")
    return key


def check_role(role: str | None, where: str = "") -> str:
    if role is None or not role.strip():
        return DEFAULT_ROLE
    role = role.strip().lower()
    if not ROLE.match(role):
        raise UsageError(f"{where}role '{role}' is not valid", "Use a word like admin, agent or member")
    return role


@dataclass(frozen=True)
class UserRow:
    email: str
    name: str | None
    role: str


def parse_user_rows(rows: list[dict[str, str]]) -> list[UserRow]:
    seen: dict[str, str] = {}
    out = []
    for row in rows:
        where = f"row {row['_row']}: "
        email = normalize_email(row.get("email", ""), where)
        if email in seen:
            raise UsageError(f"{where}'{email}' repeats row {seen[email]}", "Keep one row per user")
        seen[email] = row["_row"]
        out.append(UserRow(email, clean_name(row.get("name")), check_role(row.get("role"), where)))
    return out
