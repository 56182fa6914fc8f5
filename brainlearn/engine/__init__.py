"""The engine: plans, generated compiled drivers, training and evaluation."""

from .run import DivergenceError, History, activities, evaluate, predict, train

__all__ = ["train", "evaluate", "predict", "activities", "History", "DivergenceError"]
