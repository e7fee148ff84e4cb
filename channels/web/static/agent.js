// govbot agent console: log in, watch the queue live, claim a ticket, read the transcript, reply, close.
const $ = (id) => document.getElementById(id);
const REFRESH_MS = 10000; // waiting times and SLA timers move even when nothing else happens

const state = { me: null, current: null, shownMessages: new Set(), events: null, timer: null, ticketRequests: 0,
  focusReply: false };

const AUTHOR = { citizen: "市民 Citizen", bot: "智能助手 Bot", agent: "客服 Agent", system: "系统 System",
  note: "内部备注 Note" };
const STATUS = { waiting: "排队中 waiting", assigned: "处理中 assigned", closed: "已结束 closed" };
const SLA = { ok: "正常 ok", warning: "预警 warning", breached: "超时 breached", met: "达标 met", missed: "未达标 missed" };
const SLA_NAMES = { first_response: "首次响应 First response", next_response: "再次响应 Next response",
  resolution: "办结 Resolution" };

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
  } catch (error) {
    notice("连接中断，请稍后再试 / Connection lost, try again");
    return { status: 0, body: null };
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401 && path !== "/api/agent/login") showLogin();
  return { status: response.status, body: data };
}

function notice(text) {
  $("notice").textContent = text;
}

function minutes(seconds) {
  const m = Math.floor(seconds / 60);
  return m ? `${m} 分 ${seconds % 60} 秒` : `${seconds} 秒`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- login -------------------------------------------------------------------------------------------------

function showLogin() {
  state.me = null;
  if (state.events) state.events.close();
  clearInterval(state.timer);
  $("desk").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("username").focus();
}

async function showDesk(me) {
  state.me = me;
  $("login").hidden = true;
  $("desk").hidden = false;
  $("who").hidden = false;
  $("agent-name").textContent = `${me.display_name} (${me.username})`;
  const [canned, agents] = await Promise.all([api("GET", "/api/agent/canned"), api("GET", "/api/agent/agents")]);
  fillCanned(canned.body || { zh: [], en: [] });
  fillAgents((agents.body && agents.body.agents) || []);
  listen();
  await refreshQueue();
  state.timer = setInterval(refreshQueue, REFRESH_MS);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const { status, body } = await api("POST", "/api/agent/login",
    { username: $("username").value.trim(), password: $("password").value });
  if (status !== 200) {
    $("login-error").textContent = status === 401 ? "用户名或密码不对 / Wrong username or password"
      : "无法登录 / Cannot log in";
    return;
  }
  $("password").value = "";
  $("login-error").textContent = "";
  showDesk(body);
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/agent/logout");
  showLogin();
});

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
    const badge = element("span", `badge ${timer.state}`, `${SLA_NAMES[name].split(" ")[0]} ${SLA[timer.state]}`);
    box.append(badge);
  }
  return box;
}

async function refreshQueue() {
  const { status, body } = await api("GET", "/api/agent/queue");
  if (status !== 200 || !body) return;
  const list = $("queue");
  list.replaceChildren();
  const waiting = body.tickets.filter((t) => t.status === "waiting").length;
  $("queue-count").textContent = `(${waiting} 排队 waiting, ${body.tickets.length - waiting} 处理中 in progress)`;
  $("queue-meta").textContent = `${body.agents_online} 位客服在线 agents online · ` +
    (body.open_now ? "服务时间内 open" : "非服务时间 outside working hours");
  for (const ticket of body.tickets) {
    const item = element("li", `ticket-row ${ticket.status}${ticket.number === state.current ? " current" : ""}`);
    const open = element("button", "open", `${ticket.number}`);
    open.type = "button";
    open.setAttribute("aria-label", `打开工单 Open ticket ${ticket.number}`);
    open.addEventListener("click", () => openTicket(ticket.number, true));
    const facts = element("span", "row-facts",
      `${ticket.position ? `#${ticket.position} · ` : ""}${STATUS[ticket.status]}${ticket.agent ? ` · ${ticket.agent}` : ""}` +
      ` · 等待 waited ${minutes(ticket.waited)} · 优先级 priority ${ticket.priority}` +
      `${ticket.elderly ? " · 老年模式 elderly" : ""} · ${ticket.channel} · ${ticket.language}` +
      ` · ${ticket.reason}${ticket.item ? ` · ${ticket.item}` : ""}`);
    item.append(open, facts, slaBadges(ticket.sla));
    list.append(item);
  }
  if (!body.tickets.length) list.append(element("li", "empty", "没有待处理的工单 / No open tickets"));
  refreshMetrics();
}

async function refreshMetrics() {
  const { status, body } = await api("GET", "/api/agent/metrics");
  if (status !== 200 || !body) return;
  const rows = [
    ["工单 Tickets", body.tickets],
    ["按时首次响应 Answered within target", body.answered_within_target === null ? "—"
      : `${Math.round(body.answered_within_target * 100)}% (≤ ${body.first_response_target} s)`],
    ["放弃率 Abandonment", body.abandonment === null ? "—" : `${Math.round(body.abandonment * 100)}%`],
    ["等待中位数 Median wait", body.wait_median === null ? "—" : minutes(body.wait_median)],
    ["等待 p90 wait", body.wait_p90 === null ? "—" : minutes(body.wait_p90)],
    ["市民评分 Citizen rating", body.rating_mean === null ? "—" : `${body.rating_mean} / 5`],
  ];
  const list = $("metrics");
  list.replaceChildren();
  for (const [name, value] of rows) list.append(element("dt", "", name), element("dd", "", String(value)));
}

// --- one ticket ----------------------------------------------------------------------------------------------

async function openTicket(number, focus) {
  const asked = ++state.ticketRequests; // a live update and an action can ask at once: the latest answer wins
  const { status, body } = await api("GET", `/api/agent/tickets/${encodeURIComponent(number)}`);
  if (asked !== state.ticketRequests) return;
  if (status !== 200 || !body) {
    notice((body && body.error && body.error.message) || "打不开工单 / Cannot open the ticket");
    return;
  }
  const switched = state.current !== number;
  state.current = number;
  if (switched) {
    state.shownMessages = new Set();
    $("transcript").replaceChildren();
  }
  const t = body.ticket;
  $("ticket").hidden = false;
  $("ticket-title").textContent = `工单 Ticket ${t.number} · ${STATUS[t.status]}${t.agent ? ` · ${t.agent}` : ""}`;
  const facts = $("ticket-facts");
  facts.replaceChildren();
  const shown = [["渠道 Channel", t.channel], ["语言 Language", t.language],
    ["老年模式 Elderly mode", t.elderly ? "是 yes" : "否 no"], ["原因 Reason", t.reason],
    ["机器人所在事项 Item the bot was on", t.item || "—"], ["开始 Opened", new Date(t.created_at).toLocaleString()]];
  if (t.resolution) shown.push(["处理结果 Resolution", t.resolution]);
  if (t.citizen_rating) shown.push(["市民评分 Citizen rating", `${t.citizen_rating} / 5`]);
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
    notice((answer && answer.error && answer.error.message) || "操作没有成功 / That did not work");
    return false;
  }
  notice(done);
  await openTicket(state.current, false);
  refreshQueue();
  return true;
}

$("claim").addEventListener("click", () => {
  state.focusReply = true; // once the ticket shows as ours, the cursor goes to the reply box
  act("claim", null, "已认领 Claimed").then((ok) => { if (!ok) state.focusReply = false; });
});
$("take-over").addEventListener("click", () => act("take_over", null, "已接管 Taken over"));
$("release").addEventListener("click", () => act("release", null, "已放回队列 Released"));
$("forward").addEventListener("click", () => {
  const to = $("forward-to").value;
  if (to) act("forward", { to }, `已转给 Forwarded to ${to}`);
});

$("reply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("reply").value.trim();
  if (!text) return;
  // clear the box only if it still holds what was sent (the agent may have typed on meanwhile)
  if (await act("reply", { text }, "已发送 Sent") && $("reply").value.trim() === text) $("reply").value = "";
});

$("note").addEventListener("click", async () => {
  const text = $("reply").value.trim();
  if (!text) return;
  if (await act("note", { text }, "已记录备注 Note saved") && $("reply").value.trim() === text) $("reply").value = "";
});

$("close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const resolution = $("resolution").value.trim();
  if (!resolution) {
    notice("请写处理结果 / Write the resolution first");
    $("resolution").focus();
    return;
  }
  if (await act("close", { resolution }, "工单已结束 Ticket closed")) $("resolution").value = "";
});

$("canned").addEventListener("change", () => {
  if ($("canned").value) $("reply").value = $("canned").value;
  $("reply").focus();
});

function fillCanned(canned) {
  const select = $("canned");
  for (const [language, lines] of Object.entries(canned)) {
    const group = document.createElement("optgroup");
    group.label = language === "zh" ? "中文" : "English";
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
  select.replaceChildren(element("option", "", "—"));
  select.firstChild.value = "";
  for (const agent of agents) {
    if (state.me && agent.username === state.me.username) continue;
    const option = element("option", "", `${agent.display_name} (${agent.username})`);
    option.value = agent.username;
    select.append(option);
  }
}

// Enter sends a reply; Shift+Enter makes a new line.
$("reply").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("reply-form").requestSubmit();
  }
});

(async () => {
  const { status, body } = await api("GET", "/api/agent/me");
  if (status === 200) showDesk(body);
  else showLogin();
})();
