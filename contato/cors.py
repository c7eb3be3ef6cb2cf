"""CORS for browser clients on other origins (a dashboard's dev server, app.example.com).

Only the API paths (`/graphql`, with its multipart uploads, and `/attachments/…`) answer CORS, and
only for the origins in ALLOWED_ORIGINS (the same list that admits cross-origin WebSockets); other
origins get no CORS header at all, so their pages cannot read a response, and their preflights
fail. Credentials are bearer tokens sent by the page, never cookies: no
`Access-Control-Allow-Credentials`. `/metrics`, `/healthz` and `/readyz` are not for browsers.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from contato.graphql_view import PREFLIGHT_HEADERS

CORS_PATHS = ("/graphql", "/attachments/")
ALLOWED_METHODS = ("GET", "POST")
# What clients send: the token, JSON, the CSRF preflight headers multipart uploads need, a request id.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID", *PREFLIGHT_HEADERS)
# Readable by the page: the request id to quote in a report, and how long a 429 says to wait.
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")
# How long a browser may reuse a preflight answer (Chromium caps it at 2 hours).
MAX_AGE_SECONDS = 600


class CrossOrigin:
    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=allowed_origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_api_path(scope.get("path", "")):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_api_path(path: str) -> bool:
    return path == CORS_PATHS[0] or path.startswith(CORS_PATHS[1])
