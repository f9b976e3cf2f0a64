"""The gate check detail: Enter on a check of the Go/No-Go board. Its value, criterion,
source and age, and why it is unknown when it is."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...cutover.check_detail import CheckDetail
from ...cutover.durations import format_duration
from ...widgets.status import CHECK_MARK
from .detail import DetailScreen, at


def _age(age: timedelta | None) -> str:
    if age is None:
        return "—"
    if age < timedelta(seconds=1):
        return "just now"
    return format_duration(age) + " ago"


def headline(detail: CheckDetail) -> Text:
    result = detail.result
    spec = result.spec
    mark, style = CHECK_MARK[result.state]
    text = Text(f"{spec.key}  {spec.title}  ", style="bold")
    text.append(mark, style=style)
    text.append("  required" if spec.required else "  optional (never blocks)", style="dim")
    return text


def fields(detail: CheckDetail) -> tuple[tuple[str, str], ...]:
    """The detail's lines, name and value, in the order the screen shows them."""
    result = detail.result
    found = [
        ("Gate", detail.gate),
        ("Value", result.value or "—"),
        ("Passes when", result.spec.criterion),
        ("Looks at", detail.looks_at),
        ("Source", detail.source),
        ("Measured", at(detail.measured_at)),
        ("Age", _age(detail.age)),
    ]
    if detail.why_unknown:
        found.append(("Why unknown", detail.why_unknown))
    elif result.reason:
        found.append(("Why not", result.reason))
    return tuple(found)


def fields_text(detail: CheckDetail) -> Text:
    rows = fields(detail)
    width = max(len(name) for name, _ in rows)
    text = Text()
    for n, (name, value) in enumerate(rows):
        if n:
            text.append("\n")
        text.append(f"  {name:<{width}}  ", style="bold")
        text.append(value, style="bold yellow" if name == "Why unknown" else "")
    return text


class CheckDetailScreen(DetailScreen[CheckDetail]):
    """One gate check in full; the app shows it again at every refresh while it is open."""

    @property
    def check(self) -> str:
        return self.detail.result.spec.key

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="detail-body"):
            yield Static(id="check-headline", markup=False)
            yield Static(id="check-fields", markup=False)
            yield Static("Esc closes", classes="detail-hint", markup=False)

    def show(self, detail: CheckDetail, now: datetime) -> None:
        super().show(detail, now)
        self.query_one("#check-headline", Static).update(headline(detail))
        self.query_one("#check-fields", Static).update(fields_text(detail))
