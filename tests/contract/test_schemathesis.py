"""Schemathesis property tests: every operation in openapi.yaml, against the running bridge over
real HTTP, with all of Schemathesis' response checks.

The schema is loaded from the repository's openapi.yaml (the very file the server serves at
/openapi.yaml, see test_routing.py) so that the test items exist at collection time, one per
operation; the base URL is the session bridge's, given at call time.

Phases: examples, coverage (boundary values, missing parameters, wrong types; both positive and
negative) and fuzzing (max_examples per operation). Shrinking is off and the Hypothesis database
is not used, so a run stays bounded: 25-35 s for the whole of tests/contract, server start
included, on the machine this was written on.

Credentials:
- userinfo and the proxy operations get a real Bearer access token from one real sign-in
  through a Schemathesis auth provider, so `ignored_auth` also probes them without and with an
  invalid token (both must give 401).
- The login page's endpoints get, for schema-valid cases that carry the login cookie, a fresh
  real login transaction (cookie and CSRF token), so their success paths and response schemas
  are exercised too; cases without the cookie and negative cases keep the generated values and
  must be refused.

Every narrowing of the checks below names its reason; none hides a known violation. The
violations this run once found are pinned in test_regressions.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import schemathesis
from contract_support import open_login
from hypothesis import Phase, settings
from schemathesis.config import SchemathesisConfig

from ib_oauth_bridge.ib.platform import HostPolicy, PlatformURLError
from ib_oauth_bridge.routing import load_spec, operations
from servers import METRICS_TOKEN, Bridge

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"

# Generated cases per operation in the fuzzing phase; raise it for a deeper local run, e.g.
# CONTRACT_MAX_EXAMPLES=500 pytest tests/contract
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "30"))
# One placeholder at generation time (the coverage phase builds its cases while pytest collects,
# before any server runs); swapped for the real token right before each call.
TOKEN_PLACEHOLDER = "contract-test-token-placeholder"
BEARER_OPERATIONS = [
    "userinfo",
    "proxy_get",
    "proxy_head",
    "proxy_post",
    "proxy_put",
    "proxy_patch",
    "proxy_delete",
]
FORM_OPERATIONS = {"login_submit_platform", "login_continue", "login_cancel"}
LOGIN_OPERATIONS = {*FORM_OPERATIONS, "login_status"}
# Path parameters marked `x-path-converter: path`, read the way the server's router reads them.
MULTI_SEGMENT = {
    op.operation_id: re.findall(r"\{(\w+):path\}", op.route_path)
    for op in operations(load_spec())
}
# The production platform pattern: a platform URL that passes it would make the bridge resolve
# and call a real IntelligenceBank host (the spec's own example is one), so such cases never get
# a valid login transaction and stay at the 403 that needs no network.
REAL_IB = HostPolicy(("*.intelligencebank.com",))

CONFIG = SchemathesisConfig.from_str(
    """
[generation]
# Keep runs independent: no example database under the working directory.
database = "none"
# Not a violation, a generation choice: the server refuses a NUL in any form field on purpose
# (formdata.py) with the documented 400 invalid_request, which the schemas (open to additional
# fields) cannot express; without this, positive_data_acceptance flags such forms. So NUL bytes
# are not generated at all (the server's NUL refusal has no test here; worth one in integration).
allow-x00 = false

[[operations]]
include-operation-id = "authorize"
# Not a violation: the spec declares every parameter optional on purpose so that the server can
# answer a missing or unknown client / redirect URI with its documented 400 HTML page; which
# client_id / redirect_uri pairs are registered is beyond what a schema can say.
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400"]

[[operations]]
include-operation-id = "revoke"
# Not a violation: a schema-valid client_id that is not registered gets 400 invalid_client (the
# schema cannot list the registered clients); Schemathesis excuses this only for /token.
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401"]

[[operations]]
include-operation-id = "introspect"
# Not a violation, as for /revoke: only registered confidential clients may introspect, and a
# schema-valid client_id that is not one gets invalid_client (400 without HTTP Basic).
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401"]

[[operations]]
include-tag = "proxy"
# Not a violation: the proxy passes IB's own status through (the spec's `default` response), so a
# schema-valid request may well get IB's 404 or 405 (e.g. POST to a read-only IB path). Whether
# IB accepts a request is IB's contract, not the bridge's.
checks.positive_data_acceptance.enabled = false

[[operations]]
include-operation-id = "login_submit_platform"
# Not a violation: a schema-valid platform_url that is not an allowed IntelligenceBank host gets
# the documented 400 invalid_platform; the host policy is beyond what a schema can say.
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "403", "410"]

[[operations]]
include-operation-id = "register"
# Not a violation: schema-valid metadata may still name a redirect URI, a client URI or a scope
# the bridge refuses with the documented 400 (`invalid_redirect_uri`, `invalid_client_metadata`);
# those rules (https, loopback http, private-use schemes, supported scopes) are beyond a schema.
checks.positive_data_acceptance.expected-statuses = ["2xx", "400"]
# Not a violation: schema-violating metadata large enough (e.g. too many long redirect URIs) is
# refused by the 16 KiB body cap first, with the documented 413, a rejection all the same.
checks.negative_data_rejection.expected-statuses = ["400", "401", "413", "415", "429"]

[[operations]]
include-operation-id = "token"
# Not a violation, as for /register: a form whose fields break their maxLength by enough (an
# over-long subject_token of multi-byte characters, percent-encoded) is refused by the 64 KiB
# form cap first, with the documented 413, a rejection all the same.
checks.negative_data_rejection.expected-statuses = ["400", "401", "413", "415", "429"]

[[operations]]
include-operation-id = ["login_submit_platform", "login_continue", "login_cancel"]
# Not a violation, as for /token: the login page's forms carry fields long by design (`restart`,
# the app's whole authorization query), and breaking their maxLength with multi-byte characters,
# percent-encoded, passes the form cap first: the documented 413, a rejection all the same.
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "410", "413", "415", "429"]

"""
)

schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)


@schema.auth().apply_to(operation_id=BEARER_OPERATIONS)
class BridgeBearer:
    def get(self, case: Any, context: Any) -> str:
        return TOKEN_PLACEHOLDER

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schema.auth().apply_to(operation_id="metrics")
class MetricsBearer:
    """/metrics takes the operator's metrics token (the session bridge's, tests/servers.py), so
    `ignored_auth` and the missing-header check probe it without and with a wrong one."""

    def get(self, case: Any, context: Any) -> str:
        return METRICS_TOKEN

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _keep_slashes(case: Any) -> None:
    """`x-path-converter: path` parameters (the proxy's IB path, static asset paths) may contain
    slashes, which plain OpenAPI cannot say: Schemathesis percent-encodes them (`%2F`) as for any
    simple path parameter, so the proxy would only ever see one-segment IB paths. Send them as
    the path separators the spec means."""
    for name in MULTI_SEGMENT.get(case.operation.definition.raw.get("operationId"), ()):
        value = (case.path_parameters or {}).get(name)
        if isinstance(value, str):
            case.path_parameters[name] = value.replace("%2F", "/").replace("%2f", "/")


def _add_token(case: Any, access_token: str) -> None:
    headers = case.headers or {}
    if headers.get("Authorization") == f"Bearer {TOKEN_PLACEHOLDER}":
        headers["Authorization"] = f"Bearer {access_token}"
    assert TOKEN_PLACEHOLDER not in str(headers.get("Authorization", ""))


def _reaches_real_ib(body: dict[str, Any]) -> bool:
    value = body.get("platform_url")
    if not isinstance(value, str):
        return False
    try:
        REAL_IB.normalize(value)
    except PlatformURLError:
        return False
    return True


def _add_login_transaction(case: Any, bridge_url: str) -> None:
    """A real cookie and CSRF token for schema-valid cases that carry the login cookie."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if not case.cookies or "ib_bridge_login" not in case.cookies:
        return
    body = case.body
    if isinstance(body, dict) and _reaches_real_ib(body):
        return
    login = open_login(bridge_url)
    case.cookies["ib_bridge_login"] = login.cookie
    if isinstance(body, dict) and isinstance(body.get("csrf_token"), str):
        body["csrf_token"] = login.csrf_token


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # No shrinking: a failure is reported as found (with its curl reproduction).
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
)
def test_operation_conforms(case: Any, bridge: Bridge, access_token: str) -> None:
    operation_id = case.operation.definition.raw.get("operationId")
    _add_token(case, access_token)
    _keep_slashes(case)
    if operation_id in LOGIN_OPERATIONS:
        _add_login_transaction(case, bridge.url)
    case.call_and_validate(base_url=bridge.url)
