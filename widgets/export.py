"""Figures and tables out of the window: SVG with vector plots, PNG at a chosen size, CSV.

pyqtgraph's own SVG exporter fails on the Qt we pin (a ValueError while it rewrites Qt's path
data, upstream issue #3485), so plots are painted straight onto a ``QSvgGenerator``, and what of
Qt's SVG would spoil a figure is put right afterwards (:mod:`muonscope.widgets.portable_svg`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from muonscope.widgets.export_drawing import drawing_for_export, plot_areas_marked
from muonscope.widgets.portable_svg import TextWidth, portable_svg

__all__ = ["PNG_SIDE_PX", "ExportError", "checked_path", "png_bytes", "svg_bytes", "write_png", "write_svg"]

#: The smallest and largest width or height of an exported PNG.
PNG_SIDE_PX = (16, 8192)


class ExportError(Exception):
    """A figure or table could not be written; the message is one line that names the file."""

    names_itself = True  # the command line says it as it is, without its class name


def write_svg(
    widget: QtWidgets.QWidget, path: str | os.PathLike, display_size_px: tuple[int, int] | None = None
) -> Path:
    """Write ``widget`` as it is on screen to an SVG file whose plots are vectors.

    Everything inside a plot (curves, axes, ticks, legends, their text) is drawn as SVG shapes and
    text, clipped to the plot area as on screen; the widgets around the plots (headers, combo
    boxes, the controls of the window) are one picture of the screen at twice its resolution. The
    picture's user units are the widget's pixels (its viewBox is the widget's rectangle), and its
    physical size follows the screen's resolution, so text keeps its size relative to the plots.
    ``display_size_px`` (width, height) declares a different size to show it at, as when a window
    laid out larger than asked for is scaled down to the size asked for; the drawing is unchanged.
    """
    path = checked_path(path, ".svg", "an SVG")
    write_bytes(path, svg_bytes(widget, display_size_px))
    return path


def _document_title(widget: QtWidgets.QWidget) -> str:
    """The SVG's title: a panel's own ("muonscope — ② over time · step 40"; a panel's title was
    "muonscope" alone), else the window's, without the "[*]" where it marks unsaved work."""
    from muonscope.widgets.panel import PlotPanel

    if isinstance(widget, PlotPanel) and widget.title:
        return f"muonscope — {widget.title}"
    return widget.windowTitle().replace("[*]", "") or "muonscope"


def svg_bytes(widget: QtWidgets.QWidget, display_size_px: tuple[int, int] | None = None) -> bytes:
    """The SVG document of :func:`write_svg`.

    Qt's SVG generator cannot be trusted with clipping: SVG Tiny 1.2 has no clip paths, and Qt
    6.11's SVG 1.1 writes them shifted by the position of the child widget being painted and keeps
    them past the painter state they belong to. Widgets rely on clipping (a menu bar paints its
    background around its items, a combo box cuts a long text at its arrow), so they are painted
    as a picture; plots need it only at their plot areas, which :mod:`portable_svg` clips itself.
    """
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    generator = QtSvg.QSvgGenerator(QtSvg.QSvgGenerator.SvgVersion.SvgTiny12)
    generator.setOutputDevice(buffer)
    size = widget.size()
    generator.setSize(size if display_size_px is None else QtCore.QSize(*display_size_px))
    generator.setViewBox(QtCore.QRect(QtCore.QPoint(0, 0), size))
    generator.setResolution(widget.logicalDpiX())  # font sizes in pixels, as the screen has them
    generator.setTitle(_document_title(widget))
    generator.setDescription("muonscope")
    views = _shown_graphics_views(widget)
    around_plots = QtGui.QRegion(widget.rect()).subtracted(_plots_region(widget, views))
    surroundings = _picture(widget, around_plots, background=True)
    with drawing_for_export(widget), plot_areas_marked(widget):
        painter = QtGui.QPainter(generator)
        try:
            painter.drawImage(QtCore.QRectF(widget.rect()), surroundings)
            for view in views:
                _draw_scene(painter, widget, view)
                for overlay in _overlays(view):  # e.g. a placeholder saying why the plot is empty
                    corner = overlay.mapTo(widget, QtCore.QPoint(0, 0))
                    painter.drawImage(QtCore.QRectF(corner, overlay.size().toSizeF()), _picture(overlay))
        finally:
            painter.end()
    return portable_svg(bytes(buffer.data()), _installed_family, _text_width(widget.logicalDpiX()))


#: Widgets around the plots are pictured at this multiple of the screen's resolution.
_PICTURE_SCALE = 2


def _picture(
    widget: QtWidgets.QWidget, region: QtGui.QRegion | None = None, background: bool = False
) -> QtGui.QImage:
    """``widget`` (only ``region`` of it, if given) painted into an image, transparent where it is.

    With ``background`` the widget's window colour fills it first, as behind a panel on screen.
    """
    image = QtGui.QImage(widget.size() * _PICTURE_SCALE, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(_PICTURE_SCALE)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    flags = QtWidgets.QWidget.RenderFlag.DrawChildren
    if background:
        flags |= QtWidgets.QWidget.RenderFlag.DrawWindowBackground
    widget.render(image, QtCore.QPoint(0, 0), region if region is not None else QtGui.QRegion(), flags)
    return image


def _shown_graphics_views(widget: QtWidgets.QWidget) -> list[QtWidgets.QGraphicsView]:
    views = [view for view in widget.findChildren(QtWidgets.QGraphicsView) if view.isVisibleTo(widget)]
    if isinstance(widget, QtWidgets.QGraphicsView):
        views.insert(0, widget)
    return [view for view in views if view.scene() is not None]


def _plots_region(widget: QtWidgets.QWidget, views: list[QtWidgets.QGraphicsView]) -> QtGui.QRegion:
    region = QtGui.QRegion()
    for view in views:
        viewport = view.viewport()
        region += QtCore.QRect(viewport.mapTo(widget, QtCore.QPoint(0, 0)), viewport.size())
    return region


def _draw_scene(painter: QtGui.QPainter, widget: QtWidgets.QWidget, view: QtWidgets.QGraphicsView) -> None:
    """The view's scene as shapes and text, where its viewport lies in ``widget``."""
    viewport = view.viewport()
    painter.save()
    painter.translate(viewport.mapTo(widget, QtCore.QPoint(0, 0)))
    view.render(painter, QtCore.QRectF(viewport.rect()), viewport.rect())
    painter.restore()


def _overlays(view: QtWidgets.QGraphicsView) -> list[QtWidgets.QWidget]:
    """Widgets shown over a view's plots: its visible children besides the viewport and scroll bars."""
    children = view.findChildren(QtWidgets.QWidget, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly)
    return [
        child
        for child in children
        if child is not view.viewport()
        and child.isVisibleTo(view)
        and not child.objectName().startswith("qt_scrollarea")
    ]


def write_png(widget: QtWidgets.QWidget, path: str | os.PathLike, size: tuple[int, int]) -> Path:
    """Write ``widget`` as a PNG of ``size`` = (width, height) pixels.

    Painted afresh at that size, not a screen grab scaled up: the painter is scaled by
    s = min(width / widget width, height / widget height), so the picture is the screen's at s
    times its resolution (text, symbols and curve pens grow with it, as on a high-resolution
    screen, instead of staying screen-thin in a larger picture). Where the requested shape differs
    from the widget's, a widget inside the window is laid out at (width / s, height / s) for the
    export and put back, so the extra room goes to the plots rather than to stretched text; a
    window keeps its layout and gets margins.
    """
    path = checked_path(path, ".png", "a PNG")
    width, height = _checked_size(path, size)
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(widget.palette().color(QtGui.QPalette.ColorRole.Window))
    with _laid_out_for(widget, width, height) as laid:
        scale = min(width / laid.width(), height / laid.height())
        margin = QtCore.QPointF(width - laid.width() * scale, height - laid.height() * scale) / 2
        dots_per_metre = round(widget.logicalDpiX() * scale / 0.0254)
        image.setDotsPerMeterX(dots_per_metre)
        image.setDotsPerMeterY(dots_per_metre)
        with drawing_for_export(widget, scale):
            painter = QtGui.QPainter(image)
            try:
                painter.translate(margin)
                painter.scale(scale, scale)
                widget.render(painter, QtCore.QPoint(0, 0))
            finally:
                painter.end()
    write_bytes(path, png_bytes(image, path))
    return path


def _checked_size(path: Path, size: tuple[int, int]) -> tuple[int, int]:
    low, high = PNG_SIDE_PX
    width, height = size
    if not (low <= width <= high and low <= height <= high):
        raise ExportError(
            f"cannot write {path}: a PNG of {width}x{height} pixels; each side must be {low} to {high}"
        )
    return width, height


@contextmanager
def _laid_out_for(widget: QtWidgets.QWidget, width: int, height: int) -> Iterator[QtCore.QSize]:
    """``widget`` in the shape of a width × height picture while exporting; yields its size then."""
    original = widget.size()
    scale = min(width / max(original.width(), 1), height / max(original.height(), 1))
    wanted = QtCore.QSize(round(width / scale), round(height / scale))
    resize = not widget.isWindow() and wanted != original
    if resize:
        widget.resize(wanted)  # lays the panel and its plot out again, at once
    try:
        laid = widget.size()  # a minimum size may have had its say
        yield QtCore.QSize(max(laid.width(), 1), max(laid.height(), 1))
    finally:
        if resize:
            widget.resize(original)


def png_bytes(image: QtGui.QImage, path: Path) -> bytes:
    """``image`` encoded as PNG in memory (``path`` names it in a refusal): written to a file at
    once, a full disk left a truncated picture whose header still read as whole."""
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError(f"cannot write {path}: the image could not be encoded as PNG")
    return bytes(buffer.data())


def _text_width(dpi: float) -> TextWidth:
    """A piece of SVG text's advance as Qt laid it out: sizes in px at ``dpi``, the generator's."""

    def width(text: str, family: str, size_px: float, weight: int) -> float:
        font = QtGui.QFont(family)
        font.setPointSizeF(size_px * 72.0 / dpi)
        font.setWeight(QtGui.QFont.Weight(weight))
        return QtGui.QFontMetricsF(font).horizontalAdvance(text)

    return width


def _installed_family(family: str) -> str:
    """The font family Qt draws for ``family`` (e.g. "DejaVu Sans" for its alias "Sans Serif")."""
    return QtGui.QFontInfo(QtGui.QFont(family)).family()


# ---- files ---------------------------------------------------------------------------------------


def checked_path(path: str | os.PathLike, suffix: str, what: str) -> Path:
    """``path`` as a Path, if it names a ``suffix`` file in an existing folder."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise ExportError(f"cannot write {path}: {what} file must end in {suffix}")
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"cannot write {path}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: there is no folder {folder}")
    return path


def write_bytes(path: Path, data: bytes) -> None:
    """Write the file whole or not at all (through Qt's QSaveFile: a temporary file moved onto
    ``path`` once complete), or raise ExportError naming it and the system's reason. Written in
    place, a full disk left a 0-byte or truncated file, and the one there before was gone."""
    saving = QtCore.QSaveFile(str(path))
    if not saving.open(QtCore.QIODevice.OpenModeFlag.WriteOnly):
        raise ExportError(f"cannot write {path}: {saving.errorString()}")
    if saving.write(data) != len(data) or not saving.commit():
        reason = saving.errorString()
        saving.cancelWriting()
        raise ExportError(f"cannot write {path}: {reason}")
