"""The rollback playbook screen: the plan's seven steps as a run, each to do, done (by whom,
when, with what result) or skipped (why). Enter takes the selected step, through the one
pipeline; `s` skips it with a reason. The exec update is previewed and edited first."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from ...cutover.playbook import STEPS, PlaybookRun, StepRecord, StepState
from ...widgets.table import KeyedTable

STATE_STYLE = {StepState.TODO: "bold", StepState.DONE: "green", StepState.SKIPPED: "yellow"}


def step_cell(record: StepRecord) -> Text:
    return Text(record.line(), style=STATE_STYLE[record.state])


def headline(run: PlaybookRun, trigger_title: str, firing: str) -> Text:
    text = Text("Rollback playbook", style="bold")
    if trigger_title:
        text.append(f" · {trigger_title}")
        if firing:
            text.append(f" {firing}", style="bold red")
    text.append("\n")
    if run.started:
        when = f" at {run.started_at:%H:%M}" if run.started_at is not None else ""
        text.append(f"run started by {run.started_by or 'someone'}{when} · {run.progress()}")
    else:
        text.append("no run yet: the first step taken starts it")
    return text


class StepTable(KeyedTable):
    """The steps; the screen's words on the selected step follow the cursor."""

    def move_cursor(self, *, row: int) -> None:
        super().move_cursor(row=row)
        parent = self.parent.parent if self.parent is not None else None
        if isinstance(parent, PlaybookScreen) and parent.is_mounted:
            parent.describe()


class PlaybookScreen(ModalScreen[None]):
    """The run; the app shows it again at every refresh while it is open, so a step taken
    in another control room appears here too."""

    BINDINGS = [
        Binding("enter", "take", "Take step", id="playbook-take"),
        Binding("s", "skip", "Skip step", id="playbook-skip"),
        Binding("escape,q", "dismiss", "Close", id="close-playbook"),
    ]

    DEFAULT_CSS = """
    PlaybookScreen { align: center middle; }
    PlaybookScreen > Vertical {
        width: 100%; height: 100%; border: thick $error; background: $surface; padding: 0 1;
    }
    PlaybookScreen #playbook-headline { height: auto; }
    PlaybookScreen #playbook-steps { height: auto; margin-top: 1; }
    PlaybookScreen #playbook-step { height: auto; margin-top: 1; color: $text-muted; }
    PlaybookScreen #playbook-hint { dock: bottom; color: $text-muted; }
    """

    class TakeStep(Message):
        """The operator asks to take one step."""

        def __init__(self, step: str, trigger: str) -> None:
            super().__init__()
            self.step = step
            self.trigger = trigger

    class SkipStep(Message):
        """The operator asks to skip one step (the reason is asked at confirmation)."""

        def __init__(self, step: str, trigger: str) -> None:
            super().__init__()
            self.step = step
            self.trigger = trigger

    def __init__(
        self, run: PlaybookRun, trigger: str, trigger_title: str = "", firing: str = ""
    ) -> None:
        super().__init__()
        self.run = run
        #: The trigger the run is about: the run's own once it started, else the one given.
        self.trigger = run.trigger if run.started and not run.finished else trigger
        self.trigger_title = trigger_title
        self.firing = firing

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="playbook-headline")
            yield StepTable([("n", "#"), ("step", "Step"), ("state", "State")],
                            id="playbook-steps", noun="steps")  # fmt: skip
            yield Static(id="playbook-step")
            yield Static(
                "Enter take the step · s skip it (say why) · ↑↓ choose · Esc close",
                id="playbook-hint",
            )

    def on_mount(self) -> None:
        table = self.query_one(KeyedTable)
        self.show(self.run)
        upcoming = self.run.next_step
        if upcoming is not None:
            table.action_cursor_to(upcoming.number - 1)
        table.focus()
        self.describe()

    def show(self, run: PlaybookRun, firing: str | None = None) -> None:
        self.run = run
        if firing is not None:
            self.firing = firing
        self.query_one("#playbook-headline", Static).update(
            headline(run, self.trigger_title, self.firing)
        )
        rows = {spec.id: (str(spec.number), spec.title, step_cell(record))
                for spec, record in run.rows()}  # fmt: skip
        self.query_one(KeyedTable).sync(rows)
        self.describe()

    def describe(self) -> None:
        selected = self.selected
        spec = next((s for s in STEPS if s.id == selected), None)
        if spec is None:
            return
        record = self.run.of(spec.id)
        text = Text(f"{spec.number}. {spec.title}: {spec.what}")
        if record.state is not StepState.TODO:
            text.append(f"\n{record.line()}", style=STATE_STYLE[record.state])
        self.query_one("#playbook-step", Static).update(text)

    @property
    def selected(self) -> str | None:
        return self.query_one(KeyedTable).selected_key

    def action_take(self) -> None:
        if self.selected is not None:
            self.post_message(self.TakeStep(self.selected, self.trigger))

    def action_skip(self) -> None:
        if self.selected is not None:
            self.post_message(self.SkipStep(self.selected, self.trigger))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class ExecUpdateScreen(ModalScreen[str | None]):
    """The exec update from its template, to read and edit before it goes; ctrl+s sends it
    on to the confirmation, Esc drops it."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="exec-update-send", priority=True),
        Binding("escape", "cancel", "Cancel", id="exec-update-cancel"),
    ]

    DEFAULT_CSS = """
    ExecUpdateScreen { align: center middle; }
    ExecUpdateScreen > Vertical {
        width: 90%; max-width: 110; height: 90%; border: thick $warning; background: $surface;
        padding: 0 1;
    }
    ExecUpdateScreen TextArea { height: 1fr; }
    ExecUpdateScreen #exec-update-hint { color: $text-muted; }
    """

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Exec update: to Slack and as a Grafana annotation", classes="title")
            yield TextArea(self.message, id="exec-update-text", soft_wrap=True)
            yield Static("ctrl+s send (then confirm) · Esc cancel", id="exec-update-hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    @on(TextArea.Changed)
    def _edited(self, event: TextArea.Changed) -> None:
        self.message = event.text_area.text

    def action_send(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if text:
            self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


def firing_note(state: str, since: datetime | None) -> str:
    """`FIRING since 11:02`, for the headline."""
    return state.upper() + (f" since {since:%H:%M}" if since is not None else "")
