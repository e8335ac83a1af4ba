"""``muonscope run``: exit codes, one-line errors, determinism and outputs."""

import argparse
import csv
import dataclasses
import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from muonscope.app.cli import main
from muonscope.app.config_args import build_config
from muonscope.engine.presets import load_preset, preset_names

SMALL = [
    "--set",
    "task.d=16",
    "--set",
    "task.n_items=64",
    "--set",
    "task.batch_size=32",
    "--set",
    "run.eval_every=2",
]


def _run(capsys, *argv):
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report_has_the_documented_shape(capsys):
    code, out, err = _run(capsys, *SMALL, "--steps", "3", "--json")
    assert code == 0
    assert err == ""
    report = json.loads(out)
    assert (report["step"], report["interrupted"]) == (3, False)
    assert report["config"]["task"]["d"] == 16
    assert (report["device"], report["dtype"], report["torch_version"]) == (
        "cpu",
        "float64",
        torch.__version__,
    )
    assert report["muonscope_version"] == importlib.metadata.version("muonscope")  # the code that computed it
    assert len(report["lanes"]) == 4
    for lane in report["lanes"]:
        for key in ("label", "optimizer", "order", "loss", "accuracy", "recovered", "gap", "alignment"):
            assert key in lane
        assert set(lane["spectra"]) == {"gradient", "momentum", "update", "weights"}
        assert len(lane["spectra"]["gradient"]) == 16
        assert 0.0 <= lane["accuracy"] <= 1.0


@pytest.mark.parametrize("sampled", [False, True])
def test_the_table_names_the_step_an_older_alignment_was_measured_at(capsys, sampled):
    argv = [*SMALL, "--steps", "5", "--no-progress"]
    if sampled:  # a sampled evaluation measures the alignment at the first step only
        argv[argv.index("task.n_items=64")] = "task.n_items=600"
        argv += ["--set", "run.exact_eval_items=128"]
    code, out, _ = _run(capsys, *argv, "--json")
    assert code == 0
    report = json.loads(out)
    code, table, _ = _run(capsys, *argv)
    *rows, note = table.splitlines()[-len(report["lanes"]) - 1 :]
    assert note.startswith("alignment A(D) = ⟨D, G_sig⟩ / ‖G_sig‖_*: 1 for msgn(G_sig); not a cosine")
    for lane, row in zip(report["lanes"], rows, strict=True):
        shown = row.split("alignment ")[1]
        assert shown.startswith(f"{lane['alignment']:.3f}")
        older = lane["signal_step"] != report["step"]
        assert shown.endswith(f"(step {lane['signal_step']})") == older
        if sampled:
            assert older


def test_a_loss_too_small_for_the_tables_decimals_is_shown_in_powers_of_ten(capsys):
    """A learnt memory's loss of 10⁻⁷ printed "loss 0.0000", as if it were exactly 0."""
    argv = ["--preset", "hierarchical_noiseless", "--steps", "20", "--no-progress"]
    code, out, _ = _run(capsys, *argv, "--json")
    assert code == 0
    report = json.loads(out)
    code, table, _ = _run(capsys, *argv)
    rows = table.splitlines()[-len(report["lanes"]) - 1 : -1]
    small = [lane for lane in report["lanes"] if 0 < lane["loss"] < 5e-5]
    assert small  # Muon's, at about 10⁻⁷
    for lane, row in zip(report["lanes"], rows, strict=True):
        shown = float(row.split("loss ")[1].split()[0])
        assert shown == pytest.approx(lane["loss"], rel=0.01, abs=5e-5 if lane not in small else 0)


def test_an_alignment_measured_where_the_population_gradient_is_zero_says_why_it_is_n_a(capsys):
    """A memory learnt below float32's smallest numbers has G_sig = 0: its alignment read n/a
    without a word, as if it had not been measured."""
    tiny = ["--set", "task.d=64", "--set", "task.n_items=64", "--set", "run.dtype=float32"]
    argv = ["--preset", "tail_multi_step_isotropy", *tiny, "--steps", "40", "--no-progress"]
    code, out, _ = _run(capsys, *argv, "--json")
    assert code == 0
    undefined = [
        lane for lane in json.loads(out)["lanes"] if lane["signal_step"] == 40 and lane["alignment"] is None
    ]
    assert undefined and not any(lane["diverged"] for lane in undefined)
    _code, table, _ = _run(capsys, *argv)
    assert (
        f"alignment n/a in {len(undefined)} lanes at step 40: their population gradient G_sig is 0 there "
        "(the loss is below what float32 resolves), and A(X) divides by its norm"
    ) in table.splitlines()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_loss_under_the_dtypes_normal_range_is_said_to_be_the_dtypes_limit(capsys, dtype):
    """float32's Muon and SignGD losses stop at 10⁻⁴³ or 0 where float64's go on to 10⁻⁸⁵: the table
    showed them as the lanes' own results."""
    sizes = ["--set", "task.d=64", "--set", "task.n_items=64", "--set", f"run.dtype={dtype}"]
    argv = ["--preset", "tail_multi_step_isotropy", *sizes, "--steps", "40", "--no-progress"]
    code, out, _ = _run(capsys, *argv, "--json")
    assert code == 0
    smallest_normal = float(np.finfo(dtype).tiny)
    under = [lane for lane in json.loads(out)["lanes"] if lane["loss"] < smallest_normal]
    _code, table, _ = _run(capsys, *argv)
    said = [line for line in table.splitlines() if line.startswith("loss under")]
    if dtype == "float64":
        assert not under and not said
        return
    assert 0 < len(under) < 6  # Adam's losses stay near 10⁻⁷
    assert said == [
        f"loss under float32's normal range (1.2e-38) in {len(under)} lanes: there float32, not the lane, "
        "sets how low a loss goes"
    ]


def test_a_stream_without_items_tables_what_it_measures_rather_than_columns_of_n_a(capsys):
    """A spiked stream's table read "loss n/a  accuracy n/a  recovered n/a  alignment 0.903"."""
    argv = ["--set", "task.kind=spiked", "--set", "task.rows=12", "--set", "task.cols=8", "--steps", "4"]
    argv += ["--lane", "optimizer=muon,order=pre,momentum=0.9", "--no-progress"]
    code, out, _ = _run(capsys, *argv, "--json")
    assert code == 0
    (lane,) = json.loads(out)["lanes"]
    code, table, _ = _run(capsys, *argv)
    row = table.splitlines()[-2]  # the lane, then what its alignment is
    assert code == 0 and "n/a" not in row and "loss" not in row
    for key in ("alignment", "sin_theta", "tail_filtering"):
        assert f"{key} {lane[key]:.3f}" in row
    assert f"gap {lane['gap']:.4f}" in row


@pytest.mark.parametrize(("steps", "reasons"), [(0, ["no update"]), (3, ["every 5 steps"]), (5, [])])
def test_a_table_of_metrics_not_yet_computed_says_why(capsys, steps, reasons):
    """A 3-step run of a preset with spectra every 5 printed n/a in every column and said nothing."""
    argv = ["--set", "task.kind=spiked", "--set", "task.rows=12", "--set", "task.cols=8"]
    argv += ["--set", "run.spectra_every=5", "--lane", "optimizer=muon,order=post,momentum=0.9"]
    code, table, _ = _run(capsys, *argv, "--steps", str(steps), "--no-progress")
    notes = [line for line in table.splitlines() if line.startswith("n/a: not computed")]
    assert code == 0 and len(notes) == (1 if reasons else 0), table
    assert all(reason in notes[0] for reason in reasons)
    assert "tail_filtering n/a" in table  # a post lane's, at every step: no note for it at step 5


def test_a_sampled_population_is_reported_as_an_estimate(capsys):
    sampled = [*SMALL, "--set", "run.exact_eval_items=128", "--steps", "2"]
    sampled[sampled.index("task.n_items=64")] = "task.n_items=600"
    code, out, _ = _run(capsys, *sampled, "--json", "--no-progress")
    assert code == 0
    for lane in json.loads(out)["lanes"]:
        assert lane["estimated"] is True and lane["sampled_items"] == 128
        assert lane["recovered_se"] >= 0 and lane["loss_se"] > 0 and lane["accuracy_se"] >= 0
    lanes = json.loads(out)["lanes"]
    code, out, _ = _run(capsys, *sampled, "--no-progress")
    assert code == 0
    assert "population metrics estimated from 128 sampled items (± one standard error)" in out
    assert out.count("recovered ≈") == 4 and out.count("loss ≈") == 4
    rows = out.splitlines()[2 : 2 + len(lanes)]
    assert out.splitlines()[2 + len(lanes)].startswith("alignment A(D) = ⟨D, G_sig⟩ / ‖G_sig‖_*: 1 for msgn")
    for lane, row in zip(lanes, rows, strict=True):  # each loss with its own error
        said = re.search(r"loss ≈ (\d+\.\d+) ± (\d+\.\d+)", row)
        assert said, row
        assert abs(float(said.group(1)) - lane["loss"]) <= lane["loss_se"]
        assert abs(float(said.group(2)) - lane["loss_se"]) <= 0.1 * lane["loss_se"]
    code, out, _ = _run(capsys, *SMALL, "--steps", "2", "--no-progress")
    assert "≈" not in out and "estimated" not in out


def test_same_seed_gives_identical_json(capsys):
    first = _run(capsys, *SMALL, "--steps", "4", "--json")[1]
    second = _run(capsys, *SMALL, "--steps", "4", "--json")[1]
    other = _run(capsys, *SMALL, "--steps", "4", "--json", "--set", "task.seed=1")[1]
    assert first == second
    assert first != other


def test_lane_specs_replace_the_preset_lanes(capsys):
    code, out, _ = _run(
        capsys,
        *SMALL,
        "--steps",
        "2",
        "--json",
        "--lane",
        "optimizer=muon,order=post,momentum=0.9,polar=ns,ns_steps=3",
        "--lane",
        "optimizer=signgd,order=none,lr=0.01",
    )
    lanes = json.loads(out)["lanes"]
    assert code == 0
    assert [lane["optimizer"] for lane in lanes] == ["muon", "signgd"]
    assert [lane["lr"] for lane in lanes] == [0.05, 0.01]  # Muon's default, and the one given
    assert lanes[0]["label"] == "Muon post μ=0.9 ema NS3 lr=0.05"
    assert [lane["buffer"] for lane in lanes] == ["ema", None]  # SignGD with order none keeps no buffer


def _typed(value) -> str:
    """A TOML value as a --lane spec writes it."""
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("name", preset_names())
def test_a_presets_lanes_typed_as_lane_specs_are_accepted_and_run_as_in_the_preset(name):
    text = resources.files("muonscope").joinpath("resources", "presets", f"{name}.toml").read_text("utf-8")
    specs = [
        ",".join(f"{key}={_typed(value)}" for key, value in lane.items() if key != "label")
        for lane in tomllib.loads(text)["lanes"]
    ]
    args = argparse.Namespace(config=None, preset=name, lane=specs, set=[], steps=None)
    _, typed = build_config(args)  # a field the lane does not read would raise ConfigError
    unlabelled = [dataclasses.replace(lane, label="") for lane in load_preset(name).config.lanes]
    assert [dataclasses.replace(lane, label="") for lane in typed.lanes] == unlabelled


def test_a_hand_made_sgd_lane_keeps_torchs_sum_buffer_and_says_so(capsys):
    code, out, _ = _run(
        capsys,
        *SMALL,
        "--steps",
        "2",
        "--json",
        "--lane",
        "optimizer=sgd,momentum=0.9,lr=1",
        "--lane",
        "optimizer=adam,beta2=0.95",
    )
    assert code == 0
    sgd, adam = json.loads(out)["lanes"]
    assert (sgd["buffer"], sgd["momentum"], sgd["label"]) == ("sum", 0.9, "SGD μ=0.9 sum lr=1")
    assert json.loads(out)["config"]["lanes"][0]["buffer"] == "sum"
    assert adam["buffer"] == "ema"  # Adam's first moment is an EMA by definition
    assert (adam["beta2"], sgd["beta2"]) == (0.95, None)  # β₂ only where a second moment is kept


def test_out_writes_metrics_config_and_report(capsys, tmp_path):
    code, _, _ = _run(capsys, *SMALL, "--steps", "3", "--out", str(tmp_path / "run"))
    assert code == 0
    table = pq.read_table(tmp_path / "run" / "metrics.parquet").to_pydict()
    assert table["step"] == [s for s in range(4) for _ in range(4)]
    config = (tmp_path / "run" / "config.toml").read_text()
    assert "n_items = 64" in config
    assert json.loads((tmp_path / "run" / "final.json").read_text())["step"] == 3
    code, _, _ = _run(capsys, *SMALL, "--steps", "1", "--out", str(tmp_path / "csv"), "--format", "csv")
    assert (tmp_path / "csv" / "metrics.csv").read_text().startswith("step,lane,label,diverged,batch_loss")


def test_the_config_an_out_folder_holds_runs_again_to_the_same_numbers(capsys, tmp_path):
    """A preset lane set to polar = exact kept its λ = 0.005524; written, the file was refused: "has
    no effect on lane 0"."""
    argv = ("--preset", "multi_step_recovery", "--steps", "2", "--set", "lanes[0].polar=exact", "--json")
    code, first, _ = _run(capsys, *argv, "--out", str(tmp_path / "run"))
    assert code == 0
    written = tmp_path / "run" / "config.toml"
    code, again, err = _run(capsys, "--config", str(written), "--steps", "2", "--json")
    assert code == 0, err
    loss = [[lane["loss"] for lane in json.loads(out)["lanes"]] for out in (first, again)]
    assert loss[0] == loss[1]
    lane_0 = written.read_text().split("[[lanes]]")[1]  # what the lane keeps for reg, as comments
    assert '# lam = 0.005524\n# lam_schedule = "kim"\n' in lane_0


def test_a_task_change_says_which_lane_settings_it_turned_off(capsys):
    """--set task.alpha=0.2 turned the preset's λ_t lanes into fixed-λ ones without a word."""
    code, out, err = _run(
        capsys, "--preset", "multi_step_recovery", "--set", "task.alpha=0.2", "--steps", "1", "--json"
    )
    assert code == 0
    notes = [line for line in err.splitlines() if line.startswith("muonscope: note: lane")]
    said = "lam_schedule 'kim' → 'fixed'"
    assert len(notes) == 2 and all(said in note and "α = 0.2" in note for note in notes)
    assert {lane["lam_schedule"] for lane in json.loads(out)["lanes"][:2]} == {"fixed"}
    code, _, err = _run(
        capsys, "--preset", "multi_step_recovery", "--set", "lanes[1].thresholded=false", "--steps", "1"
    )
    assert code == 0 and "note: lane" not in err  # turned off as asked: nothing to say


def test_a_metrics_tables_columns_have_one_type_whatever_the_run_computed(capsys, tmp_path):
    """A stream recovers no items: its `recovered` column, all null, was typed null where a memory's
    is int64, and the two runs' tables did not concatenate."""
    import pyarrow as pa

    _run(capsys, *SMALL, "--steps", "2", "--out", str(tmp_path / "memory"))
    _run(capsys, "--set", "task.kind=spiked", "--steps", "2", "--out", str(tmp_path / "stream"))
    memory, stream = (pq.read_table(tmp_path / name / "metrics.parquet") for name in ("memory", "stream"))
    assert memory.schema == stream.schema
    assert (
        stream.schema.field("recovered").type == pa.int64()
        and stream["recovered"].null_count == stream.num_rows
    )
    assert pa.concat_tables([memory, stream]).num_rows == memory.num_rows + stream.num_rows


def test_run_says_what_it_wrote_and_saved(capsys, tmp_path):
    """A session saved at the end of a run went without a word (an interrupted one's was said)."""
    out, saved = tmp_path / "run", tmp_path / "session"
    code, _, err = _run(capsys, *SMALL, "--steps", "2", "--out", str(out), "--save", str(saved))
    assert code == 0
    assert err.splitlines() == [
        f"muonscope run: wrote metrics.parquet, config.toml, final.json in {out}",
        f"muonscope run: session saved to {saved} (step 2)",
    ]


def test_config_file_is_read(capsys, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[task]\nkind = "spiked"\nrows = 20\ncols = 10\n[[lanes]]\noptimizer = "muon"\n[run]\nsteps = 3\n'
    )
    code, out, _ = _run(capsys, "--config", str(path), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["step"] == 3
    assert report["lanes"][0]["loss"] is None
    assert 0.0 < report["lanes"][0]["alignment"] <= 1.0


def test_argument_errors_are_one_line_with_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "muonscope", "run", "--steps", "x"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "--steps" in proc.stderr


def test_console_script_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "muonscope", "run", *SMALL, "--steps", "1", "--json", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["step"] == 1


#: How a run ends where its stdout fails so, and the last line it says.
_STDOUT_FAILURES = {
    "reader gone": (141, None),  # as SIGPIPE would end it, quietly
    "full": (1, "could not be written to stdout (no space left on device)"),
    "closed": (1, "could not be written to stdout (it is closed)"),
    "ascii": (0, None),
}


@pytest.mark.parametrize("stdout", list(_STDOUT_FAILURES))
def test_a_report_that_cannot_be_printed_costs_the_run_none_of_its_files(tmp_path, stdout):
    """``run --save S | head -1``, ``> /dev/full``, ``>&-`` and an ASCII-only stdout ("μ") each lost
    the session and the tables: the report was printed first, and its failure ended the run."""
    argv = [sys.executable, "-m", "muonscope", "run", *SMALL, "--steps", "3", "--no-progress"]
    argv += ["--save", str(tmp_path / "s"), "--out", str(tmp_path / "tables")]
    environment = {**os.environ, "PYTHONIOENCODING": "ascii"} if stdout == "ascii" else None
    if stdout == "closed":
        argv = ["sh", "-c", 'exec "$@" >&-', "sh", *argv]
    with open("/dev/full" if stdout == "full" else os.devnull, "w") as full:
        target = {"full": full, "closed": None}.get(stdout, subprocess.PIPE)
        proc = subprocess.Popen(argv, stdout=target, stderr=subprocess.PIPE, text=True, env=environment)
        if stdout == "reader gone":
            proc.stdout.close()  # before anything is written
        out, err = proc.communicate(timeout=300)
    lines = err.splitlines()
    assert f"muonscope run: session saved to {tmp_path / 's'} (step 3)" in lines, err
    assert (tmp_path / "s" / "session.json").is_file() and (tmp_path / "tables" / "final.json").is_file()
    code, said = _STDOUT_FAILURES[stdout]
    assert proc.returncode == code, err
    if said is None:
        assert "failure" not in err
    else:
        assert lines[-1] == f"muonscope run: runtime failure: the output {said}"
    if stdout == "ascii":
        assert "\\u03bc=0.95" in out  # Muon's μ, escaped rather than fatal


@pytest.mark.parametrize("asked", [["--version"], ["run", "--help"]])
def test_help_and_version_that_cannot_be_printed_say_so(asked):
    """They exited 0 with nothing printed and nothing said, where every command said stdout failed."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "muonscope", *asked],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1
    assert proc.stderr == (
        "muonscope: runtime failure: the output could not be written to stdout (no space left on device)\n"
    )


def test_a_current_folder_removed_under_the_shell_is_said_to_be_gone(tmp_path):
    """torch's import said "Intel oneMKL FATAL ERROR: Cannot load …/libtorch_cpu.so" there (exit 2,
    as from a broken install), and ``--out`` a bare FileNotFoundError."""
    gone = tmp_path / "gone"
    gone.mkdir()
    command = [sys.executable, "-m", "muonscope", "run", *SMALL, "--steps", "2", "--out", "tables"]
    script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
    proc = subprocess.run(
        ["sh", "-c", script, "sh", str(gone), *command], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "muonscope: error: the current folder no longer exists (it was removed while the shell stood in "
        "it); cd to a folder that does\n"
    )
    gone.mkdir()  # the version needs no folder
    asked = subprocess.run(
        ["sh", "-c", script, "sh", str(gone), sys.executable, "-m", "muonscope", "--version"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert asked.returncode == 0 and asked.stdout.startswith("muonscope ")


def test_window_without_a_display_explains_itself(monkeypatch, capsys):
    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is for Linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "no display found" in err and err.count("\n") == 1


def test_a_bad_session_path_is_named_before_the_display_is_looked_for(monkeypatch, capsys, tmp_path):
    """Without a display too, a wrong PATH is the user's mistake to hear about (exit 2), first."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "s").mkdir()
    for name in ("session.json", "tensors.safetensors", "metrics.parquet", "spectra.parquet"):
        (tmp_path / "s" / name).write_text('{"format": "muonscope-session",\n "version": 1,')
    assert main([str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"muonscope: error: {tmp_path / 's' / 'session.json'}: is not valid JSON")
    assert err.count("\n") == 1


@pytest.mark.parametrize("damaged", ["tensors.safetensors", "metrics.parquet", "spectra.parquet"])
def test_a_damaged_session_file_is_named_before_a_window_opens(monkeypatch, capsys, tmp_path, damaged):
    """Only session.json was read first: a pickle in tensors.safetensors opened a window that said
    "Not opened" there, and nothing on the terminal that launched it."""
    tiny = ["--set", "task.d=8", "--set", "task.n_items=16", "--set", "task.batch_size=4", "--steps", "2"]
    assert main(["run", *tiny, "--save", str(tmp_path / "s"), "--no-progress"]) == 0
    (tmp_path / "s" / damaged).write_bytes(b"\x80\x04\x95" + b"pickled bytes, not a table" * 8)
    capsys.readouterr()
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"muonscope: error: {tmp_path / 's' / damaged}: is not a readable")
    assert err.count("\n") == 1


@pytest.mark.parametrize("field", ["branches", "initial_config", "current_branch", "breakpoints"])
def test_a_session_json_short_of_a_field_is_named_before_a_window_opens(monkeypatch, capsys, tmp_path, field):
    """Only its format and version were read first: a window opened on it and said "Not opened" there."""
    tiny = ["--set", "task.d=8", "--set", "task.n_items=16", "--set", "task.batch_size=4", "--steps", "2"]
    assert main(["run", *tiny, "--save", str(tmp_path / "s"), "--no-progress"]) == 0
    document = json.loads((tmp_path / "s" / "session.json").read_text())
    del document[field]
    (tmp_path / "s" / "session.json").write_text(json.dumps(document))
    capsys.readouterr()
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    named = tmp_path / "s" / "session.json"
    assert err == f"muonscope: error: {named}: has a record that lacks its field '{field}'\n"


def test_a_display_nobody_answers_is_reported_not_crashed_into(monkeypatch, capsys):
    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is for Linux")
    for name in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":987")  # no X server there: Qt itself would abort the process
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "cannot connect to the X display ':987'" in err and err.count("\n") == 1


def test_a_qt_plugin_that_cannot_load_names_the_missing_library(monkeypatch, capsys):
    """Qt aborted (exit 134) naming libxcb-cursor0, whichever library was missing."""
    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is for Linux")
    import ctypes
    import socket

    def missing(path, *args, **kwargs):
        raise OSError("libxcb-icccm.so.4: cannot open shared object file: No such file or directory")

    for name in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":986")
    monkeypatch.setattr(ctypes, "CDLL", missing)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:  # an X server answers at :986
        server.bind("\0/tmp/.X11-unix/X986")
        server.listen(1)
        assert main([]) == 1
    err = capsys.readouterr().err
    assert "X11 platform plugin cannot load: libxcb-icccm.so.4 is missing" in err and err.count("\n") == 1


def test_reproduce_lists_presets_with_claims(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    assert "one_step_capacity" in out and "claim: Muon's one-step capacity" in out


def test_reproduce_writes_figures_data_and_summary(capsys, tmp_path):
    code = main(
        ["reproduce", "tail_balance_one_step", "--out", str(tmp_path), "--format", "csv", "--no-progress"]
    )
    assert code == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"summary.md", "loss_vs_gap.png", "rho.csv"} <= names
    summary = (tmp_path / "summary.md").read_text()
    assert "| ϱ_GD, K = 64 (identity) | 0.0270 |" in summary
    assert "§" not in summary  # the acceptance-check numbers belong to no document a user has
    assert "**FAIL**" not in summary


def test_a_reproduction_written_again_in_the_other_format_says_which_tables_it_replaced(capsys, tmp_path):
    argv = ["reproduce", "tail_balance_one_step", "--out", str(tmp_path), "--no-progress"]
    assert main([*argv, "--format", "csv"]) == 0
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert f"removed {tmp_path / 'rho.csv'}, the same table in the format before" in err
    assert (tmp_path / "rho.parquet").exists() and not (tmp_path / "rho.csv").exists()


def test_an_interrupted_reproduction_leaves_a_summary_that_says_so(capsys, tmp_path, monkeypatch):
    """Ctrl+C while the figures were drawn left four PNGs and no summary.md: the checks, made by
    then, were lost, and the folder did not say it was incomplete."""
    from muonscope.app import figures

    def interrupted(figure, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "render_figure", interrupted)
    argv = ["reproduce", "tail_balance_one_step", "--out", str(tmp_path), "--format", "csv", "--no-progress"]
    assert main(argv) == 130
    assert capsys.readouterr().err.endswith(
        f"muonscope reproduce: interrupted while drawing its figures (0 drawn); its checks, data and "
        f"summary.md are in {tmp_path}\n"
    )
    summary = (tmp_path / "summary.md").read_text()
    assert "Interrupted while drawing the figures: 0 drawn; run the command again for the rest." in summary
    assert "| ϱ_GD, K = 64 (identity) | 0.0270 |" in summary  # the checks made are kept
    assert "- `rho.csv`" in summary and (tmp_path / "rho.csv").exists()
    assert not list(tmp_path.glob("*.png"))


def test_reproduce_rejects_unknown_presets(capsys):
    assert main(["reproduce", "nosuch", "--no-progress"]) == 2
    assert not (Path.cwd() / "reproduce-nosuch").exists()
    assert "preset = 'nosuch'" in capsys.readouterr().err
    assert main(["reproduce"]) == 2


def test_sweep_prints_curves_and_writes_tables(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "cache"))
    argv = [
        "sweep",
        "--preset",
        "one_step_capacity",
        "--set",
        "task.d=16",
        "--set",
        "task.n_items=256",
        "--axis",
        "d",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--format",
        "csv",
        "--no-progress",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    heading = "items recovered after one step against dimension d, one exact-gradient step"
    assert f"{heading} (B = ∞)" in out
    assert "guide slope 1/(2α)" in out
    rows = (tmp_path / "out" / "curves.csv").read_text().splitlines()
    header = "lane,label,d,recovered_mean,recovered_min,recovered_max,seeds,diverged_seeds,device,dtype,"
    assert rows[0] == header + "torch_version" and len(rows) == 1 + 4 * 3
    assert all(next(csv.reader([row]))[6] == "3" for row in rows[1:])  # every point averages the three seeds
    assert all(next(csv.reader([row]))[2].isdigit() for row in rows[1:])  # d = 8, as points.csv has it
    assert main(argv) == 0  # the second run reads every point from the cache
    assert (tmp_path / "out" / "points.csv").read_text().count(",True") == 4 * 9


def test_a_momentum_sweep_says_at_which_step_it_reads_the_alignment(capsys, tmp_path, monkeypatch):
    """Its points run the run's length: "at the last step" left the reader to guess which."""
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "cache"))
    argv = ["sweep", "--preset", "momentum_order", "--axis", "mu", "--set", "run.steps=6", "--no-progress"]
    argv += ["--set", "task.rows=12", "--set", "task.cols=10", "--workers", "1"]
    assert main(argv) == 0
    assert "alignment A(update) against momentum μ; each point at step 6" in capsys.readouterr().out


def test_sweep_refuses_axes_the_task_cannot_sweep(capsys):
    assert main(["sweep", "--axis", "mu", "--no-progress"]) == 2
    assert "--axis = 'mu'" in capsys.readouterr().err


@pytest.mark.parametrize("preset", sorted(preset_names()))
def test_every_preset_runs_headless(capsys, preset):
    assert main(["run", "--preset", preset, "--steps", "2", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["step"] == 2 and not any(lane["diverged"] for lane in report["lanes"])


def test_a_warning_from_any_command_prints_as_one_line(capsys, monkeypatch):
    """shot, record and the window run sweeps too: a damaged cache entry is one sentence, not the
    file, line and source of the warn call."""
    import warnings

    from muonscope.app import cli
    from muonscope.engine.sweep_cache import CacheWarning

    def command(_args):
        warnings.simplefilter("always", CacheWarning)  # as sweeps set it (the suite makes warnings errors)
        warnings.warn("ignoring the cache entry /c/x.json: not a JSON object", CacheWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "_dispatch", command)
    assert cli.main(["cache", "info"]) == 0
    assert capsys.readouterr().err == (
        "muonscope: warning: ignoring the cache entry /c/x.json: not a JSON object\n"
    )


def test_a_session_folder_named_after_the_window_options_is_read_as_the_path(monkeypatch, capsys, tmp_path):
    """``muonscope --preset default s1`` once called s1 an unknown command "(there is no 's1' here)"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s1").mkdir()
    assert main(["--preset", "default", "s1"]) == 2
    err = capsys.readouterr().err
    expected = "--preset = 'default' is not allowed: cannot go with PATH: open one thing"
    assert err == f"muonscope: error: {expected}\n"


def test_the_tables_columns_stay_aligned_under_a_long_lane_label(capsys):
    """A label longer than the column pushed its row's numbers right of every other row's."""
    long = "label=a lane whose label runs well past the thirty-four characters"
    code, table, err = _run(
        capsys, *SMALL, "--steps", "1", "--lane", f"optimizer=muon,{long}", "--lane", "optimizer=sgd"
    )
    assert code == 0, err
    rows = [line for line in table.splitlines() if " loss " in line]
    assert len(rows) == 2 and rows[0].startswith("a lane whose label runs well past")
    assert rows[0].index(" loss ") == rows[1].index(" loss ")
    assert rows[0].index(" accuracy ") == rows[1].index(" accuracy ")


def test_sigterm_before_the_command_takes_over_is_an_interruption_not_a_kill():
    """The run's imports take a second, and a SIGTERM then (a job scheduler's) killed it with 143."""
    probe = (
        "import os, signal, sys\n"
        "import muonscope.app.run_command as run_command\n"
        "run_command.run_command = lambda args: os.kill(os.getpid(), signal.SIGTERM) or 0\n"
        "from muonscope.app.cli import main\n"
        "sys.exit(main(['run']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (130, "muonscope run: interrupted\n")


def test_a_lane_set_away_from_its_presets_name_is_named_by_its_settings(capsys):
    """spectral_filtering's lane 1 is named "Muon pre μ = 0.5 · ema": run at μ = 0.9, the report,
    the key and the caption still called it μ = 0.5."""
    from muonscope.engine.presets import load_preset

    named = [lane.label for lane in load_preset("spectral_filtering").config.lanes]
    assert all(named) and "0.5" in named[1]
    argv = ("--preset", "spectral_filtering", "--steps", "1", "--json", "--no-progress")
    code, out, _ = _run(capsys, *argv, "--set", "lanes[1].momentum=0.9")
    lanes = json.loads(out)["lanes"]
    assert code == 0 and lanes[0]["label"] == named[0]  # a lane left as it was keeps its name
    assert lanes[1]["momentum"] == 0.9 and "μ=0.9" in lanes[1]["label"] and "0.5" not in lanes[1]["label"]
    code, out, _ = _run(capsys, *argv, "--set", "lanes[1].momentum=0.9", "--set", "lanes[1].label=mine")
    assert json.loads(out)["lanes"][1]["label"] == "mine"  # a name given with the change holds


def test_the_metrics_table_says_where_a_lane_diverged_and_leaves_what_was_not_computed_null(capsys, tmp_path):
    """A diverged lane's rows were empty at every step, as a step not evaluated is; and Parquet held
    NaN for "not computed", so a column's mean was NaN."""
    import pyarrow.compute as pc

    stream = ["--set", "task.kind=spiked", "--set", "task.rows=6", "--set", "task.cols=5"]
    stream += ["--set", "task.strengths=[1e25]", "--set", "task.noise=0.0", "--set", "run.dtype=float32"]
    lanes = ["--lane", "optimizer=adam,lr=0.01", "--lane", "optimizer=muon,lr=0.01"]
    code, out, _ = _run(capsys, *stream, *lanes, "--steps", "4", "--json", "--out", str(tmp_path / "o"))
    assert code == 0
    adam, muon = json.loads(out)["lanes"]
    diverged_step = adam["diverged_step"]
    # no rank or step is given beside a metric it took no more: "gap_rank": 1 stood by "gap": null
    assert adam["gap"] is adam["gap_rank"] is adam["alignment"] is adam["signal_step"] is None
    assert muon["gap_rank"] >= 1 and muon["signal_step"] == 4
    table = pq.read_table(tmp_path / "o" / "metrics.parquet")
    assert str(table.schema.field("diverged").type) == "bool"
    rows = table.to_pylist()
    assert [row["diverged"] for row in rows if row["lane"] == 0] == [s >= diverged_step for s in range(5)]
    assert not any(row["diverged"] for row in rows if row["lane"] == 1)
    memory = ["--steps", "4", "--out", str(tmp_path / "m")]
    assert _run(capsys, *SMALL, *memory)[0] == 0
    loss = pq.read_table(tmp_path / "m" / "metrics.parquet").column("loss")
    assert loss.null_count > 0 and math.isfinite(pc.mean(loss).as_py())  # evaluated every 2 steps
