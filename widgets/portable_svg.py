"""Qt's SVG output made into a figure that other programs draw as muonscope drew it.

Qt's ``QSvgGenerator`` writes what the painter did, and three of its habits spoil a figure:

* Plot areas are not clipped (SVG Tiny 1.2 has no clip paths; Qt 6.11's SVG 1.1 clips are shifted
  and outlive their painter state). The exporter paints a marker rectangle in two reserved colours
  before and after each plot area's items; what lies between them is wrapped in a clip path of
  that rectangle (:func:`_clip_plot_areas`).
* Curves are written in data units under the plot's matrix with screen-width strokes
  (``vector-effect="non-scaling-stroke"``); see :func:`_bake_cosmetic_strokes`.
* Fonts are named as Qt's aliases ("Sans Serif"), which other programs do not know.

It is also verbose where a panel draws thousands of marks: each of panel ③'s 8,192 dots was a group
of its own, repeating the same five style attributes, around four Bézier arcs (3.3 MB for one panel).
Runs of identical sibling groups become one group and circles are written as circles
(:func:`_compact_marks`).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

__all__ = ["PLOT_AREA_END", "PLOT_AREA_START", "SVG_NS", "TextWidth", "portable_svg"]

SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
#: Stroke colours reserved for the marker rectangles around each plot area's items.
PLOT_AREA_START = "#fd01fe"
PLOT_AREA_END = "#fe01fd"

_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
#: Qt writes paths with absolute moves, lines and cubic curves only; anything else is left as written.
_PATH_TOKEN = re.compile(r"([MLCZ])|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_G = f"{{{SVG_NS}}}g"

ET.register_namespace("", SVG_NS)  # the SVG namespace as the default one, without a prefix
ET.register_namespace("xlink", _XLINK_NS)

Matrix = tuple[float, float, float, float, float, float]


def portable_svg(
    svg: bytes,
    font_family: Callable[[str], str] = lambda family: family,
    text_width: TextWidth | None = None,
) -> bytes:
    """Qt's SVG with plot areas clipped, plot transforms baked into coordinates, lines of text whole
    and fonts named.

    ``font_family`` maps a family as Qt wrote it to the installed family it stands for; a generic
    ``sans-serif`` follows it for programs without that font. ``text_width`` measures a piece of
    text as Qt laid it out (see :func:`_join_split_lines`); without it, pieces stay as written.
    """
    root = ET.fromstring(svg)
    _clip_plot_areas(root)
    _bake_cosmetic_strokes(root)
    _compact_marks(root)
    if text_width is not None:
        _join_split_lines(root, text_width)
    families: dict[str, str] = {}
    for element in root.iter():
        family = element.get("font-family")
        if family is not None:
            if family not in families:
                families[family] = f"{font_family(family)}, sans-serif"
            element.set("font-family", families[family])
    root.set("version", "1.1")  # clip paths are SVG 1.1, not Tiny 1.2
    root.attrib.pop("baseProfile", None)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# ---- text ----------------------------------------------------------------------------------------

#: (text, font family, font size in px, font weight) → its advance in px, as Qt lays it out.
TextWidth = Callable[[str, str, float, int], float]
#: How far apart, in px, the end of one piece of text and the start of the next may lie and still
#: be one line (Qt's own layout puts them within a hundredth of a pixel).
_JOIN_TOLERANCE_PX = 0.5
_TEXT = f"{{{SVG_NS}}}text"


def _join_split_lines(root: ET.Element, text_width: TextWidth) -> None:
    """Write each line Qt split into pieces (at a change of script: "guide: slope 1/(2" and "α) =
    0.33") as one text element.

    Each piece is placed where Qt's font put the previous one's end; another program, drawing the
    pieces with its own font's widths, left a gap before every Greek letter ("1/(2   α)") or ran
    them together. One element is laid out by the program itself, whatever its font.
    """
    for parent in root.iter():
        children = list(parent)
        index = 0
        while index < len(children) - 1:
            piece, after = children[index], children[index + 1]
            if _continues(piece, after, text_width):
                piece.text = (piece.text or "") + (after.text or "")
                parent.remove(after)
                del children[index + 1]
            else:
                index += 1


def _continues(piece: ET.Element, after: ET.Element, text_width: TextWidth) -> bool:
    """Whether ``after`` is the rest of ``piece``'s line: both plain text of one style on one
    baseline, ``after`` starting where ``piece`` ends."""
    if piece.tag != _TEXT or after.tag != _TEXT or len(piece) or len(after):
        return False
    if _placed_apart(piece) != _placed_apart(after):
        return False
    try:
        start, next_start = float(piece.get("x", "")), float(after.get("x", ""))
        size_px, weight = float(piece.get("font-size", "")), int(piece.get("font-weight", "400"))
    except ValueError:
        return False
    end = start + text_width(piece.text or "", piece.get("font-family", ""), size_px, weight)
    return abs(end - next_start) <= _JOIN_TOLERANCE_PX


def _placed_apart(text: ET.Element) -> dict[str, str]:
    """A text element's attributes but its x: its style and baseline."""
    return {name: value for name, value in text.attrib.items() if name != "x"}


# ---- plot areas ----------------------------------------------------------------------------------


def _clip_plot_areas(root: ET.Element) -> None:
    """Wrap everything between a start and an end marker in a clip path of the marker's rectangle."""
    defs = root.find(f"{{{SVG_NS}}}defs")
    if defs is None:
        defs = ET.Element(f"{{{SVG_NS}}}defs")
        root.insert(0, defs)
    count = 0
    for parent in [element for element in root.iter() if _holds_marker(element)]:
        children = list(parent)
        for child in children:
            parent.remove(child)
        targets = [parent]
        for child in children:
            kind = _marker_kind(child)
            if kind == PLOT_AREA_START:
                count += 1
                clip = _clip_path(child, f"plot-area-{count}")
                defs.append(clip)
                area = ET.SubElement(targets[-1], _G, {"clip-path": f"url(#{clip.get('id')})"})
                targets.append(area)
            elif kind == PLOT_AREA_END:
                if len(targets) > 1:
                    targets.pop()
            else:
                targets[-1].append(child)


def _holds_marker(element: ET.Element) -> bool:
    return any(_marker_kind(child) is not None for child in element)


def _marker_kind(element: ET.Element) -> str | None:
    """PLOT_AREA_START or PLOT_AREA_END for a marker's group, else None."""
    if element.tag != _G or element.get("stroke") not in (PLOT_AREA_START, PLOT_AREA_END):
        return None
    shapes = list(element)
    if len(shapes) != 1 or shapes[0].tag != f"{{{SVG_NS}}}rect":
        return None
    return element.get("stroke")


def _clip_path(marker: ET.Element, name: str) -> ET.Element:
    """A clipPath of the marker's rectangle, in the coordinates of the marker's group's parent."""
    rect = marker[0]
    x, y, w, h = (float(rect.get(key, "0")) for key in ("x", "y", "width", "height"))
    matrix = _matrix(marker.get("transform", "")) or (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    corners = [_map(matrix, cx, cy) for cx, cy in ((x, y), (x + w, y), (x + w, y + h), (x, y + h))]
    left, top = min(c[0] for c in corners), min(c[1] for c in corners)
    right, bottom = max(c[0] for c in corners), max(c[1] for c in corners)
    clip = ET.Element(f"{{{SVG_NS}}}clipPath", {"id": name})
    ET.SubElement(
        clip,
        f"{{{SVG_NS}}}rect",
        {"x": _num(left), "y": _num(top), "width": _num(right - left), "height": _num(bottom - top)},
    )
    return clip


# ---- screen-width strokes --------------------------------------------------------------------------


def _bake_cosmetic_strokes(root: ET.Element) -> None:
    """Put plot transforms into the coordinates of the shapes drawn with screen-width pens.

    Qt writes a curve in data units inside ``<g transform="matrix(…)">`` with
    ``vector-effect="non-scaling-stroke"``, so that its 2 px pen is not scaled by, say, 160 px per
    unit. Programs without that attribute (several editors and converters) draw such a curve as a
    band hundreds of pixels wide, and those with it keep lines at screen width when the figure is
    enlarged. Mapping the points through the matrix and dropping both attributes gives plain
    shapes in the figure's pixels, whose strokes scale with the figure like everything else.
    Groups that hold anything else (text, images, shapes with scaling pens) are left as written.
    """
    for group in root.iter(_G):
        matrix = _matrix(group.get("transform", ""))
        shapes = list(group)
        if matrix is None or not shapes:
            continue
        baked = [_baked_shape(shape, matrix) for shape in shapes]
        if any(attributes is None for attributes in baked):
            continue
        del group.attrib["transform"]
        for shape, attributes in zip(shapes, baked, strict=True):
            _replace_shape(shape, attributes)


def _matrix(transform: str) -> Matrix | None:
    match = _MATRIX.match(transform)
    if match is None:
        return None
    try:
        values = tuple(float(value) for value in match.group(1).replace(",", " ").split())
    except ValueError:
        return None
    return values if len(values) == 6 else None  # type: ignore[return-value]


def _baked_shape(shape: ET.Element, matrix: Matrix) -> dict[str, str] | None:
    """The shape's new attributes (a path or a polyline in outer coordinates), or None if it stays."""
    if shape.get("vector-effect") != "non-scaling-stroke":
        return None
    tag = shape.tag.removeprefix(f"{{{SVG_NS}}}")
    if tag in ("polyline", "polygon"):
        points = _numbers(shape.get("points", ""))
        if points is None or len(points) % 2:
            return None
        return {"tag": tag, "points": " ".join(_pairs(points, matrix))}
    if tag == "rect" and not (shape.get("rx") or shape.get("ry")):
        corners = _numbers(" ".join(shape.get(key, "0") for key in ("x", "y", "width", "height")))
        if corners is None:
            return None
        x, y, w, h = corners
        a, b, c, d = _pairs([x, y, x + w, y, x + w, y + h, x, y + h], matrix)
        return {"tag": "path", "d": f"M{a} L{b} L{c} L{d} Z"}
    if tag == "path":
        d = _baked_path(shape.get("d", ""), matrix)
        return None if d is None else {"tag": "path", "d": d}
    return None


def _baked_path(d: str, matrix: Matrix) -> str | None:
    """``d`` with every coordinate pair mapped, or None if it holds anything but M, L, C and Z."""
    if re.sub(r"[\s,]+", "", _PATH_TOKEN.sub(" ", d)):
        return None  # something besides M, L, C, Z, numbers and separators
    tokens = [letter or float(number) for letter, number in _PATH_TOKEN.findall(d)]
    out, i = [], 0
    while i < len(tokens):
        letter, numbers = tokens[i], []
        i += 1
        while i < len(tokens) and not isinstance(tokens[i], str):
            numbers.append(tokens[i])
            i += 1
        if not isinstance(letter, str) or (letter == "Z") != (not numbers) or len(numbers) % 2:
            return None
        out.append(letter + " ".join(_pairs(numbers, matrix)))
    return " ".join(out)


def _replace_shape(shape: ET.Element, attributes: dict[str, str]) -> None:
    for name in ("vector-effect", "x", "y", "width", "height", "d", "points"):
        shape.attrib.pop(name, None)
    shape.tag = f"{{{SVG_NS}}}{attributes.pop('tag')}"
    shape.attrib.update(attributes)


# ---- many marks ------------------------------------------------------------------------------------

#: Group attributes that make a group more than shared style: merging two such groups would change
#: what is drawn (opacity composites the group as a whole) or what refers to it.
_GROUP_ONLY = ("opacity", "filter", "mask", "id")
#: How far (pixels) a written arc's points may be from a circle's and still count as one.
_CIRCLE_TOLERANCE_PX = 0.01


def _compact_marks(root: ET.Element) -> None:
    """Merge each run of sibling groups with the same attributes; write four-arc circles as circles."""
    for parent in [element for element in root.iter() if len(element) > 1]:
        _merge_sibling_groups(parent)
    for path in root.iter(f"{{{SVG_NS}}}path"):
        circle = _as_circle(path.get("d", ""))
        if circle is not None:
            cx, cy, r = circle
            del path.attrib["d"]
            path.attrib.pop("fill-rule", None)  # a circle has no self-intersections to rule on
            path.tag = f"{{{SVG_NS}}}circle"
            path.attrib.update({"cx": _num(cx), "cy": _num(cy), "r": _num(r)})


def _merge_sibling_groups(parent: ET.Element) -> None:
    kept: ET.Element | None = None
    for child in list(parent):
        mergeable = child.tag == _G and not any(name in child.attrib for name in _GROUP_ONLY)
        if mergeable and kept is not None and child.attrib == kept.attrib:
            kept.extend(list(child))
            parent.remove(child)
        else:
            kept = child if mergeable else None


def _as_circle(d: str) -> tuple[float, float, float] | None:
    """(cx, cy, r) when ``d`` is a closed path of four cubic quarter arcs of one circle, as Qt writes
    an ellipse with equal radii; else None."""
    tokens = [letter or float(number) for letter, number in _PATH_TOKEN.findall(d)]
    if [t for t in tokens if isinstance(t, str)] != ["M", "C", "C", "C", "C", "Z"] or len(tokens) != 32:
        return None
    numbers = [t for t in tokens if not isinstance(t, str)]
    ends = [(numbers[i], numbers[i + 1]) for i in (0, 6, 12, 18, 24)]  # the start, each arc's end
    cx, cy = (ends[0][0] + ends[2][0]) / 2, (ends[0][1] + ends[2][1]) / 2
    r = math.dist(ends[0], (cx, cy))
    if r == 0 or math.dist(ends[4], ends[0]) > _CIRCLE_TOLERANCE_PX:
        return None
    kappa = 4 * (math.sqrt(2) - 1) / 3  # a quarter arc's control points, as a fraction of r
    for arc in range(4):
        (x0, y0), (x3, y3) = ends[arc], ends[arc + 1]
        if abs(math.dist((x3, y3), (cx, cy)) - r) > _CIRCLE_TOLERANCE_PX:
            return None
        controls = numbers[2 + 6 * arc : 6 + 6 * arc]
        expected = (
            x0 + kappa * (x3 - cx),
            y0 + kappa * (y3 - cy),
            x3 + kappa * (x0 - cx),
            y3 + kappa * (y0 - cy),
        )
        if max(abs(a - b) for a, b in zip(controls, expected, strict=True)) > _CIRCLE_TOLERANCE_PX:
            return None
    return cx, cy, r


# ---- numbers -------------------------------------------------------------------------------------------


def _numbers(text: str) -> list[float] | None:
    try:
        return [float(value) for value in text.replace(",", " ").split()]
    except ValueError:
        return None


def _map(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


def _pairs(numbers: list[float], matrix: Matrix) -> list[str]:
    mapped = (_map(matrix, x, y) for x, y in zip(numbers[0::2], numbers[1::2], strict=True))
    return [f"{_num(x)},{_num(y)}" for x, y in mapped]


def _num(value: float) -> str:
    """A pixel coordinate to a thousandth of a pixel, without trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
