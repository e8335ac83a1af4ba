"""Figures and tables out of the panels: SVG that other programs read, PNG at a size, CSV of the curves."""

import csv
import itertools
import re
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from muonscope.engine.tables import rows_to_columns, write_table
from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.class_error_plot import ClassErrorPlot, smooth_by_rank
from muonscope.widgets.export import ExportError, svg_bytes, write_png, write_svg
from muonscope.widgets.matrix_view import MatrixView
from muonscope.widgets.png_size_dialog import PngSizeDialog
from muonscope.widgets.portable_svg import PLOT_AREA_END, PLOT_AREA_START, SVG_NS, portable_svg
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.singular_values_plot import SingularValuesPlot
from muonscope.widgets.spectrum_plot import SpectrumPlot
from muonscope.widgets.theme import configure_pyqtgraph, lane_colour

SVG = f"{{{SVG_NS}}}"
LANES = ["SGD", "Adam", "Muon (pre)"]
POINTS = 60


@pytest.fixture
def series_panel(qtbot):
    """Panel ② in a 600×400 window, three lanes of POINTS steps, two of which leave the plot's range."""
    configure_pyqtgraph()
    window = QtWidgets.QWidget()  # a panel lives in a window's layout
    qtbot.addWidget(window)
    panel = SeriesPlot("② over time", [("loss", "loss")])
    layout = QtWidgets.QVBoxLayout(window)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel)
    window.resize(600, 400)
    window.show()
    panel.set_lanes(LANES)
    steps = np.arange(POINTS, dtype=float)
    for lane in range(len(LANES)):
        panel.set_series(lane, steps, 2.0 + np.sin(steps / 8 + lane) * (1 + lane))
    panel.plot.setYRange(0.0, 3.0, padding=0)
    qtbot.waitUntil(lambda: panel.plot.getViewBox().width() > 0)
    yield panel
    window.close()


def _parse(path):
    root = ET.parse(path).getroot()
    parents = {child: parent for parent in root.iter() for child in parent}
    return root, parents


def _inherited(element, name, parents):
    while element is not None:
        if name in element.attrib:
            return element.get(name)
        element = parents.get(element)
    return None


def _shapes(root):
    return [e for e in root.iter() if e.tag in (f"{SVG}path", f"{SVG}polyline")]


def _pairs(shape) -> list[tuple[float, float]]:
    text = shape.get("d") or shape.get("points") or ""
    numbers = [float(n) for n in re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", text)]
    return list(zip(numbers[0::2], numbers[1::2], strict=True))


def _lane_curves(root, parents, lane):
    """The shapes stroked in the lane's colour that hold a whole curve (not a legend sample)."""
    colour = lane_colour(lane).lower()
    return [
        shape
        for shape in _shapes(root)
        if _inherited(shape, "stroke", parents) == colour and len(_pairs(shape)) == POINTS
    ]


def _in_panel(panel, x, y) -> tuple[float, float]:
    """Where the panel draws the data point (x, y), in the panel's pixels."""
    scene = panel.plot.getViewBox().mapViewToScene(QtCore.QPointF(x, y))
    view = panel.plot_widget
    local = view.viewportTransform().map(scene)
    corner = view.viewport().mapTo(panel, QtCore.QPoint(0, 0))
    return local.x() + corner.x(), local.y() + corner.y()


def test_svg_parses_with_each_lane_curve_as_one_vector_path(series_panel, tmp_path):
    panel = series_panel
    path = write_svg(panel, tmp_path / "series.svg")
    root, parents = _parse(path)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 600 400"
    curves = [_lane_curves(root, parents, lane) for lane in range(len(LANES))]
    assert [len(found) for found in curves] == [1, 1, 1]  # one path per curve, every point in it
    texts = {"".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")}
    assert {"step", "0.5", "1", "1.5", "2", "2.5"} <= texts  # axis label and ticks as text, not pixels
    assert len(list(root.iter(f"{SVG}image"))) == 1  # the header, pictured; nothing of the plot


def test_svg_points_sit_where_the_panel_draws_them(series_panel, tmp_path):
    panel = series_panel
    root, parents = _parse(write_svg(panel, tmp_path / "series.svg"))
    steps = np.arange(POINTS, dtype=float)
    for lane in range(len(LANES)):
        (curve,) = _lane_curves(root, parents, lane)
        assert curve.get("vector-effect") is None  # plain coordinates: any viewer scales them right
        values = 2.0 + np.sin(steps / 8 + lane) * (1 + lane)
        for i in (0, POINTS // 2, POINTS - 1):
            assert _pairs(curve)[i] == pytest.approx(_in_panel(panel, steps[i], values[i]), abs=0.01)


def test_svg_clips_curves_to_the_plot_area(series_panel, tmp_path):
    panel = series_panel
    root, parents = _parse(write_svg(panel, tmp_path / "series.svg"))
    box = panel.plot.getViewBox()
    left, top = _in_panel(panel, *box.viewRange()[0][:1], box.viewRange()[1][1])
    right, bottom = _in_panel(panel, box.viewRange()[0][1], box.viewRange()[1][0])
    clips = {clip.get("id"): clip.find(f"{SVG}rect") for clip in root.iter(f"{SVG}clipPath")}
    for lane in range(len(LANES)):
        (curve,) = _lane_curves(root, parents, lane)
        rect = clips[re.fullmatch(r"url\(#(.+)\)", _inherited(curve, "clip-path", parents)).group(1)]
        x, y, w, h = (float(rect.get(key)) for key in ("x", "y", "width", "height"))
        assert (x, y, x + w, y + h) == pytest.approx((left, top, right, bottom), abs=1.0)
    assert not [g for g in root.iter(f"{SVG}g") if g.get("stroke") in (PLOT_AREA_START, PLOT_AREA_END)]


def test_svg_export_leaves_the_screen_drawing_as_it_was(series_panel, tmp_path):
    panel = series_panel
    scene = panel.plot.scene()
    before = [(item, item.cacheMode()) for item in scene.items()]
    write_svg(panel, tmp_path / "series.svg")
    assert [(item, item.cacheMode()) for item in scene.items()] == before  # markers gone, caches back
    assert panel.plot.getAxis("left").cacheMode() != panel.plot.getAxis("left").CacheMode.NoCache


def test_svg_refuses_a_wrong_extension_or_folder_naming_the_file(series_panel, tmp_path):
    panel = series_panel
    with pytest.raises(ExportError, match=r"series\.png: an SVG file must end in \.svg"):
        write_svg(panel, tmp_path / "series.png")
    with pytest.raises(ExportError, match=r"cannot write .*missing.*series\.svg: there is no folder"):
        write_svg(panel, tmp_path / "missing" / "series.svg")
    (tmp_path / "notes.txt").write_text("")  # "there is no folder notes.txt" beside the file itself
    with pytest.raises(ExportError, match=r"series\.svg: .*notes\.txt is a file, not a folder"):
        write_svg(panel, tmp_path / "notes.txt" / "series.svg")
    (tmp_path / "taken.svg").mkdir()
    with pytest.raises(ExportError, match=r"cannot write .*taken\.svg: ") as refused:
        write_svg(panel, tmp_path / "taken.svg")
    assert "\n" not in str(refused.value)


# ---- Qt's SVG made portable, on small documents ------------------------------------------------------


def _document(body: str) -> bytes:
    return (
        f'<svg xmlns="{SVG_NS}" version="1.2" baseProfile="tiny" viewBox="0 0 100 100"><g>{body}</g></svg>'
    ).encode()


def test_curves_in_data_units_are_mapped_to_pixels():
    body = (
        '<g stroke="#0072b2" transform="matrix(2,0,0,-10,5,50)">'
        '<path vector-effect="non-scaling-stroke" d="M0,1 L1,2 L2,0.5"/>'
        '<polyline vector-effect="non-scaling-stroke" points="0,0 3,1"/></g>'
    )
    root = ET.fromstring(portable_svg(_document(body)))
    group = next(g for g in root.iter(f"{SVG}g") if g.get("stroke") == "#0072b2")
    path, line = list(group)
    assert group.get("transform") is None and path.get("vector-effect") is None
    assert path.get("d") == "M5,40 L7,30 L9,45"
    assert line.get("points") == "5,50 11,40"
    assert root.get("version") == "1.1" and root.get("baseProfile") is None


def _six_px_a_letter(text: str, _family: str, _size_px: float, _weight: int) -> float:
    return 6.0 * len(text)


def _texts(root: ET.Element) -> list[tuple[str | None, str | None]]:
    return [(text.get("x"), text.text) for text in root.iter(f"{SVG}text")]


def test_a_line_qt_wrote_in_pieces_is_one_text_element_and_labels_apart_stay_apart():
    """Qt splits "1/(2α)" at the Greek letter and places "α" where its own font ended "1/(2": drawn
    with another font's widths, a gap opened before every Greek letter."""
    style = 'y="14" font-family="DejaVu Sans" font-size="10.6667" font-weight="400"'
    bold = style.replace("400", "700")
    body = (
        f'<g><text x="4" {style}>slope 1/(2</text><text x="64" {style}>α</text>'
        f'<text x="70" {style}>) = 0.33</text></g>'
        f'<g><text x="10" {style}>20</text><text x="259" {style}>30</text></g>'  # axis ticks
        f'<g><text x="4" {style}>σ</text><text x="10" {bold}>_k</text></g>'  # two styles
    )
    root = ET.fromstring(portable_svg(_document(body), text_width=_six_px_a_letter))
    assert _texts(root) == [
        ("4", "slope 1/(2α) = 0.33"),
        ("10", "20"),
        ("259", "30"),
        ("4", "σ"),
        ("10", "_k"),
    ]
    assert (
        len(_texts(ET.fromstring(portable_svg(_document(body))))) == 7
    )  # nothing to measure with: as written


def test_an_exported_legend_with_greek_letters_keeps_each_label_whole(qtbot, tmp_path):
    """Measured with Qt's own fonts, as Qt laid the pieces out."""
    holder = QtWidgets.QWidget()
    qtbot.addWidget(holder)
    plot = pg.PlotWidget(holder)
    QtWidgets.QVBoxLayout(holder).addWidget(plot)
    plot.addLegend()
    plot.plot([1, 2, 3], name="guide: slope 1 + 1/(2α) = 1.33, μ = 0.95")
    holder.resize(400, 300)
    holder.show()
    qtbot.waitExposed(holder)
    root = ET.fromstring(svg_bytes(holder))
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert "guide: slope 1 + 1/(2α) = 1.33, μ = 0.95" in texts, texts


def test_groups_with_anything_but_plain_shapes_keep_their_transform():
    shape = '<path vector-effect="non-scaling-stroke" d="{}"/>'
    body = (
        f'<g transform="matrix(2,0,0,2,0,0)">{shape.format("M0,0 A1,1 0 0 1 2,2")}</g>'
        f'<g transform="matrix(2,0,0,2,0,0)">{shape.format("M0,0 L1,1")}<text>1</text></g>'
    )
    root = ET.fromstring(portable_svg(_document(body)))
    kept = [g for g in root.iter(f"{SVG}g") if g.get("transform")]
    assert {g.get("transform") for g in kept} == {"matrix(2,0,0,2,0,0)"}
    assert sum(len(g) for g in kept) == 3  # both paths and the text, still under their transform


def test_what_lies_between_plot_area_markers_is_clipped_to_the_marker():
    marker = '<g stroke="{}" transform="matrix(1,0,0,1,10,20)"><rect x="0" y="0" width="50" height="30"/></g>'
    body = (
        '<g stroke="#000000"><polyline points="0,0 5,5"/></g>'
        + marker.format(PLOT_AREA_START)
        + '<g stroke="#0072b2"><polyline points="0,0 90,90"/></g>'
        + marker.format(PLOT_AREA_END)
        + '<g stroke="#d55e00"><polyline points="1,1 2,2"/></g>'
    )
    root = ET.fromstring(portable_svg(_document(body)))
    clip = root.find(f"{SVG}defs/{SVG}clipPath")
    assert clip.find(f"{SVG}rect").attrib == {"x": "10", "y": "20", "width": "50", "height": "30"}
    clipped = next(g for g in root.iter(f"{SVG}g") if g.get("clip-path"))
    assert clipped.get("clip-path") == f"url(#{clip.get('id')})"
    assert [g.get("stroke") for g in clipped] == ["#0072b2"]
    outside = [g.get("stroke") for g in root.iter(f"{SVG}g") if g.get("stroke") and g not in list(clipped)]
    assert outside == ["#000000", "#d55e00"]


def test_a_run_of_groups_with_the_same_style_becomes_one_group():
    dot = '<g fill="#0072b2" fill-opacity="0.35"><path d="M{0},5 L{0},6"/></g>'
    faded = '<g fill="#0072b2" opacity="0.5"><path d="M1,1 L2,2"/></g>'
    other = '<g fill="#d55e00"><path d="M9,9 L8,8"/></g>'
    body = dot.format(1) + dot.format(2) + dot.format(3) + other + dot.format(4) + faded + faded
    root = ET.fromstring(portable_svg(_document(body)))
    groups = [g for g in root.iter(f"{SVG}g") if g.get("fill")]
    assert [(g.get("fill"), len(g)) for g in groups] == [
        ("#0072b2", 3),  # the three dots, in their order
        ("#d55e00", 1),
        ("#0072b2", 1),  # after another colour: drawn above it, so not merged back
        ("#0072b2", 1),  # group opacity composites each group whole: never merged
        ("#0072b2", 1),
    ]
    assert [p.get("d") for p in groups[0]] == ["M1,5 L1,6", "M2,5 L2,6", "M3,5 L3,6"]


def _arcs(cx: float, cy: float, rx: float, ry: float) -> str:
    """An ellipse as Qt writes it: four cubic quarter arcs from its rightmost point."""
    k = 4 * (2**0.5 - 1) / 3
    ends = [(cx + rx, cy), (cx, cy + ry), (cx - rx, cy), (cx, cy - ry), (cx + rx, cy)]
    d = f"M{ends[0][0]:.3f},{ends[0][1]:.3f}"
    for (x0, y0), (x3, y3) in itertools.pairwise(ends):
        c1 = (x0 + k * (x3 - cx), y0 + k * (y3 - cy))
        c2 = (x3 + k * (x0 - cx), y3 + k * (y0 - cy))
        d += " C" + " ".join(f"{x:.3f},{y:.3f}" for x, y in (c1, c2, (x3, y3)))
    return d + " Z"


def test_four_arc_circles_are_written_as_circles_and_other_curves_stay_paths():
    body = (
        f'<path fill-rule="evenodd" fill="#009e73" d="{_arcs(40.5, 12.25, 1.25, 1.25)}"/>'
        f'<path d="{_arcs(10, 10, 3, 2)}"/>'  # an ellipse
        '<path d="M0,0 C1,1 2,2 3,3 C4,4 5,5 6,6 C7,7 8,8 9,9 C1,2 3,4 0,0 Z"/>'
    )
    root = ET.fromstring(portable_svg(_document(body)))
    (circle,) = root.iter(f"{SVG}circle")
    assert circle.attrib == {"fill": "#009e73", "cx": "40.5", "cy": "12.25", "r": "1.25"}
    assert len(list(root.iter(f"{SVG}path"))) == 2


def test_panel_three_dots_are_circles_where_the_panel_draws_them_in_a_small_file(qtbot, tmp_path):
    """Each of 8,192 dots was a group with its own style around four arcs: 3.3 MB for one panel."""
    configure_pyqtgraph()
    panel = ClassErrorPlot()
    qtbot.addWidget(panel)
    panel.resize(700, 450)
    panel.show()
    panel.set_lanes(LANES[:2])
    panel.set_mode("view", "curves")
    classes = 500
    errors = [np.linspace(0.05, 0.95, classes), np.linspace(0.9, 0.1, classes)]
    for lane, values in enumerate(errors):
        panel.set_errors(lane, values)
    qtbot.waitUntil(lambda: panel.plot.getViewBox().width() > 0)
    path = write_svg(panel, tmp_path / "class_error.svg")
    root, parents = _parse(path)
    circles = list(root.iter(f"{SVG}circle"))
    for lane, values in enumerate(errors):
        dots = [c for c in circles if _inherited(c, "fill", parents) == lane_colour(lane).lower()]
        assert len(dots) == classes
        centres = sorted((float(c.get("cx")), float(c.get("cy"))) for c in dots)
        for rank in (1, 250, 500):  # the x axis is the frequency rank, on a log scale
            x = np.log10(rank) if panel.plot.getAxis("bottom").logMode else rank
            assert centres[rank - 1] == pytest.approx(_in_panel(panel, x, values[rank - 1]), abs=0.01)
    assert path.stat().st_size < 200 * len(circles)  # bytes per dot, with axes, text and curves


# ---- PNG ---------------------------------------------------------------------------------------------


def _lane_pixels(image, lane) -> int:
    """Pixels close to the lane's colour (antialiased edges count when they are mostly that colour)."""
    colour = QtGui.QColor(lane_colour(lane))
    target = np.array([colour.red(), colour.green(), colour.blue()], dtype=float)
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = pixels[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(float)
    return int((np.abs(rgb - target).sum(axis=2) < 60).sum())


def test_png_has_the_requested_size_and_the_screen_look_at_more_pixels(series_panel, tmp_path):
    panel = series_panel
    plain = QtGui.QImage(str(write_png(panel, tmp_path / "1x.png", (600, 400))))
    double = QtGui.QImage(str(write_png(panel, tmp_path / "2x.png", (1200, 800))))
    assert (plain.width(), plain.height()) == (600, 400)
    assert (double.width(), double.height()) == (1200, 800)
    for lane in range(len(LANES)):  # curves twice as long and twice as thick: about four times the ink
        assert 3.0 < _lane_pixels(double, lane) / _lane_pixels(plain, lane) < 6.0  # not 2: thin


def test_png_at_twice_the_size_draws_symbols_twice_as_large_with_outlines_twice_as_thick(qtbot, tmp_path):
    """A 2× picture drew ③'s per-item dots four times the screen's size (and 3×, nine times): the
    painter's scale reached them on top of pyqtgraph's resolution scale."""
    import pyqtgraph as pg

    holder = QtWidgets.QWidget()
    qtbot.addWidget(holder)
    layout = QtWidgets.QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    plot = pg.PlotWidget()
    layout.addWidget(plot)
    holder.resize(200, 200)
    ring = pg.ScatterPlotItem([0.5], [0.5], symbol="o", size=40, brush="w", pen=pg.mkPen("b", width=2))
    plot.addItem(ring)
    plot.setXRange(0, 1, padding=0)
    plot.setYRange(0, 1, padding=0)
    for side in ("left", "bottom"):
        plot.hideAxis(side)
    holder.show()
    qtbot.waitExposed(holder)
    (plain_span, plain_ink), (double_span, double_ink) = (
        _ring_across(QtGui.QImage(str(write_png(holder, tmp_path / f"{s}x.png", (200 * s, 200 * s)))))
        for s in (1, 2)
    )
    assert double_span == pytest.approx(2 * plain_span, abs=3)
    assert double_ink == pytest.approx(2 * plain_ink, abs=2)


def _ring_across(image: QtGui.QImage) -> tuple[int, int]:
    """A blue ring's width across the picture's middle row, and the blue pixels on that row."""
    row = [image.pixelColor(x, image.height() // 2) for x in range(image.width())]
    blue = [x for x, c in enumerate(row) if c.blue() > 150 and c.red() < 150 and c.green() < 150]
    return blue[-1] - blue[0] + 1, len(blue)


def test_png_of_another_shape_gives_the_room_to_the_plot_and_puts_the_panel_back(series_panel, tmp_path):
    panel = series_panel
    box = panel.plot.getViewBox()
    before = (panel.size(), box.viewRange())
    plain = QtGui.QImage(str(write_png(panel, tmp_path / "plain.png", (600, 400))))
    wide = QtGui.QImage(str(write_png(panel, tmp_path / "wide.png", (1800, 400))))
    assert (wide.width(), wide.height()) == (1800, 400)
    assert (panel.size(), box.viewRange()) == before
    title = QtCore.QRect(0, 0, 150, 24)  # "② over time", drawn as on screen: not stretched threefold
    assert wide.copy(title) == plain.copy(title)
    row = wide.copy(0, 200, 1800, 1).convertToFormat(QtGui.QImage.Format.Format_RGB32)
    white = sum(row.pixel(x, 0) == 0xFFFFFFFF for x in range(1800))
    assert white > 1500  # the plot's white area spans the picture, not a 600 px panel in margins


def test_png_refuses_a_size_out_of_range_naming_the_file(series_panel, tmp_path):
    panel = series_panel
    with pytest.raises(
        ExportError, match=r"big\.png: a PNG of 9000x400 pixels; each side must be 16 to 8192"
    ):
        write_png(panel, tmp_path / "big.png", (9000, 400))
    with pytest.raises(ExportError, match=r"series\.svg: a PNG file must end in \.png"):
        write_png(panel, tmp_path / "series.svg", (600, 400))
    assert not list(tmp_path.iterdir())


# ---- CSV ---------------------------------------------------------------------------------------------


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    return header, rows


def _column(path, name) -> tuple[np.ndarray, np.ndarray]:
    """(x, value) of the rows where column ``name`` has a value."""
    header, rows = _read_csv(path)
    j = header.index(name)
    kept = [(float(row[0]), float(row[j])) for row in rows if row[j] != ""]
    return np.array([x for x, _ in kept]), np.array([y for _, y in kept])


def _assert_same(read, drawn):
    for got, want in zip(read, drawn, strict=True):
        np.testing.assert_allclose(got, np.asarray(want, dtype=float), rtol=1e-12, atol=0)


def _csv_of(panel, path):
    """The panel's data as the window's File menu writes it: through the one table writer."""
    names, rows = panel.data_table()
    return write_table(rows_to_columns(names, rows), path)


def test_csv_of_panel_two_is_each_lane_curve_as_drawn(series_panel, tmp_path):
    panel = series_panel
    steps = np.arange(POINTS, dtype=float)
    values = np.where(steps % 3 == 0, np.nan, np.exp(-steps / 7))  # NaN: steps not evaluated
    panel.set_series(1, steps, values)
    path = _csv_of(panel, tmp_path / "series.csv")
    assert _read_csv(path)[0] == ["step", "loss: SGD", "loss: Adam", "loss: Muon (pre)"]
    for lane, label in enumerate(LANES):
        _assert_same(_column(path, f"loss: {label}"), panel.curve_data(lane))
    assert len(_column(path, "loss: Adam")[0]) == POINTS - POINTS // 3
    panel.set_faded(0, steps[:20], np.full(20, 1.5))  # a compared branch, drawn faint
    path = _csv_of(panel, tmp_path / "compared.csv")
    assert _read_csv(path)[0][1:3] == ["loss: SGD", "loss: SGD, compared branch"]
    _assert_same(_column(path, "loss: SGD, compared branch"), panel.faded_data(0))
    panel.set_definition("r = 10, of M (×\u00a0(1\u00a0−\u00a0μ))")  # the corner note's, its terms kept whole
    path = _csv_of(panel, tmp_path / "defined.csv")
    assert _read_csv(path)[0][1] == "loss [r = 10, of M (× (1 − μ))]: SGD"  # as plain spaces


def test_csv_of_panel_one_is_sigma_k_of_each_lane_and_matrix_shown(qtbot, tmp_path):
    panel = SpectrumPlot()
    qtbot.addWidget(panel)
    panel.set_lanes(["SGD", "Muon"])
    rng = np.random.default_rng(0)
    for lane in range(2):
        for matrix in ("gradient", "momentum", "update"):
            sigma = np.sort(rng.random(16))[::-1]
            sigma[-3:] = 0.0  # round-off: not drawn
            panel.set_spectrum(lane, matrix, sigma)
    path = _csv_of(panel, tmp_path / "spectra.csv")
    header, rows = _read_csv(path)
    assert header == ["index k", "σ_k of G: SGD", "σ_k of M: SGD", "σ_k of G: Muon", "σ_k of M: Muon"]
    assert len(rows) == 13
    for lane, label in enumerate(["SGD", "Muon"]):
        _assert_same(_column(path, f"σ_k of G: {label}"), panel.curve_data(lane, "gradient"))
        _assert_same(_column(path, f"σ_k of M: {label}"), panel.curve_data(lane, "momentum"))


def test_csv_of_panel_three_follows_its_view(qtbot, tmp_path):
    panel = ClassErrorPlot()
    qtbot.addWidget(panel)
    panel.set_lanes(["SGD", "Muon"])
    errors = [np.linspace(0.0, 1.0, 40) ** (lane + 1) for lane in range(2)]
    recovered = [(np.arange(40) < 10 * (lane + 1)).astype(float) for lane in range(2)]  # the head
    for lane in range(2):
        panel.set_errors(lane, errors[lane], recovered[lane])
    steps = np.array([0.0, 10.0, 20.0])
    buckets = ["1–3", "4–40"]
    losses = np.array([[2.0, 3.0], [1.0, 2.5], [0.5, 2.25]])
    panel.set_heatmap(steps, buckets, losses)
    ranks = np.arange(1, 41)
    path = _csv_of(panel, tmp_path / "recovery.csv")  # the panel's first view
    for lane, label in enumerate(["SGD", "Muon"]):
        missed = 1.0 - recovered[lane]
        _assert_same(_column(path, f"not recovered (argmax ≠ item): {label}"), (ranks, missed))
        smoothed = f"not recovered (argmax ≠ item), mean over ranks r/1.25…r·1.25: {label}"
        _assert_same(_column(path, smoothed), (ranks, smooth_by_rank(missed)))
    panel.set_mode("view", "curves")
    path = _csv_of(panel, tmp_path / "curves.csv")
    for lane, label in enumerate(["SGD", "Muon"]):
        _assert_same(_column(path, f"error 1 − p̂(correct): {label}"), (ranks, errors[lane]))
        smoothed = f"error 1 − p̂(correct), mean over ranks r/1.25…r·1.25: {label}"
        _assert_same(_column(path, smoothed), (ranks, smooth_by_rank(errors[lane])))
    panel.set_mode("view", "heatmap")
    panel.set_mode("quantity", "group_loss")
    header, rows = _read_csv(_csv_of(panel, tmp_path / "heat.csv"))
    assert header == ["step", "group loss, ranks 1–3: SGD", "group loss, ranks 4–40: SGD"]
    _assert_same([[float(cell) for cell in row] for row in rows], np.column_stack([steps, losses]))


def test_csv_of_panel_four_in_steps_and_sweep_modes(qtbot, tmp_path):
    panel = CapacityPlot()
    qtbot.addWidget(panel)
    panel.set_lanes(["SGD", "Muon"])
    steps = np.arange(0.0, 50.0, 5.0)
    for lane in range(2):
        recovered = np.where(steps == 15.0, np.nan, steps * (lane + 1))
        panel.set_capacity(lane, steps, recovered, recovered / 100)
    path = _csv_of(panel, tmp_path / "steps.csv")
    for lane, label in enumerate(["SGD", "Muon"]):
        _assert_same(_column(path, f"recovered items: {label}"), panel.recovered_data(lane))
    d = np.array([16.0, 32.0, 64.0, 128.0])
    panel.set_mode("x", "d")
    panel.set_sweep(
        [(0, "SGD", d, d * 0.5, d * 0.4, d * 0.6), (1, "Muon", d, d * 1.5, d * 1.5, d * 1.5)],
        [("∝ d", np.array([10.0, 200.0]), np.array([5.0, 100.0]))],
        "d",
        "recovered items",
        log_x=True,
        log_y=True,
    )
    path = _csv_of(panel, tmp_path / "sweep.csv")
    assert _read_csv(path)[0] == [
        "d",
        "recovered items, mean over seeds: SGD",
        "recovered items, min over seeds: SGD",
        "recovered items, max over seeds: SGD",
        "recovered items: Muon",  # its seeds agree: no spread columns
        "guide: ∝ d",
    ]
    _assert_same(_column(path, "recovered items, mean over seeds: SGD"), (d, d * 0.5))  # not log10
    _assert_same(_column(path, "recovered items, max over seeds: SGD"), (d, d * 0.6))
    _assert_same(_column(path, "guide: ∝ d"), ([10.0, 200.0], [5.0, 100.0]))


def test_csv_of_the_inspector_matrix_and_its_singular_values(qtbot, tmp_path):
    view = MatrixView()
    qtbot.addWidget(view)
    matrix = np.arange(6, dtype=float).reshape(2, 3) / 7
    view.set_matrix(matrix, "W of lane 1", "output j", "input i")
    header, rows = _read_csv(_csv_of(view, tmp_path / "matrix.csv"))
    assert header == ["output j \\ input i", "input i 0", "input i 1", "input i 2"]
    _assert_same([[float(cell) for cell in row] for row in rows], np.column_stack([[0, 1], matrix]))
    spectrum = SingularValuesPlot()
    qtbot.addWidget(spectrum)
    names = ("D: the lane's map of M", "exact polar factor of M")
    spectrum.set_spectra(np.array([3.0, 2.0, 1.0]), np.array([1.0, 1.0, 1.0]), "", names)
    path = _csv_of(spectrum, tmp_path / "sv.csv")
    _assert_same(_column(path, "σ_k: D: the lane's map of M"), spectrum.direction)
    _assert_same(_column(path, "σ_k: exact polar factor of M"), spectrum.reference)


# ---- asking: the context menu and the size dialog ---------------------------------------------------


def _right_click(panel, button=QtCore.Qt.MouseButton.RightButton):
    viewport = panel.plot_widget.viewport()
    QtTest.QTest.mouseClick(viewport, button, QtCore.Qt.KeyboardModifier.NoModifier, viewport.rect().center())


def test_a_right_click_on_the_plot_offers_the_three_exports(series_panel, qtbot):
    panel = series_panel
    assert [a.text() for a in panel.export_menu.actions()] == [
        "Export PNG…",
        "Export SVG…",
        "Export data as CSV…",
        "",  # a separator before panel ②'s own entry
        "Smoothing",
    ]
    _right_click(panel, QtCore.Qt.MouseButton.LeftButton)
    assert not panel.export_menu.isVisible()
    _right_click(panel)
    qtbot.waitUntil(panel.export_menu.isVisible)
    with qtbot.waitSignal(panel.export_requested) as requested:
        panel.export_menu.actions()[2].trigger()
    assert requested.args == ["csv"]
    panel.export_menu.hide()


@pytest.mark.parametrize(
    "make",
    [
        SpectrumPlot,
        lambda: SeriesPlot("② over time", [("loss", "loss")]),
        ClassErrorPlot,
        CapacityPlot,  # its right-hand axis has a view box of its own over the plot
        MatrixView,
        SingularValuesPlot,
    ],
)
def test_every_panel_answers_a_right_click_with_its_export_menu(qtbot, make):
    panel = make()
    qtbot.addWidget(panel)
    panel.resize(500, 350)
    panel.show()
    qtbot.waitUntil(lambda: panel.plot.getViewBox().width() > 0)
    _right_click(panel)
    qtbot.waitUntil(panel.export_menu.isVisible)
    shown = [
        w
        for w in QtWidgets.QApplication.topLevelWidgets()
        if isinstance(w, QtWidgets.QMenu) and w.isVisible()
    ]
    assert shown == [panel.export_menu]  # and no pyqtgraph menu besides it
    panel.export_menu.hide()


def test_a_right_drag_still_zooms_the_inspector_heat_map(qtbot):
    view = MatrixView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    view.set_matrix(np.arange(64, dtype=float).reshape(8, 8), "W")
    qtbot.waitUntil(lambda: view.plot.getViewBox().width() > 0)
    before = view.plot.getViewBox().viewRange()
    viewport = view.plot_widget.viewport()
    centre = viewport.rect().center()
    right = QtCore.Qt.MouseButton.RightButton
    QtTest.QTest.mousePress(viewport, right, QtCore.Qt.KeyboardModifier.NoModifier, centre)
    for step in range(1, 6):
        QtTest.QTest.mouseMove(viewport, centre + QtCore.QPoint(12 * step, -12 * step))
    QtTest.QTest.mouseRelease(
        viewport, right, QtCore.Qt.KeyboardModifier.NoModifier, centre + QtCore.QPoint(60, -60)
    )
    assert view.plot.getViewBox().viewRange() != before  # pyqtgraph's right-drag zoom
    assert not view.export_menu.isVisible()


def test_png_size_dialog_keeps_the_shape_unless_told_not_to(qtbot):
    dialog = PngSizeDialog((1200, 800))
    qtbot.addWidget(dialog)
    assert dialog.size_px == (1200, 800)
    dialog.width_box.setValue(600)
    assert dialog.size_px == (600, 400)
    dialog.keep_shape_box.setChecked(False)
    dialog.height_box.setValue(600)
    assert dialog.size_px == (600, 600)
    assert PngSizeDialog((20000, 10)).size_px == (8192, 16)  # within what a PNG export takes


def test_a_lane_legend_wider_than_a_narrow_panel_stacks_instead_of_widening_the_plot(qtbot):
    """Two columns of long lane labels under a 415 px panel pushed the plot past its edge: cut axes."""
    configure_pyqtgraph()
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    panel = SeriesPlot("② over time", [("loss", "loss")])
    QtWidgets.QVBoxLayout(window).addWidget(panel)
    window.resize(415, 231)
    window.show()
    qtbot.waitExposed(window)
    labels = ["SGD μ=0.9 sum lr=128", "Adam β=(0.9, 0.999) lr=0.1", "Muon pre μ=0.95 ema exact lr=0.3"]
    with panel.lane_legend(list(enumerate(labels))):
        QtWidgets.QApplication.processEvents()
        view = panel.plot_widget.viewport().width()
        assert panel.plot.geometry().width() <= view + 1  # the plot stays inside its panel
    with panel.lane_legend([(0, "SGD"), (1, "Adam")]):  # short labels keep two columns
        assert panel.plot.geometry().width() <= view + 1


def test_a_panel_drawn_with_its_lane_legend_keeps_its_plot_and_gets_it_back_whole(qtbot):
    """At 1280 × 720 four lanes' names under ④ left its plot some 30 px tall, and a name wider
    than the panel widened the plot for good: after the export its right axis lay past the edge."""
    configure_pyqtgraph()
    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    panel = CapacityPlot()
    QtWidgets.QVBoxLayout(window).addWidget(panel)
    window.resize(415, 231)
    window.show()
    qtbot.waitExposed(window)
    panel.set_lanes(["a", "b", "c", "d"])
    box = panel.plot.getViewBox()
    height_before, size_before = box.height(), panel.size()
    long_name = "SGD μ=0.9 sum lr=128 → SGD μ=0.9 sum lr=64 (step 20), the name a change leaves"
    lanes = [(0, long_name), (1, "Adam β=(0.9, 0.999) lr=0.1"), (2, "Muon pre"), (3, "Muon post")]
    with panel.lane_legend(lanes):
        assert box.height() >= 0.9 * height_before  # the panel grew by the legend instead
        assert panel.plot.geometry().width() <= panel.plot_widget.width() + 1
    right = panel.plot.getAxis("right")
    assert (
        right.isVisible()
        and right.mapRectToScene(right.boundingRect()).right() <= panel.plot_widget.width() + 1
    )
    assert panel.size() == size_before


def test_a_picture_of_a_panel_leaves_out_its_boxes_and_buttons_and_gives_them_back(qtbot, tmp_path):
    """An exported ② showed its combo boxes with their arrows; ④'s, its run button and progress."""
    configure_pyqtgraph()
    panel = CapacityPlot()
    qtbot.addWidget(panel)
    panel.resize(640, 400)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_lanes(["SGD"])
    panel.set_mode("x", "d")  # a sweep mode: the run button shows
    panel.set_running(False, 3, 12)
    shown = [panel.modes["x"], panel.run_button, panel.progress]
    assert all(widget.isVisible() for widget in shown) and panel.cancel_button.isHidden()
    with panel.lane_legend([(0, "SGD")]):
        assert not panel.header_controls_shown
        assert not any(widget.isVisible() for widget in shown)
    assert panel.header_controls_shown
    assert all(widget.isVisible() for widget in shown) and panel.cancel_button.isHidden()  # as they were


def test_a_picture_of_a_panel_names_its_step_in_the_title_except_a_sweeps(qtbot):
    """A figure of ① or ④ carries neither the timeline nor the caption that say the step on screen;
    a sweep's axis is not the run's steps, so its title names none."""
    configure_pyqtgraph()
    panel = CapacityPlot()
    qtbot.addWidget(panel)
    panel.set_lanes(["SGD"])
    panel.set_shown_step(40)
    on_screen = panel.title
    with panel.lane_legend([(0, "SGD")]):
        assert panel.title == f"{on_screen} · step 40"
        panel.set_shown_step(41)
        assert panel.title == f"{on_screen} · step 41"
        panel.set_mode("x", "d")
        assert panel.title == on_screen
    assert panel.title == on_screen


def test_a_sweeps_legend_stays_under_its_plot_in_a_picture_taken_at_once(qtbot):
    """Exported at 1280×720, ④'s sweep legend was drawn over the top of its plot: entries listed
    anew when the picture's lane legend resized the panel had no place yet when it was drawn."""
    configure_pyqtgraph()
    panel = CapacityPlot()
    qtbot.addWidget(panel)
    panel.resize(417, 216)  # ④ in a 1280×720 window
    panel.show()
    qtbot.waitExposed(panel)
    names = ["SGD μ=0.9 sum lr=128", "Adam β=(0.9, 0.999) lr=0.1", "Muon pre μ=0.95 ema", "Muon post μ=0.95"]
    panel.set_lanes(names)
    panel.set_mode("x", "d")
    d = np.array([32.0, 64.0, 128.0, 256.0])
    curves = [(lane, name, d, d * (lane + 1), d, d * (lane + 2)) for lane, name in enumerate(names)]
    panel.set_sweep(curves, [("slope 1.33", d, d**1.33)], "d", "items recovered", True, True)
    qtbot.waitUntil(lambda: panel.legend.lanes_folded, timeout=5000)
    with panel.lane_legend(list(enumerate(names))):  # no event is processed before the picture
        box = panel.plot.getViewBox().sceneBoundingRect()
        assert panel.legend.sceneBoundingRect().top() >= box.bottom()
        for _sample, label in panel.legend.items:
            assert label.sceneBoundingRect().top() >= box.bottom(), label.text


def test_csv_keeps_every_lane_when_two_lanes_share_a_name(qtbot, tmp_path):
    """A lane added as a copy of another shares its name: the table kept one column of that name,
    holding the new lane's numbers, and the first lane's whole history was gone from the file."""
    panel = SeriesPlot("② over time", [("gap", "gap")])
    qtbot.addWidget(panel)
    panel.set_lanes(["SGD", "Muon", "Muon"])
    steps = np.arange(1.0, 6.0)
    for lane in range(3):
        panel.set_series(lane, steps, steps * (lane + 1))
    names, rows = panel.data_table()
    columns = rows_to_columns(names, rows)
    assert len(columns) == 4
    assert [name for name in names if name.endswith("Muon (1)") or name.endswith("Muon (2)")] == names[2:]
    assert columns[names[2]] == list(steps * 2) and columns[names[3]] == list(steps * 3)


def test_an_export_the_disk_cannot_hold_leaves_the_file_before_and_says_why(tmp_path, monkeypatch):
    """Written in place, a full disk left a 0-byte or truncated file, and the one before was gone."""
    from muonscope.widgets.export import write_bytes

    target = tmp_path / "panel.png"
    target.write_bytes(b"the picture before")
    monkeypatch.setattr(QtCore.QSaveFile, "commit", lambda _self: False)
    monkeypatch.setattr(QtCore.QSaveFile, "errorString", lambda _self: "No space left on device")
    said = f"^cannot write {re.escape(str(target))}: No space left on device$"
    with pytest.raises(ExportError, match=said):
        write_bytes(target, b"a new picture")
    assert target.read_bytes() == b"the picture before"
    assert [path.name for path in tmp_path.iterdir()] == ["panel.png"]
    monkeypatch.undo()
    write_bytes(target, b"a new picture")
    assert target.read_bytes() == b"a new picture"
