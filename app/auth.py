"""Who may use the studio when `ALBUMBOT_API_TOKEN` is set.

Programs send the token as a bearer token. Curators in a browser type it once on /login and get a
session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). Cookies ride along with any request the
browser makes, including ones another site's page triggers, so a cookie-authenticated request that
changes something must also prove it comes from our own pages (OWASP CSRF cheat sheet): Fetch
Metadata says same-origin (when the browser sends it), Origin (when sent) is our own, and it carries
the CSRF token (double-submit: a readable cookie that our JavaScript copies into `X-CSRF-Token`, and
a hidden `csrf_token` field in plain HTML forms).

Cookie values are derived from the token with HMAC, so no session table is needed, and changing
the token signs every curator out.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

SESSION_COOKIE = "albumbot_session"
CSRF_COOKIE = "albumbot_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_MAX_AGE_S = 14 * 24 * 3600


def _derive(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def session_value(token: str) -> str:
    return _derive(token, "albumbot session cookie v1")


def csrf_value(token: str) -> str:
    return _derive(token, "albumbot csrf token v1")


def same(a: str, b: str) -> bool:
    """Constant-time comparison: timing does not tell how much of a guess was right."""
    return hmac.compare_digest(a.encode(), b.encode())


def has_session(request: Request, token: str) -> bool:
    return same(request.cookies.get(SESSION_COOKIE, ""), session_value(token))


def forbid(detail: str) -> HTTPException:
    return HTTPException(status_code=403, detail=detail)


async def check_csrf(request: Request, token: str | None) -> None:
    """Refuse an unsafe request that another site's page could have made the browser send."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site not in (None, "same-origin", "none"):
        raise forbid(f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if origin and (origin == "null" or urlsplit(origin).netloc != request.headers.get("host")):
        raise forbid(f"request from another origin refused ({origin})")
    if token is None:  # open studio: no cookie to abuse, the origin checks are enough
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = await request.form()  # cached by Starlette: the route reads it again for free
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not same(given, csrf_value(token)):
        raise forbid("missing or wrong CSRF token; reload the page and try again")


def safe_next(url: str | None) -> str:
    """Where to go after logging in: a path on this site only (no //host, no scheme)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/projects"
    return url
