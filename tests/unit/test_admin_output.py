"""The admin CLI's table output: names come from outside (a registration's client_name, the
user's name from IB), so a terminal never gets their control characters."""

from __future__ import annotations

import pytest

from ib_oauth_bridge.admin import cell, print_table


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Zo\u00eb Ng", "Zo\u00eb Ng"),
        ("evil\x1b[2J\x1b]0;title\x07", "evil?[2J?]0;title?"),
        ("line\nbreak\rreturn\ttab", "line?break?return?tab"),
        ("bidi\u202eflip", "bidi?flip"),
        ("\x9bcsi", "?csi"),
    ],
)
def test_a_cell_has_no_control_or_format_characters(text: str, shown: str) -> None:
    assert cell(text) == shown


def test_the_table_prints_every_value_through_cell(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(("NAME", "ID"), [("a\x1b[31mb", "x\ny")])
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "x\ny" not in out
    assert out.splitlines() == ["NAME     ID", "a?[31mb  x?y"]
