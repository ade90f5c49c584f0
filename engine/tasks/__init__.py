"""Tasks: what an optimizer is run on (2-D surfaces, typed formulas, MNIST-1D and its MLP) and how a run of it goes.

Every task answers the ``Task`` interface (``task.py``), found by name with ``get_task``. A run of a task measures
itself as it steps, with the engine's telemetry (``telemetry.py``), which therefore lives here, below the runner."""

from engine.tasks.catalogue import get_task, named_tasks
from engine.tasks.expression import parse_formula
from engine.tasks.mnist1d import load_mnist1d
from engine.tasks.mnist1d_task import MNIST1D, steps_per_epoch
from engine.tasks.models import layer_names, mlp
from engine.tasks.surface_task import surface_argument_names
from engine.tasks.surfaces import EXPR_DOMAIN, EXPR_PREFIX, EXPR_START, SURFACES, Surface, get_surface, grid
from engine.tasks.task import Outcome, Recorder, RunRequest, Task

__all__ = [
    "EXPR_DOMAIN",
    "EXPR_PREFIX",
    "EXPR_START",
    "MNIST1D",
    "SURFACES",
    "Outcome",
    "Recorder",
    "RunRequest",
    "Surface",
    "Task",
    "get_surface",
    "get_task",
    "grid",
    "layer_names",
    "load_mnist1d",
    "mlp",
    "named_tasks",
    "parse_formula",
    "steps_per_epoch",
    "surface_argument_names",
]
