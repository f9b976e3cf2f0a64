"""The Kubernetes effector: freeze, unfreeze, wave moves, Go/No-Go sign-offs and the
plugin's rollout patches.

Every write is a JSON merge patch carrying `metadata.resourceVersion` of the state the
operator saw, so two control rooms acting at once cannot both win: the loser gets 409 and
`TargetChanged`, and is never retried blindly. A 403 raises `ActionForbidden`. The client
blocks, so each action runs in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..cutover.acknowledgements import acknowledged_data
from ..cutover.actions import ActionKind, ActionOutcome, ActionPlan, Change, TargetChanged
from ..cutover.argo import (
    ABORT,
    PAUSE,
    RESUME,
    RETRY,
    RolloutPatch,
    promote_full_patches,
    promote_patches,
    rollout_status,
    with_version,
)
from ..cutover.cutover_configmap import (
    SignoffError,
    WaveMoveError,
    freeze_data,
    freeze_state,
    moved_waves,
    paused_by_freeze,
    recorded_pause,
    recut_waves,
    signed_data,
    signoff_records,
    unfreeze_data,
    wave_state,
    withdrawn_data,
)
from ..cutover.permissions import AccessCheck, ActionForbidden, Permissions, required_access
from ..cutover.playbook import PlaybookRun, StepRecord, playbook_data, playbook_from_data
from ..cutover.routing import Route, Routing, routing_data, routing_from_data
from ..cutover.signers import FROM_CLUSTER, Signer
from ..cutover.waves import can_roll_back
from .kubeconfig import api_error

if TYPE_CHECKING:
    from ..cutover.config import KubernetesSection

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "rollouts"
MERGE_PATCH = "application/merge-patch+json"
#: Every write names the control room, so `managedFields` says who changed what.
FIELD_MANAGER = "maestro-control-room"
#: Pausing for a freeze retries a conflict this often: the freeze's own intent is "pause
#: whatever is moving", so a controller step in between is no reason to give up.
FREEZE_ATTEMPTS = 3

Obj = dict[str, Any]


class KubernetesEffector:
    """Carries out confirmed plans against the cluster with the plugin's own patches."""

    name = "kubernetes"

    def __init__(
        self,
        client: Any,
        section: KubernetesSection,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.section = section
        self._now = now or (lambda: datetime.now(timezone.utc))
        #: The routing switch as this effector last wrote it, for its announcement.
        self.routing: Routing | None = None

    # ---- the Effector protocol ----------------------------------------------------------

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        return await asyncio.to_thread(self._apply, plan)

    def _apply(self, plan: ActionPlan) -> ActionOutcome:
        operator = plan.operator or "unknown"
        kind = plan.kind
        if kind is ActionKind.FREEZE:
            return self._freeze(plan, operator)
        if kind is ActionKind.UNFREEZE:
            return self._unfreeze(plan)
        if kind in (ActionKind.PROMOTE_WAVE, ActionKind.ROLL_BACK_WAVE):
            return self._move_wave(plan, operator, kind is ActionKind.ROLL_BACK_WAVE)
        if kind in (ActionKind.SIGN_OFF, ActionKind.WITHDRAW_SIGNOFF):
            return self._sign_off(plan, operator, kind is ActionKind.WITHDRAW_SIGNOFF)
        if kind is ActionKind.ACKNOWLEDGE:
            return self._acknowledge(plan, operator)
        if kind is ActionKind.REPOINT:
            return self._repoint(plan, operator)
        if kind is ActionKind.PROMOTE_KNOWN_GOOD:
            return self._known_good(plan)
        if kind is ActionKind.RECUT_PLAN:
            return self._recut(plan, operator)
        if kind is ActionKind.SKIP_STEP:
            return ActionOutcome(True, f"step {plan.target} skipped: {plan.reason}")
        seen = plan.seen_versions.get(plan.target, "")
        if kind is ActionKind.PROMOTE_ROLLOUT:
            return self._patch_seen(plan.title, plan.target, seen, promote_patches, plan.changes)
        if kind is ActionKind.ABORT_ROLLOUT:
            return self._patch_seen(plan.title, plan.target, seen, lambda _: (ABORT,), plan.changes)
        # A kind this effector does not know is refused: a default must never act.
        return ActionOutcome(False, f"{plan.title}: not an action the cluster carries out")

    # ---- the plugin's other verbs, for callers that have a rollout and its version -----

    async def promote_full(self, key: str, seen: str) -> ActionOutcome:
        """`kubectl argo rollouts promote --full`; refused while the cutover is frozen."""
        return await asyncio.to_thread(self._promote_full, key, seen)

    def _promote_full(self, key: str, seen: str) -> ActionOutcome:
        # This verb does not pass the action pipeline, so it asks the freeze itself: a move
        # forward is never taken while frozen, whoever calls.
        try:
            configmap = self._get_configmap()
        except RolloutMissing:
            configmap = {}  # no cutover ConfigMap: nothing was ever frozen
        state = freeze_state(configmap.get("data") or {}, "")
        if state.frozen:
            return ActionOutcome(
                False,
                f"Promote {key} fully refused: the cutover is frozen by {state.by or 'someone'}"
                f"{': ' + state.reason if state.reason else ''}; unfreeze first",
            )
        return self._patch_seen(f"Promote {key} fully", key, seen, promote_full_patches, ())

    async def pause(self, key: str, seen: str) -> ActionOutcome:
        return await asyncio.to_thread(
            self._patch_seen, f"Pause {key}", key, seen, lambda _: (PAUSE,), ()
        )

    async def retry(self, key: str, seen: str) -> ActionOutcome:
        """`kubectl argo rollouts retry rollout`: clear the abort."""
        return await asyncio.to_thread(
            self._patch_seen, f"Retry {key}", key, seen, lambda _: (RETRY,), ()
        )

    # ---- rollouts -----------------------------------------------------------------------

    def _patch_seen(
        self,
        title: str,
        key: str,
        seen: str,
        choose: Callable[[Obj], tuple[RolloutPatch, ...]],
        changes: tuple[Change, ...],
    ) -> ActionOutcome:
        """Read the rollout, refuse if it moved since `seen`, then send the chosen patches in
        order, the first with `seen` as its precondition and each next one with the version
        the one before it wrote."""
        namespace, name = _split(key)
        current = self._get_rollout(namespace, name)
        version = str(current["metadata"].get("resourceVersion", ""))
        if seen and version != seen:
            raise TargetChanged(_changed(key, current))
        patches = choose(current)
        if not patches:
            return ActionOutcome(
                False, f"{title}: nothing to do ({rollout_status(current).phase.value})"
            )
        sent = self._send_patches(namespace, name, patches, seen or version, key)
        return ActionOutcome(True, f"{title}: done ({'; '.join(sent)})", changes)

    def _send_patches(
        self, namespace: str, name: str, patches: tuple[RolloutPatch, ...], version: str, key: str
    ) -> list[str]:
        """Send the patches; a `/status` patch that gets 404 (a CRD without the status
        subresource) is sent to the resource as the plugin's unified patch, which stands
        for it and every patch after it. What was sent, described."""
        sent = []
        for patch in patches:
            try:
                written = self._patch_rollout(
                    namespace, name, patch.subresource, patch.body, version, key
                )
                sent.append(_describe(patch.endpoint, patch.body))
            except RolloutMissing:
                if patch.subresource != "status" or patch.unified is None:
                    raise
                written = self._patch_rollout(namespace, name, "", patch.unified, version, key)
                sent.append(_describe("rollouts", patch.unified))
                break
            version = str(written["metadata"]["resourceVersion"])
        return sent

    def _get_rollout(self, namespace: str, name: str) -> Obj:
        from kubernetes import client

        api = client.CustomObjectsApi(self.client)
        what = f"get rollouts in {namespace}"
        result = _call(
            what,
            f"{namespace}/{name}",
            lambda: api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name),
        )
        return dict(result)

    def _patch_rollout(
        self,
        namespace: str,
        name: str,
        subresource: str,
        patch: Mapping[str, Any],
        version: str,
        key: str,
    ) -> Obj:
        from kubernetes import client

        api = client.CustomObjectsApi(self.client)
        body = with_version(patch, version)
        if subresource == "status":
            function = api.patch_namespaced_custom_object_status
        else:
            function = api.patch_namespaced_custom_object
        what = f"patch {PLURAL}{'/' + subresource if subresource else ''} in {namespace}"
        result = _call(
            what,
            key,
            lambda: function(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                body,
                field_manager=FIELD_MANAGER,
                _content_type=MERGE_PATCH,
            ),
        )
        return dict(result)

    def _set_paused(self, key: str, paused: bool) -> bool:
        """Pause or resume one rollout for a freeze; False when it already was so."""
        namespace, name = _split(key)
        for attempt in range(FREEZE_ATTEMPTS):
            current = self._get_rollout(namespace, name)
            if bool(current.get("spec", {}).get("paused")) == paused:
                return False
            version = str(current["metadata"]["resourceVersion"])
            try:
                patch = PAUSE if paused else RESUME
                self._patch_rollout(namespace, name, "", patch.body, version, key)
                return True
            except TargetChanged:
                if attempt == FREEZE_ATTEMPTS - 1:
                    raise
        return False

    # ---- the cutover ConfigMap ----------------------------------------------------------

    def _get_configmap(self) -> Obj:
        from kubernetes import client

        api = client.CoreV1Api(self.client)
        namespace, name = self.section.configmap_namespace, self.section.configmap_name
        response = _call(
            f"get configmaps in {namespace}",
            f"{namespace}/{name}",
            lambda: api.read_namespaced_config_map(name, namespace, _preload_content=False),
        )
        return dict(json.loads(response.data))

    def _patch_configmap(self, data: dict[str, str], version: str) -> Obj:
        from kubernetes import client

        api = client.CoreV1Api(self.client)
        namespace, name = self.section.configmap_namespace, self.section.configmap_name
        body = {"metadata": {"resourceVersion": version}, "data": data}
        response = _call(
            f"patch configmaps in {namespace}",
            f"{namespace}/{name}",
            lambda: api.patch_namespaced_config_map(
                name,
                namespace,
                body,
                field_manager=FIELD_MANAGER,
                _content_type=MERGE_PATCH,
                _preload_content=False,
            ),
        )
        return dict(json.loads(response.data))

    def _configmap_as_seen(self, seen: str) -> Obj:
        configmap = self._get_configmap()
        version = str(configmap["metadata"].get("resourceVersion", ""))
        if seen and version != seen:
            name = f"{self.section.configmap_namespace}/{self.section.configmap_name}"
            raise TargetChanged(f"changed since you looked: {name} is now at {version}")
        return configmap

    def _freeze(self, plan: ActionPlan, operator: str) -> ActionOutcome:
        seen = plan.seen_versions.get("freeze", "")
        configmap = self._configmap_as_seen(seen)
        if configmap.get("data", {}).get("frozen") == "true":
            raise TargetChanged("changed since you looked: already frozen")
        version = str(configmap["metadata"]["resourceVersion"])
        # The ConfigMap first, with the precondition: of two freezes at once, one wins here.
        frozen = freeze_data(operator, plan.reason, self._now())
        written = self._patch_configmap(frozen, version)
        wanted = [c.target for c in plan.changes if c.field == "paused" and c.after == "true"]
        paused: list[str] = []
        try:
            for key in wanted:
                if self._set_paused(key, True):
                    paused.append(key)
        finally:
            # Record what this freeze paused even if a pause failed, so unfreeze resumes it.
            self._record_paused(paused, frozen, written)
        skipped = sorted(set(wanted) - set(paused))
        changes = [Change("cutover", "frozen", "false", "true")]
        changes += [Change(key, "paused", "false", "true") for key in paused]
        note = f"; already paused: {', '.join(skipped)}" if skipped else ""
        return ActionOutcome(True, f"Frozen; paused {len(paused)} rollout(s){note}", tuple(changes))

    def _record_paused(self, paused: list[str], frozen: dict[str, str], configmap: Obj) -> None:
        """Write what this freeze paused into the ConfigMap as it is now: on a conflict the
        ConfigMap is read again and the record derived again from what it then says."""
        for attempt in range(FREEZE_ATTEMPTS):
            data = recorded_pause(configmap.get("data") or {}, frozen, paused)
            if data is None:
                left = ", ".join(paused) or "none"
                raise TargetChanged(
                    "changed since you looked: the freeze was lifted while it paused;"
                    f" still paused: {left}"
                )
            try:
                self._patch_configmap(data, str(configmap["metadata"]["resourceVersion"]))
                return
            except TargetChanged:
                # Another writer (a wave move, an unfreeze) came in between.
                if attempt == FREEZE_ATTEMPTS - 1:
                    raise
                configmap = self._get_configmap()

    def _unfreeze(self, plan: ActionPlan) -> ActionOutcome:
        seen = plan.seen_versions.get("freeze", "")
        configmap = self._configmap_as_seen(seen)
        data = configmap.get("data") or {}
        if data.get("frozen") != "true":
            raise TargetChanged("changed since you looked: not frozen any more")
        keys = paused_by_freeze(data)
        self._patch_configmap(unfreeze_data(), str(configmap["metadata"]["resourceVersion"]))
        resumed = [key for key in keys if self._resume_if_present(key)]
        changes = [Change("cutover", "frozen", "true", "false")]
        changes += [Change(key, "paused", "true", "false") for key in resumed]
        return ActionOutcome(True, f"Unfrozen; resumed {len(resumed)} rollout(s)", tuple(changes))

    def _resume_if_present(self, key: str) -> bool:
        try:
            return self._set_paused(key, False)
        except LookupError:
            return False  # deleted since the freeze: nothing to resume

    def _move_wave(self, plan: ActionPlan, operator: str, roll_back: bool) -> ActionOutcome:
        wave = plan.target
        configmap = self._configmap_as_seen(plan.seen_versions.get(wave, ""))
        try:
            before, after, data = moved_waves(
                configmap.get("data") or {}, wave, roll_back, operator, self._now()
            )
        except WaveMoveError as error:
            return ActionOutcome(False, str(error))
        self._patch_configmap(data, str(configmap["metadata"]["resourceVersion"]))
        change = Change(wave, "state", before.value, after.value)
        return ActionOutcome(True, f"{plan.title}: {before.value} → {after.value}", (change,))

    def _sign_off(self, plan: ActionPlan, operator: str, withdraw: bool) -> ActionOutcome:
        """Sign the role's Go/No-Go line as the operator (the plan's reason is the note), or
        withdraw its sign-off, in the ConfigMap's `signoffs` as the operator saw it."""
        role = plan.target
        configmap = self._configmap_as_seen(plan.seen_versions.get("signoffs", ""))
        data = configmap.get("data") or {}
        try:
            if withdraw:
                was = str(signoff_records(data).get(role, {}).get("by") or "")
                written = withdrawn_data(data, role)
                change = Change("sign-off", role, f"signed by {was}", "unsigned")
                message = f"{role} sign-off withdrawn (was {was})"
            else:
                written = signed_data(data, role, operator, self._now(), plan.reason)
                change = Change("sign-off", role, "unsigned", f"signed by {operator}")
                message = f"{role} signed off by {operator}"
        except SignoffError as error:
            return ActionOutcome(False, str(error))
        self._patch_configmap(written, str(configmap["metadata"]["resourceVersion"]))
        return ActionOutcome(True, message, (change,))

    def _acknowledge(self, plan: ActionPlan, operator: str) -> ActionOutcome:
        """Record the acknowledgement in the ConfigMap's `acknowledged`, read-modify-write
        on its current version: a write in between (a wave move) is retried, since an
        acknowledgement does not depend on what else the ConfigMap says."""
        for attempt in range(FREEZE_ATTEMPTS):
            configmap = self._get_configmap()
            data = configmap.get("data") or {}
            version = str(configmap["metadata"]["resourceVersion"])
            written = acknowledged_data(data, plan.target, operator, self._now())
            try:
                self._patch_configmap(written, version)
                break
            except TargetChanged:
                if attempt == FREEZE_ATTEMPTS - 1:
                    raise
        change = Change(plan.target, "acknowledged", "no", f"by {operator}")
        return ActionOutcome(True, f"{plan.target} acknowledged by {operator}", (change,))

    # ---- the rollback playbook -----------------------------------------------------------

    def _read_modify_write(self, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
        """Write what `change` derives from the ConfigMap's data as it is now, with its
        resourceVersion; a write in between (another room's step) is read again and retried,
        since each of these records is derived afresh from what the ConfigMap then says."""
        for attempt in range(FREEZE_ATTEMPTS):
            configmap = self._get_configmap()
            data = dict(configmap.get("data") or {})
            try:
                self._patch_configmap(change(data), str(configmap["metadata"]["resourceVersion"]))
                return
            except TargetChanged:
                if attempt == FREEZE_ATTEMPTS - 1:
                    raise

    def _repoint(self, plan: ActionPlan, operator: str) -> ActionOutcome:
        """The routing switch in the ConfigMap's `routing`: the dispatcher obeys it."""
        said: list[str] = []

        def change(data: dict[str, str]) -> dict[str, str]:
            before = routing_from_data(data, "", None)
            after = before.re_pointed(plan.target, Route.LEGACY, operator, self._now())
            said[:] = [before.describe(), after.describe()]
            self.routing = after
            return routing_data(after)

        self._read_modify_write(change)
        before, after = said
        return ActionOutcome(
            True,
            f"{plan.target} builds re-pointed to legacy (routing {before} → {after})",
            (Change("routing", plan.target, before, after),),
        )

    def _known_good(self, plan: ActionPlan) -> ActionOutcome:
        """Each rollout back to its stable ReplicaSet: the plugin's abort, on the version the
        operator saw (a rollout that moved since is named and left alone)."""
        done: list[Change] = []
        moved: list[str] = []
        for key, seen in sorted(plan.seen_versions.items()):
            try:
                self._patch_seen(plan.title, key, seen, lambda _: (ABORT,), ())
            except TargetChanged:
                moved.append(key)
                continue
            shown = next((c for c in plan.changes if c.target == key), None)
            done.append(Change(key, "runs", shown.before if shown else "canary",
                               shown.after if shown else "stable"))  # fmt: skip
        note = f"; changed since you looked, left alone: {', '.join(moved)}" if moved else ""
        if not done:
            raise TargetChanged(f"changed since you looked: {', '.join(moved)}")
        return ActionOutcome(True, f"{len(done)} rollout(s) back to the stable ReplicaSet{note}",
                             tuple(done))  # fmt: skip

    def _recut(self, plan: ActionPlan, operator: str) -> ActionOutcome:
        """The wave rolled back if it was not, with when it may go again and the note, in
        the wave's record of `waves`."""
        wave = plan.target
        not_before = plan.details.get("not_before", "")
        changes: list[Change] = []

        def change(data: dict[str, str]) -> dict[str, str]:
            changes.clear()
            if plan.details.get("roll_back") == "yes" and can_roll_back(wave_state(data, wave)):
                before, after, moved = moved_waves(data, wave, True, operator, self._now())
                changes.append(Change(wave, "state", before.value, after.value))
                data = {**data, **moved}
            return recut_waves(data, wave, not_before, plan.reason, operator)

        self._read_modify_write(change)
        changes.append(Change(wave, "may go again", "—", f"after {not_before[:16]}"))
        return ActionOutcome(True, f"{wave} re-cut: may go again after {not_before[:16]}",
                             tuple(changes))  # fmt: skip

    async def record_step(self, record: StepRecord, trigger: str) -> PlaybookRun:
        """Write one step into the ConfigMap's `playbook` (read-modify-write)."""
        return await asyncio.to_thread(self._record_step, record, trigger)

    def _record_step(self, record: StepRecord, trigger: str) -> PlaybookRun:
        written: list[PlaybookRun] = []

        def change(data: dict[str, str]) -> dict[str, str]:
            run = playbook_from_data(data, "", None).with_record(record, trigger=trigger)
            written[:] = [run]
            return playbook_data(run)

        self._read_modify_write(change)
        return written[0]

    # ---- permissions --------------------------------------------------------------------

    def review_access(self) -> Permissions:
        """A SelfSubjectAccessReview for each verb the actions need (blocking)."""
        from kubernetes import client

        api = client.AuthorizationV1Api(self.client)
        section = self.section
        checks = []
        for verb, resource, namespace in required_access(
            section.namespaces, section.configmap_namespace
        ):
            plural, _, subresource = resource.partition("/")
            # The object the action touches: RBAC's resourceNames match only a named review.
            name = section.configmap_name if plural == "configmaps" else None
            attributes = client.V1ResourceAttributes(
                verb=verb,
                group="" if plural == "configmaps" else GROUP,
                resource=plural,
                subresource=subresource or None,
                namespace=namespace,
                name=name,
            )
            review = client.V1SelfSubjectAccessReview(
                spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
            )
            answer = api.create_self_subject_access_review(review)
            status = answer.status
            checks.append(
                AccessCheck(
                    verb,
                    resource,
                    namespace,
                    bool(status.allowed),
                    str(status.reason or status.evaluation_error or ""),
                )
            )
        identity, identity_error = self.review_identity()
        return Permissions(
            tuple(checks),
            tuple(section.namespaces),
            section.configmap_namespace,
            identity=identity,
            identity_error=identity_error,
        )

    def review_identity(self) -> tuple[Signer | None, str]:
        """Who the API server says this operator is: a SelfSubjectReview (blocking). The
        user and groups decide whose sign-off a decision is; an error is kept to show."""
        from kubernetes import client

        try:
            answer = client.AuthenticationV1Api(self.client).create_self_subject_review(
                client.V1SelfSubjectReview()
            )
        except Exception as error:
            status, message = api_error(error)
            return None, f"SelfSubjectReview failed: {status or ''} {message}".strip()
        info = answer.status.user_info if answer.status is not None else None
        if info is None or not info.username:
            return None, "SelfSubjectReview named no user"
        return Signer(str(info.username), tuple(info.groups or ()), FROM_CLUSTER), ""


def _split(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name


def _describe(endpoint: str, body: Mapping[str, Any]) -> str:
    return f"{endpoint} {json.dumps(body, separators=(',', ':'))}"


def _changed(key: str, current: Obj) -> str:
    status = rollout_status(current)
    return (
        f"changed since you looked: {key} is now {status.phase.value}"
        f" step {status.step}/{status.steps}"
    )


class RolloutMissing(LookupError):
    """The object is not there (404)."""


def _call(what: str, target: str, request: Callable[[], Any]) -> Any:
    """One API call, its failures said in the cutover's words."""
    from kubernetes.client.exceptions import ApiException

    try:
        return request()
    except ApiException as error:
        status, message = api_error(error)
        if status == 409:
            raise TargetChanged(f"changed since you looked: {target} ({message})") from None
        if status == 403:
            raise ActionForbidden(f"forbidden: {what}") from None
        if status == 404 and what.startswith("get rollouts") and not _names_an_object(error):
            raise RolloutMissing(
                f"Argo Rollouts ({GROUP}/{VERSION} {PLURAL}) is not installed: {what}"
            ) from None
        if status == 404:
            raise RolloutMissing(f"{target}: not found") from None
        raise RuntimeError(f"{what}: {status} {message}") from None


def _names_an_object(error: Exception) -> bool:
    """A 404 about an object names it in `details`; one about a path the server has no
    route for (a resource it does not serve) does not."""
    try:
        details = json.loads(getattr(error, "body", None) or "{}").get("details") or {}
    except (ValueError, AttributeError):
        return False
    return bool(details.get("name"))
