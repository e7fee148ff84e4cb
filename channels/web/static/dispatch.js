// govbot dispatch page: orders waiting for dispatch (confirm the proposal, or choose), returned ones, extension
// requests, overdue and escalated ones, the return visit; merge duplicates. The log-in is the agent console's.
import { DISPATCH as TEXT, fill } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 30000; // new orders arrive and deadlines pass even when nobody clicks
const LARGE_KEY = "govbot-dispatch-large";
const GROUPS = ["waiting", "returned", "extensions", "flagged", "visiting"];

const state = { me: null, departments: [], timer: null, known: null, board: null };

// Every POST carries a JSON body: the server refuses state changes that could come from another site. The page's
// own refreshes are marked as background: they do not keep an unattended session alive.
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
  if (response.status === 401 && path !== "/api/agent/login") {
    const ended = state.me !== null;
    showLogin();
    if (ended) $("login-error").textContent = TEXT.sessionEnded;
  } else if (response.status === 403 && data && data.error && data.error.code === "wrong_role") {
    showLogin(data.home);
  }
  return { status: response.status, body: data, retryAfter: response.headers.get("Retry-After") };
}

function notice(text) {
  $("notice").textContent = text;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : TEXT.none;
}

function both(name) {
  return name ? `${name.zh} ${name.en}` : TEXT.none;
}

function departmentName(id) {
  const found = state.departments.find((d) => d.id === id);
  return found ? both(found.name) : id;
}

// --- large text ------------------------------------------------------------------------------------------------

function setLarge(on) {
  document.documentElement.classList.toggle("large", on);
  $("large-text").setAttribute("aria-pressed", String(on));
  try { localStorage.setItem(LARGE_KEY, on ? "1" : "0"); } catch (error) { /* private mode: not kept */ }
}

$("large-text").addEventListener("click", () => setLarge($("large-text").getAttribute("aria-pressed") !== "true"));

// --- log in -----------------------------------------------------------------------------------------------------

function showLogin(home) {
  state.me = null;
  clearInterval(state.timer);
  $("board").hidden = true;
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

async function showBoard(me) {
  state.me = me;
  state.known = null;
  $("login").hidden = true;
  $("wrong-role").hidden = true;
  $("board").hidden = false;
  $("who").hidden = false;
  $("account-name").textContent = `${me.display_name} (${me.username})`;
  const { status, body } = await api("GET", "/api/dispatch/departments");
  state.departments = status === 200 && body ? body.departments : [];
  await refresh();
  clearInterval(state.timer);
  state.timer = setInterval(() => refresh(true), REFRESH_MS);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { status, body, retryAfter } = await api("POST", "/api/agent/login",
    { username: $("username").value.trim(), password: $("password").value });
  if (status !== 200) {
    $("login-error").textContent = status === 401 ? TEXT.wrongPassword
      : status === 429 ? fill(TEXT.tooManyAttempts, { seconds: retryAfter || (body && body.retry_after) || 60 })
        : TEXT.cannotLogIn;
    return;
  }
  $("password").value = "";
  $("login-error").textContent = "";
  const me = await api("GET", "/api/dispatch/me"); // another role's account: 403 wrong_role shows where to go
  if (me.status === 200) showBoard(me.body);
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/agent/logout");
  showLogin();
});

// --- the cards --------------------------------------------------------------------------------------------------

function badges(order) {
  const box = element("p", "badges");
  if (order.overdue.length) {
    const names = order.overdue.map((d) => TEXT.deadlines[d]).join(", ");
    box.append(element("span", "badge overdue", fill(TEXT.overdue, { deadlines: names })));
  }
  if (order.escalated) box.append(element("span", "badge warning", TEXT.escalated));
  if (order.urgency === "urgent" || order.urgency === "high") {
    box.append(element("span", `badge ${order.urgency}`, TEXT.urgencies[order.urgency]));
  }
  if (order.extension_state) {
    box.append(element("span", `badge ${order.extension_state}`, TEXT.extension[order.extension_state]));
  }
  box.hidden = !box.childElementCount;
  return box;
}

function facts(order, group) {
  const f = TEXT.facts;
  const rows = [[f.created, when(order.created_at)], [f.address, order.address || TEXT.none],
    [f.since, order.since || TEXT.none], [f.channel, order.channel]];
  if (order.source_ticket) rows.push([f.ticket, order.source_ticket]);
  if (order.department) {
    rows.push([f.department, order.department_name ? both(order.department_name) : order.department]);
  }
  if (order.return_reason && group === "returned") rows.push([f.returnReason, order.return_reason]);
  if (order.sign_deadline && group !== "visiting") {
    rows.push([f.signDeadline, when(order.sign_deadline)], [f.replyDeadline, when(order.reply_deadline)]);
  }
  if (group === "extensions") {
    rows.push([f.asked, when(order.extension_deadline)], [f.reason, order.extension_reason || TEXT.none]);
  }
  if (group === "visiting") {
    const rating = order.rating ? ` · ${TEXT.ratings[order.rating]}` : "";
    rows.push([f.reply, order.reply || TEXT.none], [f.visit, order.resolved === null ? TEXT.visit.pending
      : `${order.resolved ? TEXT.visit.yes : TEXT.visit.no}${rating}`]);
  }
  const list = element("dl", "facts");
  for (const [name, value] of rows) list.append(element("dt", "", name), element("dd", "", value));
  return list;
}

function button(label, number, onClick, primary = false) {
  const node = element("button", "", label);
  node.type = primary ? "submit" : "button";
  node.setAttribute("aria-label", fill(TEXT.onOrder, { label, number }));
  if (!primary) node.addEventListener("click", onClick);
  return node;
}

function field(id, labelText, control) {
  const box = element("span", "field");
  const label = element("label", "", labelText);
  label.htmlFor = id;
  control.id = id;
  box.append(label, control);
  return box;
}

function departmentSelect(selected) {
  const select = document.createElement("select");
  const none = element("option", "", TEXT.choose);
  none.value = "";
  select.append(none);
  for (const department of state.departments) {
    const option = element("option", "", both(department.name));
    option.value = department.id;
    option.selected = department.id === selected;
    select.append(option);
  }
  return select;
}

// A small form: its fields, one submit button, an error tied to the fields; `run` gets the form.
function stepForm(prefix, controls, submit, run) {
  const form = element("form", "step");
  form.noValidate = true;
  const error = element("p", "error");
  error.id = `${prefix}-error`;
  for (const box of controls) {
    const control = box.querySelector("input, select");
    if (control) control.setAttribute("aria-describedby", error.id);
  }
  form.append(...controls, submit, error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    run(form, error);
  });
  return form;
}

function invalid(control, error, message) {
  error.textContent = message;
  control.setAttribute("aria-invalid", "true");
  control.focus();
}

function dispatchForm(order, group, step) {
  const prefix = `${group}-${order.number}-${step}`;
  const select = departmentSelect(order.proposed_department || order.department);
  const submit = button(TEXT[step], order.number, null, true);
  return stepForm(prefix, [field(`${prefix}-department`, TEXT.department, select)], submit, (form, error) => {
    if (!select.value) return invalid(select, error, TEXT.departmentRequired);
    act(order.number, step, { department: select.value }, group,
      fill(TEXT.done[step], { number: order.number, department: departmentName(select.value) }), error);
  });
}

function mergeForm(order, group) {
  const prefix = `${group}-${order.number}-merge`;
  const input = document.createElement("input");
  input.autocomplete = "off";
  input.maxLength = 32;
  const submit = button(TEXT.merge, order.number, null, true);
  submit.className = "secondary"; // merging ends this order: not the card's main action
  return stepForm(prefix, [field(`${prefix}-into`, TEXT.mergeInto, input)], submit, (form, error) => {
    const into = input.value.trim().toUpperCase();
    if (!into) return invalid(input, error, TEXT.numberRequired);
    act(order.number, "merge", { into }, group, fill(TEXT.done.merge, { number: order.number, into }), error);
  });
}

function noteForm(order, group, step, actions) {
  const prefix = `${group}-${order.number}-${step}`;
  const input = document.createElement("input");
  input.maxLength = 4000;
  const controls = [field(`${prefix}-note`, TEXT.note, input)];
  const buttons = actions.map(([label, body, done]) => button(label, order.number, () => {
    const note = input.value.trim();
    act(order.number, step, { ...body, ...(note ? { note } : {}) }, group,
      fill(TEXT.done[done], { number: order.number }), $(`${prefix}-error`));
  }));
  // Enter in the note does the only action there is; with two (approve, deny) the dispatcher picks a button
  const form = stepForm(prefix, controls, element("span", ""), () => {
    if (buttons.length === 1) buttons[0].click();
  });
  form.querySelector(".error").before(...buttons);
  return form;
}

function card(order, group) {
  const item = element("li", "card");
  item.dataset.number = order.number;
  const title = element("h3", "", fill(TEXT.orderTitle, { number: order.number, kind: TEXT.kinds[order.kind],
    urgency: TEXT.urgencies[order.urgency] }));
  title.id = `${group}-${order.number}-title`;
  title.tabIndex = -1;
  item.append(title, badges(order), element("p", "description", order.description), facts(order, group));
  const can = new Set(order.steps);
  if (group === "waiting") {
    const named = order.proposed_name;
    item.append(element("p", "proposal", named ? fill(TEXT.proposal, { name: both(named),
      percent: Math.round((order.proposal_confidence || 0) * 100) }) : TEXT.noProposal));
    if (named) {
      const label = fill(TEXT.confirm, { name: both(named) });
      const department = order.proposed_department;
      item.append(Object.assign(button(label, order.number, () => act(order.number, "dispatch", { department }, group,
        fill(TEXT.done.dispatch, { number: order.number, department: both(named) }), null)), { className: "confirm" }));
    }
    if (can.has("dispatch")) item.append(dispatchForm(order, group, "dispatch"));
  }
  if (group === "returned" && can.has("redispatch")) item.append(dispatchForm(order, group, "redispatch"));
  if (group === "extensions" && can.has("extension")) {
    item.append(noteForm(order, group, "extension", [[TEXT.approve, { approve: true }, "approve"],
      [TEXT.deny, { approve: false }, "deny"]]));
  }
  if (group === "visiting" && can.has("close")) {
    item.append(noteForm(order, group, "close", [[TEXT.close, {}, "close"]]));
  }
  if (group !== "visiting" && group !== "extensions" && can.has("merge")) item.append(mergeForm(order, group));
  return item;
}

function render(board) {
  state.board = board;
  const active = document.activeElement;
  const focusedId = active && $("board").contains(active) ? active.id || null : null;
  const focusedLabel = active && $("board").contains(active) ? active.getAttribute("aria-label") : null;
  for (const group of GROUPS) {
    const list = $(group);
    list.replaceChildren(...board[group].map((order) => card(order, group)));
    if (!board[group].length) list.append(element("li", "empty", TEXT.empty[group]));
    $(`${group}-count`).textContent = fill(TEXT.count, { count: board[group].length });
  }
  // a refresh rebuilds the cards: the keyboard focus stays on the same control when it is still there
  const buttons = [...$("board").querySelectorAll("button")];
  const again = (focusedId && $(focusedId)) ||
    (focusedLabel && buttons.find((b) => b.getAttribute("aria-label") === focusedLabel));
  if (again) again.focus();
}

async function refresh(background = false) {
  const active = document.activeElement;
  // not while the dispatcher is typing or choosing in a card: the next refresh will do
  if (background && active && $("board").contains(active) && active.matches("input, select")) return;
  const { status, body } = await api("GET", "/api/dispatch/orders", null, { background });
  if (status !== 200 || !body) return;
  render(body);
  const waiting = body.waiting.map((o) => o.number);
  if (state.known !== null) {
    const added = waiting.filter((n) => !state.known.has(n));
    if (added.length) notice(fill(TEXT.newOrders, { numbers: added.join(", ") }));
  }
  state.known = new Set(waiting);
}

$("refresh").addEventListener("click", () => refresh());

// One step on one order; then the board again, and the focus where the dispatcher can go on: the card that took
// this one's place in its list, else the list's heading.
async function act(number, step, body, group, done, error) {
  const items = [...$(group).querySelectorAll("li.card")];
  const index = items.findIndex((item) => item.dataset.number === number);
  const { status, body: answer } = await api("POST", `/api/dispatch/orders/${encodeURIComponent(number)}/${step}`,
    body);
  if (status !== 200) {
    const message = status === 0 ? TEXT.connectionLost
      : (answer && answer.error && answer.error.message) || TEXT.failed;
    if (error) error.textContent = message;
    notice(message);
    return;
  }
  notice(done);
  await refresh();
  const same = $(`${group}-${number}-title`);
  const next = $(group).querySelectorAll("li.card")[Math.max(0, index)];
  const target = same || (next && next.querySelector("h3")) || $(`${group}-title`);
  target.focus();
}

(async () => {
  let large = false;
  try { large = localStorage.getItem(LARGE_KEY) === "1"; } catch (error) { /* not kept */ }
  setLarge(large);
  const { status, body } = await api("GET", "/api/dispatch/me");
  if (status === 200) showBoard(body);
  else if (status !== 403) showLogin();
})();
