"""Shared Streamlit components: the app's pages (and the way out of Streamlit's legacy ``pages/`` mode on a fresh
server), how an optimizer and its hyperparameters are shown, a page's state in its URL, its figures, downloads and
job polling. The controls that set a run up (surface, start, optimizer) are in ``ui.controls``."""

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st
from plotly.graph_objects import Figure
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engine.jobs import Busy, JobManager, JobStatus, UnknownJob
from engine.runs import link_number
from optimizers import HyperParam, OptimizerInfo
from optimizers.validation import check_choice, check_number

HYPERPARAM_COLUMNS = ("name", "default", "range", "scale", "help")


# --- navigation ---------------------------------------------------------------------------------------------------

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
# The app's pages in navigation order: file in pages/, title, Material icon, URL path (None: the default page, at /).
PAGES = (
    ("home.py", "Home", ":material/home:", None),
    ("lessons.py", "Lessons", ":material/school:", "lessons"),
    ("playground.py", "Playground", ":material/scatter_plot:", "playground"),
    ("landscape.py", "Landscape", ":material/grid_on:", "landscape"),
    ("train.py", "Train", ":material/model_training:", "train"),
    ("sensitivity.py", "Sensitivity", ":material/show_chart:", "sensitivity"),
    ("filter_lab.py", "Filter Lab", ":material/filter_alt:", "filter_lab"),
    ("stability.py", "Stability", ":material/radar:", "stability"),
    ("sweeps.py", "Sweeps", ":material/tune:", "sweeps"),
)

# What each page but Home shows and what to do there: Home's guide, in ``PAGES`` order (the order they build on
# each other).
PAGE_GUIDE = {
    "lessons.py": "Predict, then see: each step sets up a run, asks what will happen, and only then shows it, with "
    "the theory's number beside the run's.",
    "playground.py": "Optimizers side by side on a 2-D surface, from the same start. Press play and watch heavy ball "
    "overshoot where Adam crawls; a diverged run says why.",
    "landscape.py": "One optimizer run at every cell of a grid of two hyperparameters: where it converges, where it "
    "diverges, and the theory's stability boundary drawn over it.",
    "train.py": "The seed MLP on MNIST-1D, trained live: the same initial weights and batches for every optimizer, "
    "several seeds, a 95% band around each mean.",
    "sensitivity.py": "The final accuracy against one hyperparameter, over seeds: how sharp is the optimum, and where "
    "does each optimizer break?",
    "filter_lab.py": "Momentum is a lowpass filter on the gradient: its pole and zero on the z-plane, and how much of "
    "the gradient's noise each frequency lets through.",
    "stability.py": "A filter plus a step size is a feedback loop: the region where AutoSGM's learning dynamics stay "
    "stable, with a simulated run beside it.",
    "sweeps.py": "The seed write-ups' claims, re-run with equal tuning budgets over ten seeds, and your own Optuna "
    "sweeps.",
}


def app_pages() -> list[st.Page]:
    """The app's pages for ``st.navigation``, made afresh for every script run (``st.navigation`` takes its pages
    for that run); Home is the default page."""
    return [st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=url_path, default=url_path is None)
            for file, title, icon, url_path in PAGES]


_LEFT_LEGACY_NAVIGATION = "ui.components.left_legacy_navigation"  # session_state: this session has rerouted once


def leave_legacy_navigation() -> None:
    """Rerun through app.py's router when Streamlit runs a page file on its own, the legacy ``pages/`` way.

    Until some session calls ``st.navigation``, Streamlit treats a ``pages/`` folder beside the entry point as a legacy
    multipage app (``_mpa_v1`` in streamlit/runtime/scriptrunner/script_runner.py): a fresh server's first request by
    deep link, such as ``/train``, runs ``pages/train.py`` alone, without app.py's sidebar (and ``/`` runs app.py as
    one of those pages). Every page imports this module, and a server's first script run, the first to import it, is
    always such a legacy run. So that import calls ``st.navigation``, after which the app ignores ``pages/`` in every
    session (its documented behaviour), and reruns: app.py then routes the same URL (a page's hash is that of its URL
    path in both modes). The rerun abandons the import, which runs again in the next script run: the session's mark
    lets that one pass.

    ``client.showSidebarNavigation = false`` in .streamlit/config.toml hid the legacy run's list of file names; in
    Streamlit 1.67 the option also hides ``st.navigation``'s sidebar list (streamlit/commands/navigation.py), so with
    the legacy mode over for good it is turned back on (a scriptable option) for the app's own list.
    tests/e2e/test_deep_links.py checks all this.
    """
    # Outside a script run (an import by a test): nothing to reroute. get_script_run_ctx is the documented way to ask
    # (https://docs.streamlit.io/develop/concepts/design/multithreading).
    if get_script_run_ctx() is None or st.session_state.get(_LEFT_LEGACY_NAVIGATION):
        return
    st.session_state[_LEFT_LEGACY_NAVIGATION] = True
    st.navigation(app_pages(), position="hidden")
    st.set_option("client.showSidebarNavigation", True)
    st.rerun()


leave_legacy_navigation()


def stop_polling() -> NoReturn:
    """Rerun the whole page from inside a polling fragment whose job has ended, so that the fragment stops polling.

    Call it before the fragment draws anything. When a fragment run draws and then reruns the whole page, the
    frontend of Streamlit 1.67 (pinned) sometimes drops the element right after the fragment, or keeps the fragment's
    old elements beside the new ones: its stale-node cleanup races the full rerun (cf. streamlit/streamlit#16708).
    tests/e2e/test_sweeps.py reads the heading after the Sweeps page's fragment.
    """
    st.rerun()


def poll_job(manager: JobManager, job_id: str, what: str) -> JobStatus | str:
    """``manager.poll(job_id)``, or the message to show instead (a page never raises into the browser); ``what``
    names the job in it, e.g. ``"training job"``."""
    try:
        return manager.poll(job_id)
    except UnknownJob:
        return (f"There is no {what} {job_id!r} on this server: it was never started here, or it ended long ago and "
                "nothing of it was saved. Press Start to run it.")
    except Exception as error:  # a broken store or manager: a message, never a traceback
        return f"Could not read {what} {job_id!r}: {type(error).__name__}: {error}"


def job_actions(manager: JobManager, job_key: str, job_id: str | None, status: JobStatus | str | None, *,
                start: bool, stop: bool, submit: Callable[[], str] | None) -> str | None:
    """What a page's Start and Cancel buttons do to its background job; the job id to show next (None: none).

    Start submits (``submit`` returns the new job's id; a busy server's message is shown instead) and reruns the page,
    so the buttons redraw with Start off and Cancel on; Cancel cancels; a job the manager does not know (``status`` is
    then the message ``poll_job`` gave, from a stale link) is reported once and forgotten. ``job_key`` is the
    session-state key that holds the page's job id."""
    if start and submit is not None:
        try:
            job_id = submit()
        except Busy as error:
            st.warning(str(error), icon=":material/hourglass_top:")
        else:
            st.session_state[job_key] = job_id
            st.rerun()
    if stop and job_id:
        with contextlib.suppress(UnknownJob):  # it ended and was dropped meanwhile: the view says so
            manager.cancel(job_id)
    if isinstance(status, str) and not start:  # literally: it repeats the link's job id
        st.warning(literal(status), icon=":material/link_off:")
        st.session_state[job_key] = job_id = None
    return job_id


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


def hyperparam_row(hp: HyperParam) -> dict[str, str]:
    """One row of a hyperparameter table, keyed by ``HYPERPARAM_COLUMNS``."""
    if hp.kind == "choice":
        default, span, scale = str(hp.default), " / ".join(hp.choices), "choice"
    else:
        default = plain_number(float(hp.default))
        has_range = hp.low is not None and hp.high is not None
        span = f"{plain_number(hp.low)} .. {plain_number(hp.high)}" if has_range else ""
        scale = "log" if hp.log else "linear"
    return {"name": hp.name, "default": default, "range": span, "scale": scale, "help": hp.help}


def hyperparam_rows(info: OptimizerInfo) -> list[dict[str, str]]:
    """The hyperparameter table of ``info``, one row per hyperparameter in registry order."""
    return [hyperparam_row(hp) for hp in info.hyperparams]


def optimizer_card(info: OptimizerInfo) -> None:
    """A bordered card: display name, one-line description and, folded, the hyperparameter table."""
    with st.container(border=True):
        st.subheader(info.name, anchor=info.key)
        st.text(info.description)  # literal: descriptions hold maths like ``||g||`` that Markdown would mangle
        with st.expander(f"Hyperparameters ({len(info.hyperparams)})"):
            st.table(hyperparam_rows(info), hide_index=True, border="horizontal")


def optimizer_cards(infos: Iterable[OptimizerInfo]) -> None:
    """``optimizer_card`` for each of ``infos``, one under the other."""
    for info in infos:
        optimizer_card(info)


# Home's card pictures: each page's (<page>.png) and lesson's (lesson_<key>.png) first figure (scripts/page_pictures.py)
PICTURES_DIR = Path(__file__).resolve().parent.parent / "assets" / "pictures"


def picture_card(page: str, title: str, icon: str, text: str, *, picture: str,
                 query_params: Mapping[str, str] | None = None) -> None:
    """A bordered card: the picture ``PICTURES_DIR/<picture>.png`` (when it has been taken), a link to ``page`` (with
    ``query_params``) titled ``title``, and ``text`` under it, shown literally."""
    with st.container(border=True):
        path = PICTURES_DIR / f"{picture}.png"
        if path.exists():
            st.image(path, width="stretch")
        st.page_link(page, label=title, icon=icon, query_params=query_params)
        st.caption(escape_markdown(text))


# --- URL state ----------------------------------------------------------------------------------------------------

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


_LEGEND_ROW_PX = 20  # one row of the horizontal legend that the engine's figures put between title and plot
_LEGEND_COLUMNS = 2  # entries per legend row in a figure three quarters of a wide page wide (the long names)


def _room_for_legend(figure: Figure) -> None:
    """Grow the top margin so a legend that wraps into many rows stays below the title instead of covering it."""
    entries = sum(1 for trace in figure.data if trace.showlegend is not False and trace.type != "heatmap")
    rows = -(-entries // _LEGEND_COLUMNS)
    needed = 60 + _LEGEND_ROW_PX * rows
    current = figure.layout.margin.t if figure.layout.margin.t is not None else 100  # Plotly's default
    if current < needed:
        figure.update_layout(margin_t=needed, height=(figure.layout.height or 450) + needed - current)


def figure_with_caption(figure: Figure, caption: str, *, key: str, select: bool = False) -> Any:
    """A Plotly figure with the sentences that say what to look at beside it, on the right. With ``select``, a click
    on a point reruns the page and the chart's state is returned (``state["selection"]["points"]``, each point with
    its ``customdata``); else None."""
    _room_for_legend(figure)
    left, right = st.columns([3, 1], vertical_alignment="center")
    selection: dict[str, Any] = {"on_select": "rerun", "selection_mode": "points"} if select else {}
    state = left.plotly_chart(figure, key=key, theme=None, config={"displaylogo": False}, **selection)
    right.markdown(escape_markdown(caption))
    return state if select else None


_MIME = {".csv": "text/csv", ".json": "application/json"}


def download_buttons(files: Sequence[tuple[str, Callable[[], str], str]]) -> None:
    """One download button per (label, text maker, file name), side by side; the text is made on the click (big
    grids cost nothing until asked for) and the click does not rerun the page. The MIME type follows the suffix."""
    for column, (label, make, file_name) in zip(st.columns(len(files)), files, strict=True):
        column.download_button(label, make, file_name=file_name, mime=_MIME[file_name[file_name.rindex("."):]],
                               icon=":material/download:", width="stretch", on_click="ignore")
