"""The ``muonscope`` command line as argparse reads it: every command, its options and its ``--help``.

Each command's help has a one-line description, examples, the defaults, the environment variables it
reads and its exit codes; a refused value is reported on one line as every other bad value is
("FIELD = VALUE is not allowed: WHAT IS"). Nothing heavy is imported here, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from muonscope import __version__
from muonscope.app.cli_help import (
    CACHE_ENV,
    CUDA_ENV,
    DASK_ENV,
    DEBUG_ENV,
    DISPLAY_ENV,
    OMP_ENV,
    QT_ENV,
    READER_GONE_EXIT,
    SWEEP_EXIT_CODES,
    THREADS_ENV,
    WINDOW_THREADS_ENV,
    HelpFormatter,
    help_epilog,
    wrapped,
)
from muonscope.app.cli_names import setting_names
from muonscope.app.cli_refusals import OneLineParser, state_range
from muonscope.app.config_args import MAX_WORKERS
from muonscope.app.panel_names import PANELS
from muonscope.app.record_command import MAX_EVERY, MAX_FPS, MIN_FPS
from muonscope.app.shot import SIZE_RANGE_TEXT
from muonscope.engine.errors import format_value
from muonscope.engine.file_names import HomeUnknown, home_expanded, name_overflow
from muonscope.engine.task_kinds import SWEEP_AXES

__all__ = ["build_parser"]


def _command(sub, name: str, summary: str, examples: list[str], environment: list[str], **ending):
    parser = sub.add_parser(
        name,
        help=summary,
        description=wrapped(summary[0].upper() + summary[1:] + "."),
        epilog=help_epilog(examples, environment, **ending),
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(command_parser=parser)  # so a check after parsing can report as argparse does
    return parser


def _path(text: str) -> Path:
    """A path argument, ``~`` at its start meaning the home folder as the shell does where it does
    not expand it itself (``--save=~/runs/s1`` made a folder named ``~`` in the current one); an
    empty one would quietly mean the current folder."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    try:
        path = home_expanded(text)
    except HomeUnknown as unknown:  # "~nosuchuser/x" was a runtime failure, exit 1, naming no option
        raise argparse.ArgumentTypeError(f"{format_value(text)} is not allowed: {unknown}") from None
    overflow = name_overflow(path)  # no file has such a path: "cannot be read" printed all 4 KB of it
    if overflow is not None:
        raise argparse.ArgumentTypeError(f"{format_value(text)} is not allowed: {overflow}")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``muonscope`` and of each of its commands."""
    parser = OneLineParser(
        prog="muonscope",
        usage="muonscope [-h] [--version] [PATH | --preset NAME | --config FILE] [COMMAND ...]",
        description=wrapped(
            "A desktop lab for watching optimizers learn. With no command, opens the window "
            "(on a saved session PATH, a preset or a config file)."
        ),
        epilog=help_epilog(
            [
                "muonscope",
                "muonscope runs/s1",
                "muonscope --preset noisy_scaling",
                "muonscope run --preset default --steps 300 --json",
                "muonscope COMMAND --help",
            ],
            [DISPLAY_ENV, CACHE_ENV, WINDOW_THREADS_ENV, DEBUG_ENV],
            "exit status: 0 success (the window closed), 2 invalid input (one line naming the field), "
            "1 runtime failure, 130 closed by Ctrl-C in the terminal or SIGTERM",
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"muonscope {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineParser, prog="muonscope"
    )
    _add_run(sub)
    _add_shot(sub)
    _add_record(sub)
    _add_sweep(sub)
    _add_reproduce(sub)
    _add_cache(sub)
    _add_inspect(sub)
    parser.add_argument(
        "--preset",
        dest="window_preset",
        metavar="NAME",
        help="open the window on a bundled preset (default: default)",
    )
    parser.add_argument(
        "--config",
        dest="window_config",
        metavar="FILE",
        type=_path,
        help="open the window on a config TOML file",
    )
    parser.add_argument("--open", dest="window_session", metavar="PATH", type=_path, help=argparse.SUPPRESS)
    return parser


def _add_inspect(sub) -> None:
    inspect = _command(
        sub,
        "inspect",
        "map a saved session (branches, changes, lanes), or print one of its matrices and write it as .npy",
        [
            "muonscope inspect runs/s1",
            "muonscope inspect runs/s1 --step 120 --lane 2 --tensor update --out update.npy",
        ],
        [DEBUG_ENV],
    )
    inspect.add_argument("session", metavar="PATH", type=_path, help="a saved session folder")
    inspect.add_argument(
        "--step",
        metavar="K",
        type=int,
        help=(
            "the step to look at (without it: the session's task, branches and how many of their "
            "steps have spectra, lanes and breakpoints)"
        ),
    )
    inspect.add_argument(
        "--lane", metavar="L", help="lane index (0-based) or label, with --step (default: 0)"
    )
    inspect.add_argument(
        "--tensor",
        choices=("W", "G", "M", "update"),
        help="which matrix, with --step (default: W); update is the step applied to W, −lr·D, where the "
        "spectra's update is D",
    )
    inspect.add_argument(
        "--branch",
        metavar="B",
        help="with --step: the branch, by index (0 is main) or name (default: the session's current one)",
    )
    inspect.add_argument(
        "--out",
        metavar="FILE.npy",
        type=_path,
        help="write the matrix as a .npy file (a folder it names is made; a file there is replaced)",
    )
    inspect.add_argument(
        "--no-progress", action="store_true", help="never show the lines that count opening and replaying"
    )


def _add_run(sub) -> None:
    run = _command(
        sub,
        "run",
        "train headless and report the final metrics",
        [
            "muonscope run --set task.d=96 --lane optimizer=muon,order=pre --steps 200 --out runs/a",
            "muonscope run --preset default --steps 300 --save runs/s1",
            "muonscope run --resume runs/s1 --rewind 100 --set 'lanes[0].lr=0.1' --steps 300 --save runs/s2",
            "muonscope run --until '2:recovered >= 500' --until diverged --json",
        ],
        [CUDA_ENV, THREADS_ENV, OMP_ENV, DEBUG_ENV],
        exit_codes="exit status: 0 success (also when --until stopped the run), 2 invalid input (one line "
        "naming the field or expression), 1 runtime failure, "
        f"130 interrupted by Ctrl-C or SIGTERM (what was computed is kept), {READER_GONE_EXIT}",
        names=setting_names(until=True),
    )
    _add_session_arguments(run)
    run.add_argument(
        "--out",
        metavar="DIR",
        type=_path,
        help="write per-step metrics (metrics.parquet or .csv), config.toml and final.json, replacing "
        "those of a run written there before; not a saved session's folder",
    )
    run.add_argument(
        "--format", choices=("parquet", "csv"), help="metrics table format, with --out (default: parquet)"
    )
    run.add_argument("--json", action="store_true", help="print the final report as one JSON object")
    run.add_argument(
        "--save",
        metavar="PATH",
        type=_path,
        help="save the session to the folder PATH at the end (also on Ctrl-C or SIGTERM)",
    )
    run.add_argument(
        "--until",
        metavar="EXPR",
        action="append",
        default=[],
        help="stop at the first step where EXPR holds: [LANE:]METRIC OP NUMBER or [LANE:]diverged, "
        "e.g. 'loss < 0.5' or '1:recovered >= 300' (LANE: an index, or a label, which watches every lane "
        "bearing it; repeatable: any of them); --json then says which "
        "held (stopped_by) and for which lane, with what value (stopped_at), and which others held there "
        "too (also_held)",
    )
    run.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _add_shot(sub) -> None:
    shot = _command(
        sub,
        "shot",
        "save a PNG (or SVG) of the real window, or of one panel, after N steps (no display needed)",
        [
            "muonscope shot --preset noisy_scaling --steps 80 --out window.png --size 1920x1080",
            "muonscope shot --set task.d=96 --steps 40 --panel spectrum --out spectrum.png --size 800x500",
            "muonscope shot --resume runs/s1 --presentation --out talk.png",
            "muonscope shot --resume runs/s1 --view spectrum=momentum:steps --out spectra.png",
        ],
        [QT_ENV, CACHE_ENV, CUDA_ENV, THREADS_ENV, OMP_ENV, DEBUG_ENV],
        exit_codes="exit status: 0 success, 2 invalid input (one line naming the option or field), "
        f"1 runtime failure, 130 interrupted by Ctrl-C or SIGTERM (nothing written), {READER_GONE_EXIT}",
        names=setting_names(views=True),
    )
    _add_session_arguments(shot, "where the session stands, or K after --rewind K")
    shot.add_argument(
        "--out",
        metavar="FILE.png|FILE.svg",
        type=_path,
        required=True,
        help="the picture, by its suffix (a folder it names is made; a file there is replaced)",
    )
    shot.add_argument(
        "--size", metavar="WxH", default="1600x1000", help=f"picture size in pixels, {SIZE_RANGE_TEXT}"
    )
    _add_offscreen_arguments(shot)
    shot.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _add_record(sub) -> None:
    record = _command(
        sub,
        "record",
        "record the real window (or one panel) as an MP4 or GIF, one frame per engine step",
        [
            "muonscope record --preset default --steps 100 --out run.mp4 --size 1920x1080",
            "muonscope record --set task.d=32 --steps 60 --every 2 --fps 15 --panel series --out series.gif",
            "muonscope record --resume runs/s1 --steps 400 --presentation --out talk.mp4",
        ],
        [QT_ENV, CACHE_ENV, CUDA_ENV, THREADS_ENV, OMP_ENV, DEBUG_ENV],
        exit_codes="exit status: 0 success, 2 invalid input (one line naming the option or field), "
        "1 runtime failure, "
        "130 interrupted by Ctrl-C or SIGTERM (the frames so far are kept as a playable file; "
        "one after the last frame lets the file be finished and exits 0; "
        f"a second one while it is finished gives the file up), {READER_GONE_EXIT}",
        names=setting_names(views=True),
    )
    _add_session_arguments(record)
    record.add_argument(
        "--out",
        metavar="FILE.mp4|FILE.gif",
        type=_path,
        required=True,
        help="the video: H.264 MP4 or GIF, by its suffix (a folder it names is made; a file there is "
        "replaced, by the frames so far if interrupted)",
    )
    record.add_argument(
        "--size",
        metavar="WxH",
        default="1280x720",
        help=f"frame size in pixels, {SIZE_RANGE_TEXT} (an odd side of an MP4 is padded by one: H.264)",
    )
    record.add_argument(
        "--fps",
        metavar="F",
        type=float,
        default=30.0,
        help=f"frames per second of video: from {MIN_FPS:g}, at most {MAX_FPS['mp4']:g} for MP4 and "
        f"{MAX_FPS['gif']:g} for GIF",
    )
    record.add_argument(
        "--every", metavar="K", type=int, default=1, help=f"one frame every K steps (1 to {MAX_EVERY})"
    )
    _add_offscreen_arguments(record)
    record.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _add_offscreen_arguments(parser: argparse.ArgumentParser) -> None:
    """What the offscreen window shows: one panel or all, presentation mode, a sweep waited for."""
    parser.add_argument("--panel", choices=PANELS, help="one panel alone instead of the whole window")
    parser.add_argument(
        "--view",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a panel mode, as a config's [view] table sets it (repeatable; with --resume too), "
        "e.g. --view spectrum=momentum:steps",
    )
    parser.add_argument(
        "--presentation", action="store_true", help="presentation mode, as F11 in the window sets it"
    )
    parser.add_argument(
        "--scale",
        type=float,
        metavar="S",
        help="presentation scale, 1 to 3 (implies --presentation; default 1.5, drawn at what the size "
        "holds, as the window does)",
    )
    parser.add_argument(
        "--theme",
        metavar="NAME",
        help="presentation theme (implies --presentation): light (high contrast, for projectors; the "
        "default with --presentation) or dark",
    )
    parser.add_argument(
        "--no-wait-sweep",
        action="store_true",
        help="start at once, even while a sweep the preset started still fills the capacity panel",
    )


def _add_sweep(sub) -> None:
    sweep = _command(
        sub,
        "sweep",
        "run the capacity panel's sweeps (one-step recovery, momentum) from a preset's settings",
        [
            "muonscope sweep --preset one_step_capacity --axis d --out sweeps/d",
            "muonscope sweep --preset critical_batch --axis batch --executor dask --scheduler tcp://host:8786",
        ],
        [CACHE_ENV, CUDA_ENV, OMP_ENV, DASK_ENV, DEBUG_ENV],
        exit_codes=SWEEP_EXIT_CODES,
        names=setting_names(),
    )
    _add_config_arguments(sweep)
    sweep.add_argument(
        "--axis",
        required=True,
        choices=SWEEP_AXES,
        help="what to vary (d, batch, n_items: memory tasks; mu, window: spiked streams)",
    )
    sweep.add_argument("--out", metavar="DIR", type=_path, help="write the curves and every point")
    sweep.add_argument(
        "--format", choices=("parquet", "csv"), help="table format, with --out (default: parquet)"
    )
    _add_executor_arguments(sweep)
    sweep.add_argument("--no-cache", action="store_true", help="recompute points even if cached")
    sweep.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Where sweep points compute: --executor, --scheduler and --workers."""
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where points compute: local processes (kept running between sweeps), or a Dask cluster "
        "(needs pip install muonscope[dask])",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: the running scheduler to use, e.g. tcp://10.0.0.5:8786 "
        "(default: a local cluster of --workers processes)",
    )
    workers = parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="local processes, at most the cores (0: one per core; points on a GPU use one)",
    )
    state_range(workers, f"must be an integer from 0 (one per core) to {MAX_WORKERS}")


def _add_reproduce(sub) -> None:
    rep = _command(
        sub,
        "reproduce",
        "reproduce a preset's paper claims: figures, data and summary.md",
        [
            "muonscope reproduce one_step_capacity --out repro/capacity",
            "muonscope reproduce --list",
            "muonscope reproduce noisy_scaling --full --executor dask --scheduler tcp://10.0.0.5:8786",
        ],
        [CACHE_ENV, QT_ENV, CUDA_ENV, OMP_ENV, DASK_ENV, DEBUG_ENV],
        exit_codes="exit status: 0 every judged check passes, 1 a check failed (see summary.md) or a runtime "
        "failure, 2 invalid input (one line naming the field; also a --scheduler that does not answer), "
        f"130 interrupted by Ctrl-C or SIGTERM (points computed so far stay cached), {READER_GONE_EXIT}",
    )
    rep.add_argument("preset", nargs="?", metavar="PRESET", help="preset name (see --list)")
    rep.add_argument("--list", action="store_true", help="list the presets with their claims")
    rep.add_argument("--out", metavar="DIR", type=_path, help="output folder (default: reproduce-PRESET)")
    rep.add_argument("--full", action="store_true", help="the papers' sizes (slow) instead of CI sizes")
    rep.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="data table format")
    _add_executor_arguments(rep)
    rep.add_argument("--no-cache", action="store_true", help="recompute sweep points even if cached")
    rep.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _add_cache(sub) -> None:
    cache = _command(
        sub,
        "cache",
        "show or clear the sweep cache (the points sweep and reproduce keep so that re-runs are quick); "
        "without an action, info",
        ["muonscope cache", "muonscope cache clear"],
        [CACHE_ENV, DEBUG_ENV],
    )
    actions = cache.add_subparsers(
        dest="cache_action",
        metavar="ACTION",
        parser_class=OneLineParser,
        prog="muonscope cache",
    )
    cache.set_defaults(cache_action="info")  # a bare `muonscope cache` shows it, as its help says first
    _command(
        actions,
        "info",
        "print the cache folder, its number of entries, their total size and what they were computed on",
        ["muonscope cache info", "MUONSCOPE_CACHE=/scratch/sweeps muonscope cache info"],
        [CACHE_ENV, DEBUG_ENV],
    )
    _command(
        actions,
        "clear",
        "remove every cached sweep point (only muonscope's own files) and say how many",
        ["muonscope cache clear"],
        [CACHE_ENV, DEBUG_ENV],
    )


def _add_session_arguments(
    parser: argparse.ArgumentParser, resumed_steps: str = "the session's own length"
) -> None:
    """Where a run starts and how far it goes: a preset or config with changes, or a saved session
    (``resumed_steps``: how far a resumed one goes without --steps)."""
    _add_config_arguments(parser)
    parser.add_argument(
        "--steps",
        metavar="N",
        type=int,
        help=f"number of steps (run.steps; default: the preset's, with --resume {resumed_steps})",
    )
    parser.add_argument(
        "--resume",
        metavar="PATH",
        type=_path,
        help="continue a saved session to --steps in total; --set and --lane then change settings "
        "(the i-th --lane sets the named fields of lane i, '' leaves it as it is, one past the last adds "
        "a lane)",
    )
    parser.add_argument(
        "--branch",
        metavar="B",
        help="with --resume: continue branch B, by index (0 is main) or name (default: the one saved "
        "as current)",
    )
    parser.add_argument(
        "--rewind",
        metavar="K",
        type=int,
        help="with --resume: first go back to step K; changes made there fork a new branch",
    )


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """--preset/--config, --set and --lane: where a run's (or sweep's) settings come from."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="bundled preset (default: default)")
    source.add_argument(
        "--config",
        metavar="FILE",
        type=_path,
        help="a config or preset TOML file; what it leaves out takes the built-in defaults (one Muon "
        "lane), not the default preset's",
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override a field, e.g. task.d=96 or 'lanes[0].lr=0.1' (quoted: zsh reads [0] as a "
        "pattern); VALUE is read as TOML; repeatable",
    )
    parser.add_argument(
        "--lane",
        metavar="SPEC",
        action="append",
        default=[],
        help="replace the lanes, e.g. optimizer=muon,order=pre,momentum=0.95 (repeatable)",
    )
