"""Evaluation reports are written atomically: a failing or killed writer leaves the previous report whole."""

from __future__ import annotations

import json

import pytest

from adain.quality.report import write_report


def test_a_failed_report_write_leaves_the_previous_report(tmp_path):
    write_report(tmp_path, {"methods": {"a": 1}}, "| a |\n")
    with pytest.raises(TypeError):
        write_report(tmp_path, {"methods": {"b": object()}}, "| b |\n")  # not JSON: fails while writing
    assert json.loads((tmp_path / "report.json").read_text()) == {"methods": {"a": 1}}
    assert (tmp_path / "report.md").read_text() == "| a |\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]  # no partial files
