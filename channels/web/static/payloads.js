// The button and command payloads the page sends to the bot: the same vocabulary as core/payloads.py
// (a unit test keeps the two equal). A payload is `/intent` or `/intent{"entity": "value"}`.

export const askPerson = "/ask_person";
export const cancelHandoff = "/cancel_handoff";
export const affirm = "/affirm";
export const deny = "/deny";
export const rateGood = "/rate_good";
export const rateBad = "/rate_bad";
export const MODES = ["large_text", "voice"];

/** `/intent{"name": "value", ...}`, spaced as Python's json.dumps writes it. */
export function withEntities(intent, entities) {
  const pairs = Object.entries(entities).map(([name, value]) => `${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  return `${intent}{${pairs.join(", ")}}`;
}

/** The payload that turns a mode ("large_text" or "voice") on or off: `/large_text_on`. */
export function mode(name, on) {
  if (!MODES.includes(name)) throw new Error(`unknown mode ${name}`);
  return `/${name}_${on ? "on" : "off"}`;
}

/** The payload that switches the conversation's language to "zh" or "en". */
export function switchLanguage(target) {
  return withEntities("/switch_language", { target_language: target });
}

/** The payload of a button that picks one of the offered service items. */
export function chooseItem(itemId) {
  return withEntities("/choose_item", { item_id: itemId });
}

/** The payload of a button that rates the help on a closed handoff ticket (level 1-5). */
export function rateTicket(number, level) {
  return withEntities("/rate_ticket", { ticket: number, rating: String(level) });
}
