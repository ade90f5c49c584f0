"""Optiscope's optimizers: the research optimizers, their registry, and the runs-axis maths (torch only)."""

from optimizers.a2grad import A2Grad
from optimizers.agaw import AGAW
from optimizers.gao import GAO
from optimizers.gnw_adam import GNWAdam
from optimizers.registry import REGISTRY, HyperParam, OptimizerInfo, get
from optimizers.scheduled import Scheduled

__all__ = ["A2Grad", "AGAW", "GAO", "GNWAdam", "REGISTRY", "HyperParam", "OptimizerInfo", "Scheduled", "get"]
