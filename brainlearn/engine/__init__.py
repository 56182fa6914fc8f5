"""The engine: plans, generated compiled drivers, training and evaluation."""

from .rest import end_task, rest
from .run import DivergenceError, History, activities, evaluate, predict, train

__all__ = ["train", "evaluate", "predict", "activities", "rest", "end_task", "History", "DivergenceError"]
