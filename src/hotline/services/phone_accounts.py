"""Agents' phone accounts as the store keeps them: digest HA1s and their realm.

The API turns a ``sip_password`` into these columns and forgets the password; the live
directory turns the columns back into the registrar's credentials. Both sides live here so
that the column names are spelled once. The hash is RFC 7616's HA1, as
``sip.auth.make_ha1s`` computes it; it is written out here because the API may not import
``sip/`` (a unit test keeps the two equal).
"""

from __future__ import annotations

import hashlib
from typing import Any

#: The digest algorithms an account is stored for (RFC 8760 names), as ``sip.auth.ALGORITHMS``.
_ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def make_ha1s(username: str, realm: str, password: str) -> dict[str, str]:
    """HA1 = H(username ":" realm ":" password) for MD5 and SHA-256."""
    data = f"{username}:{realm}:{password}".encode()
    return {name: digest(data).hexdigest() for name, digest in _ALGORITHMS.items()}


#: An agent without a phone account (its phone cannot register).
NO_PHONE_ACCOUNT: dict[str, Any] = {"sip_realm": None, "sip_ha1_md5": None, "sip_ha1_sha256": None}


def phone_account(extension: str, realm: str, password: str) -> dict[str, Any]:
    """The columns of an agent whose phone registers as ``extension`` with ``password``.

    The HA1 covers ``extension:realm:password``, so it is only valid for this extension in
    this realm: the realm is stored beside the hashes for the directory to check."""
    ha1s = make_ha1s(extension, realm, password)
    return {"sip_realm": realm, "sip_ha1_md5": ha1s["MD5"], "sip_ha1_sha256": ha1s["SHA-256"]}


def stored_ha1s(md5: str | None, sha256: str | None) -> dict[str, str]:
    """The registrar's ``{algorithm: HA1}`` for an agent's stored columns."""
    ha1s = {"MD5": md5} if md5 else {}
    if sha256:
        ha1s["SHA-256"] = sha256
    return ha1s
