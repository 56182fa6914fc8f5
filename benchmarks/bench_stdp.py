"""STDP on spiking neurons: brainlearn against Brian2 (C++ standalone and Cython), same run.

The case is Song, Miller & Abbott (2000) as in Brian2's documented STDP example: 1000 Poisson
inputs at 15 Hz onto one conductance-based LIF neuron, additive STDP with hard bounds,
100 s of simulated time at dt = 0.1 ms. For brainlearn the time is the study's own
``wall_time`` (the simulation, compiled code cached: brainlearn.studies.stdp.run); for
Brian2 the time of the simulation alone, compilation excluded (the standalone binary's run;
the second of two Cython runs). Both print the weight statistics (mean w/w_max, fractions
above 0.9 and below 0.1 w_max), which must agree within sampling noise.

Scaled case (as Brian2CUDA's STDP benchmark): 1000 Poisson inputs onto N/1000 neurons, all
to all, N synapses up to 10^7, 10 s simulated; throughput in synaptic events per second
(input spikes x fan-out + output spikes x fan-in).

Brian2 2.9 needs ``numpy<2.3`` and lives in a virtual environment of its own: give its
Python with ``--brian2-python PATH`` (or ``$BRIAN2_PYTHON``); the Brian2 runs happen in a
subprocess of that Python. Without it the Brian2 columns show ``n/a``.

    PYTHONPATH=. python benchmarks/bench_stdp.py --brian2-python VENV/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

BRIAN2_SCRIPT = textwrap.dedent('''
    import json, shutil, sys, time, tempfile
    import numpy as np
    from brian2 import *
    target, N, n_out, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    seed_value = int(sys.argv[5])
    workdir = tempfile.mkdtemp()
    if target == "standalone":
        set_device("cpp_standalone", directory=workdir, build_on_run=False)
    else:
        prefs.codegen.target = "cython"
    seed(seed_value)
    taum = 10*ms; taupre = 20*ms; taupost = taupre; Ee = 0*mV; vt = -54*mV; vr = -60*mV
    El = -74*mV; taue = 5*ms; F = 15*Hz; gmax = .01
    dApre = .01; dApost = -dApre * taupre / taupost * 1.05; dApost *= gmax; dApre *= gmax
    eqs = """dv/dt = (ge * (Ee-v) + El - v) / taum : volt
    dge/dt = -ge / taue : 1"""
    defaultclock.dt = 0.1*ms
    inp = PoissonGroup(N, rates=F)
    neurons = NeuronGroup(n_out, eqs, threshold="v>vt", reset="v = vr", method="euler")
    neurons.v = El
    S = Synapses(inp, neurons, """w : 1
        dApre/dt = -Apre / taupre : 1 (event-driven)
        dApost/dt = -Apost / taupost : 1 (event-driven)""",
        on_pre="""ge += w
        Apre += dApre
        w = clip(w + Apost, 0, gmax)""",
        on_post="""Apost += dApost
        w = clip(w + Apre, 0, gmax)""")
    S.connect()
    S.w = "rand() * gmax"
    sp_in = SpikeMonitor(inp, record=False)
    sp_out = SpikeMonitor(neurons, record=False)
    if target == "standalone":
        run(duration*second)
        device.build(directory=workdir, compile=True, run=False)
        t0 = time.perf_counter(); device.run(workdir); elapsed = time.perf_counter() - t0
    else:
        run(0.1*second)  # compiles the Cython code
        t0 = time.perf_counter(); run(duration*second); elapsed = time.perf_counter() - t0
    w = np.asarray(S.w[:]) / gmax
    print(json.dumps({"time": elapsed, "w_mean": float(w.mean()), "frac_high": float((w > 0.9).mean()),
                      "frac_low": float((w < 0.1).mean()), "in_spikes": int(sp_in.num_spikes),
                      "out_spikes": int(sp_out.num_spikes)}))
    shutil.rmtree(workdir, ignore_errors=True)  # the standalone project (0.5 GB at 10^7 synapses)
''')


def run_brian2(python, target, N, n_out, duration, seed):
    if not python:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(BRIAN2_SCRIPT)
        script = fh.name
    try:
        out = subprocess.run([python, script, target, str(N), str(n_out), str(duration),
                              str(seed)], capture_output=True, text=True, timeout=3600)
    finally:
        os.unlink(script)
    if out.returncode != 0:
        print(f"  Brian2 ({target}) failed: {out.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_brainlearn_study(duration, seed):
    """The study's run (one chunk of ``duration``): its wall_time and weight statistics."""
    from brainlearn.studies.stdp import StdpConfig, run
    config = StdpConfig(duration=duration, record_every=duration)
    rows = run(config, "stdp", seed)
    final = {r["metric"]: r["value"] for r in rows if r["task"] == "final" and r["step"] == 0}
    return {"time": final["wall_time"], "w_mean": final["w_mean"],
            "frac_high": final["frac_high"], "frac_low": final["frac_low"]}


def run_brainlearn_scaled(N, n_out, duration, seed):
    import numpy as np

    import brainlearn as bl
    net = bl.Network(seed=seed)
    src = net.add_poisson(N, rate=15.0)
    out = net.add_population(n_out, neuron=bl.neurons.LIF())
    rng = np.random.default_rng(seed)
    net.connect(src, out, rule=bl.rules.STDP(w_max=0.01),
                init=rng.uniform(0, 0.01, (n_out, N)))
    bl.simulate(net, 0.01, seed=seed, monitor=bl.Monitor(spikes=False))  # compile
    r = bl.simulate(net, duration, seed=seed, monitor=bl.Monitor(spikes=False))
    events = r.counts[src.name].sum() * n_out + r.counts[out.name].sum() * N
    return {"time": r.wall_time, "events": int(events)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    C.add_common_args(p)
    p.add_argument("--brian2-python", default=os.environ.get("BRIAN2_PYTHON"), metavar="PATH",
                   help="the Python of a virtual environment with brian2==2.9.0 (numpy<2.3, "
                        "cython); default $BRIAN2_PYTHON")
    p.add_argument("--max-synapses", type=float, default=1e7,
                   help="largest scaled case (default 1e7; Brian2 takes minutes there)")
    p.add_argument("--duration", type=float, default=None,
                   help="simulated seconds of the Song-Miller-Abbott case (default 100)")
    args = p.parse_args(argv)
    if args.threads is None:
        args.threads = 1  # every simulator on one thread (Brian2's targets use one)
    _, _, _, _, threads, _, _, max_wait = C.start(args)
    env = C.environment(threads, None)
    for line in C.describe_environment(env, threads, "not used by this benchmark"):
        print(line)
    duration = args.duration or (10.0 if args.quick else 100.0)
    seed = 1
    print(f"Song, Miller & Abbott: 1000 Poisson inputs at 15 Hz -> 1 LIF neuron, {duration:g} s, "
          "dt 0.1 ms")
    run_brainlearn_study(1.0, seed)  # compile once (cached for the next process too)
    results = {}
    C.settle(max_wait)
    times = []
    for rep in range(1 if args.quick else 3):
        r = run_brainlearn_study(duration, seed + rep)
        times.append(r["time"])
        results.setdefault("brainlearn", r)
    results["brainlearn"]["time"] = min(times)
    for target in ("standalone", "cython"):
        C.settle(max_wait)
        results[f"brian2 {target}"] = run_brian2(args.brian2_python, target, 1000, 1, duration,
                                                 seed)
    base = results["brainlearn"]["time"]
    rows = []
    for name, r in results.items():
        if r is None:
            rows.append([name, "n/a", "", "", "", "", ""])
            continue
        ratio = "" if name == "brainlearn" else f"{r['time'] / base:.1f}x"
        rows.append([name, f"{r['time']:.3f} s", ratio, f"{r['w_mean']:.3f}",
                     f"{r['frac_high']:.1%}", f"{r['frac_low']:.1%}", ""])
    C.print_table(["simulator", "time", "brainlearn faster by", "mean w/wmax", "> 0.9 wmax",
                   "< 0.1 wmax", ""], rows)
    target = 30.0
    b2 = results.get("brian2 standalone")
    if b2 is not None:
        ratio = b2["time"] / base
        print(f"target: >= {target:g}x Brian2's C++ standalone: {ratio:.1f}x "
              f"({'met' if ratio >= target else 'NOT met'})")
    scaled = {}
    sizes = [N for N in ([10**5] if args.quick else [10**5, 10**6, 10**7])
             if N <= args.max_synapses]
    scaled_duration = 2.0 if args.quick else 10.0
    print(f"\nscaled: 1000 inputs -> N/1000 neurons, all to all, {scaled_duration:g} s; "
          "synaptic events per second")
    srows = []
    for N in sizes:
        n_out = N // 1000
        C.settle(max_wait)
        bl = run_brainlearn_scaled(1000, n_out, scaled_duration, seed)
        b2 = run_brian2(args.brian2_python, "standalone", 1000, n_out, scaled_duration, seed)
        b2_rate = None
        if b2 is not None:
            b2_rate = (b2["in_spikes"] * n_out + b2["out_spikes"] * 1000) / b2["time"]
        rate = bl["events"] / bl["time"]
        scaled[N] = {"brainlearn": rate, "brian2_standalone": b2_rate}
        srows.append([f"{N:.0e}", f"{bl['time']:.2f} s", C.fmt_rate(rate),
                      "n/a" if b2_rate is None else C.fmt_rate(b2_rate),
                      "" if b2_rate is None else f"{rate / b2_rate:.1f}x"])
    C.print_table(["synapses", "brainlearn time", "brainlearn events/s", "brian2 events/s",
                   "ratio"], srows)
    if args.json:
        C.write_json(args.json, {"song_miller_abbott": results, "scaled": scaled,
                                 "duration": duration})


if __name__ == "__main__":
    main()
