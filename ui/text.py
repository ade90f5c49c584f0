"""Text as the pages show it: durations and numbers as a person writes them, and messages shown literally (Markdown
escaped) and shortened."""

import math


def duration(seconds: float) -> str:
    """An ETA as a person reads it: ``"2 min 5 s"``, ``"42 s"``, or ``"estimating…"`` while it is not known."""
    if not math.isfinite(seconds):
        return "estimating…"
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def plain_number(value: float) -> str:
    """A number as a person writes it: ``0.001``, ``1e-07``, ``100``."""
    return f"{value:g}"


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+-.!|~$:&"})
# CommonMark's backslash escapes take any ASCII punctuation; these are the characters that start Markdown (``_`` and
# ``*`` emphasis, ``:red[...]`` directives, ``&lt;`` entities), and the backslash itself.


def escape_markdown(text: str) -> str:
    """``text`` shown literally inside ``st.markdown`` and the alerts (descriptions hold maths like ``||g||`` and
    ``g_{t-1}``; messages name what the user typed, such as ``__import__``, which Markdown would make bold)."""
    return text.translate(_MARKDOWN_SPECIALS)


SHOWN_CHARACTERS = 600  # the longest message shown whole
VALUE_CHARACTERS = 60  # the longest value of a link's shown whole in a message about it


def shortened(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """``text`` cut in the middle to at most ``limit`` characters: a message about a 10,000-character value keeps
    its start (the field's name) and its end (the valid range)."""
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return f"{text[:half]}…{text[len(text) - half:]}"


def literal(text: object) -> str:
    """``text`` (an error, a message naming what a link or a person wrote) as an alert shows it: literally
    (``escape_markdown``) and at most ``SHOWN_CHARACTERS`` long (``shortened``)."""
    return escape_markdown(shortened(str(text)))
