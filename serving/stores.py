"""Opening the warning ledger from the serving settings (one place for its URL and key).

The endpoint and the portfolio run must write to the same ledger with the same pseudonym key,
or one borrower would appear under two pseudonyms; both open it here.
"""

from __future__ import annotations

from serving.ledger import WarningLedger, key_from_hex, load_or_create_key
from serving.settings import ServingSettings


def pseudonym_key(settings: ServingSettings) -> bytes:
    """The configured key (``EWS_PSEUDONYM_KEY``, hex), else the key file under ``EWS_HOME``
    (created with mode 0600 on first use)."""
    if settings.pseudonym_key is not None:
        return key_from_hex(settings.pseudonym_key.get_secret_value())
    return load_or_create_key(settings.pseudonym_key_file)


def open_ledger(settings: ServingSettings) -> WarningLedger:
    """The ledger at the configured URL (SQLite under ``EWS_HOME`` by default)."""
    return WarningLedger(settings.resolved_ledger_url, pseudonym_key(settings))
