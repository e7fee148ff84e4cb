// govbot dispatch page: orders waiting for dispatch (confirm the proposal, or choose), returned ones, extension
// requests, overdue and escalated ones, the return visit; merge duplicates. The log-in is the agent console's.
import { $, consoleSession, element, errorOf, largeText, notice, orderBadges } from "./console.js";
import { DISPATCH as TEXT, fill } from "./i18n.js";

const REFRESH_MS = 30000; // new orders arrive and deadlines pass even when nobody clicks
const LARGE_KEY = "govbot-dispatch-large";
const GROUPS = ["waiting", "returned", "extensions", "flagged", "visiting"];

const state = { departments: [], timer: null, known: null, board: null };

const { api, start } = consoleSession({
  text: TEXT, login: "/api/agent/login", logout: "/api/agent/logout", me: "/api/dispatch/me", desk: "board",
  show: showBoard, hide: () => clearInterval(state.timer),
});

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

async function showBoard(me) {
  state.known = null;
  $("account-name").textContent = `${me.display_name} (${me.username})`;
  const { status, body } = await api("GET", "/api/dispatch/departments");
  state.departments = status === 200 && body ? body.departments : [];
  await refresh();
  clearInterval(state.timer);
  state.timer = setInterval(() => refresh(true), REFRESH_MS);
}

// --- the cards --------------------------------------------------------------------------------------------------

function badges(order) {
  const box = orderBadges(order, TEXT, "p");
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
    const message = status === 0 ? TEXT.connectionLost : errorOf(answer, TEXT.failed);
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

largeText(LARGE_KEY);
start();
