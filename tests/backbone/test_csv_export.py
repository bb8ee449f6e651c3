"""Every CSV the product writes goes through one writer that disarms spreadsheet formulas."""
import pytest

from backend.csvexport import csv_text, spreadsheet_safe


@pytest.mark.parametrize("cell", ["=1+1", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx", "=", "-"])
def test_formula_starts_are_neutralised(cell):
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["陈外访", "TOTAL", "", "0.6667", "-3", "-0.25", "a=b", 5, -5, 0.5, None])
def test_plain_text_and_numbers_are_kept(cell):
    assert spreadsheet_safe(cell) == cell


def test_csv_text_writes_safe_rows():
    assert csv_text([["name", "n"], ["=cmd", -2]]) == "name,n\r\n'=cmd,-2\r\n"
