"""The re-cut respected on the fake cluster: read from the ConfigMap's `waves` (a hostile
one counted in the diagnostics, not read), promote refused before `not_before` and, once it
has passed, the wave back on canary in the ConfigMap, journalled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.updates import PayloadDiagnostics, WavesUpdate
from maestro_control_room.cutover.waves import WaveState
from maestro_control_room.sources.rollouts import build_kubernetes
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.waves import WaveBoard
from tests.kube_fake import CONFIGMAPS, ROLLOUTS, FakeKube, canary_rollout
from tests.kube_harness import FAST, kube_config, running_fake, seed_configmap, watching
from tests.kube_harness import until as until_true
from tests.realstack import until
from tests.test_details import select
from tests.test_kube_app import on_cluster

NOTE = "registry must hold first"


def waves(not_before: datetime | str, **recut: Any) -> str:
    when = not_before if isinstance(not_before, str) else not_before.isoformat()
    return json.dumps({
        "Wave-1": {"state": "active", "since": "2026-11-30T09:00:00Z", "by": "dana"},
        "Wave-2": {"state": "rolled-back", "since": "2026-12-01T09:00:00Z", "by": "dana",
                   "not_before": when, "note": NOTE, "recut_by": "bob", **recut},
    })  # fmt: skip


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with running_fake() as fake:
        fake.put(ROLLOUTS, canary_rollout("maestro-api"))
        yield fake


def wave_2(kube: FakeKube) -> dict[str, Any]:
    record = json.loads(kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]["waves"])
    return dict(record["Wave-2"])


async def test_the_re_cut_is_read_and_a_hostile_one_counted(kube: FakeKube, tmp_path: Path) -> None:
    seed_configmap(kube, waves=waves("2026-12-04T14:00:00Z", note="\u202eevil"))
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        diagnostics = await until_true(lambda: seen.latest(PayloadDiagnostics), what="counted")
        assert diagnostics.rejected == {"wrong field": 1}
        (rejected,) = diagnostics.recent
        assert rejected.topic.endswith("data.waves") and rejected.detail.startswith("Wave-2: ")
        update = seen.latest(WavesUpdate)
        assert update is not None
        status = next(s for s in update.statuses if s.wave == "Wave-2")
        assert status.state is WaveState.ROLLED_BACK and status.recut is None
    kube.modify(
        CONFIGMAPS,
        "maestro-system",
        "maestro-cutover",
        lambda o: o["data"].update(waves=waves("2026-12-04T14:00:00Z")),
    )
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        update = await until_true(lambda: seen.latest(WavesUpdate), what="the waves")
        status = next(s for s in update.statuses if s.wave == "Wave-2")
        assert status.recut is not None
        assert status.recut.note == NOTE and status.recut.by == "bob"
        assert status.recut.not_before == datetime(2026, 12, 4, 14, tzinfo=UTC)


async def test_promote_on_the_cluster_waits_for_the_re_cut_then_goes_again(
    kube: FakeKube, tmp_path: Path
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    seed_configmap(kube, waves=waves(later))
    app = on_cluster(kube, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: app.view is not None and (w := app.view.wave("Wave-2")) and w.recut,
            "the re-cut wave",
        )
        board = app.query_one(WaveBoard)
        said = f"re-cut: may go again after {later:%H:%M} ({NOTE})"
        assert str(board._rows["Wave-2"][4]) == said
        await select(pilot, board, "Wave-2")
        await pilot.press("p")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(f"after {later:%H:%M}" in n.message and NOTE in n.message
                   for n in app._notifications)  # fmt: skip
        assert wave_2(kube)["state"] == "rolled-back"
        # The time the re-cut set has passed (a re-cut a minute in the past).
        earlier = datetime.now(UTC) - timedelta(minutes=1)
        kube.modify(
            CONFIGMAPS,
            "maestro-system",
            "maestro-cutover",
            lambda o: o["data"].update(waves=waves(earlier)),
        )
        await until(
            pilot,
            lambda: (
                app.view is not None
                and (w := app.view.wave("Wave-2")) is not None
                and w.recut is not None
                and w.recut.not_before < datetime.now(UTC)
            ),
            "the re-cut's time passed",
        )
        await select(pilot, board, "Wave-2")
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmScreen), [n.message for n in app._notifications]
        # No Prometheus here, so the room's inputs are not current: a reason overrides.
        await pilot.press(*"Wave-2", "shift+tab", *"re-cut time reached", "enter")
        await until(pilot, lambda: wave_2(kube)["state"] == "canary", "the wave on canary")
        record = wave_2(kube)
        assert record["by"] == "alice" and "not_before" not in record
    entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    moves = [(e["kind"], e["target"]) for e in entries if e["action"] == "promote wave"]
    assert moves == [("intent", "Wave-2"), ("result", "Wave-2")], moves
