"""What the work-order consoles' APIs share (the department inbox, channels/web/dept_routes.py; the dispatcher's page,
channels/web/dispatch_routes.py): the route class that rate-limits each session's steps, and what tells the citizen
about a step on their order."""

import hashlib
import logging
from typing import Any, Callable, Coroutine, Protocol

from fastapi import Request, Response
from fastapi.routing import APIRoute

from channels.common.errors import error_response
from channels.web.agent_routes import SAFE_METHODS, guarded_route
from channels.web.agent_session import session_token
from channels.web.guards import client_key
from channels.web.limits import RateLimiter, retry_after_header
from core import texts
from workorders.records import WorkOrder

log = logging.getLogger("govbot.workorders")

MINUTE = 60.0


class Notices(Protocol):
    """What tells the citizen about a step on their order (channels/common/workorder_notices.py)."""

    async def after(self, order: WorkOrder, action: str) -> None:
        """Tell the citizen what `action` (an audit action name) did to their order, if they are to be told."""


async def tell(notices: Notices, order: WorkOrder, action: str) -> None:
    """Give the citizen's notices the changed order; a notice that fails is logged, the step (stored) stays."""
    try:
        await notices.after(order, action)
    except Exception as error:  # noqa: BLE001 - the step is stored; a notice that fails must not undo it
        log.warning("workorder_notice_failed", extra={"fields": {
            "number": order.number, "action": action, "error": type(error).__name__}})


def session_key(request: Request) -> str:
    """Whose allowance a step counts against: the session (hashed), else the client address."""
    token = session_token(request)
    return "s:" + hashlib.sha256(token.encode()).hexdigest()[:32] if token else "a:" + client_key(request.scope)


def limited_route(behind_tls: bool, rate_per_minute: int) -> type[APIRoute]:
    """The agent API's route class (same-origin POSTs, no-store, 401/403 for sessions) with each session's
    state-changing requests rate-limited first, `rate_per_minute` of them (429 rate_limited with Retry-After)."""
    guarded = guarded_route(behind_tls)
    limiter = RateLimiter(rate_per_minute, MINUTE)

    class LimitedRoute(guarded):  # type: ignore[valid-type,misc]
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def limited(request: Request) -> Response:
                if request.method in SAFE_METHODS or request.url.path.endswith(("/login", "/logout")):
                    return await handle(request)
                wait = limiter.hit(session_key(request))
                if wait == 0.0:
                    return await handle(request)
                retry = retry_after_header(wait)
                log.info("rate_limited", extra={"fields": {"path": request.url.path, "retry_after": int(retry)}})
                response = error_response(429, "rate_limited", texts.both("limits.too_many_requests", seconds=retry))
                response.headers["Retry-After"] = retry
                response.headers["Cache-Control"] = "no-store"
                return response

            return limited

    return LimitedRoute
