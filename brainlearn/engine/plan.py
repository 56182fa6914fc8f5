"""From a Network to a Plan: what the compiled drivers must compute, and in which order.

The plan fixes the evaluation order of populations, which populations need an
error signal (a backward pass runs only where some rule reads ``error``), which
projections own their post population's bias, and which updates may be
accumulated straight into ``W``. It is pure data: :mod:`.codegen` turns it
into source text, so two networks with the same structure share one compiled
driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..network.activations import ACTIVATIONS, TANH
from ..network.losses import LOSSES, canonical_loss, check_loss_activation

__all__ = ["Plan", "Term", "ProjectionPlan", "make_plan"]


@dataclass(frozen=True)
class Term:
    """One rule acting on a projection: its kernels and where its params/state sit."""

    kernel: object
    batch_kernel: object  # None: the driver calls ``kernel`` once per row
    needs_error: bool
    slot: int  # index into the params/state tuples


@dataclass(frozen=True)
class ProjectionPlan:
    index: int
    pre: int
    post: int
    terms: tuple  # of Term; empty for a fixed projection
    fused: bool  # accumulate straight into W (single elementwise rule)
    owns_bias: bool
    has_mask: bool
    has_bounds: bool


@dataclass(frozen=True)
class Plan:
    order: tuple  # non-input population indices, evaluation order
    inputs: tuple  # (population index, column offset, size)
    sizes: tuple  # size of every population
    activations: tuple  # activation code per population (-1 for inputs)
    output: int
    loss: int  # loss code, -1 for none
    delta_pops: tuple  # populations whose dL/dz is computed
    projections: tuple  # ProjectionPlan per projection
    threshold: float  # decision threshold for a single output unit

    @property
    def needs_error(self) -> bool:
        return any(t.needs_error for p in self.projections for t in p.terms)

    def incoming(self, pop):
        return [p for p in self.projections if p.post == pop]

    def outgoing(self, pop):
        return [p for p in self.projections if p.pre == pop]


def rule_terms(rule):
    """The (rule, ...) list a projection's rule expands to (a chain gives several)."""
    if rule is None:
        return ()
    return tuple(getattr(rule, "rules", None) or (rule,))


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
        if not net.incoming(pops[i]):
            raise ValueError(f"population {pops[i].name!r} receives no projection; connect "
                             "something to it or remove it")
    offsets, off = [], 0
    for p in net.inputs:
        offsets.append((p.index, off, p.size))
        off += p.size
    loss_code = -1
    if loss is not None:
        loss = canonical_loss(loss)
        check_loss_activation(loss, out.activation)
        loss_code = LOSSES[loss]

    # which rules read an error, and which populations must then carry dL/dz
    slot = 0
    proj_terms = []
    need = set()
    for q in net.projections:
        terms = []
        for r in (rule_terms(q.rule) if learn else ()):
            ne = "error" in r.needs
            if r.kernel is None:
                raise TypeError(f"rule {type(r).__name__} on projection {q.name!r} has no kernel")
            terms.append(Term(r.kernel, r.batch_kernel, ne, slot))
            slot += 1
            if ne:
                need.add(q.post.index)
        proj_terms.append(tuple(terms))
    reaches_out = _reaches(net, out.index)
    for p in sorted(need):
        if p not in reaches_out:
            names = [q.name for q in net.incoming(pops[p]) if any(t.needs_error for t in
                                                                    proj_terms[q.index])]
            raise ValueError(
                f"projection {names[0]!r} uses a rule that needs an error signal, but its "
                f"population {pops[p].name!r} has no path to the output {out.name!r}")
    if need and loss_code < 0:
        raise ValueError("a rule needs an error signal but no loss was given")
    delta = set()
    succ = {p.index: [q.post.index for q in net.outgoing(p)] for p in pops}
    stack = list(need)
    while stack:
        u = stack.pop()
        if u in delta or u not in reaches_out:
            continue
        delta.add(u)
        stack.extend(succ[u])

    owner = {}
    plans = []
    for q, terms in zip(net.projections, proj_terms):
        rules = rule_terms(q.rule) if learn else ()
        bias = any(r.updates_bias for r in rules) and q.post.index not in owner
        if bias:
            owner[q.post.index] = q.index
        fused = len(rules) == 1 and rules[0].elementwise
        plans.append(ProjectionPlan(q.index, q.pre.index, q.post.index, terms, fused, bias,
                                    q.mask is not None, q.bounds is not None))
    acts = tuple(-1 if p.is_input else ACTIVATIONS[p.activation] for p in pops)
    threshold = 0.0 if acts[out.index] == TANH else 0.5
    return Plan(order, tuple(offsets), tuple(p.size for p in pops), acts, out.index, loss_code,
                tuple(sorted(delta, key=order.index)), tuple(plans), threshold)


def _reaches(net, target):
    """Population indices with a path to ``target`` (including it)."""
    pred = {p.index: [q.pre.index for q in net.incoming(p)] for p in net.populations}
    seen, stack = set(), [target]
    while stack:
        u = stack.pop()
        if u not in seen:
            seen.add(u)
            stack.extend(pred[u])
    return seen
