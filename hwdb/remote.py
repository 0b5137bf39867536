"""`hwdb pull URL`: fetch an export over HTTP(S). The only network code in hwdb, run only when asked.

Every failure is one line naming its cause (`RemoteCatalogError`, exit code 2); nothing is written
until the whole body has arrived and validated (`hwdb.versions.Versions.pull`).
"""

import json
from typing import Any

from hwdb.errors import HwdbError

MAX_BYTES = 50 * 2**20
"""A catalog export is a few MB; a larger body is refused before it is read in full."""
DEFAULT_TIMEOUT_S = 10.0


class RemoteCatalogError(HwdbError):
    """A pull that could not fetch or parse its URL."""


def fetch_export(url: str, *, timeout: float = DEFAULT_TIMEOUT_S, max_bytes: int = MAX_BYTES) -> Any:
    """GET `url` (TLS verified) and decode its JSON body."""
    if not url.lower().startswith(("http://", "https://")):
        raise RemoteCatalogError(f"{url!r}: only http:// and https:// URLs can be pulled")
    if timeout <= 0:
        raise RemoteCatalogError(f"timeout must be positive, got {timeout}")
    import requests  # imported here: no other command touches the network

    try:
        with requests.get(url, timeout=timeout, stream=True, verify=True, headers={"Accept": "application/json"}) as response:
            if response.status_code >= 400:
                raise RemoteCatalogError(f"{url}: HTTP {response.status_code} {response.reason}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise RemoteCatalogError(f"{url}: the body is {int(declared):,} bytes, over the {max_bytes // 2**20} MB limit")
            body = bytearray()
            for chunk in response.iter_content(chunk_size=1 << 16):
                body += chunk
                if len(body) > max_bytes:
                    raise RemoteCatalogError(f"{url}: the body is over the {max_bytes // 2**20} MB limit")
    except requests.exceptions.SSLError as error:
        raise RemoteCatalogError(f"{url}: TLS verification failed ({_reason(error)})") from None
    except requests.exceptions.ConnectTimeout:
        raise RemoteCatalogError(f"{url}: timed out connecting after {timeout:g} s") from None
    except requests.exceptions.ConnectionError as error:
        text = _reason(error)
        if "timed out" in text.lower():
            raise RemoteCatalogError(f"{url}: timed out after {timeout:g} s") from None
        if "IncompleteRead" in text or "Response ended prematurely" in text or "ProtocolError" in text:
            raise RemoteCatalogError(f"{url}: the response was truncated ({text})") from None
        raise RemoteCatalogError(f"{url}: cannot connect ({text})") from None
    except requests.exceptions.Timeout:
        raise RemoteCatalogError(f"{url}: timed out after {timeout:g} s") from None
    except requests.exceptions.ChunkedEncodingError as error:
        raise RemoteCatalogError(f"{url}: the response was truncated ({_reason(error)})") from None
    except requests.exceptions.RequestException as error:
        raise RemoteCatalogError(f"{url}: {_reason(error)}") from None
    if not body:
        raise RemoteCatalogError(f"{url}: empty response")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RemoteCatalogError(f"{url}: not a JSON document ({error})") from None


def _reason(error: BaseException) -> str:
    """The innermost message of a requests/urllib3 error, on one line."""
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    reason = getattr(error, "reason", None)
    text = str(reason or error)
    return " ".join(text.split())[:200]
