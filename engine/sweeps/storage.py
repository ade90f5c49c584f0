"""Where a sweep's studies live: ``journal:PATH`` (Optuna's journal file, shared by local processes under a file lock;
the default is ``$OPTISCOPE_HOME/studies/journal.log``) or any Optuna RDB URL (``sqlite:///...``,
``postgresql://...``) for workers on many machines."""

from __future__ import annotations

from pathlib import Path

from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from engine.home import optiscope_home


def default_storage() -> str:
    """``journal:$OPTISCOPE_HOME/studies/journal.log``."""
    return f"journal:{optiscope_home() / 'studies' / 'journal.log'}"


def open_storage(url: str | None = None) -> BaseStorage:
    """The storage at ``url`` (``journal:PATH`` or an RDB URL; default ``default_storage()``)."""
    url = url or default_storage()
    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:")).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    try:
        return RDBStorage(url)
    except Exception as error:  # SQLAlchemy's errors for a bad URL, a missing driver or a refused connection
        raise ValueError(f"storage: cannot open {_redacted(url)}: {str(error).splitlines()[0]}") from None


def _redacted(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    return f"{scheme}://{credentials.partition(':')[0]}:***@{host}"
