"""A page's configuration mirrored in its URL: ``UrlState``, the controls whose values a copied link reproduces."""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from engine.runs import link_number
from optimizers.validation import check_choice, check_number
from ui.text import VALUE_CHARACTERS, escape_markdown, shortened


class UrlState:
    """A page's configuration mirrored in the URL (``st.query_params``), so a copied link reproduces the view.

    Each ``slider`` / ``number_input`` / ``choice_input`` reads its parameter from the URL (checked with the project's
    validators; a bad or unknown value falls back to the default, with a warning naming the parameter and its valid
    range) only to seed the widget on the page's first run (afterwards the widget decides, so a control that another
    one moved, such as the start when the surface changes, never warns about a URL value the user did not write), and
    ``write`` puts the current values back into the URL. Widget keys are ``<page>.<name>``, so two pages can both have
    a ``beta``. Warnings show next to their field, or full width in ``notices`` when the page gives one (a field in a
    narrow column would wrap a warning one word per line).
    """

    def __init__(self, page: str, notices: Any = None) -> None:
        self.page = page
        self.notices = notices
        self.values: dict[str, object] = {}
        self.warnings: dict[str, str] = {}

    def key(self, name: str) -> str:
        """The widget key of parameter ``name`` (set ``st.session_state[key]`` to move the control)."""
        return f"{self.page}.{name}"

    def fallback(self, name: str, default: object, error: ValueError) -> object:
        """Use ``default`` for ``name`` and keep the warning (``error``'s message) to show next to its field; the
        link's value, where the message repeats it, is cut to ``VALUE_CHARACTERS``, so a 10,000-character value
        leaves the field's name and its valid range in view."""
        message = str(error)
        raw = st.query_params.get(name)
        if raw is not None and len(raw) > VALUE_CHARACTERS:
            message = message.replace(raw, shortened(raw, VALUE_CHARACTERS))
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        self.warnings[name] = shortened(f"{message}. Using the default {name} = {shown}.")
        return default

    def number(self, name: str, default: float, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, integer: bool = False) -> float:
        """The URL's ``name`` as a number inside the range, else ``default`` (and a warning)."""
        raw = st.query_params.get(name)
        if raw is None:
            return default
        try:
            return check_number("URL", name, link_number(raw), low=low, high=high, low_open=low_open,
                                high_open=high_open, integer=integer)
        except ValueError as error:
            return self.fallback(name, default, error)  # type: ignore[return-value]

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        """The URL's ``name`` if it is one of ``choices``, else ``default`` (and a warning)."""
        raw = st.query_params.get(name)
        if raw is None:
            return default
        try:
            return check_choice("URL", name, raw, choices)
        except ValueError as error:
            return self.fallback(name, default, error)  # type: ignore[return-value]

    def seed(self, name: str, value: object) -> str:
        """The widget key of ``name``, its state set to ``value`` on the page's first run (the URL decides then);
        ``value`` may be a function of no arguments, called only then (so the URL is read only then)."""
        key = self.key(name)
        if key not in st.session_state:  # first run of this page: the URL decides; afterwards the widget does
            st.session_state[key] = value() if callable(value) else value
        return key

    def record(self, name: str, value: object) -> object:
        """Keep the control's current ``value`` for ``write`` and show its URL warning, if any; returns ``value``."""
        self.values[name] = value
        if name in self.warnings:  # shown literally: a link's value may hold Markdown (``opt1=__import__``)
            (st if self.notices is None else self.notices).warning(escape_markdown(self.warnings[name]),
                                                                   icon=":material/link_off:")
        return value

    def slider(self, label: str, name: str, default: float, low: float, high: float, step: float,
               help: str | None = None, fmt: str | None = None, on_change: Callable[[], None] | None = None) -> float:
        """A slider over [low, high] whose value lives in the URL as ``name``."""
        integer = isinstance(step, int) and isinstance(default, int)
        kind = int if integer else float
        key = self.seed(name, lambda: kind(self.number(name, default, low=low, high=high, integer=integer)))
        widget = st.slider(label, low, high, step=step, key=key, help=help, format=fmt, on_change=on_change)
        return self.record(name, widget)  # type: ignore[return-value]

    def select_slider(self, label: str, name: str, default: float, stops: Sequence[float], help: str | None = None,
                      format_func: Callable[[float], str] = str) -> float:
        """A slider over the numbers ``stops`` (a log scale's, say) whose value lives in the URL as ``name``; a link's
        value between two stops becomes a stop of its own, so that it round-trips."""
        key = self.seed(name, lambda: float(self.number(name, default, low=stops[0], high=stops[-1])))
        extra = self.seed(f"{name}.extra", st.session_state[key])  # kept: the stops stay the same every run
        options = sorted({*stops, st.session_state[extra]})
        return self.record(name, st.select_slider(label, options, key=key, help=help, format_func=format_func))  # type: ignore[return-value]

    def number_input(self, label: str, name: str, default: float, low: float, high: float, step: float,
                     help: str | None = None, fmt: str | None = None) -> float:
        """A number field over [low, high] whose value lives in the URL as ``name`` (an integer field when ``step``
        and ``default`` are integers)."""
        integer = isinstance(step, int) and isinstance(default, int)
        kind = int if integer else float
        key = self.seed(name, lambda: kind(self.number(name, default, low=low, high=high, integer=integer)))
        widget = st.number_input(label, min_value=kind(low), max_value=kind(high), step=step, key=key, help=help,
                                 format=fmt)
        return self.record(name, kind(widget))  # type: ignore[return-value]

    def toggle(self, label: str, name: str, default: bool, help: str | None = None) -> bool:
        """A toggle whose value lives in the URL as ``name``, ``true`` or ``false``."""
        key = self.seed(name, lambda: self.choice(name, str(default).lower(), ("true", "false")) == "true")
        value = bool(st.toggle(label, key=key, help=help))
        self.record(name, str(value).lower())
        return value

    def choice_input(self, label: str, name: str, default: str, options: Mapping[str, str],
                     help: str | None = None) -> str:
        """Radio buttons over ``options`` (URL value -> label) whose value lives in the URL as ``name``."""
        return self._choice(st.radio, label, name, default, options, help=help, horizontal=True)

    def selectbox(self, label: str, name: str, default: str, options: Mapping[str, str], help: str | None = None,
                  on_change: Callable[[], None] | None = None) -> str:
        """A select box over ``options`` (URL value -> label) whose value lives in the URL as ``name``."""
        return self._choice(st.selectbox, label, name, default, options, help=help, on_change=on_change)

    def text_input(self, label: str, name: str, default: str, help: str | None = None,
                   check: Callable[[str], object] | None = None) -> str:
        """A text field whose value lives in the URL as ``name``. A URL value that ``check`` refuses (a ``ValueError``
        naming what is wrong) falls back to ``default`` with a warning; the caller checks what the field's value
        means (a person's typing included)."""
        key = self.seed(name, lambda: self._text(name, default, check))
        return self.record(name, st.text_input(label, key=key, help=help))  # type: ignore[return-value]

    def _text(self, name: str, default: str, check: Callable[[str], object] | None) -> str:
        """The URL's ``name`` if ``check`` (when given) accepts it, else ``default`` (and a warning)."""
        raw = st.query_params.get(name)
        if raw is None:
            return default
        try:
            if check is not None:
                check(raw)
        except ValueError as error:
            return self.fallback(name, default, ValueError(f"URL: invalid {name}: {error}"))  # type: ignore[return-value]
        return raw

    def _choice(self, widget: Callable[..., Any], label: str, name: str, default: str, options: Mapping[str, str],
                **kwargs: Any) -> str:
        key = self.seed(name, lambda: self.choice(name, default, tuple(options)))
        value = widget(label, tuple(options), format_func=options.__getitem__, key=key, **kwargs)
        return self.record(name, value)  # type: ignore[return-value]

    def set(self, **values: object) -> None:
        """Move controls (e.g. from a preset button's ``on_click``): sets their widget state before they render."""
        for name, value in values.items():
            st.session_state[self.key(name)] = value

    def write(self) -> None:
        """Put the current values into the URL, numbers as a person writes them (``0.9``, ``1e-05``)."""
        st.query_params.from_dict({name: f"{value:.6g}" if isinstance(value, float) else str(value)
                                   for name, value in self.values.items()})
