"""The cause-and-effect (fishbone, 因果图) diagram laid out from counts. Pure: no Django.

The head is the effect (the problem), the spine runs into it, and each branch (people, process, product,
policy, place, partner) is a bone: three above, three below. Causes are ribs off their bone with their
count, sub-causes are listed under their rib. Bones and ribs are thicker and redder the more complaints
they hold; a small triangle says whether the count rose (red, pointing up) or fell (green) against the
previous period. Words come in through `labels` so the caller can translate them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from loopcrm.improvement.diagram_canvas import (
    Canvas,
    Line,
    Rect,
    Text,
    fit,
    to_png,
    to_svg,
    trend_arrow,
    wrap,
)

MARGIN = 24
RIB_LENGTH = 200
BONE_GAP = 36
RIB_STEP = 22
SUB_STEP = 15
MAX_RIBS = 6
MAX_SUBS = 3
HEAD_WIDTH = 210

DEFAULT_LABELS = {
    "title": "Cause-and-effect diagram",
    "complaints": "complaints",
    "more": "more",
    "previous": "previous period",
}


@dataclass(frozen=True)
class Rib:
    """A cause on a bone (or a sub-cause under a rib)."""

    label: str
    count: int
    previous: int = 0
    key: str = ""
    ribs: tuple[Rib, ...] = ()


@dataclass(frozen=True)
class Bone:
    """A branch of the fishbone."""

    key: str
    label: str
    count: int
    previous: int = 0
    ribs: tuple[Rib, ...] = field(default_factory=tuple)


def direction(count: int, previous: int) -> str:
    return "up" if count > previous else "down" if count < previous else "flat"


def heat(count: int, most: int) -> str:
    """Grey for none, through amber to deep red for the largest count."""
    if count <= 0 or most <= 0:
        return "#94a3b8"
    share = min(1.0, count / most)
    low, mid, high = (0xf5, 0x9e, 0x0b), (0xea, 0x58, 0x0c), (0xb9, 0x1c, 0x1c)
    if share < 0.5:
        a, b, t = low, mid, share / 0.5
    else:
        a, b, t = mid, high, (share - 0.5) / 0.5
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def thickness(count: int, most: int, *, thin: float = 1.5, thick: float = 7.0) -> float:
    if count <= 0 or most <= 0:
        return thin
    return thin + (thick - thin) * min(1.0, count / most)


def _shown_ribs(bone: Bone, more_label: str) -> list[Rib]:
    ribs = sorted(bone.ribs, key=lambda rib: (-rib.count, rib.label))
    if len(ribs) <= MAX_RIBS:
        return ribs
    rest = ribs[MAX_RIBS - 1:]
    other = Rib(label=f"+{len(rest)} {more_label}", count=sum(rib.count for rib in rest),
                previous=sum(rib.previous for rib in rest), key="")
    return [*ribs[:MAX_RIBS - 1], other]


def _rib_height(rib: Rib) -> float:
    return RIB_STEP + SUB_STEP * min(len(rib.ribs), MAX_SUBS)


def layout(effect: str, bones: Sequence[Bone], *, total: int | None = None,
           labels: Mapping[str, str] | None = None) -> Canvas:
    """The fishbone of `bones` (up to six; more go round again) leading to the `effect` head."""
    words = {**DEFAULT_LABELS, **(labels or {})}
    bones = list(bones)
    top, bottom = bones[0::2], bones[1::2]
    ribs = {bone.key: _shown_ribs(bone, words["more"]) for bone in bones}
    most_bone = max([bone.count for bone in bones] + [0])
    most_rib = max([rib.count for bone in bones for rib in ribs[bone.key]] + [0])

    def reach(side: list[Bone]) -> float:
        return max([sum(_rib_height(rib) for rib in ribs[bone.key]) for bone in side] + [60]) + 36

    up, down = reach(top), reach(bottom)
    label_height = 40
    spine_y = MARGIN + label_height + up
    slant_up, slant_down = up * 0.4, down * 0.4
    columns = max(len(top), len(bottom), 1)
    spacing = RIB_LENGTH + BONE_GAP
    first_x = MARGIN + RIB_LENGTH + max(slant_up, slant_down) + 8
    spine_end = first_x + (columns - 1) * spacing + 70
    width = spine_end + HEAD_WIDTH + MARGIN
    height = spine_y + down + label_height + MARGIN
    canvas = Canvas(width=width, height=height, title=f"{words['title']}: {effect}")

    # The spine and the head (the effect).
    canvas.add(Line(points=[(MARGIN, spine_y), (spine_end, spine_y)], stroke="#334155", width=3, css="spine"))
    head_lines = wrap(effect, HEAD_WIDTH - 24, size=14, lines=3)
    head_h = max(70, 24 + 18 * len(head_lines) + 22)
    canvas.add(Rect(x=spine_end, y=spine_y - head_h / 2, w=HEAD_WIDTH, h=head_h, radius=8, fill="#fef2f2",
                    stroke="#b91c1c", width=2, css="head", tooltip=effect))
    y = spine_y - head_h / 2 + 24
    for line in head_lines:
        canvas.add(Text(x=spine_end + HEAD_WIDTH / 2, y=y, text=line, size=14, bold=True, anchor="middle",
                        css="effect"))
        y += 18
    if total is not None:
        canvas.add(Text(x=spine_end + HEAD_WIDTH / 2, y=y + 4, text=f"{total} {words['complaints']}", size=12,
                        anchor="middle", fill="#7f1d1d", css="total"))

    for side, members, reach_, slant in (("top", top, up, slant_up), ("bottom", bottom, down, slant_down)):
        sign = -1 if side == "top" else 1
        for index, bone in enumerate(members):
            joint_x = first_x + index * spacing
            end_x, end_y = joint_x - slant, spine_y + sign * reach_
            colour = heat(bone.count, most_bone)
            canvas.add(Line(points=[(end_x, end_y), (joint_x, spine_y)], stroke=colour,
                            width=thickness(bone.count, most_bone), css="bone", data={"branch": bone.key},
                            tooltip=f"{bone.label}: {bone.count} ({words['previous']}: {bone.previous})"))
            # The branch's name, count and trend at the bone's free end.
            label_y = end_y - 12 if side == "top" else end_y + 24
            name = fit(bone.label, RIB_LENGTH - 10, size=14)
            canvas.add(Text(x=end_x, y=label_y, text=name, size=14, bold=True, anchor="end", css="branch",
                            data={"branch": bone.key}))
            canvas.add(Text(x=end_x + 8, y=label_y, text=str(bone.count), size=14, bold=True, fill=colour,
                            css="branch-count", tooltip=f"{words['previous']}: {bone.previous}"))
            arrow = trend_arrow(end_x + 18 + 8.5 * len(str(bone.count)), label_y - 5,
                                direction(bone.count, bone.previous))
            if arrow:
                canvas.add(arrow)
            # Ribs: the largest cause furthest from the spine, stacked towards it.
            offset = 30.0
            for rib in ribs[bone.key]:
                depth = reach_ - offset if side == "top" else offset
                rib_y = spine_y + sign * depth if side == "top" else spine_y + depth
                bone_x = joint_x - slant * (abs(rib_y - spine_y) / reach_)
                rib_colour = heat(rib.count, most_rib)
                canvas.add(Line(points=[(bone_x - RIB_LENGTH + 20, rib_y), (bone_x, rib_y)], stroke=rib_colour,
                                width=thickness(rib.count, most_rib, thin=1, thick=4.5), css="rib",
                                data={"branch": bone.key, "cause": rib.key},
                                tooltip=f"{rib.label}: {rib.count} ({words['previous']}: {rib.previous})"))
                canvas.add(Text(x=bone_x - RIB_LENGTH + 20, y=rib_y - 4, text=fit(rib.label, RIB_LENGTH - 70),
                                size=12, css="cause", data={"cause": rib.key}, tooltip=rib.label))
                canvas.add(Text(x=bone_x - 22, y=rib_y - 4, text=str(rib.count), size=12, bold=True,
                                anchor="end", fill=rib_colour, css="cause-count"))
                arrow = trend_arrow(bone_x - 13, rib_y - 8, direction(rib.count, rib.previous), size=7)
                if arrow:
                    canvas.add(arrow)
                sub_y = rib_y + SUB_STEP - 2
                subs = sorted(rib.ribs, key=lambda sub: (-sub.count, sub.label))
                for sub in subs[:MAX_SUBS]:
                    marker = "▲" if sub.count > sub.previous else "▼" if sub.count < sub.previous else ""
                    canvas.add(Text(x=bone_x - RIB_LENGTH + 30, y=sub_y, text="– " + fit(sub.label, RIB_LENGTH - 90,
                                                                                          size=11),
                                    size=11, fill="#475569", css="sub-cause", data={"cause": sub.key},
                                    tooltip=f"{sub.label}: {sub.count}"))
                    canvas.add(Text(x=bone_x - 22, y=sub_y, text=f"{sub.count}{marker}", size=11, anchor="end",
                                    fill="#475569", css="sub-count"))
                    sub_y += SUB_STEP
                offset += _rib_height(rib)
    return canvas


def render_svg(effect: str, bones: Sequence[Bone], *, total: int | None = None,
               labels: Mapping[str, str] | None = None) -> str:
    return to_svg(layout(effect, bones, total=total, labels=labels), css_class="fishbone")


def render_png(effect: str, bones: Sequence[Bone], *, total: int | None = None,
               labels: Mapping[str, str] | None = None) -> bytes:
    return to_png(layout(effect, bones, total=total, labels=labels))
