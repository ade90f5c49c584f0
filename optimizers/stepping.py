"""What every optimizer's ``step()`` does around its maths: the closure first, then the parameters to update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from optimizers.validation import check_dense


def evaluate_closure(closure: Callable[[], Any] | None) -> Any:
    """Run ``closure`` with gradients enabled (``step()`` runs under ``no_grad``) and return its loss, or None.

    Evaluated before the update, so the update sees the gradients the closure just computed (spec §6).
    """
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def params_with_grad(owner: str, group: dict[str, Any]) -> list[Tensor]:
    """The group's parameters that have a gradient, in order; a sparse gradient is refused (RuntimeError)."""
    params = [p for p in group["params"] if p.grad is not None]
    for p in params:
        check_dense(owner, p.grad)
    return params
