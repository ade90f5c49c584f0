"""A Playground link read back as the comparison it shows (so another page can rerun some of its optimizers), and
written for one run (so the Landscape opens a cell's run there).

The Playground writes its whole configuration into its URL (``surface``, ``formula`` for a typed surface, the
surface's own arguments such as a quadratic's ``condition`` and ``rotation``, the start ``x0`` / ``y0``, gradient
``noise``, ``steps``, the count ``n`` and ``opt1`` .. ``opt<n>`` in ``OptimizerChoice`` form).
``playground_comparison`` turns such a link (the whole URL or the part after ``?``) into a ``ComparisonSpec``; the
Stability page uses it to rerun a link's AutoSGM runs and read their stability margin. A missing parameter takes the
engine's default (the surface's own start, no noise, ``ComparisonSpec``'s steps); a bad one raises ``ValueError``
with the field's message, as everywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qs, urlencode, urlsplit

from engine.runs.spec import ComparisonSpec, OptimizerChoice, RunSpec
from engine.tasks.surface_task import RUN_ARGS, surface_argument_names
from engine.tasks.surfaces import EXPR_PREFIX, SURFACES, get_surface
from optimizers.validation import check_number

FORMULA = "formula"  # the Playground's ``surface`` value for a typed formula, held in the ``formula`` parameter
MAX_OPTIMIZERS = 4  # the Playground's slots


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
    owner = "Playground link"
    surface_name = query.get("surface", "rosenbrock")
    arguments = {name: float(_query_number(query, name, 0.0)) for name in surface_argument_names(surface_name)
                 if name in query}
    surface = get_surface(EXPR_PREFIX + query.get(FORMULA, "") if surface_name == FORMULA else surface_name,
                          **arguments)
    count = int(check_number(owner, "n", _query_number(query, "n", MAX_OPTIMIZERS), low=1, high=MAX_OPTIMIZERS,
                             integer=True))
    choices = [OptimizerChoice.parse(query[f"opt{slot}"]) for slot in range(1, count + 1) if f"opt{slot}" in query]
    kept = tuple(choice for choice in choices if keys is None or choice.key in keys)
    if not kept:
        return None
    start = (float(_query_number(query, "x0", surface.start[0])),
             float(_query_number(query, "y0", surface.start[1])))
    task_args = {"noise": float(_query_number(query, "noise", 0.0)), "start": start, **arguments}
    steps = int(_query_number(query, "steps", ComparisonSpec.steps))
    return ComparisonSpec(surface.key, kept, steps=steps, task_args=task_args)


def _query_number(query: dict[str, str], name: str, default: float) -> float:
    """The link's ``name`` as a number (an integer when it is written as one), else ``default``."""
    raw = query.get(name)
    if raw is None:
        return default
    for parse in (int, float):
        try:
            return parse(raw)
        except ValueError:
            continue
    raise ValueError(f"Playground link: invalid {name}={raw!r}; expected a number")


def playground_query(run: RunSpec) -> dict[str, str]:
    """The Playground URL's parameters that open ``run`` there (``playground_comparison`` read back), numbers written
    exactly (``repr``), the surface's own arguments (a quadratic's condition and rotation) included; ``ValueError``
    for what the Playground cannot show (a formula's domain, a seed other than 0 under noise)."""
    arguments = {name: run.task_args[name] for name in surface_argument_names(run.task) if name in run.task_args}
    extra = sorted(set(run.task_args) - set(RUN_ARGS) - set(arguments))
    if extra:
        raise ValueError(f"Playground link: the Playground has no {extra[0]}; it draws the surface's defaults")
    noise = float(run.task_args.get("noise", 0.0))
    if noise > 0 and run.seed != 0:
        raise ValueError(f"Playground link: invalid seed={run.seed}; the Playground's noise draws seed 0")
    # the Playground offers the named surfaces, and any other as a formula typed into its FORMULA field
    surface = {"surface": run.task} if run.task in SURFACES else \
        {"surface": FORMULA, FORMULA: run.task.removeprefix(EXPR_PREFIX)}
    x0, y0 = run.task_args.get("start") or get_surface(run.task).start
    return {**surface, **{name: repr(float(value)) for name, value in arguments.items()}, "x0": repr(float(x0)),
            "y0": repr(float(y0)), "noise": repr(noise), "steps": str(run.steps), "n": "1", "opt1": str(run.optimizer)}
