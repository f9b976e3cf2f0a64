"""The dashboard's compositor: a frame draws the rows it changes, and only the widgets there.

Textual's compositor draws, for a frame, every widget whose *container* meets the region that
changed, and each of them whole. A widget directly under the screen has the whole screen as
its container, so a frame that changes one line of the event stream drew the header, the KPI
row, the boards and the footer, every line of each, and then kept the one line it needed.
At two or three frames a second while the operator only watches, that was most of a frame.

Here a frame draws the widgets that are themselves in the changed rows, and of each only
those rows. What reaches the terminal is the same: only the changed rows are sent, and every
widget on them is drawn. A widget's lines left undrawn stay marked for its next frame
(Textual's styles cache forgets a dirty line only once it has drawn it).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class ChangedRowsCompositor(Compositor):
    """Textual's compositor, drawing a frame's crop band by band rather than whole widgets."""

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
        #: Drawn already, in front, and opaque: what lies wholly behind one is not drawn.
        covers: list[Region] = []
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
            if any(cover.contains_region(band) for cover in covers):
                continue  # under help, say: its cells are help's
            lines = widget.render_lines(Region(x - region.x, top - region.y, width, bottom - top))
            yield region, band, lines
            if covers_what_is_behind(widget):
                covers.append(Region(x, y, width, height))


def covers_what_is_behind(widget: Widget) -> bool:
    """A widget of a layer above the dashboard's (help, a toast) that paints every cell of
    its region: an opaque background, no opacity."""
    styles = widget.styles
    return bool(styles.layer) and styles.background.a == 1 and styles.opacity == 1
