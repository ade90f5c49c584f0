"""AutoSGM's workspace: the [R, N] temporaries a caller keeps between steps, and the layers' views of them.

A step of memory-bound maths must not allocate: a fresh buffer the size of the parameters page-faults on every step,
and a view costs microseconds, as much as a small kernel. So ``autosgm`` takes its temporaries from a workspace dict
the caller keeps (``scratch``), and the views of the buffers that live from step to step (the workspace's and the
state's) are made once and kept in a ``LayerViews`` in the same dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

_VIEWS = "views"  # the workspace entry that holds its LayerViews


def scratch(workspace: dict[str, Any] | None, name: str, like: Tensor, shape: tuple[int, ...] | None = None) -> Tensor:
    """The workspace's temporary ``name`` shaped as ``like``, or ``shape`` in ``like``'s dtype and device (made, and
    kept, when missing or of another shape)."""
    buffer = None if workspace is None else workspace.get(name)
    if buffer is None or buffer.shape != (like.shape if shape is None else shape) or buffer.dtype != like.dtype:
        buffer = torch.empty_like(like) if shape is None else like.new_empty(shape)
        if workspace is not None:
            workspace[name] = buffer
    return buffer


def step_buffers(workspace: dict[str, Any] | None, previous: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """(buffer for g_t, buffer for D_t, g_{t-1} or None) at a step whose D_{t-1} is ``previous``.

    g_t and D_t go into the buffers of g_{t-2} and D_{t-2}, so that g_{t-1} and D_{t-1} stay for the secant: the
    workspace alternates two buffers for each. Without a workspace, fresh buffers and no g_{t-1}.
    """
    grad, change = scratch(workspace, "spare g", previous), scratch(workspace, "spare delta", previous)
    if workspace is None:
        return grad, change, None
    previous_grad = workspace.get("g")
    workspace["spare g"], workspace["g"], workspace["spare delta"] = previous_grad, grad, previous
    return grad, change, previous_grad


def kept_grad(workspace: dict[str, Any]) -> Tensor | None:
    """g_t of the workspace's last step (None before one)."""
    return workspace.get("g")


@dataclass
class LayerViews:
    """The layers' views of packed buffers ([R, N], or [R, L] for per-layer entries), made once per buffer.

    Each cache is filed by the buffer's id and its entry holds the buffer: no other tensor can take that id while the
    entry lives. With the workspace's two alternating buffers for g and for D, the caches stop growing from the
    third step on.
    """

    shapes: list[torch.Size]  # the layers' shapes as the caller passes them (with the runs axis, or without for R = 1)
    sizes: list[int]  # n_l, the elements per run of layer l; N = sum n_l
    sizes_row: Tensor  # [L]: the same as a tensor, for sums over each layer's elements (``torch.mv``)
    columns: dict[int, tuple[Tensor, list[Tensor]]] = field(default_factory=dict)  # [R, n_l] (or [R, 1]) per layer
    shaped: dict[int, tuple[Tensor, list[Tensor]]] = field(default_factory=dict)  # the columns, in the layers' shapes

    def columns_of(self, buffer: Tensor) -> list[Tensor]:
        """An [R, N] buffer's columns layer by layer, [R, n_l] each (of an [R, L] one, [R, 1] each)."""
        entry = self.columns.get(id(buffer))
        if entry is None or entry[0] is not buffer:
            widths = self.sizes if buffer.shape[1] == sum(self.sizes) else [1] * len(self.sizes)
            entry = self.columns[id(buffer)] = (buffer, list(buffer.split_with_sizes(widths, dim=1)))
        return entry[1]

    def layers_of(self, buffer: Tensor) -> list[Tensor]:
        """An [R, N] buffer's columns layer by layer, viewed with the layers' shapes."""
        entry = self.shaped.get(id(buffer))
        if entry is None or entry[0] is not buffer:
            views = [column.view(shape) for column, shape in zip(self.columns_of(buffer), self.shapes, strict=True)]
            entry = self.shaped[id(buffer)] = (buffer, views)
        return entry[1]


def layer_views(workspace: dict[str, Any] | None, params: list[Tensor], like: Tensor) -> LayerViews:
    """The workspace's ``LayerViews`` for the layers ``params`` (made on first use, or when the layers' shapes change;
    fresh ones, kept for this step only, without a workspace); ``like``: an [R, N] buffer of the state."""
    shapes = [p.shape for p in params]
    views = None if workspace is None else workspace.get(_VIEWS)
    if views is None or views.shapes != shapes:
        sizes = [p.numel() // like.shape[0] for p in params]
        views = LayerViews(shapes, sizes, like.new_tensor(sizes))
        if workspace is not None:
            workspace[_VIEWS] = views
    return views
