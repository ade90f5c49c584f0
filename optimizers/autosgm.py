"""AutoSGM as a torch optimizer: validation, lazy packed state, presets that reproduce torch.optim, and stats."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.autosgm_maths import (
    NUMERATORS,
    AutoSGMSums,
    autosgm,
    filter_gain,
    secant_terms,
    settle_grad_dot,
    state_layout,
)
from optimizers.runs import Hyper, run_values
from optimizers.stability import kappa_max
from optimizers.stepping import evaluate_closure, params_with_grad
from optimizers.validation import check_choice, check_number, check_probability
from optimizers.windows import WindowConfig, check_window, window_at

PRESETS = ("sgd", "heavy_ball", "nesterov", "adam", "adamw", "autosgm")
_HYPER = ("lr", "beta", "gamma", "eta", "beta_a", "beta_n", "debias", "aoptlr", "num_lrc", "eps", "repeat_eps",
          "weight_decay", "wd_level", "cf", "per_layer", "maximize")
"""The param-group keys that ``autosgm`` takes as keyword arguments (the group also holds ``rc_cfg``)."""


def _flag(owner: str, name: str, value: object) -> bool:
    if value not in (True, False):
        raise ValueError(f"{owner}: invalid {name}={value!r}; allowed values: True, False")
    return bool(value)


def _validated(owner: str, group: dict[str, Any]) -> dict[str, Any]:
    """The group's AutoSGM hyperparameters, checked (a ValueError naming the field otherwise)."""
    if group["debias"] not in (True, False, "exact"):
        raise ValueError(f"{owner}: invalid debias={group['debias']!r}; allowed values: True, False, 'exact'")
    open_unit = {"low": -1.0, "high": 1.0, "low_open": True, "high_open": True}
    return {
        "lr": check_number(owner, "lr", group["lr"], low=0.0),
        "aoptlr": _flag(owner, "aoptlr", group["aoptlr"]),
        "num_lrc": check_number(owner, "num_lrc", group["num_lrc"], low=0, high=len(NUMERATORS) - 1, integer=True),
        "beta_n": check_probability(owner, "beta_n", group["beta_n"]),
        "beta_a": check_probability(owner, "beta_a", group["beta_a"]),
        "beta": check_probability(owner, "beta", group["beta"]),
        "gamma": check_number(owner, "gamma", group["gamma"], **open_unit),  # the zero inside the unit circle
        "eta": check_number(owner, "eta", group["eta"], low=0.0),
        "debias": group["debias"] if group["debias"] == "exact" else bool(group["debias"]),
        "rc_cfg": check_window(owner, group["rc_cfg"]),
        "weight_decay": check_number(owner, "weight_decay", group["weight_decay"], low=0.0),
        "wd_level": check_number(owner, "wd_level", group["wd_level"], low=0, high=1, integer=True),
        "eps": check_number(owner, "eps", group["eps"], low=0.0),
        "repeat_eps": _flag(owner, "repeat_eps", group["repeat_eps"]),
        "cf": check_number(owner, "cf", group["cf"], low=0.0, low_open=True),
        "per_layer": _flag(owner, "per_layer", group["per_layer"]),
        "maximize": _flag(owner, "maximize", group["maximize"]),
    }


def _unpacked(owner: str, name: str, value: object, fields: tuple[str, ...], least: int | None = None) -> tuple:
    if not isinstance(value, tuple | list) or not (least or len(fields)) <= len(value) <= len(fields):
        raise ValueError(f"{owner}: invalid {name}={value!r}; expected a tuple ({', '.join(fields)})")
    return tuple(value)


class AutoSGM(Optimizer):
    """AutoSGM: w <- w - F_t (a_t / d_t) kappa_t H(z) g, H a first-order lowpass filter with pole beta and zero gamma.

    The gradient passes through H(z) = eta_in / (1 - gamma) (1 - gamma z^-1) / (1 - beta z^-1) (unit DC gain with
    eta_in = 1 - beta); the learning rate is the ratio oracle mu a_t / d_t (d_t the root of a beta_a EMA of g^2, a_t
    a numerator estimator) times a window F_t. The maths is ``autosgm`` (runs axis); this class is its R = 1 adapter.
    SGD, heavy ball, Nesterov, Adam and AdamW are special cases: ``AutoSGM.preset`` (spec F1-F5).

    Args (the seed's tuples; spec §1, defaults spec §5):
        params: parameters or param groups. A group may override any key of ``self.defaults``, the tuples' fields by
            name: lr, aoptlr, num_lrc, beta_n, beta_a, beta, gamma, eta, debias, rc_cfg, weight_decay, wd_level, eps,
            repeat_eps, cf, per_layer, maximize.
        lr_cfg: (aoptlr, lr_init, num_lrc) = (True, 1e-3, 0). aoptlr: use the ratio oracle (else d_t = 1, a_t = mu).
            lr_init: mu >= 0, the group's ``lr`` (LR schedulers scale it). num_lrc: the numerator a_t, 0 unity,
            1 Chebyshev-Huber <= 1, 2 max-bound, 3 Markov-Huber, 4 Chebyshev-Huber partial correlation (``NUMERATORS``).
        beta_cfg: (beta_n, beta_a, beta_i, gamma_i, eta_i, debias) = (0.9999, 0.999, 0.9, 0.5528, 0, True).
            beta_n: pole of the numerators' EMAs; beta_a: of the moment; beta_i (``beta``): the filter's pole, each
            in [0, 1); gamma_i (``gamma``): its zero, -1 < gamma < 1 (useful: -(1 - beta)/(1 + beta) <= gamma < beta);
            eta_i (``eta``) >= 0: input gain of the filter and the moment, 0 meaning 1 - pole; debias: True (the
            seed's 1 / (1 - beta^t)), False, or "exact" (one over the filter's own step response, spec §2.1).
        rc_cfg: the window (rcm, inseq, x, n, m, tau, spe, cfact, e) = (1, 0, 0, 2, 1, 1, 1000, 1, 0): cosine
            annealing over 1000 steps, then restart (``optimizers.windows``; set tau, spe to your run).
        wd_cfg: (wd_cte, wd_lvl) = (0, 0): rho >= 0; level 0 coupled (L2), 1 decoupled (AdamW(lam) is
            rho = lam (1 - gamma) / (1 - beta)).
        eps_cfg: (eps, repeat_eps) = (1e-8, False): eps >= 0 added to d (and inside its root if repeat_eps).
            ``(eps,)`` also works (the seed README's form, which raised IndexError in the seed; spec §5 item 9).
        cf: the Huber multiplier of numerators 1 and 3 (> 0), default 4. per_layer: average numerators 2-4 over
            each tensor (the seed's ``miscs=(per_lay,)``), default True. maximize: ascend, default False.

    The parameter itself is the state w: no private master copy, so edits to a parameter between steps are seen,
    and no entry is nudged by +eps (deviation from the seed, spec §5 item 6).
    After each step ``stats`` holds floats, coordinate means over all stepped tensors: ``window`` (F_t),
    ``numerator`` (a_t), ``denominator`` (d_t), ``lr_effective`` (alpha_t = F_t a_t kappa_t / d_t, the rate on the
    raw filter output), ``curvature`` h_t = <g_t - g_{t-1}, w_t - w_{t-1}> / ||w_t - w_{t-1}||^2 (the secant
    along the path; g includes coupled decay) and ``stability_margin`` = kappa_t / kappa_max(beta, gamma) with
    kappa_t = lr_effective eta_bar h_t, eta_bar = eta_in / (1 - gamma) (``optimizers.stability.kappa_max``, the
    scalar twin of ``engine.theory.kappa_max``). On a quadratic with a constant rate the loop
    is stable iff 0 < kappa < kappa_max (spec §3.2), so a margin near 1 is a step at the edge of stability. It is an
    estimate: h_t is one secant, and a per-coordinate rate is replaced by its mean; exact for a scalar quadratic
    with d = 1. NaN on the first step (no previous step) and on the first step after the set of tensors stepped
    together changes; the largest over param groups. The telemetry costs two sums over the packed tensors per step;
    the secant's three dot products are taken when ``stats`` is first read after a step (from g_{t-1}, g_t and
    D_{t-1}, which the step keeps in buffers it alternates), so a step nobody inspects does not pay for them.

    State: ``autosgm`` works on the tensors of a call packed back to back (one kernel per operation); each
    parameter's state entries (``state_layout``) are views into those packed buffers, so ``state_dict`` holds one
    tensor per entry and parameter as usual.

    Reference: shared/spec/autosgm.md (seed version of github.com/somefunAgba/autosgm; reimplemented from the spec).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr_cfg: tuple = (True, 1e-3, 0),
        beta_cfg: tuple = (0.9999, 0.999, 0.9, 0.5528, 0.0, True),
        rc_cfg: tuple = WindowConfig(),
        wd_cfg: tuple = (0.0, 0),
        eps_cfg: tuple = (1e-8, False),
        *,
        cf: float = 4.0,
        per_layer: bool = True,
        maximize: bool = False,
    ) -> None:
        owner = type(self).__name__
        aoptlr, lr, num_lrc = _unpacked(owner, "lr_cfg", lr_cfg, ("aoptlr", "lr_init", "num_lrc"))
        beta_n, beta_a, beta, gamma, eta, debias = _unpacked(
            owner, "beta_cfg", beta_cfg, ("beta_n", "beta_a", "beta_i", "gamma_i", "eta_i", "debias"))
        rc_cfg = _unpacked(owner, "rc_cfg", rc_cfg, WindowConfig._fields)
        weight_decay, wd_level = _unpacked(owner, "wd_cfg", wd_cfg, ("wd_cte", "wd_lvl"))
        # Deviation: (eps,) is accepted with repeat_eps False; the seed raised IndexError on it (spec §5 item 9).
        eps, repeat_eps = (*_unpacked(owner, "eps_cfg", eps_cfg, ("eps", "repeat_eps"), least=1), False)[:2]
        defaults = dict(lr=lr, beta=beta, gamma=gamma, eta=eta, beta_a=beta_a, beta_n=beta_n, debias=debias,
                        aoptlr=aoptlr, num_lrc=num_lrc, eps=eps, repeat_eps=repeat_eps, weight_decay=weight_decay,
                        wd_level=wd_level, cf=cf, per_layer=per_layer, maximize=maximize, rc_cfg=rc_cfg)
        super().__init__(params, _validated(owner, defaults))
        self._stepped: list[tuple[dict[str, Any], Hyper, AutoSGMSums]] = []  # the last step's calls, for ``stats``
        self._stats: dict[str, float] | None = None  # ``stats`` once read
        self._packs: dict[tuple[int, ...], _Pack] = {}  # the packed state of each call, keyed by its members' ids

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Validate the group's hyperparameters (its own or the defaults) before adding it."""
        param_group.update(_validated(type(self).__name__, {**self.defaults, **param_group}))
        super().add_param_group(param_group)

    @classmethod
    def preset(cls, name: str, params: Iterable[Any], **overrides: Any) -> AutoSGM:
        """An AutoSGM configured as a known optimizer, with that optimizer's keyword arguments as ``overrides``.

        "sgd" (lr, weight_decay), "heavy_ball" and "nesterov" (lr, momentum=0.9, weight_decay): torch.optim.SGD with
        dampening 0 (spec F1-F3: aoptlr off, eta_i = 1, gamma 0 or momentum / (1 + momentum), no debias, no window).
        "adam" and "adamw" (lr, betas, eps, weight_decay): torch.optim.Adam / AdamW (F4, F5: num_lrc 0, gamma 0,
        eta_i 0, debias, repeat_eps off, no window; AdamW's decay lam becomes rho = lam / (1 - beta1), decoupled).
        "autosgm": the constructor's keyword arguments over its defaults (spec §5's recommendation).
        """
        check_choice(cls.__name__, "preset", name, PRESETS)
        return cls(params, **overrides) if name == "autosgm" else _TORCH_PRESETS[name](cls, params, **overrides)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = evaluate_closure(closure)
        owner = type(self).__name__
        stepped, packs = [], {}
        for group in self.param_groups:
            layout = state_layout(group["aoptlr"], group["num_lrc"], group["per_layer"])
            by_step: dict[int, list[tuple[Tensor, dict[str, Any]]]] = {}  # a call's layers share t (usually all)
            for p in params_with_grad(owner, group):
                state = self.state[p]
                if not state:
                    state["step"] = 0  # t: completed steps of this tensor; the other entries: see state_layout
                    state.update({name: torch.zeros_like(p) if full else p.new_zeros(()) for name, full in
                                  layout.items()})
                state["step"] += 1
                by_step.setdefault(state["step"], []).append((p, state))
            hyper = {key: group[key] for key in _HYPER}
            for t, members in by_step.items():
                params, states = zip(*members, strict=True)
                key = tuple(map(id, params))
                pack = packs[key] = self._pack(states, layout, self._packs.get(key))
                value = window_at(t, group["rc_cfg"])
                sums = autosgm(list(params), [p.grad for p in params], pack.buffers, t, window=value,
                               workspace=pack.workspace, **hyper)
                self._follow_delta(pack, states)
                stepped.append((group, value, sums))
        self._packs = packs  # only the packs in use: an optimizer holds one per param group in the usual case
        if stepped:
            self._stepped, self._stats = stepped, None
        return loss

    @property
    def stats(self) -> dict[str, float]:
        """The last step's telemetry (``{}`` before a step), computed when first read: a step that nobody inspects
        does not pay for the secant's three passes over the tensors."""
        if self._stats is None and self._stepped:
            self._stats = {name: values[0] for name, values in run_stats(self._stepped).items()}
        return self._stats or {}

    def state_dict(self) -> dict[str, Any]:  # type: ignore[override]
        """As ``torch.optim.Optimizer``'s, with <g_t, D_t> written into the state (the next secant needs it)."""
        for pack in self._packs.values():
            settle_grad_dot(pack.buffers, pack.workspace)
        return super().state_dict()

    @staticmethod
    def _follow_delta(pack: _Pack, states: tuple[dict[str, Any], ...]) -> None:
        """Point the members' ``delta`` entries at the buffer that holds D_t now (``autosgm`` alternates two)."""
        buffer = pack.buffers["delta"]
        cached = pack.delta_views.get(id(buffer))
        if cached is None or cached[0] is not buffer:  # the entry holds its buffer: no other tensor takes its id
            cached = pack.delta_views[id(buffer)] = (buffer, _member_views(buffer, states, "delta"))
        for state, view in zip(states, cached[1], strict=True):
            state["delta"] = view
        pack.views["delta"] = cached[1]

    @staticmethod
    def _pack(states: tuple[dict[str, Any], ...], layout: dict[str, bool], pack: _Pack | None) -> _Pack:
        """The members' state packed for ``autosgm``; their state entries are views into it (so ``state_dict`` and
        readers see one tensor per parameter). Rebuilt, copying, when the members' entries are not its views: on
        the first step, after ``load_state_dict``, when the tensors stepped together change."""
        if pack is not None and all(s["filter"] is v for s, v in zip(states, pack.views["filter"], strict=True)):
            return pack
        memory = torch.stack([torch.stack([s["delta_scale"], s["grad_dot_delta"]]) for s in states])
        same_call = all(s.get("call_layers") == len(states) for s in states) and torch.equal(
            memory, memory[:1].expand_as(memory))
        if not same_call and any(s["step"] > 1 for s in states):  # these tensors last stepped in other calls
            for state in states:  # keep each change exactly (scale 1); <g_{t-1}, D> over the new set is unknown
                state["delta"] = state["delta"] * state["delta_scale"]
                state["delta_scale"], state["grad_dot_delta"] = torch.ones_like(state["delta_scale"]), (
                    torch.full_like(state["grad_dot_delta"], math.nan))
        buffers, views = {}, {}
        for name in layout:
            parts = [state[name].reshape(1, -1) for state in states]
            buffers[name] = torch.cat(parts, dim=1)
            views[name] = _member_views(buffers[name], states, name)
            for state, view in zip(states, views[name], strict=True):
                state[name] = view
        for state in states:
            state["call_layers"] = len(states)  # how many tensors stepped together with this one (the secant's scope)
        return _Pack(buffers, views, {}, {})


def _member_views(buffer: Tensor, states: tuple[dict[str, Any], ...], name: str) -> list[Tensor]:
    """A packed [1, n] buffer split into the members' ``name`` entries, each viewed with that entry's shape."""
    parts = buffer[0].split([state[name].numel() for state in states])
    return [part.view(state[name].shape) for part, state in zip(parts, states, strict=True)]


class _Pack(NamedTuple):
    """One call's packed state: ``autosgm``'s buffers ([1, N] or [1, L]), each member's views into them, the
    reused temporaries (``autosgm``'s workspace) and the members' views into both buffers D alternates between."""

    buffers: dict[str, Tensor]
    views: dict[str, list[Tensor]]
    workspace: dict[str, Any]
    delta_views: dict[int, tuple[Tensor, list[Tensor]]]


def _sgd(cls: type[AutoSGM], params, lr: float, momentum: float, weight_decay: float, nesterov: bool) -> AutoSGM:
    """torch.optim.SGD(lr, momentum, dampening=0, weight_decay, nesterov) (spec F1-F3)."""
    gamma = momentum / (1 + momentum) if nesterov else 0.0  # Nesterov's zero: eta_i / (1 - gamma) = 1 + momentum
    return cls(params, (False, lr, 0), (0.9999, 0.999, momentum, gamma, 1.0, False), WindowConfig(rcm=0),
               (weight_decay, 0))


def _adam(cls: type[AutoSGM], params, lr: float, betas: tuple[float, float], eps: float, weight_decay: float,
          decoupled: bool) -> AutoSGM:
    """torch.optim.Adam(lr, betas, eps, weight_decay), or AdamW when ``decoupled`` (spec F4, F5)."""
    beta1, beta2 = betas
    wd_cfg = (weight_decay / (1 - beta1), 1) if decoupled else (weight_decay, 0)  # rho = lam (1 - gamma) / (1 - beta)
    return cls(params, (True, lr, 0), (0.9999, beta2, beta1, 0.0, 0.0, True), WindowConfig(rcm=0), wd_cfg,
               (eps, False))


_TORCH_PRESETS: dict[str, Callable[..., AutoSGM]] = {
    "sgd": lambda cls, params, lr=1e-3, weight_decay=0.0: _sgd(cls, params, lr, 0.0, weight_decay, False),
    "heavy_ball": lambda cls, params, lr=1e-3, momentum=0.9, weight_decay=0.0: _sgd(
        cls, params, lr, momentum, weight_decay, False),
    "nesterov": lambda cls, params, lr=1e-3, momentum=0.9, weight_decay=0.0: _sgd(
        cls, params, lr, momentum, weight_decay, True),
    "adam": lambda cls, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0: _adam(
        cls, params, lr, betas, eps, weight_decay, False),
    "adamw": lambda cls, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2: _adam(
        cls, params, lr, betas, eps, weight_decay, True),
}
"""The presets that reproduce torch.optim, each taking that optimizer's keyword arguments (and defaults)."""


def run_stats(stepped: list[tuple[Mapping[str, Any], Hyper, AutoSGMSums]], runs: int = 1) -> dict[str, list[float]]:
    """The step's ``stats`` per run (R floats each) from each call's (hyperparameters, window F_t, sums): coordinate
    means, and the margin of the most critical call. ``eta``, ``beta``, ``gamma`` and F_t: numbers or [R] tensors."""
    values = [[sums.numerator, sums.denominator, sums.rate, *secant_terms(sums.secant)] for *_, sums in stepped]
    tensors = [v.reshape(-1) for row in values for v in row if isinstance(v, Tensor)]
    read = iter(torch.cat(tensors).tolist() if tensors else [])  # one read for every tensor-valued sum, R values each
    numerator, denominator, rate, dot, sq = zip(*[[list(islice(read, runs)) if isinstance(v, Tensor) else
                                                   [float(v)] * runs for v in row] for row in values], strict=True)
    count = sum(sums.count for *_, sums in stepped)
    hyper = [[run_values(group[name], runs) for name in ("eta", "beta", "gamma")] for group, *_ in stepped]
    margins = []  # per run, the largest margin over calls
    for r in range(runs):
        margin = []
        for (eta, beta, gamma), (*_, sums), call_rate, call_dot, call_sq in zip(hyper, stepped, rate, dot, sq,
                                                                               strict=True):
            eta_bar = filter_gain(eta[r], beta[r]) / (1 - gamma[r])
            kappa = call_rate[r] / sums.count * eta_bar * _ratio(call_dot[r], call_sq[r])
            margin.append(kappa / kappa_max(beta[r], gamma[r]))
        margins.append(max((m for m in margin if not math.isnan(m)), default=math.nan))
    return {
        "window": run_values(stepped[0][1], runs),
        "numerator": [sum(call[r] for call in numerator) / count for r in range(runs)],
        "denominator": [sum(call[r] for call in denominator) / count for r in range(runs)],
        "lr_effective": [sum(call[r] for call in rate) / count for r in range(runs)],
        "curvature": [_ratio(sum(call[r] for call in dot), sum(call[r] for call in sq)) for r in range(runs)],
        "stability_margin": margins,
    }


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan
