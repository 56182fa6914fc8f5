"""The network abstraction: populations, projections, activations, losses."""

from . import init
from .activations import ACTIVATIONS
from .core import Network, Population, Projection, mlp
from .losses import LOSSES

__all__ = ["Network", "Population", "Projection", "mlp", "init", "ACTIVATIONS", "LOSSES"]
