"""A Playground link read back as the comparison it shows (so another page can rerun some of its optimizers), and
written for one run (so the Landscape opens a cell's run there).

The Playground writes its whole configuration into its URL (``surface``, ``formula`` for a typed surface, the
surface's own arguments such as a quadratic's ``condition`` and ``rotation``, the start ``x0`` / ``y0``, gradient
``noise``, ``steps``, the count ``n`` and ``opt1`` .. ``opt<n>`` in ``OptimizerChoice`` form).
``playground_comparison`` turns such a link (the whole URL or the part after ``?``) into a ``ComparisonSpec``; the
Stability page uses it to rerun a link's AutoSGM runs and read their stability margin. A missing parameter takes the
engine's default (the surface's own start, no noise, ``ComparisonSpec``'s steps); a bad one raises ``ValueError``
with the field's message, as everywhere. A link is held to the Playground's own controls' limits (``STEPS_RANGE``,
``MAX_OPTIMIZERS``, ``NOISE_RANGE``, ``CONDITION_RANGE``, ``ROTATION_RANGE``, the start inside the surface's domain):
the page and its controls draw their widgets from these constants, so a link never asks for more work than a person
could with the widgets.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qs, urlencode, urlsplit

from engine.runs.spec import ComparisonSpec, OptimizerChoice, RunSpec
from engine.tasks.surface_task import RUN_ARGS, surface_argument_names
from engine.tasks.surfaces import EXPR_PREFIX, SURFACES, get_surface
from optimizers.validation import check_number

_OWNER = "Playground link"  # how the messages name what was refused
FORMULA = "formula"  # the Playground's ``surface`` value for a typed formula, held in the ``formula`` parameter
# The Playground's controls' limits, shared with its widgets (pages/playground.py, ui/controls.py).
MAX_OPTIMIZERS = 4  # the Playground's slots
STEPS_RANGE = (10, 2000)  # optimizer steps per run
NOISE_RANGE = (0.0, 10.0)  # the gradient noise's standard deviation sigma
CONDITION_RANGE = (1, 1000)  # a quadratic's condition number kappa
ROTATION_RANGE = (-90, 90)  # a quadratic's rotation in degrees: with its symmetry, every orientation
_ARGUMENT_RANGES = {"condition": CONDITION_RANGE, "rotation": ROTATION_RANGE}


def link_query(link: str) -> dict[str, str]:
    """The parameters of ``link`` (a URL or a bare query string, with or without ``?``), the last value of each."""
    text = link.strip()
    query = urlsplit(text).query if "?" in text else text
    return {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}


def link_text(query: dict[str, str]) -> str:
    """``query`` as the part of a Playground link after ``?``, readable (``opt1=autosgm:lr=0.5``)."""
    return urlencode(query, safe=":,=")


def playground_comparison(link: str, keys: Collection[str] | None = None) -> ComparisonSpec | None:
    """The comparison a Playground ``link`` shows, keeping only the optimizers whose registry key is in ``keys``
    (all when None); None when the link holds none of them."""
    query = link_query(link)
    surface_name = query.get("surface", "rosenbrock")
    arguments = {name: _query_number(query, name, 0.0, *_ARGUMENT_RANGES[name])
                 for name in surface_argument_names(surface_name) if name in query}
    surface = get_surface(EXPR_PREFIX + query.get(FORMULA, "") if surface_name == FORMULA else surface_name,
                          **arguments)
    count = int(_query_number(query, "n", MAX_OPTIMIZERS, 1, MAX_OPTIMIZERS, integer=True))
    choices = [OptimizerChoice.parse(query[f"opt{slot}"]) for slot in range(1, count + 1) if f"opt{slot}" in query]
    kept = tuple(choice for choice in choices if keys is None or choice.key in keys)
    if not kept:
        return None
    (xmin, xmax), (ymin, ymax) = surface.domain
    start = (_query_number(query, "x0", float(surface.start[0]), xmin, xmax),
             _query_number(query, "y0", float(surface.start[1]), ymin, ymax))
    task_args = {"noise": _query_number(query, "noise", 0.0, *NOISE_RANGE), "start": start, **arguments}
    steps = int(_query_number(query, "steps", ComparisonSpec.steps, *STEPS_RANGE, integer=True))
    return ComparisonSpec(surface.key, kept, steps=steps, task_args=task_args)


def _query_number(query: dict[str, str], name: str, default: float, low: float, high: float, *,
                  integer: bool = False) -> float:
    """The link's ``name`` as a number in [``low``, ``high``] (an integer with ``integer``), else ``default`` when the
    link has none; ``ValueError`` naming the field and its range for anything else (``inf``, ``1e308``, text)."""
    raw = query.get(name)
    if raw is None:
        return default
    return check_number(_OWNER, name, link_number(raw), low=low, high=high, integer=integer)


def link_number(raw: str) -> object:
    """A link's number as written (an integer first, so a message repeats ``steps=7`` as the link wrote it); ``raw``
    itself when it is no number or no float can hold it (a 400-digit integer), which ``check_number`` then refuses
    with the field's range. The pages' URL state reads its numbers with it too."""
    for parse in (int, float):
        try:
            value = parse(raw)
            float(value)
        except ValueError:
            continue
        except OverflowError:
            return raw
        return value
    return raw


def playground_query(run: RunSpec) -> dict[str, str]:
    """The Playground URL's parameters that open ``run`` there (``playground_comparison`` read back), numbers written
    exactly (``repr``), the surface's own arguments (a quadratic's condition and rotation) included; ``ValueError``
    for what the Playground cannot show (a formula's domain, a seed other than 0 under noise)."""
    arguments = {name: run.task_args[name] for name in surface_argument_names(run.task) if name in run.task_args}
    extra = sorted(set(run.task_args) - set(RUN_ARGS) - set(arguments))
    if extra:
        raise ValueError(f"{_OWNER}: the Playground has no {extra[0]}; it draws the surface's defaults")
    noise = float(run.task_args.get("noise", 0.0))
    if noise > 0 and run.seed != 0:
        raise ValueError(f"{_OWNER}: invalid seed={run.seed}; the Playground's noise draws seed 0")
    # the Playground offers the named surfaces, and any other as a formula typed into its FORMULA field
    surface = {"surface": run.task} if run.task in SURFACES else \
        {"surface": FORMULA, FORMULA: run.task.removeprefix(EXPR_PREFIX)}
    x0, y0 = run.task_args.get("start") or get_surface(run.task).start
    return {**surface, **{name: repr(float(value)) for name, value in arguments.items()}, "x0": repr(float(x0)),
            "y0": repr(float(y0)), "noise": repr(noise), "steps": str(run.steps), "n": "1", "opt1": str(run.optimizer)}
