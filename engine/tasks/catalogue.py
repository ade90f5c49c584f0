"""Every task by name: ``get_task`` resolves a ``RunSpec``'s task name, ``named_tasks`` lists the ones a menu offers."""

from __future__ import annotations

from functools import lru_cache

from engine.tasks.mnist1d_task import MNIST1D, MNIST1DTask
from engine.tasks.surface_task import SurfaceTask
from engine.tasks.surfaces import SURFACES
from engine.tasks.task import Task


@lru_cache(maxsize=128)
def get_task(name: str) -> Task:
    """The task ``name``: ``"mnist1d"``, a key of ``SURFACES``, or ``"expr:<formula>"`` (parsed, and refused with
    the parser's message when it is not a valid formula); any other name gets the surfaces' ``ValueError``, which
    lists the valid ones."""
    return MNIST1DTask() if name == MNIST1D else SurfaceTask(name)


def named_tasks() -> tuple[Task, ...]:
    """The tasks with a name of their own (not typed formulas): the surfaces in ``SURFACES`` order, then MNIST-1D."""
    return (*(get_task(key) for key in SURFACES), get_task(MNIST1D))
