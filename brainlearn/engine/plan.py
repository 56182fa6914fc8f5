"""From a Network to a Plan: what the compiled drivers must compute, and in which order.

The plan fixes the evaluation order of populations, which populations carry an
error signal (a backward pass runs only where some rule reads ``error``), how
the error crosses each projection (through ``W^T``, a fixed random matrix
``B^T``, or directly from the output), which projections own their post
population's bias, which populations settle through lateral projections, and
which updates may be accumulated straight into ``W``. It is pure data:
:mod:`.codegen` turns it into source text, so two networks with the same
structure share one compiled driver.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .._jit import JIT_DISABLED
from ..network.activations import ACTIVATIONS, TANH
from ..network.losses import LOSSES, canonical_loss, check_loss_activation
from .fastpaths import fast_path

__all__ = ["Plan", "Term", "ProjectionPlan", "make_plan"]


@dataclass(frozen=True)
class Term:
    """One rule acting on a projection: its kernels and where its params/state sit."""

    kernel: object
    batch_kernel: object  # None: the driver calls ``kernel`` once per row
    signal: str  # the third factor it reads: "error", "reward" or "none"
    constraint: bool  # edits W after the deltas are applied
    feedback: str  # how error crosses this projection: transpose, random, direct
    slot: int  # index into the params/state tuples
    state_cls: object = None  # NamedTuple class of the state (for the row-parallel driver)
    state_fields: tuple = ()
    # the fast paths registered for the rule (brainlearn.engine.fastpaths), or None
    affine: object = None  # for the block driver
    direction: object = None  # for the block driver
    segment: object = None  # for the row-parallel driver


@dataclass(frozen=True)
class ProjectionPlan:
    index: int
    pre: int
    post: int
    terms: tuple  # of Term; empty for a fixed projection
    fused: bool  # accumulate straight into W (a single elementwise / in-place delta rule)
    owns_bias: bool
    has_mask: bool
    has_bounds: bool
    lateral: bool

    @property
    def deltas(self):
        return [t for t in self.terms if not t.constraint]

    @property
    def constraints(self):
        return [t for t in self.terms if t.constraint]

    @property
    def needs_buffer(self):
        return bool(self.deltas) and not self.fused


@dataclass(frozen=True)
class Plan:
    order: tuple  # non-input population indices, evaluation order
    inputs: tuple  # (population index, column offset, size)
    sizes: tuple  # size of every population
    activations: tuple  # activation code per population (-1 for inputs)
    output: int
    loss: int  # loss code, -1 for none
    delta_pops: tuple  # populations whose dL/dz is computed
    direct: tuple  # (population, slot) pairs: dL/dz comes from the output through S[slot].B
    reward_pops: tuple  # populations whose rules read the reward
    projections: tuple  # ProjectionPlan per projection
    threshold: float  # decision threshold for a single output unit
    rows: int = -1  # projection run by the row-parallel driver (-1: not eligible)
    block: int = -1  # projection run by the block driver (-1: not eligible)
    block_threads: bool = False  # the block driver may run row ranges on threads
    reward_segment: int = -1  # projection whose rule's reward_segment fast path runs (-1: none)

    def incoming(self, pop, lateral=False):
        return [p for p in self.projections if p.post == pop and p.lateral == lateral]

    def outgoing(self, pop):
        return [p for p in self.projections if p.pre == pop and not p.lateral]

    def direct_slot(self, pop):
        for p, slot in self.direct:
            if p == pop:
                return slot
        return None


def _signal(rule, proj_name):
    needs = rule.needs
    if "error" in needs and "reward" in needs:
        raise ValueError(f"rule {type(rule).__name__} on projection {proj_name!r} needs both error "
                         "and reward; a rule reads one third factor")
    return "error" if "error" in needs else "reward" if "reward" in needs else "none"


def make_plan(net, loss=None, learn=True) -> Plan:
    """Build the plan for ``net`` trained with ``loss`` (a name, or None for no loss).

    With ``learn=False`` the rules are left out (a forward-only plan, shared by every
    network of the same shape).
    """
    pops = net.populations
    if not pops or not net.inputs:
        raise ValueError("the network needs at least one input population (add_input)")
    out = net.output
    order = tuple(p.index for p in net.topological_order() if not p.is_input)
    for i in order:
        if not [q for q in net.incoming(pops[i]) if not q.is_lateral]:
            raise ValueError(f"population {pops[i].name!r} receives no feed-forward projection; "
                             "connect something to it or remove it")
    offsets, off = [], 0
    for p in net.inputs:
        offsets.append((p.index, off, p.size))
        off += p.size
    loss_code = -1
    if loss is not None:
        loss = canonical_loss(loss)
        check_loss_activation(loss, out.activation)
        loss_code = LOSSES[loss]

    slot = 0
    proj_terms = []
    need, reward, direct = set(), set(), {}
    for q in net.projections:
        terms = []
        for r in (q.chain.rules if learn else ()):
            if r.kernel is None:
                raise TypeError(f"rule {type(r).__name__} on projection {q.name!r} has no kernel")
            for fn in (r.kernel, r.batch_kernel):
                if fn is not None and not JIT_DISABLED and not hasattr(fn, "py_func"):
                    raise TypeError(f"rule {r.name or type(r).__name__!r}: its kernel "
                                    f"{getattr(fn, '__name__', fn)!r} is not compiled; decorate it "
                                    "with @numba.njit")
            if r.tags.output_only and q.post.index != out.index:
                raise ValueError(f"rule {r.name!r} on projection {q.name!r} learns from the output "
                                 f"error and belongs on a projection into {out.name!r}, not "
                                 f"{q.post.name!r}")
            sig = _signal(r, q.name)
            fast = fast_path(r)
            t = Term(r.kernel, r.batch_kernel, sig, bool(r.tags.constraint), r.tags.feedback, slot,
                     affine=fast.affine, direction=fast.direction, segment=fast.segment)
            terms.append(t)
            slot += 1
            if sig == "error":
                need.add(q.post.index)
                if r.tags.feedback == "direct" and q.post.index != out.index:
                    direct.setdefault(q.post.index, t.slot)
            elif sig == "reward":
                reward.add(q.post.index)
        proj_terms.append(tuple(terms))
    reaches_out = _reaches(net, out.index)
    for p in sorted(need):
        if p not in reaches_out:
            names = [q.name for q in net.incoming(pops[p]) if any(
                t.signal == "error" for t in proj_terms[q.index])]
            raise ValueError(
                f"projection {names[0]!r} uses a rule that needs an error signal, but its "
                f"population {pops[p].name!r} has no path to the output {out.name!r}")
    if (need or reward) and loss_code < 0:
        raise ValueError("a rule needs an error or reward signal but no loss/targets were given")
    # dL/dz is needed where a rule reads it, and downstream of there up to the output
    # (populations fed directly from the output need only the output's error)
    delta = set()
    succ = {p.index: [q.post.index for q in net.outgoing(p) if not q.is_lateral] for p in pops}
    stack = list(need)
    while stack:
        u = stack.pop()
        if u in delta or u not in reaches_out:
            continue
        delta.add(u)
        if u not in direct:
            stack.extend(succ[u])
    if need:
        delta.add(out.index)
    for p in delta:
        if any(q.is_lateral for q in net.incoming(pops[p])):
            raise NotImplementedError(
                f"population {pops[p].name!r} has a lateral projection and needs an error signal; "
                "error transport through settling lateral dynamics is not supported")

    owner = {}
    plans = []
    for q, terms in zip(net.projections, proj_terms):
        rules = q.chain.rules if learn else ()
        bias = any(r.tags.updates_bias for r in rules) and q.post.index not in owner and not q.is_lateral
        if bias:
            owner[q.post.index] = q.index
        deltas = [r for r in rules if not r.tags.constraint]
        fused = len(deltas) == 1 and (deltas[0].tags.elementwise or deltas[0].tags.in_place)
        plans.append(ProjectionPlan(q.index, q.pre.index, q.post.index, terms, fused, bias,
                                    q.mask is not None, q.bounds is not None, q.is_lateral))
    acts = tuple(-1 if p.is_input else ACTIVATIONS[p.activation] for p in pops)
    threshold = 0.0 if acts[out.index] == TANH else 0.5
    rows = block = -1
    block_threads = False
    if learn and loss_code < 0:
        rows, plans = _row_parallel(net, plans)
        block = _block(net, plans)
        block_threads = block >= 0 and rows >= 0
        if block >= 0 and rows < 0:
            block_threads, plans = _direction_rows(net, plans)
    reward_segment = _reward_segment(net, plans) if learn and loss_code >= 0 else -1
    return Plan(order, tuple(offsets), tuple(p.size for p in pops), acts, out.index, loss_code,
                tuple(sorted(delta, key=order.index)), tuple(sorted(direct.items())),
                tuple(sorted(reward)), tuple(plans), threshold, rows, block, block_threads,
                reward_segment)


def _block(net, plans):
    """Whether online learning can run block by block (0) or not (-1).

    That holds for one input population feeding one population through one
    projection without mask, bounds, constraint rules or a learnt bias, whose rules
    all give an ``affine`` fast path (each row changes by ``alpha_i W_i + beta_i x``):
    then the weights after a block of samples are ``diag(A) (W + C^T X)`` for the
    block's inputs ``X``, and every activity within the block follows from
    ``W X^T`` and ``X X^T`` (see the block driver in :mod:`.codegen`). A single rule may
    move along a direction of its own instead of ``x`` (``direction`` fast path: the
    covariance rule's ``x - <x>``); then ``X`` is replaced by the directions in both
    ``C^T X`` and the Gram products.
    """
    if len(net.inputs) != 1 or len(net.populations) != 2 or len(net.projections) != 1:
        return -1
    q, pp = net.projections[0], plans[0]
    if q.is_lateral or pp.has_mask or pp.has_bounds or pp.owns_bias or not pp.terms:
        return -1
    if any(t.constraint or t.affine is None or t.signal != "none" for t in pp.terms):
        return -1
    # a rule that moves along its own direction d (not x) must be alone: the block folds one
    # direction per sample into C
    if any(t.direction is not None for t in pp.terms) and len(pp.terms) > 1:
        return -1
    return 0


def _row_parallel(net, plans):
    """Whether the whole epoch can run row block by row block on several threads.

    That holds for one input population feeding one population through one projection
    whose rules are all ``row_local`` (the change of row i reads only row i, x, y_i and
    row i of the state), with an element-wise activation and no loss: then every row
    evolves independently over the epoch, and the threads need no synchronisation.
    """
    if len(net.inputs) != 1 or len(net.populations) != 2 or len(net.projections) != 1:
        return -1, plans
    q, pp = net.projections[0], plans[0]
    rules = q.chain.rules
    if not rules or q.is_lateral or q.post.activation == "softmax" or pp.owns_bias:
        return -1, plans
    if not all(r.tags.row_local and r.needs <= {"pre", "post"} for r in rules):
        return -1, plans
    states = q.states
    terms = []
    for t, st in zip(pp.terms, states):
        fields = tuple(getattr(st, "_fields", ()))
        if any(getattr(st, f).shape[:1] != (q.post.size,) for f in fields):
            return -1, plans
        terms.append(replace(t, state_cls=type(st), state_fields=fields))
    return 0, (replace(pp, terms=tuple(terms)),) + tuple(plans[1:])


def _reward_segment(net, plans):
    """The projection (0) whose rule's ``reward_segment`` fast path may run the epoch, or -1.

    That holds for one input population feeding the output through one projection, without
    mask, bounds or a learnt bias, carrying a single rule that reads the reward and gives
    the path (see :mod:`brainlearn.engine.fastpaths`).
    """
    if len(net.inputs) != 1 or len(net.populations) != 2 or len(net.projections) != 1:
        return -1
    q, pp = net.projections[0], plans[0]
    if q.is_lateral or pp.has_mask or pp.has_bounds or pp.owns_bias or len(pp.terms) != 1:
        return -1
    rule = q.chain.rules[0]
    if fast_path(rule).reward_segment is None or pp.terms[0].signal != "reward":
        return -1
    return 0


def _direction_rows(net, plans):
    """Whether the block driver may run row ranges of a rule with a ``direction`` fast path on
    threads (True, with the rows' state fields in the plan) or not (False).

    Such a rule is not ``row_local``: its input-side state (the covariance rule's running
    mean of x) moves with every sample. But the block driver makes the directions, and so
    moves that state, for the whole segment before the rows run; what is left to the rows
    is ``affine`` fast path, which by the protocol touches only the other fields. So the rows
    may split when the rule names its input-side fields (``input_state``), every other
    field has one row per unit, and the activation is element-wise.
    """
    q, pp = net.projections[0], plans[0]
    if len(pp.terms) != 1 or pp.terms[0].direction is None:
        return False, plans
    rule, t, st = q.chain.rules[0], pp.terms[0], q.states[0]
    inputs = fast_path(rule).input_state
    fields = tuple(getattr(st, "_fields", ()))
    if inputs is None or q.post.activation == "softmax" or pp.owns_bias:
        return False, plans
    if any(f not in fields for f in inputs):
        return False, plans
    rowwise = tuple(f for f in fields if f not in inputs)
    if any(getattr(st, f).shape[:1] != (q.post.size,) for f in rowwise):
        return False, plans
    terms = (replace(t, state_cls=type(st), state_fields=rowwise),)
    return True, (replace(pp, terms=terms),) + tuple(plans[1:])


def _reaches(net, target):
    """Population indices with a feed-forward path to ``target`` (including it)."""
    pred = {p.index: [q.pre.index for q in net.incoming(p) if not q.is_lateral]
            for p in net.populations}
    seen, stack = set(), [target]
    while stack:
        u = stack.pop()
        if u not in seen:
            seen.add(u)
            stack.extend(pred[u])
    return seen
