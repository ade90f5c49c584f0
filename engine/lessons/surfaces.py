"""The step kinds on 2-D surfaces: ``surface`` (the Playground's optimizers side by side) and ``landscape`` (a map of
runs over two hyperparameters), with the theory of gradient methods on a quadratic beside the runs.

On the quadratic 0.5 (u^2 + condition w^2) (``engine.tasks.surfaces.quadratic``) the Hessian's eigenvalues are 1 and
the condition number, the largest being h. Heavy ball and Nesterov are AutoSGM's filter with (eta_bar, beta, gamma)
= (1, beta, 0) and (1 + beta, beta, beta / (1 + beta)) (shared/spec/autosgm.md §2.2, torch's forms), so each
eigenvalue's error contracts by the spectral radius of z^2 - (1 + beta - kappa) z + (beta - kappa gamma) with
kappa = lr eta_bar h_i (§3.2, ``engine.theory.spectral_radius``); the slowest eigenvalue sets the rate.
"""

# ruff: noqa: RUF001  (sentences use the spec's Greek symbols)

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, ClassVar

from engine.figures import RUN_CAPTIONS, trajectory_figure
from engine.lessons.base import (
    CONVERGES,
    DIVERGES,
    Arguments,
    Config,
    Figures,
    Kind,
    Link,
    Outcome,
    control,
    number,
    only,
    slot,
    whole,
)
from engine.runs import (
    ComparisonSpec,
    OptimizerChoice,
    RunResult,
    run_comparison,
)
from engine.tasks import SURFACES, Surface, get_surface, surface_argument_names
from engine.theory import largest_curvature, spectral_radius, stability_margin
from optimizers import REGISTRY, HyperParam

QUADRATIC_ARGS = ("condition", "rotation")
_FILTERS = {"sgd": lambda beta: (1.0, 0.0, 0.0), "momentum": lambda beta: (1.0, beta, 0.0),
            "nesterov": lambda beta: (1.0 + beta, beta, beta / (1.0 + beta))}
"""(eta_bar, beta, gamma) of torch's SGD, heavy ball and Nesterov as AutoSGM's filter (spec §2.2)."""


def surface_config(data: Mapping[str, Any], config: Config) -> Surface:
    """The surface of ``data`` (a named one; the quadratic with its condition and rotation), filled into ``config``."""
    name = data.get("surface", "quadratic")
    if name not in SURFACES:
        raise ValueError(f"invalid surface={name!r}; allowed values: {', '.join(SURFACES)}")
    config["surface"] = name
    if set(QUADRATIC_ARGS) <= set(surface_argument_names(name)):
        config["condition"] = number(data, "condition", 10.0, low=1.0, high=1e6)
        config["rotation"] = number(data, "rotation", 0.0, low=-360.0, high=360.0)
    elif any(arg in data for arg in QUADRATIC_ARGS):
        raise ValueError(f"condition and rotation belong to the quadratic, not to surface={name!r}")
    return _surface(config)


def surface_args(config: Config) -> dict[str, Any]:
    """The surface's own arguments in ``config`` (a quadratic's condition and rotation)."""
    return {arg: config[arg] for arg in QUADRATIC_ARGS if arg in config}


def _surface(config: Config) -> Surface:
    return get_surface(config["surface"], **surface_args(config))


def start_config(data: Mapping[str, Any], surface: Surface, config: Config) -> None:
    (xmin, xmax), (ymin, ymax) = surface.domain
    config["x0"] = number(data, "x0", surface.start[0], low=xmin, high=xmax)
    config["y0"] = number(data, "y0", surface.start[1], low=ymin, high=ymax)


def surface_controls(config: Config) -> list[HyperParam]:
    """The surface's controls: a quadratic's condition number and rotation."""
    if "condition" not in config:
        return []
    return [control("condition", config["condition"], 1.0, 1000.0, "The condition number: the largest curvature h "
                    "of this quadratic (its smallest is 1).", log=True),
            control("rotation", config["rotation"], -90.0, 90.0, "The angle of the bowl's flat axis, in degrees.")]


def _hyper_controls(prefix: str, choice: OptimizerChoice) -> list[HyperParam]:
    """One control per numeric hyperparameter of ``choice`` that has a range, named ``<prefix>.<name>``."""
    return [replace(hp, name=f"{prefix}.{hp.name}", default=choice.hyperparameters[hp.name])
            for hp in REGISTRY[choice.key].hyperparams if hp.kind != "choice" and hp.low is not None]


def _with_hyper(choice: str, name: str, value: Any) -> str:
    """The optimizer ``choice`` (``parse`` form) with hyperparameter ``name`` set to ``value``."""
    parsed = OptimizerChoice.parse(choice)
    return str(OptimizerChoice(parsed.key, {**parsed.hyperparameters, name: value}))


def converged(result: RunResult) -> bool:
    """The Landscape's measure of a stable run: it did not diverge and ended below its starting loss."""
    return result.status != "diverged" and bool(result.records) and \
        result.summary["final_loss"] < result.records[0]["loss"]


def run_sentence(result: RunResult) -> str:
    if result.status == "diverged":
        return f"{result.spec.optimizer.label} diverged at step {result.diverged_at}"
    start = result.records[0]["loss"] if result.records else math.nan
    return (f"{result.spec.optimizer.label} ended at loss {result.summary['final_loss']:.3g} after "
            f"{int(result.summary['steps_done'])} steps (it started at {start:.3g})")


def margin_sentence(choice: OptimizerChoice, surface: Surface) -> str:
    """lr · h against the optimizer's limit on a convex quadratic (``engine.theory.stability_margin``)."""
    h = largest_curvature(surface)
    margin = None if h is None else stability_margin(choice.key, choice.hyperparameters, h)
    if margin is None:
        return f"No closed-form limit for {choice.label} here."
    lr = float(choice.hyperparameters["lr"])
    limit = lr * h / float(margin)
    verdict = "inside it: converges" if margin < 1 else "past it: diverges"
    name = REGISTRY[choice.key].name
    return f"lr · h = {lr:g} × {h:g} = {lr * h:.3g} against {name}'s limit {limit:.3g}, {verdict}."


# --- surface: the Playground's figure -----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _comparison(key: str) -> tuple[RunResult, ...]:
    """The comparison ``key`` (a ``ComparisonSpec``'s JSON), run once per process."""
    return tuple(run_comparison(ComparisonSpec.from_json(key)))


class SurfaceKind(Kind):
    """Optimizers side by side on a 2-D surface from one start: the Playground's trajectory figure.

    Configuration: ``surface`` (a named surface, default ``quadratic``), ``condition`` and ``rotation`` (the
    quadratic's), ``x0``, ``y0`` (the start), ``noise``, ``steps`` and ``optimizers`` (1 to 4, ``adam:lr=0.01``).
    Measures: ``status`` (``converges`` / ``diverges``, of ``optimizer``), ``first_below`` (the registry key of the
    optimizer whose loss first falls below ``tolerance``, ``none`` or ``tie``), ``first_step`` (the length of
    ``optimizer``'s first step) and ``lr_fraction`` (``optimizer``'s own lr at ``step`` over its target).
    """

    name = "surface"
    measures: ClassVar[dict[str, bool]] = {"status": False, "first_below": False, "first_step": True,
                                           "lr_fraction": True}
    _FIELDS = ("surface", *QUADRATIC_ARGS, "x0", "y0", "noise", "steps", "optimizers")

    def check(self, data: Mapping[str, Any]) -> Config:
        only(data, self._FIELDS)
        config: Config = {}
        surface = surface_config(data, config)
        start_config(data, surface, config)
        config["noise"] = number(data, "noise", 0.0, low=0.0, high=10.0)
        config["steps"] = whole(data, "steps", 200, 10, 2000)
        optimizers = data.get("optimizers")
        if not isinstance(optimizers, list | tuple) or not 1 <= len(optimizers) <= 4:
            raise ValueError(f"invalid optimizers={optimizers!r}; expected 1 to 4 optimizers like 'sgd:lr=0.1'")
        config["optimizers"] = [str(OptimizerChoice.parse(str(text))) for text in optimizers]
        self.spec(config)
        return config

    def spec(self, config: Config) -> ComparisonSpec:
        return ComparisonSpec(config["surface"], tuple(OptimizerChoice.parse(text) for text in config["optimizers"]),
                              steps=config["steps"], task_args={**surface_args(config), "noise": config["noise"],
                                                                "start": (config["x0"], config["y0"])})

    def results(self, config: Config) -> tuple[RunResult, ...]:
        return _comparison(self.spec(config).to_json())

    def controls(self, config: Config) -> list[HyperParam]:
        hypers = [hp for index, text in enumerate(config["optimizers"], start=1)
                  for hp in _hyper_controls(f"opt{index}", OptimizerChoice.parse(text))]
        return [*surface_controls(config), *hypers,
                control("noise", config["noise"], 0.0, 10.0, "Standard deviation of the gradient noise.")]

    def label(self, config: Config, name: str) -> str:
        """``SGD: lr`` for the hyperparameter ``opt1.lr`` of an SGD in slot 1."""
        slot_name, dot, hyper = name.partition(".")
        if not dot:
            return super().label(config, name)
        return f"{REGISTRY[OptimizerChoice.parse(config['optimizers'][int(slot_name[3:]) - 1]).key].name}: {hyper}"

    def with_values(self, config: Config, values: Mapping[str, Any]) -> Config:
        changed = dict(config, optimizers=list(config["optimizers"]))
        for name, value in values.items():
            slot_name, dot, hyper = name.partition(".")
            if dot:
                index = int(slot_name.removeprefix("opt")) - 1
                changed["optimizers"][index] = _with_hyper(changed["optimizers"][index], hyper, value)
            else:
                changed[name] = value
        return self.check(changed)

    def check_arguments(self, config: Config, measure: str, arguments: Arguments) -> None:
        takes = {"status": ("optimizer",), "first_below": ("tolerance",), "first_step": ("optimizer",),
                 "lr_fraction": ("optimizer", "step")}[measure]
        for name in arguments:
            if name not in takes:
                raise ValueError(f"the measure {measure!r} takes no argument {name!r}")
        if measure == "first_below":
            number(arguments, "tolerance", None, low=0.0, low_open=True)
            keys = [OptimizerChoice.parse(text).key for text in config["optimizers"]]
            if len(set(keys)) != len(keys):
                raise ValueError("first_below names the winner by its optimizer: give each optimizer once")
        else:
            slot(arguments, len(config["optimizers"]))
        if measure == "lr_fraction":
            whole(arguments, "step", 1, 1, config["steps"])

    def figures(self, config: Config, measure: str, arguments: Arguments, revealed: bool) -> Figures:
        surface, results = _surface(config), self.results(config)
        if revealed:
            return [(trajectory_figure(surface, results, surface_3d=False), RUN_CAPTIONS["trajectory"])]
        starts = [RunResult(r.spec, "running", r.records[:1], [], {}) for r in results]  # where they start, no more
        return [(trajectory_figure(surface, starts, step=1, surface_3d=False),
                 "The surface and where every optimizer starts. Commit to a prediction to see the runs.")]

    def outcome(self, config: Config, measure: str, arguments: Arguments) -> Outcome:
        results = self.results(config)
        surface = _surface(config)
        if measure == "first_below":
            return _first_below(config, results, float(arguments["tolerance"]))
        result = results[slot(arguments, len(results)) - 1]
        choice = result.spec.optimizer
        if measure == "status":
            return Outcome(CONVERGES if converged(result) else DIVERGES, margin_sentence(choice, surface),
                           run_sentence(result) + ".")
        if measure == "first_step":
            first = result.records[0]
            expected = first_step_theory(choice, float(first["grad_norm"]))
            theory = "No closed form for this first step." if expected is None else \
                f"The first step is {expected:.4g} long (‖g₁‖ = {first['grad_norm']:.4g})."
            return Outcome(float(first["update_norm"]), theory,
                           f"The run's first step: {first['update_norm']:.4g} long.")
        step = int(arguments.get("step", 1))
        row = next(row for row in result.records if row["step"] == step) if result.records[-1]["step"] >= step \
            else result.records[-1]
        target = _target_lr(choice)
        planned = aligned_lr(choice, step)
        theory = "" if planned is None else f"With every pair of gradients aligned (cos = 1), AGAW's lr " \
            f"at step {step} would be {planned:.4g}, {planned / target:.0%} of its target {target:g}."
        return Outcome(float(row["lr"]) / target, theory, f"The run's lr at step {int(row['step'])}: "
                       f"{row['lr']:.4g}, {row['lr'] / target:.0%} of its target {target:g}.")

    def link(self, config: Config) -> Link:
        query = {"surface": config["surface"], **{arg: f"{config[arg]:g}" for arg in QUADRATIC_ARGS if arg in config},
                 "x0": f"{config['x0']:g}", "y0": f"{config['y0']:g}", "noise": f"{config['noise']:g}",
                 "steps": str(config["steps"]), "n": str(len(config["optimizers"]))}
        query |= {f"opt{index}": text for index, text in enumerate(config["optimizers"], start=1)}
        return Link("pages/playground.py", "Playground", query)


def _first_below(config: Config, results: tuple[RunResult, ...], tolerance: float) -> Outcome:
    """Which optimizer's loss first falls below ``tolerance``, and the theory's rate of each on a quadratic."""
    reached = {r.spec.optimizer.key: next((int(row["step"]) for row in r.records if row["loss"] < tolerance), None)
               for r in results}
    steps = {key: step for key, step in reached.items() if step is not None}
    best = min(steps.values(), default=None)
    winners = [key for key, step in steps.items() if step == best]
    value = "none" if not winners else (winners[0] if len(winners) == 1 else "tie")
    labels = {r.spec.optimizer.key: r.spec.optimizer.label for r in results}
    run = "; ".join(f"{labels[key]} below {tolerance:g} at step {step}" if step is not None
                    else f"{labels[key]} never below {tolerance:g}" for key, step in reached.items())
    rates = [(labels[r.spec.optimizer.key], quadratic_rate(r.spec.optimizer, config)) for r in results]
    theory = "; ".join(f"{label}: ρ = {rate:.4f}" for label, rate in rates if rate is not None)
    return Outcome(value, f"The contraction per step on this quadratic: {theory}." if theory else
                   "No closed-form rate for these optimizers here.", run + ".")


def quadratic_rate(choice: OptimizerChoice, config: Config) -> float | None:
    """The spectral radius of SGD, heavy ball or Nesterov on the configured quadratic: the slowest of its two
    eigenvalues 1 and ``condition`` (module docstring); None elsewhere."""
    if "condition" not in config or choice.key not in _FILTERS:
        return None
    eta, beta, gamma = _FILTERS[choice.key](float(choice.hyperparameters.get("momentum", 0.0)))
    lr = float(choice.hyperparameters["lr"])
    return max(float(spectral_radius(lr * eta * h, beta, gamma)) for h in (1.0, config["condition"]))


def first_step_theory(choice: OptimizerChoice, grad_norm: float) -> float | None:
    """The length of an optimizer's first step from a 2-D point with gradient norm ``grad_norm`` (both coordinates
    of the gradient non-zero): Adam's bias-corrected first step moves every coordinate by lr, so lr √2; GNW-Adam's
    by lr / (1 + ‖g‖) (shared/spec/optimizers.md §4); gradient descent's, heavy ball's and Nesterov's are lr ‖g‖
    and lr (1 + β) ‖g‖; A2Grad's is ‖g‖ / (2L) (§1.2, the paper's convention). None for the others."""
    hyper, key = choice.hyperparameters, choice.key
    if key in ("adam", "adamw"):
        return float(hyper["lr"]) * math.sqrt(2)
    if key == "gnw_adam":
        return float(hyper["lr"]) * math.sqrt(2) / (1 + grad_norm)
    if key in ("sgd", "momentum"):
        return float(hyper["lr"]) * grad_norm
    if key == "nesterov":
        return float(hyper["lr"]) * (1 + float(hyper["momentum"])) * grad_norm
    if key == "a2grad" and hyper["convention"] == "paper":
        return grad_norm / (2 * float(hyper["lips"]))
    return None


def _target_lr(choice: OptimizerChoice) -> float:
    return float(choice.hyperparameters["target_lr" if choice.key == "agaw" else "lr"])


def aligned_lr(choice: OptimizerChoice, step: int) -> float | None:
    """AGAW's lr at ``step`` when every pair of consecutive gradients is aligned: eta_0 + (t - 1) (eta* - eta_0) / W,
    capped at eta* (shared/spec/optimizers.md §2.1); None for other optimizers."""
    if choice.key != "agaw":
        return None
    hyper = choice.hyperparameters
    target, initial = float(hyper["target_lr"]), float(hyper["initial_lr"])
    return min(target, initial + (step - 1) * (target - initial) / int(hyper["warmup_steps"]))
