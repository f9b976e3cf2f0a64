"""The fake API server on the wire, where no client here shows it: chunked bodies, media
types it does not read, resourceVersions it refuses, and patches that change nothing."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.kube_fake import ROLLOUTS, FakeKube, canary_rollout
from tests.kube_wire import MAGIC, PROTOBUF, decode, fake_ca

NS = "maestro-system"
ROLLOUT = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/maestro-api"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    fake = FakeKube()
    fake.start()
    try:
        fake.put(ROLLOUTS, canary_rollout("maestro-api"))
        yield fake
    finally:
        fake.stop()


def call(
    kube: FakeKube,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    content_type: str = "application/merge-patch+json",
    token: str = "operator-token",
    chunked: bool = False,
) -> tuple[int, Any]:
    context = ssl.create_default_context(cadata=fake_ca()[0].decode())
    url = urlsplit(kube.url)
    connection = http.client.HTTPSConnection(url.hostname or "", url.port, context=context)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    try:
        if chunked and body is not None:
            pieces = iter([body[:5], body[5:]])
            connection.request(method, path, pieces, headers, encode_chunked=True)
        else:
            connection.request(method, path, body, headers)
        response = connection.getresponse()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_patch_is_read_whole(kube: FakeKube) -> None:
    body = json.dumps({"spec": {"paused": True}}).encode()
    code, answer = call(kube, "PATCH", ROLLOUT, body, chunked=True)
    assert code == 200 and answer["spec"]["paused"] is True


def test_a_patch_that_changes_nothing_writes_nothing(kube: FakeKube) -> None:
    body = json.dumps({"spec": {"paused": True}}).encode()
    call(kube, "PATCH", ROLLOUT, body)
    version, events = kube.resource_version, len(kube._history)
    code, answer = call(kube, "PATCH", ROLLOUT, body)
    assert code == 200 and answer["metadata"]["resourceVersion"] == str(version)
    assert (kube.resource_version, len(kube._history)) == (version, events)


@pytest.mark.parametrize(
    ("method", "content_type", "body"),
    [
        ("PATCH", "application/json-patch+json", b'[{"op":"add","path":"/spec/paused"}]'),
        ("POST", "text/plain", b"hello"),
        ("POST", PROTOBUF, MAGIC + b"\x0a\x0c\x0a\x02v1\x12\x06Secret"),
    ],
)
def test_an_unread_media_type_is_415_with_a_status(
    kube: FakeKube, method: str, content_type: str, body: bytes
) -> None:
    path = (
        ROLLOUT if method == "PATCH" else "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    )
    code, answer = call(kube, method, path, body, content_type=content_type)
    assert code == 415
    assert (answer["kind"], answer["reason"], answer["code"]) == (
        "Status",
        "UnsupportedMediaType",
        415,
    )


def test_create_update_and_delete_answer_with_status_objects(kube: FakeKube) -> None:
    rollouts = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts"
    # The operator patches only: RBAC refuses the rest, as a Status.
    for method, path in (("POST", rollouts), ("PUT", ROLLOUT), ("DELETE", ROLLOUT)):
        code, answer = call(kube, method, path, b"{}", content_type="application/json")
        assert (code, answer["kind"], answer["reason"]) == (403, "Status", "Forbidden"), method
    current = kube.get(ROLLOUTS, NS, "maestro-api")
    stale = {**current, "metadata": {**current["metadata"], "resourceVersion": "1"}}
    code, answer = call(kube, "PUT", ROLLOUT, json.dumps(stale).encode(),
                        content_type="application/json", token="admin-token")  # fmt: skip
    assert (code, answer["reason"]) == (409, "Conflict")
    code, answer = call(kube, "POST", rollouts, json.dumps(current).encode(),
                        content_type="application/json", token="admin-token")  # fmt: skip
    assert (code, answer["reason"]) == (409, "AlreadyExists")
    code, answer = call(kube, "DELETE", ROLLOUT, None, token="admin-token")
    assert (code, answer["kind"], answer["status"]) == (200, "Status", "Success")
    code, answer = call(kube, "DELETE", ROLLOUT, None, token="admin-token")
    assert (code, answer["reason"]) == (404, "NotFound")


def test_resource_versions_the_server_refuses(kube: FakeKube) -> None:
    rollouts = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts"
    code, answer = call(kube, "GET", f"{rollouts}?resourceVersion=abc")
    assert (code, answer["reason"]) == (400, "BadRequest")
    code, answer = call(kube, "PATCH", ROLLOUT, b'{"metadata":{"resourceVersion":"x"}}')
    assert (code, answer["reason"]) == (400, "BadRequest")
    kube.reconcile(NS, "maestro-api")
    kube.compact()
    for query in ("resourceVersion=101&resourceVersionMatch=Exact", "resourceVersion=101&limit=5"):
        code, answer = call(kube, "GET", f"{rollouts}?{query}")
        assert (code, answer["reason"]) == (410, "Expired"), query
    kube.expired_as = "status"
    code, answer = call(kube, "GET", f"{rollouts}?watch=true&resourceVersion=101")
    assert (code, answer["reason"]) == (410, "Expired")
    # A plain list from an old version is served from the current state, as the cache does.
    code, answer = call(kube, "GET", f"{rollouts}?resourceVersion=101")
    assert code == 200 and answer["metadata"]["resourceVersion"] == str(kube.resource_version)


def test_a_continue_token_older_than_the_history_is_410(kube: FakeKube) -> None:
    kube.put(ROLLOUTS, canary_rollout("maestro-scheduler"))
    rollouts = "/apis/argoproj.io/v1alpha1/rollouts"
    code, page = call(kube, "GET", f"{rollouts}?limit=1")
    assert code == 200 and page["metadata"]["remainingItemCount"] == 1
    kube.reconcile(NS, "maestro-api")
    kube.compact()
    code, answer = call(kube, "GET", f"{rollouts}?limit=1&continue={page['metadata']['continue']}")
    assert (code, answer["reason"]) == (410, "Expired")


def test_the_access_review_kubectl_sends_as_protobuf_is_read() -> None:
    """Bytes as client-go encodes `kubectl auth can-i patch configmaps/maestro-cutover`."""

    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    attributes = field(1, b"maestro-system") + field(2, b"patch") + field(5, b"configmaps")
    attributes += field(7, b"maestro-cutover")
    review = field(1, b"") + field(2, field(1, attributes))
    type_meta = field(1, b"authorization.k8s.io/v1") + field(2, b"SelfSubjectAccessReview")
    body = MAGIC + field(1, type_meta) + field(2, review)
    assert decode(body) == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": "maestro-system",
                "verb": "patch",
                "resource": "configmaps",
                "name": "maestro-cutover",
            }
        },
    }
