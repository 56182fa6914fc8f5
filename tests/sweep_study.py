"""Studies for the sweep tests: the fake study with runs that kill their own worker process.

A module of its own (not a test file) so that worker processes -- local ones started by spawn
and Dask workers -- import its classes when they unpickle the study: they get the parent's
``sys.path``, which holds ``tests/`` under pytest.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from fake_study import FakeConfig, FakeStudy


@dataclass(frozen=True)
class DyingConfig(FakeConfig):
    die: str = ""            # the rule whose run kills its own process (every seed)
    die_always: bool = False  # False: only the first attempt dies (a marker file remembers it)
    markers: str = ""        # the folder of the marker files (one per run and attempt)
    sleep: float = 0.0       # seconds every run sleeps first (to be caught mid-sweep)

    @classmethod
    def quick(cls):
        return cls(steps=3)


class DyingStudy(FakeStudy):
    """The fake study whose ``die`` rule's run ends its process with ``os._exit`` a moment
    into the run -- on its first attempt only, or always -- as a worker killed by the system
    would. Every attempt leaves a marker file ``RULE-SEED-SCALE-ALWAYS.N`` in ``markers``, so
    tests count attempts."""

    name = "dying"
    Config = DyingConfig

    def run_one(self, config, rule, seed):
        if config.sleep:
            time.sleep(config.sleep)
        if config.markers:
            stem = os.path.join(config.markers,
                                f"{rule}-{seed}-{config.scale}-{config.die_always}")
            attempt = 1
            while os.path.exists(f"{stem}.{attempt}"):
                attempt += 1
            open(f"{stem}.{attempt}", "w").close()
            if rule == config.die and (config.die_always or attempt == 1):
                time.sleep(0.2)  # mid-run
                os._exit(3)
        return super().run_one(config, rule, seed)


def attempts(markers, rule, seed, scale=1.0, die_always=False) -> int:
    """How many times the run (rule, seed, scale, die_always) was started (its marker files)."""
    prefix = f"{rule}-{seed}-{scale}-{die_always}."
    return sum(name.startswith(prefix) for name in os.listdir(markers))
