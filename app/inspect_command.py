"""``muonscope inspect``: what a saved session holds, or one of its matrices printed and written as .npy."""

from __future__ import annotations

import argparse

import numpy as np

from muonscope.app.config_args import branch_of
from muonscope.app.output_paths import check_output_file
from muonscope.app.path_words import path_text
from muonscope.app.progress import busy
from muonscope.engine.changes import AddLane
from muonscope.engine.divergence import because
from muonscope.engine.errors import ConfigError

__all__ = ["inspect_command"]

#: Leading singular values printed.
_SHOWN_SV = 8


def inspect_command(args: argparse.Namespace) -> int:
    """Replay the session to ``--step`` and report the lane's matrix; a missing matrix is an input error.

    Without ``--step``: the session's summary (task, branches, lanes, breakpoints).
    """
    if args.step is None:
        return _summary_command(args)
    if args.step < 0:
        raise ConfigError("--step", args.step, "must be a step ≥ 0")
    if args.out is not None:
        if args.out.suffix != ".npy":
            raise ConfigError("--out", str(args.out), "must be a file name ending in .npy")
        check_output_file(args.out)
    from muonscope.app.session_summary import say_opened_notes
    from muonscope.engine.inspection import lane_matrices
    from muonscope.engine.session_file import open_session

    with busy(not args.no_progress, f"opening {path_text(args.session)}"):
        session = open_session(args.session)
    say_opened_notes(session, args.session, "muonscope inspect")
    if args.branch is not None:
        session.switch(branch_of(session, args.branch))
    head = session.branch.head_step
    if args.step > head:  # named: a session's other branches may reach further
        which = "--branch" if args.branch is not None else "the branch saved as current,"
        branch = f"{which} “{session.branch.name}”"
        raise ConfigError("--step", args.step, f"must be a step of {branch}: 0 to {head}")
    with busy(not args.no_progress, f"replaying to step {args.step}"):
        found = session.matrices_at(args.step)
    added = sum(isinstance(change, AddLane) for step, change in session.branch.changes if step == args.step)
    lane = _lane_index(args.lane or "0", found["config"], args.step, added)
    inspected = lane_matrices(found, lane)
    tensor = args.tensor or "W"
    matrix = inspected.matrices[tensor]
    if matrix is None:
        raise ConfigError("--tensor", tensor, _missing(tensor, inspected))
    dtype = np.dtype(str(found["weights"].dtype).removeprefix("torch."))  # the run's: float32's were widened
    _print(inspected, tensor, matrix, dtype)
    if args.out is not None:
        from muonscope.engine.file_writes import replacing

        with replacing(args.out) as temporary, temporary.open("wb") as handle:  # whole or not at all
            np.save(handle, matrix.astype(dtype), allow_pickle=False)  # exact: the values are the run's
        print(f"wrote {path_text(args.out)}")
    return 0


def _summary_command(args: argparse.Namespace) -> int:
    for option in ("--lane", "--tensor", "--branch", "--out"):
        value = getattr(args, option[2:])
        if value is not None:
            raise ConfigError(
                option, str(value), "needs --step K (the step to look at; without it every branch is listed)"
            )
    from muonscope.app.session_summary import say_opened_notes, session_summary
    from muonscope.engine.session_file import open_session

    with busy(not args.no_progress, f"opening {path_text(args.session)}"):
        session = open_session(args.session)
    say_opened_notes(session, args.session, "muonscope inspect")
    print("\n".join(session_summary(session, args.session)))
    return 0


def _lane_index(text: str, config, step: int, added: int) -> int:
    """The lane ``text`` names among the lanes that made step ``step`` (``added``: lanes added at
    that step, after its matrices: the branch's map lists them at it, and they were refused as
    lanes that do not exist)."""
    labels = [lane.display_label() for lane in config.lanes]
    if text.strip().isdigit():
        index = int(text)
        if index < len(labels):
            return index
        if index < len(labels) + added:
            raise ConfigError(
                "--lane",
                text,
                f"lane {index} is added at step {step}, after that step's matrices; its own begin at "
                f"step {step + 1}",
            )
    elif labels.count(text) == 1:
        return labels.index(text)
    elif text in labels:  # one matrix is shown: the first lane of several bearing it was taken unsaid
        bearing = " and ".join(str(i) for i, label in enumerate(labels) if label == text)
        raise ConfigError("--lane", text, f"it is the label of lanes {bearing}; give the lane's index")
    choices = ", ".join(f"{i} ({label})" for i, label in enumerate(labels))
    raise ConfigError("--lane", text, f"must be a lane index or label: {choices}")


def _missing(tensor: str, inspected) -> str:
    if inspected.step == 0:  # nothing but W exists before the first step, a momentum buffer neither
        return "does not exist at step 0 (no step was taken yet); choose W or a later step"
    return f"does not exist for lane {inspected.lane} ({inspected.label}): it keeps no momentum buffer"


def _print(inspected, tensor: str, matrix: np.ndarray, dtype: np.dtype) -> None:
    sv = np.linalg.svd(matrix, compute_uv=False)
    leading = " ".join(f"{v:.6g}" for v in sv[:_SHOWN_SV])
    print(f"step {inspected.step} · lane {inspected.lane} ({inspected.label}) · {tensor}")
    shape = f"shape {matrix.shape[0]}×{matrix.shape[1]} · {dtype.name}"
    print(f"{shape} · Frobenius norm {np.linalg.norm(matrix):.6g}")
    print(f"leading singular values: {leading}")
    if 0 <= inspected.diverged_step <= inspected.step:  # its zero update read as a lane at rest
        print(
            f"lane {inspected.lane} diverged at step {inspected.diverged_step}"
            f"{because(inspected.diverged_cause)}; frozen at its last finite W, "
            "it takes no step (its update is zero)"
        )
    if inspected.residual is not None and tensor != "W":  # the map made the step's update, not W
        the_map = f" ({inspected.map_text})" if inspected.map_text else ""
        residual = f"residual ‖map − polar‖/‖polar‖ = {inspected.residual:.3g}"
        print(f"polar map of {inspected.map_input}{the_map}: {residual}")
