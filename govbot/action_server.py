"""The action server: rasa_sdk's action executor behind govbot's own Sanic app, closed to everyone but Rasa.

rasa_sdk's `run` listens on every interface, answers without authentication, takes any content type (so a web
page could post to it from a visitor's browser) and echoes request bodies in its errors. This app instead listens
on GOVBOT_ACTIONS_HOST (loopback by default), requires the shared secret Rasa sends (`Authorization: Bearer`, set
in endpoints.yml from GOVBOT_ACTIONS_TOKEN) on everything but /health, accepts only JSON bodies, and answers errors
with `{"error": ..., "code": ...}` and nothing from the request. It loads the knowledge search (and its model) and
builds the dispatch classifier once, before it serves, so its health check means "ready to answer".
"""

import argparse
import hmac
import json
import logging
import time
import types
import zlib
from typing import Any, Optional, Sequence, Union

from rasa_sdk import utils as sdk_utils
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.exceptions import PayloadTooLarge, SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.actions.runtime import ActionRuntime, install
from core.database import database_url
from core.log import configure_logging
from core.ratings import RatingStore
from core.settings import Settings, SettingsError
from knowledge.search import KnowledgeSearch
from knowledge.service import open_search
from workorders.classifier import DispatchClassifier, open_classifier

log = logging.getLogger("govbot.action_server")

# A tracker with thousands of events is a few MB; nothing Rasa sends comes near this.
MAX_BODY_BYTES = 32 * 1024 * 1024
JSON_TYPE = "application/json"
OPEN_PATHS = frozenset({"/health"})

_GENERIC = {400: ("bad_request", "the request is not a valid action call"),
            401: ("unauthorized", "a valid action server token is required"),
            404: ("not_found", "no such resource"),
            405: ("method_not_allowed", "method not allowed"),
            408: ("request_timeout", "the request took too long"),
            413: ("too_large", "the request body is too large"),
            415: ("unsupported_media_type", "only application/json bodies are accepted"),
            500: ("internal_error", "the action failed")}


def error(status: int, code: Optional[str] = None, message: Optional[str] = None) -> HTTPResponse:
    """A JSON error in the action server's one shape, never containing anything from the request."""
    default_code, default_message = _GENERIC.get(status, ("error", "the request failed"))
    return response.json({"error": message or default_message, "code": code or default_code}, status=status)


def token_matches(authorization: Optional[str], token: str) -> bool:
    """True when an Authorization header carries this bearer token (compared in constant time)."""
    scheme, _, given = (authorization or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def is_json(content_type: Optional[str]) -> bool:
    """True for `application/json`, with or without parameters such as a charset."""
    return (content_type or "").split(";", 1)[0].strip().lower() == JSON_TYPE


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as more than `limit` bytes arrive (chunked bodies too)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("too large")
    received = bytearray()
    while True:
        chunk = await request.stream.read() if request.stream is not None else None
        if chunk is None:
            return bytes(received)
        received += chunk
        if len(received) > limit:
            raise PayloadTooLarge("too large")


def _decoded(body: bytes, encoding: Optional[str], limit: int) -> bytes:
    """The body, inflated when Rasa compressed it (COMPRESS_ACTION_SERVER_REQUEST), never beyond `limit` bytes."""
    if (encoding or "").strip().lower() != "deflate":
        return body
    inflater = zlib.decompressobj()
    inflated = inflater.decompress(body, limit + 1)
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge("too large")
    return inflated


def create_app(actions: Union[str, types.ModuleType], token: str, max_body_bytes: int = MAX_BODY_BYTES) -> Sanic:
    """The action server's Sanic app: /health (open), /webhook and /actions (bearer token, JSON only)."""
    if not token:
        raise SettingsError("GOVBOT_ACTIONS_TOKEN is empty: the action server does not serve without a token "
                            "(`govbot run` makes one)")
    app = Sanic("govbot_actions", configure_logging=False)
    app.config.REQUEST_TIMEOUT = 15
    app.config.REQUEST_MAX_SIZE = max_body_bytes  # also bounds what is drained after an early refusal
    executor = ActionExecutor()
    executor.register_package(actions)

    @app.middleware("request")
    async def authenticate(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS or token_matches(request.headers.get("authorization"), token):
            return None
        return error(401)

    @app.get("/health")
    async def health(_: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/actions")
    async def list_actions(_: Request) -> HTTPResponse:
        return response.json([{"name": name} for name in executor.actions])

    @app.post("/webhook", stream=True)
    async def webhook(request: Request) -> HTTPResponse:
        if not is_json(request.headers.get("content-type")):
            return error(415)
        body = await _read_body(request, max_body_bytes)
        try:
            call = json.loads(_decoded(body, request.headers.get("content-encoding"), max_body_bytes))
        except (ValueError, zlib.error):
            return error(400)
        if not isinstance(call, dict) or not isinstance(call.get("next_action"), str) or not call["next_action"]:
            return error(400)
        version = call.get("version")
        sdk_utils.check_version_compatibility(version if isinstance(version, str) else None)
        try:
            result = await executor.run(call)
        except ActionNotFoundException:
            log.warning("action_not_found")  # the name came from the caller: not logged
            return error(404, "action_not_found", "no such action")
        except ActionExecutionRejection as rejection:
            # Rasa reads `action_name` from a 400 to let another policy act; it names one of our own actions
            log.info("action_rejected", extra={"fields": {"action": rejection.action_name}})
            body_out: dict[str, Any] = {"error": "the action rejected the call", "code": "action_rejected",
                                        "action_name": rejection.action_name}
            return response.json(body_out, status=400)
        return response.json(result)

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException) and exception.status_code < 500:
            return error(exception.status_code)
        log.error("action_server_error", exc_info=exception,
                  extra={"fields": {"path": request.path if request is not None else "",
                                    "exception": type(exception).__name__}})
        return error(500)

    return app


def serve(app: Sanic, host: str, port: int) -> None:
    """Serve the app on host:port in this process, one worker, without access logs."""
    log.info("action_server_listening", extra={"fields": {"host": host, "port": port}})
    app.run(host=host, port=port, workers=1, access_log=False, motd=False)


def build_dispatch(search: KnowledgeSearch, settings: Settings) -> Optional[DispatchClassifier]:
    """The dispatch classifier on the search's encoder and the configured department catalogue; None (logged) when
    it cannot be built: reports are then filed without a proposal and a dispatcher decides."""
    started = time.perf_counter()
    try:
        classifier = open_classifier(search.encoder, settings.departments_file)
    except Exception as problem:  # any failure here must not stop the actions: reports still go to a dispatcher
        log.error("dispatch_classifier_unavailable", extra={"fields": {"exception": type(problem).__name__}})
        return None
    log.info("dispatch_classifier_ready", extra={"fields": {"ms": round((time.perf_counter() - started) * 1000)}})
    return classifier


def warm_up(settings: Settings) -> ActionRuntime:
    """Load the knowledge search and the dispatch classifier and install the actions' runtime (the rating store
    opens at the first rating)."""
    search = open_search(settings=settings)
    runtime = ActionRuntime(knowledge=search, open_ratings=lambda: RatingStore(database_url(settings)),
                            dispatch=build_dispatch(search, settings))
    install(runtime)
    return runtime


def argument_parser(settings: Settings) -> argparse.ArgumentParser:
    """The command line: which actions, and where to listen (defaults from the settings)."""
    parser = argparse.ArgumentParser(prog="python -m govbot.action_server", description="govbot's action server")
    parser.add_argument("--actions", default="bot.actions", help="package of the custom actions")
    parser.add_argument("--host", default=settings.actions_host, help="interface (env GOVBOT_ACTIONS_HOST)")
    parser.add_argument("--port", type=int, default=settings.actions_port, help="port (env GOVBOT_ACTIONS_PORT)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Serve the custom actions on the configured interface and port, for callers with GOVBOT_ACTIONS_TOKEN."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    args = argument_parser(settings).parse_args(argv)
    try:
        app = create_app(args.actions, settings.actions_token)
    except SettingsError as problem:
        raise SystemExit(f"action server: {problem}") from None
    warm_up(settings)
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
