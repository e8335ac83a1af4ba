"""Where and how a run computes: float32 matmuls left exact."""

import torch

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.device import exact_float32_matmuls


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
