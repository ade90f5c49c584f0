"""The optimizer registry: the single source that sliders, CLI flags, URL state and search spaces are built from.

Each entry names an optimizer (display name, one-line description), how to build it, and its hyperparameters as
the explorer sees them: default, slider / search range, log scale and one line of help. The range of a
``HyperParam`` is where the explorer lets you look; what is *valid* is the optimizer's own eager check, so an out
of range value gets the optimizer's message (field, value, valid range) everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor
from torch.optim import SGD, Adam, AdamW, Optimizer
from torch.optim.lr_scheduler import LinearLR

from optimizers.a2grad import A2Grad, A2GradRuns
from optimizers.agaw import AGAW, AGAWRuns
from optimizers.autosgm import AutoSGM
from optimizers.autosgm_maths import NUMERATORS
from optimizers.autosgm_runs import AutoSGMRuns
from optimizers.baselines import AdamRuns, SGDRuns, WarmupAdamRuns
from optimizers.gao import GAO, GAORuns
from optimizers.gnw_adam import GNWAdam, GNWAdamRuns
from optimizers.runs_optimizer import RunsHyper, RunsOptimizer
from optimizers.scheduled import Scheduled
from optimizers.validation import check_choice, check_number
from optimizers.windows import SHAPES, WindowConfig, check_window

HyperValue = float | int | str


@dataclass(frozen=True)
class HyperParam:
    """One hyperparameter of a registered optimizer: its type follows ``default`` (float, int, or a choice)."""

    name: str
    default: HyperValue
    help: str
    low: float | None = None  # slider / search range, not validity (the optimizer checks validity)
    high: float | None = None
    log: bool = False
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``"choice"``, ``"int"`` or ``"float"``."""
        if self.choices:
            return "choice"
        return "int" if isinstance(self.default, int) else "float"

    def coerce(self, value: object, owner: str) -> HyperValue:
        """Convert ``value`` (a number, or text from a URL or the CLI) to this parameter's type.

        Raises ``ValueError`` naming the field and the explorer's range when it cannot be read as one (booleans are
        not numbers: ``True`` is refused, never read as 1); the valid range is checked by the optimizer.
        """
        if self.kind == "choice":
            return check_choice(owner, self.name, value, self.choices)
        expected = f"expected {'an integer' if self.kind == 'int' else 'a number'}"
        if self.low is not None and self.high is not None:
            expected += f" in [{self.low:g}, {self.high:g}] (the explorer's range)"
        try:
            if isinstance(value, bool):
                raise TypeError(value)
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
            raise ValueError(f"{owner}: invalid {self.name}={value!r}; {expected}") from None
        if self.kind == "int":
            if not number.is_integer():
                raise ValueError(f"{owner}: invalid {self.name}={value!r}; {expected}")
            return int(number)
        return number


@dataclass(frozen=True)
class OptimizerInfo:
    """A registered optimizer: ``factory(params, **hyperparameters)`` builds it."""

    key: str
    name: str
    description: str
    factory: Callable[..., Optimizer]
    hyperparams: tuple[HyperParam, ...]
    research: bool = False  # one of the optimizers the explorer exists to show (design.md), not a baseline
    runs: Callable[[list[Tensor], RunsHyper], RunsOptimizer] | None = None  # R runs at once (``build_runs``)
    _by_name: dict[str, HyperParam] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {hp.name: hp for hp in self.hyperparams})

    def defaults(self) -> dict[str, HyperValue]:
        return {hp.name: hp.default for hp in self.hyperparams}

    def resolve(self, overrides: Mapping[str, object] | None = None) -> dict[str, HyperValue]:
        """Defaults updated by ``overrides``, each coerced to its type; unknown names are refused."""
        values = self.defaults()
        for name, value in (overrides or {}).items():
            if name not in self._by_name:
                known = ", ".join(self._by_name) or "none"
                raise ValueError(f"{self.name}: unknown hyperparameter {name!r}; known: {known}")
            values[name] = self._by_name[name].coerce(value, self.name)
        return values

    def build(self, params: Iterable[Any], **overrides: object) -> Optimizer:
        """Build the optimizer over ``params`` with defaults updated by ``overrides`` (validated eagerly)."""
        return self.factory(params, **self.resolve(overrides))

    def build_runs(self, params: list[Tensor], hyper: RunsHyper) -> RunsOptimizer:
        """R runs of this optimizer over ``params`` ([R, ...] tensors), stepped as one computation
        (``optimizers.runs_optimizer``): ``hyper`` by name, a value for every run or an [R] tensor, the registry's
        defaults for the rest; values are taken as validated (``engine.runs.OptimizerChoice`` checks them)."""
        if self.runs is None:
            raise ValueError(f"{self.name}: no runs-axis stepping")
        return self.runs(params, {**self.defaults(), **hyper})


def _lr(default: float, help: str = "Learning rate: the step size.") -> HyperParam:
    return HyperParam("lr", default, help, low=1e-5, high=1.0, log=True)


_BETA1 = HyperParam("beta1", 0.9, "Decay of the gradient EMA (momentum).", low=0.0, high=0.999)
_BETA2 = HyperParam("beta2", 0.999, "Decay of the squared-gradient EMA (adaptivity).", low=0.9, high=0.9999)
_MOMENTUM = HyperParam("momentum", 0.9, "Heavy-ball coefficient: the share of the last step kept.", low=0.0, high=0.999)
_NESTEROV_MOMENTUM = HyperParam("momentum", 0.9, "Momentum coefficient (> 0: torch's Nesterov refuses none).",
                                low=0.01, high=0.999)
_BASE = HyperParam("base", "adam", "The wrapped optimizer.", choices=("adam", "sgd"))


_PROBABILITY = {"low": 0.0, "high": 1.0, "high_open": True}
_VALID_RANGES: dict[str, dict[str, Any]] = {
    "lr": {"low": 0.0},
    "momentum": _PROBABILITY,
    "beta1": _PROBABILITY,
    "beta2": _PROBABILITY,
    "weight_decay": {"low": 0.0},
    "warmup_steps": {"low": 1, "integer": True},
}
"""Valid ranges of fields that reach an optimizer under another name (torch's own messages, or ``betas``)."""


def _checked(owner: str, build: Callable[..., Optimizer]) -> Callable[..., Optimizer]:
    """A factory that first checks the registry's field names in this package's message shape, then builds."""

    def factory(params: Iterable[Any], **values: Any) -> Optimizer:
        for name, value in values.items():
            if name in _VALID_RANGES:
                check_number(owner, name, value, **_VALID_RANGES[name])
        return build(params, **values)

    return factory


def _base(owner: str, name: str, params: Iterable[Any], lr: float) -> Optimizer:
    """The inner optimizer ("adam" or "sgd") of the wrapper ``owner``."""
    check_number(owner, "lr", lr, **_VALID_RANGES["lr"])
    return Adam(params, lr=lr) if name == "adam" else SGD(params, lr=lr)


def _linear_warmup(params: Iterable[Any], lr: float, beta1: float, beta2: float, warmup_steps: int) -> Optimizer:
    """Adam whose lr rises linearly from lr / W at step 1 to lr at step W (torch's ``LinearLR``), then stays."""
    adam = Adam(params, lr=lr, betas=(beta1, beta2))
    return Scheduled(adam, LinearLR(adam, start_factor=1 / warmup_steps, total_iters=max(warmup_steps - 1, 1)))


_AUTOSGM_WINDOW = {"rcm": "window", "x": "window_min", "n": "window_order", "m": "window_mode", "spe": "window_steps",
                   "e": "window_flat"}
"""The registry field behind each window setting, so an invalid one is refused under the name the user set."""


def _autosgm(params: Iterable[Any], *, lr: float, beta: float, gamma: float, beta_a: float, beta_n: float, eta: float,
             debias: str, adaptive: str, numerator: str, window: str, window_steps: int, window_min: float,
             window_order: float, window_mode: str, window_flat: float, weight_decay: float, decay: str,
             eps: float) -> Optimizer:
    """AutoSGM from readable fields (its tuples stay the Python API): one window of ``window_steps`` iterations."""
    rc_cfg = check_window("AutoSGM", WindowConfig(SHAPES.index(window), 0, window_min, window_order,
                                                  int(window_mode == "half"), 1, window_steps, 1, window_flat),
                          _AUTOSGM_WINDOW)
    return AutoSGM(params, (adaptive == "true", lr, NUMERATORS.index(numerator)),
                   (beta_n, beta_a, beta, gamma, eta, {"true": True, "false": False}.get(debias, debias)), rc_cfg,
                   (weight_decay, int(decay == "decoupled")), (eps, False))


_ENTRIES = (
    OptimizerInfo(
        "sgd",
        "SGD",
        "Plain gradient descent: w <- w - lr g.",
        _checked("SGD", lambda params, lr: SGD(params, lr=lr)),
        (_lr(0.01),),
        runs=SGDRuns,
    ),
    OptimizerInfo(
        "momentum",
        "Heavy ball",
        "Polyak momentum: b <- mu b + g, w <- w - lr b.",
        _checked("Heavy ball", lambda params, lr, momentum: SGD(params, lr=lr, momentum=momentum)),
        (_lr(0.01), _MOMENTUM),
        runs=SGDRuns,
    ),
    OptimizerInfo(
        "nesterov",
        "Nesterov",
        "Nesterov momentum: the step looks ahead along the momentum, w <- w - lr (g + mu b).",
        _checked(
            "Nesterov", lambda params, lr, momentum: SGD(params, lr=lr, momentum=momentum, nesterov=True)
        ),
        (_lr(0.01), _NESTEROV_MOMENTUM),
        runs=lambda params, hyper: SGDRuns(params, hyper, nesterov=True),
    ),
    OptimizerInfo(
        "adam",
        "Adam",
        "Momentum divided by the root of a squared-gradient EMA, both bias-corrected.",
        _checked("Adam", lambda params, lr, beta1, beta2: Adam(params, lr=lr, betas=(beta1, beta2))),
        (_lr(1e-3), _BETA1, _BETA2),
        runs=AdamRuns,
    ),
    OptimizerInfo(
        "adamw",
        "AdamW",
        "Adam with decoupled weight decay: w <- w (1 - lr wd) - lr m_hat / (sqrt(v_hat) + eps).",
        _checked(
            "AdamW",
            lambda params, lr, beta1, beta2, weight_decay: AdamW(
                params, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay
            ),
        ),
        (
            _lr(1e-3),
            _BETA1,
            _BETA2,
            HyperParam("weight_decay", 0.01, "Decoupled decay: weights shrink by lr * wd a step.", low=0.0, high=0.5),
        ),
        runs=lambda params, hyper: AdamRuns(params, hyper, decoupled=True),
    ),
    OptimizerInfo(
        "adam_warmup",
        "Adam + linear warmup",
        "Adam whose lr rises linearly over the first warmup_steps steps (torch.optim.lr_scheduler.LinearLR).",
        _checked("Adam + linear warmup", _linear_warmup),
        (
            _lr(1e-3, "Learning rate reached at the end of the warmup."),
            _BETA1,
            _BETA2,
            HyperParam("warmup_steps", 100, "Steps to rise from lr / W to lr.", low=1, high=2000, log=True),
        ),
        runs=WarmupAdamRuns,
    ),
    OptimizerInfo(
        "gnw_adam",
        "GNW-Adam",
        "Adam with step size lr / (1 + ||g||): smaller steps where the global gradient norm is large.",
        _checked("GNW-Adam", lambda params, lr, beta1, beta2: GNWAdam(params, lr=lr, betas=(beta1, beta2))),
        (_lr(1e-3, "Base learning rate, divided by 1 + ||g|| each step."), _BETA1, _BETA2),
        research=True,
        runs=GNWAdamRuns,
    ),
    OptimizerInfo(
        "a2grad",
        "A2Grad",
        "Adaptive + accelerated SGD: step 1 / (2L/(k+1) + beta h_k), h_k from gradient deviations, averaged iterates.",
        lambda params, variant, beta, lips, rho, convention, granularity: A2Grad(
            params, beta=beta, lips=lips, rho=rho, variant=variant, convention=convention, granularity=granularity
        ),
        (
            HyperParam("variant", "uni", "How h_k accumulates deviations: uniform, increasing or exponential weights.",
                       choices=("uni", "inc", "exp")),
            HyperParam("beta", 10.0, "Weight of the adaptive term beta h_k in the step's denominator.",
                       low=0.1, high=1000.0, log=True),
            HyperParam("lips", 10.0, "Lipschitz estimate L: the first step is g / (2L).", low=0.1, high=100.0,
                       log=True),
            HyperParam("rho", 0.5, "EMA factor of the exp variant's deviation average.", low=0.0, high=0.99),
            HyperParam("convention", "paper", "paper = torch-optimizer; pytorch_optimizer = kozistr's A2Grad.",
                       choices=("paper", "pytorch_optimizer")),
            HyperParam("granularity", "tensor", "One h per tensor (the libraries) or per coordinate (the paper).",
                       choices=("tensor", "coordinate")),
        ),
        research=True,
        runs=A2GradRuns,
    ),
    OptimizerInfo(
        "agaw",
        "AGAW",
        "Warmup whose lr rises by (target - initial) / W * max(0, cos(g_t, g_{t-1}))^gamma each step.",
        lambda params, target_lr, initial_lr, warmup_steps, gamma, base: AGAW(
            _base("AGAW", base, params, 1.0),  # AGAW overwrites the base's lr
            target_lr=target_lr,
            initial_lr=initial_lr,
            warmup_steps=warmup_steps,
            gamma=gamma,
        ),
        (
            HyperParam("target_lr", 1e-3, "Learning rate at the end of the warmup.", low=1e-5, high=1.0, log=True),
            HyperParam("initial_lr", 1e-7, "Learning rate of the first step.", low=1e-9, high=1e-3, log=True),
            HyperParam("warmup_steps", 100, "Nominal warmup length W (steps if gradients stay aligned).",
                       low=1, high=2000, log=True),
            HyperParam("gamma", 2.0, "Alignment sensitivity: larger ramps only on highly aligned gradients.",
                       low=0.1, high=10.0, log=True),
            _BASE,
        ),
        research=True,
        runs=AGAWRuns,
    ),
    OptimizerInfo(
        "gao",
        "GAO",
        "Each tensor's gradient scaled by clamp(cos(g, EMA(g)), 0, 1) before the base optimizer steps.",
        lambda params, lr, beta, base: GAO(_base("GAO", base, params, lr), beta=beta),
        (
            _lr(1e-3, "Learning rate of the wrapped optimizer."),
            HyperParam("beta", 0.99, "Decay of the gradient EMA the gate compares against.", low=0.0, high=0.999),
            _BASE,
        ),
        research=True,
        runs=GAORuns,
    ),
    OptimizerInfo(
        "autosgm",
        "AutoSGM",
        "Gradient through a lowpass filter (pole beta, zero gamma), stepped by mu F_t a_t / d_t: oracle times window.",
        _autosgm,
        (
            _lr(1e-3, "Trust-region constant mu: the rate before the oracle a_t / d_t and the window F_t."),
            HyperParam("beta", 0.9, "Pole of the smoothing filter (the momentum).", low=0.0, high=0.999),
            HyperParam("gamma", 0.5528, "Zero of the smoothing filter: 0 heavy ball, beta / (1 + beta) Nesterov.",
                       low=-0.9, high=0.99),
            HyperParam("beta_a", 0.999, "Pole of the moment EMA of g^2 behind d_t (Adam's beta2).", low=0.9,
                       high=0.9999),
            HyperParam("beta_n", 0.9999, "Pole of the numerator estimators' EMAs.", low=0.99, high=0.99999),
            HyperParam("eta", 0.0, "Input gain of the filter and the moment; 0 means 1 - pole (unit DC gain).",
                       low=0.0, high=1.0),
            HyperParam("debias", "true", "Bias correction: the seed's 1 / (1 - beta^t), none, or the exact step "
                       "response.", choices=("true", "false", "exact")),
            HyperParam("adaptive", "true", "true: the ratio oracle a_t / d_t; false: the constant rate mu (aoptlr).",
                       choices=("true", "false")),
            HyperParam("numerator", "unity", "The oracle's numerator a_t (num_lrc 0-4).", choices=NUMERATORS),
            HyperParam("window", "cosine", "Shape of the learning-rate window F_t (rcm 0-6).", choices=SHAPES),
            HyperParam("window_steps", 1000, "Window length in steps, then a restart.", low=2, high=100000, log=True),
            HyperParam("window_min", 0.0, "Fraction x the window falls to.", low=0.0, high=0.5),
            HyperParam("window_order", 2.0, "Shape parameter n: order, steepness, or beta_exp's base (in (0, 1)).",
                       low=0.05, high=10.0, log=True),
            HyperParam("window_mode", "half", "half: fall from 1 to x; full: rise from x to 1, then fall.",
                       choices=("half", "full")),
            HyperParam("window_flat", 0.0, "Flat-top fraction e: the window holds 1 for this share first.", low=0.0,
                       high=0.9),
            HyperParam("weight_decay", 0.0, "Decay constant rho.", low=0.0, high=0.1),
            HyperParam("decay", "coupled", "coupled: rho w joins the gradient; decoupled: it joins the step (AdamW).",
                       choices=("coupled", "decoupled")),
            HyperParam("eps", 1e-8, "Numerical floor added to d_t.", low=1e-12, high=1e-4, log=True),
        ),
        research=True,
        runs=AutoSGMRuns,
    ),
)

REGISTRY: dict[str, OptimizerInfo] = {info.key: info for info in _ENTRIES}


def get(key: str) -> OptimizerInfo:
    """The registered optimizer ``key``; an unknown key is refused with the list of known ones."""
    if key not in REGISTRY:
        raise ValueError(f"unknown optimizer {key!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[key]
