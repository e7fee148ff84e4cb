// The page inside the widget's frame on a host site (/?embed=1, opened by /widget.js): it tells the host page when
// it is ready (so the widget knows the frame was not refused) and asks it to close the panel on Esc.

const params = new URLSearchParams(location.search);

/** The page runs inside the widget's frame. */
export const embedded = params.get("embed") === "1" && window.parent !== window;

/** The host page's origin: the browser's own record where it has one, else the one the widget passed. */
function hostOrigin() {
  const ancestors = location.ancestorOrigins;
  if (ancestors && ancestors.length) return ancestors[0];
  try {
    return new URL(params.get("host") || "").origin;
  } catch (error) {
    return null;
  }
}

/** Send the widget one of its two messages, "ready" or "close", and only to the host page's origin. */
export function tellHost(type) {
  const origin = hostOrigin();
  if (embedded && origin && origin !== "null") window.parent.postMessage({ govbot: type }, origin);
}

/** Mark the page as embedded (its stylesheet leaves the title to the host's panel) and say it is ready. */
export function startEmbedded() {
  if (!embedded) return;
  document.documentElement.classList.add("embed");
  tellHost("ready");
}
