"""The Open311 GeoReport v2 API of work orders (JSON only; docs/api.md, "Open311 GeoReport v2").

GET  /open311/v2/services.json                  one service per department of the catalogue
GET  /open311/v2/services/{service_code}.json   its definition (no attributes)
POST /open311/v2/requests.json                  a new work order, dispatched at once to the service's department
GET  /open311/v2/requests.json                  requests made through this API, filtered, at most 1000
GET  /open311/v2/requests/{id}.json             one of them (a list of one, as the standard has it)

Creating needs an api_key from GOVBOT_OPEN311_API_KEYS (none configured: creating is disabled, 403). Reading is
public, as the standard intends, and shows only what was sent through this API, with descriptions masked
(core.privacy) and no contact. Refusals are GeoReport's error list, [{"code": 400, "description": "..."}], with the
same HTTP status; each client address may make GOVBOT_RATE_OPEN311 requests an hour (429 with Retry-After).
"""

import hashlib
import hmac
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Coroutine, Optional, Sequence
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from channels.web.guards import client_key
from channels.web.limits import RateLimiter, retry_after_header
from core.language import detect_language
from core.privacy import mask
from workorders.catalogue import Catalogue, Department
from workorders.classifier import rule_urgency
from workorders.lifecycle import MAX_SHORT, MAX_TEXT
from workorders.records import (
    SYSTEM,
    WITH_DEPARTMENT,
    Actor,
    Contact,
    ContactMethod,
    Draft,
    RequestKind,
    Role,
    Status,
    WorkOrder,
    WorkOrderError,
    label,
)
from workorders.store import NUMBER_TIMEZONE, WorkOrderStore

log = logging.getLogger("govbot.open311")

PREFIX = "/open311/v2"
CHANNEL = "open311"  # the channel of the orders made here; the only ones read here
FORMAT = "json"
MAX_RESULTS = 1000  # GeoReport: at most 1000 requests per answer
PERIOD = timedelta(days=90)  # GeoReport: the default search range, and the longest one
MAX_CONTACT = 200  # characters of an e-mail address (the stored contact's size)
MAX_NAME = 100
MAX_IDS = 1000  # service_request_id values in one list
HOUR = 3600.0
KIND = RequestKind.HELP  # 求助: a request for a department to act (GeoReport requests have no kind)
CLOSED_STATES = (Status.CLOSED, Status.MERGED)
OPEN_STATES = tuple(status for status in Status if status not in CLOSED_STATES)
GROUP = {"zh": "12345政务服务便民热线", "en": "12345 government service hotline"}
_PHONE_CHARACTERS = set("0123456789+-() ")


def georeport_error(status: int, description: str, *more: str) -> JSONResponse:
    """GeoReport's error shape: a list of {code, description}, with the code as the HTTP status."""
    return JSONResponse(status_code=status, content=[{"code": status, "description": text}
                                                     for text in (description, *more)])


def key_id(api_key: str) -> str:
    """A short, stable name of an api_key (a hash): it names the client on its orders and in logs, never the key."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def known_key(given: str, keys: Sequence[str]) -> bool:
    """The api_key is one of the configured ones (every key compared in constant time)."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8", "surrogatepass"))
    return found


def requested_language(locale: Optional[str], accept_language: Optional[str], default: str = "zh") -> str:
    """zh or en: the `locale` parameter (zh, zh-CN, en, en-US), else the first of zh and en in Accept-Language
    (by its q values), else `default`."""
    if locale:
        primary = locale.strip().lower().replace("_", "-").split("-")[0]
        if primary in ("zh", "en"):
            return primary
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, *parameters = [piece.strip() for piece in part.split(";")]
        weight = 1.0
        for parameter in parameters:
            if parameter.lower().startswith("q="):
                try:
                    weight = float(parameter[2:])
                except ValueError:
                    weight = 0.0
        primary = tag.lower().split("-")[0]
        if primary in ("zh", "en") and weight > 0:
            ranked.append((-weight, position, primary))
    return sorted(ranked)[0][2] if ranked else default


def w3c(moment: Optional[datetime]) -> Optional[str]:
    """A time as GeoReport writes them (W3C / ISO 8601, UTC): 2025-03-14T09:30:00Z."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_time(text: str, name: str) -> datetime:
    """A W3C time (2025-03-14T09:30:00Z, with an offset, or a date); without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{name} must be a time like 2025-03-14T09:30:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _words(department: Department, language: str) -> list[str]:
    """The department's urgency words in one language (as the service's keywords)."""
    words = department.urgency.urgent + department.urgency.high
    return [word for word in words if word.isascii() == (language == "en")]


def service_of(department: Department, language: str) -> dict[str, Any]:
    """A department as a GeoReport service."""
    return {"service_code": department.id, "service_name": department.name.text(language),
            "description": department.remit.text(language), "metadata": False, "type": "realtime",
            "keywords": ",".join(_words(department, language)), "group": GROUP[language]}


@dataclass(frozen=True)
class NewRequest:
    """A checked POST /requests: what the work order is made of."""

    service_code: str
    description: str
    latitude: Optional[float]
    longitude: Optional[float]
    address: Optional[str]
    contact: Contact


def _coordinate(values: dict[str, str], name: str, bound: float, problems: list[str]) -> Optional[float]:
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not -bound <= number <= bound:
        problems.append(f"{name} must be a number from {-bound:g} to {bound:g}")
        return None
    return number


def check_request(values: dict[str, str], catalogue: Catalogue) -> NewRequest | list[str]:
    """The new request in the submitted fields, or every problem found (as GeoReport error descriptions)."""
    problems: list[str] = []
    service_code = values.get("service_code", "").strip()
    if not service_code:
        problems.append("service_code is required")
    elif service_code not in catalogue.ids:
        problems.append(f"service_code {service_code[:64]!r} is not a service here (see {PREFIX}/services.json)")
    description = values.get("description", "").strip()
    if not description:
        problems.append("description is required")
    elif len(description) > MAX_TEXT:
        problems.append(f"description is longer than {MAX_TEXT} characters")
    latitude = _coordinate(values, "lat", 90, problems)
    longitude = _coordinate(values, "long", 180, problems)
    has_lat, has_long = bool(values.get("lat", "").strip()), bool(values.get("long", "").strip())
    if has_lat != has_long:
        problems.append("give both lat and long, or neither")
    address = values.get("address_string", "").strip() or None
    if address is not None and len(address) > MAX_SHORT:
        problems.append(f"address_string is longer than {MAX_SHORT} characters")
    if not (has_lat and has_long) and address is None:
        problems.append("a location is required: lat and long, or address_string")
    email = values.get("email", "").strip() or None
    if email is not None and (len(email) > MAX_CONTACT or email.count("@") != 1 or any(c.isspace() for c in email)
                              or "." not in email.split("@")[1] or not email.split("@")[0]):
        problems.append("email is not an e-mail address")
    phone = values.get("phone", "").strip() or None
    if phone is not None and not (set(phone) <= _PHONE_CHARACTERS and 5 <= sum(c.isdigit() for c in phone) <= 20):
        problems.append("phone must be a telephone number (digits, spaces, + - and brackets)")
    for name in ("first_name", "last_name"):
        if len(values.get(name, "")) > MAX_NAME:
            problems.append(f"{name} is longer than {MAX_NAME} characters")
    if problems:
        return problems
    if phone is not None:
        contact = Contact(True, ContactMethod.PHONE, phone)
    elif email is not None:
        contact = Contact(True, ContactMethod.EMAIL, email)
    else:
        contact = Contact()
    return NewRequest(service_code, description, latitude, longitude, address, contact)


async def submitted_fields(request: Request) -> dict[str, str] | str:
    """The POST's fields (form-encoded as GeoReport has it, multipart, or a JSON object), or why they cannot be
    read. Files (media) are ignored."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        return {name: value for name, value in form.items() if isinstance(value, str)}
    if content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            return "the request body is not valid JSON"
        if not isinstance(data, dict):
            return "the request body must be a JSON object of the request's fields"
        fields: dict[str, str] = {}
        for name, value in data.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
                return f"{name} must be text or a number"
            if value is not None:
                fields[name] = str(value)
        return fields
    return "send the fields form-encoded (application/x-www-form-urlencoded), as GeoReport v2 has it, or as JSON"


class Open311:
    """What the routes share: the store (and its clock), the catalogue and the api_keys."""

    def __init__(self, store: WorkOrderStore, catalogue: Catalogue, api_keys: Sequence[str]) -> None:
        self.store, self.catalogue, self.api_keys = store, catalogue, tuple(api_keys)
        self.zone = ZoneInfo(NUMBER_TIMEZONE)

    def agency(self, department: Optional[str], language: str) -> Optional[str]:
        """The department's name (its id if the catalogue no longer has it)."""
        if department is None:
            return None
        try:
            return self.catalogue.get(department).name.text(language)
        except KeyError:
            return department

    def notice(self, order: WorkOrder, language: str) -> Optional[str]:
        """What happens next, while a department has the order: who, and the reply deadline (China time)."""
        if order.status not in WITH_DEPARTMENT or order.reply_deadline is None:
            return None
        agency = self.agency(order.department, language)
        due = order.reply_deadline.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        if language == "en":
            return f"Accepted and dispatched to {agency}; a reply is due by {due} (China time)."
        return f"已受理并派至{agency}，将于{due}（北京时间）前答复。"

    def status_notes(self, order: WorkOrder, language: str) -> str:
        if order.status == Status.MERGED and order.merged_into:
            return f"已合并到{order.merged_into}" if language == "zh" else f"merged into {order.merged_into}"
        return label(order.status, language)

    def request_of(self, order: WorkOrder, language: str) -> dict[str, Any]:
        """An order as a GeoReport service request: no contact, the description masked."""
        return {
            "service_request_id": order.number,
            "status": "closed" if order.status in CLOSED_STATES else "open",
            "status_notes": self.status_notes(order, language),
            "service_name": self.agency(order.department, language),
            "service_code": order.department,
            "description": mask(order.description),
            "agency_responsible": self.agency(order.department, language),
            "service_notice": self.notice(order, language),
            "requested_datetime": w3c(order.created_at),
            "updated_datetime": w3c(order.updated_at),
            "expected_datetime": w3c(order.reply_deadline),
            "address": mask(order.address) if order.address else None,
            "address_id": None,
            "zipcode": None,
            "lat": order.latitude,
            "long": order.longitude,
            "media_url": None,
        }


def limited_route(limiter: RateLimiter) -> type[APIRoute]:
    """A route class for the Open311 API: each client address's requests counted (over the limit: 429 in
    GeoReport's shape, with Retry-After), and what the POST answers kept by no cache."""

    class Open311Route(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def limited(request: Request) -> Response:
                wait = limiter.hit(client_key(request.scope))
                if wait > 0.0:
                    retry = retry_after_header(wait)
                    log.info("rate_limited", extra={"fields": {"path": request.url.path, "retry_after": int(retry)}})
                    response: Response = georeport_error(429, f"too many requests: try again in {retry} s")
                    response.headers["Retry-After"] = retry
                else:
                    response = await handle(request)
                if request.method != "GET":
                    response.headers["Cache-Control"] = "no-store"
                return response

            return limited

    return Open311Route


def _only_json(fmt: str) -> Optional[JSONResponse]:
    if fmt == FORMAT:
        return None
    return georeport_error(400, f"only the JSON format is served: use .json, not .{fmt[:16]}")


def _list(text: Optional[str]) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def open311_router(service: Open311, rate_per_hour: int) -> APIRouter:
    """The GeoReport v2 routes (under /open311/v2), `rate_per_hour` requests per client address an hour."""
    router = APIRouter(route_class=limited_route(RateLimiter(rate_per_hour, HOUR)), tags=["open311"])
    catalogue = service.catalogue

    @router.get(PREFIX + "/services.{fmt}")
    async def services(request: Request, fmt: str,
                       locale: Optional[str] = Query(None)) -> Response:
        """Service discovery: one service per department (names in `locale` or Accept-Language: zh or en)."""
        refused = _only_json(fmt)
        if refused is not None:
            return refused
        language = requested_language(locale, request.headers.get("accept-language"))
        return JSONResponse([service_of(department, language) for department in catalogue.departments])

    @router.get(PREFIX + "/services/{service_code}.{fmt}")
    async def service_definition(service_code: str, fmt: str) -> Response:
        """A service's definition: it asks for no attributes."""
        refused = _only_json(fmt)
        if refused is not None:
            return refused
        if service_code not in catalogue.ids:
            return georeport_error(404, f"there is no service {service_code[:64]!r}")
        return JSONResponse({"service_code": service_code, "attributes": []})

    @router.post(PREFIX + "/requests.{fmt}")
    async def create_request(request: Request, fmt: str) -> Response:
        """A new service request: a work order, accepted and dispatched to the service's department in one
        transaction."""
        refused = _only_json(fmt)
        if refused is not None:
            return refused
        fields = await submitted_fields(request)
        if isinstance(fields, str):
            return georeport_error(400, fields)
        given = fields.get("api_key") or request.query_params.get("api_key") or ""
        if not service.api_keys or not given or not known_key(given, service.api_keys):
            reason = "disabled" if not service.api_keys else ("missing" if not given else "wrong")
            log.warning("open311_forbidden", extra={"fields": {"reason": reason}})
            return georeport_error(403, {"disabled": "creating service requests is not enabled on this server",
                                         "missing": "api_key is required",
                                         "wrong": "api_key is not valid"}[reason])
        checked = check_request(fields, catalogue)
        if isinstance(checked, list):
            return georeport_error(400, *checked)
        client = key_id(given)
        detected = detect_language(checked.description) or "zh"
        language = requested_language(fields.get("locale") or request.query_params.get("locale"),
                                      request.headers.get("accept-language"), default=detected)
        urgency, _ = rule_urgency(checked.description, catalogue, checked.service_code)
        draft = Draft(sender_id=f"{CHANNEL}:{client}", channel=CHANNEL, language=detected, kind=KIND,
                      description=checked.description, urgency=urgency, address=checked.address,
                      latitude=checked.latitude, longitude=checked.longitude, contact=checked.contact)
        try:
            order = await to_thread.run_sync(service.store.create_and_dispatch, draft,
                                             Actor(Role.SYSTEM, f"{CHANNEL}:{client}"), checked.service_code,
                                             SYSTEM)
        except WorkOrderError as error:
            return georeport_error(400, str(error))
        log.info("open311_request_created", extra={"fields": {
            "number": order.number, "service_code": order.department, "client": client,
            "urgency": order.urgency.value, "contact": order.contact.method.value if order.contact.method else None}})
        return JSONResponse([{"service_request_id": order.number, "service_notice": service.notice(order, language),
                              "account_id": None}])

    @router.get(PREFIX + "/requests.{fmt}")
    async def list_requests(request: Request, fmt: str, service_request_id: Optional[str] = Query(None),
                            service_code: Optional[str] = Query(None), start_date: Optional[str] = Query(None),
                            end_date: Optional[str] = Query(None), status: Optional[str] = Query(None),
                            locale: Optional[str] = Query(None)) -> Response:
        """Requests made through this API, newest first, at most 1000: by id (a comma list; the other filters
        are then ignored), or by service codes, states (open, closed) and a period of requested_datetime (at most
        90 days; by default the last 90 days)."""
        refused = _only_json(fmt)
        if refused is not None:
            return refused
        language = requested_language(locale, request.headers.get("accept-language"))
        numbers = _list(service_request_id)
        if numbers:
            if len(numbers) > MAX_IDS:
                return georeport_error(400, f"ask for at most {MAX_IDS} service_request_id values at once")
            found = await to_thread.run_sync(lambda: service.store.find(numbers=numbers, channel=CHANNEL,
                                                                        limit=MAX_RESULTS))
            return JSONResponse([service.request_of(order, language) for order in found])
        problems: list[str] = []
        codes = _list(service_code)
        unknown = [code for code in codes if code not in catalogue.ids]
        if unknown:
            problems.append(f"unknown service_code: {', '.join(code[:64] for code in unknown[:5])}")
        states: list[Status] = []
        for wanted in _list(status):
            if wanted.lower() == "open":
                states.extend(OPEN_STATES)
            elif wanted.lower() == "closed":
                states.extend(CLOSED_STATES)
            else:
                problems.append("status must be open or closed (or both, comma-separated)")
        start = end = None
        for name, text in (("start_date", start_date), ("end_date", end_date)):
            if text:
                try:
                    moment = parse_time(text, name)
                except ValueError as error:
                    problems.append(str(error))
                    continue
                if name == "start_date":
                    start = moment
                else:
                    end = moment
        if problems:
            return georeport_error(400, *problems)
        if start is None:
            end = end or service.store.clock()
            start = end - PERIOD
        elif end is None:
            end = start + PERIOD
        if end < start:
            return georeport_error(400, "end_date is before start_date")
        if end - start > PERIOD:
            return georeport_error(400, f"the period may span at most {PERIOD.days} days")
        found = await to_thread.run_sync(lambda: service.store.find(
            departments=codes or None, statuses=states or None, created_from=start,
            created_before=end + timedelta(microseconds=1), channel=CHANNEL, limit=MAX_RESULTS))
        return JSONResponse([service.request_of(order, language) for order in found])

    @router.get(PREFIX + "/requests/{service_request_id}.{fmt}")
    async def one_request(request: Request, service_request_id: str, fmt: str,
                          locale: Optional[str] = Query(None)) -> Response:
        """One request made through this API, as a list of one."""
        refused = _only_json(fmt)
        if refused is not None:
            return refused
        language = requested_language(locale, request.headers.get("accept-language"))
        found = await to_thread.run_sync(lambda: service.store.find(numbers=[service_request_id], channel=CHANNEL,
                                                                    limit=1))
        if not found:
            return georeport_error(404, f"there is no service request {service_request_id[:40]!r}")
        return JSONResponse([service.request_of(found[0], language)])

    return router


__all__ = ["CHANNEL", "MAX_RESULTS", "Open311", "check_request", "georeport_error", "key_id", "open311_router",
           "requested_language"]
