"""Optiscope's optimizers: the research optimizers, their registry, and the runs-axis maths (torch only)."""

from optimizers.a2grad import A2Grad
from optimizers.agaw import AGAW
from optimizers.autosgm import AutoSGM
from optimizers.gao import GAO
from optimizers.gnw_adam import GNWAdam
from optimizers.registry import REGISTRY, HyperParam, OptimizerInfo, get
from optimizers.scheduled import Scheduled

__all__ = ["AGAW", "GAO", "REGISTRY", "A2Grad", "AutoSGM", "GNWAdam", "HyperParam", "OptimizerInfo", "Scheduled", "get"]
