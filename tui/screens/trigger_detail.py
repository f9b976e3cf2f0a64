"""The trigger detail: Enter on a rollback trigger. Its timeline, peak, the input signal
against threshold and clear, the alert behind it, and the events of its window, pinned."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from ...cutover.kpis import format_value
from ...cutover.trigger_detail import TriggerDetail, alert_fields
from ...widgets.events import event_line
from ...widgets.status import TRIGGER_MARK
from ...widgets.trigger_chart import signal_chart
from ...widgets.triggers import threshold_text

#: Chart columns beside its value labels, at most.
CHART_WIDTH = 60


def _at(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%H:%M:%S}"


def headline(detail: TriggerDetail) -> Text:
    status = detail.status
    spec = status.spec
    mark, style = TRIGGER_MARK[status.state]
    text = Text(f"{spec.title}  ", style="bold")
    text.append(mark, style=style)
    if spec.alertname:
        text.append(f"  alert {spec.alertname}")
    else:
        text.append(f"  now {format_value(status.value, spec.unit)}")
        text.append(f"  peak {format_value(status.peak, spec.unit)}")
        text.append(f"  threshold {threshold_text(spec)}")
        if spec.clear is not None:
            text.append(f", clears at {format_value(spec.clear, spec.unit)}")
    ack = detail.acknowledged
    if ack is not None:
        text.append(f"\nacknowledged by {ack.by} at {_at(ack.at)}", style="bold")
    return text


def timeline_text(detail: TriggerDetail) -> str:
    if not detail.timeline:
        return "  no change of state seen since the control room started"
    return "\n".join(
        f"  {entry.at:%H:%M:%S}  {entry.what}" + (f" by {entry.by}" if entry.by else "")
        for entry in detail.timeline
    )


def chart_text(detail: TriggerDetail, now: datetime, width: int) -> str:
    spec = detail.status.spec
    lines = signal_chart(
        detail.history,
        threshold=spec.threshold,
        clear=spec.clear_level,
        unit=spec.unit,
        end=now,
        interval=detail.interval,
        width=width,
    )
    return "\n".join(lines)


def alerts_text(detail: TriggerDetail) -> str:
    if not detail.alerts:
        return "  the alert is not active"
    blocks = []
    for alert in detail.alerts:
        fields = alert_fields(alert)
        width = max((len(name) for name, _ in fields), default=0)
        lines = [f"  {alert.alertname} since {_at(alert.since)}"]
        lines += [f"    {name:<{width}}  {value}" for name, value in fields]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def events_text(detail: TriggerDetail) -> Text:
    if detail.window_start is None:
        return Text("  the trigger has not gone off")
    text = Text(f"  {_at(detail.window_start)} → {_at(detail.window_end)}\n", style="dim")
    if not detail.events:
        text.append("  no platform events or failed builds in the window")
        return text
    for n, event in enumerate(detail.events):
        if n:
            text.append("\n")
        text.append("  ")
        text.append_text(event_line(event))
    return text


class TriggerDetailScreen(ModalScreen[None]):
    """One trigger in full; the app shows it again at every refresh while it is open."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "Close", id="close-trigger-detail"),
        Binding("b", "playbook", "Playbook", id="trigger-playbook"),
    ]

    class PlaybookWanted(Message):
        """The operator asks for the rollback playbook on this trigger."""

        def __init__(self, trigger: str) -> None:
            super().__init__()
            self.trigger = trigger

    DEFAULT_CSS = """
    TriggerDetailScreen { align: center middle; }
    TriggerDetailScreen > VerticalScroll {
        width: 100%; height: 100%; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    TriggerDetailScreen .detail-title { text-style: bold; background: $boost; }
    """

    def __init__(self, detail: TriggerDetail, now: datetime) -> None:
        super().__init__()
        self.detail = detail
        self.now = now

    @property
    def trigger(self) -> str:
        return self.detail.status.spec.id

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="detail-headline")
            yield Static("Timeline", classes="detail-title")
            yield Static(id="detail-timeline")
            if self.detail.status.spec.alertname:
                yield Static("Alert", classes="detail-title")
                yield Static(id="detail-alert")
            else:
                yield Static("Input signal", classes="detail-title")
                yield Static(id="detail-chart")
            yield Static("Events of its window (pinned)", classes="detail-title")
            yield Static(id="detail-events")
            yield Static("b rollback playbook · Esc closes", classes="detail-hint")

    def on_mount(self) -> None:
        self.show(self.detail, self.now)

    def show(self, detail: TriggerDetail, now: datetime) -> None:
        self.detail, self.now = detail, now
        self.query_one("#detail-headline", Static).update(headline(detail))
        self.query_one("#detail-timeline", Static).update(timeline_text(detail))
        if detail.status.spec.alertname:
            self.query_one("#detail-alert", Static).update(alerts_text(detail))
        else:
            # Beside the value labels (up to 17 columns), the border, padding and scrollbar.
            width = max(20, min(CHART_WIDTH, self.size.width - 26))
            self.query_one("#detail-chart", Static).update(chart_text(detail, now, width))
        self.query_one("#detail-events", Static).update(events_text(detail))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

    def action_playbook(self) -> None:
        self.post_message(self.PlaybookWanted(self.trigger))
        self.dismiss(None)
