// govbot's widget for other sites. A host page adds it with one tag:
//   <script src="https://gov-host.example/widget.js" defer></script>
// It puts a launcher button in the page's corner that opens the chat page in a frame (/?embed=1), in a modal
// dialog. Everything it shows lives in one <govbot-widget> element's shadow root, styled by a constructed style
// sheet: the host page's styles do not reach in and the widget's do not leak out, and no inline <style> is needed
// (a host's CSP may forbid it). The frame is the gateway's own page under the gateway's own CSP; its
// frame-ancestors (GOVBOT_FRAME_ANCESTORS) decides which sites may show it.
// Optional attribute: data-lang="zh" | "en" (default: the host page's language).
(() => {
  "use strict";

  const script = document.currentScript;
  if (!script || !script.src || document.querySelector("govbot-widget")) return; // added twice: one launcher

  const gateway = new URL(script.src, location.href).origin;
  const wanted = (script.dataset.lang || document.documentElement.lang || navigator.language || "zh").toLowerCase();
  const language = wanted.startsWith("en") ? "en" : "zh";
  const READY_AFTER_LOAD_MS = 2000; // the chat page says it is ready before its load event; a refused frame never does
  const READY_AT_MOST_MS = 15000;

  const TEXT = {
    zh: {
      lang: "zh-CN",
      open: "在线咨询",
      title: "政务服务助手",
      close: "关闭",
      frame: "政务服务助手对话",
      refused: "这里暂时打不开对话。",
      openPage: "在新窗口打开政务服务助手",
      call: "也可以拨打热线",
    },
    en: {
      lang: "en",
      open: "Ask a question",
      title: "Government Services Assistant",
      close: "Close",
      frame: "Government Services Assistant chat",
      refused: "The chat cannot open here right now.",
      openPage: "Open the assistant in a new window",
      call: "Or call the hotline",
    },
  }[language];

  // Every rule starts from `all: initial`, so nothing the host page sets on <govbot-widget> is inherited.
  const STYLE = `
    :host { all: initial; }
    .launcher, .panel { all: initial; box-sizing: border-box;
      font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
      font-size: 20px; line-height: 1.3; color: #1a1a1a; }
    .launcher { position: fixed; right: 16px; bottom: 16px; z-index: 2147483000; display: inline-flex;
      align-items: center; justify-content: center; min-width: 60px; min-height: 60px; padding: 10px 22px;
      border: 3px solid #fff; border-radius: 30px; background: #0b5cad; color: #fff; font-weight: 700;
      cursor: pointer; box-shadow: 0 2px 10px rgb(0 0 0 / 40%); }
    .launcher::before { content: "？" / ""; margin-right: 6px; }
    .launcher:hover { background: #083f78; }
    .panel { display: none; position: fixed; inset: auto 16px 16px auto; width: min(440px, calc(100vw - 32px));
      height: min(760px, calc(100dvh - 32px)); margin: 0; padding: 0; flex-direction: column; overflow: hidden;
      background: #fff; border: 2px solid #5a6b7d; border-radius: 12px; box-shadow: 0 4px 24px rgb(0 0 0 / 35%); }
    .panel[open] { display: flex; }
    .panel::backdrop { background: rgb(0 0 0 / 35%); }
    .bar { display: flex; align-items: center; gap: 8px; padding: 6px 8px 6px 14px; background: #0b5cad;
      color: #fff; }
    .title { flex: 1; min-width: 0; margin: 0; font-weight: 700; }
    .close { all: initial; box-sizing: border-box; display: inline-flex; align-items: center; justify-content: center;
      min-width: 60px; min-height: 60px; padding: 4px 14px; border: 2px solid #fff; border-radius: 8px;
      background: #fff; color: #083f78; font: inherit; font-weight: 700; cursor: pointer; }
    .close:hover { background: #e3edf8; }
    .launcher:focus-visible, .close:focus-visible, .refused a:focus-visible {
      outline: 3px solid #b34700; outline-offset: 3px; }
    .close:focus-visible { outline-color: #fff; box-shadow: 0 0 0 6px #b34700; }
    iframe { flex: 1; width: 100%; min-height: 0; border: 0; display: block; background: #fff; }
    .refused { padding: 16px; }
    .refused p { margin: 0 0 12px; }
    .refused a { color: #083f78; font-weight: 700; text-decoration: underline; }
    [hidden] { display: none !important; }
    @media (max-width: 600px), (max-height: 500px) {
      /* a phone: the chat takes the whole screen */
      .panel { inset: 0; width: 100vw; height: 100dvh; max-width: none; max-height: none; border: 0;
        border-radius: 0; }
    }
    @media (prefers-reduced-motion: no-preference) { .launcher { transition: background 0.15s; } }
  `;

  function element(tag, attributes = {}, text = "") {
    const made = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
    if (text) made.textContent = text;
    return made;
  }

  function mount() {
    const host = element("govbot-widget");
    const root = host.attachShadow({ mode: "open" });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    root.adoptedStyleSheets = [sheet];

    const launcher = element("button", { type: "button", class: "launcher", "aria-haspopup": "dialog",
      "aria-expanded": "false", lang: TEXT.lang }, TEXT.open);
    const panel = element("dialog", { class: "panel", "aria-labelledby": "govbot-title", lang: TEXT.lang });
    const bar = element("div", { class: "bar" });
    const close = element("button", { type: "button", class: "close" }, TEXT.close);
    bar.append(element("p", { class: "title", id: "govbot-title" }, TEXT.title), close);
    const refused = element("div", { class: "refused", hidden: "" });
    const page = element("a", { href: `${gateway}/`, target: "_blank", rel: "noopener" }, TEXT.openPage);
    refused.append(element("p", {}, TEXT.refused), element("p"), element("p"));
    refused.children[1].append(page);
    refused.children[2].append(`${TEXT.call} `, element("a", { href: "tel:12345" }, "12345"));
    panel.append(bar, refused);
    root.append(launcher, panel);
    document.body.append(host);

    let frame = null;
    let ready = false;
    let waiting = null;

    const showRefused = () => {
      if (ready || !frame) return;
      frame.hidden = true;
      refused.hidden = false;
    };
    const waitForReady = (ms) => {
      clearTimeout(waiting);
      waiting = setTimeout(showRefused, ms);
    };

    const openFrame = () => {
      const address = new URL("/", gateway);
      address.search = new URLSearchParams({ embed: "1", host: location.origin }).toString();
      frame = element("iframe", { src: address.href, title: TEXT.frame, allow: "microphone; autoplay" });
      frame.addEventListener("load", () => waitForReady(READY_AFTER_LOAD_MS));
      panel.append(frame);
      waitForReady(READY_AT_MOST_MS);
    };

    window.addEventListener("message", (event) => {
      if (!frame || event.origin !== gateway || event.source !== frame.contentWindow) return;
      const type = event.data && event.data.govbot;
      if (type === "ready") {
        ready = true;
        clearTimeout(waiting);
        refused.hidden = true;
        frame.hidden = false;
      } else if (type === "close" && panel.open) {
        panel.close();
      }
    });

    launcher.addEventListener("click", () => {
      if (!frame) openFrame();
      panel.showModal(); // modal: the host page is inert behind it; Esc closes it
      launcher.setAttribute("aria-expanded", "true");
    });
    close.addEventListener("click", () => panel.close());
    panel.addEventListener("close", () => {
      launcher.setAttribute("aria-expanded", "false");
      launcher.focus(); // the focus goes back to where it came from
    });
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
