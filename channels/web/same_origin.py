"""Whether a state-changing request comes from the gateway's own pages (a defence against cross-site requests).

A browser names the page that made a request in `Origin` (every POST from a page) or at least tells
`Sec-Fetch-Site`. The request's own origin is the scheme the deployment uses (https when it says it is
behind TLS: the proxy ends TLS, so the request the gateway sees is plain http) with the Host header. A request
with neither header is not a browser's cross-site request only if it has a JSON body: a page on another site
cannot send that without a CORS preflight, which the gateway never grants (curl and tests send JSON).
"""

from typing import Mapping, Optional
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
SAME_SITE_FETCHES = ("same-origin", "none")  # "none": the user typed the address or used a bookmark


def normalized_origin(origin: str) -> Optional[str]:
    """scheme://host[:port] in lower case without a default port, or None for anything that is not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password \
            or parts.path or parts.query or parts.fragment:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else "")


def own_origin(host: str, behind_tls: bool) -> Optional[str]:
    """The origin of the gateway as the request's Host header names it (None for a malformed Host)."""
    if not host or any(character in host for character in "/\\@?# "):
        return None
    return normalized_origin(f"{'https' if behind_tls else 'http'}://{host}")


def is_json(content_type: str) -> bool:
    """Whether a Content-Type header says application/json."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def same_origin(headers: Mapping[str, str], behind_tls: bool) -> bool:
    """Whether a state-changing request with these (lower-case) headers may be trusted to come from our pages."""
    origin = headers.get("origin")
    if origin is not None:
        ours = own_origin(headers.get("host", ""), behind_tls)
        return ours is not None and normalized_origin(origin) == ours
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() in SAME_SITE_FETCHES
    return is_json(headers.get("content-type", ""))
