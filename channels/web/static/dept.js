// govbot department inbox: log in, see the department's orders, open one, sign, start, reply, return, extend.
import { $, consoleSession, element, errorOf, largeText, notice, orderBadges } from "./console.js";
import { DEPT as TEXT, fill } from "./i18n.js";

const REFRESH_MS = 30000; // deadlines pass and new orders arrive even when nobody clicks
const LARGE_KEY = "govbot-dept-large";

const state = { current: null, known: null, timer: null, requests: 0 };

const { api, start } = consoleSession({
  text: TEXT, login: "/api/dept/login", logout: "/api/dept/logout", me: "/api/dept/me", desk: "desk",
  show: showDesk, hide: () => clearInterval(state.timer),
});

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : TEXT.none;
}

async function showDesk(me) {
  state.known = null;
  const department = me.department_name ? me.department_name.zh : me.department;
  $("account-name").textContent = `${me.display_name} (${me.username}) · ${department}`;
  await refreshOrders();
  clearInterval(state.timer);
  state.timer = setInterval(() => refreshOrders(true), REFRESH_MS);
}

// --- the list ---------------------------------------------------------------------------------------------------

function badges(order) {
  return orderBadges(order, TEXT, "span");
}

async function refreshOrders(background = false) {
  const { status, body } = await api("GET", "/api/dept/orders", null, { background });
  if (status !== 200 || !body) return;
  const list = $("orders");
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.number : null;
  list.replaceChildren();
  $("orders-count").textContent = fill(TEXT.count, { count: body.orders.length });
  for (const order of body.orders) {
    const item = element("li", `ticket-row order-row${order.number === state.current ? " current" : ""}`);
    const open = element("button", "open", order.number);
    open.type = "button";
    open.dataset.number = order.number;
    open.setAttribute("aria-label", fill(TEXT.openOrder, { number: order.number }));
    open.addEventListener("click", () => openOrder(order.number, true));
    const facts = element("span", "row-facts",
      `${TEXT.kinds[order.kind]} · ${TEXT.statuses[order.status]} · ${TEXT.urgencies[order.urgency]} · ` +
      `${TEXT.facts.signDeadline} ${when(order.sign_deadline)} · ${TEXT.facts.replyDeadline} ` +
      `${when(order.reply_deadline)}`);
    item.append(open, facts, badges(order));
    list.append(item);
  }
  if (!body.orders.length) list.append(element("li", "empty", TEXT.noOrders));
  const numbers = body.orders.map((o) => o.number);
  if (state.known !== null) {
    const added = numbers.filter((n) => !state.known.has(n));
    if (added.length) notice(fill(TEXT.newOrders, { numbers: added.join(", ") }));
  }
  state.known = new Set(numbers);
  const again = focused && [...list.querySelectorAll("button.open")].find((b) => b.dataset.number === focused);
  if (again) again.focus();
}

$("refresh").addEventListener("click", () => refreshOrders());

// --- one order --------------------------------------------------------------------------------------------------

function showFacts(order) {
  const facts = $("order-facts");
  facts.replaceChildren();
  const f = TEXT.facts;
  const rows = [[f.kind, TEXT.kinds[order.kind]], [f.urgency, TEXT.urgencies[order.urgency]],
    [f.status, TEXT.statuses[order.status]], [f.created, when(order.created_at)],
    [f.since, order.since || TEXT.none], [f.address, order.address || TEXT.none]];
  if (order.latitude !== null && order.longitude !== null) {
    rows.push([f.location, `${order.latitude}, ${order.longitude}`]);
  }
  rows.push([f.signDeadline, when(order.sign_deadline)], [f.replyDeadline, when(order.reply_deadline)]);
  if (order.extension_state) {
    rows.push([f.extension, `${TEXT.extension[order.extension_state]} · ${when(order.extension_deadline)}` +
      `${order.extension_reason ? ` · ${order.extension_reason}` : ""}`]);
  }
  rows.push([f.contact, order.contact
    ? `${TEXT.methods[order.contact.method]}${order.contact.value ? ` ${order.contact.value}` : ""}` : f.noContact]);
  rows.push([f.language, order.language], [f.channel, order.channel]);
  if (order.return_reason) rows.push([f.returnReason, order.return_reason]);
  for (const [name, value] of rows) facts.append(element("dt", "", name), element("dd", "", value));
}

function showSteps(order) {
  const can = new Set(order.steps);
  $("sign").hidden = !can.has("sign");
  $("start").hidden = !can.has("start");
  $("reply-form").hidden = !can.has("reply");
  $("return-form").hidden = !can.has("return");
  $("extension-form").hidden = !can.has("extension");
  const tomorrow = new Date(Date.now() + 86400000);
  const pad = (n) => String(n).padStart(2, "0");
  $("extension-until").min = `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}`;
}

function showHistory(order) {
  const messages = $("messages");
  messages.replaceChildren();
  for (const message of order.messages) {
    const item = element("li", "");
    item.append(element("span", "muted", `${when(message.at)} · ${TEXT.roles[message.role] || message.role}` +
      `${message.author ? ` ${message.author}` : ""}`), element("p", "text", message.text));
    messages.append(item);
  }
  if (!order.messages.length) messages.append(element("li", "muted", TEXT.none));
  const trail = $("trail");
  trail.replaceChildren();
  for (const entry of order.trail) {
    trail.append(element("li", "", `${when(entry.at)} · ${TEXT.roles[entry.role] || entry.role}` +
      `${entry.actor ? ` ${entry.actor}` : ""} · ${TEXT.actions[entry.action] || entry.action}` +
      `${entry.note ? ` · ${entry.note}` : ""}`));
  }
}

async function openOrder(number, focus) {
  const asked = ++state.requests; // a refresh and an action can ask at once: the latest answer wins
  const { status, body } = await api("GET", `/api/dept/orders/${encodeURIComponent(number)}`, null,
    { background: !focus });
  if (asked !== state.requests) return;
  if (status !== 200 || !body) {
    notice(status === 0 ? TEXT.connectionLost : errorOf(body, TEXT.cannotOpen));
    return;
  }
  if (state.current !== number) {
    for (const id of ["reply-text", "return-reason", "extension-reason", "extension-until"]) $(id).value = "";
    clearErrors();
  }
  state.current = number;
  $("order").hidden = false;
  $("order-title").textContent = fill(TEXT.orderTitle, { number, status: TEXT.statuses[body.status] });
  const box = $("order-badges");
  box.replaceChildren(...badges(body).childNodes);
  $("order-description").textContent = body.description;
  showFacts(body);
  showSteps(body);
  showHistory(body);
  for (const row of $("orders").children) {
    const button = row.querySelector("button.open");
    row.classList.toggle("current", Boolean(button && button.dataset.number === number));
  }
  if (focus) $("order-title").focus();
}

// --- steps ------------------------------------------------------------------------------------------------------

function clearErrors() {
  for (const id of ["reply-error", "return-error", "extension-error"]) $(id).textContent = "";
  for (const id of ["reply-text", "return-reason", "extension-reason", "extension-until"]) {
    $(id).removeAttribute("aria-invalid");
  }
}

function invalid(field, errorId, message) {
  $(errorId).textContent = message;
  $(field).setAttribute("aria-invalid", "true");
  $(field).focus();
}

async function act(step, body, errorId) {
  if (!state.current) return false;
  const number = state.current;
  const { status, body: answer } = await api("POST",
    `/api/dept/orders/${encodeURIComponent(number)}/${step}`, body);
  if (status !== 200) {
    const message = status === 0 ? TEXT.connectionLost : errorOf(answer, TEXT.failed);
    if (errorId) $(errorId).textContent = message;
    notice(message);
    return false;
  }
  clearErrors();
  notice(`${TEXT.done[step]} · ${number}`);
  await openOrder(number, false);
  refreshOrders(true);
  const active = document.activeElement;
  if (!active || active === document.body || active.closest("[hidden]")) $("order-title").focus();
  return true;
}

$("sign").addEventListener("click", () => act("sign", {}));
$("start").addEventListener("click", () => act("start", {}));

$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const text = $("reply-text").value.trim();
  if (!text) return invalid("reply-text", "reply-error", TEXT.required);
  if (await act("reply", { text }, "reply-error")) $("reply-text").value = "";
});

$("return-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const reason = $("return-reason").value.trim();
  if (!reason) return invalid("return-reason", "return-error", TEXT.required);
  if (await act("return", { reason }, "return-error")) $("return-reason").value = "";
});

$("extension-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const until = $("extension-until").value;
  const reason = $("extension-reason").value.trim();
  if (!until) return invalid("extension-until", "extension-error", TEXT.dateRequired);
  if (!reason) return invalid("extension-reason", "extension-error", TEXT.required);
  if (await act("extension", { until, reason }, "extension-error")) {
    $("extension-reason").value = "";
    $("extension-until").value = "";
  }
});

largeText(LARGE_KEY);
start();
