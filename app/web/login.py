"""Curator sign-in when the studio has a token (app/auth.py), and the guard every page uses."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import auth
from app.api.deps import SettingsDep
from app.web.contexts import Crumb, LoginContext
from app.web.rendering import render

router = APIRouter(include_in_schema=False)


async def curator(request: Request, settings: SettingsDep) -> None:
    """Router dependency of every page: signed in (when a token is set) and CSRF-safe changes."""
    token = settings.api_token
    if token is not None and not auth.has_session(request, token):
        if request.method in auth.SAFE_METHODS:
            query = f"?{request.url.query}" if request.url.query else ""
            target = quote(request.url.path + query)
            raise HTTPException(status_code=303, headers={"Location": f"/login?next={target}"})
        raise HTTPException(status_code=401, detail="sign in first (/login)")
    await auth.check_csrf(request, token)


@router.get("/login")
def login_page(request: Request, settings: SettingsDep, next: str = "/projects") -> Response:
    if settings.api_token is None:
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return render(request, "login.html", LoginContext([Crumb("Sign in")], auth.safe_next(next)))


@router.post("/login")
async def login(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/projects",
) -> Response:
    expected = settings.api_token
    target = auth.safe_next(next)
    if expected is None:
        return RedirectResponse(target, status_code=303)
    await auth.check_csrf(request, None)  # the login form itself must come from our page
    if not auth.same(token, expected):
        ctx = LoginContext([Crumb("Sign in")], target, "That is not the studio's token.")
        return render(request, "login.html", ctx, status=401)
    response = RedirectResponse(target, status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(auth.SESSION_COOKIE, auth.session_value(expected),
                        max_age=auth.SESSION_MAX_AGE_S, httponly=True, samesite="lax",
                        secure=secure)
    # Readable by our scripts, which copy it into the X-CSRF-Token header.
    response.set_cookie(auth.CSRF_COOKIE, auth.csrf_value(expected), max_age=auth.SESSION_MAX_AGE_S,
                        httponly=False, samesite="strict", secure=secure)
    return response


@router.post("/logout")
async def logout(request: Request, settings: SettingsDep) -> Response:
    token = settings.api_token
    signed_in = token is not None and auth.has_session(request, token)
    await auth.check_csrf(request, token if signed_in else None)
    response = RedirectResponse("/login" if settings.api_token else "/projects", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    response.delete_cookie(auth.CSRF_COOKIE)
    return response
