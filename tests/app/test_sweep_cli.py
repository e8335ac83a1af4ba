"""``muonscope sweep``, ``reproduce`` and ``cache`` as a batch user meets them: executors, the worker
count, the cache's faults and contents, and a clean stop on SIGTERM."""

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading

import pytest

from muonscope.app import config_args
from muonscope.app.cli import main
from muonscope.engine import RunConfig
from muonscope.engine.sweep_point import SCHEMA, runtime_of
from muonscope.engine.sweep_workers import usable_cores
from tests.app.helpers import first_line_then_ctrl_c

SWEEP = [
    "sweep",
    "--preset",
    "one_step_capacity",
    "--set",
    "task.d=16",
    "--set",
    "task.n_items=256",
    "--axis",
    "d",
    "--no-progress",
]
HELP_PROBE = (
    "import sys\n"
    "from muonscope.app.cli import main\n"
    "try:\n"
    "    main({argv!r})\n"
    "except SystemExit as exc:\n"
    "    assert exc.code == 0, exc.code\n"
    "sys.stderr.write('torch' if 'torch' in sys.modules else '')\n"
)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _where() -> str:
    """Where this machine computes points with the default run settings."""
    return "computed on " + runtime_of(RunConfig()).describe()


def test_the_summary_says_how_many_points_came_from_the_cache_and_where_they_ran(capsys):
    code, first, err = _main(capsys, *SWEEP, "--workers", "1")  # d ∈ {8, 16, 32} × 3 seeds
    assert code == 0 and err == ""
    where = _where()
    assert first.splitlines()[-1] == f"9 points, 0 from the cache; {where}"
    code, second, _ = _main(capsys, *SWEEP, "--workers", "1")
    assert second.splitlines()[-1] == f"9 points, 9 from the cache; {where}"
    assert first.splitlines()[:-1] == second.splitlines()[:-1]


def test_more_workers_than_cores_are_lowered_to_the_cores_with_a_note(capsys):
    cores = usable_cores()
    code, _, err = _main(capsys, *SWEEP, "--workers", str(cores + 5))
    assert code == 0
    assert err == (
        f"muonscope sweep: note: --workers {cores + 5} is more than the {cores} core(s) this process "
        f"may use; using {cores}\n"
    )


def test_a_point_too_big_for_the_workers_is_refused_before_any_runs_naming_the_field(capsys):
    """Refused in a pool worker, the error failed to unpickle and the sweep never ended; now the
    points computed at once are judged up front against their share of the machine's memory."""
    too_big = ("--set", "task.n_items=10000000", "--set", "task.d=16384")
    argv = ["sweep", "--axis", "batch", *too_big, "--workers", "2", "--no-progress", "--no-cache"]
    code, out, err = _main(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "task.n_items = 10000000 is not allowed" in err, err
    assert "shared by 2 points computed at once" in err and "(at the sweep's point batch = " in err, err


def test_damaged_cache_entries_are_one_line_warnings_and_the_sweep_goes_on(capsys, private_cache):
    code, clean, _ = _main(capsys, *SWEEP, "--workers", "1")
    entries = sorted(private_cache.glob("*.json"))
    entries[0].write_text("[]")
    entries[1].write_text("{}")
    entries[2].write_text(entries[2].read_text()[:50])
    entries[3].unlink()
    entries[3].mkdir()
    code, out, err = _main(capsys, *SWEEP, "--workers", "1")
    assert code == 0 and "Traceback" not in err
    lines = err.splitlines()
    assert all(line.startswith("muonscope: warning: ") for line in lines), err
    for path in entries[:4]:
        assert sum(f"ignoring the cache entry {path}:" in line for line in lines) == 1, err
    assert sum(f"cannot write the cache entry {entries[3]}" in line for line in lines) == 1
    assert out.splitlines()[-1].startswith("9 points, 5 from the cache;")
    assert out.splitlines()[:-1] == clean.splitlines()[:-1]


@pytest.mark.parametrize("command", [SWEEP, ["reproduce", "anisotropic", "--no-progress"]])
def test_dask_without_dask_installed_exits_2_saying_how_to_install_it(capsys, monkeypatch, command, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    code, out, err = _main(capsys, *command, "--executor", "dask", "--out", str(tmp_path / "never"))
    assert code == 2 and out == ""
    assert err == (
        f"muonscope {command[0]}: error: --executor = 'dask' is not allowed: "
        "needs Dask, which is not installed: pip install muonscope[dask]\n"
    )
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("command", [SWEEP, ["reproduce", "anisotropic", "--no-progress"]])
def test_a_scheduler_needs_the_dask_executor(capsys, command):
    code, _, err = _main(capsys, *command, "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 2
    assert err == (
        f"muonscope {command[0]}: error: --scheduler = 'tcp://127.0.0.1:8786' is not allowed: "
        "needs --executor dask\n"
    )


def _silent_address() -> str:
    with socket.socket() as probe:  # a port on this machine that nobody listens on
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


def test_a_scheduler_that_does_not_answer_exits_2_naming_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(config_args, "CONNECT_TIMEOUT_S", 1.0)
    address = _silent_address()
    argv = ["reproduce", "anisotropic", "--no-progress", "--executor", "dask", "--scheduler", address]
    code, out, err = _main(capsys, *argv, "--out", str(tmp_path / "out"))
    assert code == 2 and out == ""
    assert err == (
        f"muonscope reproduce: error: --scheduler = '{address}' is not allowed: "
        "no Dask scheduler answered there within 1 s\n"
    )
    code, _, err = _main(capsys, *SWEEP, "--executor", "dask", "--scheduler", "nonsense")
    assert code == 2
    assert err.startswith("muonscope sweep: error: --scheduler = 'nonsense' is not allowed: must be")


@contextlib.contextmanager
def _another_service(greeting: bytes | None):
    """A port where something other than a Dask scheduler listens: silent (a web server waiting for
    a request) when ``greeting`` is None, else sending ``greeting`` (an SSH server's banner)."""
    server = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def greet() -> None:
        server.settimeout(30)
        with contextlib.suppress(OSError), server.accept()[0] as connection:
            connection.sendall(greeting)
            done.wait(30)

    if greeting is not None:
        threading.Thread(target=greet, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        done.set()
        server.close()


@pytest.mark.parametrize(
    ("greeting", "said"),
    [
        (None, "no Dask scheduler answered there within 1 s"),
        (b"SSH-2.0-OpenSSH_9.6\r\n" * 4, "answers, but not as a Dask scheduler does"),
    ],
    ids=["silent", "another protocol"],
)
def test_another_services_port_is_refused_in_time(capsys, monkeypatch, greeting, said):
    """A web server's port hung the sweep, Ctrl-C ignored; an SSH server's banner read as a message
    of 2.8 EiB ended in a MemoryError."""
    monkeypatch.setattr(config_args, "CONNECT_TIMEOUT_S", 1.0)
    with _another_service(greeting) as address:
        code, out, err = _main(capsys, *SWEEP, "--executor", "dask", "--scheduler", address)
    assert code == 2 and out == ""
    assert err == f"muonscope sweep: error: --scheduler = '{address}' is not allowed: {said}" + (
        " (another service's port?)\n" if greeting else "\n"
    )


def test_a_port_out_of_range_is_refused_as_an_address(capsys):
    code, _, err = _main(capsys, *SWEEP, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:99999")
    assert code == 2
    assert "must be a scheduler address such as tcp://HOST:8786 (port 99999 is not from 1 to 65535)" in err


def test_a_sweep_on_a_running_scheduler_prints_and_writes_what_a_local_sweep_does(capsys, tmp_path):
    """Alike to the byte: the points table was in the order the points finished on the cluster."""
    from distributed import LocalCluster

    written = ("--out", str(tmp_path), "--format", "csv")
    code, local, _ = _main(capsys, *SWEEP, "--workers", "2", "--no-cache", *written)
    assert code == 0
    tables = {name: (tmp_path / name).read_bytes() for name in ("points.csv", "curves.csv")}
    # over TCP, as a remote scheduler is reached: its greeting is read before the Client is made
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0", protocol="tcp"
    )
    with cluster:
        argv = [*SWEEP, "--no-cache", "--executor", "dask", "--scheduler", cluster.scheduler_address]
        code, on_dask, err = _main(capsys, *argv, *written)
    assert code == 0 and err == ""
    assert on_dask == local
    assert {name: (tmp_path / name).read_bytes() for name in tables} == tables


def test_cache_info_and_clear(capsys, private_cache):
    code, out, _ = _main(capsys, "cache", "info")
    assert code == 0
    assert out.splitlines()[:2] == [f"folder: {private_cache} (not created yet)", "entries: 0 (0 bytes)"]
    assert _main(capsys, *SWEEP, "--workers", "1")[0] == 0
    (private_cache / "keep.txt").write_text("not ours")
    size = sum(p.stat().st_size for p in private_cache.glob("*.json"))
    code, out, _ = _main(capsys, "cache", "info")
    assert _main(capsys, "cache")[:2] == (0, out)  # a bare `cache` is its info, as its help says
    runtime = runtime_of(RunConfig())
    assert out.splitlines()[1] == f"entries: 9 ({size / 1000:.1f} KB)"
    kind = f"{SCHEMA}: {runtime.device} {runtime.dtype}, torch {runtime.torch_version}"
    assert out.splitlines()[2].split(maxsplit=1) == ["9", kind]
    code, out, _ = _main(capsys, "cache", "clear")
    assert code == 0 and out == f"removed 9 cached points ({size / 1000:.1f} KB) from {private_cache}\n"
    assert [p.name for p in private_cache.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("command", [["cache", "info"], ["cache", "clear"], SWEEP, ["reproduce", "default"]])
def test_a_cache_folder_that_is_a_file_is_refused(capsys, monkeypatch, tmp_path, command):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "a-file"))
    output = [] if command[0] == "cache" else ["--out", str(tmp_path / "never")]
    code, out, err = _main(capsys, *command, *output)
    assert code == 2 and out == ""
    # a command that computes says what to do instead
    instead = (
        ""
        if command[0] == "cache"
        else "; set MUONSCOPE_CACHE to a folder that can be written, or give --no-cache"
    )
    assert err == (
        f"muonscope {command[0]}: error: MUONSCOPE_CACHE = '{tmp_path / 'a-file'}' is not allowed: "
        f"must be a folder (it is a file){instead}\n"
    )
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    "argv", [["cache", "--help"], ["cache", "info", "--help"], ["cache", "clear", "--help"]]
)
def test_cache_help_is_complete_and_imports_no_torch(argv):
    proc = subprocess.run(
        [sys.executable, "-c", HELP_PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    for part in ("example", "environment:", "MUONSCOPE_CACHE", "\n  0    success\n  2    invalid input"):
        assert part in proc.stdout, part


def test_sweep_and_reproduce_help_name_the_executors():
    for command in ("sweep", "reproduce"):
        proc = subprocess.run(
            [sys.executable, "-c", HELP_PROBE.format(argv=[command, "--help"])],
            capture_output=True,
            text=True,
            timeout=120,
        )
        text = " ".join(proc.stdout.split())
        assert "--executor {local,dask}" in text and "--scheduler ADDRESS" in text
        assert "pip install muonscope[dask]" in text and "130 interrupted by Ctrl-C or SIGTERM" in text


def test_the_reproduce_summary_counts_its_sweep_points(capsys, tmp_path):
    argv = ["reproduce", "anisotropic", "--no-progress", "--format", "csv", "--workers", "2"]
    code, out, _ = _main(capsys, *argv, "--out", str(tmp_path / "a"))
    assert code in (0, 1)
    note = re.search(r"- Sweep points: (\d+) points, 0 from the cache; (.*)\.$", out, re.MULTILINE)
    assert note and note.group(2) == _where(), out
    code, out, _ = _main(capsys, *argv, "--out", str(tmp_path / "b"))
    count = note.group(1)
    assert f"- Sweep points: {count} points, {count} from the cache; {_where()}." in out
    assert (
        f"Sweep points: {count} points, {count} from the cache" in (tmp_path / "b" / "summary.md").read_text()
    )


def test_a_reproduction_s_own_loops_say_where_they_computed(capsys, tmp_path):
    """A reproduction without sweep points (its own float64 loops) said nowhere where it ran."""
    argv = ["reproduce", "tail_balance_one_step", "--no-progress", "--format", "csv"]
    code, out, _ = _main(capsys, *argv, "--out", str(tmp_path))
    assert code in (0, 1)
    where = runtime_of(RunConfig(device="cpu", dtype="float64")).describe()
    assert f"- Computed in this process on {where}." in out
    assert f"Computed in this process on {where}." in (tmp_path / "summary.md").read_text()


def _read_until(fd: int, pattern: str, timeout_s: float) -> str:
    """Read a terminal's output until ``pattern`` appears (or it closes, or nothing more has come for
    ``timeout_s`` seconds of waits: the terminal itself is waited on, no clock is read)."""
    text, quiet_waits = "", 0
    while not re.search(pattern, text) and quiet_waits < timeout_s:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            quiet_waits += 1
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not chunk:
            break
        text += chunk.decode(errors="replace")
    return text


def _exit_status(proc: subprocess.Popen, controller: int) -> int:
    """The stopped command's exit status; if it is still there a minute on, the test fails with the
    stack of each of its threads, as the driver's faulthandler writes them to the terminal."""
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        stacks = _read_until(controller, r"(?!x)x", timeout_s=5)
        pytest.fail(f"still running a minute after it was stopped; its threads:\n{stacks[-8000:]}")


def _terminal() -> tuple[int, int]:
    """A pseudo-terminal of 24 × 80 characters (a new one is 0 × 0, and a bar 0 wide draws nothing)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return controller, terminal


#: The real command line, with one_step_capacity's reproduction replaced by one slow sweep: twelve
#: points from d = 256 (about a second each) to d = 2048 (tens of seconds each), so a SIGTERM sent
#: once a point is reported lands mid-sweep.
SLOW_DRIVER = """
import faulthandler
import signal
import sys
from muonscope.app.cli import main
from muonscope.engine.presets import load_preset
from muonscope.engine.reproduce.base import REPRODUCTIONS, Reproduction, run_sweep
from muonscope.engine.sweep_plans import plan

def slow(settings):
    config = load_preset("one_step_capacity").config.with_values([("task.d", 1024), ("task.n_items", 512)])
    run_sweep(plan(config, "d"), settings, "slow sweep")
    return Reproduction("one_step_capacity", settings.size)

REPRODUCTIONS["one_step_capacity"] = slow
faulthandler.register(signal.SIGUSR1, all_threads=True)  # where it stands, should it hang
sys.exit(main(sys.argv[1:]))
"""
SLOW_SETTINGS = ["--preset", "one_step_capacity", "--set", "task.d=1024", "--set", "task.n_items=512"]
SLOW_COMMANDS = {
    "sweep": ["sweep", *SLOW_SETTINGS, "--axis", "d"],
    "reproduce": ["reproduce", "one_step_capacity"],
}
REPORTED = r"\b[1-9]\d*/12\b"  # the progress bar, once a point is in


def _sigterm(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)  # to the command alone, as kill(1) sends it


def _ctrl_c(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # to every process of the group, as a terminal sends it


STOPS = {
    "sweep, SIGTERM": (SLOW_COMMANDS["sweep"], _sigterm),
    "reproduce, SIGTERM": (SLOW_COMMANDS["reproduce"], _sigterm),
    "sweep on a local Dask cluster, SIGTERM": ([*SLOW_COMMANDS["sweep"], "--executor", "dask"], _sigterm),
    "sweep on a local Dask cluster, Ctrl-C": ([*SLOW_COMMANDS["sweep"], "--executor", "dask"], _ctrl_c),
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal and process groups")
@pytest.mark.parametrize("stop", sorted(STOPS))
@pytest.mark.timeout(240)
def test_a_stopped_sweep_ends_cleanly_and_keeps_its_points(tmp_path, stop):
    """Stopped once the progress bar shows a finished point: exit 130, no traceback, no leaked semaphore."""
    command, send = STOPS[stop]
    env = {**os.environ, "MUONSCOPE_CACHE": str(tmp_path / "cache")}
    controller, terminal = _terminal()
    argv = [*command, "--workers", "2", "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_DRIVER, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env=env,
        start_new_session=True,  # its own process group, as a shell gives a command
    )
    os.close(terminal)
    try:
        shown = _read_until(controller, REPORTED, timeout_s=180)
        assert re.search(REPORTED, shown), f"no point was reported: {shown!r}"
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        send(proc)
        shown += _read_until(controller, r"(?!x)x", timeout_s=60)  # to the end: workers and tracker too
        assert _exit_status(proc, controller) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(controller)
    assert "Traceback" not in shown and "leaked semaphore" not in shown, shown
    said = {
        "sweep": r"muonscope sweep: interrupted after \d+ of 12 points; they stay cached: [^\n]*",
        "reproduce": r"muonscope reproduce: interrupted before its figures, after \d+ points?; they stay "
        r"cached: [^\n]*",
    }[command[0]]  # a sweep says how far it got, and that those points are kept
    assert re.search(said + r"$", shown.rstrip()), shown
    assert not (tmp_path / "out").exists()  # made for the outputs, and left empty: not left behind
    assert list((tmp_path / "cache").glob("*.json")), "the points computed before the stop were not kept"


def test_a_memory_limit_set_for_the_run_holds_for_its_sweep_before_any_point_runs(capsys, private_cache):
    """`run` refused run.max_memory_gb = 0.0001 while `sweep` computed all its points regardless."""
    code, out, err = _main(capsys, *SWEEP, "--set", "run.max_memory_gb=0.0001")
    assert code == 2 and out == ""
    assert (
        err.count("\n") == 1
        and "run.max_memory_gb = 0.0001 is not allowed: the sweep over d reaches d = 8, where" in err
    ), err
    assert "fixed overhead" in err
    assert not private_cache.exists() or not any(private_cache.rglob("*.json"))  # nothing computed
    code, out, _err = _main(capsys, *SWEEP, "--set", "run.max_memory_gb=64")
    assert code == 0 and "9 points, 0 from the cache" in out


def test_a_sweep_written_again_in_the_other_format_says_which_tables_it_replaced(capsys, tmp_path):
    """The csv tables a sweep wrote before went without a word when parquet ones took their place."""
    out = tmp_path / "out"
    assert _main(capsys, *SWEEP, "--out", str(out), "--format", "csv")[0] == 0
    (out / "notes.txt").write_text("mine")
    code, printed, _err = _main(capsys, *SWEEP, "--out", str(out))
    assert code == 0
    for name in ("curves", "points"):
        assert f"removed {out / f'{name}.csv'}, the same table in the format before" in printed
    assert sorted(p.name for p in out.iterdir()) == ["curves.parquet", "notes.txt", "points.parquet"]


def test_window_sweep_points_name_each_mu_and_seed_once_with_its_window_and_no_item_counts(capsys, tmp_path):
    """Two lanes that differ only in μ run the same points of a sweep over μ: the points table has
    each (μ, seed) once, the window 2T − 1 beside the μ it comes from, and no column of items
    recovered for a stream that has no items."""
    import csv

    argv = ["sweep", "--preset", "spectral_filtering", "--set", "run.steps=3", "--set", "task.rows=12"]
    argv += ["--set", "task.cols=12", "--axis", "window", "--out", str(tmp_path), "--format", "csv"]
    code, _out, err = _main(capsys, *argv, "--no-progress")
    assert code == 0, err
    with open(tmp_path / "points.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "recovered" not in rows[0] and "accuracy" not in rows[0]
    keys = [(row["mu"], row["seed"]) for row in rows]
    assert len(keys) == len(set(keys)) == 7 * 3
    for row in rows:
        mu = float(row["mu"])
        assert float(row["2T-1"]) == pytest.approx(2 / (1 - mu) - 1)
        assert 0 <= float(row["sin_theta"]) <= 1


def test_sweep_tables_say_where_their_numbers_were_computed(capsys, tmp_path):
    """The printout said "computed on cpu in float64 with torch …"; the tables did not, and a float32
    GPU table and a float64 CPU one differ in their bits."""
    import csv

    import torch

    argv = ["sweep", "--preset", "one_step_capacity", "--set", "task.n_items=256", "--axis", "d"]
    code, _out, err = _main(capsys, *argv, "--out", str(tmp_path), "--format", "csv", "--no-progress")
    assert code == 0, err
    for name in ("points", "curves"):
        with open(tmp_path / f"{name}.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and {(r["device"], r["dtype"], r["torch_version"]) for r in rows} == {
            ("cpu", "float64", torch.__version__)
        }, name


@pytest.mark.parametrize("action", ["info", "clear"])
def test_cache_refuses_a_folder_under_a_file_as_a_sweep_does(capsys, monkeypatch, tmp_path, action):
    """ "folder: …/file/sub (not created yet)" said of a folder that can never be created."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "file" / "sub"))
    code, out, err = _main(capsys, "cache", action)
    assert code == 2 and out == ""
    assert err == (
        f"muonscope cache: error: MUONSCOPE_CACHE = '{tmp_path}/file/sub' is not allowed: "
        f"{tmp_path}/file is a file, not a folder\n"
    )


@pytest.mark.parametrize("action", ["info", "clear"])
def test_cache_refuses_a_folder_that_cannot_be_made_as_a_sweep_does(capsys, monkeypatch, action):
    """``/proc/x`` read "not created yet" (exit 0) under ``cache info``, and every sweep refused it."""
    monkeypatch.setenv("MUONSCOPE_CACHE", "/proc/muonscope-cache")
    code, out, err = _main(capsys, "cache", action)
    assert code == 2 and out == ""
    assert err.startswith(
        "muonscope cache: error: MUONSCOPE_CACHE = '/proc/muonscope-cache' is not allowed: cannot be "
        "created: no folder can be made in /proc ("
    )
    assert not os.path.exists("/proc/muonscope-cache")


def test_cache_info_names_a_relative_cache_folder_in_full(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MUONSCOPE_CACHE", "relative_cache")
    code, out, _ = _main(capsys, "cache", "info")
    assert code == 0 and out.splitlines()[0] == f"folder: {tmp_path / 'relative_cache'} (not created yet)"


def test_a_cache_in_a_home_folder_no_user_has_is_refused_naming_it(capsys, monkeypatch):
    monkeypatch.setenv("MUONSCOPE_CACHE", "~no-such-user-x7/c")
    for command in (["cache", "info"], SWEEP):
        code, out, err = _main(capsys, *command)
        assert code == 2 and out == ""
        assert err.startswith(
            f"muonscope {command[0]}: error: MUONSCOPE_CACHE = '~no-such-user-x7/c' is not allowed: its ~ "
            "names a user with no home folder on this system"
        )


def test_a_device_as_the_cache_is_not_called_a_file(capsys, monkeypatch):
    monkeypatch.setenv("MUONSCOPE_CACHE", "/dev/null")
    code, _, err = _main(capsys, "cache", "info")
    assert code == 2
    assert err.endswith("is not allowed: must be a folder (it is a device)\n")


@pytest.mark.parametrize(
    ("points", "planned", "said"),
    [
        (0, 12, "before its first point was done"),
        (1, None, "after 1 point; they stay cached: the same command picks up from there"),
        (4, 12, "after 4 of 12 points; they stay cached: the same command picks up from there"),
    ],
)
def test_an_interrupted_sweep_says_what_it_keeps_in_words_that_fit_the_count(points, planned, said):
    """Stopped before any point, a reproduction said "after 0 points; they stay cached"."""
    from muonscope.app.stop_signals import points_kept_text

    assert points_kept_text(points, cached=True, planned=planned) == said


def test_a_sweep_of_slow_points_says_how_long_they_will_take_and_a_quick_one_says_nothing():
    from muonscope.app.slow_notes import slow_sweep_note
    from muonscope.engine import ExperimentConfig, TaskConfig
    from muonscope.engine.sweep_plans import plan

    big = plan(ExperimentConfig(task=TaskConfig(d=1024, n_items=65536)), "d")
    note = slow_sweep_note(big, 2)
    assert note.startswith(f"{len(big)} points to compute, the longest at d = 2048: about ")
    assert note.endswith("of computing on this machine, shared by 2 workers (estimated)")
    assert slow_sweep_note(plan(ExperimentConfig(task=TaskConfig(d=16, n_items=64)), "batch"), 2) == ""
    assert slow_sweep_note([], 2) == ""


def test_a_slow_sweep_says_how_long_before_its_first_point_and_stops_at_ctrl_c(tmp_path):
    """A sweep over d to 2048 at N = 65536 ran for 90 s without a word before it was stopped."""
    args = ["sweep", "--set", "task.d=1024", "--set", "task.n_items=65536", "--axis", "d", "--workers", "2"]
    env = {**os.environ, "MUONSCOPE_CACHE": str(tmp_path / "cache")}
    first, rest, status = first_line_then_ctrl_c([*args, "--no-progress"], env)
    said = (
        r"muonscope sweep: note: 12 points to compute, the longest at d = 2048: about [\d.]+ (min|h|days) of"
    )
    assert re.match(said, first), first + rest
    assert "interrupted before its first point was done" in rest and status == 130, rest


def test_tables_the_disk_cannot_hold_keep_the_ones_before_and_leave_no_folder_of_their_own(
    capsys, tmp_path, monkeypatch
):
    """On a full disk the Parquet tables of a sweep before were removed and a truncated points.csv
    left in their place; into a new folder, a 0-byte curves.csv."""
    import csv
    import errno

    import pyarrow.parquet as pq

    assert _main(capsys, *SWEEP, "--out", str(tmp_path / "before"))[0] == 0
    before = {path.name: path.read_bytes() for path in (tmp_path / "before").iterdir()}

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", full)
    monkeypatch.setattr(csv, "writer", full)
    for folder, table_format in (("before", "csv"), ("new", "parquet")):
        code, _out, err = _main(capsys, *SWEEP, "--out", str(tmp_path / folder), "--format", table_format)
        assert code == 1
        wanted = f"cannot write {tmp_path / folder / ('curves.' + table_format)}: no space left on device"
        assert err == f"muonscope sweep: runtime failure: {wanted}\n"
    assert {path.name: path.read_bytes() for path in (tmp_path / "before").iterdir()} == before
    assert not (tmp_path / "new").exists()


def test_a_relative_cache_folder_not_made_yet_is_made_where_it_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MUONSCOPE_CACHE", "rel/cache")
    code, _out, err = _main(capsys, *SWEEP)
    assert code == 0, err
    assert any((tmp_path / "rel" / "cache").iterdir())


@pytest.mark.parametrize(
    ("flags", "why"), [(os.ST_RDONLY, "Read-only file system"), (0, "Permission denied")]
)
def test_cache_clear_refuses_a_folder_it_cannot_write_and_says_why(capsys, tmp_path, monkeypatch, flags, why):
    """On a read-only mount it said "Permission denied"."""
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)  # as the system answers a user
    monkeypatch.setattr(os, "statvfs", lambda _path: _Mount(flags))
    code, _out, err = _main(capsys, "cache", "clear")
    assert code == 2
    assert err.endswith(f"cannot be written ({why}): nothing was removed\n"), err


class _Mount:
    """What os.statvfs says of a mount: its flags alone."""

    def __init__(self, flags: int) -> None:
        self.f_flag = flags


def test_a_cache_folder_that_cannot_be_written_is_read_all_the_same(capsys, private_cache, monkeypatch):
    """A shared cache on a read-only mount was refused (exit 2) though it held every point asked for."""
    from muonscope.app import cache_folder
    from muonscope.engine.errors import ConfigError

    assert _main(capsys, *SWEEP, "--workers", "1")[0] == 0

    def read_only(folder, option, given=None):
        raise ConfigError(option, str(folder), "cannot be written (Read-only file system)")

    monkeypatch.setattr(cache_folder, "check_writable", read_only)
    code, out, err = _main(capsys, *SWEEP, "--workers", "1")
    assert code == 0
    assert err == (
        f"muonscope sweep: note: MUONSCOPE_CACHE = '{private_cache}' cannot be written (Read-only file "
        "system): its points are read, the ones computed not stored\n"
    )
    assert out.splitlines()[-1].startswith("9 points, 9 from the cache;")
    monkeypatch.setenv("MUONSCOPE_CACHE", str(private_cache.parent / "new"))  # none to read: refused
    assert _main(capsys, *SWEEP, "--workers", "1")[0] == 2


def test_a_lane_that_diverges_at_every_point_is_said_to_and_kept_in_the_tables(capsys, tmp_path):
    """Adam's second moment overflows on a float32 stream of strength 1e25: its lane vanished from
    the printout and both tables, exit 0, as if it had never been in the sweep."""
    import csv

    stream = ["--set", "task.kind=spiked", "--set", "task.rows=6", "--set", "task.cols=5"]
    stream += ["--set", "task.strengths=[1e25]", "--set", "task.noise=0.0", "--set", "run.dtype=float32"]
    lanes = ["--lane", "optimizer=adam,lr=0.01", "--lane", "optimizer=muon,lr=0.01"]
    argv = ["sweep", *stream, *lanes, "--set", "run.steps=4", "--axis", "mu", "--workers", "1", "--no-cache"]
    code, out, _ = _main(capsys, *argv, "--no-progress", "--out", str(tmp_path), "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    adam = next(index for index, line in enumerate(lines) if line.startswith("  Adam"))
    assert lines[adam] == "  Adam β₂=0.999 lr=0.01 (diverged at every point)"  # β₁ is the swept μ
    assert lines[adam + 1].split() == ["0.5:", "diverged", "(3", "of", "3", "seeds)"]
    with open(tmp_path / "curves.csv", newline="") as handle:
        curves = [row for row in csv.DictReader(handle) if row["label"].startswith("Adam")]
    assert len(curves) == 7 and all(row["diverged_seeds"] == "3" and row["seeds"] == "0" for row in curves)
    with open(tmp_path / "points.csv", newline="") as handle:
        points = list(csv.DictReader(handle))
    assert {row["diverged"] for row in points if row["label"].startswith("Adam")} == {"True"}
    assert {row["diverged"] for row in points if row["label"].startswith("Muon")} == {"False"}


@pytest.mark.parametrize("command", [[*SWEEP, "--out"], ["reproduce", "one_step_capacity", "--out"]])
def test_a_scheduler_refused_leaves_no_empty_output_folder(capsys, monkeypatch, tmp_path, command):
    """The refusal came after the output folder was made, and left it behind, empty."""
    monkeypatch.setattr(config_args, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "never"
    with _another_service(None) as address:
        code, _, err = _main(capsys, *command, str(out), "--executor", "dask", "--scheduler", address)
    assert code == 2 and "no Dask scheduler answered there" in err
    assert not out.exists()


def test_a_scheduler_on_a_host_no_one_knows_is_refused_naming_the_host(capsys):
    """A mistyped host failed at once, and was said as a scheduler that had not answered in 5 s."""
    address = "tcp://no-such-host.invalid:8786"  # .invalid never resolves (RFC 2606)
    code, _, err = _main(capsys, *SWEEP, "--executor", "dask", "--scheduler", address)
    assert code == 2
    assert err.endswith(
        f"--scheduler = '{address}' is not allowed: no host named 'no-such-host.invalid' is known here\n"
    )


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        (
            ["--set", "task.seed=5"],
            "task.seed = 5 is not allowed: has no effect on a sweep over d: every point",
        ),
        (
            ["--set", "run.steps=200"],
            "run.steps = 200 is not allowed: has no effect on a sweep over d: each point",
        ),
        (
            ["--set", "task.batch_size=64"],
            "task.batch_size = 64 is not allowed: has no effect on a sweep over d",
        ),
        (["--set", "run.eval_every=3"], "run.eval_every = 3 is not allowed: has no effect on a sweep over d"),
    ],
)
def test_a_setting_a_sweep_never_reads_is_refused_naming_it_before_any_point_runs(
    capsys, tmp_path, typed, says
):
    """Seeds 0–2 of one exact step came back for ``--set task.seed=5 --set run.steps=200``: the numbers
    of a sweep without them, with nothing said."""
    assert main([*SWEEP, *typed, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_lanes_momentum_is_refused_on_a_sweep_that_sets_every_lanes_momentum(capsys):
    stream = ["sweep", "--preset", "spectral_filtering", "--axis", "mu", "--no-progress"]
    assert main([*stream, "--lane", "optimizer=muon,momentum=0.9"]) == 2
    assert (
        "--lane[0].momentum = 0.9 is not allowed: has no effect on a sweep over mu: the sweep sets every"
        in (capsys.readouterr().err)
    )
    assert main([*stream, "--set", "lanes[0].momentum=0.9"]) == 2
    assert "lanes[0].momentum = 0.9 is not allowed" in capsys.readouterr().err


def test_the_curves_and_points_tables_name_the_swept_value_and_the_lanes_alike(capsys, tmp_path):
    """The batch sweep's x was batch_size in one table and batch in the other, and its lane a label
    string where run's tables number lanes: neither join went through without renaming."""
    import pyarrow.parquet as pq

    argv = [
        "sweep",
        "--set",
        "task.d=16",
        "--set",
        "task.n_items=32",
        "--axis",
        "batch",
        "--out",
        str(tmp_path),
    ]
    code, _out, err = _main(capsys, *argv, "--no-progress", "--workers", "1")
    assert code == 0, err
    curves, points = (
        pq.read_table(tmp_path / f"{name}.parquet").to_pydict() for name in ("curves", "points")
    )
    assert "batch_size" in curves and "batch_size" in points and "batch" not in points
    assert sorted(set(curves["lane"])) == sorted(set(points["lane"])) == [0, 1, 2, 3]  # the default preset's
    for table in (curves, points):
        labels = {lane: label for lane, label in zip(table["lane"], table["label"], strict=True)}
        assert labels[1].startswith("Adam") and labels[2].startswith("Muon pre")
