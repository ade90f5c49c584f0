"""AutoSGM's ``RunsOptimizer``: R runs from the registry's readable fields, stepped by ``autosgm`` as one call."""

from __future__ import annotations

import torch
from torch import Tensor

from optimizers.autosgm import run_stats
from optimizers.autosgm_maths import NUMERATORS, AutoSGMSums, autosgm, autosgm_state
from optimizers.runs import Hyper
from optimizers.runs_optimizer import RunsHyper, RunsOptimizer
from optimizers.windows import SHAPES, RunWindows, WindowConfig, window_at

_NUMBERS = ("lr", "beta", "gamma", "eta", "beta_a", "beta_n", "eps", "weight_decay")
"""The registry fields that ``autosgm`` takes under the same name (numbers, or one per run)."""

_WINDOW = {"window_min": "x", "window_order": "n", "window_steps": "spe", "window_flat": "e"}
"""The window's numeric registry fields and the ``WindowConfig`` field behind each (the registry's ``_autosgm``)."""


class AutoSGMRuns(RunsOptimizer):
    """R runs of ``AutoSGM`` as the registry builds it (``optimizers.registry._autosgm``): the readable fields mapped
    to ``autosgm``'s arguments, each numeric one a number or [R], the choices shared.

    adaptive -> aoptlr, numerator -> num_lrc (``NUMERATORS``), debias "true" / "false" / "exact", decay -> wd_level
    (coupled 0, decoupled 1); one window (rcm = ``SHAPES`` index of ``window``, m 1 for "half", x, n, spe, e from
    window_min, window_order, window_steps, window_flat; inseq 0, tau 1, cfact 1). repeat_eps off, cf 4, per_layer
    on, maximize off: the class's defaults, which are ``autosgm``'s. Windows that differ per run are evaluated by
    ``RunWindows``, one that all runs share by ``window_at``, as the class does.

    State: ``autosgm``'s packed entries (``state_layout``) and its workspace. ``stats``: the class's, per run.
    """

    def __init__(self, params: list[Tensor], hyper: RunsHyper) -> None:
        super().__init__(params, hyper)
        debias = str(self.hyper["debias"])
        self.options = {  # autosgm's arguments from the registry's choices
            "debias": {"true": True, "false": False}.get(debias, debias),
            "aoptlr": self.hyper["adaptive"] == "true",
            "num_lrc": NUMERATORS.index(str(self.hyper["numerator"])),
            "wd_level": int(self.hyper["decay"] == "decoupled"),
        }
        self.state = autosgm_state(params, aoptlr=self.options["aoptlr"], num_lrc=self.options["num_lrc"])  # packed
        self.workspace: dict = {}  # autosgm's temporaries and views, kept between steps
        self.t = 0  # t: completed steps (every tensor steps every time)
        shared = WindowConfig(SHAPES.index(str(self.hyper["window"])), 0, 0.0, 2.0,
                              int(self.hyper["window_mode"] == "half"), 1, 1000, 1, 0.0)
        per_run = {field: self.hyper[name] for name, field in _WINDOW.items() if isinstance(self.hyper[name], Tensor)}
        shared = shared._replace(**{field: float(self.hyper[name]) for name, field in _WINDOW.items()
                                    if field not in per_run})
        self.config = shared._replace(spe=int(shared.spe))  # the window all runs share (fields of ``per_run`` aside)
        # F_t per run, where the window's numeric fields differ between runs
        self.windows = RunWindows(self.config, {field: value.cpu().numpy() for field, value in per_run.items()}) \
            if per_run else None
        self.last: tuple[dict[str, Hyper], Hyper, AutoSGMSums] | None = None  # the last step, for ``stats``

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        self.t += 1
        if self.windows is None:
            window: Hyper = window_at(self.t, self.config)
        else:
            window = torch.from_numpy(self.windows.at(self.t)).to(self.params[0].device)
        numbers = {name: self.number(name) for name in _NUMBERS}
        sums = autosgm(self.params, grads, self.state, self.t, window=window, workspace=self.workspace, **numbers,
                       **self.options)
        self.last = (numbers, window, sums)

    def stats(self) -> dict[str, list[float]]:
        return {} if self.last is None else run_stats([self.last], self.runs)
