"""Input that must be refused: exit 2, one line naming the field or file, nothing computed.

Each row is something a user typed or pointed the command at. The command runs in-process; files
(non-UTF-8, binary, deeply nested, FIFOs, huge) are made in a temporary folder first.
"""

import os
import pickle
import subprocess
import sys

import pytest
import torch

from muonscope.app.cli import main
from muonscope.app.video import PART_ADDED_BYTES

#: (argv with {tmp} for the temporary folder, text the one-line error must contain, or several texts)
CASES = [
    # ---- config files
    (["run", "--config", "{tmp}/latin1.toml"], ("--config = '{tmp}/latin1.toml'", "must be UTF-8 text")),
    (["run", "--config", "{tmp}/binary.toml"], ("--config = '{tmp}/binary.toml'", "holds binary data")),
    # what a Windows editor's "Unicode" writes, with its byte-order mark and without: "binary data"
    (
        ["run", "--config", "{tmp}/utf16.toml"],
        ("--config = '{tmp}/utf16.toml'", "(it is UTF-16: save it as UTF-8)"),
    ),
    (["run", "--config", "{tmp}/utf16be.toml"], "must be UTF-8 text (it is UTF-16: save it as UTF-8)"),
    (["run", "--config", "{tmp}/utf32.toml"], "must be UTF-8 text (it is UTF-32: save it as UTF-8)"),
    (["run", "--config", "{tmp}/utf32be.toml"], "must be UTF-8 text (it is UTF-32: save it as UTF-8)"),
    (["run", "--config", "{tmp}/pickled.pkl"], "--config = '{tmp}/pickled.pkl'"),
    (["run", "--config", "{tmp}/deep_arrays.toml"], ("--config = '{tmp}/deep_arrays.toml'", "too deeply")),
    (["run", "--config", "{tmp}/deep_tables.toml"], ("--config = '{tmp}/deep_tables.toml'", "too deeply")),
    (
        ["run", "--config", "{tmp}/huge_number.toml"],
        ("--config = '{tmp}/huge_number.toml'", "over 4300 digits"),
    ),
    (["run", "--config", "{tmp}/fifo.toml"], ("--config = '{tmp}/fifo.toml'", "must be a regular file")),
    (["run", "--config", "{tmp}"], ("--config = '{tmp}'", "must be a regular file")),
    (["run", "--config", "/dev/zero"], "--config = '/dev/zero'"),
    (["run", "--config", "{tmp}/huge.toml"], ("--config = '{tmp}/huge.toml'", "at most 1048576 bytes")),
    (["run", "--config", "{tmp}/many_lanes.toml"], "lanes = 'a list of 100000 lanes'"),
    (["run", "--config", "{tmp}/nine_lanes.toml"], "lanes = 'a list of 9 lanes'"),
    (["run", "--config", "{tmp}/no_lanes.toml"], "lanes = [] is not allowed: must be a list of 1 to 8 lanes"),
    # a table given as a value: the refusal says what the table holds
    (["run", "--config", "{tmp}/task_number.toml"], ("task = 5 is not allowed: must be a table of kind, d,")),
    (
        ["run", "--config", "{tmp}/preset_text.toml"],
        "preset = 'nope' is not allowed: must be a table of caption,",
    ),
    (["run", "--config", "{tmp}/lanes_scalar.toml"], "lanes = 3"),
    (["cache", "list"], ("'list' is not allowed", "must be one of info, clear")),
    (["run", "--config", "{tmp}/task_scalar.toml"], "task = 1"),
    (["run", "--config", "{tmp}/unknown_table.toml"], "foo = {…} is not allowed: unknown key"),
    # a misspelt table is named, not printed whole (nine settings made a 330-character line)
    (["run", "--config", "{tmp}/misspelt_table.toml"], "runn = {…} is not allowed: unknown key; known"),
    (["run", "--config", "{tmp}/misspelt_lanes.toml"], "lanez = [{…}, …] is not allowed: unknown key"),
    (
        ["run", "--config", "{tmp}/unknown_top_key.toml"],
        "steps = 3 is not allowed: unknown key; known keys: preset, view, task, lanes, run",
    ),
    (["run", "--config", "{tmp}/preset_colour.toml"], "preset.colour"),
    (["run", "--config", "{tmp}/preset_title.toml"], "{tmp}/preset_title.toml: preset.title = 1"),
    # values as TOML writes them, not as Python prints them ("datetime.datetime(1979, 5, 27, …)")
    (["run", "--config", "{tmp}/task_date.toml"], "task.d = 1979-05-27T07:32:00+00:00 is not allowed"),
    (["run", "--config", "{tmp}/task_inline.toml"], "task.d = {a = 1} is not allowed"),
    (["run", "--config", "{tmp}/view_scalar.toml"], "view = 3"),
    # no number at all: the range is said as it is of a number out of it
    (["sweep", "--axis", "d", "--workers", "abc"], "--workers = 'abc' is not allowed: must be an integer fr"),
    (["reproduce", "anisotropic", "--workers", "1.5"], "--workers = '1.5' is not allowed: must be an integ"),
    # a [view] the window would refuse is refused before any work, not only where a window opens
    (
        ["run", "--config", "{tmp}/view_value.toml"],
        "{tmp}/view_value.toml: view.spectrum = 'W' is not allowed: must be one of gradient+momentum "
        '("G and M"), update, weights ("W"),',
    ),
    (
        ["sweep", "--axis", "d", "--config", "{tmp}/view_key.toml"],
        "view.colour = 'red' is not allowed: unknown key",
    ),
    (
        ["run", "--config", "{tmp}/view_log.toml"],
        "view.series_log = 'yes' is not allowed: must be true or false, written without quotes",
    ),
    # a file saved blank ran every default, a window's run replaced by "blank · own settings"
    (
        ["run", "--config", "{tmp}/blank.toml"],
        "config = '{tmp}/blank.toml' is not allowed: holds no settings; a config has one or more of [pre",
    ),
    # a heat map's lane past the run's last (the lanes as --lane would leave them)
    (
        ["run", "--config", "{tmp}/view_lane.toml"],
        "{tmp}/view_lane.toml: view.heatmap_lane = 2 is not allowed: must be 0: the run has 1 lane",
    ),
    # a field the file sets, away from its default, that its lane or task does not read
    (
        ["run", "--config", "{tmp}/sgd_polar.toml"],
        "lanes[0].polar = 'ns' is not allowed: has no effect on lane 0 (SGD μ=0.9 sum lr=0.5): only Muon",
    ),
    (["run", "--config", "{tmp}/zipf_head_mass.toml"], "task.head_mass = 0.9 is not allowed: has no effect"),
    (
        ["run", "--config", "{tmp}/zipf_d48.toml", "--set", "task.kind=spiked"],
        "task.d = 48 is not allowed: has no effect: a spiked task does not read it",
    ),
    # a saved session given as a config: "must be valid TOML" left the user guessing
    (["run", "--config", "{tmp}/saved"], "is a saved session, not a config file: open it with `muonscope"),
    (
        ["run", "--config", "{tmp}/saved/session.json"],
        "continue it with `muonscope run --resume {tmp}/saved`",
    ),
    (
        ["run", "--config", "{tmp}/written"],
        "is a folder; the config written there is {tmp}/written/config.toml",
    ),
    (
        ["run", "--config", "{tmp}/bad_syntax.toml"],
        ("config = '{tmp}/bad_syntax.toml'", "must be valid TOML"),
    ),
    (["run", "--config", "{tmp}/optimizer_list.toml"], "lanes[0].optimizer = []"),
    (["run", "--config", "{tmp}/optimizer_table.toml"], "lanes[0].optimizer = {}"),
    (["run", "--config", "{tmp}/long_strengths.toml"], "task.strengths = [1, 1, 1, …, 1, 1] (200001 items)"),
    (["run", "--config", "{tmp}/missing.toml"], "config = '{tmp}/missing.toml'"),
    # the machine's refusal of a file's field names the file, as every other refusal of it does
    (["run", "--config", "{tmp}/memory_crumb.toml"], "{tmp}/memory_crumb.toml: run.max_memory_gb = 0.000001"),
    (["shot", "--config", "{tmp}/memory_crumb.toml", "--out", "{tmp}/x.png"], "memory_crumb.toml: run.max"),
    (
        ["run", "--config", "{tmp}/memory_crumb.toml", "--set", "run.max_memory_gb=0.000002"],
        ("run.max_memory_gb = 0.000002 is not allowed", "muonscope run: error: run.max_memory_gb"),
    ),
    # a number no float holds: --set refused it, a file read 1e-400 as lr = 0 (a lane that never moves)
    (
        ["run", "--config", "{tmp}/lr_below_floats.toml"],
        "{tmp}/lr_below_floats.toml: lanes[0].lr = 1e-400 is not allowed: must be 0 or at least about 5e-324",
    ),
    (
        ["run", "--config", "{tmp}/eps_below_floats.toml"],
        "{tmp}/eps_below_floats.toml: lanes[1].eps = 2E-999",
    ),
    (["run", "--config", "{tmp}/list_below_floats.toml"], "task.strengths[1] = 1e-999 is not allowed"),
    (
        ["run", "--config", "{tmp}/d_above_floats.toml"],
        "{tmp}/d_above_floats.toml: task.d = 1e400 is not allowed: must be at most about 1.8e308",
    ),
    # a name its file system holds only without what muonscope adds while writing: the run was
    # lost at its end to "OSError: File name too long"
    (["run", "--save", "{tmp}/" + "S" * 245], "its name is 245 bytes long: at most 238 fit (names hold 255"),
    (
        ["record", "--out", "{tmp}/" + "G" * 251 + ".gif"],
        f"its name is 255 bytes long: at most {255 - PART_ADDED_BYTES} fit",
    ),
    (["shot", "--out", "{tmp}/" + "P" * 300 + ".png"], "its name is 304 bytes long: names hold at most 255"),
    # the system was asked of them first, and its "File name too long" came out as a runtime failure
    (["run", "--steps", "1", "--save", "{tmp}/" + "S" * 300], "its name is 300 bytes long: names hold"),
    (["sweep", "--axis", "d", "--out", "{tmp}/" + "O" * 300], "its name is 300 bytes long: names hold"),
    (["run", "--out", "{tmp}/" + "D" * 300 + "/x"], "a folder name in it (DDDDDDDDDDDD…) is 300 bytes long"),
    # a name that fits only without staging's 17 bytes was said without the option it was given to
    (
        ["run", "--save", "{tmp}/" + "é" * 127],
        ("--save = '{tmp}/éé", "is not allowed: its name is 254 bytes"),
    ),
    # a path past the system's 4096 bytes, each name short enough: a runtime failure, exit 1, at the end
    (
        ["run", "--out", "{tmp}/" + "/".join(["d" * 200] * 22)],
        ("--out = '{tmp}/ddd", "bytes long from the root"),
    ),
    (
        ["run", "--save", "{tmp}/" + "/".join(["d" * 200] * 22)],
        ("--save = '{tmp}/ddd", "paths hold fewer than"),
    ),
    (
        ["shot", "--out", "{tmp}/" + "/".join(["d" * 200] * 22) + ".png"],
        ("--out = '", "bytes long from the root"),
    ),
    # ---- --set
    (["run", "--set", "task.d=0"], "task.d = 0"),
    (["run", "--set", "task.d=abc"], "task.d = 'abc'"),
    (["run", "--set", "task.d=64.5"], "task.d = 64.5"),
    (["run", "--set", "task.d=1e400"], "task.d = '1e400' is not allowed: must be at most about 1.8e308"),
    (["run", "--lane", "optimizer=muon,label=1"], ("--lane[0].label = 1", 'a number: quote it, as "1"')),
    (["run", "--lane", 'optimizer=muon,label="2"'], "--lane[0].label = '2' is not allowed: must not be a"),
    (["run", "--lane", 'optimizer=muon,label="  "'], "--lane[0].label = '  ' is not allowed: must show"),
    (
        ["run", "--lane", 'optimizer=muon,label="\u200b"'],
        "is not allowed: must show: not blank, and no invisible",
    ),
    (["run", "--set", "lanes[0].label=true"], ("lanes[0].label = true", 'quote it, as "true"')),
    (["run", "--set", "lanes[0].lr=1e-400"], "lanes[0].lr = '1e-400' is not allowed: must be 0 or at least"),
    (["run", "--set", "task.strengths=[1, 1e-999]"], "task.strengths = '[1, 1e-999]' is not allowed"),
    (["run", "--set", "task.d=" + "9" * 5000], ("task.d = '9999", "at most 4300 digits")),
    (["run", "--set", "task.alpha=nan"], "task.alpha = nan"),
    (["run", "--set", "task.alpha=-1"], "task.alpha = -1"),
    (["run", "--set", "task.label_noise=1"], "task.label_noise = 1"),
    (["run", "--set", "task.label_noise=1.5"], "task.label_noise = 1.5"),
    (["run", "--set", "task.batch_size=-2"], "task.batch_size = -2"),
    (["run", "--set", "task.batch_size=true"], "task.batch_size = true"),
    (["run", "--set", "task.kind=mnist"], "task.kind = 'mnist'"),
    (["run", "--set", "task.kind=[]"], "task.kind = []"),
    (["run", "--set", "task.embeddings=orthogonal"], "task.n_items = 2048"),
    (["run", "--set", "task.embeddings=hadamard"], "task.embeddings = 'hadamard'"),
    (["run", "--set", "task.seed=-1"], "task.seed = -1"),
    (["run", "--set", "task.seed=2147483648"], "task.seed = 2147483648"),
    (["run", "--set", "task.colour=1"], "task.colour"),
    (["run", "--set", "task.d"], "--set = 'task.d'"),
    (["run", "--set", "d=5"], "--set = 'd=5' is not allowed: KEY must be task.NAME"),
    (["run", "--set", "task.d=64\nx = 1"], "task.d = '64\\nx = 1' is not allowed: must be a single line"),
    (["run", "--set", "lanes[0].optimizer=[1]"], "lanes[0].optimizer = [1]"),
    (["run", "--set", "lanes[9].lr=1"], "lanes[9].lr = 1"),
    (["run", "--set", "lanes[0].label=" + "x" * 81], "lanes[0].label = 'xxxx"),
    (
        ["run", "--set", "task.strengths=[]"],
        "task.strengths = [] is not allowed: must be a list of 1 to min(rows, cols) = min(100, 100) = 100",
    ),
    (
        ["run", "--set", "task.strengths=[inf]"],
        "task.strengths[0] = inf is not allowed: must be a finite number in (0, 1e30]",
    ),
    # 1e155: every step failed in an SVD of non-finite values, the run stuck, the lanes "all finite"
    (["run", "--set", "task.strengths=[12, 1e155]"], "task.strengths[1] = 1e155 is not allowed: must be"),
    (["run"] + ["--lane", "optimizer=sgd"] * 50_000, "arguments = 100001 is not allowed: at most 2000"),
    (["run", "--set", 'task.strengths=[1, "a"]'], "task.strengths[1] = 'a'"),
    (["run", "--set", "task.strengths=[" + "1," * 10**6 + "1]"], "--set = '"),
    (
        ["run", "--set", "task.d=64", "--set", "task.d=65"],
        "--set = 'task.d=65' is not allowed: sets task.d a second time; give each key once",
    ),
    (
        ["run", "--set", "run.steps=5", "--steps", "10"],
        "--steps = 10 is not allowed: --set run.steps sets the run's length too; give one of them",
    ),
    (["run", "--set", "run.eval_every=0"], "run.eval_every = 0"),
    (["run", "--set", "run.device=tpu"], "run.device = 'tpu'"),
    (["run", "--set", "run.dtype=float16"], "run.dtype = 'float16'"),
    (["run", "--set", "run.signal_rank=128"], "run.signal_rank = 128"),
    (["run", "--set", "run.max_memory_gb=-1"], "run.max_memory_gb = -1"),
    (["run", "--set", "run.steps=10000000000"], "run.steps = 10000000000"),
    (
        [
            "run",
            "--set",
            "task.embeddings=identity",
            "--set",
            "task.n_items=64",
            "--set",
            "task.anisotropy=1",
        ],
        "task.anisotropy = 1",
    ),
    (
        [
            "run",
            *("--set", "task.kind=hierarchical", "--set", "task.d=60", "--set", "task.n_items=60"),
            *("--set", "task.embeddings=orthogonal", "--set", "task.groups=7"),
        ],
        "task.groups = 7",
    ),
    (
        ["run", "--set", "task.kind=spiked", "--set", "task.rows=2", "--set", "task.cols=3"],
        "task.strengths = [12, 8, 5] is not allowed: must be a list of 1 to min(rows, cols) = min(2, 3) = 2",
    ),
    (["run", "--set", "task.n_items=10000000", "--set", "task.d=16384"], "task.n_items = 10000000"),
    (["run", "--set", "task.kind=spiked", "--lane", "optimizer=newton"], "lanes[0].optimizer = 'newton'"),
    # ---- --lane
    (["run", "--lane", "optimizer=rmsprop"], "--lane[0].optimizer = 'rmsprop'"),
    (["run", "--lane", "optimizer=[1]"], "--lane[0].optimizer = [1]"),
    (
        ["run", "--lane", "optimizer=muon,optimizer=sgd"],
        "--lane[0].optimizer = 'sgd' is not allowed: is given twice in 'optimizer=muon,optimizer=sgd'",
    ),
    (["run", "--lane", "optimizer=muon,order=middle"], "--lane[0].order = 'middle'"),
    (["run", "--lane", "optimizer=muon,momentum=1.0"], "--lane[0].momentum = 1"),
    (["run", "--lane", "optimizer=sgd,lr=-0.1"], "--lane[0].lr = -0.1"),
    (["run", "--lane", "optimizer=muon,polar=svd"], "--lane[0].polar = 'svd'"),
    (["run", "--lane", "optimizer=muon,ns_steps=0"], "--lane[0].ns_steps = 0"),
    (["run", "--lane", "optimizer=muon,buffer=fifo"], "--lane[0].buffer = 'fifo'"),
    (["run", "--lane", "optimizer"], "--lane[0] = 'optimizer'"),
    (["run", "--lane", ""], ("--lane[0] = ''", "leaves a lane as it is with --resume only")),
    (
        ["run", "--lane", "optimizer=muon,lr=0.1,lr=0.2"],
        "--lane[0].lr = 0.2 is not allowed: is given twice in 'optimizer=muon,lr=0.1,lr=0.2'",
    ),
    (["run", "--lane", "optimizer=adam,beta2=1"], "--lane[0].beta2 = 1"),
    (["run", "--lane", "optimizer=sgd,nesterov=yes"], "--lane[0].nesterov = 'yes'"),
    (["run", "--lane", "thresholded=maybe"], "--lane[0].thresholded = 'maybe' is not allowed: must be true"),
    (  # a typed schedule is not dropped by a task change that cannot run it (d_t falls for α ≤ 1/2)
        ["run", "--lane", "optimizer=muon,polar=reg,lam_schedule=kim", "--set", "task.alpha=0.2"],
        "--lane[0].lam_schedule = 'kim' is not allowed: has no effect on lane 0",
    ),
    (  # a gradient stream has no items whose recovery could leave them out of its gradient
        ["run", "--preset", "spectral_filtering", "--lane", "optimizer=sgd,thresholded=true"],
        ("lanes[0].thresholded = true is not allowed", "has no items to recover"),
    ),
    (["run", "--lane", "label=a\nb"], "--lane[0].label = 'a\\nb' is not allowed: must be a single line"),
    (["run"] + ["--lane", "optimizer=sgd"] * 9, "--lane = 9"),
    # a lane field the lane does not read ran as if never typed
    (
        ["run", "--lane", "optimizer=sgd,polar=exact"],
        "--lane[0].polar = 'exact' is not allowed: has no effect on lane 0 (SGD μ=0.9 sum lr=0.5): only Muon",
    ),
    (["run", "--lane", "optimizer=muon,ns_steps=3"], "--lane[0].ns_steps = 3 is not allowed: has no effect"),
    (["run", "--lane", "optimizer=adam,nesterov=true"], "--lane[0].nesterov = true is not allowed: has no"),
    (["run", "--lane", "optimizer=muon,order=none,momentum=0.9"], "--lane[0].momentum = 0.9 is not allowed"),
    (
        ["run", "--lane", "optimizer=muon,order=none,nesterov=true"],
        "--lane[0].nesterov = true is not allowed: has no effect on lane 0 (Muon exact lr=0.05): momentum",
    ),
    (
        ["run", "--lane", "optimizer=sgd,momentum=0,nesterov=true"],
        "--lane[0].nesterov = true is not allowed: has no effect on lane 0 (SGD lr=0.5): μ = 0: the buffer",
    ),
    (
        ["run", "--lane", "optimizer=muon,momentum=0,buffer=ema"],
        "--lane[0].buffer = 'ema' is not allowed: has",
    ),
    (
        ["run", "--lane", "optimizer=muon,order=none,buffer=sum"],
        "there is no buffer, so its convention (ema or sum) has no effect",
    ),
    (
        ["run", "--set", "lanes[0].eps=1e-6"],
        "lanes[0].eps = 0.000001 is not allowed: has no effect on lane 0",
    ),
    # a task field of another kind, kept for switching kinds, but read by none of this task's
    (
        ["run", "--set", "task.head_mass=0.9"],
        "task.head_mass = 0.9 is not allowed: has no effect: a zipf task does not read it (read by: two_lev",
    ),
    (["run", "--set", "task.noise=0.5", "--set", "task.groups=4"], "task.noise = 0.5 is not allowed: has no"),
    (  # the staircase's class masses are its groups' alone: the head's mass and share go unread
        ["run", "--preset", "tail_multi_step_isotropy", "--set", "task.head_mass=0.9"],
        "task.head_mass = 0.9 is not allowed: has no effect: a two_level task with profile = 'staircase' "
        "does not read it",
    ),
    (["run", "--set", "lanes[0].optimizer=muon", "--set", "lanes[0].beta2=0.9"], "lanes[0].beta2 = 0.9"),
    # ---- other run options
    (["run", "--steps", "-5"], "--steps = -5"),
    (["run", "--steps", "10000000000"], "--steps = 10000000000"),
    (["run", "--preset", "nosuch"], "--preset = 'nosuch'"),
    # a name near one allowed (its case, a slip of the keys) is named: in twelve it took finding
    (
        ["run", "--preset", "Default"],
        "spectral_filtering, tail_balance_one_step, tail_multi_step_isotropy ('default'?)",
    ),
    (["reproduce", "momentum-order"], "tail_multi_step_isotropy ('momentum_order'?)"),
    (["run", "--set", "task.alpah=1"], "signal_seed, anisotropy, profile ('alpha'?)"),
    (["run", "--until", "los < 1"], "alignment, sin_theta, or 'diverged' ('loss'?)"),
    (["run", "--config", "{tmp}/view_value.toml"], "W over steps\") ('weights'?)"),  # the menu's "W"
    (["run", "--set", "task.label-noise=0.1"], "e.g. task.d=96 ('task.label_noise'?)"),
    (["run", "--set", "tsk.alpha=1"], "e.g. task.d=96 ('task.alpha'?)"),
    (["run", "--until", "batch-loss < 1"], "unknown metric 'batch-loss'; metrics are batch_loss,"),
    (["run", "--until", "batch-loss < 1"], "or 'diverged' ('batch_loss'?)"),
    (["run", "--until", "diverge"], "or 'diverged' ('diverged'?)"),
    (["run", "--preset", "momentum"], "tail_multi_step_isotropy ('momentum_order'?)"),
    (["run", "--lane", "optimizer=sdg"], "tra_signgd ('sgd'?)"),
    (["run", "--format", "csvv"], "--format = 'csvv' is not allowed: must be one of parquet, csv ('csv'?)"),
    (["rn"], "must be one of run, shot, record, sweep, reproduce, cache, inspect ('run'?), or a saved"),
    (
        ["run", "--lane", "optimizer=moun"],
        "--lane[0].optimizer = 'moun' is not allowed: must be one of sgd, adam, s",
    ),
    (["run", "--lane", "optimizer=moun"], "tra_signgd ('muon'?)"),
    (["shot", "--theme", "Dark", "--out", "{tmp}/x.png"], "must be one of light, dark ('dark'?)"),
    (["run", "--preset", ""], "--preset = ''"),
    (["run", "--preset", "../default"], "--preset = '../default'"),
    (["run", "--steps", "x"], "--steps = 'x' is not allowed: must be a whole number"),
    (["run", "--format", "xlsx"], "--format = 'xlsx' is not allowed: must be one of parquet, csv"),
    (["run", "--out", "/proc/muonscope-out"], "--out = '/proc/muonscope-out'"),
    (["run", "--out", ""], "--out = '' is not allowed: must not be empty"),
    (["run", "--config", ""], "--config = '' is not allowed: must not be empty"),
    (["run", "--out", "{tmp}/\udcffdir"], "must be a path in UTF-8"),
    (["run", "--format", "csv"], "--format = 'csv' is not allowed: applies only with --out DIR"),
    (["run", "--lane", "optimizer=muon,label=\udcff"], "--lane[0].label = '\\udcff'"),
    (["run", "--set", "task.d=0", "--out", "{tmp}/never"], "task.d = 0"),
    (
        ["run", "--steps", "1", "--save", "/proc/muonscope-out"],
        "--save = '/proc/muonscope-out' is not allowed: cannot be written in /proc (",
    ),
    (
        ["run", "--steps", "1", "--out", "{tmp}/latin1.toml/x"],
        "--out = '{tmp}/latin1.toml/x' is not allowed: {tmp}/latin1.toml is a file, not a folder",
    ),
    # a session's folder that is a file or a device: "/dev/null: exists and is not a folder", no option named
    (
        ["run", "--steps", "1", "--save", "/dev/null"],
        "--save = '/dev/null' is not allowed: it is a device, not a",
    ),
    (
        ["run", "--steps", "1", "--save", "{tmp}/latin1.toml"],
        "--save = '{tmp}/latin1.toml' is not allowed: it is a file",
    ),
    (
        ["run", "--steps", "1", "--out", "/dev/null"],
        "--out = '/dev/null' is not allowed: /dev/null is a device, not",
    ),
    (["record", "--out", "{tmp}/x.mp4", "--fps", "fast"], "--fps = 'fast' is not allowed: must be a number"),
    (["run", "--set", "task.seed=1e30"], "task.seed = 1e30 is not allowed: must be an integer from 0 to"),
    (["run", "--set", "foo.bar=1"], "--set = 'foo.bar=1' is not allowed: KEY must be task.NAME, run.NAME or"),
    (["fly"], ("COMMAND = 'fly' is not allowed: must be one of run, shot,", "or a saved session's folder")),
    # an unknown option is refused by its command, as the command's other errors are
    (
        ["run", "--bogus"],
        "muonscope run: error: arguments = '--bogus' is not allowed: muonscope run takes no such argument; "
        "see muonscope run --help",
    ),
    (["run", "--stepz", "3"], "muonscope run takes no such argument ('--steps'?); see muonscope run --help"),
    (["shot", "--out", "{tmp}/x.png", "--sise", "9x9"], "muonscope shot takes no such argument ('--size'?)"),
    (  # another command's option names the commands that take it
        ["sweep", "--axis", "d", "--steps", "200"],
        "muonscope sweep takes no such argument (--steps is run's, shot's and record's); see muonscope sweep",
    ),
    (["inspect", "{tmp}", "--save=x"], "muonscope inspect takes no such argument (--save is run's); see"),
    (
        ["--bogus"],
        "muonscope: error: arguments = '--bogus' is not allowed: muonscope reads no --bogus before a "
        "command; the window reads only PATH, --preset NAME or --config FILE",
    ),
    # a command's option before the command: its value was taken for the command ("COMMAND = '5'")
    (
        ["--steps", "5", "run"],
        "arguments = '--steps' is not allowed: muonscope reads no --steps before a command; "
        "an option of run goes after it: muonscope run --steps …",
    ),
    # the window's own before a command: "muonscope --preset X run" ran the default preset, silently
    (
        ["--preset", "one_step_capacity", "run", "--steps", "1"],
        "arguments = '--preset' is not allowed: --preset before a command opens the window; run takes it "
        "after it: muonscope run --preset NAME …",
    ),
    (["--config={tmp}/never.toml", "sweep"], "sweep takes it after it: muonscope sweep --config FILE …"),
    (
        ["{tmp}/saved", "run", "--steps", "1"],
        "a session's folder before a command opens the window; run takes it after it: muonscope run "
        "--resume PATH …",
    ),
    (["{tmp}/saved", "cache"], "a session's folder before a command opens the window, and cache takes none"),
    # a mistyped command before an option: the command is what is wrong
    (["rn", "--steps", "2"], "COMMAND = 'rn' is not allowed: must be one of run, shot, record, sweep,"),
    (
        ["run", "--preset", "default", "--config", "{tmp}/never.toml"],
        "muonscope run: error: --config is not allowed with --preset: give one of them",
    ),
    (
        ["--preset", "default", "--steps=3"],
        "arguments = '--steps=3' is not allowed: muonscope reads no --steps",
    ),
    (["cache", "clear", "extra"], "arguments = 'extra' is not allowed: muonscope cache clear takes no such"),
    (["run", "--version"], ("arguments = '--version' is not allowed", "the version: muonscope --version")),
    (["cache", "bogus"], "ACTION = 'bogus' is not allowed: must be one of info, clear"),
    # a value that starts with '-' is read as an option: say how to write it
    (
        ["shot", "--size", "-1280x720", "--out", "{tmp}/never.png"],
        "--size needs a value after it (one that starts with '-' is written --size=VALUE)",
    ),
    (["run", "--resume", "{tmp}/missing"], "--resume = '{tmp}/missing' is not allowed: does not exist"),
    (["shot", "--resume", "{tmp}/saved/tensors.safetensors", "--out", "{tmp}/never.png"], "--resume = '"),
    # a PATH after the window's options is still a PATH, and two things to open are refused
    (["--preset", "default", "{tmp}/saved"], "--preset = 'default' is not allowed: cannot go with PATH"),
    # ---- shot
    (["shot", "--steps", "1000000000000", "--out", "{tmp}/x.png"], "--steps = 1000000000000"),
    (["shot", "--steps", "-1", "--out", "{tmp}/x.png"], "--steps = -1"),
    (["shot", "--size", "10x10", "--out", "{tmp}/x.png"], "--size = '10x10'"),
    (["shot", "--size", "0x0", "--out", "{tmp}/x.png"], "from 320x240 to 7680x4320"),
    (["shot", "--out", "{tmp}/x.jpg"], "--out = '{tmp}/x.jpg'"),
    (["shot", "--preset", "", "--out", "{tmp}/x.png"], "--preset = ''"),
    (
        ["shot", "--panel", "legend", "--out", "{tmp}/x.png"],
        "--panel = 'legend' is not allowed: must be one of",
    ),
    (["shot", "--set", "task.d=0", "--out", "{tmp}/x.png"], "task.d = 0"),
    (
        ["shot", "--preset", "momentum_order", "--panel", "class_error", "--out", "{tmp}/x.png"],
        "--panel = 'class_error' is not allowed: a spiked gradient stream has no classes, so there is "
        "no per-class error; choose spectrum, series or capacity",
    ),
    (
        ["shot", "--out", "/proc/muonscope-out/x.png"],
        "--out = '/proc/muonscope-out/x.png' is not allowed: cannot create a folder in /proc (",
    ),
    # ---- record
    (
        ["record", "--out", "{tmp}/x.avi"],
        "--out = '{tmp}/x.avi' is not allowed: must name a .mp4 or .gif file",
    ),
    (["record", "--out", "{tmp}/x.mp4", "--size", "10x10"], "--size = '10x10'"),
    (["record", "--out", "{tmp}/x.mp4", "--fps", "0"], "--fps = 0"),
    (["record", "--out", "{tmp}/x.mp4", "--fps", "-5"], "--fps = -5"),
    (["record", "--out", "{tmp}/x.mp4", "--fps", "nan"], "--fps = nan"),
    (  # the encoder refused it after the run, in four lines of its own
        ["record", "--out", "{tmp}/x.mp4", "--fps", "1e-300"],
        "--fps = 1e-300 is not allowed: must be a number of frames per second from 0.01 to 240 for mp4",
    ),
    (
        ["record", "--out", "{tmp}/x.gif", "--set", "task.kind='spiked'", "--panel", "class_error"],
        "--panel = 'class_error' is not allowed: a spiked gradient stream has no classes",
    ),
    (
        ["record", "--out", "{tmp}/x.gif", "--fps", "60"],
        "--fps = 60 is not allowed: must be a number of frames",
    ),
    (["record", "--out", "{tmp}/x.mp4", "--every", "0"], "--every = 0"),
    (
        ["record", "--out", "{tmp}/x.mp4", "--panel", "legend"],
        "--panel = 'legend' is not allowed: must be one",
    ),
    (
        ["record", "--out", "/proc/muonscope-out/x.mp4"],
        "--out = '/proc/muonscope-out/x.mp4' is not allowed: cannot create a folder in /proc (",
    ),
    (["record", "--out", "{tmp}/x.mp4", "--steps", "0"], "--steps = 0 is not allowed: must be at least"),
    (  # the bound a video needs, not the config's "from 0" that 0 would then break
        ["record", "--out", "{tmp}/x.mp4", "--steps", "-3"],
        "--steps = -3 is not allowed: must be at least --every = 1, for a first frame",
    ),
    (["record", "--out", "{tmp}/x.mp4", "--steps", "4", "--every", "5"], "--steps = 4"),
    (["record", "--out", "{tmp}/x.mp4", "--set", "task.alpha=-1"], "task.alpha = -1"),
    (["record", "--out", "{tmp}/x.mp4", "--resume", "{tmp}/missing"], "{tmp}/missing"),
    (["record"], "the following arguments are required: --out"),
    # a home folder no user has: "runtime failure: RuntimeError: Could not determine home directory."
    (
        ["run", "--save", "~no-such-user-x7/s"],
        "--save = '~no-such-user-x7/s' is not allowed: its ~ names a user with no",
    ),
    (
        ["inspect", "~no-such-user-x7/s"],
        "PATH = '~no-such-user-x7/s' is not allowed: its ~ names a user with no home",
    ),
    # a path no file can have, read: its 4 KB printed whole before "cannot be read (file name too long)"
    (["inspect", "/".join(["d" * 200] * 22)], ("PATH = 'ddd", "…ddd", "bytes long from the root")),
    (["inspect", "{tmp}/" + "x" * 300], "its name is 300 bytes long: names hold at most 255 bytes here"),
    # a path read as an option: "the following arguments are required: PATH" and no more
    (["inspect", "-dash"], "PATH is missing (one that starts with '-' goes after a --, or as ./-NAME)"),
    # ---- sweep
    (["sweep", "--axis", "mu"], ("--axis = 'mu'", "presets it applies to: momentum_order")),
    (["sweep", "--axis", "d", "--preset", "tail_balance_one_step"], "--axis = 'd'"),
    (["sweep", "--axis", "d", "--workers", "-1"], "--workers = -1"),
    (["sweep", "--preset", "nosuch", "--axis", "d"], "--preset = 'nosuch'"),
    (["sweep"], "the following arguments are required: --axis"),
    (
        ["sweep", "--axis", "d", "--workers", "100000"],
        ("--workers = 100000", "more than the cores are lowered"),
    ),
    (
        ["sweep", "--axis", "d", "--format", "csv"],
        "--format = 'csv' is not allowed: applies only with --out DIR",
    ),
    (
        ["sweep", "--axis", "d", "--preset", "one_step_capacity", "--set", "task.d=16384"],
        "sweep = 'd' is not allowed: it would reach d = 32768, and d must be an integer from 1 to 16384",
    ),
    # ---- reproduce
    (["reproduce", "nosuch"], "preset = 'nosuch'"),
    (["reproduce", ""], "preset = ''"),
    (["reproduce"], "muonscope reproduce: error: name a PRESET to reproduce (see --list)"),
    (["reproduce", "--list", "default"], "--list = 'default'"),
    # an option of a reproduction beside --list did nothing, unsaid
    (["reproduce", "--list", "--out", "{tmp}/x"], "--list = '--out' is not allowed: lists the presets"),
    (["reproduce", "--list", "--workers", "2"], "lists the presets and takes no --workers; give --list"),
    (["reproduce", "default", "--workers", "100000"], "--workers = 100000"),
    (["reproduce", "default", "--workers", "-1"], "--workers = -1"),
]


@pytest.fixture
def files(tmp_path):
    """The config files the cases point at."""
    write = lambda name, text: (tmp_path / name).write_text(text, encoding="utf-8")  # noqa: E731
    (tmp_path / "latin1.toml").write_bytes('[task]\ntitle = "é"\n'.encode("latin-1"))
    (tmp_path / "binary.toml").write_bytes(b"[task]\x00\x01\x02")
    (tmp_path / "utf16.toml").write_bytes("[task]\nd = 32\n".encode("utf-16"))
    (tmp_path / "utf16be.toml").write_bytes("[task]\nd = 32\n".encode("utf-16-be"))
    (tmp_path / "utf32.toml").write_bytes("[task]\nd = 32\n".encode("utf-32"))
    (tmp_path / "utf32be.toml").write_bytes("[task]\nd = 32\n".encode("utf-32-be"))
    (tmp_path / "pickled.pkl").write_bytes(pickle.dumps({"task": {"d": 64}}))
    write("deep_arrays.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n")
    write("huge_number.toml", "[task]\nd = " + "9" * 5000 + "\n")
    write("deep_tables.toml", "a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n")
    os.mkfifo(tmp_path / "fifo.toml")
    write("huge.toml", "[[lanes]]\n" * 10**6)
    write("many_lanes.toml", "[[lanes]]\n" * 100_000)
    write("nine_lanes.toml", '[[lanes]]\noptimizer = "sgd"\n' * 9)
    write("no_lanes.toml", "lanes = []\n")
    write("task_number.toml", "task = 5\n")
    write("preset_text.toml", 'preset = "nope"\n')
    write("lanes_scalar.toml", "lanes = 3\n")
    write("task_scalar.toml", "task = 1\n")
    write("unknown_table.toml", "[foo]\nx = 1\n")
    write("misspelt_table.toml", "[runn]\nsteps = 40\neval_every = 3\nspectra_every = 2\n")
    write("misspelt_lanes.toml", '[[lanez]]\noptimizer = "sgd"\n[[lanez]]\noptimizer = "adam"\n')
    write("unknown_top_key.toml", "steps = 3\n")
    write("preset_colour.toml", '[preset]\ncolour = "red"\n')
    write("preset_title.toml", "[preset]\ntitle = 1\n")
    write("task_date.toml", "[task]\nd = 1979-05-27T07:32:00Z\n")
    write("task_inline.toml", "[task]\nd = {a = 1}\n")
    write("view_scalar.toml", "view = 3\n")
    write("view_value.toml", '[view]\nspectrum = "W"\n')
    write("view_key.toml", '[view]\ncolour = "red"\n')
    write("view_log.toml", '[view]\nseries_log = "yes"\n')
    write("blank.toml", "# settings to come\n")
    write("view_lane.toml", '[[lanes]]\noptimizer = "muon"\n[view]\nheatmap_lane = 2\n')
    write("sgd_polar.toml", '[[lanes]]\noptimizer = "sgd"\npolar = "ns"\n')
    write("zipf_head_mass.toml", "[task]\nhead_mass = 0.9\n")
    write("zipf_d48.toml", "[task]\nd = 48\n")
    (tmp_path / "saved").mkdir()
    (tmp_path / "written").mkdir()
    write("written/config.toml", "[task]\nd = 16\n")
    write("saved/session.json", "{}")
    write("bad_syntax.toml", "[task\nd = 3\n")
    write("memory_crumb.toml", "[run]\nmax_memory_gb = 0.000001\n")
    write("lr_below_floats.toml", "[[lanes]]\nlr = 1e-400\n")
    write("eps_below_floats.toml", '[[lanes]]\n[[lanes]]\noptimizer = "adam"\neps = 2E-999\n')
    write("list_below_floats.toml", '[task]\nkind = "hierarchical"\nstrengths = [1, 1e-999]\n')
    write("d_above_floats.toml", "[task]\nd = 1e400\n")
    write("optimizer_list.toml", "[[lanes]]\noptimizer = []\n")
    write("optimizer_table.toml", "[[lanes]]\noptimizer = {}\n")
    write("long_strengths.toml", '[task]\nkind = "spiked"\nstrengths = [' + "1," * 200_000 + "1]\n")
    return tmp_path


def test_there_are_at_least_sixty_cases():
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    ("argv", "expected"), CASES, ids=[f"{i:02d}-{str(e)[:40]}" for i, (_, e) in enumerate(CASES)]
)
def test_invalid_input_exits_2_with_one_line_naming_the_field(capsys, files, argv, expected):
    if "run.device=cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    argv = [arg.replace("{tmp}", str(files)) for arg in argv]
    expected = [
        text.replace("{tmp}", str(files)) for text in ((expected,) if isinstance(expected, str) else expected)
    ]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("muonscope"), err
    assert all(text in err for text in expected), err
    assert "Traceback" not in err
    assert not (files / "never").exists()  # refused before any output folder is made
    assert not any(path.name.endswith("dir") for path in files.iterdir())


def test_a_cuda_request_without_cuda_exits_2(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["run", "--set", "run.device=cuda", "--steps", "1"]) == 2
    assert "run.device = 'cuda'" in capsys.readouterr().err


def test_a_config_files_cuda_without_cuda_is_refused_naming_the_file(capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = tmp_path / "gpu.toml"
    config.write_text('[run]\ndevice = "cuda"\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--steps", "1"]) == 2
    assert f"{config}: run.device = 'cuda' is not allowed: CUDA is not available" in capsys.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFOs and /proc are Linux")
def test_a_fifo_is_refused_without_being_opened(files, capsys):
    """Opening a FIFO for reading would block until a writer comes; the check must not open it."""
    assert main(["run", "--config", str(files / "fifo.toml")]) == 2
    assert "regular file" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["sweep", "--axis", "d", "--workers", "1"], ["reproduce", "default"]])
def test_a_cache_folder_that_cannot_be_written_is_refused_first(files, monkeypatch, capsys, command):
    (files / "a-file").write_text("")
    monkeypatch.setenv("MUONSCOPE_CACHE", str(files / "a-file"))
    assert main([*command, "--out", str(files / "never")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"muonscope {command[0]}: error: MUONSCOPE_CACHE = '{files / 'a-file'}'")
    assert err.count("\n") == 1


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs a folder no one can create folders in")
def test_a_default_output_folder_that_cannot_be_made_is_named_with_the_folder_it_was_to_be_in(
    monkeypatch, capsys
):
    """In /proc, ``reproduce default`` said "--out = 'reproduce-default' … cannot create a folder
    in ." of an option not given, in a folder it did not name."""
    monkeypatch.chdir("/proc")
    assert main(["reproduce", "default", "--no-progress", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "muonscope reproduce: error: --out (its default) = 'reproduce-default' is not allowed: "
        "cannot create a folder in /proc ("
    ), err
    assert err.count("\n") == 1


def test_a_config_file_with_a_byte_order_mark_is_read(files, capsys):
    (files / "bom.toml").write_bytes("\ufeff[task]\nd = 16\nn_items = 64\n".encode())
    assert main(["run", "--config", str(files / "bom.toml"), "--steps", "1", "--json", "--no-progress"]) == 0
    assert '"d": 16' in capsys.readouterr().out


def test_a_refusal_comes_before_torch_is_loaded():
    """Checking a run's settings needs no torch, so a typo is answered at once."""
    probe = (
        "import sys\n"
        "from muonscope.app.cli import main\n"
        "assert main(['run', '--set', 'task.d=0']) == 2\n"
        "print('torch' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("argv", "option", "first", "second"),
    [  # numbers as typed ("--fps = '15.0'" said a value nobody typed), other values quoted
        (["run", "--steps", "2", "--steps", "3"], "--steps", "2", "3"),
        (["run", "--save", "a", "--save", "b"], "--save", "'a'", "'b'"),
        (["run", "--resume", "s1", "--resume", "s2"], "--resume", "'s1'", "'s2'"),
        (["shot", "--size", "100x100", "--size", "200x200"], "--size", "'100x100'", "'200x200'"),
        (["record", "--fps", "30", "--fps", "15", "--out", "x.mp4"], "--fps", "30", "15"),
    ],
)
def test_an_option_of_one_value_given_twice_is_refused(capsys, argv, option, first, second):
    """The last one silently won: --save a --save b wrote b only, --resume s1 --resume s2 resumed s2."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"muonscope {argv[0]}: error: {option} = {second} is not allowed: {option} is given already "
        f"({first}); give it once\n"
    )
