"""``muonscope inspect``: one matrix of a saved session, printed and written as .npy."""

from __future__ import annotations

import argparse

import numpy as np

from muonscope.app.config_args import branch_of, check_output_file
from muonscope.engine.errors import ConfigError

__all__ = ["inspect_command"]

#: Leading singular values printed.
_SHOWN_SV = 8


def inspect_command(args: argparse.Namespace) -> int:
    """Replay the session to ``--step`` and report the lane's matrix; a missing matrix is an input error."""
    if args.step < 0:
        raise ConfigError("--step", args.step, "must be a step ≥ 0")
    if args.out is not None:
        if args.out.suffix != ".npy":
            raise ConfigError("--out", str(args.out), "must be a file name ending in .npy")
        check_output_file(args.out)
    from muonscope.engine.inspection import lane_matrices
    from muonscope.engine.session_file import open_session

    session = open_session(args.session)
    if args.branch is not None:
        session.switch(branch_of(session, args.branch))
    head = session.branch.head_step
    if args.step > head:
        raise ConfigError("--step", args.step, f"must be a step of the session's branch, 0 to {head}")
    found = session.matrices_at(args.step)
    lane = _lane_index(args.lane, found["config"])
    inspected = lane_matrices(found, lane)
    matrix = inspected.matrices[args.tensor]
    if matrix is None:
        raise ConfigError("--tensor", args.tensor, _missing(args.tensor, inspected))
    _print(inspected, args.tensor, matrix)
    if args.out is not None:
        np.save(args.out, matrix, allow_pickle=False)
        print(f"wrote {args.out}")
    return 0


def _lane_index(text: str, config) -> int:
    labels = [lane.display_label() for lane in config.lanes]
    if text.strip().isdigit():
        index = int(text)
        if index < len(labels):
            return index
    elif text in labels:
        return labels.index(text)
    choices = ", ".join(f"{i} ({label})" for i, label in enumerate(labels))
    raise ConfigError("--lane", text, f"must be a lane index or label: {choices}")


def _missing(tensor: str, inspected) -> str:
    if inspected.step == 0 and tensor in ("G", "update"):
        return "does not exist at step 0 (no step was taken yet); choose W or a later step"
    return f"does not exist for lane {inspected.lane} ({inspected.label}): it keeps no momentum buffer"


def _print(inspected, tensor: str, matrix: np.ndarray) -> None:
    sv = np.linalg.svd(matrix, compute_uv=False)
    leading = " ".join(f"{v:.6g}" for v in sv[:_SHOWN_SV])
    print(f"step {inspected.step} · lane {inspected.lane} ({inspected.label}) · {tensor}")
    print(f"shape {matrix.shape[0]}×{matrix.shape[1]} · Frobenius norm {np.linalg.norm(matrix):.6g}")
    print(f"leading singular values: {leading}")
    if inspected.residual is not None:
        print(
            f"polar map of {inspected.map_input}: residual ‖map − polar‖/‖polar‖ = {inspected.residual:.3g}"
        )
