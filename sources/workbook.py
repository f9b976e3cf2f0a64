"""The migration workbook, read from its CSV file."""

from __future__ import annotations

from pathlib import Path

from ..cutover.waves import Workbook, parse_workbook


class WorkbookError(Exception):
    """The workbook file cannot be read at all."""


def load_workbook(path: Path) -> Workbook:
    """Read and parse the workbook; bad rows come back as problems with line numbers."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise WorkbookError(f"{path}: cannot read the workbook: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise WorkbookError(f"{path}: the workbook is not UTF-8 text: {error.reason}") from error
    return parse_workbook(text)
