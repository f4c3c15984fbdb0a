"""The pseudonym key and the keyed pseudonyms made with it.

Single responsibility: turn a borrower id or a loan id into the keyed pseudonym the ledger
stores instead (HMAC-SHA256), and load, create or parse the key. The key is never stored in
the ledger; :func:`key_check_value` is what the ledger keeps so a ledger opened with another
key (which would break the pseudonyms' continuity) is refused.

Loan ids are pseudonymised too: a bank's loan ids often embed the borrower's id (the
simulator's ``L000435501`` holds ``B0004355``), and a clear loan id would undo the borrower's
pseudonym. The two kinds share the key but not the message space: a loan id is hashed behind
:data:`LOAN_DOMAIN`, which starts with a byte that never occurs in UTF-8, while a borrower id
is hashed as its plain UTF-8 bytes (unchanged, so borrower pseudonyms stay what they were). No
borrower id's message can equal a loan id's, so a loan pseudonym is never the borrower
pseudonym of an equal string, nor of any other.

Whoever holds the key can look a loan or borrower up (pseudonymise the clear id and search for
it); nobody can go back from a pseudonym to the id.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

#: Shortest pseudonym key accepted (128 bits); :func:`load_or_create_key` makes 32 bytes.
MIN_KEY_BYTES: Final = 16
#: Prefix of a loan id's HMAC message: 0xFF never occurs in UTF-8, so it sets loan pseudonyms
#: apart from borrower pseudonyms (whose message is the plain UTF-8 id).
LOAN_DOMAIN: Final = b"\xffloan\x00"
#: Message whose HMAC under the pseudonym key is kept in ``ledger_meta`` to detect a key change.
_KEY_CHECK_LABEL: Final = b"\x00red-credit-ews warning ledger key check v1"


def pseudonymise(key: bytes, borrower_id: str) -> str:
    """The keyed pseudonym of a borrower id: HMAC-SHA256, 64 hex characters.

    Parameters
    ----------
    key : bytes
        Secret key of at least :data:`MIN_KEY_BYTES` bytes.
    borrower_id : str
        The clear id.

    Returns
    -------
    str
        Stable for one key, unrelated across keys, not reversible without the key.

    Raises
    ------
    ValueError
        If the key is too short.
    """
    check_key(key)
    return hmac.new(bytes(key), borrower_id.encode("utf-8"), hashlib.sha256).hexdigest()


def pseudonymise_loan(key: bytes, loan_id: str) -> str:
    """The keyed pseudonym of a loan id: HMAC-SHA256 of :data:`LOAN_DOMAIN` + the id.

    Same key and properties as :func:`pseudonymise`, never equal to a borrower pseudonym.

    Raises
    ------
    ValueError
        If the key is too short.
    """
    check_key(key)
    message = LOAN_DOMAIN + loan_id.encode("utf-8")
    return hmac.new(bytes(key), message, hashlib.sha256).hexdigest()


def key_check_value(key: bytes) -> str:
    """What the ledger keeps to recognise its key: a keyed HMAC of a fixed label, not the key."""
    return hmac.new(bytes(key), _KEY_CHECK_LABEL, hashlib.sha256).hexdigest()


def key_from_hex(text: str) -> bytes:
    """A pseudonym key given in hex (e.g. from an environment variable).

    Raises
    ------
    ValueError
        If ``text`` is not hex or decodes to fewer than :data:`MIN_KEY_BYTES` bytes. The
        message never repeats the text.
    """
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError("pseudonym key is not valid hex") from None
    check_key(key)
    return key


def load_or_create_key(path: Path) -> bytes:
    """The pseudonym key kept in ``path``, created (32 random bytes, mode 0600) if absent.

    Creation is atomic and never overwrites: the key is written to a private temporary file in
    the same folder, then hard-linked into place, so concurrent first starts all end up with
    the one key that won.

    Raises
    ------
    ValueError
        If an existing file holds fewer than :data:`MIN_KEY_BYTES` bytes.
    OSError
        If the file cannot be read or created.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_key_file(path, secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"pseudonym key file {path} holds {len(key)} bytes; at least {MIN_KEY_BYTES} are "
            "required"
        )
    if path.stat().st_mode & 0o077:
        logger.warning("pseudonym key file %s is readable by other users; chmod 600 it", path)
    return key


def _create_key_file(path: Path, key: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails rather than replace a key created meanwhile
        except FileExistsError:
            pass
        except OSError as exc:  # a file system without hard links: exclusive create instead
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            with contextlib.suppress(FileExistsError):
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(out, "wb") as handle:
                    handle.write(key)
                    handle.flush()
                    os.fsync(handle.fileno())
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def check_key(key: bytes) -> None:
    """``ValueError`` unless ``key`` is bytes of at least :data:`MIN_KEY_BYTES`."""
    if not isinstance(key, bytes | bytearray):
        raise ValueError(f"pseudonym key must be bytes, not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"pseudonym key is {len(key)} bytes; at least {MIN_KEY_BYTES} are required"
        )
