"""A page's work stops when its session ends.

Streamlit goes on running a script whose tab has closed (or reloaded into a new session) until the script ends, and
a computation inside ``st.cache_data`` goes on to its end. So the pages hand their long computations (a landscape's
map, the runs of a Playground link) a check, ``ended()``, that their loops ask between steps: true once this page's
session is no longer one of the server's active sessions (``Runtime.is_active_session``, safe from any thread).
``until_session_ends`` then stops the script (``st.stop``) instead of returning what was cut short, so that the cache
never keeps it and no page shows it; the next visit computes it whole.
"""

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engine.runs import LandscapeStopped

T = TypeVar("T")


def session_ended() -> Callable[[], bool]:
    """A check whether the session running this script has ended; never true outside a server (AppTest, bare)."""
    context = get_script_run_ctx(suppress_warning=True)
    if context is None or not runtime.exists():
        return lambda: False
    server, session_id = runtime.get_instance(), context.session_id
    return lambda: not server.is_active_session(session_id)


def until_session_ends(compute: Callable[[Callable[[], bool]], T]) -> T:
    """``compute(ended)``, whose loops ask ``ended()`` between steps; if this page's session ended meanwhile, the
    script stops here (nothing is returned, so nothing cut short is cached or shown)."""
    ended = session_ended()
    try:
        result = compute(ended)
    except LandscapeStopped:
        st.stop()
    if ended():
        st.stop()
    return result
