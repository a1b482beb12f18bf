"""The sign-in page's words live in ib_oauth_bridge/strings.py: login.js holds no English of its
own (a grep-level check of its string literals), and every message it names exists."""

from __future__ import annotations

import json
import re

from ib_oauth_bridge import strings
from ib_oauth_bridge.oauth.login_flow import MESSAGES
from ib_oauth_bridge.store.records import LoginStatus
from ib_oauth_bridge.web.templates import STATIC_DIR

LOGIN_JS = (STATIC_DIR / "login.js").read_text(encoding="utf-8")


def _code_without_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    return "\n".join(re.sub(r"^\s*//.*$", "", line) for line in source.splitlines())


def _literals(source: str) -> list[str]:
    return [
        match.group(2)
        for match in re.finditer(r"""(["'`])((?:\\.|(?!\1).)*)\1""", source)
    ]


def _looks_like_words(literal: str) -> bool:
    text = re.sub(r"\$\{[^}]*\}", "", literal)  # template placeholders are not words
    return bool(
        re.search(r"[A-Za-z]{2,}[.,:;!?…]?\s+[A-Za-z]{2,}", text)
        and (re.search(r"[A-Z]", text) or re.search(r"[.…!?]$", text))
    ) or "…" in text


def test_login_js_has_no_hard_coded_messages() -> None:
    literals = _literals(_code_without_comments(LOGIN_JS))
    assert literals, "the literal scan found nothing: the check itself is broken"
    english = [literal for literal in literals if _looks_like_words(literal)]
    assert not english, f"move these into strings.SCRIPT: {english}"


def test_the_check_catches_a_message() -> None:
    assert _looks_like_words("Couldn't reach the sign-in service.")
    assert _looks_like_words("Start again")
    assert not _looks_like_words("button button-primary")
    assert not _looks_like_words("popup,width=520,height=700")


def test_every_message_the_script_names_exists() -> None:
    used = set(re.findall(r"\bMSG\.([A-Za-z]+)", LOGIN_JS))
    assert used, "login.js names no message"
    assert used <= set(strings.SCRIPT), sorted(used - set(strings.SCRIPT))
    assert all(value.strip() for value in strings.SCRIPT.values())
    assert json.loads(strings.SCRIPT_JSON) == strings.SCRIPT


def test_status_messages_come_from_the_strings() -> None:
    for status in (LoginStatus.NEW, LoginStatus.PENDING, LoginStatus.DONE, LoginStatus.EXPIRED):
        assert MESSAGES[status] == strings.STATUS[status.value]
