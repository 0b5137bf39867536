"""`hwdb pull URL`: fetch an export over HTTP(S). The only network code in hwdb, run only when asked.

Every failure is one line naming its cause (`RemoteCatalogError`, exit code 2); nothing is written
until the whole body has arrived and validated (`hwdb.versions.Versions.pull`).
"""

import json
from typing import Any

from hwdb.config import redact
from hwdb.errors import HwdbError

MAX_BYTES = 50 * 2**20
"""A catalog export is a few MB; a larger body is refused before it is read in full."""
DEFAULT_TIMEOUT_S = 10.0
MAX_REDIRECTS = 5
"""Redirects followed at most (each must stay on http or https)."""
SCHEMES = ("http", "https")


class RemoteCatalogError(HwdbError):
    """A pull that could not fetch or parse its URL."""


def _checked(url: str, shown: str, what: str = "") -> str:
    from urllib.parse import urlsplit

    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        raise RemoteCatalogError(f"{shown}: not a URL") from None
    if scheme not in SCHEMES:
        raise RemoteCatalogError(f"{shown}: {what}only http:// and https:// URLs can be pulled")
    return url


def _origin(url: str) -> tuple:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname, parts.port


def fetch_export(url: str, *, timeout: float = DEFAULT_TIMEOUT_S, max_bytes: int = MAX_BYTES) -> Any:
    """GET `url` (TLS verified, at most `MAX_REDIRECTS` redirects, each to http(s)) and decode its JSON body.

    No message names a password embedded in the URL; credentials in the URL are sent to its own host only,
    never to a host a redirect points at.
    """
    shown = redact(url)
    _checked(url, repr(shown))
    if timeout <= 0:
        raise RemoteCatalogError(f"timeout must be positive, got {timeout}")
    import requests  # imported here: no other command touches the network
    from urllib.parse import urljoin

    first, credentials = _origin(url), requests.utils.get_auth_from_url(url)
    try:
        with requests.Session() as session:
            session.trust_env = False  # no ~/.netrc credentials or proxies the user did not ask for
            for hop in range(MAX_REDIRECTS + 1):
                # A password in the first URL goes to its own origin only, never where a redirect points.
                auth = credentials if any(credentials) and _origin(url) == first else None
                response = session.get(url, timeout=timeout, stream=True, verify=True, allow_redirects=False, auth=auth,
                                       headers={"Accept": "application/json"})
                if not response.is_redirect:
                    break
                location = response.headers.get("Location", "")
                response.close()
                if hop == MAX_REDIRECTS:
                    raise RemoteCatalogError(f"{shown}: more than {MAX_REDIRECTS} redirects")
                target = urljoin(url, location)
                _checked(target, shown, f"redirected to {redact(target)!r}; ")
                url = target
            with response:
                return _read(response, shown, max_bytes)
    except requests.exceptions.SSLError as error:
        raise RemoteCatalogError(f"{shown}: TLS verification failed ({_reason(error)})") from None
    except requests.exceptions.ConnectTimeout:
        raise RemoteCatalogError(f"{shown}: timed out connecting after {timeout:g} s") from None
    except requests.exceptions.ConnectionError as error:
        text = _reason(error)
        if "timed out" in text.lower():
            raise RemoteCatalogError(f"{shown}: timed out after {timeout:g} s") from None
        if "IncompleteRead" in text or "Response ended prematurely" in text or "ProtocolError" in text:
            raise RemoteCatalogError(f"{shown}: the response was truncated ({text})") from None
        raise RemoteCatalogError(f"{shown}: cannot connect ({text})") from None
    except requests.exceptions.Timeout:
        raise RemoteCatalogError(f"{shown}: timed out after {timeout:g} s") from None
    except requests.exceptions.ChunkedEncodingError as error:
        raise RemoteCatalogError(f"{shown}: the response was truncated ({_reason(error)})") from None
    except requests.exceptions.RequestException as error:
        raise RemoteCatalogError(f"{shown}: {_reason(error)}") from None


def _read(response, shown: str, max_bytes: int) -> Any:
    """The JSON body of `response`, counted as it streams: refused once it passes `max_bytes`."""
    if response.status_code >= 400:
        raise RemoteCatalogError(f"{shown}: HTTP {response.status_code} {response.reason}")
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise RemoteCatalogError(f"{shown}: the body is {int(declared):,} bytes, over the {max_bytes // 2**20} MB limit")
    body = bytearray()
    for chunk in response.iter_content(chunk_size=1 << 16):
        body += chunk
        if len(body) > max_bytes:
            raise RemoteCatalogError(f"{shown}: the body is over the {max_bytes // 2**20} MB limit")
    if not body:
        raise RemoteCatalogError(f"{shown}: empty response")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RemoteCatalogError(f"{shown}: not a JSON document ({error})") from None


def _reason(error: BaseException) -> str:
    """The innermost message of a requests/urllib3 error, on one line, with no URL password in it."""
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    reason = getattr(error, "reason", None)
    text = " ".join(str(reason or error).split())
    import re

    return re.sub(r"(//[^/:@\s]*):[^@/\s]*@", r"\1:***@", text)[:200]
