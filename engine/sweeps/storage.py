"""Where a sweep's studies live: ``journal:PATH`` (Optuna's journal file, shared by local processes under a file lock)
or any Optuna RDB URL (``sqlite:///...``, ``postgresql://...``) for workers on many machines.

The storage is the server's configuration, never a link's: whoever runs the server sets ``$OPTISCOPE_STORAGE`` (else
the journal ``$OPTISCOPE_HOME/studies/journal.log``), and the CLI's ``--storage`` names one for a command. The pages
open only ``default_storage()``, so opening a link can neither create files elsewhere nor connect to another host.
"""

from __future__ import annotations

import os
from pathlib import Path

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from engine.home import optiscope_home

STORAGE_VARIABLE = "OPTISCOPE_STORAGE"  # the environment variable that names the server's storage URL


def default_storage() -> str:
    """``$OPTISCOPE_STORAGE`` when it is set and not empty, else ``journal:$OPTISCOPE_HOME/studies/journal.log``;
    read at every call (spawned workers inherit the environment, so they open the same storage)."""
    return os.environ.get(STORAGE_VARIABLE, "").strip() or f"journal:{optiscope_home() / 'studies' / 'journal.log'}"


def open_storage(url: str | None = None) -> BaseStorage:
    """The storage at ``url`` (``journal:PATH`` or an RDB URL; default ``default_storage()``)."""
    url = url or default_storage()
    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:")).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as error:  # a folder given as the file, a read-only home: bad input, in one line
            raise ValueError(f"storage: cannot open journal:{path}: {error.strerror or error}") from None
    try:
        return RDBStorage(url)
    except Exception as error:  # SQLAlchemy's errors for a bad URL, a missing driver or a refused connection
        raise ValueError(f"storage: cannot open {redacted(url)}: {str(error).splitlines()[0]}") from None


def redacted(url: str) -> str:
    """``url`` without its password, fit to show (on the Sweeps page, in a message)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    return f"{scheme}://{credentials.partition(':')[0]}:***@{host}"
