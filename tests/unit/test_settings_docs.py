"""The settings reference is generated from `Settings` and settings_docs.SETTING_DOCS: every field
must have a description there, or the site would list a setting without saying what it does."""

from __future__ import annotations

import dataclasses

from ib_oauth_bridge.settings import Settings
from ib_oauth_bridge.settings_docs import SETTING_DOCS, env_name, rows, undocumented


def test_every_settings_field_has_a_description() -> None:
    missing = undocumented()
    assert not missing, (
        "add a description to ib_oauth_bridge/settings_docs.py SETTING_DOCS for: "
        + ", ".join(missing)
    )


def test_no_description_for_a_field_that_does_not_exist() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert set(SETTING_DOCS) <= fields, sorted(set(SETTING_DOCS) - fields)


def test_every_documented_variable_is_one_from_env_reads() -> None:
    """The variable shown is the one `Settings.from_env()` reads: setting it changes the field."""
    for row in rows():
        if row.env is None or row.field in {"clients", "store_url", "database"}:
            continue
        field = next(f for f in dataclasses.fields(Settings) if f.name == row.field)
        value = {
            "issuer": "https://bridge.example.com",
            "dev_mode": "1",
        }.get(row.field)
        if value is None:
            hint = str(field.type)
            if "bool" in hint:
                value = "1"
            elif "int" in hint or "float" in hint:
                value = "7"
            elif "limit" in row.field:
                value = "7/minute"
            else:
                value = "x.example"
        changed = Settings.from_env({row.env: value})
        assert getattr(changed, row.field) != getattr(Settings(), row.field), row.env


def test_rows_carry_type_and_default() -> None:
    by_field = {row.field: row for row in rows()}
    assert by_field["access_token_ttl"].env == "IB_BRIDGE_ACCESS_TOKEN_TTL"
    assert by_field["access_token_ttl"].type == "integer"
    assert by_field["access_token_ttl"].default == "`3600`"
    assert by_field["dev_mode"].env == "IB_BRIDGE_DEV"
    assert by_field["platform_hosts"].default == "`*.intelligencebank.com`"
    assert env_name("max_form_bytes") is None
