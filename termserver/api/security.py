"""Security headers: the curator pages (/workbench) get a Content-Security-Policy that allows
only this server's own scripts, styles and requests (htmx is vendored; no inline script or
style), may not be framed, and do not leak their URLs as referrers; every answer gets
`X-Content-Type-Options: nosniff`. Headers a route set itself are kept."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
NOSNIFF = ((b"x-content-type-options", b"nosniff"),)
WORKBENCH = (*NOSNIFF,
             (b"content-security-policy", CSP.encode()),
             (b"x-frame-options", b"DENY"),
             (b"referrer-policy", b"same-origin"))


class SecurityHeaders:
    """Pure ASGI middleware adding the headers to every HTTP response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = WORKBENCH if scope["path"].startswith("/workbench") else NOSNIFF

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
