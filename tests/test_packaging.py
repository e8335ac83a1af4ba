"""The installed distribution as a new user meets it: one import package, fast help, shipped presets."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import muonscope
from muonscope.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("run", "shot", "record", "sweep", "reproduce")
_NOT_SOURCE = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache")


def _python(*args, cwd=None, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )


def test_version_from_the_command_and_the_module(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"muonscope {muonscope.__version__}"
    proc = _python("-m", "muonscope", "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"muonscope {muonscope.__version__}"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_complete_and_imports_no_torch(command):
    """Each --help says what, shows an example, its defaults, the environment and the exit codes."""
    argv = ["--help"] if command is None else [command, "--help"]
    probe = (
        "import sys\n"
        "from muonscope.app.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = [m for m in ('torch', 'PySide6', 'numpy') if m in sys.modules]\n"
        "sys.stderr.write('heavy: ' + ' '.join(heavy))\n"
    )
    proc = _python("-c", probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "heavy:", "--help imported " + proc.stderr
    text = proc.stdout
    description = text.split("\n\n")[1]
    assert description.strip() and len(description.strip().splitlines()) <= 2
    for part in (
        "example",
        "environment:",
        "\nexit status:\n  0    ",
        "\n  2    invalid input",
        "runtime failure",
    ):
        assert part in text, f"{command} --help lacks {part!r}"
    widest = max(text.splitlines(), key=len)
    assert len(widest) <= 100, f"{command} --help runs past 100 columns: {widest!r}"
    if command in ("shot", "record", "sweep", "reproduce", "run"):
        assert "(default: " in text


@pytest.mark.parametrize("command", ["run", "shot", "record", "sweep"])
def test_help_names_what_the_setting_options_take(capsys, command):
    """The presets, fields, choices and metrics were found only by typing a wrong one."""
    from muonscope.engine.config import LANE_FIELDS, RUN_FIELDS
    from muonscope.engine.presets import preset_names
    from muonscope.engine.scalar_metrics import SCALAR_METRICS
    from muonscope.engine.task_kinds import TASK_FIELDS

    with pytest.raises(SystemExit):
        main([command, "--help"])
    names = capsys.readouterr().out.split("\nnames ", 1)[1].split("\nenvironment:", 1)[0]
    words = set(re.findall(r"[\w.]+", names))
    expected = {*preset_names(), *LANE_FIELDS, *TASK_FIELDS, *RUN_FIELDS, "sgd", "muon", "adam", "none"}
    assert expected - words == set()
    assert (set(SCALAR_METRICS) <= words) == (command == "run")  # only run has --until
    from muonscope.app.view_settings import VIEW_KEYS

    assert (set(VIEW_KEYS) <= words) == (command in ("shot", "record"))  # the commands with --view


def test_help_says_what_a_lane_takes_for_the_fields_its_lane_leaves_out(capsys):
    """``--lane optimizer=muon,order=pre`` took lr 0.05, μ 0.95 and the exact map, unsaid."""
    from muonscope.engine.config import lane_from_dict

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    names = " ".join(capsys.readouterr().out.split("\nnames ", 1)[1].split("\nenvironment:", 1)[0].split())
    rates, momenta = (
        names.split(f"{field}=the optimizer's (", 1)[1].split(")")[0] for field in ("lr", "momentum")
    )
    for optimizer in ("muon", "adam", "sgd", "signgd"):
        lane = lane_from_dict({"optimizer": optimizer})  # as --lane optimizer=NAME builds it
        assert f"{optimizer} {lane.lr:g}" in rates.split("|")
        assert f"{optimizer} {lane.momentum:g}" in momenta.split("|")
    lane = lane_from_dict({})
    for field in ("optimizer", "order", "polar", "ns_steps", "beta2"):
        value = getattr(lane, field)
        assert (f"{field}={value:g}" if isinstance(value, float) else f"{field}={value}") in names


def test_a_closed_pipe_ends_the_output_quietly():
    """``muonscope reproduce --list | head -1``: no BrokenPipeError, exit 0 or SIGPIPE's status."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "muonscope", "reproduce", "--list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader is gone before anything is written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 141), err
    assert "Error" not in err and "Exception" not in err, err


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The distribution built from this checkout, as pip would install it."""
    pytest.importorskip("setuptools", minversion="77")
    source = tmp_path_factory.mktemp("source") / "muonscope"  # built from a copy: no build/ left here
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    out = tmp_path_factory.mktemp("wheel")
    proc = _python(
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(out),
        str(source),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Deprecat" not in proc.stderr, proc.stderr
    (path,) = out.glob("muonscope-*.whl")
    return path


def test_the_wheel_holds_one_import_package_with_its_presets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"muonscope"}
    for package in ("app", "engine", "widgets"):
        assert f"muonscope/{package}/__init__.py" in names
    presets = {Path(n).stem for n in names if n.startswith("muonscope/resources/presets/")}
    assert presets == {p.stem for p in (ROOT / "resources" / "presets").glob("*.toml")}
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_a_target_install_finds_its_presets_and_ignores_local_folders(wheel, tmp_path):
    """``pip install --target DIR`` with PYTHONPATH=DIR, run from a folder with its own app/ and engine/."""
    target = tmp_path / "target"
    proc = _python("-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel))
    assert proc.returncode == 0, proc.stderr
    here = tmp_path / "elsewhere"
    for decoy in ("app", "engine", "widgets"):
        (here / decoy).mkdir(parents=True)
        (here / decoy / "__init__.py").write_text("raise SystemExit('the wrong package was imported')\n")
    env = {**_environ(), "PYTHONPATH": str(target)}
    proc = _python("-m", "muonscope", "reproduce", "--list", cwd=here, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("anisotropic\n") and "tail_multi_step_isotropy" in proc.stdout
    located = _python("-c", "import muonscope; print(muonscope.__file__)", cwd=here, env=env)
    assert Path(located.stdout.strip()).is_relative_to(target)


def _environ():
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


#: what the checkout's top level holds: the design card's folders and the files a package needs.
TOP_LEVEL = {
    *("app", "engine", "widgets", "tests", "resources", "benchmarks", ".ci"),
    *("pyproject.toml", "README.md", "Makefile", "LICENSE", ".gitignore", "__init__.py", "__main__.py"),
}


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_checkout_tracks_nothing_beyond_the_design_cards_top_level():
    """A 200 MB saved session (``b/``) was once committed beside the sources: every clone carries it."""
    tracked = _git_tracked_top_level()
    assert tracked - TOP_LEVEL == set()


def _git_tracked_top_level() -> set[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return {path.split("/", 1)[0] for path in listed.stdout.split("\0") if path}


def test_the_readme_names_every_column_of_the_metrics_table():
    """Eight of the table's columns (balance_gap, ratio_gap_rank, weight_entropy, …) were named nowhere."""
    from muonscope.engine.scalar_metrics import SCALAR_METRICS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [name for name in SCALAR_METRICS if f"`{name}`" not in readme] == []


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_idle_openmp_threads_sleep_unless_the_environment_says_otherwise(given, expected):
    """Set before torch loads (libgomp reads it once): a spinning OpenMP helper held the core the
    spectra workers needed. A user's own setting wins."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    probe = "import sys, muonscope, os; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.split() == [expected, "False"]  # and torch not loaded yet: the setting counts
