"""A 2-D loss surface (named, or typed as a formula) as a task: one point stepped by an optimizer, a record a step.

A run starts from the surface's own start (or ``start``), in float64, and steps ``steps`` times. Step k evaluates
the loss and gradient at the iterate x_k (step 1: the start), adds Gaussian gradient noise of standard deviation
``noise`` drawn from a generator seeded with the run's seed (so every optimizer of a seed sees the same noise), and
lets the optimizer step. A record holds the iterate ``x``, ``y`` at which step k evaluated its loss and gradient and,
for A2Grad, the averaged iterate ``xbar_x``, ``xbar_y`` at the same time. The run diverges at the step whose loss is
not finite, or after the step that takes the point more than ``DOMAIN_FACTOR`` half-widths from the domain's centre.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from engine.tasks import telemetry
from engine.tasks.batch import group_requests, in_request_order
from engine.tasks.surface_batch import DOMAIN_FACTOR, SurfaceBatch, left_domain
from engine.tasks.surfaces import _ARGUMENTS, Surface, get_surface
from engine.tasks.task import Outcome, Recorder, RunRequest, Task, finite_best
from optimizers.validation import check_number

RUN_ARGS = ("noise", "start")
"""Task arguments that belong to the run rather than to the surface."""


def surface_argument_names(key: str) -> tuple[str, ...]:
    """The arguments the named surface ``key`` takes (the quadratic's ``condition`` and ``rotation``), so that a page
    can offer a control for each without asking which surface it is; none for the others and for formulas."""
    return _ARGUMENTS.get(key, ())


def check_start(surface: Surface, start: object) -> tuple[float, float]:
    """``start`` as a point (x, y) inside the surface's domain (the region the pages let a person start in), or
    ``ValueError`` naming the coordinate and its range; text or a list of another length gets the expected form."""
    if isinstance(start, str | bytes) or not isinstance(start, Sequence) or len(start) != 2:
        raise ValueError(f"surface: invalid start={start!r}; expected a point [x, y] inside the domain")
    (xmin, xmax), (ymin, ymax) = surface.domain
    return (check_number("surface", "start_x", start[0], low=xmin, high=xmax),
            check_number("surface", "start_y", start[1], low=ymin, high=ymax))


def defined_at(surface: Surface, start: Sequence[float]) -> None:
    """Raise ``ValueError`` naming the point when f or its gradient is not finite at ``start``."""
    point = torch.tensor([float(start[0]), float(start[1])], dtype=torch.float64, requires_grad=True)
    loss = surface.at(point)
    (grad,) = torch.autograd.grad(loss, point)
    if not (math.isfinite(loss.item()) and bool(torch.isfinite(grad).all())):
        what = f"f = {loss.item():g}" if not math.isfinite(loss.item()) else f"its gradient is {grad.tolist()}"
        raise ValueError(f"{surface.name}: f is undefined at the start ({point[0].item():g}, {point[1].item():g}) "
                         f"({what} there); move the start to where f is defined, or change the formula")


class SurfaceTask(Task):
    """``key`` names a surface of ``engine.tasks.surfaces.SURFACES`` or is ``"expr:<formula>"``.

    Arguments: the surface's own (``condition`` and ``rotation`` of the quadratic; ``domain`` of a formula), plus
    ``noise`` (the gradient noise's standard deviation, >= 0) and ``start`` (the first iterate).
    """

    length = "steps"
    default_log_every = 1  # the Playground draws every point
    metrics = (("final_loss", "final loss"), ("best_loss", "best loss"))
    objective = "lowest loss"
    dtype = torch.float64
    gpu_by_default = False  # a (2,) tensor gains nothing from a GPU, and every step reads the point back to the host
    in_worker_process = False

    def __init__(self, key: str) -> None:
        surface = get_surface(key)
        self.key, self.title, self.description = key, surface.name, surface.description
        self.phrase = f"the surface {key!r}"

    def surface(self, task_args: Mapping[str, Any]) -> Surface:
        """The surface with its own arguments from ``task_args`` (``noise`` and ``start`` left out)."""
        return get_surface(self.key, **{name: value for name, value in task_args.items() if name not in RUN_ARGS})

    def check_args(self, task_args: Mapping[str, Any]) -> None:
        """The surface's own arguments, ``noise`` >= 0, and a start inside the domain (``check_start``) where f and
        its gradient are finite (``log(x)`` at x = -4 is refused here, before any run, rather than diverging at step
        1)."""
        surface = self.surface(task_args)
        check_number(self.key, "noise", task_args.get("noise", 0.0), low=0.0)
        start = task_args.get("start")
        defined_at(surface, surface.start if start is None else check_start(surface, start))

    def total_steps(self, steps: int, epochs: int, batch_size: int) -> int:
        return steps

    def step_work(self, batch_size: int, task_args: Mapping[str, Any]) -> float:
        """A point, its loss and its gradient: a few dozen multiply-adds."""
        return 32.0

    def run(self, request: RunRequest, device: torch.device, recorder: Recorder) -> Outcome:
        started = time.perf_counter()
        surface = self.surface(request.task_args)
        noise, start = float(request.task_args.get("noise", 0.0)), request.task_args.get("start")
        point = torch.tensor(surface.start if start is None else start, dtype=torch.float64, device=device)
        point.requires_grad_(True)
        optimizer = request.optimizer.build([point])
        averaged = getattr(optimizer, "averaged_iterate", None)
        generator = torch.Generator(device=device).manual_seed(request.seed) if noise > 0 else None
        records = recorder.records
        status, diverged_at, reason = "finished", None, None
        prev_grad: list[float] | None = None
        steps_done = 0
        for step in range(1, request.steps + 1):
            if recorder.stop():
                status = "cancelled"
                break
            optimizer.zero_grad(set_to_none=True)
            loss = surface.at(point)
            loss.backward()
            if generator is not None:
                point.grad.add_(torch.randn(2, generator=generator, dtype=torch.float64, device=device), alpha=noise)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                status, diverged_at, reason = "diverged", step, f"loss became {loss_value} at step {step}"
                break
            logged = step % request.log_every == 0
            before, grad = point.detach().tolist(), point.grad.tolist()
            xbar = averaged(point).tolist() if averaged is not None and logged else None
            optimizer.step()
            after = point.detach().tolist()
            steps_done = step
            if logged:
                record = {"step": step, "loss": loss_value, "x": before[0], "y": before[1]}
                record.update(telemetry.point_measures(grad, before, after, prev_grad))
                record.update(telemetry.optimizer_measures(optimizer))
                if xbar is not None:
                    record["xbar_x"], record["xbar_y"] = xbar
                records.append(record)
            prev_grad = grad
            recorder.tick()
            if telemetry.outside_domain(after, surface.domain, DOMAIN_FACTOR):
                status, diverged_at, reason = "diverged", step, left_domain(after, step)
                break
        with torch.no_grad():
            final = point.detach().tolist()
            final_loss = surface.at(point).item()
        summary = {
            "final_loss": final_loss,
            "best_loss": finite_best([row["loss"] for row in records] + [final_loss]),
            "steps_done": steps_done,
            "final_x": final[0],
            "final_y": final[1],
            "seconds": time.perf_counter() - started,
        }
        return Outcome(status, summary, diverged_at, reason)

    def run_batch(self, requests: Sequence[RunRequest], device: torch.device,
                  recorders: Sequence[Recorder]) -> list[Outcome]:
        started = time.perf_counter()
        settings = requests[0]
        surface = self.surface(settings.task_args)
        start = settings.task_args.get("start") or surface.start
        order, groups = group_requests(requests)
        batch = SurfaceBatch(surface, torch.tensor([start] * len(requests), dtype=torch.float64, device=device),
                             groups, [requests[index].seed for index in order],
                             noise=float(settings.task_args.get("noise", 0.0)))
        fate = batch.run(settings.steps, log_every=settings.log_every, recorders=[recorders[i] for i in order])
        return in_request_order(order, fate.outcomes(batch.summaries(time.perf_counter() - started)))
