"""The rollback playbook on a real stack: the fake cluster behind the real Kubernetes client,
a real Mosquitto and a real Alertmanager, Slack and Grafana as loopback servers that record
what they get; a second control room on the same broker watches the run, and a restarted
one resumes it from the ConfigMap."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.playbook import STEPS, StepState
from maestro_control_room.cutover.routing import Route
from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.tui.screens.playbook import PlaybookScreen
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import CONFIG, config_document
from tests.kube_fake import CONFIGMAPS, ROLLOUTS, FakeKube, canary_rollout
from tests.kube_harness import running_fake, seed_configmap
from tests.realstack import until
from tests.servers import ServerProcess, alertmanager, mosquitto
from tests.test_alertmanager_source import post_alert
from tests.test_announce import Received, server
from tests.test_playbook_app import take

__all__ = ["alertmanager", "mosquitto", "server"]  # the fixtures, imported for pytest

WAVES = {
    "Wave-1": {"state": "active", "since": "2026-11-30T09:00:00Z", "by": "dana"},
    "Wave-2": {"state": "canary", "since": "2026-12-01T09:00:00Z", "by": "dana"},
}


def revisioned(name: str, namespace: str = "maestro-system") -> dict[str, Any]:
    """A canary part-way, its revision and image as the controller and the chart set them."""
    rollout = canary_rollout(name, namespace)
    rollout["metadata"]["annotations"] = {"rollout.argoproj.io/revision": "7"}
    image = f"ghcr.io/maestro/{name}:2.15.0"
    rollout["spec"]["template"] = {"spec": {"containers": [{"name": name, "image": image}]}}
    return rollout


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with running_fake() as fake:
        fake.put(ROLLOUTS, revisioned("maestro-api"))
        fake.put(ROLLOUTS, revisioned("executor-controller", "maestro-runners"))
        seed_configmap(fake, waves=json.dumps(WAVES))
        yield fake


def mqtt(broker: ServerProcess, who: str) -> dict[str, object]:
    return {"enabled": True, "port": broker.port, "client_id": f"{who}-{uuid.uuid4()}",
            "refresh": "100ms", "keepalive": "5s"}  # fmt: skip


def on_cluster(
    kube: FakeKube, tmp_path: Path, broker: ServerProcess, alerts: ServerProcess, hooks: str
) -> ControlRoomApp:
    document = config_document(
        sources__sim={"enabled": False},
        sources__kubernetes={
            "enabled": True,
            "kubeconfig": str(kube.write_kubeconfig(tmp_path / "kubeconfig")),
            "namespaces": ["maestro-system", "maestro-runners"],
        },
        sources__mqtt=mqtt(broker, "alice"),
        sources__alertmanager={"enabled": True, "url": alerts.url, "refresh": "200ms",
                               "max_age": "3s"},
        announce={
            "slack": {"enabled": True, "webhook_url_env": "TEST_SLACK_HOOK"},
            "grafana": {"enabled": True, "url": hooks, "token_env": "TEST_GRAFANA_TOKEN",
                        "dashboard_uid": "cutover"},
        },
        audit={"path": str(tmp_path / "audit.jsonl")},
        handover={"dir": str(tmp_path / "handover")},
        ui={"refresh": "200ms"},
    )  # fmt: skip
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator="alice")


def watcher(broker: ServerProcess, tmp_path: Path, who: str) -> ControlRoomApp:
    """A control room on the broker only: no cluster, no effector, read-only."""
    document = config_document(
        sources__sim={"enabled": False},
        sources__mqtt=mqtt(broker, who),
        audit={"path": str(tmp_path / f"{who}.jsonl")},
        ui={"refresh": "200ms"},
    )
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator=who)


def cutover_data(kube: FakeKube) -> dict[str, str]:
    return dict(kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"])


async def test_the_playbook_on_the_cluster_with_real_mosquitto_and_alertmanager(
    kube: FakeKube,
    tmp_path: Path,
    mosquitto: ServerProcess,
    alertmanager: ServerProcess,
    server: tuple[str, Received],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks, received = server
    monkeypatch.setenv("TEST_SLACK_HOOK", f"{hooks}/slack")
    monkeypatch.setenv("TEST_GRAFANA_TOKEN", "t0ken")
    alice = on_cluster(kube, tmp_path, mosquitto, alertmanager, hooks)
    bob = watcher(mosquitto, tmp_path, "bob")
    async with (
        alice.run_test(size=(120, 36)) as pilot,
        bob.run_test(size=(120, 36)) as bob_pilot,
    ):
        post_alert(alertmanager, "MaestroCriticalCVE", timedelta(minutes=5), cve="CVE-2026-31337")

        def cve() -> TriggerState | None:
            view = alice.view
            return (
                next((t.state for t in view.triggers if t.spec.id == "critical-cve"), None)
                if view
                else None
            )

        await until(pilot, lambda: cve() is TriggerState.FIRING and len(alice.view.rollouts) == 2
                    and bool(alice.view.freeze.version),
                    "the CVE firing and the rollouts on screen")  # fmt: skip
        await pilot.press("b")
        assert isinstance(alice.screen, PlaybookScreen)
        await take(alice, pilot, 1)
        assert cutover_data(kube)["frozen"] == "true"
        # Plan the next steps against what the cluster now says (the freeze paused both).
        await until(
            pilot, lambda: all(r.paused for r in alice.view.rollouts), "the pauses read back"
        )
        await take(alice, pilot, 2, *"Wave-2")
        routing = json.loads(cutover_data(kube)["routing"])
        assert routing["waves"] == {"Wave-2": "legacy"} and routing["cutover"] == "maestro"
        await until(
            pilot, lambda: alice.view.routing.of("Wave-2") is Route.LEGACY, "routing read back"
        )
        await take(alice, pilot, 3, *"known-good")
        for namespace, name in (("maestro-system", "maestro-api"),
                                ("maestro-runners", "executor-controller")):  # fmt: skip
            assert kube.get(ROLLOUTS, namespace, name)["status"]["abort"] is True
        aborts = [p for p in kube.patches() if p.subresource == "status"]
        assert len(aborts) == 2 and all("resourceVersion" in p.body["metadata"] for p in aborts)
        # The second room, on the broker alone, shows who did step 3.
        await until(bob_pilot, lambda: bob.room.playbook.of("known-good").state is StepState.DONE,
                    "step 3 on bob's room")  # fmt: skip
        assert bob.room.playbook.of("known-good").by == "alice"
        assert bob.room.routing.of("Wave-2") is Route.LEGACY
        await bob_pilot.press("b")
        table = bob.screen.query_one(KeyedTable)
        # The screen opens on the last tick's view and shows the next one.
        await until(bob_pilot, lambda: "done by alice" in str(table._rows["known-good"][2]),
                    "step 3 done by alice on bob's playbook")  # fmt: skip
        await take(alice, pilot, 4)
        await take(alice, pilot, 5)
        async with httpx.AsyncClient(base_url=alertmanager.url) as client:
            answer = await client.get(
                "/api/v2/alerts", params={"filter": 'alertname="MaestroCutoverIncident"'}
            )
        (incident,) = answer.json()
        expected = {"trigger": "critical-cve", "severity": "critical", "wave": "Wave-2",
                    "operator": "alice"}  # fmt: skip
        assert expected.items() <= incident["labels"].items()
        await take(alice, pilot, 6)
        updates = [body for path, _, body in received.requests
                   if "rollback playbook in progress" in json.dumps(body)]  # fmt: skip
        paths = sorted({path for path, _, body in received.requests if body in updates})
        assert paths == ["/api/annotations", "/slack"]
        assert any("CVE" in json.dumps(body) for body in updates)
        await take(alice, pilot, 7, *"Wave-2", note="registry to hold 48 h first")
        waves = json.loads(cutover_data(kube)["waves"])
        assert waves["Wave-2"]["state"] == "rolled-back"
        assert waves["Wave-2"]["note"] == "registry to hold 48 h first"
        assert waves["Wave-2"]["not_before"] and waves["Wave-1"]["state"] == "active"
        run = json.loads(cutover_data(kube)["playbook"])
        assert set(run["steps"]) == {s.id for s in STEPS}
        assert {s["by"] for s in run["steps"].values()} == {"alice"}
        assert run["trigger"] == "critical-cve"
    # A restart resumes the run from the ConfigMap.
    again = on_cluster(kube, tmp_path, mosquitto, alertmanager, hooks)
    async with again.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: again.view is not None and again.view.playbook.started,
                    "the run read from the ConfigMap")  # fmt: skip
        assert again.view is not None and again.view.playbook.finished
        assert again.view.playbook.of("incident").by == "alice"
    # A room that connects later reads the retained run at once.
    carol = watcher(mosquitto, tmp_path, "carol")
    async with carol.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: carol.room.playbook.finished, "the retained run on carol's room")


async def test_each_step_writes_only_its_own_key_on_the_version_it_read(
    kube: FakeKube, tmp_path: Path
) -> None:
    import asyncio

    from maestro_control_room.cutover.actions import ActionKind, ActionPlan
    from maestro_control_room.cutover.playbook import StepRecord, playbook_from_data
    from maestro_control_room.sources.rollouts import build_kubernetes
    from tests.kube_harness import FAST, kube_config

    config = kube_config(kube, tmp_path)
    _, alice = build_kubernetes(config, tuning=FAST)
    _, bob = build_kubernetes(config, tuning=FAST)
    outcome = await alice.apply(ActionPlan(ActionKind.REPOINT, "Wave-2", (), "alice"))
    assert outcome.ok, outcome.message
    (sent,) = kube.patches("maestro-cutover")
    assert set(sent.body["data"]) == {"routing"} and "resourceVersion" in sent.body["metadata"]
    # Two rooms recording a step each at once: neither record is lost.
    await asyncio.gather(
        alice.record_step(StepRecord("freeze", StepState.DONE, "alice"), "critical-cve"),
        bob.record_step(StepRecord("re-point", StepState.SKIPPED, "bob", reason="done"), "x"),
    )
    data = cutover_data(kube)
    run = playbook_from_data(data, "", None)
    assert run.of("freeze").by == "alice" and run.of("re-point").by == "bob"
    assert json.loads(data["waves"]) == WAVES, "the other keys stand"
    assert {k for p in kube.patches("maestro-cutover") for k in p.body["data"]} == {
        "routing",
        "playbook",
    }


async def test_a_hostile_playbook_or_routing_in_the_configmap_is_counted_not_read(
    tmp_path: Path,
) -> None:
    from maestro_control_room.cutover.updates import (
        PayloadDiagnostics,
        PlaybookUpdate,
        RoutingUpdate,
    )
    from maestro_control_room.sources.rollouts import build_kubernetes
    from tests.kube_harness import FAST, kube_config, watching
    from tests.kube_harness import until as until_true

    with running_fake() as kube:
        seed_configmap(
            kube,
            playbook='{"steps": {"freeze": {"state": "done", "by": "\\u001b]0;owned\\u0007"}}}',
            routing='{"cutover": "jenkins"}',
        )
        source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
        async with watching(source) as seen:
            diagnostics = await until_true(lambda: seen.latest(PayloadDiagnostics), what="counted")
            assert diagnostics.rejected == {"wrong field": 2}
            assert {r.topic.rsplit(".", 1)[1] for r in diagnostics.recent} == {
                "playbook",
                "routing",
            }
            run = seen.latest(PlaybookUpdate)
            routing = seen.latest(RoutingUpdate)
            assert run is not None and not run.run.started
            assert routing is not None and routing.routing.cutover is Route.MAESTRO
