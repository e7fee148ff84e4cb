"""GET /widget.js: the script a host site adds with one `<script>` tag to open the chat page in a frame
(channels/web/static/widget.js; docs/web.md, "The widget"). Which sites may show that frame is the page's CSP
`frame-ancestors` (GOVBOT_FRAME_ANCESTORS, channels/web/guards.py): with none listed, the widget is off (404)."""

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from channels.common.errors import error_response, error_responses
from channels.web.chat_routes import STATIC_DIR

WIDGET_FILE = STATIC_DIR / "widget.js"
WIDGET_HEADERS = {
    "Cache-Control": "no-cache",  # host sites get a new version at once (the ETag makes a repeat visit a 304)
    "Cross-Origin-Resource-Policy": "cross-origin",  # loadable by host pages that require it (COEP)
}


def widget_router(frame_ancestors: str) -> APIRouter:
    """GET /widget.js, served when GOVBOT_FRAME_ANCESTORS names at least one host; else 404 `widget_off`."""
    router = APIRouter()
    enabled = bool(frame_ancestors.split())

    @router.get("/widget.js", include_in_schema=False, response_model=None, responses=error_responses(404))
    async def widget() -> FileResponse | JSONResponse:
        if not enabled:
            return error_response(404, "widget_off",
                                  "the widget is off: GOVBOT_FRAME_ANCESTORS names no site that may embed the chat")
        return FileResponse(WIDGET_FILE, media_type="text/javascript; charset=utf-8", headers=WIDGET_HEADERS)

    return router
