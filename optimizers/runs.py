"""The runs axis: helpers for maths over tensors whose leading axis indexes R independent runs.

Each optimizer's maths is one function over lists of tensors shaped ``[R, *param_shape]``; hyperparameters are
either one number for every run or a tensor of shape ``[R]`` (one value per run). Every norm, dot product and mean
is reduced per run, so R runs in one call equal R separate calls. An optimizer class is the case R = 1: it passes
``with_runs_axis(tensors)``, views that write through to the parameters and state. Where a function says so, R = 1
tensors may also come without the runs axis (``p.grad`` as it is, a flat state): in the middle of a training step
a view costs microseconds per tensor, as much as a small kernel; R is then given, or read from the state.
"""

from __future__ import annotations

import torch
from torch import Tensor

EXACT_DOT_RUNS = 64
"""Up to this many runs, ``run_dot`` takes one BLAS dot per run: it sums in the order of the run alone (a batched
product blocks its sums differently, and float32 training amplifies that: GAO's batched runs of the seed MLP were
4.5e-4 apart from their runs alone after two epochs, and equal with one dot per run)."""

Hyper = float | Tensor
"""A hyperparameter: one value for all runs, or a tensor of shape [R] with one value per run."""


def is_zero(value: Hyper) -> bool:
    """True when a hyperparameter is 0 for every run (so its term can be skipped)."""
    return bool((value == 0).all()) if isinstance(value, Tensor) else value == 0


def with_runs_axis(tensors: list[Tensor]) -> list[Tensor]:
    """Views of ``tensors`` with a leading runs axis of length 1 (R = 1); in-place updates reach the originals."""
    return [torch.unsqueeze(tensor, 0) for tensor in tensors]  # the function form dispatches faster than the method


def per_run(value: Hyper, like: Tensor) -> Hyper:
    """Shape a hyperparameter to broadcast against ``like`` (``[R, ...]``): a number stays a number."""
    if isinstance(value, Tensor):
        if value.dtype != like.dtype:
            value = value.to(like.dtype)
        return value.view(-1, *([1] * (like.dim() - 1)))
    return value


def run_rows(tensor: Tensor) -> Tensor:
    """Each run's elements as one row: shape [R, n] (also for 0-d parameters, whose runs tensor is [R])."""
    return tensor.reshape(tensor.shape[0], -1)


def run_sums(rows: Tensor) -> Tensor:
    """Each row's sum of an [R, n] tensor (or column view): shape [R].

    ``sum`` for rows longer than the runs are many; else a product with ones, as torch's sum over a short inner
    dimension is the slow case (ten times the product's time on [16384, 2], a landscape of 2-D points).
    """
    if rows.shape[1] >= rows.shape[0]:
        return rows.sum(1)
    return torch.mv(rows, rows.new_ones(rows.shape[1]))


def run_dot(a: Tensor, b: Tensor) -> Tensor:
    """<a[r], b[r]> over all elements of each run: shape [R].

    BLAS products (a dot for each of up to ``EXACT_DOT_RUNS`` runs, a batched product for more): no temporary the
    size of the tensor, unlike ``vecdot``, whose elementwise product doubles the memory traffic of an optimizer
    step. Many short rows (more runs than elements per run) are the exception: there a batched product of 1 x n
    rows costs seven times an elementwise product and ``run_sums``.
    """
    rows_a, rows_b = run_rows(a), run_rows(b)
    if rows_a.shape[0] == 1:
        return torch.dot(rows_a[0], rows_b[0]).view(1)
    if rows_a.shape[1] < rows_a.shape[0]:
        return run_sums(rows_a * rows_b)
    if rows_a.shape[0] <= EXACT_DOT_RUNS:
        return torch.stack([torch.dot(x, y) for x, y in zip(rows_a, rows_b, strict=True)])
    return torch.bmm(rows_a.unsqueeze(1), rows_b.unsqueeze(2)).view(-1)


def run_norm(tensor: Tensor) -> Tensor:
    """||tensor[r]|| (L2 over all elements of each run): shape [R]; with more runs than elements per run, the root of
    ``run_dot`` (a norm over a short inner dimension is the slow case, as a sum is: ``run_sums``)."""
    rows = run_rows(tensor)
    if rows.shape[1] < rows.shape[0]:
        return run_sums(rows * rows).sqrt_()
    return torch.linalg.vector_norm(rows, dim=1)


def run_norms(tensors: list[Tensor]) -> list[Tensor]:
    """||t[r]|| for every tensor t: one [R] tensor per tensor (0-d for one run, which broadcasts as [1] does).

    One run: one foreach reduction (each tensor is its own slice). Several: one row-wise norm per tensor, whose cost
    does not grow with R as a foreach over the R T per-run slices would (a view each: 60 ms for 16,384 runs).
    """
    if tensors[0].shape[0] == 1:
        return list(torch._foreach_norm(tensors))
    return [run_norm(tensor) for tensor in tensors]


def run_grams(a: list[Tensor], b: list[Tensor], *, runs: int) -> list[list[tuple[float, float, float]]]:
    """(<a_i[r], b_i[r]>, ||a_i[r]||^2, ||b_i[r]||^2) for each tensor pair i and run r, as Python floats: [T][R].

    ``a_i`` and ``b_i`` are [R, ...], or, with one run, of any shapes with as many elements (without the runs axis;
    flat ones need no view).

    What a cosine of a and b needs, for the per-run rule that follows: a few operations on a handful of numbers,
    which plain Python runs faster than torch or numpy (their every call costs microseconds of dispatch, more with
    its code cold in the middle of a training step; so does every Python call, hence one loop here). Three BLAS
    products per pair taken one after the other, so the second and third read a and b from cache. One run on the
    CPU: ``dot`` and ``item`` each (after ``flatten``, the cheapest 1-d view, where needed); otherwise batched
    products, stacked and copied once per pair (on a GPU, one synchronisation each).
    """
    grams = []
    for x, y in zip(a, b, strict=True):
        if runs > 1:
            grams.append(list(zip(*torch.stack([run_dot(x, y), run_dot(x, x), run_dot(y, y)]).tolist(), strict=True)))
            continue
        x, y = (x if x.dim() == 1 else torch.flatten(x)), (y if y.dim() == 1 else torch.flatten(y))
        dots = (torch.dot(x, y), torch.dot(x, x), torch.dot(y, y))
        grams.append([(dots[0].item(), dots[1].item(), dots[2].item()) if x.is_cpu else
                      tuple(torch.stack(dots).tolist())])
    return grams


def run_values(value: Hyper, runs: int) -> list[float]:
    """A hyperparameter as one Python float per run."""
    return value.tolist() if isinstance(value, Tensor) else [float(value)] * runs


def foreach_scale_(tensors: list[Tensor], factors: list[list[float]]) -> None:
    """tensors_i[r] *= factors[i][r] in place, for T tensors shaped [R, ...] and factors ``[T][R]`` (floats).

    With one run the tensors may come without the runs axis, and the factors go to ``_foreach_mul_`` as plain
    numbers (the ScalarList kernel); with several, as per-run tensors (in the tensors' dtype) that broadcast over
    each run's slice.
    """
    if len(factors[0]) == 1:
        torch._foreach_mul_(tensors, [row[0] for row in factors])
    else:
        rows = torch.tensor(factors, dtype=tensors[0].dtype, device=tensors[0].device)
        torch._foreach_mul_(tensors, [per_run(row, tensor) for row, tensor in zip(rows, tensors, strict=True)])


def global_run_norm(tensors: list[Tensor]) -> Tensor:
    """sqrt(sum_i ||tensors_i[r]||^2), the norm of each run's concatenated tensors: shape [R]."""
    return torch.linalg.vector_norm(torch.stack([run_norm(tensor) for tensor in tensors]), dim=0)


def foreach_arg(value: Hyper | list[Hyper], like: list[Tensor]) -> float | list[float] | list[Tensor]:
    """A hyperparameter as the scalar argument of a ``torch._foreach_*`` op over ``like``.

    ``value`` is one hyperparameter for every tensor, or a list with one per tensor (e.g. bias corrections that
    depend on each tensor's step count). Numbers pass through (the op's Scalar / ScalarList overload); as soon
    as any value is per run, every value becomes a tensor shaped to broadcast against its tensor (TensorList).
    """
    values = value if isinstance(value, list) else None
    if values is None and not isinstance(value, Tensor):
        return value
    if values is not None and not any(isinstance(v, Tensor) for v in values):
        return values
    values = values if values is not None else [value] * len(like)
    return [per_run(torch.as_tensor(v), tensor) for v, tensor in zip(values, like, strict=True)]
