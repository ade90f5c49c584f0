"""``OptimizerWrapper``: a ``torch.optim.Optimizer`` that runs its own rule around any inner optimizer.

The composition pattern of optax's ``chain`` / ``sam(optimizer, ...)``: AGAW, GAO and the scheduled baselines wrap a
base optimizer instead of adding flags to it. The wrapper shares the base's ``param_groups`` (the same list and the
same dicts), so schedulers, ``zero_grad`` and ``add_param_group`` act on the base; its ``state_dict`` nests the
base's beside its own so that save / load / continue equals an uninterrupted run bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

from optimizers.stepping import evaluate_closure, params_with_grad


class OptimizerWrapper(Optimizer):
    """Base class for wrappers: shared param groups, nested state, closure evaluated before the wrapper's rule.

    Subclasses implement ``_before_base_step()`` (their rule, run with gradients in place and under ``no_grad``)
    and/or ``_after_base_step()``, and, for state that is not per parameter, ``_extra_state()`` /
    ``_load_extra_state()``. Per-parameter state
    goes in ``self.state[p]`` and is saved by ``torch.optim.Optimizer``'s own machinery.
    """

    def __init__(self, base: Optimizer) -> None:
        if not isinstance(base, Optimizer):
            raise TypeError(f"{type(self).__name__}: base must be a torch.optim.Optimizer, got {type(base).__name__}")
        self.base = base
        # Passing the base's own group dicts makes them shared by identity; sharing the list keeps later
        # add_param_group calls (on either object) visible to both.
        super().__init__(base.param_groups, base.defaults)
        self.param_groups = base.param_groups
        self.stats: dict[str, float] = {}

    def _before_base_step(self) -> None:
        """The wrapper's rule before the base step (gradients in ``p.grad``); nothing by default."""

    def _after_base_step(self) -> None:
        """The wrapper's rule after the base step; nothing by default."""

    def _extra_state(self) -> dict[str, Any]:
        """The wrapper's state that is not per parameter (none by default)."""
        return {}

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        """Restore what ``_extra_state`` saved."""

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Evaluate ``closure`` first (so the rule sees fresh gradients), apply the rule, then the base step."""
        loss = evaluate_closure(closure)
        with torch.no_grad():
            self._before_base_step()
        self.base.step()
        self._after_base_step()
        return loss

    def state_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {
            "base": self.base.state_dict(),
            "wrapper": super().state_dict(),
            "extra": self._extra_state(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:  # type: ignore[override]
        self.base.load_state_dict(state_dict["base"])
        super().load_state_dict(state_dict["wrapper"])
        self.param_groups = self.base.param_groups  # both loads rebuilt the groups; share the base's again
        self._load_extra_state(state_dict["extra"])

    def params_with_grad(self) -> list[torch.Tensor]:
        """Every parameter that has a gradient, in param-group order (deterministic); sparse ones are refused."""
        return [p for group in self.param_groups for p in params_with_grad(type(self).__name__, group)]
