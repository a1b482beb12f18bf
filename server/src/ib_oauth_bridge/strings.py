"""The sign-in page's words, in one place, ready for translation.

Everything the login page says to a person comes from here: the login flow's status messages
(`STATUS`, by login status), what the server puts on the page (`PAGE`), every message login.js
shows (`SCRIPT`, handed to the page as JSON in a data attribute, so the script holds no English
of its own), and the text of the templates (`BASE_PAGE` for base.html, `LOGIN_PAGE` for
login.html, `ERROR_PAGE` for error.html; the templates read them as `text.base`, `text.login`
and `text.error`, and hold no English of their own). Placeholders are `str.format` fields; in
a template text, the `fill` filter puts the page's markup (a name in bold, a link) into them.
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

#: The text every page shares (base.html).
BASE_PAGE: dict[str, str] = {
    "title": "IntelligenceBank",
    "title_suffix": " · IntelligenceBank",
    "skip_link": "Skip to content",
    "footer": "IB OAuth Bridge",
    "brand_mark": "IB",
}

#: The login page's own text (login.html).
LOGIN_PAGE: dict[str, str] = {
    "heading": "Connect to IntelligenceBank",
    "lead_verified": "{client} wants to use your IntelligenceBank account.",
    "lead_unverified": "An app that calls itself {client} {unverified} wants to use your "
    "IntelligenceBank account.",
    "lead_anonymous": "An app that did not give its name {unverified} wants to use your "
    "IntelligenceBank account.",
    "quoted": "“{name}”",
    "unverified": "(unverified)",
    "returns_to_app": "It will return you to {app}{host} when you're done.",
    "returns_to_app_host": " ({host})",
    "returns_to_host": "It will return you to {host} when you're done.",
    "unrecognised": " If you don't recognise this, cancel.",
    "dev_label": "Development mode",
    "dev_badge": "Dev",
    "signed_in_as": "Signed in as {who}",
    "not_your_account": "If this is not the IntelligenceBank account you meant to use, cancel: "
    "the app then gets nothing.",
    "continue_to": "Continue to {app}",
    "not_you": "Not you?",
    "cancel": "Cancel",
    "sign_in_heading": "Sign in to IntelligenceBank",
    "sign_in_text": "Sign in on IntelligenceBank's own page. When you have signed in, come back "
    "here and continue.",
    "open_link": SCRIPT["openLink"],
    "new_window": SCRIPT["newWindow"],
    "signed_in_continue": "I've signed in — continue",
    "different_address": SCRIPT["differentAddress"],
    "address_label": "Your IntelligenceBank address",
    "address_hint": "The address you use to open IntelligenceBank in your browser, for example "
    "{example}{pattern}.",
    "address_example": "https://company.intelligencebank.com",
    "address_pattern": " (it matches {pattern})",
    "preview": "We'll sign you in at {origin}",
    "continue": "Continue",
    "start_again": SCRIPT["startAgain"],
    "fine_print": "You type your IntelligenceBank password only on IntelligenceBank's own page, "
    "never here.",
}

#: The error page's own text (error.html).
ERROR_PAGE: dict[str, str] = {
    "title": "Something went wrong",
    "brand_mark": "!",
    "advice": "We couldn't connect your IntelligenceBank account. Go back to the app you came "
    "from and try again. If it keeps happening, contact the app's support team and tell them "
    "what this page says.",
    "close": "You can close this window.",
    "code": "Error code: {code}",
    "start_again": SCRIPT["startAgain"],
}

#: The template texts, as the templates see them (`text.login["heading"]`).
TEMPLATE_TEXT: dict[str, dict[str, str]] = {
    "base": BASE_PAGE,
    "login": LOGIN_PAGE,
    "error": ERROR_PAGE,
}

#: `SCRIPT` as the page hands it to login.js.
SCRIPT_JSON: str = json.dumps(SCRIPT, ensure_ascii=False, sort_keys=True)
