"""Who is asking, and may they change anything: sessions, API tokens, CSRF, Host checks.

On loopback (the default) the app needs no login, but still refuses requests whose Host header is
not a loopback name (a web page elsewhere cannot reach it through DNS rebinding). Bound to any other
address every request needs a user: a session cookie (HttpOnly, SameSite=Lax, Secure behind TLS)
from /login, or `Authorization: Bearer TOKEN` for scripts. Every state-changing request carries a
CSRF token: a form field, or the X-CSRF-Token header, equal to the `ingest_csrf` cookie (SameSite=Strict);
a bearer token needs none, since no browser sends one by itself.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware.base import BaseHTTPMiddleware

SESSION_COOKIE, CSRF_COOKIE = "ingest_session", "ingest_csrf"
SESSION_DAYS = 14
PUBLIC = ("/login", "/static/")  # reachable without a user
HUB_PATHS = ("/websub/",)  # called by WebSub hubs through the public URL: each request authenticated by itself
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password")  # an unknown name costs a verification too, so names cannot be timed


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def secure(request: Request) -> bool:
    """Behind TLS: directly, or through a proxy that says so (the flag only makes cookies stricter)."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


class Guard(BaseHTTPMiddleware):
    """Sets `request.state.user` and `request.state.csrf`; refuses what the bind address does not allow."""

    async def dispatch(self, request: Request, call_next):  # noqa: ANN001, ANN201
        from ingest.web.app import LOOPBACK, error_response

        settings, users = request.app.state.settings, request.app.state.store.users
        path = request.url.path
        if path.startswith(HUB_PATHS):  # any Host (a proxy's public name), no user: ingest.web.websub checks
            request.state.user, request.state.bearer, request.state.csrf = None, False, new_secret()
            return await call_next(request)
        if settings.loopback and (request.url.hostname or "") not in LOOPBACK:
            return error_response(request, 400, f"this app answers to localhost only, not to {request.url.hostname!r}")
        request.state.user, request.state.bearer = None, False
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            request.state.user = await run_in_threadpool(users.token_user, bearer[7:].strip())
            request.state.bearer = request.state.user is not None
        elif SESSION_COOKIE in request.cookies:
            request.state.user = await run_in_threadpool(users.session_user, request.cookies[SESSION_COOKIE], _now())
        if settings.auth_required and request.state.user is None and not path.startswith(PUBLIC):
            if path.startswith("/api/") or request.method != "GET":
                return error_response(request, 401, "sign in first: a session cookie from /login, "
                                                    "or Authorization: Bearer TOKEN (`ingest users token NAME`)")
            return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
        csrf = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = csrf or new_secret()
        response = await call_next(request)
        if csrf is None:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict",
                                secure=secure(request), path="/")
        return response


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a, b)


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matched the cookie; else 403."""
    form = await request.form()
    token = form.get("csrf")
    if not _same(token if isinstance(token, str) else None, request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")
    return form


def check_api_write(request: Request) -> None:
    """An API call that changes state: a bearer token, or the X-CSRF-Token header matching the cookie."""
    if request.state.bearer:
        return
    if not _same(request.headers.get("x-csrf-token"), request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(403, "CSRF: send Authorization: Bearer TOKEN, or X-CSRF-Token equal to the ingest_csrf cookie")


def local_path(target: str | None) -> str:
    """Where to go after a form: a path on this site only (never //host or a scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def start_session(response: Response, request: Request, name: str) -> None:
    token = new_secret()
    now = _now()
    request.app.state.store.users.add_session(token, name, now, now + timedelta(days=SESSION_DAYS))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure(request), path="/",
                        max_age=SESSION_DAYS * 86400)
