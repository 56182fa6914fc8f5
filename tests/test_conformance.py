"""The conformance suite: every registered rule passes it, and it can fail.

The first test runs ``bl.testing`` over the rules in ``bl.rules.available()`` whose names
sort before "f" (one test per rule and check; the others are in test_conformance_more.py). The rest test the suite itself: rules defined
here with one defect each must fail the matching check, and a well-behaved
plug-in rule with a NumPy twin must pass them all.
"""

import collections
import dataclasses
from dataclasses import dataclass

import numba
import numpy as np
import pytest

import brainlearn as bl
from brainlearn import testing
from brainlearn.rules import LocalRule, hyperparameter, kernel_params, params_type
from brainlearn.engine.fastpaths import fast_path, register_fast_path
from brainlearn.engine.fastpaths.reward_hebbian import reward_hebbian_segment
from brainlearn.engine.fastpaths.tag_and_capture import tag_and_capture_segment
from brainlearn.testing import SkipCheck, check_rule, parametrize_with_checks

BUILTIN_RULES = [bl.rules.get(name)() for name in bl.rules.available()]
# code paths the defaults leave out (momentum and weight decay, the anti-Hebbian rank);
# they reuse the compiled drivers of the defaults
BUILTIN_RULES += [bl.rules.Backprop(momentum=0.9, weight_decay=1e-4),
                  bl.rules.FeedbackAlignment(momentum=0.9),
                  bl.rules.DirectFeedbackAlignment(momentum=0.9),
                  bl.rules.Competitive(rank=2)]
#: the rules checked here; the others in tests/test_conformance_more.py, so that the two
#: halves -- most of the suite's compiling -- can run in separate processes (a rule's checks
#: stay in one file, where they share its compiled drivers)
HALF = [r for r in BUILTIN_RULES if r.name < "f"]


@parametrize_with_checks(HALF)
def test_registered_rules_conform(rule, check):
    check(rule)


# -- rules with one defect each ------------------------------------------------------------------
@numba.njit(cache=True)
def _writes_W_delta(W, pre, post, mod, params, state, dt, dW, db):
    # Oja's update, added straight into W instead of dW
    for i in range(W.shape[0]):
        y = post[i]
        for j in range(W.shape[1]):
            W[i, j] += params.lr * y * (pre[j] - y * W[i, j])


@numba.njit(cache=True)
def _noisy_oja_delta(W, pre, post, mod, params, state, dt, dW, db):
    # Oja's update plus noise from Numba's global generator, which no seed controls
    for i in range(W.shape[0]):
        y = post[i]
        for j in range(W.shape[1]):
            dW[i, j] += params.lr * (y * (pre[j] - y * W[i, j]) + 1e-3 * np.random.normal(0.0, 1.0))


class _Documented:
    summary = "a rule used to test the conformance suite"
    equation = r"\Delta w_{ij} = \eta\, y_i (x_j - y_i w_{ij})"
    reference = "Oja 1982, J. Math. Biol. 15:267"


@dataclass(frozen=True, repr=False)
class WritesW(_Documented, LocalRule):
    """Oja's rule with a kernel that writes ``W`` (it must write ``dW``)."""

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")
    name = "conformance_writes_w"
    kernel = _writes_W_delta


@dataclass(frozen=True, repr=False)
class UncheckedOja(bl.rules.Oja):
    """Oja's rule whose hyperparameter ranges are never checked."""

    name = "conformance_unchecked_oja"

    def __post_init__(self):  # skips LearningRule's validation
        pass


@dataclass(frozen=True, repr=False)
class NoisyOja(_Documented, LocalRule):
    """Oja's rule with unseeded noise drawn inside the kernel."""

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")
    name = "conformance_noisy_oja"
    kernel = _noisy_oja_delta


@dataclass(frozen=True, repr=False)
class RenamelessOja(bl.rules.Oja):
    """A subclass of Oja that inherits the registered name ``oja``."""


@numba.njit(cache=True)
def _hebb_only_affine(pre, post, params, state, dt, alpha, beta):
    # Oja's Hebbian term without its decay: not what Oja's kernel does
    for i in range(post.shape[0]):
        beta[i] += params.lr * post[i]


@dataclass(frozen=True, repr=False)
class WrongAffineOja(bl.rules.Oja):
    """Oja's rule whose affine fast path leaves out the decay term."""

    name = "conformance_wrong_affine_oja"


register_fast_path(WrongAffineOja, affine=_hebb_only_affine)


@numba.njit(cache=True)
def _raw_input_direction(pre, params, state, dt, d):
    # the covariance rule's direction without subtracting the running mean
    mx = state.mean_pre
    for j in range(pre.shape[0]):
        d[j] = pre[j]
        mx[j] += params.beta * (pre[j] - mx[j])


@dataclass(frozen=True, repr=False)
class WrongDirectionCovariance(bl.rules.Covariance):
    """The covariance rule whose direction fast path forgets the running mean of x."""

    name = "conformance_wrong_direction_covariance"


register_fast_path(WrongDirectionCovariance, affine=fast_path(bl.rules.Covariance).affine,
                   direction=_raw_input_direction, input_state=("mean_pre",))


@dataclass(frozen=True, repr=False)
class MislabelledCovariance(bl.rules.Covariance):
    """The covariance rule naming the wrong state field as moved by its direction path."""

    name = "conformance_mislabelled_covariance"


register_fast_path(MislabelledCovariance, affine=fast_path(bl.rules.Covariance).affine,
                   direction=fast_path(bl.rules.Covariance).direction, input_state=("mean_post",))


@numba.njit(cache=True)
def _segment_dropping_last(W, b, X, act, params, state, dt):
    # the tag-and-capture segment kernel, but the last sample of every segment is lost
    return tag_and_capture_segment(W, b, X[:-1], act, params, state, dt)


@dataclass(frozen=True, repr=False)
class DroppingSegmentTagAndCapture(bl.rules.TagAndCapture):
    """Tag and capture whose segment fast path drops the last sample."""

    name = "conformance_dropping_segment"


register_fast_path(DroppingSegmentTagAndCapture, segment=_segment_dropping_last)


@numba.njit(cache=True)
def _segment_scribbling(W, b, X, act, params, state, dt):
    # the tag-and-capture segment kernel, which then writes into its inputs
    bad = tag_and_capture_segment(W, b, X, act, params, state, dt)
    X[0, 0] = -1.0
    return bad


@dataclass(frozen=True, repr=False)
class ScribblingSegmentTagAndCapture(bl.rules.TagAndCapture):
    """Tag and capture whose segment fast path writes X (which may be the user's data)."""

    name = "conformance_scribbling_segment"


register_fast_path(ScribblingSegmentTagAndCapture, segment=_segment_scribbling)


# not cached: loaded from Numba's cache in a second run, this wrapper of a threaded kernel
# crashed the process (a segmentation fault inside the cached call)
@numba.njit(cache=False)
def _reward_segment_dropping_last(W, b, X, T, act, loss, threshold, params, state, dt, out):
    # the reward-modulated Hebbian segment kernel, but the last sample is lost
    return reward_hebbian_segment(W, b, X[:-1], T[:-1], act, loss, threshold, params, state,
                                   dt, out)


@dataclass(frozen=True, repr=False)
class DroppingRewardSegment(bl.rules.RewardHebbian):
    """Reward-modulated Hebb whose reward_segment fast path drops the last sample."""

    name = "conformance_dropping_reward_segment"


register_fast_path(DroppingRewardSegment, reward_segment=_reward_segment_dropping_last)


@numba.njit(cache=True)
def _overwriting_rest(W, params, state, dt, n_steps, dW):
    # a decay toward zero that overwrites dW instead of adding to it
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            dW[i, j] = -W[i, j] * (1.0 - (1.0 - 1e-3 * dt) ** n_steps)


@dataclass(frozen=True, repr=False)
class OverwritingRestOja(bl.rules.Oja):
    """Oja's rule with a rest kernel that overwrites dW."""

    name = "conformance_overwriting_rest"
    rest_kernel = _overwriting_rest


#: rules with a broken optional kernel, the check that must fail them and what it must say
#: (the built-in rules they derive from pass every check in test_registered_rules_conform)
BROKEN_OPTIONAL_KERNELS = [
    (WrongAffineOja, testing.check_affine_kernel, "dW is not alpha_i W_i"),
    (WrongDirectionCovariance, testing.check_affine_kernel, "beta_i d"),
    (MislabelledCovariance, testing.check_affine_kernel, "the direction path changed state.mean_pre"),
    (ScribblingSegmentTagAndCapture, testing.check_segment_kernel, "the segment path wrote X"),
    (DroppingSegmentTagAndCapture, testing.check_segment_kernel,
     "after the segment path differs from the per-sample"),
    (DroppingRewardSegment, testing.check_reward_segment_kernel,
     "after the reward_segment path differs"),
    (OverwritingRestOja, testing.check_rest_kernel,
     "20 steps in one call and 20 calls of one step"),
]


@pytest.mark.parametrize("broken,check,message", BROKEN_OPTIONAL_KERNELS,
                         ids=[b.__name__ for b, _, _ in BROKEN_OPTIONAL_KERNELS])
def test_broken_optional_kernel_fails_its_check(broken, check, message):
    with pytest.raises(AssertionError, match=message):
        check(broken())


def test_kernel_that_writes_W_fails_the_W_check():
    with pytest.raises(AssertionError, match="failed check_kernel_never_writes_W: kernel wrote W"):
        check_rule(WritesW)


def test_unenforced_range_fails_the_hyperparameter_check():
    with pytest.raises(AssertionError, match=r"failed check_bad_hyperparameters: UncheckedOja"
                                             r"\(lr=-1.0\) \(below the range\) was accepted"):
        check_rule(UncheckedOja)


def test_unseeded_noise_fails_the_determinism_check():
    with pytest.raises(AssertionError, match="failed check_deterministic: two identical trainings"):
        check_rule(NoisyOja())


def test_inherited_name_fails_the_metadata_check():
    with pytest.raises(AssertionError, match="failed check_metadata: .*belongs to the registered "
                                             "rule Oja"):
        check_rule(RenamelessOja)


def test_bad_hyperparameter_messages_must_name_field_and_value():
    """A rule that rejects bad values with a vague message fails too."""

    @dataclass(frozen=True, repr=False)
    class VagueOja(bl.rules.Oja):
        """Oja's rule with an unhelpful error message."""

        name = "conformance_vague_oja"

        def __post_init__(self):
            if not (isinstance(self.lr, float) and self.lr >= 0):
                raise ValueError("bad value")

    with pytest.raises(AssertionError, match="does not name the field and the value: 'bad value'"):
        testing.check_bad_hyperparameters(VagueOja())


def test_class_that_cannot_be_built_fails_constructible():
    @dataclass(frozen=True, repr=False)
    class NeedsArg(bl.rules.Oja):
        """Oja's rule with a required argument."""

        name = "conformance_needs_arg"
        size: int = dataclasses.field(default=None)

        def __post_init__(self):
            if self.size is None:
                raise TypeError("size is required")

    with pytest.raises(AssertionError, match="failed check_constructible: .*size is required"):
        check_rule(NeedsArg)


# -- a well-behaved plug-in rule -----------------------------------------------------------------
TracedOjaState = collections.namedtuple("TracedOjaState", ["trace"])


@numba.njit(cache=True)
def _traced_oja_delta(W, pre, post, mod, params, state, dt, dW, db):
    # the presynaptic trace moves first, then Oja's rule reads it in place of x
    xbar = state.trace
    for j in range(W.shape[1]):
        xbar[j] += params.rate * (pre[j] - xbar[j])
    for i in range(W.shape[0]):
        y = post[i]
        for j in range(W.shape[1]):
            dW[i, j] += params.lr * y * (xbar[j] - y * W[i, j])


def _traced_oja_twin(rule, W, pre, post, mod, state, dt):
    state.trace[:] += rule.rate * (pre - state.trace)
    dW = rule.lr * (np.outer(post, state.trace) - (post ** 2)[:, None] * W)
    return dW, None


@dataclass(frozen=True, repr=False)
class TracedOja(LocalRule):
    r"""Oja's rule on a low-passed presynaptic trace.

    .. math::

        \bar x \leftarrow \bar x + \rho (x - \bar x), \qquad
        \Delta w_{ij} = \eta\, y_i (\bar x_j - y_i w_{ij})

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta \ge 0`.
    rate : float
        Update rate :math:`\rho \in (0, 1]` of the trace.

    References
    ----------
    Oja, E. (1982). J. Math. Biol. 15, 267-273.
    """

    lr: float = hyperparameter(1e-3, low=0.0, doc="learning rate")
    rate: float = hyperparameter(0.5, low=0.0, high=1.0, low_open=True, doc="trace update rate")

    name = "conformance_traced_oja"
    summary = "Oja's rule reading a low-passed presynaptic trace"
    equation = r"\Delta w_{ij} = \eta\, y_i (\bar x_j - y_i w_{ij})"
    reference = "Oja 1982, J. Math. Biol. 15:267"
    tags = dict(elementwise=True)
    kernel = _traced_oja_delta
    numpy_twin = _traced_oja_twin

    def init_state(self, projection, rng):
        return TracedOjaState(np.zeros(projection.W.shape[1], projection.W.dtype))


@pytest.fixture
def registered(monkeypatch):
    """Register rules for one test only (bl.load finds rules by their registered name)."""

    def register(cls):
        monkeypatch.setitem(bl.rules.base._REGISTRY, cls.name, cls)
        return cls

    return register


def test_well_behaved_plugin_passes_every_check(registered):
    registered(TracedOja)
    results = check_rule(TracedOja(lr=2e-3))
    assert [name for name, _ in results] == [name for name, _ in testing.rule_checks(TracedOja)]
    status = dict(results)
    # its trace is per presynaptic neuron, so the rows of W cannot be split between threads
    assert status.pop("check_row_local_claim") == \
        "skipped: the rule is not tagged row_local"
    # optional kernels it does not give
    assert status.pop("check_affine_kernel") == "skipped: no affine fast path registered"
    assert status.pop("check_segment_kernel") == "skipped: no segment fast path registered"
    assert status.pop("check_reward_segment_kernel") == "skipped: no reward_segment fast path registered"
    assert status.pop("check_rest_kernel") == "skipped: no rest_kernel"
    assert status.pop("check_spike_driven") == "skipped: no event kernels (not a spiking rule)"
    assert set(status.values()) == {"passed"}, results


def test_unregistered_rule_skips_only_the_save_load_part():
    results = dict(check_rule(TracedOja))
    assert results["check_params_round_trip"].startswith("skipped: save/load part: TracedOja is "
                                                         "not registered")
    assert results["check_numpy_twin"] == "passed"


@pytest.mark.twin
def test_plugin_kernel_equals_its_numpy_twin():
    testing.check_numpy_twin(TracedOja(lr=0.01, rate=0.3))


@pytest.mark.twin
def test_numpy_twin_disagreement_fails():
    def wrong_twin(rule, W, pre, post, mod, state, dt):
        dW, db = _traced_oja_twin(rule, W, pre, post, mod, state, dt)
        return 1.01 * dW, db

    @dataclass(frozen=True, repr=False)
    class WrongTwin(TracedOja):
        """TracedOja with a twin that is off by one percent."""

        numpy_twin = wrong_twin

    with pytest.raises(AssertionError, match="dW of the kernel and of numpy_twin differ"):
        testing.check_numpy_twin(WrongTwin())


@dataclass(frozen=True, repr=False)
class TwinnedClip(bl.rules.Clip):
    """Hard weight bounds, with a NumPy twin."""

    name = "conformance_twinned_clip"
    numpy_twin = staticmethod(lambda rule, W, pre, post, mod, state, dt:
                              (np.clip(W, rule.low, rule.high), None))


@pytest.mark.twin
def test_constraint_twin_gives_the_constrained_W():
    testing.check_numpy_twin(TwinnedClip(low=-0.05, high=0.05))

    @dataclass(frozen=True, repr=False)
    class UnclippedTwin(TwinnedClip):
        """A twin that forgets to clip."""

        numpy_twin = staticmethod(lambda rule, W, *args: (W, None))

    with pytest.raises(AssertionError, match="W of the kernel and of numpy_twin differ"):
        testing.check_numpy_twin(UnclippedTwin(low=-0.05, high=0.05))


# -- signals a rule forgets to declare or never reads; state that cannot change ------------------
@dataclass(frozen=True, repr=False)
class ForgetsReward(bl.rules.RewardHebbian):
    """Reward-modulated Hebb whose author left "reward" out of needs (so mod is all zeros)."""

    name = "conformance_forgets_reward"
    needs = frozenset({"pre", "post"})  # (so it does not inherit the reward_segment fast path)


@dataclass(frozen=True, repr=False)
class ForgetsRewardWithBaseline(ForgetsReward):
    """The same, with the reward baseline starting at 0.5: W changes, mod is still zeros."""

    name = "conformance_forgets_reward_baseline"

    def init_state(self, projection, rng):
        state = super().init_state(projection, rng)
        state.baseline[:] = 0.5
        return state


@dataclass(frozen=True, repr=False)
class DeafToReward(bl.rules.Oja):
    """Oja's rule declaring a reward its kernel never reads."""

    name = "conformance_deaf_to_reward"
    needs = frozenset({"pre", "post", "reward"})


def test_rule_that_forgets_its_reward_fails_check_rule():
    """It never changes W (mod is all zeros), which no other check notices."""
    with pytest.raises(AssertionError, match=r"failed check_signals: dW and db are zero on every "
                                             r"sample .* if the kernel reads mod, declare its "
                                             r"signal in needs"):
        check_rule(ForgetsReward)


def test_kernel_reading_an_undeclared_mod_fails_the_signal_check():
    with pytest.raises(AssertionError, match=r"the kernel reads mod .* but needs declares neither "
                                             r"'reward' nor 'error'"):
        testing.check_signals(ForgetsRewardWithBaseline())


def test_declared_signal_that_is_never_read_fails_the_signal_check():
    with pytest.raises(AssertionError, match=r"needs declares 'reward', but the kernel gives the "
                                             r"same dW, db and state for reward 1 and reward 0"):
        testing.check_signals(DeafToReward())


FloatState = collections.namedtuple("FloatState", ["count"])


@dataclass(frozen=True, repr=False)
class FloatStateOja(bl.rules.Oja):
    """Oja's rule with a plain float in its state."""

    name = "conformance_float_state"

    def init_state(self, projection, rng):
        return FloatState(0.0)


@dataclass(frozen=True, repr=False)
class ScalarArrayStateOja(FloatStateOja):
    """Oja's rule with a 0-d array in its state."""

    def init_state(self, projection, rng):
        return FloatState(np.zeros((), projection.W.dtype))


@dataclass(frozen=True, repr=False)
class Float64StateOja(FloatStateOja):
    """Oja's rule whose state is float64 whatever W's dtype."""

    def init_state(self, projection, rng):
        return FloatState(np.zeros(1))


@pytest.mark.parametrize("rule, message", [
    (FloatStateOja, r"failed check_state: state field 'count' is 0.0 \(float\), not a NumPy array; "
                    r"every state field must be an array of W.dtype: for a scalar use "
                    r"np.zeros\(1, projection.W.dtype\), read and written as state.count\[0\]"),
    (ScalarArrayStateOja, r"failed check_state: state field 'count' is a 0-d array; use shape "
                          r"\(1,\)"),
    (Float64StateOja, r"failed check_state: state field 'count' has dtype float64 in a float32 "
                      r"network; the state follows W.dtype"),
], ids=["float", "0-d array", "float64 in float32"])
def test_state_that_is_not_arrays_of_W_dtype_fails_check_rule(registered, rule, message):
    registered(rule)  # the save/load check would otherwise run it unregistered
    with pytest.raises(AssertionError, match=message):
        check_rule(rule)


# -- the suite's own interface -------------------------------------------------------------------
def test_skips_state_their_reason():
    with pytest.raises(SkipCheck, match="constraint rules edit W by design"):
        testing.check_kernel_never_writes_W(bl.rules.Clip())
    with pytest.raises(SkipCheck, match="no NumPy twin"):
        testing.check_numpy_twin(bl.rules.Oja())
    with pytest.raises(SkipCheck, match="unstable"):
        testing.check_finite_long_run(bl.rules.Hebb())


def test_check_rule_reports_passes_and_skips():
    results = dict(check_rule("hebb"))
    assert results["check_finite_long_run"] == \
        "skipped: Hebb is tagged unstable (it may diverge by design)"
    assert results["check_deterministic"] == "passed"


def test_parametrize_gives_one_id_per_rule_and_check():
    mark = parametrize_with_checks([bl.rules.Oja, bl.rules.Oja(lr=0.5)]).mark
    ids = [p.id for p in mark.args[1]]
    names = [name for name, _ in testing.rule_checks(bl.rules.Oja)]
    assert ids == [f"oja-{n}" for n in names] + [f"Oja(lr=0.5)-{n}" for n in names]
    assert len(set(ids)) == len(ids)


def test_example_network_follows_the_metadata_and_class_override():
    layouts = {"backprop": [(16, 64), (10, 16)], "delta": [(10, 64)], "reward_hebbian": [(2, 64)],
               "anti_hebbian": [(8, 64), (8, 8)], "oja": [(8, 64)], "clip": [(8, 64)]}
    for name, shapes in layouts.items():
        net, data = testing.example_network(bl.rules.get(name)(), dtype="float32")
        assert [q.W.shape for q in net.projections] == shapes, name
        assert net.dtype == np.float32 and len(data[0]) == 200

    @dataclass(frozen=True, repr=False)
    class OwnNetwork(bl.rules.Oja):
        """Oja's rule with its own example network."""

        name = "conformance_own_network"

        @classmethod
        def example_network(cls, rule, dtype, seed):
            net = bl.Network(seed=seed, dtype=dtype)
            net.connect(net.add_input(64), net.add_population(3, activation="linear"), rule=rule)
            return net, (np.zeros((5, 64)),)

    net, data = testing.example_network(OwnNetwork())
    assert [q.W.shape for q in net.projections] == [(3, 64)] and data[0].shape == (5, 64)


def test_hyperparameter_types_are_importable_by_name_from_any_process():
    """A rule class defined anywhere (a script, a notebook, a test module) hands its kernels
    a hyperparameter NamedTuple that another process can import by name, so library
    kernels cached on disk with it stay readable there (Numba reads a cache index whole,
    and one type it cannot import made every later compilation of that kernel fail)."""
    import pickle
    import subprocess
    import sys

    @dataclass(frozen=True, repr=False)
    class LocalTagAndCapture(bl.rules.TagAndCapture):
        name = "local_tag_and_capture"

    t = params_type(LocalTagAndCapture)
    assert t is params_type(bl.rules.TagAndCapture)
    assert t.__module__ == "brainlearn.rules._params"
    blob = pickle.dumps(numba.typeof(kernel_params(LocalTagAndCapture(), np.float32)))
    code = "import pickle, sys; print(pickle.loads(sys.stdin.buffer.read()))"
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                         check=True, timeout=120)
    assert out.stdout.decode().startswith("Params_8_ltp_rate8_ltd_rate"), out.stdout
