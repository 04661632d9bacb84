"""A tiny display list for the improvement diagrams, drawn to SVG or to PNG from the same layout. Pure: no Django.

The fishbone and the quality logic diagram lay themselves out once as rectangles, polylines, polygons,
circles and text on a `Canvas`; `to_svg` writes that as a standalone SVG document and `to_png` paints
the very same shapes with Pillow (optional: `PngUnavailable` says why when it cannot). Text widths are
estimated (CJK characters take a full em) so layout needs no font at all.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

FONT_FAMILY = "system-ui,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif"
# Characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF): dropped from text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
Point = tuple[float, float]


def clean(text: str) -> str:
    return _NOT_XML.sub("", str(text))


def is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def text_width(text: str, *, size: float = 13) -> float:
    """Roughly how wide `text` is drawn: wide (CJK) characters take a full em, others about 0.58 of one."""
    return sum(size if is_wide(char) else size * 0.58 for char in text)


def fit(text: str, width: float, *, size: float = 13) -> str:
    """`text`, cut with an ellipsis so it fits in `width` pixels."""
    text = clean(text)
    if text_width(text, size=size) <= width:
        return text
    out = ""
    for char in text:
        if text_width(out + char + "…", size=size) > width:
            break
        out += char
    return out + "…"


def wrap(text: str, width: float, *, size: float = 13, lines: int = 2) -> list[str]:
    """`text` broken into at most `lines` lines of `width` pixels (CJK breaks anywhere, Latin at spaces)."""
    text = clean(text).strip()
    result: list[str] = []
    current = ""
    tokens = re.findall(r"\s+|[^\s]", text)
    word = ""
    # Group Latin letters into words so they break at spaces; each wide character is its own token.
    pieces: list[str] = []
    for token in tokens:
        if token.isspace() or is_wide(token):
            if word:
                pieces.append(word)
                word = ""
            pieces.append(" " if token.isspace() else token)
        else:
            word += token
    if word:
        pieces.append(word)
    for piece in pieces:
        candidate = current + piece
        if current and text_width(candidate.rstrip(), size=size) > width:
            result.append(current.rstrip())
            current = piece.lstrip()
        else:
            current = candidate
    if current.strip():
        result.append(current.strip())
    if len(result) > lines:
        result = [*result[:lines - 1], fit(" ".join(result[lines - 1:]), width, size=size)]
    return [fit(line, width, size=size) for line in result] or [""]


@dataclass
class Shape:
    css: str = ""  # class for SVG styling hooks; ignored by the PNG painter
    data: dict[str, str] = field(default_factory=dict)  # data-* attributes (SVG only): ids for the page's htmx
    tooltip: str = ""


@dataclass
class Rect(Shape):
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    fill: str = "#ffffff"
    stroke: str = "#334155"
    width: float = 1
    radius: float = 0
    dashed: bool = False


@dataclass
class Line(Shape):
    points: list[Point] = field(default_factory=list)
    stroke: str = "#334155"
    width: float = 1
    dashed: bool = False


@dataclass
class Polygon(Shape):
    points: list[Point] = field(default_factory=list)
    fill: str = "#334155"
    stroke: str = ""


@dataclass
class Circle(Shape):
    cx: float = 0
    cy: float = 0
    r: float = 4
    fill: str = "#334155"
    stroke: str = ""
    width: float = 1


@dataclass
class Text(Shape):
    x: float = 0
    y: float = 0  # the baseline
    text: str = ""
    size: float = 13
    anchor: str = "start"  # start | middle | end
    bold: bool = False
    fill: str = "#1f2933"


@dataclass
class Canvas:
    width: float
    height: float
    title: str = ""
    background: str = "#ffffff"
    shapes: list[Shape] = field(default_factory=list)

    def add(self, shape: Shape) -> Shape:
        self.shapes.append(shape)
        return shape

    def texts(self) -> list[str]:
        return [shape.text for shape in self.shapes if isinstance(shape, Text)]


def arrow_head(tip: Point, tail: Point, *, size: float = 9) -> list[Point]:
    """A filled triangle pointing at `tip`, coming from the direction of `tail`."""
    (x1, y1), (x0, y0) = tip, tail
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    bx, by = x1 - ux * size, y1 - uy * size
    return [(x1, y1), (bx - uy * size * 0.5, by + ux * size * 0.5), (bx + uy * size * 0.5, by - ux * size * 0.5)]


def trend_arrow(x: float, y: float, direction: str, *, size: float = 8) -> Polygon | None:
    """A small triangle: up (red, more complaints), down (green) — centred on x, y. None when flat."""
    half = size / 2
    if direction == "up":
        return Polygon(points=[(x, y - half), (x + half, y + half), (x - half, y + half)], fill="#dc2626",
                       css="trend up")
    if direction == "down":
        return Polygon(points=[(x - half, y - half), (x + half, y - half), (x, y + half)], fill="#16a34a",
                       css="trend down")
    return None


# --- SVG ------------------------------------------------------------------------------------------

def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _points(points: list[Point]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _attrs(shape: Shape) -> str:
    out = f' class={quoteattr(shape.css)}' if shape.css else ""
    for key, value in shape.data.items():
        out += f" data-{re.sub(r'[^a-z0-9-]', '', key.lower())}={quoteattr(clean(value))}"
    return out


def _svg_shape(shape: Shape) -> str:
    tip = f"<title>{escape(clean(shape.tooltip))}</title>" if shape.tooltip else ""
    if isinstance(shape, Rect):
        dash = ' stroke-dasharray="6 4"' if shape.dashed else ""
        body = (f'<rect x="{_n(shape.x)}" y="{_n(shape.y)}" width="{_n(shape.w)}" height="{_n(shape.h)}" '
                f'rx="{_n(shape.radius)}" fill="{shape.fill}" stroke="{shape.stroke or "none"}" '
                f'stroke-width="{_n(shape.width)}"{dash}')
    elif isinstance(shape, Line):
        dash = ' stroke-dasharray="6 4"' if shape.dashed else ""
        body = (f'<polyline points="{_points(shape.points)}" fill="none" stroke="{shape.stroke}" '
                f'stroke-width="{_n(shape.width)}" stroke-linecap="round" stroke-linejoin="round"{dash}')
    elif isinstance(shape, Polygon):
        stroke = f' stroke="{shape.stroke}"' if shape.stroke else ""
        body = f'<polygon points="{_points(shape.points)}" fill="{shape.fill}"{stroke}'
    elif isinstance(shape, Circle):
        stroke = f' stroke="{shape.stroke}" stroke-width="{_n(shape.width)}"' if shape.stroke else ""
        body = f'<circle cx="{_n(shape.cx)}" cy="{_n(shape.cy)}" r="{_n(shape.r)}" fill="{shape.fill}"{stroke}'
    elif isinstance(shape, Text):
        weight = ' font-weight="600"' if shape.bold else ""
        return (f'<text x="{_n(shape.x)}" y="{_n(shape.y)}" font-size="{_n(shape.size)}" '
                f'text-anchor="{shape.anchor}" fill="{shape.fill}"{weight}{_attrs(shape)}>{tip}'
                f"{escape(clean(shape.text))}</text>")
    else:  # pragma: no cover - every shape is one of the above
        raise TypeError(type(shape).__name__)
    if tip:
        return f"{body}{_attrs(shape)}>{tip}</{body[1:body.index(' ')]}>"
    return f"{body}{_attrs(shape)}/>"


def to_svg(canvas: Canvas, *, css_class: str = "diagram") -> str:
    """The canvas as a standalone SVG document (UTF-8 text, well-formed XML)."""
    title = clean(canvas.title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class={quoteattr(css_class)} '
        f'viewBox="0 0 {_n(canvas.width)} {_n(canvas.height)}" width="{_n(canvas.width)}" '
        f'height="{_n(canvas.height)}" role="img" aria-label={quoteattr(title)} font-family="{FONT_FAMILY}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="0" y="0" width="{_n(canvas.width)}" height="{_n(canvas.height)}" fill="{canvas.background}"/>'
        + "".join(_svg_shape(shape) for shape in canvas.shapes) + "</svg>"
    )


# --- PNG ------------------------------------------------------------------------------------------

class PngUnavailable(Exception):
    """PNG cannot be drawn here (no Pillow, or no font for the text); the message says what to install."""


FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
MAX_PIXELS = 16_000_000
_NOTO_SC_INDEX = 2  # in Noto Sans CJK's collection: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK


def find_cjk_font() -> tuple[str, int] | None:
    """A font file (and face index) that has Chinese glyphs: $LOOPCRM_CJK_FONT, fontconfig, or a known path."""
    chosen = os.environ.get("LOOPCRM_CJK_FONT")
    if chosen:
        return (chosen, 0) if os.path.exists(chosen) else None
    fc_match = shutil.which("fc-match")
    if fc_match:
        try:
            found = subprocess.run([fc_match, "-f", "%{file}|%{index}", "sans-serif:lang=zh-cn"],  # noqa: S603
                                   capture_output=True, text=True, timeout=5, check=False).stdout
            path, _, index = found.partition("|")
            if path and os.path.exists(path) and ("CJK" in path or "wqy" in path.lower() or "Hei" in path):
                return path, int(index or 0)
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    for path in FONT_CANDIDATES:
        if os.path.exists(path):
            return path, _NOTO_SC_INDEX if path.endswith("NotoSansCJK-Regular.ttc") else 0
    return None


def _needs_cjk(canvas: Canvas) -> bool:
    return any(ord(char) > 0x2E7F for text in canvas.texts() for char in text)


def _dashes(points: list[Point], on: float, off: float) -> list[list[Point]]:
    segments: list[list[Point]] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        position = 0.0
        while position < length:
            end = min(position + on, length)
            segments.append([(x0 + (x1 - x0) * position / length, y0 + (y1 - y0) * position / length),
                             (x0 + (x1 - x0) * end / length, y0 + (y1 - y0) * end / length)])
            position = end + off
    return segments


def to_png(canvas: Canvas, *, scale: float = 2.0, font: tuple[str, int] | None = None) -> bytes:
    """The canvas painted with Pillow at `scale` × its size. Raises PngUnavailable with what to install."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as error:
        raise PngUnavailable("PNG export needs Pillow (pip install Pillow); SVG export works without it.") from error
    font = font or find_cjk_font()
    if font is None and _needs_cjk(canvas):
        raise PngUnavailable("PNG export of Chinese text needs a CJK font: install fonts-noto-cjk (Debian/Ubuntu) "
                             "or set LOOPCRM_CJK_FONT to a .ttf/.otf/.ttc with Chinese glyphs; SVG export works.")
    # A large diagram is drawn at a lower scale so the image stays under MAX_PIXELS (memory and encode time).
    scale = max(0.5, min(scale, (MAX_PIXELS / max(1.0, canvas.width * canvas.height)) ** 0.5))
    fonts: dict[tuple[float, bool], object] = {}

    def font_for(size: float, bold: bool):
        key = (size, bold)
        if key not in fonts:
            pixels = max(6, round(size * scale))
            if font is not None:
                path, index = font
                bold_path = path.replace("Regular", "Bold") if bold else path
                try:
                    fonts[key] = ImageFont.truetype(bold_path if os.path.exists(bold_path) else path, pixels,
                                                    index=index)
                except OSError:
                    fonts[key] = ImageFont.truetype(path, pixels)
            else:
                fonts[key] = ImageFont.load_default(size=pixels)
        return fonts[key]

    def at(points: list[Point]) -> list[tuple[float, float]]:
        return [(x * scale, y * scale) for x, y in points]

    image = Image.new("RGB", (max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale))),
                      canvas.background)
    draw = ImageDraw.Draw(image)
    for shape in canvas.shapes:
        if isinstance(shape, Rect):
            box = (shape.x * scale, shape.y * scale, (shape.x + shape.w) * scale, (shape.y + shape.h) * scale)
            if shape.dashed:
                draw.rounded_rectangle(box, radius=shape.radius * scale, fill=shape.fill)
                corners = [(shape.x, shape.y), (shape.x + shape.w, shape.y), (shape.x + shape.w, shape.y + shape.h),
                           (shape.x, shape.y + shape.h), (shape.x, shape.y)]
                for segment in _dashes(corners, 6, 4):
                    draw.line(at(segment), fill=shape.stroke, width=max(1, round(shape.width * scale)))
            else:
                draw.rounded_rectangle(box, radius=shape.radius * scale, fill=shape.fill,
                                       outline=shape.stroke or None, width=max(1, round(shape.width * scale)))
        elif isinstance(shape, Line):
            width = max(1, round(shape.width * scale))
            pieces = _dashes(shape.points, 6, 4) if shape.dashed else [shape.points]
            for piece in pieces:
                draw.line(at(piece), fill=shape.stroke, width=width, joint="curve")
        elif isinstance(shape, Polygon):
            draw.polygon(at(shape.points), fill=shape.fill, outline=shape.stroke or None)
        elif isinstance(shape, Circle):
            box = ((shape.cx - shape.r) * scale, (shape.cy - shape.r) * scale,
                   (shape.cx + shape.r) * scale, (shape.cy + shape.r) * scale)
            draw.ellipse(box, fill=None if shape.fill == "none" else shape.fill, outline=shape.stroke or None,
                         width=max(1, round(shape.width * scale)))
        elif isinstance(shape, Text):
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[shape.anchor]
            draw.text((shape.x * scale, shape.y * scale), clean(shape.text), fill=shape.fill,
                      font=font_for(shape.size, shape.bold), anchor=anchor)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)  # optimize=True costs seconds on a large diagram
    return out.getvalue()
