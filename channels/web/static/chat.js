// govbot web chat: sends what the user types to /api/chat and shows the bot's replies.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const status = document.getElementById("status");

  function senderId() {
    let id = localStorage.getItem("govbot.sender");
    if (!id) {
      id = "web-" + (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
      localStorage.setItem("govbot.sender", id);
    }
    return id;
  }

  function addMessage(kind, text) {
    const item = document.createElement("div");
    item.className = "msg " + kind;
    item.textContent = text;
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function addBotMessage(message) {
    const item = addMessage("bot", message.text || "");
    if (message.buttons && message.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const choice of message.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = choice.title;
        button.addEventListener("click", () => send(choice.payload, choice.title));
        row.appendChild(button);
      }
      item.appendChild(row);
    }
  }

  async function send(text, shown) {
    addMessage("user", shown || text);
    status.textContent = "正在回复… / Replying…";
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: senderId(), text: text }),
      });
      const body = await response.json();
      if (!response.ok) {
        addMessage("error", body.error ? body.error.message : "出错了 / Something went wrong");
      } else {
        for (const message of body.messages) addBotMessage(message);
      }
    } catch (error) {
      addMessage("error", "无法连接服务器，请稍后再试。 / Cannot reach the server, please try again.");
    } finally {
      status.textContent = "";
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  input.focus();
})();
