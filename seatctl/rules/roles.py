"""Operators' roles (viewer < operator < billing < owner) and who is acting."""

from __future__ import annotations

from dataclasses import dataclass

from seatctl.errors import PermissionDenied

ROLES = ("viewer", "operator", "billing", "owner")

@dataclass(frozen=True)
class Actor:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def require(self, role: str, doing: str) -> None:
        if not self.can(role):
            raise PermissionDenied(
                f"operator '{self.name}' ({self.role}) may not {doing}",
                f"It needs the '{role}' role: seatctl operator add {self.name} --role {role}",
            )


SYSTEM = Actor("seatctl", "owner")  # for bookkeeping done on the ledger's behalf
