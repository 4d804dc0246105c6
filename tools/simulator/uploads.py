"""Uploading a diagnostics or log file where the server said (1.6 GetDiagnostics, 2.0.1 GetLog), over HTTP with the
standard library only: a multipart/form-data POST with the file in the field `file`, or a PUT of the raw bytes.

Brand domains in development are `*.localhost` names, which the system resolver may not know: such a host is
reached on 127.0.0.1 with the original Host header, so the server still sees which brand it is.
"""

import asyncio
import ssl
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit, urlunsplit

UPLOAD_TIMEOUT_S = 15.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not an upload: urllib would follow it with a GET and call that a success."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def multipart(field: str, file_name: str, content: bytes, content_type: str = "text/plain") -> tuple[bytes, str]:
    """A multipart/form-data body holding one file, and its Content-Type."""
    boundary = f"----OpenChargeSim{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{file_name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _target(url: str) -> tuple[str, dict[str, str]]:
    """The URL to open and the extra headers: a `*.localhost` host is reached on the loopback, named in Host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"cannot upload to {url!r}: only http and https locations are supported")
    if not parts.hostname.endswith(".localhost"):
        return url, {}
    host = parts.netloc.rsplit("@", 1)[-1]
    loopback = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=loopback)), {"Host": host}


def _send(url: str, method: str, body: bytes, headers: dict[str, str], context: ssl.SSLContext | None) -> int:
    url, extra = _target(url)
    handlers = [urllib.request.ProxyHandler({}), _NoRedirect()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=body, method=method, headers=headers | extra)
    with opener.open(request, timeout=UPLOAD_TIMEOUT_S) as response:
        return response.status


async def upload(
    url: str, file_name: str, content: bytes, *, method: str, context: ssl.SSLContext | None = None
) -> tuple[bool, str]:
    """Send the file (`method` POST: multipart, PUT: raw): whether the server took it (2xx), and what happened."""
    if method == "POST":
        body, content_type = multipart("file", file_name, content)
        headers = {"Content-Type": content_type}
    else:
        body = content
        headers = {"Content-Type": "text/plain", "Content-Disposition": f'attachment; filename="{file_name}"'}
    try:
        status = await asyncio.to_thread(_send, url, method, body, headers, context)
    except urllib.error.HTTPError as error:
        error.close()
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return False, str(getattr(error, "reason", error))
    return 200 <= status < 300, f"HTTP {status}"
