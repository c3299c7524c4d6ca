"""A short run of the fuzz harness (benchmarks/fuzz_inputs.py; the full run is 10,000 loader and
1,000 command-line cases): hostile photos, arguments, recipes and presets end in a typed error."""

import pytest

from benchmarks.fuzz_inputs import run


@pytest.mark.slow
def test_fuzz_loader_and_command_line():
    assert run(loader_cases=300, cli_cases=40, seed=1, verbose=False) == []
