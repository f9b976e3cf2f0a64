"""The event stream: build and platform events, bounded, filterable with `/`.

The notable events (failures, platform events, the operator's own actions) are kept in a
history of their own, as long as the whole stream's: at tens of builds a second the
successes would push an incident out of a shared one within seconds, and toggling `v` or
clearing a filter rebuilds the view from these histories.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping

from rich.segment import Segment
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.strip import Strip
from textual.widgets import Input, Static

from ..cutover.events import BuildEvent, PlatformEvent, StreamEvent
from .eventlog import EventLog

SEVERITY_STYLE = {"info": "", "warning": "yellow", "critical": "bold red"}
SEVERITY_WORD = {"info": "·", "warning": "WARN", "critical": "CRIT"}


def event_line(event: StreamEvent) -> Text:
    severity = event.severity
    line = Text(f"{event.ts:%H:%M:%S} ", style="dim")
    style = SEVERITY_STYLE.get(severity, "")
    line.append(f"{SEVERITY_WORD.get(severity, severity):4} ", style=style)
    if isinstance(event, PlatformEvent):
        line.append(event.text, style=style or "bold")
    else:
        line.append(event.text)
    return line


def notable(event: StreamEvent) -> bool:
    """What the stream shows by default: platform events (the operator's actions among
    them) and builds that did not succeed.

    At tens of builds a second, listing every queued and started job would scroll the
    failures away and repaint the panel continuously over the SSH link; they are counted
    instead, and `v` or a filter lists them.
    """
    if isinstance(event, PlatformEvent):
        return True
    return event.status in ("failure", "error", "cancelled") or event.event == "job.cancelled"


class PendingEvents:
    """Events waiting for the stream's next write: the last `capacity` of them, and the last
    `capacity` notable ones besides, so a burst of successes between two writes does not
    take an incident with it. Iterates in arrival order."""

    def __init__(self, capacity: int) -> None:
        self._count = 0
        self._all: deque[tuple[int, StreamEvent]] = deque(maxlen=capacity)
        self._notable: deque[tuple[int, StreamEvent]] = deque(maxlen=capacity)

    def append(self, event: StreamEvent) -> None:
        self._count += 1
        self._all.append((self._count, event))
        if notable(event):
            self._notable.append((self._count, event))

    def extend(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            self.append(event)

    def clear(self) -> None:
        self._all.clear()
        self._notable.clear()

    def __len__(self) -> int:
        return len(self._all) + sum(1 for n, _ in self._notable if n < self._oldest)

    @property
    def _oldest(self) -> int:
        return self._all[0][0] if self._all else self._count + 1

    def __iter__(self) -> Iterator[StreamEvent]:
        oldest = self._oldest
        earlier = [(n, e) for n, e in self._notable if n < oldest]
        for _, event in earlier + list(self._all):
            yield event


def matches(event: StreamEvent, needle: str) -> bool:
    """Whether `needle` narrows the stream to `event`: the mode picks the events, this the
    ones among them that are listed."""
    if not needle:
        return True
    haystack = f"{event.event} {event.severity} {event.text}"
    if isinstance(event, BuildEvent):
        haystack += f" {event.wave}"
    return needle.lower() in haystack.lower()


class EventTitle(Static):
    """The stream's one-line title, drawn as one segment in its own style: its count
    changes at every tick, and laying plain text out as content cost twice as much."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.text = ""

    def show(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.update(text, layout=False)

    def render_line(self, y: int) -> Strip:
        # Cropped or padded to the width by Textual, in the widget's background, as a
        # Static's content is.
        return Strip([Segment(self.text, self.rich_style)] if y == 0 else [])


class EventStream(Vertical):
    """The last `capacity` events; `/` opens a filter that narrows what is shown."""

    DEFAULT_CSS = """
    EventStream { height: 1fr; }
    EventStream > #event-filter { display: none; height: 1; border: none; padding: 0 1; }
    EventStream.-filtering > #event-filter { display: block; }
    EventStream > #event-title { height: 1; color: $text-muted; }
    EventStream > EventLog { height: 1fr; }
    """

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False)]

    def __init__(self, capacity: int, *, all_key: str = "v", id: str | None = None) -> None:
        """`all_key` is the all-events key as mapped, for the title to name."""
        super().__init__(id=id)
        self.capacity = capacity
        self.all_key = all_key
        self.events: deque[StreamEvent] = deque(maxlen=capacity)
        #: The notable ones, bounded on their own: no burst of successes pushes them out.
        self.notable: deque[StreamEvent] = deque(maxlen=capacity)
        self.needle = ""
        self.everything = False
        self.received: Mapping[str, int] = {}
        # Kept, not queried for: the title is shown at every tick.
        self._title_line = EventTitle(id="event-title")

    def compose(self) -> ComposeResult:
        yield self._title_line
        yield Input(placeholder="filter events (Enter to keep, Esc to clear)", id="event-filter")
        yield EventLog(self.capacity)

    def on_mount(self) -> None:
        self._title()

    @property
    def total(self) -> int:
        return sum(self.received.values())

    def add(self, events: Iterable[StreamEvent]) -> None:
        """Append a batch with a single write to the log."""
        batch = list(events)
        self.events.extend(batch)
        marked = [e for e in batch if notable(e)]
        self.notable.extend(marked)
        # Each event judged notable once: a burst brings thousands a second.
        listed = batch if self.everything else marked
        if self.needle:
            listed = [e for e in listed if matches(e, self.needle)]
        self.query_one(EventLog).write_lines(event_line(e) for e in listed[-self.capacity :])

    def clear(self) -> None:
        """Forget every event shown: a replay that seeks back fills the stream again."""
        self.events.clear()
        self.notable.clear()
        self.query_one(EventLog).clear()

    def show_counts(self, received: Mapping[str, int]) -> None:
        """The title's counters; called once a refresh, not once a batch."""
        self.received = dict(received)
        self._title()

    def toggle_everything(self) -> None:
        """List every build event, or only the notable ones."""
        self.everything = not self.everything
        self._rewrite()

    def open_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#event-filter", Input).focus()

    @on(Input.Changed, "#event-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        self._rewrite()

    @on(Input.Submitted, "#event-filter")
    def _filter_kept(self) -> None:
        self.query_one(EventLog).focus()
        if not self.needle:
            self.remove_class("-filtering")

    def action_clear_filter(self) -> None:
        field = self.query_one("#event-filter", Input)
        field.value = ""
        self.needle = ""
        self.remove_class("-filtering")
        self._rewrite()

    def _rewrite(self) -> None:
        log = self.query_one(EventLog)
        log.clear()
        # The mode's own history: the notable ones are kept apart, judged once on arrival.
        history = self.events if self.everything else self.notable
        log.write_lines(event_line(e) for e in history if matches(e, self.needle))
        self._title()

    def _title(self) -> None:
        sources = " · ".join(f"{name} {count}" for name, count in sorted(self.received.items()))
        text = f" Events · {self.total} received ({sources or 'none yet'})"
        key = self.all_key
        shown = f"all builds ({key})" if self.everything else f"failures and platform ({key}: all)"
        text += f" · {shown}"
        if self.needle:
            text += f" · filter {self.needle!r}"
        self._title_line.show(text)
