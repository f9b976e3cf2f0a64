"""The confirmation screen: the plan, object by object, and its preconditions on live data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ...cutover.actions import ActionKind, ActionPlan, Precondition, blocking

#: Actions whose first field is their own reason, with what it asks for.
REASONED: dict[ActionKind, str] = {
    ActionKind.FREEZE: "why freeze",
    ActionKind.SIGN_OFF: "note for the sign-off (optional)",
    ActionKind.WITHDRAW_SIGNOFF: "why withdraw (optional)",
    ActionKind.SILENCE: "comment for the silence",
    ActionKind.SKIP_STEP: "why skip this step",
    ActionKind.RECUT_PLAN: "note: why, and what must hold before the wave goes again",
}
#: Of those, the ones that need their reason said.
REASON_NEEDED: dict[ActionKind, str] = {
    ActionKind.SKIP_STEP: "say why you skip the step",
    ActionKind.RECUT_PLAN: "write the re-cut's note",
}


@dataclass(frozen=True)
class Confirmed:
    """The operator's confirmation: the plan as confirmed, and any override reason."""

    plan: ActionPlan
    override: str


def plan_text(plan: ActionPlan) -> Text:
    text = Text()
    width = max(len(change.target) for change in plan.changes)
    for change in plan.changes:
        text.append(f"  {change.target:<{width}}  ", style="bold")
        text.append(f"{change.field}: ")
        text.append(change.before, style="red")
        text.append(" → ")
        text.append(change.after, style="green")
        text.append("\n")
    text.rstrip()
    return text


def checks_text(checks: tuple[Precondition, ...]) -> Text:
    text = Text()
    for check in checks:
        mark, style = ("✔", "green") if check.ok else ("✖", "bold red")
        text.append(f"  {mark} ", style=style)
        text.append(check.title)
        if check.detail and not check.ok:
            text.append(f": {check.detail}", style=style)
        text.append("\n")
    text.rstrip()
    return text


class ConfirmScreen(ModalScreen[Confirmed | None]):
    """Names exactly what will change. Freeze is one key then Enter; every other action asks
    for the target's name. Preconditions are checked again when the operator confirms."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > #dialog {
        width: 90%; max-width: 100; height: auto; max-height: 95%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen #confirm-title { text-style: bold; }
    ConfirmScreen .heading { color: $text-muted; margin-top: 1; }
    ConfirmScreen Input { margin-top: 1; }
    ConfirmScreen #confirm-error { color: $error; text-style: bold; height: auto; }
    ConfirmScreen #confirm-hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(
        self,
        plan: ActionPlan,
        check: Callable[[], tuple[Precondition, ...]],
    ) -> None:
        super().__init__()
        self.plan = plan
        self._check = check
        self.checks = check()

    @property
    def is_freeze(self) -> bool:
        return self.plan.kind is ActionKind.FREEZE

    @property
    def takes_reason(self) -> bool:
        """The first field is the action's own reason (a freeze's why, a sign-off's note)
        rather than an override reason."""
        return self.plan.kind in REASONED

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"{self.plan.title}?", id="confirm-title", markup=False)
            yield Static("This will change:", classes="heading")
            yield Static(plan_text(self.plan), id="confirm-plan", markup=False)
            yield Static("Checks on live data:", classes="heading")
            yield Static(checks_text(self.checks), id="confirm-checks", markup=False)
            if self.takes_reason:
                yield Input(
                    self.plan.reason, placeholder=REASONED[self.plan.kind], id="confirm-reason"
                )
            else:
                yield Input(
                    placeholder="override reason (needed only when a check fails)",
                    id="confirm-reason",
                )
            if self.plan.confirm_name:
                yield Input(
                    placeholder=f"type {self.plan.confirm_name} to confirm", id="confirm-name"
                )
            yield Static("", id="confirm-error", markup=False)
            yield Static("Enter confirm · Esc cancel", id="confirm-hint")

    def on_mount(self) -> None:
        focus = "#confirm-name" if self.plan.confirm_name else "#confirm-reason"
        self.query_one(focus, Input).focus()
        self.set_interval(1.0, self._recheck)

    def _recheck(self) -> None:
        checks = self._check()
        if checks != self.checks:
            self.checks = checks
            self.query_one("#confirm-checks", Static).update(checks_text(checks))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        """Check once more on live data, then confirm or say what blocks."""
        self.checks = self._check()
        self.query_one("#confirm-checks", Static).update(checks_text(self.checks))
        reason = self.query_one("#confirm-reason", Input).value.strip()
        problems: list[str] = []
        if self.plan.confirm_name:
            typed = self.query_one("#confirm-name", Input).value.strip()
            if typed != self.plan.confirm_name:
                problems.append(f"type {self.plan.confirm_name} exactly to confirm")
        if self.is_freeze and not reason:
            problems.append("say why you freeze")
        if self.plan.kind in REASON_NEEDED and not reason:
            problems.append(REASON_NEEDED[self.plan.kind])
        override = "" if self.takes_reason else reason
        blocked = blocking(self.checks, override)
        for check in blocked:
            need = "cannot be overridden" if not check.overridable else "type a reason to override"
            problems.append(f"{check.title}: {check.detail} ({need})")
        if problems:
            self.query_one("#confirm-error", Static).update("\n".join(problems))
            return
        plan = replace(self.plan, reason=reason) if self.takes_reason else self.plan
        self.dismiss(Confirmed(plan, override))

    def action_cancel(self) -> None:
        self.dismiss(None)
