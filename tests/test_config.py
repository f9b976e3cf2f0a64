"""The configuration models, the duration parser and timeline offsets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from maestro_control_room.cutover.config import (
    Config,
    ThresholdsSection,
    kpi_specs,
    room_settings,
    start_offset,
    trigger_specs,
)
from maestro_control_room.cutover.durations import (
    format_duration,
    format_minutes,
    parse_duration,
)
from maestro_control_room.cutover.triggers import Comparison
from maestro_control_room.cutover.waves import Workbook

GO_LIVE = "2026-12-01T09:00:00+00:00"


def minimal(**sections: Any) -> dict[str, Any]:
    """The smallest valid document, with `sections` laid over it."""
    document: dict[str, Any] = {"cutover": {"go_live": GO_LIVE}, "waves": {"workbook": "w.csv"}}
    document.update(sections)
    return document


def error_text(document: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Config.model_validate(document)
    return str(caught.value)


# -- Config ----------------------------------------------------------------------------


def test_minimal_config_is_valid_with_the_simulator_enabled() -> None:
    config = Config.model_validate(minimal())
    assert config.cutover.go_live.utcoffset() == timedelta(0)
    assert config.sources.enabled() == ("sim",)
    assert config.thresholds.green_period == timedelta(hours=48)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(minimal(colour="red"), id="top-level"),
        pytest.param(minimal(thresholds={"succes_rate_target": 0.98}), id="misspelt-threshold"),
        pytest.param(minimal(sources={"sim": {"enabled": True, "speed": 2}}), id="in-source"),
    ],
)
def test_unknown_keys_are_rejected(document: dict[str, Any]) -> None:
    assert "Extra inputs are not permitted" in error_text(document)


def test_go_live_without_timezone_is_refused() -> None:
    text = error_text(minimal(cutover={"go_live": "2026-12-01T09:00:00"}))
    assert "go_live needs a timezone" in text


def test_trigger_with_both_below_and_above_is_refused() -> None:
    trigger = {"id": "success", "signal": "success_rate", "below": 0.98, "above": 0.99}
    text = error_text(minimal(triggers=[trigger]))
    assert "expected exactly one of 'below', 'above' or 'alertname'" in text


def test_trigger_clear_on_the_wrong_side_is_refused() -> None:
    trigger = {"id": "success", "signal": "success_rate", "below": 0.98, "clear": 0.97}
    assert "'clear' must be at or above 'below'" in error_text(minimal(triggers=[trigger]))


@pytest.mark.parametrize("bad", ["5 minutes", "5", "m5", "1d-2h", ""])
def test_bad_duration_is_refused_naming_the_expected_form(bad: str) -> None:
    trigger = {"id": "success", "signal": "success_rate", "below": 0.98, "for": bad}
    text = error_text(minimal(triggers=[trigger]))
    assert "triggers.0.for" in text
    assert "'90s', '5m', '48h'" in text


@pytest.mark.parametrize("huge", [float("inf"), "99999999999999d"], ids=["inf", "huge"])
def test_out_of_range_duration_is_a_config_error_not_a_crash(huge: object) -> None:
    text = error_text(minimal(thresholds={"green_period": huge}))
    assert "thresholds.green_period" in text


def test_keymap_naming_an_unknown_action_is_refused() -> None:
    text = error_text(minimal(ui={"keymap": {"freeze": "F", "explode": "x"}}))
    assert "keymap: unknown action(s) explode" in text


def test_keymap_naming_known_actions_is_accepted() -> None:
    config = Config.model_validate(minimal(ui={"keymap": {"freeze": "F", "quit": "ctrl+q"}}))
    assert config.ui.keymap == {"freeze": "F", "quit": "ctrl+q"}


def test_config_with_no_enabled_source_is_refused() -> None:
    assert "no source is enabled" in error_text(minimal(sources={"sim": {"enabled": False}}))


def test_duplicate_trigger_ids_are_refused() -> None:
    trigger = {"id": "cve", "alertname": "MaestroCriticalCVE"}
    assert "cve repeated" in error_text(minimal(triggers=[trigger, trigger]))


def test_threshold_outside_a_fraction_is_refused() -> None:
    assert "between 0 and 1" in error_text(minimal(thresholds={"success_rate_target": 98}))


def test_default_triggers_are_the_playbook_ones() -> None:
    specs = {spec.id: spec for spec in trigger_specs(Config.model_validate(minimal()))}
    assert set(specs) == {"success-rate", "queue-p95", "critical-cve", "audit-failure"}
    success = specs["success-rate"]
    assert (success.comparison, success.threshold) == (Comparison.BELOW, 0.98)
    assert success.clear == pytest.approx(0.982)
    assert success.for_ == timedelta(minutes=5)
    queue = specs["queue-p95"]
    assert (queue.comparison, queue.threshold, queue.clear) == (Comparison.ABOVE, 120.0, 108.0)
    assert specs["critical-cve"].alertname == "MaestroCriticalCVE"


def test_configured_trigger_replaces_the_defaults() -> None:
    trigger = {"id": "flaky", "signal": "flake_rate", "above": 0.05, "for": "10m"}
    (spec,) = trigger_specs(Config.model_validate(minimal(triggers=[trigger])))
    assert (spec.comparison, spec.threshold, spec.unit) == (Comparison.ABOVE, 0.05, "ratio")
    assert spec.for_ == timedelta(minutes=10)
    assert spec.title == "flaky"


def test_kpi_specs_follow_the_thresholds() -> None:
    kpis = {k.signal: k for k in kpi_specs(ThresholdsSection(queue_wait_p95_limit_s=150))}
    assert kpis["queue_wait_p95"].threshold == 150
    assert kpis["queue_wait_p95"].comparison is Comparison.ABOVE
    assert kpis["success_rate"].comparison is Comparison.BELOW


def test_room_settings_take_the_limits_of_the_enabled_sources() -> None:
    config = Config.model_validate(
        minimal(
            thresholds={"green_period": "24h"},
            sources={"prometheus": {"enabled": True, "max_age": "90s"}},
            ui={"history_points": 60},
        )
    )
    settings = room_settings(config, Workbook(()))
    assert settings.max_age == {"sim": timedelta(seconds=10), "prometheus": timedelta(seconds=90)}
    assert settings.green_period == timedelta(hours=24)
    assert settings.history_points == 60
    assert settings.go_live == config.cutover.go_live
    assert [t.id for t in settings.triggers] == [t.id for t in trigger_specs(config)]


# -- start_offset ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("T+1d2h", timedelta(days=1, hours=2)),
        ("T-7d", timedelta(days=-7)),
        (" T+90m ", timedelta(minutes=90)),
    ],
)
def test_start_offset_reads_a_point_on_the_timeline(text: str, offset: timedelta) -> None:
    assert start_offset(text) == offset


@pytest.mark.parametrize("text", ["1d", "T1d", "T+", "t+1d", "T+1x"])
def test_start_offset_refuses_what_is_not_a_point_on_the_timeline(text: str) -> None:
    with pytest.raises(ValueError):
        start_offset(text)


def test_simulator_start_is_checked_when_the_config_is_read() -> None:
    text = error_text(minimal(sources={"sim": {"start": "1d"}}))
    assert "expected a point on the timeline such as 'T+1d2h'" in text


# -- parse_duration ---------------------------------------------------------------------

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(_UNIT_SECONDS)))))
def test_parse_duration_adds_up_its_parts_in_any_order(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{count}{unit}" for count, unit in parts) or "0s"
    expected = sum(count * _UNIT_SECONDS[unit] for count, unit in parts)
    assert parse_duration(text) == timedelta(seconds=expected)


@given(st.integers(0, 10**9).map(lambda s: timedelta(seconds=s)))
def test_parse_duration_reads_back_a_formatted_duration(delta: timedelta) -> None:
    assert parse_duration(format_duration(delta, parts=4)) == delta


@given(st.text())
def test_parse_duration_reads_or_refuses_any_text_with_value_error(text: str) -> None:
    try:
        delta = parse_duration(text)
    except ValueError:
        return
    assert delta >= timedelta(0)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "<1m"), (59, "<1m"), (60, "1m"), (190, "3m"), (3 * 3600 + 59, "3h"), (93784, "1d 2h")],
)
def test_a_span_counted_in_days_is_shown_to_the_minute(seconds: int, shown: str) -> None:
    assert format_minutes(timedelta(seconds=seconds)) == shown


def test_parse_duration_refuses_a_duration_too_long_to_represent() -> None:
    with pytest.raises(ValueError):
        parse_duration("99999999999999d")


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("48h", timedelta(hours=48)),
        ("1d2h30m", timedelta(days=1, hours=2, minutes=30)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5h", timedelta(minutes=90)),
        ("1d 2h", timedelta(days=1, hours=2)),
    ],
)
def test_parse_duration_reads_the_plan_forms(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta
