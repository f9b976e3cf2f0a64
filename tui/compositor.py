"""The dashboard's compositor: a frame draws the rows it changes, and only the widgets there.

Textual's compositor draws, for a frame, every widget whose *container* meets the region that
changed, and each of them whole. A widget directly under the screen has the whole screen as
its container, so a frame that changes one line of the event stream drew the header, the KPI
row, the boards and the footer, every line of each, and then kept the one line it needed.
At two or three frames a second while the operator only watches, that was most of a frame.

Here a frame draws the widgets that are themselves in the changed rows, and of each only
those rows; a widget whose cells there are all taken by those in front of it (a container
under its children, the boards under help) is not drawn at all. What reaches the terminal is
the same: only the changed rows are sent, and every cell on them is drawn. A widget's lines
left undrawn stay marked for its next frame (Textual's styles cache forgets a dirty line
only once it has drawn it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip


class ChangedRowsCompositor(Compositor):
    """Textual's compositor, drawing a frame's crop band by band rather than whole widgets."""

    def render_partial_update(self) -> ChopsUpdate | None:
        update = super().render_partial_update()
        if update is not None:
            drop_chops_outside(update)
            join_alike(update)
        return update

    def _get_renders(
        self, crop: Region | None = None
    ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if not crop or crop == self.size.region:
            yield from super()._get_renders(crop)  # a whole frame: every widget, whole
            return
        crop_x, crop_y, crop_width, crop_height = crop
        crop_right, crop_bottom = crop_x + crop_width, crop_y + crop_height
        overlaps = crop.overlaps
        intersection = Region.intersection
        #: Drawn already, in front: what lies wholly behind these is not drawn.
        drawn: list[Region] = []
        for widget, (region, clip) in self.visible_widgets.items():
            if not overlaps(clip):
                continue
            x, y, width, height = intersection(region, clip)
            top, bottom = max(y, crop_y), min(y + height, crop_bottom)
            if top >= bottom or x >= crop_right or x + width <= crop_x:
                continue  # beside or above the rows that changed
            # Whole width, as Textual draws it (the frame's cuts start at the widget's edge);
            # only the rows in the crop. As the clip, the band: what is drawn is that.
            band = Region(x, top, width, bottom - top)
            if drawn and hidden(band, drawn):
                continue  # a container under its children, the boards under help
            lines = widget.render_lines(Region(x - region.x, top - region.y, width, bottom - top))
            yield region, band, lines
            drawn.append(band)


def hidden(band: Region, drawn: list[Region]) -> bool:
    """Whether the bands drawn already cover every cell of `band` between them. Textual's
    frame keeps, of each cut of a row, the strip of the first widget drawn there (front
    to back), so a widget whose every cell is taken adds nothing to the frame."""
    left, right = band.x, band.right
    for row in range(band.y, band.bottom):
        reach = left
        for x, end in sorted(
            (r.x, r.right)
            for r in drawn
            if r.y <= row < r.bottom and r.x < right and r.right > left
        ):
            if x > reach:
                return False
            reach = max(reach, end)
            if reach >= right:
                break
        if reach < right:
            return False
    return True


def drop_chops_outside(update: ChopsUpdate) -> None:
    """Leave out of `update` the pieces of a changed row that lie outside its changed spans.
    Textual writes a piece that starts where a span ends as a cursor move and nothing else:
    on each row of the event stream, a move to the scrollbar's column, a twentieth of the
    bytes of the row."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for y, x1, x2 in update.spans:
        spans.setdefault(y, []).append((x1, x2))
    for y, row in spans.items():
        line = cast("dict[int, Strip | None]", update.chops[y])  # made as a dict
        for end, (x, strip) in zip(update.chop_ends[y], line.items(), strict=False):
            if strip is not None and not any(x < x2 and end > x1 for x1, x2 in row):
                line[x] = None


def join_alike(update: ChopsUpdate) -> None:
    """Join, in each piece of `update`, the neighbouring segments that look the same on a
    terminal as one: each segment is a change of style there, and its codes are longer
    than most of the text they style. Spaces take their neighbour's style where they look
    the same in it: a row's blank margin, and the spaces that fill it to its end."""
    for y, _, _ in update.spans:
        line = cast("dict[int, Strip | None]", update.chops[y])
        for x, strip in line.items():
            if strip is not None and len(strip) > 1:
                line[x] = joined(strip)


def joined(strip: Strip) -> Strip:
    segments: list[Segment] = []
    for segment in strip:
        if segments and not segment.control and not segments[-1].control:
            text, style, _ = segment
            last_text, last_style, _ = segments[-1]
            if style == last_style or (not text.strip(" ") and blank_alike(style, last_style)):
                segments[-1] = Segment(last_text + text, last_style)
                continue
            if not last_text.strip(" ") and blank_alike(last_style, style):
                segments[-1] = Segment(last_text + text, style)
                continue
        segments.append(segment)
    if len(segments) == len(strip):
        return strip
    return Strip(segments, strip.cell_length)


def blank_alike(style: Style | None, other: Style | None) -> bool:
    """Whether a space drawn in `style` looks as one drawn in `other`: the same background,
    and neither draws a line across a cell, swaps its colours, blinks or hides it."""
    if style is None or other is None:
        return style is other
    return style.bgcolor == other.bgcolor and not any(
        s.underline or s.underline2 or s.strike or s.overline or s.reverse
        or s.blink or s.blink2 or s.conceal or s.link
        for s in (style, other)
    )  # fmt: skip
