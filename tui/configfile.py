"""Finding, reading and validating `config.toml`, with errors that name file, key and need."""

from __future__ import annotations

import os
import re
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..cutover.config import Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ENV_VAR = "MAESTRO_CONTROL_ROOM_CONFIG"
#: Keys that would hold a secret inline; secrets are only given as `*_file` or `*_env`.
SECRET_KEYS = frozenset(
    {"password", "token", "bearer_token", "api_key", "secret", "webhook_url", "client_secret"}
)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, key and expectation."""


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from."""

    config: Config
    path: Path

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.path.parent / candidate


def find_config(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The config file: `--config`, then `$MAESTRO_CONTROL_ROOM_CONFIG`, then
    `./config.toml`, then `$XDG_CONFIG_HOME/maestro-control-room/config.toml`."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    local = Path("config.toml")
    if local.is_file():
        return local
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidate = xdg / "maestro-control-room" / "config.toml"
    if candidate.is_file():
        return candidate
    raise ConfigError(
        f"no configuration found: give --config, set ${ENV_VAR}, or create ./config.toml"
        f" or {candidate} (`maestro-control-room init` writes a starter there;"
        " `maestro-control-room demo` runs the simulator without one)"
    )


def load_config(path: Path) -> LoadedConfig:
    """Read and validate one config file."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason})") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}{_quoted_line(raw, error)}") from error
    inline = _inline_secrets(document)
    if inline:
        key = inline[0]
        leaf = key.rsplit(".", 1)[-1]
        raise ConfigError(
            f"{path}: {key}: secrets are never written in the config;"
            f" give {leaf}_file (a path) or {leaf}_env (an environment variable) instead"
        )
    try:
        config = Config.model_validate(document)
    except ValidationError as error:
        raise ConfigError(describe(path, error)) from error
    return LoadedConfig(config, path)


def _quoted_line(raw: bytes, error: Exception) -> str:
    """The line a TOML error points at, so the message shows the key it is about."""
    found = re.search(r"at line (\d+)", str(error))
    lines = raw.decode("utf-8", "replace").splitlines()
    if found is None or not 1 <= int(found.group(1)) <= len(lines):
        return ""
    return f": {lines[int(found.group(1)) - 1].strip()!r}"


def _inline_secrets(node: Any, prefix: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if key in SECRET_KEYS:
                found.append(dotted)
            found += _inline_secrets(value, dotted)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _inline_secrets(item, f"{prefix}[{index + 1}]")
    return found


def describe(path: Path, error: ValidationError) -> str:
    """One line per problem: `file: key: what was expected (got what)`."""
    lines = [f"{path}: {error.error_count()} problem(s) in the configuration"]
    for problem in error.errors():
        location = problem["loc"]
        key = _key(location)
        message = problem["msg"].removeprefix("Value error, ")
        kind = problem["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(location[:-1])
            message = "unknown key"
            if allowed:
                message += f"; expected one of: {', '.join(allowed)}"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "value_error" and isinstance(problem.get("input"), dict):
            # A section's own check names its key first (`enabled: expected true or false`).
            field, colon, rest = message.partition(": ")
            if colon and field in problem["input"]:
                key, message = f"{key}.{field}" if key else field, rest
        elif "input" in problem and kind not in ("model_type",):
            message = f"{message} (got {problem['input']!r})"
        lines.append(f"  {path}: {key or '(top level)'}: {message}")
    return "\n".join(lines)


def _key(location: tuple[int | str, ...]) -> str:
    key = ""
    for part in location:
        if isinstance(part, int):
            key += f"[{part + 1}]"
        else:
            key += f".{part}" if key else part
    return key


def _allowed_keys(location: tuple[int | str, ...]) -> list[str]:
    model: Any = Config
    for part in location:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(field.alias or name for name, field in model.model_fields.items())
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
