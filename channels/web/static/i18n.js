// Interface text of the chat page in Chinese and English; the page follows the user's language.

export const STRINGS = {
  zh: {
    htmlLang: "zh-CN",
    title: "政务服务助手",
    hotline: "热线电话",
    skip: "跳到输入框",
    tools: "显示和语言",
    settings: "设置",
    large: "大字",
    voice: "语音播报",
    otherLanguage: "English",
    otherLanguageCode: "en",
    person: "转人工",
    conversation: "对话记录",
    inputLabel: "输入您的问题",
    placeholder: "例如：怎么办身份证",
    send: "发送",
    hint: "按回车键发送",
    typing: "助手正在回复…",
    offline: "连接中断，正在重新连接… 您的消息会在连接恢复后发出，不会丢失。",
    online: "已重新连接。",
    pending: "等待发送",
    you: "您说：",
    bot: "助手说：",
    play: "朗读",
    stop: "停止朗读",
    speechFailed: "暂时无法朗读，请看文字。",
    welcome: "您好！我是政务服务助手。请直接说您要办什么事，例如“怎么办身份证”。" +
      "看不清可以点上面的“大字”，想听可以点“语音播报”（手机上在“设置”里）。需要人工帮助，点“转人工”或拨打12345。",
    suggestions: ["怎么办身份证", "社保卡怎么申领", "怎么提取公积金"],
    suggestionsLabel: "常见问题",
    error: "出错了，请稍后再试，或拨打12345。",
    agentSaid: "人工客服说：",
    agentName: "人工客服 {name}",
    ticketWaiting: "人工服务 · 工单 {number} · 排第 {position} 位，预计约 {minutes} 分钟",
    ticketOffline: "人工服务 · 工单 {number} · {when}",
    ticketAssigned: "人工服务 · 工单 {number} · 客服 {agent} 正在为您服务",
    cancelHandoff: "取消转人工",
    mic: "按一下说话",
    micStop: "说完了，发送",
    micCancel: "取消",
    recording: "正在录音… {seconds} 秒。说完请按“说完了，发送”，按 Esc 取消。",
    recognising: "正在识别您说的话…",
    heard: "我听到：",
    micDenied: "无法使用麦克风，请打字，或拨打12345。",
    micUnsupported: "这个浏览器不能录音，请打字，或拨打12345。",
  },
  en: {
    htmlLang: "en",
    title: "Government Services Assistant",
    hotline: "Hotline",
    skip: "Skip to the message box",
    tools: "Display and language",
    settings: "Settings",
    large: "Large text",
    voice: "Read aloud",
    otherLanguage: "中文",
    otherLanguageCode: "zh",
    person: "Talk to a person",
    conversation: "Conversation",
    inputLabel: "Type your question",
    placeholder: "For example: how do I get an ID card",
    send: "Send",
    hint: "Press Enter to send",
    typing: "The assistant is replying…",
    offline: "Connection lost, reconnecting… Your message will be sent when the connection is back; nothing is lost.",
    online: "Connected again.",
    pending: "waiting to send",
    you: "You said:",
    bot: "Assistant said:",
    play: "Play",
    stop: "Stop",
    speechFailed: "Reading aloud is not available right now; please read the text.",
    welcome: "Hello! I am the government services assistant. Tell me what you need to do, for example " +
      "\"how do I get an ID card\". For bigger text press \"Large text\"; to hear answers press \"Read aloud\" " +
      "(on a phone, under \"Settings\"). " +
      "For a person press \"Talk to a person\" or call 12345.",
    suggestions: ["How do I get an ID card", "Apply for a social security card", "Withdraw my housing fund"],
    suggestionsLabel: "Common questions",
    error: "Something went wrong. Please try again later, or call 12345.",
    agentSaid: "The agent said:",
    agentName: "Agent {name}",
    ticketWaiting: "Talking to a person · ticket {number} · number {position} in the queue, about {minutes} min",
    ticketOffline: "Talking to a person · ticket {number} · {when}",
    ticketAssigned: "Talking to a person · ticket {number} · {agent} is helping you",
    cancelHandoff: "Cancel the request for a person",
    mic: "Tap to talk",
    micStop: "Done, send",
    micCancel: "Cancel",
    recording: "Recording… {seconds} s. Press \"Done, send\" when you have finished, Esc to cancel.",
    recognising: "Working out what you said…",
    heard: "I heard: ",
    micDenied: "The microphone cannot be used. Please type, or call 12345.",
    micUnsupported: "This browser cannot record. Please type, or call 12345.",
  },
};

// The agent console (agent.js) shows Chinese and English side by side: one string each, not one per language.
export const AGENT = {
  authors: { citizen: "市民 Citizen", bot: "智能助手 Bot", agent: "客服 Agent", system: "系统 System",
    note: "内部备注 Note" },
  status: { waiting: "排队中 waiting", assigned: "处理中 assigned", closed: "已结束 closed" },
  sla: { ok: "正常 ok", warning: "预警 warning", breached: "超时 breached", met: "达标 met", missed: "未达标 missed" },
  slaNames: { first_response: "首次响应 First response", next_response: "再次响应 Next response",
    resolution: "办结 Resolution" },
  slaShortNames: { first_response: "首次响应", next_response: "再次响应", resolution: "办结" },
  connectionLost: "连接中断，请稍后再试 / Connection lost, try again",
  minutesSeconds: "{minutes} 分 {seconds} 秒",
  seconds: "{seconds} 秒",
  wrongPassword: "用户名或密码不对 / Wrong username or password",
  cannotLogIn: "无法登录 / Cannot log in",
  tooManyAttempts: "登录失败次数过多，请 {seconds} 秒后再试 / Too many failed log-ins: try again in {seconds} s",
  sessionEnded: "登录已失效（长时间未操作），请重新登录 / Your session has ended: please log in again",
  queueCount: "({waiting} 排队 waiting, {active} 处理中 in progress)",
  agentsOnline: "{count} 位客服在线 agents online",
  openNow: "服务时间内 open",
  closedNow: "非服务时间 outside working hours",
  openTicket: "打开工单 Open ticket {number}",
  waited: "等待 waited {time}",
  priority: "优先级 priority {priority}",
  elderly: "老年模式 elderly",
  noTickets: "没有待处理的工单 / No open tickets",
  metrics: { tickets: "工单 Tickets", answeredWithinTarget: "按时首次响应 Answered within target",
    abandonment: "放弃率 Abandonment", waitMedian: "等待中位数 Median wait", waitP90: "等待 p90 wait",
    rating: "市民评分 Citizen rating" },
  none: "—",
  cannotOpen: "打不开工单 / Cannot open the ticket",
  ticketTitle: "工单 Ticket {number}",
  facts: { channel: "渠道 Channel", language: "语言 Language", elderly: "老年模式 Elderly mode", reason: "原因 Reason",
    item: "机器人所在事项 Item the bot was on", opened: "开始 Opened", resolution: "处理结果 Resolution",
    rating: "市民评分 Citizen rating" },
  yes: "是 yes",
  no: "否 no",
  failed: "操作没有成功 / That did not work",
  claimed: "已认领 Claimed",
  takenOver: "已接管 Taken over",
  released: "已放回队列 Released",
  forwarded: "已转给 Forwarded to {agent}",
  sent: "已发送 Sent",
  noteSaved: "已记录备注 Note saved",
  resolutionFirst: "请写处理结果 / Write the resolution first",
  closed: "工单已结束 Ticket closed",
  cannedGroups: { zh: "中文", en: "English" },
};

/** A string with {placeholders} filled in. */
export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

/** The interface language to start with: the stored choice, else the browser's language. */
export function initialLanguage(stored) {
  if (stored === "zh" || stored === "en") return stored;
  const browser = (navigator.language || "zh").toLowerCase();
  return browser.startsWith("en") ? "en" : "zh";
}

/** Put the interface text of one language on the page. */
export function applyLanguage(language) {
  const text = STRINGS[language];
  document.documentElement.lang = text.htmlLang;
  document.title = text.title;
  for (const element of document.querySelectorAll("[data-text]")) {
    element.textContent = text[element.dataset.text];
  }
  for (const element of document.querySelectorAll("[data-label]")) {
    element.setAttribute("aria-label", text[element.dataset.label]);
  }
  for (const element of document.querySelectorAll("[data-placeholder]")) {
    element.setAttribute("placeholder", text[element.dataset.placeholder]);
  }
  const other = document.getElementById("lang-toggle");
  other.lang = STRINGS[text.otherLanguageCode].htmlLang;
}
