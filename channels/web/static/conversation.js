// The page's conversation with the gateway: started with POST /api/conversations when first needed, kept in the
// browser (store.js), its token sent with every request, and started again (once) when the gateway refuses it,
// for example after the server's secret changed.
import { loadConversation, saveConversation } from "./store.js";

const TIMEOUT_MS = 30000;

let current = loadConversation();
let starting = null;
const listeners = [];

/** The conversation in use, {sender, token}, or null before the first message. */
export function currentConversation() {
  return current;
}

/** listener(conversation) is called whenever a new conversation starts. */
export function onNewConversation(listener) {
  listeners.push(listener);
}

async function start() {
  const response = await fetch("/api/conversations", { method: "POST", signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = response.ok ? await response.json().catch(() => null) : null;
  if (!body || typeof body.sender !== "string" || typeof body.token !== "string") {
    throw new Error(`no conversation: HTTP ${response.status}`);
  }
  current = { sender: body.sender, token: body.token };
  saveConversation(current);
  for (const listener of listeners) listener(current);
  return current;
}

/** The conversation, started first if there is none yet (callers at the same moment share one start). */
export function ensureConversation() {
  if (current) return Promise.resolve(current);
  if (!starting) starting = start().finally(() => { starting = null; });
  return starting;
}

function renew(refused) {
  if (current === refused) current = null; // requests refused at the same moment share the one new conversation
  return ensureConversation();
}

function withToken(options, conversation) {
  return { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${conversation.token}` } };
}

/**
 * fetch(url) with the options build(conversation) gives, and the conversation's token. A 401 or 403 (the
 * token is no longer accepted) starts a new conversation and tries once more. Throws when offline.
 */
export async function sendInConversation(url, build) {
  let conversation = await ensureConversation();
  let response = await fetch(url, withToken(build(conversation), conversation));
  if (response.status === 401 || response.status === 403) {
    conversation = await renew(conversation);
    response = await fetch(url, withToken(build(conversation), conversation));
  }
  return response;
}

/** The address of the conversation's live events; EventSource cannot send headers, so the token is in it. */
export function eventsAddress(conversation, after) {
  const query = new URLSearchParams({ sender: conversation.sender, token: conversation.token, after: String(after) });
  return `/api/events?${query}`;
}
