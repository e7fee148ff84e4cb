"""The one error envelope of every HTTP answer the gateway refuses: {"error": {"code": ..., "message": ...}}."""

from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    """What went wrong: a stable code for programs and a sentence for people."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error the gateway returns has this shape."""

    error: ErrorDetail


class CodedValueError(ValueError):
    """A validator's refusal that names its own error code (the 400 answer's `code`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def printable(text: str) -> str:
    """The text with anything UTF-8 cannot carry (lone surrogates a JSON body may hold) written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """A JSON error in the gateway's one error shape; `extra` adds top-level fields (e.g. "speech")."""
    body = ErrorResponse(error=ErrorDetail(code=printable(code), message=printable(message))).model_dump()
    return JSONResponse(status_code=status, content={**body, **extra})


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses=` entry documenting these error statuses with the envelope."""
    return {status: {"model": ErrorResponse} for status in statuses}


def describe_validation_error(error: RequestValidationError) -> tuple[str, str]:
    """Turn pydantic's error list into one (code, readable message) pair."""
    first = error.errors()[0] if error.errors() else {}
    kind = first.get("type", "")
    field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    if kind == "json_invalid":
        return "invalid_json", "the request body is not valid JSON"
    if kind == "model_attributes_type" or (not field and kind.endswith("_type")):
        return "invalid_body", 'the request body must be a JSON object like {"sender": "...", "text": "..."}'
    if kind == "missing":
        return "missing_field", f"{field} is required"
    coded = (first.get("ctx") or {}).get("error")
    if isinstance(coded, CodedValueError):
        return coded.code, str(coded)
    if kind == "extra_forbidden":
        return "unknown_field", f"{field} is not a known field"
    if field == "text" and kind == "value_error":
        return "empty_text", "text must not be empty"
    if field == "sender" and kind == "string_pattern_mismatch":
        return "invalid_sender", "sender must be 1-64 letters, digits or . _ : -"
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    return f"invalid_{field or 'request'}", f"{field}: {message}" if field else message


async def validation_error_response(_request: object, error: RequestValidationError) -> JSONResponse:
    """The app's handler of invalid requests: 400 with the envelope (FastAPI's default is a 422 list)."""
    code, message = describe_validation_error(error)
    return error_response(400, code, message)


HTTP_ERROR_STATUSES = (400, 404, 405)  # what the framework refuses by itself: an unparsable body, a path, a method
_HTTP_CODES = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}


async def http_error_response(_request: object, error: Exception) -> JSONResponse:
    """The app's handler of the framework's own HTTP errors (HTTP_ERROR_STATUSES): the same envelope as every other
    error instead of {"detail": ...}, with the error's headers (such as Allow)."""
    status = int(getattr(error, "status_code", 400))
    detail = getattr(error, "detail", None)
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "request refused"
    response = error_response(status, _HTTP_CODES.get(status, f"http_{status}"),
                              detail if isinstance(detail, str) and detail else phrase)
    response.headers.update(getattr(error, "headers", None) or {})
    return response


DATABASE_RETRY_SECONDS = 5  # the Retry-After of a 503 while the database cannot be reached


async def database_unavailable(_request: object, error: Exception) -> JSONResponse:
    """The app's handler of a lost database connection (the database server stopped or unreachable): a 503 in the
    envelope with Retry-After, not a bare 500; nothing was stored, so the same request may be sent again."""
    response = error_response(503, "database_unavailable",
                              "服务暂时无法使用，请稍后再试，或拨打12345热线。 / The service is temporarily "
                              "unavailable. Please try again shortly, or call the 12345 hotline.")
    response.headers["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    return response
