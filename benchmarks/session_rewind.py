"""Session size on disk and the time to rewind on the default preset (no assertions; prints a table).

    python benchmarks/session_rewind.py --steps 100000 [--set run.spectra_every=10] [--project 100000]

Runs the preset to ``--steps``, saves the session, then goes back 1,000 steps, back to the start (the
whole run) and to the step that needs the longest replay (just before a checkpoint), timing each jump
from the run's newest step (the way back there is timed too): a jump restores the nearest stored state
and replays the steps between it and the target, so its time is the replay's.
``--project N`` also gives the checkpoint grid a run of N steps would have within the
same budget (the store's own thinning, fed checkpoints of the measured size) and the longest replay
there at the measured step rate: an estimate, printed as one, for runs too long to run here.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from muonscope.app.config_args import overrides
from muonscope.engine.checkpoints import CheckpointStore
from muonscope.engine.presets import load_preset
from muonscope.engine.session import Session
from muonscope.engine.session_file import open_session, save_session


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--project", type=int, default=0, metavar="N")
    args = parser.parse_args()
    config = (
        load_preset(args.preset).config.with_values(overrides(args.set)).with_value("run.steps", args.steps)
    )
    session = Session(config)
    started = time.perf_counter()
    session.run(args.steps, stop_on_breakpoints=False)
    run_s = time.perf_counter() - started
    rate = args.steps / run_s
    print(f"ran {args.steps} steps in {run_s:.1f} s ({rate:.1f} steps/s)")
    store = session.branch.checkpoints
    print(
        f"checkpoints: {len(store)} on a grid of {store.spacing} steps, {store.nbytes / 2**20:.1f} MiB "
        f"(budget {config.run.checkpoint_mb:g} MiB)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "session"
        t0 = time.perf_counter()
        save_session(session, folder)
        save_s = time.perf_counter() - t0
        print(f"saved: {_folder_bytes(folder) / 2**20:.1f} MiB in {save_s:.2f} s")
        t0 = time.perf_counter()
        open_session(folder)
        print(f"opened in {time.perf_counter() - t0:.2f} s")
    head = session.branch.head_step
    for name, target in (
        ("1000 steps back", max(head - 1_000, 0)),
        ("to the start", 0),
        ("longest replay", _longest_replay_target(store.steps, head)),
    ):
        t0 = time.perf_counter()
        back = session.replay_steps(head)
        session.go_to(head)
        print(f"forward to the newest step {head}: replayed {back} steps in {time.perf_counter() - t0:.2f} s")
        replay = session.replay_steps(target)
        t0 = time.perf_counter()
        session.go_to(target)
        seconds = time.perf_counter() - t0
        print(f"rewind {name} (to step {target}): replayed {replay} steps in {seconds:.2f} s")
    if args.project:
        _project(args.project, store.nbytes / len(store), config.run.checkpoint_mb, rate)


def _longest_replay_target(checkpoint_steps: tuple[int, ...], head: int) -> int:
    """The step whose replay is longest: the one just before the widest gap between checkpoints."""
    ends = (*checkpoint_steps[1:], head)
    gap, start = max((end - 1 - start, start) for start, end in zip(checkpoint_steps, ends, strict=True))
    return start + gap


@dataclass(frozen=True)
class _SizedCheckpoint:
    """Stands in for a checkpoint of the measured size (the store reads only these two fields)."""

    step: int
    nbytes: int


def _project(steps: int, checkpoint_bytes: float, budget_mb: float, rate: float) -> None:
    store = CheckpointStore(int(budget_mb * 2**20))
    for step in range(steps + 1):
        if store.wants(step):
            store.add(_SizedCheckpoint(step, int(checkpoint_bytes)))
    worst = store.spacing - 1
    print(
        f"projected for {steps} steps: {len(store)} checkpoints every {store.spacing} steps, "
        f"{store.nbytes / 2**20:.1f} MiB; longest replay {worst} steps, about {worst / rate:.0f} s "
        f"at {rate:.1f} steps/s (estimate)"
    )


if __name__ == "__main__":
    main()
