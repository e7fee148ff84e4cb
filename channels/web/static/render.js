// Builds the elements of one chat message: its text (with links), its buttons and its play button.

// web addresses, and service hotlines such as 12345 or 12367 (not amounts like "12345元"), and the short
// emergency lines (110, 119, 120, 122) where a hotline list names whose line it is: "122（交通事故报警…）"
const LINK = /(https?:\/\/[^\s，。；、）)<>"]+|www\.[^\s，。；、）)<>"]+|\b123\d{2}\b(?!\s*(?:元|yuan|%|年|个))|\b1[12]\d\b(?=\s*[（(]))/g;

/** Text as nodes, with web addresses and hotline numbers as real links. */
export function linkedText(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    if (match.index > last) fragment.append(text.slice(last, match.index));
    const link = document.createElement("a");
    const found = match[0];
    if (/^\d+$/.test(found)) {
      link.href = `tel:${found}`;
    } else {
      link.href = found.startsWith("www.") ? `https://${found}` : found;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    link.textContent = found;
    fragment.append(link);
    last = match.index + found.length;
  }
  if (last < text.length) fragment.append(text.slice(last));
  return fragment;
}

function speakerLabel(key, strings) {
  const span = document.createElement("span");
  span.className = "visually-hidden";
  span.dataset.text = key; // relabelled when the interface language changes
  span.textContent = strings[key];
  return span;
}

/** The message text; an answer's first line (the service's name) in bold. */
function textElement(entry) {
  const body = document.createElement("p");
  body.className = "text";
  const text = entry.text || "";
  const titled = entry.custom && entry.custom.kind === "answer" && text.includes("\n");
  if (titled) {
    const title = document.createElement("strong");
    title.textContent = text.slice(0, text.indexOf("\n"));
    body.append(title, "\n");
  }
  body.append(linkedText(titled ? text.slice(text.indexOf("\n") + 1) : text));
  return body;
}

/**
 * One message element. entry: {who: "user"|"bot"|"error", text, buttons, custom, pending}.
 * strings: the interface text; actions: {choose(payload, title), play(element, entry)}.
 */
export function messageElement(entry, strings, actions) {
  const item = document.createElement("div");
  item.className = `msg ${entry.who}`;
  item.dataset.id = entry.id;
  const language = entry.custom && entry.custom.language;
  if (language) item.lang = language === "en" ? "en" : "zh-CN";
  if (entry.who !== "error") {
    item.append(speakerLabel({ user: "you", agent: "agentSaid" }[entry.who] || "bot", strings));
  }
  if (entry.who === "agent") {
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = strings.agentName.replace("{name}", (entry.custom && entry.custom.agent) || "");
    item.append(from);
  }
  item.append(textElement(entry));
  if (entry.who === "user" && entry.pending) item.append(pendingMark(strings));
  const row = document.createElement("div");
  row.className = "actions";
  for (const choice of entry.buttons || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.textContent = choice.title;
    button.addEventListener("click", () => actions.choose(choice.payload, choice.title));
    row.append(button);
  }
  if ((entry.who === "bot" || entry.who === "agent") && entry.text) {
    const play = document.createElement("button");
    play.type = "button";
    play.className = "play";
    play.dataset.text = "play";
    play.textContent = strings.play;
    play.addEventListener("click", () => actions.play(item, entry));
    row.append(play);
  }
  if (row.childElementCount) item.append(row);
  return item;
}

export function pendingMark(strings) {
  const mark = document.createElement("span");
  mark.className = "pending";
  mark.dataset.text = "pending";
  mark.textContent = strings.pending;
  return mark;
}

/** The welcome shown to a new user, with a few common questions as buttons. */
export function welcomeElement(strings, ask) {
  const item = document.createElement("div");
  item.className = "msg bot welcome";
  const body = document.createElement("p");
  body.className = "text";
  body.append(linkedText(strings.welcome));
  item.append(body);
  const row = document.createElement("div");
  row.className = "actions";
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", strings.suggestionsLabel);
  for (const question of strings.suggestions) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.textContent = question;
    button.addEventListener("click", () => ask(question));
    row.append(button);
  }
  item.append(row);
  return item;
}
