// govbot agent console: log in, watch the queue live, claim a ticket, read the transcript, reply, close.
import { $, consoleSession, element, errorOf, notice } from "./console.js";
import { AGENT as TEXT, fill } from "./i18n.js";

const REFRESH_MS = 10000; // waiting times and SLA timers move even when nothing else happens

const state = { me: null, current: null, shownMessages: new Set(), events: null, timer: null, ticketRequests: 0,
  focusReply: false };

const AUTHOR = TEXT.authors;
const STATUS = TEXT.status;
const SLA = TEXT.sla;
const SLA_NAMES = TEXT.slaNames;

// The console's own refreshes are marked as background: they keep the agent online but do not count as activity.
const { api, start } = consoleSession({
  text: TEXT, login: "/api/agent/login", logout: "/api/agent/logout", me: "/api/agent/me", desk: "desk",
  show: showDesk, hide: () => {
    state.me = null;
    if (state.events) state.events.close();
    clearInterval(state.timer);
  },
});

function minutes(seconds) {
  const m = Math.floor(seconds / 60);
  return m ? fill(TEXT.minutesSeconds, { minutes: m, seconds: seconds % 60 }) : fill(TEXT.seconds, { seconds });
}

// --- the desk (console.js does the log-in) ------------------------------------------------------------------

async function showDesk(me) {
  state.me = me;
  $("agent-name").textContent = `${me.display_name} (${me.username})`;
  const [canned, agents] = await Promise.all([api("GET", "/api/agent/canned"), api("GET", "/api/agent/agents")]);
  fillCanned(canned.body || { zh: [], en: [] });
  fillAgents((agents.body && agents.body.agents) || []);
  fillWorkorderForm();
  listen();
  await refreshQueue();
  state.timer = setInterval(refreshQueue, REFRESH_MS);
}

// --- live updates ------------------------------------------------------------------------------------------

function listen() {
  if (state.events) state.events.close();
  state.events = new EventSource("/api/agent/events");
  const changed = (event) => {
    const data = JSON.parse(event.data);
    refreshQueue();
    if (state.current && data.ticket === state.current) openTicket(state.current, false);
  };
  state.events.addEventListener("queue", changed);
  state.events.addEventListener("message", changed);
  state.events.addEventListener("open", () => refreshQueue());
}

// --- queue -------------------------------------------------------------------------------------------------

function slaBadges(sla) {
  const box = element("span", "badges");
  for (const [name, timer] of Object.entries(sla || {})) {
    if (timer.state === "ok" && name !== "first_response") continue;
    const badge = element("span", `badge ${timer.state}`, `${TEXT.slaShortNames[name]} ${SLA[timer.state]}`);
    box.append(badge);
  }
  return box;
}

async function refreshQueue() {
  const { status, body } = await api("GET", "/api/agent/queue", null, { background: true });
  if (status !== 200 || !body) return;
  const list = $("queue");
  // a live update rebuilds the list; the agent's keyboard focus stays on the same ticket's button
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.number : null;
  list.replaceChildren();
  const waiting = body.tickets.filter((t) => t.status === "waiting").length;
  $("queue-count").textContent = fill(TEXT.queueCount, { waiting, active: body.tickets.length - waiting });
  $("queue-meta").textContent = `${fill(TEXT.agentsOnline, { count: body.agents_online })} · ` +
    (body.open_now ? TEXT.openNow : TEXT.closedNow);
  for (const ticket of body.tickets) {
    const item = element("li", `ticket-row ${ticket.status}${ticket.number === state.current ? " current" : ""}`);
    const open = element("button", "open", `${ticket.number}`);
    open.type = "button";
    open.setAttribute("aria-label", fill(TEXT.openTicket, { number: ticket.number }));
    open.dataset.number = ticket.number;
    open.addEventListener("click", () => openTicket(ticket.number, true));
    const head = `${ticket.position ? `#${ticket.position} · ` : ""}${STATUS[ticket.status]}` +
      `${ticket.agent ? ` · ${ticket.agent}` : ""}`;
    const waited = fill(TEXT.waited, { time: minutes(ticket.waited) });
    const priority = fill(TEXT.priority, { priority: ticket.priority });
    const facts = element("span", "row-facts",
      `${head} · ${waited} · ${priority}${ticket.elderly ? ` · ${TEXT.elderly}` : ""} · ${ticket.channel}` +
      ` · ${ticket.language} · ${ticket.reason}${ticket.item ? ` · ${ticket.item}` : ""}`);
    item.append(open, facts, slaBadges(ticket.sla));
    list.append(item);
  }
  if (!body.tickets.length) list.append(element("li", "empty", TEXT.noTickets));
  const again = focused && [...list.querySelectorAll("button.open")].find((b) => b.dataset.number === focused);
  if (again) again.focus();
  refreshMetrics();
}

async function refreshMetrics() {
  const { status, body } = await api("GET", "/api/agent/metrics", null, { background: true });
  if (status !== 200 || !body) return;
  const names = TEXT.metrics;
  const rows = [
    [names.tickets, body.tickets],
    [names.answeredWithinTarget, body.answered_within_target === null ? TEXT.none
      : `${Math.round(body.answered_within_target * 100)}% (≤ ${body.first_response_target} s)`],
    [names.abandonment, body.abandonment === null ? TEXT.none : `${Math.round(body.abandonment * 100)}%`],
    [names.waitMedian, body.wait_median === null ? TEXT.none : minutes(body.wait_median)],
    [names.waitP90, body.wait_p90 === null ? TEXT.none : minutes(body.wait_p90)],
    [names.rating, body.rating_mean === null ? TEXT.none : `${body.rating_mean} / 5`],
  ];
  const list = $("metrics");
  list.replaceChildren();
  for (const [name, value] of rows) list.append(element("dt", "", name), element("dd", "", String(value)));
}

// --- one ticket ----------------------------------------------------------------------------------------------

async function openTicket(number, focus) {
  const asked = ++state.ticketRequests; // a live update and an action can ask at once: the latest answer wins
  // opened by the agent (focus) or refreshed by the console (a live update, or after an action)
  const { status, body } = await api("GET", `/api/agent/tickets/${encodeURIComponent(number)}`, null,
    { background: !focus });
  if (asked !== state.ticketRequests) return;
  if (status !== 200 || !body) {
    notice(errorOf(body, TEXT.cannotOpen));
    return;
  }
  const switched = state.current !== number;
  state.current = number;
  if (switched) {
    state.shownMessages = new Set();
    $("transcript").replaceChildren();
    resetWorkorderForm();
  }
  const t = body.ticket;
  $("ticket").hidden = false;
  const title = fill(TEXT.ticketTitle, { number: t.number });
  $("ticket-title").textContent = `${title} · ${STATUS[t.status]}${t.agent ? ` · ${t.agent}` : ""}`;
  const facts = $("ticket-facts");
  facts.replaceChildren();
  const fact = TEXT.facts;
  const shown = [[fact.channel, t.channel], [fact.language, t.language],
    [fact.elderly, t.elderly ? TEXT.yes : TEXT.no], [fact.reason, t.reason],
    [fact.item, t.item || TEXT.none], [fact.opened, new Date(t.created_at).toLocaleString()]];
  if (t.resolution) shown.push([fact.resolution, t.resolution]);
  if (t.citizen_rating) shown.push([fact.rating, `${t.citizen_rating} / 5`]);
  for (const [name, value] of shown) facts.append(element("dt", "", name), element("dd", "", value));
  const sla = $("ticket-sla");
  sla.replaceChildren();
  for (const [name, timer] of Object.entries(t.sla || {})) {
    sla.append(element("span", `badge ${timer.state}`,
      `${SLA_NAMES[name]}: ${SLA[timer.state]} (${minutes(timer.elapsed)} / ${minutes(timer.target)})`));
  }
  const mine = t.status === "assigned" && t.agent === state.me.username;
  $("claim").hidden = t.status !== "waiting";
  $("take-over").hidden = !(t.status === "assigned" && !mine);
  for (const id of ["release", "forward", "forward-to"]) $(id).hidden = !mine;
  document.querySelector('label[for="forward-to"]').hidden = !mine;
  $("reply-form").hidden = !mine;
  $("close-form").hidden = !mine;
  if (mine && state.focusReply) {
    state.focusReply = false;
    $("reply").focus();
  }
  for (const message of body.messages) {
    if (state.shownMessages.has(message.id)) continue;
    state.shownMessages.add(message.id);
    const line = element("div", `line ${message.author}`);
    line.append(element("span", "author", `${AUTHOR[message.author]}${message.agent ? ` ${message.agent}` : ""}`),
      element("time", "at", new Date(message.at).toLocaleTimeString()), element("p", "text", message.text));
    $("transcript").append(line);
  }
  $("transcript").scrollTop = $("transcript").scrollHeight;
  const audit = $("audit");
  audit.replaceChildren();
  for (const event of body.events) {
    audit.append(element("li", "", `${new Date(event.at).toLocaleString()} · ${event.actor} · ${event.action}` +
      `${event.detail ? ` · ${event.detail}` : ""}`));
  }
  if (focus) $("ticket-title").setAttribute("tabindex", "-1"), $("ticket-title").focus();
}

async function act(path, body, done) {
  if (!state.current) return;
  const { status, body: answer } = await api("POST", `/api/agent/tickets/${encodeURIComponent(state.current)}/${path}`,
    body);
  if (status !== 200) {
    notice(errorOf(answer, TEXT.failed));
    return false;
  }
  notice(done);
  await openTicket(state.current, false);
  refreshQueue();
  return true;
}

$("claim").addEventListener("click", () => {
  state.focusReply = true; // once the ticket shows as ours, the cursor goes to the reply box
  act("claim", null, TEXT.claimed).then((ok) => { if (!ok) state.focusReply = false; });
});
$("take-over").addEventListener("click", () => act("take_over", null, TEXT.takenOver));
$("release").addEventListener("click", () => act("release", null, TEXT.released));
$("forward").addEventListener("click", () => {
  const to = $("forward-to").value;
  if (to) act("forward", { to }, fill(TEXT.forwarded, { agent: to }));
});

$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("reply").value.trim();
  if (!text) return;
  // clear the box only if it still holds what was sent (the agent may have typed on meanwhile)
  if (await act("reply", { text }, TEXT.sent) && $("reply").value.trim() === text) $("reply").value = "";
});

$("note").addEventListener("click", async () => {
  const text = $("reply").value.trim();
  if (!text) return;
  if (await act("note", { text }, TEXT.noteSaved) && $("reply").value.trim() === text) $("reply").value = "";
});

$("close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const resolution = $("resolution").value.trim();
  if (!resolution) {
    notice(TEXT.resolutionFirst);
    $("resolution").focus();
    return;
  }
  if (await act("close", { resolution }, TEXT.closed)) $("resolution").value = "";
});

$("canned").addEventListener("change", () => {
  if ($("canned").value) $("reply").value = $("canned").value;
  $("reply").focus();
});

function fillCanned(canned) {
  const select = $("canned");
  for (const [language, lines] of Object.entries(canned)) {
    const group = document.createElement("optgroup");
    group.label = TEXT.cannedGroups[language === "zh" ? "zh" : "en"];
    for (const line of lines) {
      const option = element("option", "", line);
      option.value = line;
      group.append(option);
    }
    select.append(group);
  }
}

function fillAgents(agents) {
  const select = $("forward-to");
  select.replaceChildren(element("option", "", TEXT.none));
  select.firstChild.value = "";
  for (const agent of agents) {
    if (state.me && agent.username === state.me.username) continue;
    const option = element("option", "", `${agent.display_name} (${agent.username})`);
    option.value = agent.username;
    select.append(option);
  }
}

// --- the ticket as a work order (POST /api/agent/tickets/{number}/workorder) -------------------------------------

async function fillWorkorderForm() {
  const kinds = $("workorder-kind");
  kinds.replaceChildren();
  for (const [code, name] of Object.entries(TEXT.workorderKinds)) {
    kinds.append(Object.assign(element("option", "", name), { value: code }));
  }
  const { status, body } = await api("GET", "/api/agent/departments");
  const departments = $("workorder-department");
  departments.replaceChildren(Object.assign(element("option", "", TEXT.workorderNoDepartment), { value: "" }));
  for (const department of (status === 200 && body ? body.departments : [])) {
    departments.append(Object.assign(element("option", "", `${department.name.zh} ${department.name.en}`),
      { value: department.id }));
  }
}

function resetWorkorderForm() {
  for (const id of ["workorder-description", "workorder-address", "workorder-since"]) $(id).value = "";
  $("workorder-department").value = "";
  $("workorder-kind").selectedIndex = 0;
  $("workorder-error").textContent = "";
  $("workorder-made").textContent = "";
  $("workorder-description").removeAttribute("aria-invalid");
}

$("workorder-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!state.current) return;
  const description = $("workorder-description").value.trim();
  $("workorder-error").textContent = "";
  $("workorder-description").removeAttribute("aria-invalid");
  if (!description) {
    $("workorder-error").textContent = TEXT.workorderRequired;
    $("workorder-description").setAttribute("aria-invalid", "true");
    $("workorder-description").focus();
    return;
  }
  const body = { kind: $("workorder-kind").value, description };
  for (const [field, id] of [["address", "workorder-address"], ["since", "workorder-since"],
    ["department", "workorder-department"]]) {
    if ($(id).value.trim()) body[field] = $(id).value.trim();
  }
  const { status, body: answer } = await api("POST",
    `/api/agent/tickets/${encodeURIComponent(state.current)}/workorder`, body);
  if (status === 200) {
    const made = fill(TEXT.workorderMade, { number: answer.number,
      status: TEXT.workorderStatuses[answer.status] || answer.status });
    $("workorder-made").textContent = made;
  } else if (status === 409 && answer && answer.order) {
    $("workorder-made").textContent = fill(TEXT.workorderExists, { number: answer.order });
  } else {
    $("workorder-error").textContent = errorOf(answer, TEXT.failed);
  }
});

// Enter sends a reply; Shift+Enter makes a new line.
$("reply").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("reply-form").requestSubmit();
  }
});

start();
