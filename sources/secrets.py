"""Secrets for the real sources, read from a file or an environment variable, never inline.

Each secret is configured as `<key>_file` (a path) or `<key>_env` (a variable name). A secret
that is configured but cannot be had is an error naming the key, so the operator fixes the
config instead of meeting a puzzling 401 later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class SecretError(ValueError):
    """A configured secret that cannot be read: names the config key and why."""


def read_secret(
    key: str,
    *,
    file: str | None,
    env: str | None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The secret configured as `<key>_file` or `<key>_env`, or None when neither is given.

    `key` is the dotted config key without the suffix (`sources.mqtt.password`). Trailing
    newlines of a file are dropped: `echo token > file` is how most secrets get written.
    """
    if file and env:
        raise SecretError(f"{key}: give either {key}_file or {key}_env, not both")
    if file:
        path = Path(file).expanduser()
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise SecretError(f"{key}_file: cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise SecretError(f"{key}_file: {path} is not UTF-8 text") from None
        if not value:
            raise SecretError(f"{key}_file: {path} is empty")
        return value
    if env:
        variables = os.environ if environ is None else environ
        found = variables.get(env)
        if found is None:
            raise SecretError(f"{key}_env: environment variable {env} is not set")
        if not found:
            raise SecretError(f"{key}_env: environment variable {env} is empty")
        return found
    return None
