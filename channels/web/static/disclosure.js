// A disclosure: one button (aria-expanded) shows and hides a panel; the stylesheet decides where it folds (the
// 设置 button on phones, which holds the switches that wide screens show in the header).

/** Wire button to show and hide panel; close() folds it, giving the focus back to the button if it was inside. */
export function disclosure(button, panel) {
  const set = (open) => button.setAttribute("aria-expanded", String(open));
  button.addEventListener("click", () => set(button.getAttribute("aria-expanded") !== "true"));
  return {
    /** The panel is unfolded by the button (false where the button is not shown: the panel is always there). */
    get open() {
      return button.getAttribute("aria-expanded") === "true" && button.getClientRects().length > 0;
    },
    close() {
      const inside = panel.contains(document.activeElement);
      set(false);
      if (inside) button.focus();
    },
  };
}
