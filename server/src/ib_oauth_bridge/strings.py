"""The sign-in page's words, in one place, ready for translation.

Everything the login page says to a person that is not in its template comes from here: the
login flow's status messages (`STATUS`, by login status), what the server puts on the page
(`PAGE`), and every message login.js shows (`SCRIPT`, handed to the page as JSON in a data
attribute, so the script holds no English of its own). Placeholders are `str.format` fields.
This module imports nothing from the package, so every layer may use it.
"""

from __future__ import annotations

import json

#: The login flow's message for each login status (`LoginStatus.value`).
STATUS: dict[str, str] = {
    "new": "Enter your IntelligenceBank address to continue.",
    "pending": "Waiting for you to sign in to IntelligenceBank in the other window…",
    "done": "Signed in. Check that this is you, then continue to the app.",
    "expired": "The sign-in took too long and has expired. Start again.",
}

#: What the server writes into the login page besides its template.
PAGE: dict[str, str] = {
    "dev_hint": "Dev mode: use {url} and sign in as demo / demo.",
    "sign_in_at": "We'll sign you in at {origin}. Open the IntelligenceBank sign-in page, "
    "sign in, then continue.",
    "no_name": "an IntelligenceBank user (IB gave no name)",
}

#: Every message login.js shows (the keys are the script's).
SCRIPT: dict[str, str] = {
    "contacting": "Contacting IntelligenceBank…",
    "waiting": STATUS["pending"],
    "blocked": "Your browser blocked the pop-up window.",
    "blockedDetail": "Open the sign-in page yourself: this page notices when you have signed in.",
    "openLink": "Open the IntelligenceBank sign-in page",
    "newWindow": " (opens in a new window)",
    "openAgain": "Open it again",
    "differentAddress": "Use a different address",
    "closed": "The sign-in window was closed before you finished.",
    "unreachable": "Couldn't reach the sign-in service. Check your connection and try again.",
    "tryAgain": "Try again",
    "startAgain": "Start again",
    "expired": "This sign-in request has expired. Start again to get a new one.",
    "ended": "This sign-in request has expired or is no longer valid. Start again to get a new "
    "one.",
    "tooLong": "This sign-in took too long and has expired. Start again to get a new one.",
    "failed": "Signing in to IntelligenceBank didn't work. Check the address and try again.",
    "gone": "This sign-in request has expired. Go back to the app and start again.",
    "forbidden": "This sign-in page is no longer valid in this browser. Go back to the app and "
    "start again.",
    "notStarted": "Enter your address and choose Continue to sign in.",
    "badAddress": "That address didn't work. Check it and try again.",
    "empty": "Enter your IntelligenceBank address, for example "
    "https://company.intelligencebank.com.",
    "signedInAs": "Signed in as",
    "noName": PAGE["no_name"],
}

#: `SCRIPT` as the page hands it to login.js.
SCRIPT_JSON: str = json.dumps(SCRIPT, ensure_ascii=False, sort_keys=True)
