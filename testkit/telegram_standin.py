"""A stand-in Telegram Bot API server on loopback, for testing the bot with the real aiogram client.

It speaks the Bot API's HTTP protocol (POST /bot<token>/<method>, answers {"ok": true, "result": ...} or
{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}) for the methods the bot uses.
Tests inject what users do (`send_text`, `press`, `send_voice_note`) and read what the bot sent (`sent`,
`wait_for`); `flood(method, times, retry_after)` makes the next calls answer 429.
"""

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from aiohttp import ClientSession, ClientTimeout, web

from testkit.helpers import free_port

TOKEN = "123456789:AAStandInTokenForTestsOnly_abcdefghij"
JSON_FIELDS = ("reply_markup", "allowed_updates", "commands", "link_preview_options", "reply_parameters",
               "entities", "caption_entities", "scope")
INT_FIELDS = ("chat_id", "message_id", "offset", "limit", "timeout", "duration", "cache_time", "max_connections")


@dataclass
class Sent:
    """Something the bot sent: a message, a voice message, a callback answer or a markup edit."""

    method: str
    params: dict[str, Any]
    time: float
    message_id: Optional[int] = None
    voice: Optional[bytes] = None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> Optional[int]:
        return self.params.get("chat_id")

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        return (self.params.get("reply_markup") or {}).get("inline_keyboard") or []

    @property
    def reply_keyboard(self) -> Optional[list[list[dict[str, Any]]]]:
        return (self.params.get("reply_markup") or {}).get("keyboard")


@dataclass
class Flood:
    times: int
    retry_after: int


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, float, int]] = field(default_factory=list)  # method, time, HTTP status
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (file_path, bytes)
    floods: dict[str, Flood] = field(default_factory=dict)
    webhook: Optional[dict[str, str]] = None
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class TelegramStandIn:
    """The Bot API server, run in its own thread and event loop; use as a context manager."""

    def __init__(self, token: str = TOKEN, username: str = "govbot_test_bot") -> None:
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "govbot test",
                         "username": username, "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.state = _State()
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._new_update: Optional[asyncio.Event] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._runner: Optional[web.AppRunner] = None
        self._closing = False

    # -- running ---------------------------------------------------------------------------------------------

    def __enter__(self) -> "TelegramStandIn":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="telegram-standin", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the stand-in Telegram server did not start")

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._new_update = asyncio.Event()
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _shutdown(self) -> None:
        self._closing = True
        if self._new_update is not None:
            self._new_update.set()  # long polls in flight return now
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what users do ---------------------------------------------------------------------------------------

    @staticmethod
    def user(user_id: int, language_code: str = "zh-hans") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": language_code}

    def _message(self, user_id: int, language_code: str, **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._ids), "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id}"},
                "from": self.user(user_id, language_code), **content}

    def send_text(self, text: str, user_id: int = 1001, language_code: str = "zh-hans") -> int:
        """A user types a message (a /command too); returns its message id."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = self._message(user_id, language_code, **content)
        self._push({"message": message})
        return message["message_id"]

    def press(self, callback_data: str, message_id: int, user_id: int = 1001,
              language_code: str = "zh-hans") -> str:
        """A user taps an inline button under the bot's message `message_id`; returns the callback query id."""
        query_id = f"cq{next(self._ids)}"
        message = {"message_id": message_id, "date": int(time.time()),
                   "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id}"},
                   "from": self.bot_user, "text": "…"}
        self._push({"callback_query": {"id": query_id, "from": self.user(user_id, language_code),
                                       "chat_instance": str(user_id), "data": callback_data, "message": message}})
        return query_id

    def send_location(self, latitude: float, longitude: float, user_id: int = 1001,
                      language_code: str = "zh-hans") -> int:
        """A user shares a location (the attachment menu's "Location"); returns its message id."""
        message = self._message(user_id, language_code, location={"latitude": latitude, "longitude": longitude})
        self._push({"message": message})
        return message["message_id"]

    def send_voice_note(self, ogg: bytes, user_id: int = 1001, language_code: str = "zh-hans") -> str:
        """A user records a voice note; returns its file id (downloadable with getFile)."""
        file_id = self._store_file(ogg, "voice")
        self._push({"message": self._message(user_id, language_code, voice={
            "file_id": file_id, "file_unique_id": f"u{file_id}", "duration": 1, "mime_type": "audio/ogg",
            "file_size": len(ogg)})})
        return file_id

    def _store_file(self, data: bytes, folder: str) -> str:
        number = next(self._ids)
        file_id = f"file{number}"
        with self._lock:
            self.state.files[file_id] = (f"{folder}/file_{number}.oga", data)
        return file_id

    def _push(self, content: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **content}
        with self._lock:
            self.state.updates.append(update)
            webhook = self.state.webhook
        assert self._loop is not None
        if webhook:
            asyncio.run_coroutine_threadsafe(self._post_webhook(webhook, update), self._loop)
        else:
            self._loop.call_soon_threadsafe(self._new_update.set)  # type: ignore[union-attr]

    async def _post_webhook(self, webhook: dict[str, str], update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook["secret_token"]} if webhook.get("secret_token") else {}
        async with ClientSession(timeout=ClientTimeout(total=30)) as session:
            async with session.post(webhook["url"], json=update, headers=headers) as response:
                await response.read()

    # -- switches --------------------------------------------------------------------------------------------

    def flood(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer 429 Too Many Requests with that retry_after."""
        with self._lock:
            self.state.floods[method.lower()] = Flood(times, retry_after)

    def revoke_token(self) -> None:
        """From now on the bot's token is refused with 401, as after /revoke in @BotFather."""
        self.token = self.token + "-revoked"

    # -- what the bot did ------------------------------------------------------------------------------------

    def sent(self, chat_id: Optional[int] = None, method: Optional[str] = None) -> list[Sent]:
        with self._lock:
            return [s for s in self.state.sent if (chat_id is None or s.chat_id == chat_id)
                    and (method is None or s.method == method)]

    def calls(self, method: Optional[str] = None) -> list[tuple[str, float, int]]:
        with self._lock:
            return [c for c in self.state.calls if method is None or c[0] == method]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until `condition()` is truthy (checked whenever the bot calls the server); returns its value."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the bot did not do what was expected in {timeout:g} s; it sent: "
                                       f"{[(s.method, s.text[:80]) for s in self.state.sent]}")
                self._lock.wait(min(remaining, 0.2))

    def wait_sent(self, chat_id: int, count: int, method: Optional[str] = None, after: int = 0,
                  timeout: float = 30.0, settle: float = 0.3) -> list[Sent]:
        """The bot's first `count` sends to chat_id after the first `after` ones, once they have arrived.

        `settle`: then wait that long for more, so a test sees the whole turn.
        """
        self.wait_for(lambda: len(self.sent(chat_id, method)) >= after + count, timeout)
        time.sleep(settle)
        return self.sent(chat_id, method)[after:]

    # -- the Bot API -----------------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = value
        params.update({k: v for k, v in request.query.items() if k not in params})
        for key in list(params):
            value = params[key]
            if key in JSON_FIELDS and isinstance(value, str):
                params[key] = json.loads(value)
            elif key in INT_FIELDS and isinstance(value, str) and value.lstrip("-").isdigit():
                params[key] = int(value)
            elif isinstance(value, str) and value in ("true", "false"):
                params[key] = value == "true"
        for key, value in list(params.items()):  # attach://name references a multipart part
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                files[key] = files.pop(value[9:])
        return params, files

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    def _record_call(self, method: str, status: int) -> None:
        with self._lock:
            self.state.calls.append((method, time.monotonic(), status))
            self._lock.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self._record_call(method, 401)
            return self._error(401, "Unauthorized")
        with self._lock:
            flood = self.state.floods.get(method.lower())
            if flood and flood.times > 0:
                flood.times -= 1
                retry_after = flood.retry_after
            else:
                retry_after = 0
        if retry_after:
            self._record_call(method, 429)
            return self._error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            self._record_call(method, 404)
            return self._error(404, "Not Found: method not found")
        params, files = await self._params(request)
        response = await handler(params, files)
        self._record_call(method, response.status)
        return response

    async def _m_getme(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        return self._ok(self.bot_user)

    async def _m_getupdates(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        if self.state.webhook:
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active; "
                                    "use deleteWebhook to delete the webhook first")
        offset, timeout = int(params.get("offset") or 0), float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while True:
            with self._lock:
                if offset:
                    self.state.updates = [u for u in self.state.updates if u["update_id"] >= offset]
                pending = self.state.updates[:limit]
                self._new_update.clear()
            remaining = deadline - time.monotonic()
            if pending or remaining <= 0 or self._closing:
                return self._ok(pending)
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def _bot_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"},
                "from": self.bot_user, **content}

    def _record(self, sent: Sent) -> None:
        with self._lock:
            self.state.sent.append(sent)
            self._lock.notify_all()

    async def _m_sendmessage(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        text = str(params.get("text", ""))
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")
        if "chat_id" not in params:
            return self._error(400, "Bad Request: chat_id is empty")
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        message = self._bot_message(params["chat_id"], text=text,
                                    **({"reply_markup": markup} if "inline_keyboard" in markup else {}))
        self._record(Sent("sendMessage", params, time.monotonic(), message["message_id"]))
        return self._ok(message)

    async def _m_sendvoice(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        if "voice" not in files:
            return self._error(400, "Bad Request: there is no voice in the request")
        data = files["voice"]
        file_id = self._store_file(data, "voice")
        message = self._bot_message(params["chat_id"], voice={
            "file_id": file_id, "file_unique_id": f"u{file_id}", "duration": int(params.get("duration") or 0),
            "mime_type": "audio/ogg", "file_size": len(data)})
        self._record(Sent("sendVoice", params, time.monotonic(), message["message_id"], voice=data))
        return self._ok(message)

    async def _m_answercallbackquery(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        if not params.get("callback_query_id"):
            return self._error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._record(Sent("answerCallbackQuery", params, time.monotonic()))
        return self._ok(True)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        self._record(Sent("editMessageReplyMarkup", params, time.monotonic()))
        return self._ok(self._bot_message(int(params.get("chat_id") or 0), text="…"))

    async def _m_sendchataction(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        return self._ok(True)

    async def _m_getfile(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        stored = self.state.files.get(str(params.get("file_id")))
        if stored is None:
            return self._error(400, "Bad Request: invalid file_id")
        path, data = stored
        return self._ok({"file_id": params["file_id"], "file_unique_id": f"u{params['file_id']}",
                         "file_size": len(data), "file_path": path})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        for path, data in self.state.files.values():
            if path == request.match_info["path"]:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    async def _m_setwebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            return self._error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            self.state.webhook = {"url": params["url"], "secret_token": str(params.get("secret_token", ""))}
        return self._ok(True)

    async def _m_deletewebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        with self._lock:
            self.state.webhook = None
        return self._ok(True)

    async def _m_getwebhookinfo(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        webhook = self.state.webhook or {}
        return self._ok({"url": webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0})

    async def _m_setmycommands(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        with self._lock:
            self.state.commands[str(params.get("language_code", ""))] = params.get("commands") or []
        return self._ok(True)

    async def _m_deletemycommands(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        return self._ok(True)

    async def _m_close(self, params: dict[str, Any], files: dict[str, bytes]) -> web.Response:
        return self._ok(True)


def main() -> None:
    """Run the stand-in by hand: prints its base URL (for GOVBOT_TELEGRAM_API_URL) until Ctrl-C."""
    with TelegramStandIn() as server:
        print(f"stand-in Bot API at {server.base_url} (token {server.token})", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
