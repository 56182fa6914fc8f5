"""Learning rules: the protocol, the registry and the built-in rules.

>>> import brainlearn as bl
>>> bl.rules.available()        # doctest: +ELLIPSIS
[...'backprop'...]
"""

from .base import (EmptyState, GradientRule, LearningRule, LocalRule, available, get,
                   hyperparameter, make, register)
from .gradient import Backprop

__all__ = ["LearningRule", "LocalRule", "GradientRule", "EmptyState", "hyperparameter", "register",
           "get", "available", "make", "Backprop"]
