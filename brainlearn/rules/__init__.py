"""Learning rules: the protocol, the registry and the built-in rules.

>>> import brainlearn as bl
>>> "oja" in bl.rules.available()
True
>>> bl.rules.get("oja")(lr=0.01)
Oja(lr=0.01)
"""

from .base import (FAMILIES, PLUGINS_ENV, SIGNALS, EmptyState, GradientRule, LearningRule, LocalRule,
                   PluginWarning, Tags, available, get, hyperparameter, kernel_params, load_plugin,
                   make, params_type, plugin_errors, register)
from .composite import Chain, Clip, RowNormalize, WeightDecay, chain, is_chain, rule_terms
from .consolidation import TagAndCapture
from .consolidation_gradient import EWC, SynapticIntelligence
from .gradient import Backprop, Delta, DirectFeedbackAlignment, FeedbackAlignment
from .hebbian import BCM, AntiHebbian, Competitive, Covariance, Hebb, Oja, Sanger
from .homeostatic import SynapticScaling
from .ltp import Calcium
from .memory import HopfieldHebb, PseudoInverse, Storkey
from .palimpsest import Cascade, ClippedHebb, StochasticBinary
from .threshold import ThresholdLTP
from .stdp import STDP, RewardSTDP, SpikingRule, TripletSTDP
from .three_factor import RewardHebbian
from .voltage_stdp import VoltageSTDP

__all__ = ["LearningRule", "LocalRule", "GradientRule", "Tags", "kernel_params", "params_type",
           "EmptyState", "hyperparameter", "register",
           "get", "available", "make", "plugin_errors", "load_plugin", "PluginWarning",
           "PLUGINS_ENV", "chain", "rule_terms", "is_chain", "Chain", "SIGNALS", "FAMILIES",
           "Backprop", "FeedbackAlignment", "DirectFeedbackAlignment", "Delta",
           "EWC", "SynapticIntelligence", "Calcium", "TagAndCapture",
           "Hebb", "Oja", "Sanger", "BCM", "Covariance", "Competitive", "AntiHebbian",
           "ThresholdLTP", "SynapticScaling", "STDP", "SpikingRule", "TripletSTDP", "RewardSTDP", "VoltageSTDP",
           "RewardHebbian", "WeightDecay", "Clip", "RowNormalize",
           "HopfieldHebb", "Storkey", "PseudoInverse", "ClippedHebb", "StochasticBinary", "Cascade"]
