"""One redaction for every string that is stored or printed: credentials out, then printable, then cut.

Order matters: a text is redacted whole *before* it is shortened, so a key that crosses the cut
cannot survive in part. The secrets known to a process are the ones registered here (the client
registers its key and header values) plus, so that spawned workers need no hand-over, the values of
environment variables whose names say they hold a credential (``OPENAI_API_KEY``, ``HF_TOKEN``,
``INFERMETER_API_KEY``, ``INFERMETER_URL_AUTH``, ...).

Text from a server (error messages, completions) is also made printable: terminal escape
sequences (clear screen, OSC 52 clipboard writes) and control characters are removed, so a hostile
server cannot drive the user's terminal through infermeter's output.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
MIN_SECRET = 6  # shorter values would mask ordinary words
URL_AUTH_ENV = "INFERMETER_URL_AUTH"  # "user:password@host:port" taken out of --base-url (kept out of configs)

# Names of headers, and of environment variables, that carry a credential.
SECRET_NAME = re.compile(r"auth|api[-_]?key|token|cookie|secret|passw|credential|session|signature", re.IGNORECASE)
_SECRET_ENV = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIALS?)(_|$)", re.IGNORECASE)

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-byte escapes, then any control character.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

_registered: set[str] = set()


def register(*values: str | None) -> None:
    """Add secrets of this process (too-short values are ignored: they would mask ordinary text)."""
    for v in values:
        if v and len(v) >= MIN_SECRET:
            _registered.add(v)
            if v.lower().startswith("bearer "):
                _registered.add(v[7:].strip())


def known() -> list[str]:
    """Every secret this process knows, longest first (a longer secret may contain a shorter one)."""
    found = set(_registered)
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name) and len(value) >= MIN_SECRET:
            found.add(value)
    userinfo = os.environ.get(URL_AUTH_ENV, "").rpartition("@")[0]  # "user:password@host:port"
    if userinfo:
        found.add(userinfo)
        password = userinfo.partition(":")[2]
        if len(password) >= MIN_SECRET:
            found.add(password)
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every known secret (and its JSON-escaped form) replaced by ``***``."""
    for s in known() if secrets is None else secrets:
        if s in text:
            text = text.replace(s, MASK)
        escaped = json.dumps(s)[1:-1]
        if escaped != s and escaped in text:
            text = text.replace(escaped, MASK)
    return text


def printable(text: str) -> str:
    """``text`` without terminal escape sequences, control characters or lone surrogates."""
    return _CONTROL.sub("", _ESCAPES.sub("", text.replace("\t", " ").replace("\n", " ").replace("\r", " ")))


def clean(text: Any, limit: int | None = 200) -> str:
    """A server's text made safe to store and print: redacted whole, printable, one line, then cut."""
    out = re.sub(r"\s+", " ", printable(redact(str(text)))).strip()
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def redact_obj(obj: Any) -> Any:
    """A JSON-ready object with every secret masked (unchanged, and not copied, when there is none)."""
    secrets = known()
    if not secrets:
        return obj
    text = json.dumps(obj, default=str)
    masked = redact(text, secrets)
    return obj if masked == text else json.loads(masked)


def split_url_auth(url: str) -> tuple[str, str | None]:
    """``http://user:pw@host/x`` -> (``http://host/x``, ``"user:pw"``); no credentials: (url, None)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=host)), userinfo


def url_auth_for(url: str) -> tuple[str, str] | None:
    """(user, password) taken out of a ``--base-url`` earlier for this URL's host, if any."""
    userinfo, _, netloc = os.environ.get(URL_AUTH_ENV, "").rpartition("@")
    if not userinfo or urlsplit(url).netloc != netloc:
        return None
    user, _, password = userinfo.partition(":")
    return user, password


def take_url_auth(url: str) -> str:
    """``url`` without its credentials; they move to the environment (workers inherit it), never a config."""
    clean_url, auth = split_url_auth(url)
    if auth is not None:
        os.environ[URL_AUTH_ENV] = f"{auth}@{urlsplit(clean_url).netloc}"
    return clean_url


def mask_url(url: str) -> str:
    """A URL with its credentials shown as ``***`` (for messages)."""
    clean_url, auth = split_url_auth(url)
    if auth is None:
        return url
    scheme, sep, rest = clean_url.partition("://")
    return f"{scheme}{sep}{MASK}@{rest}"


def for_terminal(text: Any) -> str:
    """Text for a plain ``print``: redacted and printable (escape codes cannot reach the terminal)."""
    return printable(redact(str(text)))


def for_console(text: Any) -> str:
    """Text for a rich console: redacted, printable, and with ``[...]`` markup shown as written."""
    from rich.markup import escape

    return escape(for_terminal(text))
