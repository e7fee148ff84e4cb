// The page's height follows what is visible: a screen keyboard that opens shrinks it (the text box stays above the
// keyboard), and the conversation keeps its end, or the answer being read, in view when its box gets smaller.

/** Set --app-height from the visual viewport (browsers whose keyboard covers the page without resizing it). */
function followVisualViewport(root) {
  const view = window.visualViewport;
  if (!view) return;
  const update = () => {
    // a pinch zoom shrinks the visual viewport too: then the page keeps its size
    if (Math.abs(view.scale - 1) < 0.01) root.style.setProperty("--app-height", `${Math.round(view.height)}px`);
    else root.style.removeProperty("--app-height");
  };
  view.addEventListener("resize", update);
  update();
}

/**
 * Keep the conversation's view when its box shrinks or grows: at its end if it was at its end, else the last message
 * revealed again while the text box has the focus (the keyboard has just opened over the answer being read).
 */
function keepInView(conversation, input, revealLast) {
  let atEnd = true;
  const measure = () => {
    atEnd = conversation.scrollHeight - conversation.scrollTop - conversation.clientHeight < 4;
  };
  conversation.addEventListener("scroll", measure, { passive: true });
  if (!window.ResizeObserver) return;
  let height = conversation.clientHeight;
  new ResizeObserver(() => {
    if (conversation.clientHeight === height) return;
    const shrank = conversation.clientHeight < height;
    height = conversation.clientHeight;
    if (shrank && document.activeElement === input) revealLast();
    else if (atEnd) conversation.scrollTop = conversation.scrollHeight;
    measure();
  }).observe(conversation);
}

/** Make the page follow its visible size; revealLast() brings the last message into view. */
export function fitToViewport(conversation, input, revealLast) {
  followVisualViewport(document.documentElement);
  keepInView(conversation, input, revealLast);
}
