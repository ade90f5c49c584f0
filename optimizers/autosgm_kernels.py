"""AutoSGM's in-place kernels whose scalars are numbers or per-run [R] tensors, and its per-layer reductions.

A number rides inside the kernel (``alpha``, ``value``); a per-run tensor is broadcast with ``per_run``. Used by
``optimizers.autosgm_maths`` and ``optimizers.autosgm_numerators``, whose tensors are packed [R, N] (the layers'
elements back to back).
"""

from __future__ import annotations

from numbers import Real

import torch
from torch import Tensor

from optimizers.runs import Hyper, per_run, run_sums


def add_(x: Tensor, y: Tensor, alpha: Hyper) -> None:
    """x <- x + alpha y in place, alpha a number or per-run [R]."""
    if isinstance(alpha, Real):
        x.add_(y, alpha=alpha)
    else:
        x.addcmul_(y, per_run(alpha, y))


def addcmul_(x: Tensor, y: Tensor, z: Tensor, alpha: Hyper) -> None:
    """x <- x + alpha y z in place, alpha a number or per-run [R]."""
    if isinstance(alpha, Real):
        x.addcmul_(y, z, value=alpha)
    else:
        x.addcmul_(y * per_run(alpha, y), z)


def addcdiv_(x: Tensor, y: Tensor, z: Tensor, alpha: Hyper) -> None:
    """x <- x + alpha y / z in place, alpha a number or per-run [R]."""
    if isinstance(alpha, Real):
        x.addcdiv_(y, z, value=alpha)
    else:
        x.addcdiv_(y * per_run(alpha, y), z)


def add_scaled(x: Tensor, y: Tensor, alpha: Hyper, out: Tensor) -> None:
    """out <- x + alpha y (alpha a number or per-run [R]): one kernel either way."""
    if isinstance(alpha, Real):
        torch.add(x, y, alpha=alpha, out=out)
    else:
        torch.addcmul(x, y, per_run(alpha, y), out=out)


def product(x: Tensor, y: Tensor, alpha: Hyper, out: Tensor) -> Tensor:
    """out <- alpha x y (alpha a number or per-run [R]); a number rides in ``addcmul`` (one pass, not two)."""
    if isinstance(alpha, Real):
        return torch.addcmul(out.new_zeros(()), x, y, value=alpha, out=out)
    return torch.mul(x, y, out=out).mul_(per_run(alpha, out))


def affine(x: Tensor, a: Hyper, b: Hyper, out: Tensor) -> Tensor:
    """out <- a + b x (a and b numbers or per-run [R]); numbers take one kernel."""
    if isinstance(a, Real) and isinstance(b, Real):
        return torch.add(x.new_tensor(a), x, alpha=b, out=out)
    return torch.mul(x, per_run(b, x), out=out).add_(per_run(a, x))


def per_run_sum(value: Hyper, like: Tensor) -> Hyper:
    """A hyperparameter as a factor of per-run sums [R] (a number, or [R] in ``like``'s dtype)."""
    return value.to(like.dtype) if isinstance(value, Tensor) else value


def layer_sums(columns: list[Tensor]) -> Tensor:
    """Each layer's sum per run, [R, L], from the layers' columns."""
    if columns[0].shape[0] == 1:
        return torch.stack([column.sum() for column in columns]).view(1, -1)
    return torch.stack([run_sums(column) for column in columns], dim=1)


def layer_norms(x: Tensor, sizes: list[int]) -> Tensor:
    """Each layer's L2 norm per run: [R, L] (one foreach kernel for one run)."""
    if x.shape[0] == 1:
        return torch.stack(torch._foreach_norm(x[0].split_with_sizes(sizes))).view(1, -1)
    return torch.stack([torch.linalg.vector_norm(part, dim=1) for part in x.split_with_sizes(sizes, dim=1)], dim=1)
