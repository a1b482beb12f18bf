// Dev-mode playground: this page plays an OAuth 2.1 public client of the bridge, in the browser.
//
// Sign in: PKCE (S256) + state, then /authorize. Back here with ?code: check state and iss
// (RFC 9207), swap the code at /token, call /userinfo and the IB API through /proxy.
// Configuration comes from data-* attributes on #playground (the CSP forbids inline script).
// The code verifier, state and refresh token live in sessionStorage only; the access token in
// memory only. Nothing is ever logged.
"use strict";

(() => {
  const root = document.getElementById("playground");
  if (!root) return;

  const cfg = {
    issuer: root.dataset.issuer || "",
    clientId: root.dataset.clientId || "",
    redirectUri: root.dataset.redirectUri || "",
    emulatorUrl: root.dataset.emulatorUrl || "",
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    signin: $("signin"),
    refresh: $("refresh"),
    startover: $("startover"),
    error: $("error"),
    progress: $("progress"),
    steps: $("steps"),
    token: $("token"),
    tokenValue: $("token-value"),
    tokenExpires: $("token-expires"),
    tokenScope: $("token-scope"),
    refreshTail: $("refresh-tail"),
    claims: $("claims"),
    userinfoSection: $("userinfo-section"),
    userinfo: $("userinfo"),
    resourcesSection: $("resources-section"),
    resources: $("resources"),
    resourcesEmpty: $("resources-empty"),
    loadmore: $("loadmore"),
  };

  const PAGE_SIZE = 10;
  const SCOPE = "ib.read ib.write profile email"; // profile, email: the name and e-mail shown
  const KEY_PREFIX = "ib-playground.";

  // In memory only.
  const session = {
    accessToken: "",
    clientId: "", // IB tenant (userinfo.ib_client_id)
    offset: 0,
  };

  // ---- storage -------------------------------------------------------------------------------

  const store = {
    get(name) {
      try {
        return window.sessionStorage.getItem(KEY_PREFIX + name) || "";
      } catch {
        return "";
      }
    },
    set(name, value) {
      try {
        window.sessionStorage.setItem(KEY_PREFIX + name, value);
      } catch {
        // Storage may be disabled; the flow then fails the state check with a clear message.
      }
    },
    remove(name) {
      try {
        window.sessionStorage.removeItem(KEY_PREFIX + name);
      } catch {
        // ignore
      }
    },
    clear() {
      for (const name of ["verifier", "state", "refresh"]) this.remove(name);
    },
  };

  // ---- helpers -------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function base64url(bytes) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString(byteCount) {
    const bytes = new Uint8Array(byteCount);
    window.crypto.getRandomValues(bytes);
    return base64url(bytes);
  }

  async function s256(verifier) {
    const digest = await window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return base64url(new Uint8Array(digest));
  }

  function decodeJwtPayload(token) {
    const part = String(token).split(".")[1];
    if (!part) return null;
    try {
      const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
      const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
      const binary = window.atob(padded);
      const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return null;
    }
  }

  function truncate(token) {
    const t = String(token);
    if (t.length <= 28) return t;
    return `${t.slice(0, 16)}…${t.slice(-8)} (${t.length} characters)`;
  }

  function tail(token) {
    const t = String(token);
    return t.length > 6 ? `…${t.slice(-6)}` : t;
  }

  function formatBytes(size) {
    const n = Number(size);
    if (!Number.isFinite(n) || n < 0) return "—";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
  }

  function dateCell(value) {
    if (!value) return el("td", {}, "—");
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return el("td", {}, String(value));
    return el("td", {}, el("time", { datetime: date.toISOString() }, date.toLocaleString()));
  }

  class OAuthError extends Error {
    constructor(where, status, data, wwwAuthenticate) {
      const error = data && typeof data.error === "string" ? data.error : `HTTP ${status}`;
      const description =
        data && typeof data.error_description === "string" ? data.error_description : "";
      super(description ? `${error}: ${description}` : error);
      this.where = where;
      this.status = status;
      this.error = error;
      this.description = description;
      this.wwwAuthenticate = wwwAuthenticate || "";
    }
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

  async function call(where, url, init) {
    let response;
    try {
      response = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        ...init,
        headers: { Accept: "application/json", ...(init && init.headers) },
      });
    } catch {
      throw new OAuthError(where, 0, {
        error: "network_error",
        error_description: "Couldn't reach the bridge. Is the dev server running?",
      });
    }
    const data = await readJson(response);
    if (!response.ok) {
      throw new OAuthError(where, response.status, data, response.headers.get("www-authenticate"));
    }
    if (data === null) {
      throw new OAuthError(where, response.status, {
        error: "invalid_response",
        error_description: "The answer was not JSON.",
      });
    }
    return data;
  }

  function postToken(fields) {
    return call("POST /token", "/token", { method: "POST", body: new URLSearchParams(fields) });
  }

  function getWithToken(where, url) {
    return call(where, url, { headers: { Authorization: `Bearer ${session.accessToken}` } });
  }

  // ---- display -------------------------------------------------------------------------------

  function showError(title, err) {
    ui.error.replaceChildren();
    if (err instanceof OAuthError) {
      ui.error.append(
        el("p", {}, title),
        el("p", {}, el("code", { class: "error-code" }, err.error),
          err.description ? ` ${err.description}` : ""),
        el("p", { class: "muted" },
          err.status ? `HTTP ${err.status} from ${err.where}` : `Reported in ${err.where}.`),
      );
      if (err.wwwAuthenticate) {
        ui.error.append(el("p", { class: "muted" }, "WWW-Authenticate: ",
          el("code", {}, err.wwwAuthenticate)));
      }
    } else {
      ui.error.append(el("p", {}, title));
      if (err) ui.error.append(el("p", {}, String(err.message || err)));
    }
    ui.error.hidden = false;
  }

  function clearError() {
    ui.error.hidden = true;
    ui.error.replaceChildren();
  }

  const MARKS = {
    busy: ["…", "In progress: "],
    ok: ["✓", "Done: "],
    fail: ["✗", "Failed: "],
  };

  function setStep(item, kind, text) {
    const [mark, label] = MARKS[kind];
    item.className = kind;
    item.replaceChildren(
      el("span", { class: "mark", "aria-hidden": "true" }, mark),
      el("span", {}, el("span", { class: "visually-hidden" }, label), text),
    );
    return item;
  }

  function addStep(kind, text) {
    ui.progress.hidden = false;
    const item = el("li", {});
    ui.steps.append(setStep(item, kind, text));
    return item;
  }

  // Run one step: show it as busy, then as done (with the text `done` returns) or failed.
  async function step(busyText, work, doneText, failText) {
    const item = addStep("busy", busyText);
    try {
      const result = await work();
      setStep(item, "ok", typeof doneText === "function" ? doneText(result) : doneText);
      return result;
    } catch (err) {
      setStep(item, "fail", failText);
      throw err;
    }
  }

  function showTokens(tokens) {
    session.accessToken = tokens.access_token;
    if (typeof tokens.refresh_token === "string" && tokens.refresh_token) {
      store.set("refresh", tokens.refresh_token);
    }
    const expiresIn = Number(tokens.expires_in);
    ui.tokenValue.textContent = truncate(tokens.access_token);
    ui.tokenExpires.textContent = Number.isFinite(expiresIn)
      ? `in ${expiresIn} s (${new Date(Date.now() + expiresIn * 1000).toLocaleTimeString()})`
      : "—";
    ui.tokenScope.textContent = tokens.scope || "—";
    const refresh = store.get("refresh");
    ui.refreshTail.textContent = refresh ? tail(refresh) : "—";
    const claims = decodeJwtPayload(tokens.access_token);
    ui.claims.textContent = claims
      ? JSON.stringify(claims, null, 2)
      : "(the access token is not a JWT this page can read)";
    ui.token.hidden = false;
    ui.refresh.hidden = !refresh;
    ui.startover.hidden = false;
    ui.signin.hidden = true; // signed in: "Start over" is the way back, Refresh the main action
  }

  function showUserinfo(info) {
    ui.userinfo.replaceChildren();
    const name =
      info.name || [info.given_name, info.family_name].filter(Boolean).join(" ") || info.sub;
    const tenant = info.ib_client_name
      ? `${info.ib_client_name} (${info.ib_client_id})`
      : info.ib_client_id;
    const rows = [
      ["Name", name],
      ["Email", info.email],
      ["IB tenant", tenant],
      ["Platform", info.ib_platform_url],
      ["API host", info.ib_api_url],
      ["Subject", info.sub],
    ];
    for (const [label, value] of rows) {
      if (!value) continue;
      ui.userinfo.append(el("dt", {}, label), el("dd", {}, String(value)));
    }
    ui.userinfoSection.hidden = false;
  }

  function renderRows(rows, append) {
    const body = ui.resources.tBodies[0];
    if (!append) body.replaceChildren();
    for (const row of rows) {
      const file = row && typeof row.file === "object" && row.file ? row.file : {};
      body.append(
        el("tr", {},
          el("td", { class: "name" }, row.name || file.name || row._id || "—"),
          el("td", {}, file.type || row.type || "—"),
          el("td", { class: "num" }, formatBytes(file.size ?? row.size)),
          dateCell(row.lastUpdateTime || row.createTime),
        ),
      );
    }
    ui.resourcesEmpty.hidden = body.rows.length > 0;
    ui.resources.hidden = body.rows.length === 0;
    ui.resourcesSection.hidden = false;
  }

  // ---- the flow ------------------------------------------------------------------------------

  async function loadResources(append) {
    const offset = append ? session.offset : 0;
    const url =
      `/proxy/api/3.0.0/${encodeURIComponent(session.clientId)}` +
      `/resource.limit(${offset},${PAGE_SIZE}).order(lastUpdateTime:-1)`;
    const data = await getWithToken("GET /proxy/…/resource", url);
    const response = data && typeof data.response === "object" && data.response ? data.response : {};
    const rows = Array.isArray(response.rows) ? response.rows : [];
    renderRows(rows, append);
    session.offset = offset + rows.length;
    ui.loadmore.hidden = rows.length < PAGE_SIZE;
    return rows;
  }

  async function loadAccount() {
    const info = await step(
      "userinfo: asking GET /userinfo…",
      () => getWithToken("GET /userinfo", "/userinfo"),
      (result) => `userinfo (${result.name || result.email || result.sub})`,
      "userinfo",
    );
    session.clientId = String(info.ib_client_id || "");
    showUserinfo(info);
    await step(
      "resources: asking the IB API through /proxy…",
      () => loadResources(false),
      (rows) => `resources (${rows.length} shown)`,
      "resources",
    );
  }

  async function signIn() {
    clearError();
    if (!window.crypto || !window.crypto.subtle) {
      showError("This browser can't make a PKCE challenge here.", new Error(
        "crypto.subtle needs a secure context: open the playground at http://127.0.0.1 or " +
        "http://localhost (or over https)."));
      return;
    }
    ui.signin.disabled = true;
    try {
      const verifier = randomString(48); // 64 characters
      const state = randomString(16);
      const challenge = await s256(verifier);
      store.set("verifier", verifier);
      store.set("state", state);
      const params = new URLSearchParams({
        response_type: "code",
        client_id: cfg.clientId,
        redirect_uri: cfg.redirectUri,
        state,
        code_challenge: challenge,
        code_challenge_method: "S256",
        scope: SCOPE,
      });
      if (cfg.emulatorUrl) params.set("platform_url", cfg.emulatorUrl);
      window.location.assign(`/authorize?${params.toString().replace(/\+/g, "%20")}`);
    } catch (err) {
      ui.signin.disabled = false;
      showError("Couldn't start signing in.", err);
    }
  }

  async function handleCallback(params) {
    // Take the code out of the address bar (and history) straight away.
    window.history.replaceState(null, "", window.location.pathname);
    const expectedState = store.get("state");
    const verifier = store.get("verifier");
    store.remove("state");
    store.remove("verifier");

    const gotState = params.get("state") || "";
    const gotIss = params.get("iss");
    if (!expectedState || gotState !== expectedState) {
      addStep("fail", "authorized: the state doesn't match");
      showError("The answer doesn't belong to a sign-in started on this page.", new Error(
        expectedState
          ? "The state parameter is different from the one this page sent: the answer was " +
            "ignored. Start over."
          : "This tab has no sign-in in progress (no state stored). Start over."));
      ui.startover.hidden = false;
      return;
    }
    if (gotIss !== cfg.issuer) {
      addStep("fail", "authorized: the issuer doesn't match");
      showError("The answer came from an unexpected issuer (RFC 9207).", new Error(
        `Expected iss=${cfg.issuer}, got ${gotIss === null ? "no iss parameter" : `iss=${gotIss}`}.`));
      ui.startover.hidden = false;
      return;
    }
    if (params.has("error")) {
      addStep("fail", `authorized: ${params.get("error")}`);
      showError("The sign-in didn't complete.", new OAuthError("the authorization response", 0, {
        error: params.get("error"),
        error_description: params.get("error_description") || "",
      }));
      ui.startover.hidden = false;
      return;
    }
    const code = params.get("code") || "";
    addStep("ok", "authorized");

    try {
      const tokens = await step(
        "token: exchanging the code at POST /token…",
        () => postToken({
          grant_type: "authorization_code",
          code,
          redirect_uri: cfg.redirectUri,
          client_id: cfg.clientId,
          code_verifier: verifier,
        }),
        (result) => `token received (expires in ${result.expires_in} s)`,
        "token",
      );
      showTokens(tokens);
      await loadAccount();
    } catch (err) {
      showError("Something went wrong.", err);
    } finally {
      ui.startover.hidden = false;
    }
  }

  async function refreshToken() {
    clearError();
    const refresh = store.get("refresh");
    if (!refresh) {
      showError("There is no refresh token in this tab.", new Error("Sign in again."));
      return;
    }
    ui.refresh.disabled = true;
    try {
      const tokens = await step(
        "refresh: POST /token with grant_type=refresh_token…",
        () => postToken({ grant_type: "refresh_token", client_id: cfg.clientId, refresh_token: refresh }),
        (result) => {
          const rotated = result.refresh_token && result.refresh_token !== refresh;
          return `token refreshed (expires in ${result.expires_in} s; ` +
            (rotated ? `new refresh token ${tail(result.refresh_token)})` : "refresh token unchanged)");
        },
        "refresh",
      );
      showTokens(tokens);
      if (!session.clientId) await loadAccount();
    } catch (err) {
      if (err instanceof OAuthError && err.error === "invalid_grant") {
        store.remove("refresh");
        ui.refresh.hidden = true;
      }
      showError("Refreshing the token didn't work.", err);
    } finally {
      ui.refresh.disabled = false;
    }
  }

  async function loadMore() {
    clearError();
    ui.loadmore.disabled = true;
    try {
      await loadResources(true);
    } catch (err) {
      showError("Couldn't load more resources.", err);
    } finally {
      ui.loadmore.disabled = false;
    }
  }

  function startOver() {
    store.clear();
    session.accessToken = "";
    session.clientId = "";
    session.offset = 0;
    clearError();
    ui.steps.replaceChildren();
    ui.progress.hidden = true;
    ui.token.hidden = true;
    ui.tokenValue.textContent = "";
    ui.refreshTail.textContent = "";
    ui.claims.textContent = "";
    ui.userinfo.replaceChildren();
    ui.userinfoSection.hidden = true;
    ui.resources.tBodies[0].replaceChildren();
    ui.resourcesSection.hidden = true;
    ui.loadmore.hidden = true;
    ui.refresh.hidden = true;
    ui.startover.hidden = true;
    ui.signin.disabled = false;
    ui.signin.hidden = false;
    window.history.replaceState(null, "", window.location.pathname);
    ui.signin.focus();
  }

  // ---- start ---------------------------------------------------------------------------------

  ui.signin.addEventListener("click", signIn);
  ui.refresh.addEventListener("click", refreshToken);
  ui.startover.addEventListener("click", startOver);
  ui.loadmore.addEventListener("click", loadMore);

  // The redirect URI is on the issuer's origin: state stored on another origin would be lost.
  try {
    const expected = new URL(cfg.redirectUri || cfg.issuer).origin;
    if (expected !== window.location.origin) {
      const link = el("a", { href: cfg.redirectUri || cfg.issuer }, cfg.redirectUri || cfg.issuer);
      ui.error.replaceChildren(
        el("p", {}, "Open the playground at its own address."),
        el("p", {}, "The sign-in returns to ", link,
          ", a different origin from this page, so this tab's sign-in state would be lost."),
      );
      ui.error.hidden = false;
    }
  } catch {
    // A malformed configuration shows up as an error from /authorize instead.
  }

  const params = new URLSearchParams(window.location.search);
  if (params.has("code") || params.has("error")) {
    handleCallback(params);
  } else if (store.get("refresh")) {
    // Back in a tab that signed in before: the access token was in memory only.
    addStep("ok", "signed in earlier in this tab: choose Refresh token to continue");
    ui.refresh.hidden = false;
    ui.startover.hidden = false;
  }
})();
