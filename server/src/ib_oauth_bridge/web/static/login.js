// "Connect to IntelligenceBank": progressive enhancement of the login page.
//
// Without JavaScript the page is two plain form posts. With it, the platform form is posted with
// fetch, IntelligenceBank's sign-in page opens in a popup, and the page polls the login status
// until the bridge says "done". Then it shows who IntelligenceBank says signed in, with
// "Continue to <app>" (a form post, focused) and "Not you? Cancel": it never navigates on its
// own (WCAG 2.2.1), and the person sees whose account the app gets before it gets it.
// Configuration comes from data-* attributes on #login (the CSP forbids inline script). Tokens
// are never logged.
"use strict";

(() => {
  const root = document.getElementById("login");
  if (!root) return;

  // Continue posts once: a second press (a double click) would race the first for the fresh
  // code the bridge mints when the first one has expired.
  const confirmForm = document.getElementById("confirm-form");
  let confirmed = false;
  confirmForm?.addEventListener("submit", (event) => {
    if (confirmed) event.preventDefault();
    confirmed = true;
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) confirmed = false; // back from the app: the page says what is left
  });

  const cfg = {
    platformUrl: root.dataset.platformUrl || "",
    statusUrl: root.dataset.statusUrl || "",
    loginUrl: root.dataset.loginUrl || "",
    tenantDomain: root.dataset.tenantDomain || "",
    exactOrigins: (root.dataset.exactOrigins || "").split(" ").filter(Boolean),
  };

  const form = document.getElementById("platform-form");
  const input = document.getElementById("platform_url");
  const fieldError = document.getElementById("platform_url-error");
  const continueBtn = document.getElementById("continue");
  const statusEl = document.getElementById("status");
  const preview = document.getElementById("platform_url-preview");
  const previewOrigin = document.getElementById("platform_url-origin");
  if (!form || !input || !fieldError || !continueBtn || !statusEl) return;

  const MIN_POLL_MS = 1000;
  const MAX_WAIT_MS = 15 * 60 * 1000;
  const POPUP_NAME = "ib-login";
  const POPUP_FEATURES = "popup,width=520,height=700";

  // Every message comes from the page (ib_oauth_bridge/strings.py), ready for translation.
  let MSG = {};
  try {
    MSG = JSON.parse(root.dataset.strings || "{}");
  } catch {
    MSG = {};
  }

  // The login in progress. `generation` makes answers to an abandoned attempt harmless.
  const login = {
    generation: 0,
    url: "",
    popup: null,
    popupOpened: false,
    closedPolls: 0,
    view: "", // "idle" | "waiting" | "blocked" | "closed" | "offline"
    viewBeforeOffline: "",
    pollMs: MIN_POLL_MS,
    deadline: 0,
    timer: 0,
    polling: false,
    failures: 0,
  };

  // ---- small DOM helpers -------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let lastStatusKey = "";

  // Show a message in the status region. Re-rendering the same message is skipped so that screen
  // readers do not hear it again on every poll.
  function showStatus(kind, text, options = {}) {
    const { detail = "", actions = [], busy = false, key = "" } = options;
    const statusKey = key || `${kind}|${text}|${detail}`;
    if (statusKey === lastStatusKey) return;
    lastStatusKey = statusKey;
    statusEl.className = `notice notice-${kind}${busy ? " is-busy" : ""}`;
    statusEl.replaceChildren();
    statusEl.append(el("p", {}, text));
    if (detail) statusEl.append(el("p", { class: "detail" }, detail));
    if (actions.length) statusEl.append(el("div", { class: "actions" }, ...actions));
  }

  // After each step focus moves to the message, so that keyboard and screen-reader users land
  // on what changed (and Tab reaches its buttons next).
  function focusStatus() {
    statusEl.setAttribute("tabindex", "-1");
    statusEl.focus();
  }

  function clearStatus() {
    lastStatusKey = "";
    statusEl.className = "notice is-empty";
    statusEl.replaceChildren();
  }

  function focusInput() {
    input.closest("details")?.setAttribute("open", "");
    input.focus();
  }

  function setFieldError(text) {
    fieldError.textContent = text;
    fieldError.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.closest(".field")?.classList.add("has-error");
    focusInput();
  }

  function clearFieldError() {
    fieldError.textContent = "";
    fieldError.hidden = true;
    input.removeAttribute("aria-invalid");
    input.closest(".field")?.classList.remove("has-error");
  }

  function setBusy(busy) {
    continueBtn.disabled = busy;
    if (busy) continueBtn.setAttribute("aria-busy", "true");
    else continueBtn.removeAttribute("aria-busy");
  }

  // While a sign-in is under way the address is fixed; Cancel always stays available.
  function setLocked(locked) {
    input.readOnly = locked;
    continueBtn.disabled = locked;
    continueBtn.removeAttribute("aria-busy");
  }

  // The origin the bridge will sign in at for what is typed, as the bridge normalises it (a
  // bare tenant name, a host, or a URL with a path): shown as the person types. The bridge
  // decides; this only previews, and shows nothing for what it would refuse anyway.
  const TENANT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

  function originOf(value) {
    let text = value.trim();
    if (!text || /\s/.test(text)) return "";
    if (!text.includes("://") && TENANT_NAME.test(text)) {
      if (!cfg.tenantDomain) return "";
      text = `${text}.${cfg.tenantDomain}`;
    }
    if (!text.includes("://")) text = `https://${text}`;
    try {
      const url = new URL(text);
      if (url.username || url.password || !url.hostname) return "";
      const origin = `${url.protocol}//${url.host.replace(/\.$/, "")}`;
      if (cfg.exactOrigins.includes(origin)) return origin;
      return url.protocol === "https:" ? origin : "";
    } catch {
      return "";
    }
  }

  function updatePreview(origin = originOf(input.value)) {
    if (!preview || !previewOrigin) return;
    previewOrigin.textContent = origin;
    preview.hidden = !origin;
  }

  function describe(data) {
    if (!data || typeof data !== "object") return "";
    const text = data.error_description || data.message || "";
    return typeof text === "string" ? text : "";
  }

  async function readJson(response) {
    const type = response.headers.get("content-type") || "";
    if (!type.includes("json")) return null;
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  function safeHttpUrl(value) {
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
    } catch {
      return "";
    }
  }

  function startAgainButton(label = MSG.startAgain) {
    return el("button", { type: "button", class: "button button-primary", onclick: startAgain },
      label);
  }

  // The sign-in request itself has ended (expired, or its cookie is gone). The page was served
  // for the app's own authorization request (GET /authorize?...); asking for it again opens a
  // new sign-in with the very same client, redirect URI, PKCE challenge and state, so the app
  // still accepts the answer, and nothing new is trusted. Elsewhere there is nothing to re-run.
  function restartUrl() {
    const here = new URL(window.location.href);
    return here.pathname === "/authorize" && here.search ? here.href : "";
  }

  function restartActions() {
    const url = restartUrl();
    if (!url) return [];
    return [el("button", {
      type: "button",
      class: "button button-primary",
      id: "restart",
      onclick: () => window.location.assign(url),
    }, MSG.startAgain)];
  }

  // ---- popup ---------------------------------------------------------------------------------

  function openPopup() {
    let popup = null;
    try {
      popup = window.open(login.url, POPUP_NAME, POPUP_FEATURES);
    } catch {
      popup = null;
    }
    if (popup) {
      login.popup = popup;
      login.popupOpened = true;
      login.closedPolls = 0;
      try {
        popup.focus();
      } catch {
        // Focus may be refused; the window is open all the same.
      }
    }
    return popup;
  }

  function closePopup() {
    try {
      if (login.popup && !login.popup.closed) login.popup.close();
    } catch {
      // Ignore: the window may belong to another browsing context group by now.
    }
  }

  // A link that opens the sign-in page. It works as a plain target=_blank link; when a click
  // lets us open the named popup instead, we do that so that it can be closed when done.
  function signInLink(text) {
    const link = el("a", {
      href: login.url,
      target: "_blank",
      rel: "noopener",
      class: "button button-primary",
    }, text, el("span", { class: "visually-hidden" }, MSG.newWindow));
    link.addEventListener("click", (event) => {
      if (openPopup()) event.preventDefault();
      else login.popupOpened = false; // A new tab we cannot watch: just keep polling.
      showWaiting(true);
    });
    return link;
  }

  // ---- views ---------------------------------------------------------------------------------

  function showWaiting(force = false) {
    if (login.view === "waiting" && !force) return;
    login.view = "waiting";
    showStatus("info", MSG.waiting, {
      busy: true,
      key: "waiting",
      actions: [differentAddressButton()],
    });
  }

  function differentAddressButton() {
    return el("button", { type: "button", class: "button button-secondary", onclick: startAgain },
      MSG.differentAddress);
  }

  function showBlocked() {
    login.view = "blocked";
    showStatus("info", MSG.blocked, {
      key: "blocked",
      detail: MSG.blockedDetail,
      actions: [signInLink(MSG.openLink), differentAddressButton()],
    });
  }

  function showClosed() {
    login.view = "closed";
    const reopen = el("button", {
      type: "button",
      class: "button button-primary",
      onclick: () => {
        if (openPopup()) showWaiting(true);
        else showBlocked();
      },
    }, MSG.openAgain);
    showStatus("error", MSG.closed, { key: "closed", actions: [reopen, differentAddressButton()] });
  }

  function restoreView(view) {
    if (view === "blocked") showBlocked();
    else if (view === "closed") showClosed();
    else if (view === "idle") {
      login.view = "idle";
      clearStatus();
    } else showWaiting(true);
  }

  function showUnreachable(data, actions = []) {
    showStatus("error", MSG.unreachable, { detail: describe(data), actions });
  }

  // ---- polling -------------------------------------------------------------------------------

  function stopPolling() {
    login.polling = false;
    if (login.timer) window.clearTimeout(login.timer);
    login.timer = 0;
  }

  function schedulePoll(delay) {
    if (!login.polling) return;
    if (login.timer) window.clearTimeout(login.timer);
    const wait = Math.max(MIN_POLL_MS, Number(delay) || login.pollMs);
    login.timer = window.setTimeout(poll, wait);
  }

  function startPolling(pollAfterMs) {
    stopPolling();
    login.pollMs = Math.max(MIN_POLL_MS, Number(pollAfterMs) || MIN_POLL_MS);
    login.deadline = Date.now() + MAX_WAIT_MS;
    login.failures = 0;
    login.polling = true;
    schedulePoll(login.pollMs);
  }

  // The attempt is over: stop polling and let the user start again.
  function finish(kind, text, options) {
    stopPolling();
    login.generation += 1;
    login.view = "";
    setLocked(false);
    showStatus(kind, text, options);
  }

  function startAgain() {
    stopPolling();
    closePopup();
    login.generation += 1;
    login.view = "";
    login.url = "";
    login.popup = null;
    login.popupOpened = false;
    setLocked(false);
    clearStatus();
    clearFieldError();
    focusInput();
    input.select();
  }

  async function poll() {
    login.timer = 0;
    if (!login.polling) return;
    const generation = login.generation;

    if (Date.now() > login.deadline) {
      closePopup();
      finish("error", MSG.tooLong, { actions: [startAgainButton()] });
      return;
    }

    let response;
    let data = null;
    try {
      response = await fetch(cfg.statusUrl, {
        method: "GET",
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      data = await readJson(response);
    } catch {
      response = null;
    }
    if (generation !== login.generation || !login.polling) return;

    // Network trouble or a server error while waiting: say so, keep trying (slower).
    if (!response || response.status >= 500 || (response.ok && !data)) {
      login.failures += 1;
      if (login.view !== "offline") login.viewBeforeOffline = login.view;
      login.view = "offline";
      const firstFailure = login.failures === 1;
      showUnreachable(response ? data : null, [
        el("button", {
          type: "button",
          class: "button button-primary",
          id: "try-again",
          onclick: () => schedulePoll(MIN_POLL_MS),
        }, MSG.tryAgain),
      ]);
      if (firstFailure) focusStatus();
      schedulePoll(Math.min(login.pollMs * 2 ** Math.min(login.failures, 4), 15000));
      return;
    }
    login.failures = 0;

    // Too many checks for this sign-in (or from this address): wait as long as the bridge says.
    if (response.status === 429) {
      const wait = Number(response.headers.get("Retry-After")) || 1;
      schedulePoll(Math.max(login.pollMs, wait * 1000));
      return;
    }
    if (response.status === 410 || response.status === 403) {
      closePopup();
      const actions = restartActions();
      const text = actions.length ? MSG.ended : describe(data) || MSG.gone;
      finish("error", response.status === 403 && !actions.length ? MSG.forbidden : text,
        { actions });
      focusStatus();
      return;
    }
    if (!response.ok) {
      closePopup();
      finish("error", describe(data) || MSG.failed);
      focusStatus();
      return;
    }

    const next = Math.max(login.pollMs, Number(data.poll_after_ms) || 0);
    switch (data.status) {
      case "done":
        stopPolling();
        closePopup();
        showSignedIn(data.signed_in_as);
        return;
      case "expired":
        closePopup();
        finish("error", data.message || MSG.expired, { actions: [startAgainButton()] });
        focusStatus();
        return;
      case "failed":
        closePopup();
        finish("error", data.message || MSG.failed);
        focusStatus();
        return;
      case "new":
        // The bridge has no sign-in under way for this page: let the user submit again.
        finish("info", data.message || MSG.notStarted);
        return;
      default: // "pending" (or anything we do not know yet): keep waiting.
        if (login.view === "offline") restoreView(login.viewBeforeOffline);
        if (login.popupOpened && login.popup && login.popup.closed) {
          // Wait one more poll: the sign-in may have finished just as the window closed.
          login.closedPolls += 1;
          if (login.closedPolls >= 2 && login.view !== "closed") showClosed();
        }
        schedulePoll(next);
    }
  }

  // ---- signed in: who it is, then the person's choice -------------------------------------------

  function signedInLabel(who) {
    const text = (value) => (typeof value === "string" ? value.trim() : "");
    const name = who && typeof who === "object" ? text(who.name) : "";
    const email = who && typeof who === "object" ? text(who.email) : "";
    if (name && email) return `${name} (${email})`;
    return name || email || MSG.noName;
  }

  // The sign-in is over: everything but the header, the status and the signed-in step goes.
  // The identity is set as text (never markup), the live region says what changed, and focus
  // moves to Continue; nothing happens until the person chooses.
  function showSignedIn(who) {
    const section = document.getElementById("signed-in-step");
    const label = document.getElementById("signed-in-as");
    const confirm = document.getElementById("confirm-continue");
    if (!section || !label || !confirm) {
      finish("error", MSG.failed, { actions: [startAgainButton()] });
      return;
    }
    login.generation += 1;
    login.view = "done";
    const text = signedInLabel(who);
    label.textContent = text;
    for (const child of Array.from(root.children)) {
      if (child === section || child === statusEl || child.id === "cancel-form") continue;
      if (child.matches("header, .fine-print")) continue;
      child.hidden = true;
    }
    section.hidden = false;
    showStatus("success", `${MSG.signedInAs} ${text}.`);
    confirm.focus();
  }

  // ---- submitting the address ----------------------------------------------------------------

  function beginSignIn(url, pollAfterMs) {
    login.generation += 1;
    login.url = url;
    login.popup = null;
    login.popupOpened = false;
    login.closedPolls = 0;
    login.view = "";
    setLocked(true);
    if (openPopup()) showWaiting(true);
    else showBlocked();
    focusStatus();
    startPolling(pollAfterMs);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (continueBtn.disabled) return;
    clearFieldError();

    const value = input.value.trim();
    if (!value) {
      setFieldError(MSG.empty);
      return;
    }
    const body = new URLSearchParams(new FormData(form));
    body.set("platform_url", value);

    stopPolling();
    closePopup();
    login.generation += 1;
    const generation = login.generation;
    setBusy(true);
    showStatus("info", MSG.contacting, { busy: true });

    let response;
    let data = null;
    try {
      response = await fetch(cfg.platformUrl, {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      data = await readJson(response);
    } catch {
      response = null;
    }
    if (generation !== login.generation) return;
    setBusy(false);

    // IB (or the bridge) down or silent: say so, and offer to send the same address again.
    const tryAgain = () => [el("button", {
      type: "button",
      class: "button button-primary",
      id: "try-again",
      onclick: () => form.requestSubmit(),
    }, MSG.tryAgain)];
    if (!response) {
      showUnreachable(null, tryAgain());
      focusStatus();
      return;
    }
    if (response.ok) {
      const url = data ? safeHttpUrl(data.login_url) : "";
      if (url) {
        // The address as the bridge understood it: the field and the preview say so.
        const origin = safeHttpUrl(data.platform_url) ? new URL(data.platform_url).origin : "";
        if (origin) {
          input.value = origin;
          updatePreview(origin);
        }
        beginSignIn(url, data.poll_after_ms);
        return;
      }
      if (!data) {
        // The server answered with a page rather than JSON: fall back to the plain form post.
        form.submit();
        return;
      }
      showUnreachable(data, tryAgain());
      focusStatus();
      return;
    }
    if (response.status >= 500 || !data) {
      showUnreachable(data, tryAgain());
      focusStatus();
      return;
    }
    if (response.status === 410 || response.status === 403) {
      const actions = restartActions();
      if (actions.length) showStatus("error", MSG.ended, { actions });
      else if (response.status === 410) showStatus("error", describe(data) || MSG.gone);
      else showStatus("error", MSG.forbidden, { detail: describe(data) });
      focusStatus();
      return;
    }
    clearStatus();
    setFieldError(describe(data) || MSG.badAddress);
  });

  input.addEventListener("input", () => {
    if (input.getAttribute("aria-invalid") === "true") clearFieldError();
    updatePreview();
  });
  updatePreview();

  // No-JS second step, viewed with JavaScript on: open the page as a popup and watch for the end.
  const loginLink = document.getElementById("login-link");
  if (cfg.loginUrl && loginLink) {
    const url = safeHttpUrl(cfg.loginUrl);
    if (url) {
      login.url = url;
      loginLink.addEventListener("click", (event) => {
        if (openPopup()) event.preventDefault();
        showWaiting(true);
      });
      login.view = "idle";
      startPolling(MIN_POLL_MS);
    }
  }

  // Coming back with the Back button restores a frozen page: start fresh.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      stopPolling();
      setLocked(false);
      setBusy(false);
      clearStatus();
    }
  });
})();
