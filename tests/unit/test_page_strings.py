"""The sign-in page's words live in ib_oauth_bridge/strings.py: login.js holds no English of its
own (a grep-level check of its string literals), and every message it names exists; the login,
error and base templates hold none either (their text between tags, outside `{{ }}` and
`{% %}`, is only punctuation), and every text they name exists."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from ib_oauth_bridge import strings
from ib_oauth_bridge.oauth.login_flow import MESSAGES
from ib_oauth_bridge.store.records import LoginStatus
from ib_oauth_bridge.web.templates import STATIC_DIR, TEMPLATES_DIR

LOGIN_JS = (STATIC_DIR / "login.js").read_text(encoding="utf-8")


def _code_without_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    return "\n".join(re.sub(r"^\s*//.*$", "", line) for line in source.splitlines())


def _literals(source: str) -> list[str]:
    return [match.group(2) for match in re.finditer(r"""(["'`])((?:\\.|(?!\1).)*)\1""", source)]


def _looks_like_words(literal: str) -> bool:
    text = re.sub(r"\$\{[^}]*\}", "", literal)  # template placeholders are not words
    return (
        bool(
            re.search(r"[A-Za-z]{2,}[.,:;!?…]?\s+[A-Za-z]{2,}", text)
            and (re.search(r"[A-Z]", text) or re.search(r"[.…!?]$", text))
        )
        or "…" in text
    )


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


# ---- templates -------------------------------------------------------------------------------

TRANSLATED_TEMPLATES = ("base.html", "login.html", "error.html")
# Attributes a person reads (or hears): their values are text too.
TEXT_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")


class _TextNodes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag in {"script", "style"}
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if not self._in_script:
            self.texts.append(data)


def _hard_coded_text(template: str) -> list[str]:
    """The words of a template's text nodes (and readable attributes) outside Jinja."""
    source = re.sub(r"\{#.*?#\}", "", template, flags=re.DOTALL)
    # The body's class names (a block of base.html) are no text.
    source = re.sub(r"\{% block body_class %\}.*?\{% endblock %\}", "", source)
    source = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", source, flags=re.DOTALL)
    parser = _TextNodes()
    parser.feed(source)
    parser.close()
    return [text.strip() for text in parser.texts if re.search(r"\w", text)]


def test_templates_have_no_hard_coded_text() -> None:
    for name in TRANSLATED_TEMPLATES:
        template = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
        assert "text." in template, f"{name} reads no text: the check itself is broken"
        english = _hard_coded_text(template)
        assert not english, f"move these texts of {name} into strings.py: {english}"


def test_the_template_check_catches_text() -> None:
    assert _hard_coded_text("<p>Sign in</p>") == ["Sign in"]
    assert _hard_coded_text("<p>{{ text.login.x }} <b>now</b></p>") == ["now"]
    assert _hard_coded_text('<input placeholder="https://x.example">') == ["https://x.example"]
    assert _hard_coded_text('<p class="lead">{{ x }}</p>{% if a %} — ({{ b }}).{% endif %}') == []
    assert _hard_coded_text("{# a comment, not text #}<p>“{{ x }}”</p>") == []


def test_every_text_the_templates_name_exists() -> None:
    for name in TRANSLATED_TEMPLATES:
        template = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
        for group, key in re.findall(r"\btext\.([a-z]+)\.([a-z_]+)", template):
            assert key in strings.TEMPLATE_TEXT[group], f"{name}: text.{group}.{key}"
    for texts in strings.TEMPLATE_TEXT.values():
        assert all(value.strip() for value in texts.values())
