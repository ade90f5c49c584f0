"""A Playground link read back as the comparison it shows, so another page can rerun some of its optimizers.

The Playground writes its whole configuration into its URL (``surface``, ``formula`` for a typed surface, the start
``x0`` / ``y0``, gradient ``noise``, ``steps``, the count ``n`` and ``opt1`` .. ``opt<n>`` in ``OptimizerChoice``
form). ``playground_comparison`` turns such a link (the whole URL or the part after ``?``) into a
``ComparisonSpec``; the Stability page uses it to rerun a link's AutoSGM runs and read their stability margin. A
missing parameter takes the engine's default (the surface's own start, no noise, ``ComparisonSpec``'s steps); a bad
one raises ``ValueError`` with the field's message, as everywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import parse_qs, urlencode, urlsplit

from engine.runs.spec import ComparisonSpec, OptimizerChoice
from engine.tasks.surfaces import EXPR_PREFIX, get_surface
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
    surface = get_surface(EXPR_PREFIX + query.get(FORMULA, "") if surface_name == FORMULA else surface_name)
    count = int(check_number(owner, "n", _query_number(query, "n", MAX_OPTIMIZERS), low=1, high=MAX_OPTIMIZERS,
                             integer=True))
    choices = [OptimizerChoice.parse(query[f"opt{slot}"]) for slot in range(1, count + 1) if f"opt{slot}" in query]
    kept = tuple(choice for choice in choices if keys is None or choice.key in keys)
    if not kept:
        return None
    start = (float(_query_number(query, "x0", surface.start[0])),
             float(_query_number(query, "y0", surface.start[1])))
    task_args = {"noise": float(_query_number(query, "noise", 0.0)), "start": start}
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
