"""Where and how a run computes: float32 matmuls left exact, the cores shared with a window."""

import pytest
import torch

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.device import exact_float32_matmuls, share_cores_with_a_window


def _quiet_config() -> ExperimentConfig:
    return ExperimentConfig(
        task=TaskConfig(d=16, n_items=128, batch_size=32),
        lanes=(LaneConfig(optimizer="muon", lr=0.1),),
        run=RunConfig(eval_every=10**6, spectra_every=10**6),
    )


def test_runs_never_allow_tf32():
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        Experiment(_quiet_config())
        assert torch.backends.cuda.matmul.allow_tf32 is False
        assert torch.get_float32_matmul_precision() == "highest"
    finally:
        exact_float32_matmuls()


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (16, 15)])
def test_a_window_keeps_one_core_for_itself(cores, threads):
    before = torch.get_num_threads()
    try:
        assert share_cores_with_a_window(cores) == threads
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
