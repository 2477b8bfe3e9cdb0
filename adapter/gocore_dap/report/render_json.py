"""The report as JSON: stable keys documented by report-schema.json (`schemaVersion` 1)."""

from __future__ import annotations

import json
from pathlib import Path

from gocore_dap.report.model import Report

__all__ = ["SCHEMA_PATH", "render_json"]

SCHEMA_PATH = Path(__file__).with_name("report-schema.json")


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
