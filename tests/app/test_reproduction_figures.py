"""The app's figures of each reproduction: built from the engine's plain data, drawn with pyqtgraph."""

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtGui

from muonscope.app.capacity_figures import PRESENTATIONS as CAPACITY_PRESENTATIONS
from muonscope.app.capacity_figures import recovery_strip
from muonscope.app.figures import Figure, Guide, Panel, Series, measured_ticks, render_figure
from muonscope.app.reproduction_figures import PRESENTATIONS, reproduction_figures
from muonscope.app.reproduction_summary import summary_markdown
from muonscope.app.tail_figures import group_axis_label
from muonscope.engine.presets import load_preset
from muonscope.engine.reproduce import REPRODUCTIONS, Claim, Curve, CurveSet, Reproduction
from muonscope.engine.reproduce.hierarchical import HORIZON_GD, HORIZON_MUON
from muonscope.engine.reproduce.tail_isotropy import staircase_group_sizes
from tests.reproduced import reproduced

#: The PNG files ``muonscope reproduce PRESET`` writes (their stems).
FIGURES = {
    "default": ["race"],
    "one_step_capacity": ["capacity_vs_d", "recovery_strip"],
    "critical_batch": ["capacity_vs_batch"],
    "anisotropic": ["anisotropy"],
    "multi_step_recovery": ["multi_step", "multi_step_loss"],
    "spectral_filtering": ["spectra"],
    "momentum_order": ["order", "rank_one"],
    "hierarchical_noiseless": ["excess_loss", "group_losses"],
    "noisy_scaling": ["scaling"],
    "tail_balance_one_step": ["loss_vs_gap"],
    "tail_multi_step_isotropy": ["groups", "tail_groups"],
    "bridge": ["recovery_and_alignment", "filtering_over_steps", "spectra", "filtering_ratio"],
}
CHEAP = ("default", "hierarchical_noiseless", "multi_step_recovery", "tail_balance_one_step")


def test_every_reproduction_has_a_presentation():
    assert set(PRESENTATIONS) == set(REPRODUCTIONS) == set(FIGURES)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figures_draw_every_measured_curve_once(name):
    """Expected files; every panel has legend entries of its own and distinct lane colours."""
    result = reproduced(name)
    figures = reproduction_figures(result)
    assert [figure.name for figure in figures] == FIGURES[name]
    panels = [panel for figure in figures for panel in figure.panels]
    drawn = sum(len(panel.series) for panel in panels if not panel.detail)  # a detail draws some again
    assert drawn == sum(len(data.curves) for data in result.data)
    for panel in panels:
        assert panel.title and panel.x_label and panel.y_label and panel.series
        legend = [s.label for s in panel.series] + [g.label for g in panel.guides]
        assert len(set(legend)) == len(legend), legend
        assert len({s.colour for s in panel.series}) == len(panel.series)
        for line in (*panel.series, *panel.guides):
            assert np.shape(line.x) == np.shape(line.y) and np.size(line.x) > 0
        if panel.log_y:
            assert any((np.asarray(s.y, float) > 0).any() for s in panel.series)


def _panel_series(panel):
    return {s.label: s for s in panel.series}


def test_race_shows_each_default_lane_as_its_table_counts():
    result = reproduced("default")
    (figure,) = reproduction_figures(result)
    (panel,) = figure.panels
    lanes = [lane.display_label() for lane in load_preset("default").config.lanes]
    assert [s.label for s in panel.series] == lanes
    table = result.tables["race"]
    seeds = sorted(set(table["seed"]))
    assert len(seeds) >= 3 and f"seeds {seeds[0]}–{seeds[-1]}" in panel.title
    for label, line in _panel_series(panel).items():
        counts = {}  # step → the lane's count on each seed
        for step, lane, count in zip(table["step"], table["lane"], table["recovered"], strict=True):
            if lane == label:
                counts.setdefault(step, []).append(count)
        assert line.x.tolist() == sorted(counts)
        assert all(len(values) == len(seeds) for values in counts.values())
        assert line.y.tolist() == pytest.approx([np.mean(counts[step]) for step in sorted(counts)])
        assert line.lo.tolist() == [min(counts[step]) for step in sorted(counts)]
        assert line.hi.tolist() == [max(counts[step]) for step in sorted(counts)]


def test_hierarchical_figures_show_excess_loss_and_two_lanes_group_losses():
    result = reproduced("hierarchical_noiseless")
    excess, groups = reproduction_figures(result)
    panel, gd = excess.panels
    assert panel.log_x and panel.log_y and gd.log_x and gd.log_y and gd.detail and not panel.detail
    table = result.tables["excess"]
    assert [s.label for s in panel.series] == [name for name in table if name != "step"]
    for label, line in _panel_series(panel).items():
        assert line.y.tolist() == table[label][1:]  # t = 0 has no place on a log axis
    # TRA-SignGD runs in step with Muon: drawn dashed, Muon's curve shows beneath it
    styles = {s.label: s.style for s in panel.series}
    assert styles["TRA-SignGD η = 0.5"] == "dash" and styles["Muon η = 1"] == "solid"
    # GD's power law is judged against 1/t on a scale of its own
    assert [s.label for s in gd.series] == ["GD η = 1/p₁"] and [g.label for g in gd.guides] == ["∝ 1/t"]
    assert [p.title.split(":")[0] for p in groups.panels] == [s.label for s in panel.series[:2]]  # GD, Muon
    for group_panel in groups.panels:
        assert group_panel.log_y and not group_panel.log_x
        assert [s.label for s in group_panel.series] == [f"group {g}" for g in range(1, 9)]
        assert all(s.x.max() <= 60 for s in group_panel.series)


def test_the_horizon_sweeps_lanes_are_styled_by_the_engines_labels():
    """GD dashed, Muon solid: the app looks the engine's lane labels up; it keeps no copy of them."""
    x = np.array([16.0, 64.0])
    curve = Curve(x, np.array([1.0, 0.5]))
    setting = {"K": 256, "groups": 256, "beta": 1.2, "label_noise": 0.1, "gd_slope": -1 / 6}
    theory = {"gd_slope": curve, "muon_slope": curve}
    curves = {HORIZON_GD: curve, HORIZON_MUON: curve}
    result = Reproduction(
        "noisy_scaling", "ci", data=[CurveSet("final_excess_vs_horizon", curves, theory, setting)]
    )
    ((panel,),) = [figure.panels for figure in reproduction_figures(result)]
    assert [(s.label, s.style) for s in panel.series] == [("GD, β = 1.2", "dash"), ("Muon, β = 1.2", "solid")]
    app = Path(__file__).resolve().parents[2] / "app"
    for path in app.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert HORIZON_GD not in source and HORIZON_MUON not in source, path


def test_multi_step_panels_hold_every_lane_and_the_theory_guide():
    result = reproduced("multi_step_recovery")
    figure, _loss = reproduction_figures(result)
    table = result.tables["multi_step"]
    rows = list(zip(table["d"], table["lane"], table["recovered"], strict=True))
    for panel, data in zip(figure.panels, result.curve_sets("recovered_over_steps"), strict=True):
        assert panel.log_y and [s.label for s in panel.series] == list(data.curves)
        assert len(panel.series) == 6  # Muon-reg thresholded / exact at B = ∞ and 4096, GD at B = ∞
        assert [g.label for g in panel.guides] == [
            "d_t = d^(2 − (1 − 1/(2α))ᵗ), capped at N",
            f"d_t capped at B^(1/α), B = {data.setting['batch_size']}",
        ]
        assert np.all(panel.guides[1].y <= panel.guides[0].y)  # the batch's cap only lowers the law
        for label, line in _panel_series(panel).items():
            counts = [r for d, lane, r in rows if lane == label and d == data.setting["d"]]
            assert line.y.tolist() == counts


def test_multi_step_loss_panels_hold_every_lane_and_the_loss_the_law_would_leave():
    result = reproduced("multi_step_recovery")
    _recovery, figure = reproduction_figures(result)
    for panel, data in zip(figure.panels, result.curve_sets("loss_over_steps"), strict=True):
        assert panel.log_y and [s.label for s in panel.series] == list(data.curves)
        assert f"d = {data.setting['d']}" in panel.title and "loss" in panel.title
        assert [g.y.tolist() for g in panel.guides] == [
            data.theory[k].y.tolist() for k in ("d_t", "d_t_batch")
        ]
        assert np.all(panel.guides[1].y >= panel.guides[0].y)  # fewer items recovered leave more loss


def test_loss_vs_gap_has_one_panel_per_embedding_with_each_optimizer():
    result = reproduced("tail_balance_one_step")
    (figure,) = reproduction_figures(result)
    table = result.tables["rho"]
    assert [p.title for p in figure.panels] == [
        f"{embeddings} embeddings, K = 64" for embeddings in ("identity", "hadamard", "orthogonal")
    ]
    optimizers = list(dict.fromkeys(table["optimizer"]))
    for panel in figure.panels:
        assert [s.label for s in panel.series] == optimizers
        assert not panel.log_x and not panel.log_y


def test_tail_group_figures_name_staircase_groups_from_zero_with_their_class_counts():
    result = reproduced("tail_multi_step_isotropy")
    groups, tail = reproduction_figures(result)
    by_group, trajectory = groups.panels
    assert by_group.x_label == "group g = 0…8 (classes: 1, 1, 2, …, 128)"
    assert all(s.x.tolist() == list(range(9)) for s in by_group.series)
    assert [p.title.split(":")[0] for p in tail.panels] == [
        "g = 6 (32 classes)",
        "g = 7 (64 classes)",
        "g = 8 (128 classes)",
    ]
    lanes = [s.label for s in trajectory.series]
    assert all([s.label for s in panel.series] == lanes for panel in tail.panels)


def test_tail_group_figures_say_which_seed_they_draw_and_draw_that_seeds_table():
    result = reproduced("tail_multi_step_isotropy")
    table = result.tables["group_accuracy_over_time"]
    (seed,) = set(table["seed"])
    groups, tail = reproduction_figures(result)
    for panel in (*groups.panels, *tail.panels):
        assert panel.title.endswith(f"(seed {seed})"), panel.title
    _by_group, trajectory = groups.panels
    for line in trajectory.series:
        rows = [i for i, name in enumerate(table["optimizer"]) if name == line.label]
        gaps = np.array([table["balance_gap"][i] for i in rows], float)
        np.testing.assert_array_equal(line.y, gaps)


def test_group_axis_names_the_eleven_groups_of_1024_classes():
    assert group_axis_label(staircase_group_sizes(1024)) == "group g = 0…10 (classes: 1, 1, 2, …, 512)"


@pytest.mark.timeout(600)
def test_bridge_lanes_keep_one_colour_in_every_panel_and_post_polar_is_said_to_be_left_out():
    result = reproduced("bridge")
    (recovered,) = result.curve_sets("recovered_over_steps")
    figures = {figure.name: figure for figure in reproduction_figures(result)}
    colour = {}
    for name in ("recovery_and_alignment", "filtering_over_steps", "filtering_ratio"):
        for panel in figures[name].panels:
            for line in panel.series:
                assert line.label in recovered.curves, line.label
                assert colour.setdefault(line.label, line.colour) == line.colour, line.label
    assert len(colour) == 4
    head, tail, _kept, _angles = figures["filtering_over_steps"].panels
    assert not any("post" in line.label for line in (*head.series, *tail.series))
    assert "post-polar not shown" in head.title and "post-polar not shown" in figures["filtering_ratio"].title
    ratio_sets = result.curve_sets("filtering_ratio")
    for panel, data in zip(figures["filtering_ratio"].panels, ratio_sets, strict=True):
        ranks = ", ".join(str(data.setting["gradient_ranks"][line.label]) for line in panel.series)
        assert panel.title.endswith(f"least rank(G): {ranks}")


@pytest.mark.parametrize("name", CHEAP)
def test_figures_render_to_pngs_one_panel_wide_each(name, qtbot, tmp_path):
    for figure in reproduction_figures(reproduced(name)):
        path = render_figure(figure, tmp_path / f"{figure.name}.png")
        image = QtGui.QImage(str(path))
        assert not image.isNull()
        assert image.width() == 620 * len(figure.panels) and image.height() > 460


def test_a_legend_wider_than_its_panel_widens_the_picture_instead_of_being_cut(qtbot, tmp_path):
    x = np.arange(9.0)
    lanes = tuple(
        Series(f"a lane with a long descriptive name, number {i}", x, x + i, colour=i) for i in range(4)
    )
    guides = (Guide("a theory line whose label runs on and on, as guides' labels do", x, x + 5),)
    figure = Figure("long", "Long legends", (Panel("left", "x", "y", lanes, guides),) * 2)
    image = QtGui.QImage(str(render_figure(figure, tmp_path / "long.png")))
    assert image.width() > 620 * 2  # each panel as wide as its legend's two columns need
    right_edge = [image.pixelColor(image.width() - 3, y).lightness() for y in range(image.height())]
    assert min(right_edge) > 200  # a margin, not a cut-off axis or label, runs down the right edge


def test_summary_lists_claims_with_their_result_and_escapes_table_bars(tmp_path):
    result = Reproduction("default", "ci", notes=["a note"])
    result.claims += [
        Claim("§1", "a | b", "1.0", "≥ 2", False),
        Claim("§2", "exploratory", "3", "4", None),
        Claim("§3", "holds", "5", "≤ 6", True),
    ]
    summary = summary_markdown(result, [tmp_path / "race.png"], 12.3)
    assert summary.startswith(f"# {PRESENTATIONS['default'].title}\n")
    assert "- size: ci (12 s); 1 of 2 checks pass, 1 more reported (not judged)" in summary
    assert "| a \\| b | 1.0 | ≥ 2 | **FAIL** |" in summary
    assert "| exploratory | 3 | 4 | reported (not judged) |" in summary
    assert "| holds | 5 | ≤ 6 | pass |" in summary
    assert "## Notes\n\n- a note" in summary and "- `race.png`" in summary


def test_the_summary_names_the_code_that_computed_it():
    """Its numbers' last digits depend on the muonscope and the PyTorch that computed them."""
    import torch

    from muonscope import __version__

    summary = summary_markdown(Reproduction("default", "ci"), [], 1.0)
    assert f"- computed by: muonscope {__version__} with PyTorch {torch.__version__}\n" in summary


def test_the_summary_names_each_tables_columns():
    """A reader met "s_buffer" and "alignment_pre" in files the summary named and said no more of."""
    result = Reproduction("default", "ci", tables={"order": {"mu": [0.5], "alignment_pre": [0.9]}})
    summary = summary_markdown(result, [Path("out") / "order.csv", Path("out") / "order.png"], 1.0)
    assert "- `order.csv`: `mu`, `alignment_pre`\n- `order.png`\n" in summary


def test_an_exploratory_summary_says_it_judges_nothing():
    """It read "0 of 0 checks pass"."""
    result = Reproduction("default", "ci", claims=[Claim("§5", "n_rec(t)/d_t", "0.1", "about 1", None)])
    summary = summary_markdown(result, [], 1.0)
    assert "- size: ci (1 s); exploratory: 1 measurement reported, none judged" in summary


def test_summary_writes_numbers_as_the_window_does():
    """One column mixed "0.0270" with "1.56e-02" and "2.19e-37", where the window writes 2.19·10⁻³⁷."""
    result = Reproduction("default", "ci")
    result.claims += [Claim("§4", "ϱ, K = 64 (x3e5 kept)", "2.19e-37", "≤ 5.00e-02", True)]
    summary = summary_markdown(result, [], 1.0)
    assert "| ϱ, K = 64 (x3e5 kept) | 2.19·10⁻³⁷ | ≤ 5.00·10⁻² | pass |" in summary


def test_the_recovery_strip_names_its_rows_by_lane_and_draws_only_recovered_ranks(tmp_path):
    """Its axis read "lane (1 = GD, 2 = Muon)" with ticks 1.0, 1.2, …, 2.0; the seed went unsaid."""
    ranks = np.arange(1.0, 7.0)
    curves = {
        "GD": Curve(ranks, np.array([1, 1, 0, 0, 0, 0.0])),
        "Muon": Curve(ranks, np.array([1, 1, 1, 0, 1, 0.0])),
    }
    data = CurveSet("recovered_by_rank", curves, setting={"d": 8, "alpha": 1.5, "seed": 0})
    strip = recovery_strip(Reproduction("one_step_capacity", "ci", data=[data]))
    (panel,) = strip.panels
    assert panel.y_ticks == ((1.0, "GD"), (2.0, "Muon")) and "seed 0" in panel.title
    assert [s.x.tolist() for s in panel.series] == [[1.0, 2.0], [1.0, 2.0, 3.0, 5.0]]
    assert [s.label for s in panel.series] == ["GD: 2 items", "Muon: 4 items"]
    image = QtGui.QImage(str(render_figure(strip, tmp_path / "strip.png")))
    assert not image.isNull()


def test_the_axes_hold_the_seed_band_as_well_as_the_mean(qtbot, tmp_path):
    """A seed far below the mean is part of the data: the band must not run off the plot."""
    from muonscope.widgets.theme import lane_colour

    x = np.arange(5.0)
    mean = np.full(5, 10.0)
    series = Series("mean over seeds", x, mean, colour=0, lo=np.array([10.0, 10, 0, 10, 10]), hi=mean)
    figure = Figure("band", "A band", (Panel("seeds", "step", "value", (series,)),))
    image = QtGui.QImage(str(render_figure(figure, tmp_path / "band.png")))
    line = QtGui.QColor(lane_colour(0)).getRgb()[:3]
    column = image.width() // 2

    def near_line(y: int) -> bool:
        shade = image.pixelColor(column, y).getRgb()[:3]
        return sum(abs(a - b) for a, b in zip(shade, line, strict=True)) < 60

    rows = [y for y in range(image.height()) if near_line(y)]
    assert rows, "the mean's line is drawn across the middle of the panel"
    # the range runs from the band's foot (0) to the mean (10): the line sits near the plot's top,
    # not in its middle as when the range is the mean's alone
    assert max(rows) < 0.3 * image.height()


def test_a_log_axis_of_few_measured_values_is_ticked_at_them():
    """d = 32, 64, 128 read 30, 40, …, 100 with no tick at the largest."""
    ticks = measured_ticks(np.log10([32.0, 64.0, 128.0, 64.0]))
    assert [text for _v, text in ticks] == ["32", "64", "128"]
    np.testing.assert_allclose([v for v, _text in ticks], np.log10([32.0, 64.0, 128.0]))
    assert measured_ticks(np.log10(np.arange(1.0, 10.0))) is None  # nine: decades serve better
    assert measured_ticks(np.log10([5.0])) is None


def test_newton_schulz_lanes_are_dashed_so_the_exact_polar_maps_curve_shows_under_them():
    x = np.array([0.0, 1.0, 2.0])
    curves = {name: Curve(x, np.array([5.0, 9.0, 20.0])) for name in ("GD", "Muon exact", "Muon NS10")}
    data = CurveSet("capacity_vs_kappa", curves, setting={"d": 64, "n_items": 1024, "alpha": 1.5})
    (figure,) = CAPACITY_PRESENTATIONS["anisotropic"].figures(Reproduction("anisotropic", "ci", data=[data]))
    styles = {series.label: series.style for series in figure.panels[0].series}
    assert styles == {"GD": "solid", "Muon exact": "solid", "Muon NS10": "dash"}
