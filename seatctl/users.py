"""Users of an account: e-mail validation, CSV rows, listings."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from seatctl.errors import NotFound, UsageError
from seatctl.models import Account, Assignment, Licence, User
from seatctl.names import clean_name

ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
DEFAULT_ROLE = "member"


def normalize_email(text: str, where: str = "") -> str:
    """`local@domain.tld`, checked by email-validator (no DNS look-up); stored lower-case."""
    from email_validator import EmailNotValidError, validate_email

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


def find_user(session: Session, account: Account, email: str) -> User:
    key = email.strip().lower()
    user = session.exec(select(User).where(User.account_id == account.id, User.email == key)).first()
    if user is None:
        raise NotFound(f"no user '{email}' in account '{account.slug}'", f"See: seatctl user list {account.slug}")
    return user


@dataclass(frozen=True)
class UserRow:
    email: str
    name: str | None
    role: str


def read_csv(path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Rows of a CSV whose header must hold `required` columns; numbered from 2 (line 1 is the header)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFound(f"no file '{path}'", "Check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read '{path}': {exc}", "Save it as UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise UsageError(f"'{path}' has no '{missing[0]}' column",
                         f"The header must be: {','.join(required + optional)}")
    unknown = [h for h in header if h not in required + optional]
    if unknown:
        raise UsageError(f"'{path}' has an unknown column '{unknown[0]}'",
                         f"The header must be: {','.join(required + optional)}")
    rows = []
    for number, raw in enumerate(reader, 2):
        if None in raw:
            raise UsageError(f"row {number} of '{path}' has more fields than the header", "Fix that row")
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        row["_row"] = str(number)
        rows.append(row)
    return rows


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


def user_rows(session: Session, account: Account, *, role: str | None = None,
              status: str | None = None) -> list[dict[str, object]]:
    """`report users` / `user list`: email, name, role, status, licences held now, since."""
    query = select(User).where(User.account_id == account.id)
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    held: dict[int, list[str]] = {}
    for user_id, code in session.exec(
        select(Assignment.user_id, Licence.code).join(Licence, Licence.id == Assignment.licence_id).where(
            Assignment.account_id == account.id, col(Assignment.released_at).is_(None)
        ).order_by(Licence.code)
    ).all():
        held.setdefault(user_id, []).append(code)
    return [
        {"email": u.email, "name": u.name, "role": u.role, "status": u.status,
         "licences": held.get(u.id or 0, []), "since": u.created_at.date().isoformat()}
        for u in session.exec(query.order_by(User.email)).all()
    ]
