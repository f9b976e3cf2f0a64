"""Posting an announcement to an HTTP endpoint (Grafana, Slack), with failures that say
what the server answered."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

#: How much of an error response's body to quote.
EXCERPT = 200


class AnnounceError(Exception):
    """An announcement that did not get through: the status and a short body excerpt, or
    the transport error."""


async def post_json(
    what: str,
    url: str,
    body: Mapping[str, Any],
    timeout: timedelta,
    headers: Mapping[str, str] | None = None,
) -> None:
    """POST `body` as JSON; any answer but 2xx raises AnnounceError naming `what`."""
    try:
        async with httpx.AsyncClient(timeout=timeout.total_seconds()) as client:
            response = await client.post(url, json=dict(body), headers=dict(headers or {}))
    except httpx.HTTPError as error:
        raise AnnounceError(f"{what}: {type(error).__name__}: {error}") from error
    if not response.is_success:
        excerpt = " ".join(response.text.split())[:EXCERPT]
        raise AnnounceError(f"{what}: HTTP {response.status_code}: {excerpt}")
