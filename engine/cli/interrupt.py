"""Ctrl-C on the command line: the first stops the work cooperatively, the second aborts; the old handler comes back."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def interruptible() -> Iterator[threading.Event]:
    """Yield an event that the first Ctrl-C sets (the caller passes ``event.is_set`` as ``should_stop``: the run or
    trial in progress ends cancelled and is kept); a second Ctrl-C raises ``KeyboardInterrupt``. The SIGINT handler
    in force before is restored on exit. Off the main thread, where Python cannot catch signals, the event is never
    set and the handler is left alone."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
