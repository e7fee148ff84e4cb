// govbot web chat: sends what the user types or clicks to /api/chat, shows and speaks the bot's replies,
// keeps the conversation across reloads and holds messages back until the gateway is reachable again.
import { currentConversation, eventsAddress, onNewConversation, sendInConversation } from "./conversation.js";
import { disclosure } from "./disclosure.js";
import { embedded, startEmbedded, tellHost } from "./embed.js";
import { STRINGS, applyLanguage, fill, initialLanguage } from "./i18n.js";
import * as payloads from "./payloads.js";
import { linkedText, messageElement, welcomeElement } from "./render.js";
import { Speaker } from "./speech.js";
import { Recorder } from "./voice.js";
import {
  entryId, forgetLastEvent, loadDraft, loadHistory, loadLastEvent, loadPrefs, saveDraft, saveEntry, saveLastEvent,
  savePrefs, updateEntry,
} from "./store.js";
import { fitToViewport } from "./viewport.js";

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 8000;
const RETRY_AFTER_MAX_MS = 60000;
const STREAM_RETRY_MAX_MS = 60000;
const REQUEST_TIMEOUT_MS = 30000;

const page = {
  conversation: document.getElementById("conversation"),
  earlier: document.getElementById("earlier"),
  log: document.getElementById("log"),
  status: document.getElementById("status"),
  form: document.getElementById("composer"),
  input: document.getElementById("text"),
  settingsToggle: document.getElementById("settings-toggle"),
  settings: document.getElementById("settings"),
  large: document.getElementById("large-toggle"),
  voice: document.getElementById("voice-toggle"),
  language: document.getElementById("lang-toggle"),
  person: document.getElementById("person"),
  banner: document.getElementById("ticket-banner"),
  bannerText: document.getElementById("ticket-text"),
  cancel: document.getElementById("ticket-cancel"),
  mic: document.getElementById("mic"),
  recording: document.getElementById("recording"),
  recordingText: document.getElementById("recording-text"),
  level: document.getElementById("level-bar"),
  micCancel: document.getElementById("mic-cancel"),
};

const prefs = loadPrefs();
prefs.language = initialLanguage(prefs.language);
const outbox = [];
let sending = false;
let offline = false;
let wakeUp = () => {};

const strings = () => STRINGS[prefs.language];

const speaker = new Speaker(
  (element, playing) => {
    const button = element.querySelector("button.play");
    if (!button) return;
    button.dataset.text = playing ? "stop" : "play";
    button.textContent = strings()[button.dataset.text];
  },
  () => setStatus(strings().speechFailed),
);

function setStatus(text) {
  page.status.textContent = text;
}

/** Bring a new message into view: all of it, or its beginning when it is taller than the view. */
function reveal(element) {
  const view = page.conversation;
  if (element.offsetHeight > view.clientHeight) {
    view.scrollTop = element.offsetTop - 8;
  } else {
    view.scrollTop = view.scrollHeight;
  }
}

function spokenLanguage(entry) {
  return (entry.custom && entry.custom.language) || prefs.language;
}

const actions = {
  choose: (payload, title) => submit(payload, title),
  play: (element, entry) => {
    if (speaker.isPlaying(element)) speaker.stop();
    else {
      speaker.cancel();
      speaker.play(element, entry.text, spokenLanguage(entry), prefs.large);
    }
  },
};

function show(entry, container) {
  const element = messageElement(entry, strings(), actions);
  container.append(element);
  reveal(element);
  return element;
}

// --- settings: large text, voice, language ---------------------------------------------------

function applyModes() {
  document.documentElement.classList.toggle("large", prefs.large);
  page.large.setAttribute("aria-pressed", String(prefs.large));
  page.voice.setAttribute("aria-pressed", String(prefs.voice));
}

function setLanguage(language) {
  if (language !== "zh" && language !== "en") return;
  prefs.language = language;
  savePrefs(prefs);
  applyLanguage(language);
  if (ticket) showTicket(ticket, "ticket");
  const welcome = document.querySelector(".msg.welcome");
  if (welcome) welcome.replaceWith(welcomeElement(strings(), (question) => submit(question)));
}

/** The bot's reply payload says which modes and language are in force for this user. */
function followReply(custom) {
  if (!custom) return;
  if (custom.mode) {
    prefs.large = custom.mode.large_text === true;
    const voice = custom.mode.voice === true;
    if (!voice) speaker.cancel();
    prefs.voice = voice;
    savePrefs(prefs);
    applyModes();
  }
  if (custom.language && custom.language !== prefs.language) setLanguage(custom.language);
}

// --- sending, with retries while the gateway or Rasa is unreachable ------------------------------

function sleep(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wakeUp = () => { clearTimeout(timer); resolve(); };
  });
}

function setOffline(isOffline) {
  if (isOffline === offline) return;
  offline = isOffline;
  setStatus(isOffline ? strings().offline : strings().online);
}

function markSent(entry) {
  entry.pending = false;
  const element = document.querySelector(`.msg[data-id="${entry.id}"] .pending`);
  if (element) element.remove();
  if (!entry.quiet) updateEntry(entry.id, { pending: false });
}

function addBotEntry(entry) {
  saveEntry(entry);
  const element = show(entry, page.log);
  if (prefs.voice && entry.text) speaker.enqueue(element, entry.text, spokenLanguage(entry), prefs.large);
}

function addBotMessages(messages) {
  for (const message of messages) {
    const entry = { id: entryId(), who: "bot", text: message.text || "", buttons: message.buttons || [],
      custom: message.custom || null };
    followReply(entry.custom);
    if (entry.custom && entry.custom.ticket) showTicket(entry.custom.ticket, entry.custom.kind);
    if (entry.text || entry.buttons.length) addBotEntry(entry);
  }
}

// --- talking to a person: the ticket banner and the agent's messages, live ---------------------------------

let ticket = null;

/** Show the ticket's state above the conversation (hidden once it is closed). */
function showTicket(state, kind) {
  ticket = state && state.status !== "closed" && !String(kind).endsWith("closed") ? { ...(ticket || {}), ...state }
    : null;
  page.banner.hidden = !ticket;
  if (!ticket) return;
  const text = strings();
  let words = fill(text.ticketWaiting, ticket);
  if (ticket.status === "assigned") words = fill(text.ticketAssigned, ticket);
  else if (ticket.when) words = fill(text.ticketOffline, ticket);
  page.bannerText.textContent = words;
  page.cancel.hidden = ticket.status !== "waiting";
}

function onHandoffEvent(event) {
  const data = JSON.parse(event.data);
  saveLastEvent(data.id);
  if (data.ticket) showTicket(data.ticket, data.ticket.status);
  const id = `h-${data.id}`;
  if (document.querySelector(`.msg[data-id="${id}"]`)) return;
  addBotEntry({ id, who: data.author === "agent" ? "agent" : "bot", text: data.text, buttons: data.buttons || [],
    custom: { kind: `handoff_${data.author}`, language: data.language, agent: data.agent } });
}

/** A message about one of the citizen's work orders (a department signed, replied, the return visit...). */
function onWorkOrderEvent(event) {
  const data = JSON.parse(event.data);
  addBotEntry({ id: entryId(), who: "bot", text: data.text, buttons: data.buttons || [],
    custom: { kind: "workorder_notice", language: data.language, number: data.number } });
}

let events = null;
let streamRetryMs = RETRY_FIRST_MS;

/** Listen to the conversation's live events (an agent's messages, the ticket's place in the queue). */
function listenForAgents(conversation) {
  if (events) events.close();
  const source = new EventSource(eventsAddress(conversation, loadLastEvent()));
  events = source;
  source.addEventListener("open", () => { streamRetryMs = RETRY_FIRST_MS; });
  source.addEventListener("handoff", onHandoffEvent);
  source.addEventListener("workorder", onWorkOrderEvent);
  source.addEventListener("ticket", (event) => showTicket(JSON.parse(event.data), "ticket"));
  // EventSource reconnects by itself after a network error (a gateway restart too) and sends Last-Event-ID;
  // an answer that is not a stream (a proxy's 502, a refused token) closes it for good: try again later
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.CLOSED || events !== source) return;
    setTimeout(() => {
      const conversation = currentConversation();
      if (events === source && conversation) listenForAgents(conversation);
    }, streamRetryMs);
    streamRetryMs = Math.min(streamRetryMs * 2, STREAM_RETRY_MAX_MS);
  });
}

onNewConversation((conversation) => {
  forgetLastEvent();
  listenForAgents(conversation);
});

function addError(text) {
  const entry = { id: entryId(), who: "error", text };
  saveEntry(entry);
  show(entry, page.log);
}

/** Seconds → milliseconds of a Retry-After header (a number of seconds), within reason. */
function retryAfterMs(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, RETRY_AFTER_MAX_MS) : RETRY_FIRST_MS;
}

/** POST one message to /api/chat. Its X-Request-Id is the entry's id, the same on every retry (and after a reload):
 * a message the bot did answer but whose answer was lost is answered again from Rasa's record, not handled twice. */
async function post(entry) {
  try {
    const response = await sendInConversation("/api/chat", (conversation) => ({
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Request-Id": entry.id },
      body: JSON.stringify({ sender: conversation.sender, text: entry.payload }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    }));
    const body = await response.json().catch(() => null);
    return { status: response.status, body, waitMs: response.status === 429 ? retryAfterMs(response) : 0 };
  } catch (error) {
    return { status: 0, body: null, waitMs: 0 }; // offline, or the conversation could not be started yet
  }
}

/** Deliver one message; retried with the same request id (network errors, 5xx: a gateway or Rasa server down, a
 * load balancer's 502/503/504) until the gateway answers; a 4xx answer is final. */
async function deliver(entry) {
  let delay = RETRY_FIRST_MS;
  for (;;) {
    if (!offline) setStatus(strings().typing);
    const { status, body, waitMs } = await post(entry);
    if (status === 200 && body && Array.isArray(body.messages)) {
      markSent(entry);
      if (offline) setOffline(false);
      else setStatus("");
      addBotMessages(body.messages);
      return;
    }
    if (status === 429) { // too many messages at once: wait as long as the gateway asks, then send it
      await sleep(waitMs);
      continue;
    }
    if (status >= 400 && status < 500) {
      markSent(entry);
      setStatus("");
      addError(body && body.error ? body.error.message : strings().error);
      // give typed text back, so nothing the user wrote is lost
      if (!entry.payload.startsWith("/") && !page.input.value) page.input.value = entry.payload;
      return;
    }
    setOffline(true);
    await sleep(delay);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}

async function pump() {
  if (sending) return;
  sending = true;
  while (outbox.length) {
    await deliver(outbox[0]);
    outbox.shift();
  }
  sending = false;
}

/** Send text (or a button payload) to the bot; shown is what the conversation shows, quiet shows nothing. */
function submit(payload, shown, quiet = false) {
  speaker.cancel(); // a new question: the answer to the old one need not be read to its end
  const entry = { id: entryId(), who: "user", text: shown || payload, payload, pending: true, quiet };
  if (!quiet) {
    saveEntry(entry);
    show(entry, page.log);
  }
  outbox.push(entry);
  pump();
}

// --- speaking instead of typing -----------------------------------------------------------------------

const recorder = new Recorder({
  onLevel: (level) => { page.level.style.width = `${Math.round(level * 100)}%`; },
  onTick: (seconds) => { page.recordingText.textContent = fill(strings().recording, { seconds }); },
  onStop: (blob) => {
    showRecording(false);
    if (blob) sendVoice(blob);
  },
});

function showRecording(on) {
  page.recording.hidden = !on;
  page.mic.setAttribute("aria-pressed", String(on));
  page.mic.dataset.text = on ? "micStop" : "mic";
  page.mic.textContent = strings()[page.mic.dataset.text];
  if (on) page.recordingText.textContent = fill(strings().recording, { seconds: 0 });
  setStatus(on ? strings().recording.split("…")[0] + "…" : "");
}

async function toggleRecording() {
  if (recorder.recording) {
    recorder.stop();
    return;
  }
  if (!Recorder.supported()) {
    addError(strings().micUnsupported);
    return;
  }
  speaker.cancel();
  try {
    await recorder.start();
    showRecording(true);
  } catch (error) {
    addError(strings().micDenied);
  }
}

/** Send a recording to /api/voice; show what was heard, then the answer (or the question "did you mean").
 * The language is the one the user chose with the language button, else "auto": the server tells zh from en. */
async function sendVoice(blob) {
  const language = prefs.languageChosen ? prefs.language : "auto";
  const form = (conversation) => {
    const fields = new FormData();
    fields.append("audio", blob, blob.type.includes("ogg") ? "speech.ogg" : "speech.webm");
    fields.append("sender", conversation.sender);
    fields.append("language", language);
    return fields;
  };
  setStatus(strings().recognising);
  let response;
  let body = null;
  try {
    const requestId = entryId(); // one per recording (see post)
    response = await sendInConversation("/api/voice", (conversation) => ({
      method: "POST", headers: { "X-Request-Id": requestId }, body: form(conversation),
    }));
    body = await response.json().catch(() => null);
  } catch (error) {
    setStatus("");
    addError(strings().offline);
    return;
  }
  setStatus("");
  if (response.ok && body) {
    const said = STRINGS[body.transcript.language] ? body.transcript.language : prefs.language;
    const heard = { id: entryId(), who: "user", text: STRINGS[said].heard + body.transcript.text, voice: true,
      custom: { language: said } };
    saveEntry(heard);
    show(heard, page.log);
    addBotMessages(body.messages);
    return;
  }
  const message = (body && body.error && body.error.message) || strings().error;
  if (body && body.speech) {
    // said honestly, in words and in speech: voice input in this language is not set up
    const entry = { id: entryId(), who: "bot", text: message, buttons: [],
      custom: { kind: "stt_not_configured", language: body.speech.language } };
    saveEntry(entry);
    const element = show(entry, page.log);
    speaker.enqueue(element, body.speech.text, body.speech.language, prefs.large);
    return;
  }
  addError(message);
}

// --- wiring ----------------------------------------------------------------------------------------

page.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = page.input.value.trim();
  if (!text) {
    page.input.focus();
    return;
  }
  page.input.value = "";
  saveDraft("");
  submit(text);
});

page.input.addEventListener("input", () => saveDraft(page.input.value));

page.large.addEventListener("click", () => {
  prefs.large = !prefs.large;
  savePrefs(prefs);
  applyModes();
  submit(payloads.mode("large_text", prefs.large), null, true);
});

page.voice.addEventListener("click", () => {
  prefs.voice = !prefs.voice;
  savePrefs(prefs);
  applyModes();
  submit(payloads.mode("voice", prefs.voice), null, true);
});

page.language.addEventListener("click", () => {
  const target = strings().otherLanguageCode;
  prefs.languageChosen = true; // the microphone now listens for this language only
  setLanguage(target);
  submit(payloads.switchLanguage(target), null, true);
});

page.person.addEventListener("click", () => submit(payloads.askPerson, strings().person));
page.cancel.addEventListener("click", () => submit(payloads.cancelHandoff, strings().cancelHandoff));

window.addEventListener("online", () => wakeUp());

page.mic.addEventListener("click", toggleRecording);
page.micCancel.addEventListener("click", () => recorder.cancel());

const settings = disclosure(page.settingsToggle, page.settings);
// Esc: stops a recording, else folds the settings, else (in the widget's frame) closes the widget's panel
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (recorder.recording) recorder.cancel();
  else if (settings.open) settings.close();
  else if (embedded) tellHost("close");
});

/** The newest message brought into view (the screen keyboard opened over it), unless a good part of it still is. */
function revealLast() {
  const messages = page.conversation.querySelectorAll(".msg");
  if (!messages.length) return;
  const last = messages[messages.length - 1];
  const view = page.conversation;
  const shown = Math.min(last.offsetTop + last.offsetHeight, view.scrollTop + view.clientHeight)
    - Math.max(last.offsetTop, view.scrollTop);
  if (shown < Math.min(last.offsetHeight, 60)) reveal(last);
}

function restore() {
  const history = loadHistory();
  if (!history.length) page.earlier.append(welcomeElement(strings(), (question) => submit(question)));
  for (const entry of history) {
    show(entry, page.earlier);
    if (entry.who === "user" && entry.pending) outbox.push(entry);
  }
  page.input.value = loadDraft();
  pump();
}

applyLanguage(prefs.language);
applyModes();
restore();
fitToViewport(page.conversation, page.input, revealLast);
startEmbedded();
// a returning user's conversation is listened to at once; a new one from its first message on
if (currentConversation()) listenForAgents(currentConversation());
// no autofocus: keyboard and screen-reader users start at the top, where the skip link leads to the text box

// exposed for tests and for the browser console
window.govbot = {
  get sender() {
    const conversation = currentConversation();
    return conversation ? conversation.sender : null;
  },
  prefs,
  linkedText,
};
