// The staff consoles' shared pieces (agent.js, dept.js, dispatch.js): the log-in, the session check, log-out, the
// JSON API helper with the error envelope, the live-region announcer, the large-text switch. No words of its own:
// each page hands it its section of i18n.js.
import { fill } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The page's live region (role="status"): what a screen reader says without moving the focus.
export function notice(text) {
  $("notice").textContent = text;
}

// The message of an answer in the error envelope ({"error": {"code", "message"}}), else `fallback`.
export function errorOf(body, fallback) {
  return (body && body.error && body.error.message) || fallback;
}

// The "large text" button (#large-text): on or off, kept in the browser under `key`.
export function largeText(key) {
  const button = $("large-text");
  const set = (on) => {
    document.documentElement.classList.toggle("large", on);
    button.setAttribute("aria-pressed", String(on));
    try { localStorage.setItem(key, on ? "1" : "0"); } catch (error) { /* private mode: not kept */ }
  };
  button.addEventListener("click", () => set(button.getAttribute("aria-pressed") !== "true"));
  let large = false;
  try { large = localStorage.getItem(key) === "1"; } catch (error) { /* not kept */ }
  set(large);
}

// One console's session on its page. `page`: `text` (its i18n section: the log-in's words, connectionLost,
// sessionEnded, wrongRole, wrongRoleHome), the paths `login`, `logout` and `me` (the account, if this console serves
// it: 403 wrong_role otherwise), `desk` (the id of what a logged-in user sees), `show(me)` (fills the desk) and
// `hide()` (stops the desk's timers). The page has #who, #login (#username, #password, #login-error, #wrong-role)
// and #logout. Returns `api` and `start` (asks the server whose session this is, shows the desk or the log-in).
export function consoleSession(page) {
  const TEXT = page.text;
  let me = null;

  // Every POST carries a JSON body ({} when there is nothing to say): the server refuses state changes that could
  // come from another site. The page's own refreshes are marked as background: they do not count as activity, so
  // a console nobody uses is logged out after the idle timeout.
  async function api(method, path, body, { background = false } = {}) {
    const headers = {};
    if (method !== "GET") headers["Content-Type"] = "application/json";
    if (background) headers["X-Govbot-Background"] = "1";
    let response;
    try {
      response = await fetch(path, { method, headers, credentials: "same-origin",
        body: method !== "GET" ? JSON.stringify(body || {}) : undefined });
    } catch (error) {
      notice(TEXT.connectionLost);
      return { status: 0, body: null };
    }
    const data = await response.json().catch(() => null);
    if (response.status === 401 && path !== page.login) {
      const ended = me !== null;
      showLogin();
      if (ended) $("login-error").textContent = TEXT.sessionEnded;
    } else if (response.status === 403 && data && data.error && data.error.code === "wrong_role") {
      showLogin(data.home); // logged in, but not as this console's account: say where this account works
    }
    return { status: response.status, body: data, retryAfter: response.headers.get("Retry-After") };
  }

  // `home`: given when the session is of an account this console does not serve (its page, or null for none)
  function showLogin(home) {
    me = null;
    page.hide();
    $(page.desk).hidden = true;
    $("who").hidden = true;
    $("login").hidden = false;
    const wrong = $("wrong-role");
    wrong.hidden = home === undefined;
    wrong.replaceChildren();
    if (home) {
      TEXT.wrongRoleHome.split("{home}").forEach((part, index) => {
        if (index) wrong.append(Object.assign(element("a", "", home), { href: home }));
        wrong.append(part);
      });
    } else if (home === null) {
      wrong.textContent = TEXT.wrongRole;
    }
    $("username").focus();
  }

  async function showDesk(account) {
    me = account;
    $("login").hidden = true;
    $("wrong-role").hidden = true;
    $(page.desk).hidden = false;
    $("who").hidden = false;
    await page.show(account);
  }

  $("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const { status, body, retryAfter } = await api("POST", page.login,
      { username: $("username").value.trim(), password: $("password").value });
    if (status !== 200) {
      // 429: too many failed log-ins (or log-in requests); Retry-After says for how long
      $("login-error").textContent = status === 401 ? TEXT.wrongPassword
        : status === 429 ? fill(TEXT.tooManyAttempts, { seconds: retryAfter || (body && body.retry_after) || 60 })
          : TEXT.cannotLogIn;
      return;
    }
    $("password").value = "";
    $("login-error").textContent = "";
    const answer = await api("GET", page.me); // another role's account: 403 wrong_role says where it works
    if (answer.status === 200) showDesk(answer.body);
  });

  $("logout").addEventListener("click", async () => {
    await api("POST", page.logout);
    showLogin();
  });

  async function start() {
    const { status, body } = await api("GET", page.me);
    if (status === 200) showDesk(body);
    else if (status !== 403) showLogin();
  }

  return { api, start };
}

// A work order's badges (dept.js, dispatch.js): overdue deadlines, escalated, urgent or high, an extension's state;
// `text` is the page's i18n section, `tag` the box's element.
export function orderBadges(order, text, tag) {
  const box = element(tag, "badges");
  if (order.overdue.length) {
    const names = order.overdue.map((d) => text.deadlines[d]).join(", ");
    box.append(element("span", "badge overdue", fill(text.overdue, { deadlines: names })));
  }
  if (order.escalated) box.append(element("span", "badge warning", text.escalated));
  if (order.urgency === "urgent" || order.urgency === "high") {
    box.append(element("span", `badge ${order.urgency}`, text.urgencies[order.urgency]));
  }
  if (order.extension_state) {
    box.append(element("span", `badge ${order.extension_state}`, text.extension[order.extension_state]));
  }
  return box;
}
