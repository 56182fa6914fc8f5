"""The kernel-equality tests pass with Numba's JIT disabled (pure Python semantics).

This runs every test marked ``twin`` in a subprocess with ``NUMBA_DISABLE_JIT=1``,
so the compiled kernels and their interpreted source are both held to the NumPy twins.
"""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.slow
def test_twin_tests_pass_with_jit_disabled(tmp_path):
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", BRAINLEARN_CACHE_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "twin", "-p", "no:cacheprovider", "-n", "0",
         HERE],
        capture_output=True, text=True, env=env, cwd=os.path.dirname(HERE))
    tail = "\n".join(proc.stdout.splitlines()[-15:])
    assert proc.returncode == 0, tail + proc.stderr[-2000:]
    assert " passed" in tail
