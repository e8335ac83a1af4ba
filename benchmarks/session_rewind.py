"""Session size on disk and the time to rewind on the default preset (no assertions; prints a table).

    python benchmarks/session_rewind.py --steps 100000 [--set run.spectra_every=10]

Runs the preset to ``--steps``, saves the session, then goes back 1,000 steps and back to the
start (the whole run), timing each jump: a rewind restores the nearest checkpoint and replays the
steps between it and the target, so its time is the replay's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from muonscope.app.config_args import overrides
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
    for back in (1_000, args.steps):
        target = max(session.branch.head_step - back, 0)
        session.go_to(session.branch.head_step)
        replay = session.replay_steps(target)
        t0 = time.perf_counter()
        session.go_to(target)
        print(
            f"rewind {back} steps (to step {target}): "
            f"replayed {replay} steps in {time.perf_counter() - t0:.2f} s"
        )


if __name__ == "__main__":
    main()
