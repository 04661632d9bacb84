"""A process version drawn as an SVG flowchart: start, one box per step, arrows, end. Pure: no Django.

Each box names the step, who is responsible and the target time (the control point); mandatory steps
have a solid, heavier border and a "required" mark, optional ones a dashed border. Steps a ticket status
starts or completes automatically say so. Given a ticket's step statuses, boxes are coloured by status.
Words come in through `labels` so the caller can translate them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH = 420
BOX_WIDTH = 340
BOX_HEIGHT = 86
GAP = 34
NODE_HEIGHT = 34
MARGIN = 16
LINE_HEIGHT = 17

DEFAULT_LABELS = {
    "start": "Start",
    "end": "End",
    "target": "target",
    "required": "required",
    "optional": "optional",
    "auto_start": "starts when",
    "auto_complete": "completes when",
    "nobody": "no one named",
    "title": "Process flowchart",
    "minutes": "min",
    "hours": "h",
    "days": "d",
}

# Characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF): dropped from labels.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

STATUS_FILL = {"pending": "#ffffff", "active": "#fff7d6", "done": "#e3f4e8", "skipped": "#eef0f3"}


@dataclass(frozen=True)
class FlowStep:
    key: str
    name: str
    responsible: str
    target_minutes: int
    mandatory: bool
    start_on_status: str = ""
    complete_on_status: str = ""


def text_width(text: str, *, size: float = 13) -> float:
    """Roughly how wide `text` is drawn: wide (CJK) characters take a full em, others about 0.56 of one."""
    return sum(size if unicodedata.east_asian_width(char) in "WF" else size * 0.56 for char in text)


def fit(text: str, width: float, *, size: float = 13) -> str:
    """`text`, cut with an ellipsis so it fits in `width` pixels."""
    if text_width(text, size=size) <= width:
        return text
    out = ""
    for char in text:
        if text_width(out + char + "…", size=size) > width:
            break
        out += char
    return out + "…"


def duration_text(minutes: int, labels: Mapping[str, str] = DEFAULT_LABELS) -> str:
    """4 h 30 min, 2 d… (business time: a day is 8 working hours)."""
    labels = {**DEFAULT_LABELS, **labels}
    days, rest = divmod(minutes, 8 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} {labels['days']}")
    if hours:
        parts.append(f"{hours} {labels['hours']}")
    if mins or not parts:
        parts.append(f"{mins} {labels['minutes']}")
    return " ".join(parts)


def _xml(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def _text(x: float, y: float, content: str, *, cls: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}" text-anchor="{anchor}">{_xml(content)}</text>'


def render_svg(steps: Sequence[FlowStep], *, labels: Mapping[str, str] | None = None,
               statuses: Mapping[str, str] | None = None, status_names: Mapping[str, str] | None = None) -> str:
    """The flowchart of `steps` (in order) as a standalone SVG document.

    `statuses` maps step keys to pending/active/done/skipped to colour a ticket's progress;
    `status_names` are the words for those statuses, shown in the tooltip.
    """
    words = {**DEFAULT_LABELS, **(labels or {})}
    statuses = statuses or {}
    status_names = status_names or {}
    x0 = (WIDTH - BOX_WIDTH) / 2
    centre = WIDTH / 2
    inner = BOX_WIDTH - 24
    y = MARGIN
    parts: list[str] = []

    def arrow(y_from: float, y_to: float) -> None:
        parts.append(f'<line class="arrow" x1="{centre:.0f}" y1="{y_from:.0f}" x2="{centre:.0f}" '
                     f'y2="{y_to - 2:.0f}" marker-end="url(#arrowhead)"/>')

    parts.append(f'<g class="node start"><rect x="{centre - 60:.0f}" y="{y}" width="120" height="{NODE_HEIGHT}" '
                 f'rx="{NODE_HEIGHT / 2:.0f}"/>{_text(centre, y + 22, words["start"], cls="label")}</g>')
    y += NODE_HEIGHT
    for index, step in enumerate(steps, start=1):
        arrow(y, y + GAP)
        y += GAP
        status = statuses.get(step.key, "")
        classes = ["step", "mandatory" if step.mandatory else "optional"] + ([f"status-{status}"] if status else [])
        fill = STATUS_FILL.get(status, "#ffffff")
        mark = words["required"] if step.mandatory else words["optional"]
        tooltip = f"{index}. {step.name} — {step.responsible or words['nobody']} — {words['target']} " \
                  f"{duration_text(step.target_minutes, words)}"
        if status:
            tooltip += f" — {status_names.get(status, status)}"
        auto = []
        if step.start_on_status:
            auto.append(f"{words['auto_start']} {step.start_on_status}")
        if step.complete_on_status:
            auto.append(f"{words['auto_complete']} {step.complete_on_status}")
        box = [
            f'<g class="{" ".join(classes)}" data-key={quoteattr(_NOT_XML.sub("", step.key))} data-position="{index}">',
            f"<title>{_xml(tooltip)}</title>",
            f'<rect x="{x0:.0f}" y="{y:.0f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" fill="{fill}"'
            + (' stroke-dasharray="6 4"' if not step.mandatory else "") + "/>",
            _text(x0 + 12, y + 22, fit(f"{index}. {step.name}", inner - 70, size=14), cls="name", anchor="start"),
            _text(x0 + BOX_WIDTH - 12, y + 22, mark, cls="mark", anchor="end"),
            _text(x0 + 12, y + 22 + LINE_HEIGHT + 2, fit(step.responsible or words["nobody"], inner, size=12),
                  cls="responsible", anchor="start"),
            _text(x0 + 12, y + 22 + 2 * LINE_HEIGHT + 2,
                  f"{words['target']} {duration_text(step.target_minutes, words)}", cls="target", anchor="start"),
        ]
        if auto:
            box.append(_text(x0 + 12, y + 22 + 3 * LINE_HEIGHT + 2, fit(" · ".join(auto), inner, size=11),
                             cls="auto", anchor="start"))
        box.append("</g>")
        parts.append("".join(box))
        y += BOX_HEIGHT
    arrow(y, y + GAP)
    y += GAP
    parts.append(f'<g class="node end"><rect x="{centre - 60:.0f}" y="{y:.0f}" width="120" height="{NODE_HEIGHT}" '
                 f'rx="{NODE_HEIGHT / 2:.0f}"/>{_text(centre, y + 22, words["end"], cls="label")}</g>')
    height = y + NODE_HEIGHT + MARGIN
    style = (
        "text{font-family:system-ui,'PingFang SC','Noto Sans CJK SC',sans-serif;fill:#1f2933}"
        ".node rect{fill:#eef2ff;stroke:#4f46e5;stroke-width:1.5}.label{font-size:13px;font-weight:600}"
        ".step rect{stroke:#334155;stroke-width:1.2}.step.mandatory rect{stroke-width:2.5}"
        ".step.status-active rect{stroke:#b45309}.step.status-done rect{stroke:#15803d}"
        ".name{font-size:14px;font-weight:600}.responsible{font-size:12px}.target{font-size:12px;fill:#475569}"
        ".auto{font-size:11px;fill:#64748b}.mark{font-size:11px;fill:#64748b}"
        ".step.mandatory .mark{fill:#b91c1c;font-weight:600}"
        ".arrow{stroke:#475569;stroke-width:1.5}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flowchart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label={quoteattr(_NOT_XML.sub("", words["title"]))}>'
        f"<title>{_xml(words['title'])}</title>"
        f"<defs><marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" "
        f"markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#475569\"/>"
        f"</marker></defs><style>{style}</style>"
        + "".join(parts) + "</svg>"
    )
