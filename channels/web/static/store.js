// What the page keeps in the browser: the conversation's id and token, the user's settings, the messages and
// unsent messages.

const PREFIX = "govbot.";
const HISTORY_LIMIT = 200;

function read(key, fallback) {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch (error) {
    return fallback;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch (error) {
    // storage full or disabled: the conversation still works, it is just not kept
  }
}

function forget(key) {
  try {
    localStorage.removeItem(PREFIX + key);
  } catch (error) {
    // storage disabled: nothing was kept
  }
}

function newId(prefix) {
  const random = crypto.randomUUID ? crypto.randomUUID()
    : Date.now().toString(16) + Math.random().toString(16).slice(2);
  return prefix + random;
}

/** This browser's conversation as the gateway issued it, {sender, token}, or null before the first message. */
export function loadConversation() {
  forget("sender"); // the id pages chose themselves before conversations had tokens: no longer accepted
  const kept = read("conversation", null);
  const valid = kept && typeof kept.sender === "string" && /^web:[A-Za-z0-9_-]{1,60}$/.test(kept.sender)
    && typeof kept.token === "string" && /^[A-Za-z0-9_.-]{1,200}$/.test(kept.token);
  return valid ? { sender: kept.sender, token: kept.token } : null;
}

export function saveConversation(conversation) {
  write("conversation", { sender: conversation.sender, token: conversation.token });
}

/** The user's settings: {large, voice, language}. */
export function loadPrefs() {
  const prefs = read("prefs", {});
  // languageChosen: the user pressed the language button (voice input then says the language instead of "auto")
  return { large: prefs.large === true, voice: prefs.voice === true, language: prefs.language || null,
           languageChosen: prefs.languageChosen === true };
}

export function savePrefs(prefs) {
  write("prefs", prefs);
}

/** The conversation so far, oldest first: entries {id, who, text, buttons, custom, pending}. */
export function loadHistory() {
  const history = read("history", []);
  return Array.isArray(history) ? history : [];
}

/** Add an entry (or replace the one with the same id) and keep the newest HISTORY_LIMIT. */
export function saveEntry(entry) {
  const history = loadHistory().filter((kept) => kept.id !== entry.id);
  history.push(entry);
  write("history", history.slice(-HISTORY_LIMIT));
}

export function updateEntry(id, changes) {
  const history = loadHistory().map((kept) => (kept.id === id ? { ...kept, ...changes } : kept));
  write("history", history);
}

export function entryId() {
  return newId("m-");
}

/** What the user has typed but not sent, kept across reloads. */
export function loadDraft() {
  return read("draft", "");
}

export function saveDraft(text) {
  write("draft", text);
}

/** The id of the newest agent or system message this browser has shown (the live stream resumes after it). */
export function loadLastEvent() {
  const id = read("lastEvent", 0);
  return Number.isInteger(id) && id > 0 ? id : 0;
}

export function saveLastEvent(id) {
  if (Number.isInteger(id) && id > loadLastEvent()) write("lastEvent", id);
}

/** A new conversation's stream starts from its beginning. */
export function forgetLastEvent() {
  forget("lastEvent");
}
