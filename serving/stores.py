"""Opening the service's stores from the settings: the ledger (one place for its URL and key)
and the checked champion.

The endpoint and the portfolio run must write to the same ledger with the same pseudonym key,
or one borrower would appear under two pseudonyms; both open it here.
"""

from __future__ import annotations

from serving.bundle import ScoringBundle
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


def prepare_service(settings: ServingSettings) -> tuple[ScoringBundle, WarningLedger]:
    """Everything the service needs before it may answer: the champion's copy loaded and
    checked against this feature code, and the ledger reachable. ``ServingError`` or
    ``LedgerError`` (one line) otherwise; ``ews-serve start`` runs it before the server does,
    so a refusal is an exit code, not a crashing worker."""
    from serving.registry import ServingError, load_champion
    from serving.scoring import RequestError, check_compatible

    bundle = load_champion(settings)
    try:
        check_compatible(bundle)
    except RequestError as exc:
        raise ServingError(str(exc)) from None
    ledger = open_ledger(settings)
    ledger.check()
    return bundle, ledger
