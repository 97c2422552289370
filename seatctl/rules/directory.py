"""Directory exports (SPEC §9): the users an account should have, one row per user, read from a CSV
through a profile. Pure: no database; licence codes are checked against the catalogue by ops/sync.

Native columns are `email` (required), `name`, `role`, `licences` and `status`. A profile (a
`[profiles.NAME]` table of the config file) maps another export's columns onto them:

    [profiles.m365]
    email = "User principal name"
    name = "Display name"                 # or a list of columns joined by a space
    licences = "Licenses"
    separator = "+"
    inactive_when = { "Block credential" = "True" }
    ignore = ["Unlicensed"]               # values that mean "no licence": neither mapped nor counted
    [profiles.m365.licence_map]
    ENTERPRISEPACK = "base"               # the export's value after its last ':' -> a licence code

A file without a licences column (or a profile without `licences`) manages users only: seats are
left alone. A licences cell that is present but empty means "no seats".
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from seatctl.errors import NotFound, UsageError
from seatctl.rules.emails import DEFAULT_ROLE, check_role, normalize_email
from seatctl.rules.names import MAX_LENGTH, clean_name

NATIVE_COLUMNS = ("email", "name", "role", "licences", "status")
PROFILE_KEYS = ("email", "name", "role", "licences", "status", "separator", "delimiter", "inactive_when",
                "licence_map", "ignore")
NATIVE_SPLIT = re.compile(r"[;+,\s]+")  # native licences: ';', '+', ',' (inside quotes) or spaces


@dataclass(frozen=True)
class Profile:
    """How to read one kind of export. `name` None is the native layout."""

    name: str | None
    email: str
    names: tuple[str, ...] = ()  # columns joined by a space make the user's name
    role: str | None = None
    licences: str | None = None
    status: str | None = None  # a column holding active/inactive
    separator: str | None = None  # None: the native separators
    delimiter: str = ","
    inactive_when: tuple[tuple[str, frozenset[str]], ...] = ()  # (column, values meaning blocked)
    licence_map: Mapping[str, str] | None = None  # None: the values are licence codes
    ignore: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"profile '{self.name}'" if self.name else "the native columns"

    def columns(self) -> list[str]:
        """Every column this profile reads, in the order an error should name them."""
        out = [self.email, *self.names]
        out += [c for c in (self.role, self.licences, self.status) if c]
        out += [c for c, _ in self.inactive_when]
        return out


NATIVE = Profile(None, "email", ("name",), "role", "licences", "status")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where} must be a column name (text)", "See seatctl.toml.example")
    return value.strip()


def _texts(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (_text(value, where),)
    if isinstance(value, list) and value:
        return tuple(_text(v, where) for v in value)
    raise UsageError(f"{where} must be a column name or a list of them", "See seatctl.toml.example")


def profile_from_config(name: str, profiles: Any, source: str = "the config file") -> Profile:
    """The profile NAME from the config's `profiles` table; unknown or malformed: exit 2."""
    known = sorted(profiles) if isinstance(profiles, dict) else []
    if name not in known:
        hint = f"Profiles in {source}: {', '.join(known)}" if known else \
            "Define it as a [profiles.NAME] table in seatctl.toml (see seatctl.toml.example)"
        raise UsageError(f"unknown profile '{name}'", hint)
    table = profiles[name]
    where = f"profile '{name}'"
    if not isinstance(table, dict):
        raise UsageError(f"{where} in {source} is not a table", f"Write it as [profiles.{name}]")
    unknown = sorted(set(table) - set(PROFILE_KEYS))
    if unknown:
        raise UsageError(f"{where} has an unknown key '{unknown[0]}'", f"Known keys: {', '.join(PROFILE_KEYS)}")
    if "email" not in table:
        raise UsageError(f"{where} names no email column", 'Add e.g. email = "User principal name"')
    separator = table.get("separator")
    if separator is not None and (not isinstance(separator, str) or not separator):
        raise UsageError(f"{where}: separator must be a non-empty text", 'e.g. separator = "+"')
    delimiter = table.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise UsageError(f"{where}: delimiter must be one character", 'e.g. delimiter = ";"')
    inactive: list[tuple[str, frozenset[str]]] = []
    when = table.get("inactive_when", {})
    if not isinstance(when, dict):
        raise UsageError(f"{where}: inactive_when must be a table", 'e.g. inactive_when = { "Block credential" = "True" }')
    for column, values in when.items():
        if isinstance(values, str | bool):
            values = [values]
        if not isinstance(values, list) or not values:
            raise UsageError(f"{where}: inactive_when '{column}' must be a value or a list of values",
                             'e.g. inactive_when = { "Status [READ ONLY]" = ["Suspended", "Archived"] }')
        inactive.append((_text(column, f"{where}: inactive_when"), frozenset(_fold(str(v)) for v in values)))
    mapping = table.get("licence_map")
    if mapping is not None:
        if not isinstance(mapping, dict) or not all(isinstance(v, str) and v for v in mapping.values()):
            raise UsageError(f"{where}: licence_map must map export values to licence codes",
                             'e.g. [profiles.m365.licence_map] ENTERPRISEPACK = "base"')
        mapping = {str(k).strip(): v.strip() for k, v in mapping.items()}
    ignore = table.get("ignore", [])
    if isinstance(ignore, str):
        ignore = [ignore]
    if not isinstance(ignore, list) or not all(isinstance(v, str) for v in ignore):
        raise UsageError(f"{where}: ignore must be a list of values", 'e.g. ignore = ["Unlicensed"]')
    return Profile(
        name=name, email=_text(table["email"], f"{where}: email"),
        names=_texts(table["name"], f"{where}: name") if "name" in table else (),
        role=_text(table["role"], f"{where}: role") if "role" in table else None,
        licences=_text(table["licences"], f"{where}: licences") if "licences" in table else None,
        status=_text(table["status"], f"{where}: status") if "status" in table else None,
        separator=separator, delimiter=delimiter, inactive_when=tuple(inactive), licence_map=mapping,
        ignore=frozenset(v.strip() for v in ignore),
    )


class Wanted(NamedTuple):
    """One row of the export: a user as the directory says they should be."""

    row: int
    email: str
    name: str | None  # None: not given (left as it is)
    role: str | None  # None: not given (left as it is; `member` for a new user)
    licences: tuple[str, ...]  # licence codes, each once, in the file's order
    active: bool


@dataclass
class Export:
    source: str
    sha256: str
    rows: list[Wanted]
    manages_licences: bool  # False when the file has no licences column: seats are left alone
    unmapped: int = 0  # licence values with no mapping, ignored
    code_rows: dict[str, int] = field(default_factory=dict)  # each licence code -> the first row naming it
    profile: str | None = None


def _fold(text: str) -> str:
    return text.strip().casefold()


def read_export(path: str, profile: Profile = NATIVE) -> Export:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no file '{path}'", "Check the path") from None
    except IsADirectoryError:
        raise UsageError(f"'{path}' is a folder, not a file", "Give the export's CSV file") from None
    except OSError as exc:
        raise UsageError(f"cannot read '{path}': {exc.strerror or exc}", "Check the file and its permissions") from None
    return parse_export(data, profile, source=path)


# An ASCII address whose local part is a dot-atom: email-validator accepts it exactly when it accepts
# its domain (and the lengths fit), and normalises it to itself in lower case. Checking each domain
# once keeps a 100,000-row file fast; anything else goes through email-validator whole.
_PLAIN = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([a-z0-9.-]+)")


class _Emails:
    def __init__(self) -> None:
        self.domains: dict[str, bool] = {}

    def __call__(self, text: str, where: str) -> str:
        key = text.strip().lower()
        match = _PLAIN.fullmatch(key)
        if match and len(key) <= 254 and key.index("@") <= 64:
            domain = match.group(1)
            ok = self.domains.get(domain)
            if ok is None:
                try:
                    ok = normalize_email("x@" + domain) == "x@" + domain
                except UsageError:
                    ok = False
                self.domains[domain] = ok
            if ok:
                return key
        return normalize_email(text, where)  # the full check, and its precise message


def parse_export(data: bytes, profile: Profile = NATIVE, *, source: str = "the file") -> Export:
    """The export's rows; one bad row refuses the whole file (exit 2), naming it."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"'{source}' is not UTF-8 text (byte {exc.start})", "Save the export as UTF-8 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=profile.delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UsageError(f"row 1 of '{source}' is not valid CSV ({exc})", "Fix the header") from None
    if not header or not any(h.strip() for h in header):
        raise UsageError(f"'{source}' has no header", f"The first row names the columns, e.g. {','.join(NATIVE_COLUMNS)}")
    index = _header_index(header, profile, source)
    at = index.__getitem__
    email_i = at(profile.email)
    name_is = [at(c) for c in profile.names if c in index]
    role_i = index.get(profile.role) if profile.role else None
    lic_i = index.get(profile.licences) if profile.licences else None
    status_i = index.get(profile.status) if profile.status else None
    blocked = [(at(c), values) for c, values in profile.inactive_when]
    width = len(header)
    emails = _Emails()
    seen: dict[str, int] = {}
    rows: list[Wanted] = []
    code_rows: dict[str, int] = {}
    unmapped = 0
    split = NATIVE_SPLIT.split if profile.separator is None else None
    mapping, ignore, separator = profile.licence_map, profile.ignore, profile.separator
    roles: dict[str, str] = {}  # a role as written -> as checked (a file has few)
    cells: dict[str, tuple[tuple[str, ...], int]] = {}  # a licences cell -> (codes, values unmapped)
    single_name = name_is[0] if len(name_is) == 1 else None
    number = 1
    try:
        for number, fields in enumerate(reader, 2):
            if len(fields) != width:
                if len(fields) > width:
                    if "".join(fields[width:]).strip():
                        raise UsageError(f"row {number} of '{source}' has more fields than the header",
                                         "Quote a value that holds the delimiter")
                    fields = fields[:width]
                else:
                    fields = fields + [""] * (width - len(fields))
            raw_email = fields[email_i].strip()
            if not raw_email:
                if not "".join(fields).strip():
                    continue  # a blank line
                raise UsageError(f"row {number} of '{source}' has no e-mail",
                                 f"Fill the '{profile.email}' column or remove the row")
            email = emails(raw_email, f"row {number}: ")
            first = seen.get(email)
            if first is not None:
                raise UsageError(f"row {number}: '{email}' repeats row {first}", "Keep one row per user")
            seen[email] = number
            name = None
            if name_is:
                joined = fields[single_name].strip() if single_name is not None else \
                    " ".join(p for p in (fields[i].strip() for i in name_is) if p)
                if joined.isprintable() and len(joined) <= MAX_LENGTH:
                    name = joined or None  # no control character can be in it (they are not printable)
                else:
                    try:
                        name = clean_name(joined)
                    except UsageError as err:
                        raise UsageError(f"row {number}: {err.what}", err.hint) from None
            role = None
            if role_i is not None:
                written = fields[role_i]
                role = roles.get(written)
                if role is None and written.strip():
                    role = roles[written] = check_role(written, f"row {number}: ")
            active = True
            if status_i is not None:
                value = _fold(fields[status_i])
                if value == "inactive":
                    active = False
                elif value and value != "active":
                    raise UsageError(f"row {number}: status '{fields[status_i].strip()}' is not active or inactive",
                                     "Write active or inactive (empty means active)")
            for i, values in blocked:
                if _fold(fields[i]) in values:
                    active = False
            codes: tuple[str, ...] = ()
            if lic_i is not None:
                cell = fields[lic_i]
                known = cells.get(cell)
                if known is None:
                    known = cells[cell] = _licences(cell, split, separator, mapping, ignore)
                    for code in known[0]:
                        code_rows.setdefault(code, number)
                codes = known[0]
                unmapped += known[1]
            rows.append(Wanted(number, email, name, role, codes, active))
    except csv.Error as exc:  # raised while reading the row after `number`
        raise UsageError(f"row {number + 1} of '{source}' is not valid CSV ({exc})",
                         "Close the quotes of that row's values") from None
    return Export(source, digest, rows, lic_i is not None, unmapped, code_rows, profile.name)


def _licences(cell: str, split: Any, separator: str | None, mapping: Mapping[str, str] | None,
              ignore: frozenset[str]) -> tuple[tuple[str, ...], int]:
    """One licences cell: (licence codes, each once in order; values with no mapping)."""
    codes: list[str] = []
    unmapped = 0
    tokens: Iterable[str] = split(cell) if split else cell.split(separator)
    for token in tokens:
        value = token.strip()
        if not value:
            continue
        if mapping is not None or separator is not None:
            value = value.rsplit(":", 1)[-1].strip()  # tenant:SKU -> SKU
            if not value or value in ignore:
                continue
        if mapping is not None:
            code = mapping.get(value)
            if code is None:
                unmapped += 1
                continue
        else:
            code = value
        if code not in codes:
            codes.append(code)
    return tuple(codes), unmapped


def _header_index(header: list[str], profile: Profile, source: str) -> dict[str, int]:
    """Column name -> position (matched without regard to case or surrounding blanks)."""
    folded: dict[str, int] = {}
    for i, raw in enumerate(header):
        key = _fold(raw)
        if key and key in folded:
            raise UsageError(f"'{source}' has the column '{raw.strip()}' twice", "Keep one column of each name")
        folded.setdefault(key, i)
    if profile.name is None:
        unknown = [h.strip() for h in header if h.strip() and _fold(h) not in NATIVE_COLUMNS]
        if unknown:
            raise UsageError(f"'{source}' has an unknown column '{unknown[0]}'",
                             f"Native columns are {','.join(NATIVE_COLUMNS)}; for another layout use --profile NAME")
    index: dict[str, int] = {}
    for column in profile.columns():
        position = folded.get(_fold(column))
        if position is not None:
            index[column] = position
        elif profile.name is not None or column == profile.email:
            raise UsageError(f"'{source}' has no column '{column}' ({profile.label} reads it)",
                             f"Export it with that column, or fix the profile: columns found: {_shown(header)}")
    return index


def _shown(header: list[str]) -> str:
    names = [h.strip() for h in header if h.strip()]
    return ", ".join(names[:8]) + (" …" if len(names) > 8 else "")


def default_role(role: str | None) -> str:
    return role or DEFAULT_ROLE
