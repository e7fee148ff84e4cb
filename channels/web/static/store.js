// What the page keeps in the browser: the user's id, their settings, the conversation and unsent messages.

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

function newId(prefix) {
  const random = crypto.randomUUID ? crypto.randomUUID()
    : Date.now().toString(16) + Math.random().toString(16).slice(2);
  return prefix + random;
}

/** The stable id of this browser's conversation (the Rasa sender id). */
export function senderId() {
  let id = read("sender", null);
  if (typeof id !== "string" || !/^[A-Za-z0-9_.:-]{1,64}$/.test(id)) {
    id = newId("web-");
    write("sender", id);
  }
  return id;
}

/** The user's settings: {large, voice, language}. */
export function loadPrefs() {
  const prefs = read("prefs", {});
  return { large: prefs.large === true, voice: prefs.voice === true, language: prefs.language || null };
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
