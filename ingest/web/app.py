"""The web app: server-rendered pages (`pages.py`) and the JSON API (`api.py`) over one `Store`.

Article text is untrusted, so every response carries a strict Content-Security-Policy (scripts and
styles only from /static, no inline script, no remote images), templates autoescape, and bad input
is a 4xx (an HTML page, or JSON under /api/), never a 500.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware

from ingest.server import ListenError
from ingest.web import highlight
from ingest.web.polling import Poller

if TYPE_CHECKING:
    from ingest.config import Config
    from ingest.storage.store import Store

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # article links must not tell outlets which analyst read them, or where
    "X-Frame-Options": "DENY",
}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK or self.host.startswith("127.")

    @property
    def auth_required(self) -> bool:
        """Anything but loopback is reachable by others: every request needs a user."""
        return not self.loopback


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.globals.update(runs=highlight.runs, marked=highlight.marked)
    return env


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):  # noqa: ANN001, ANN201
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, message: str) -> HTMLResponse | JSONResponse:
    if wants_json(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    page = request.app.state.templates.get_template("error.html")
    return HTMLResponse(page.render(status=status, message=message, request=request), status_code=status)


def create_app(config: Config, store: Store, settings: WebSettings | None = None) -> FastAPI:
    """The app for one config and store; `ingest serve` and `ingest run` both mount this."""
    from ingest.web import api, pages, websub
    from ingest.web.auth import Guard

    app = FastAPI(title="ingest", version="1", docs_url=None, redoc_url=None,  # Swagger UI needs inline script
                  openapi_url="/api/v1/openapi.json")
    app.state.config, app.state.store = config, store
    app.state.settings = settings or WebSettings()
    app.state.templates = templates()
    app.state.poller = Poller(config, store)
    app.add_middleware(Guard)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so refusals carry the headers too

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):  # noqa: ANN202
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}"
        return error_response(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):  # noqa: ANN202
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                             for e in exc.errors())
        return error_response(request, 400, problems)

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(websub.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


class WebServer:
    """uvicorn serving the app; `ingest serve` runs it in the foreground, `ingest run` in a thread."""

    def __init__(self, config: Config, store: Store, address: tuple[str, int]):
        import uvicorn

        host, port = address
        self.store, self.settings = store, WebSettings(host=host)
        app = create_app(config, store, self.settings)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning",
                                                    log_config=None, proxy_headers=False))
        # Bound here, not by uvicorn: a taken port is then one clear error, even when served from a thread.
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on connections whose socket says TCP, and without
        # it every keep-alive response waited ~40 ms (Nagle holding the body until the headers' delayed ACK).
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                                    socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            # Listening from here on: a connection made before uvicorn's thread is up waits in the backlog
            # instead of being refused.
            self.socket.listen(2048)
        except OSError as exc:
            self.socket.close()
            raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    def refusal(self) -> str | None:
        """Why this address cannot be served: beyond loopback nobody could sign in without a user."""
        if self.settings.auth_required and not self.store.users.has_users():
            return (f"listening on {self.settings.host} needs sign-in, and there are no users: "
                    "add one with `ingest users add NAME`")
        return None

    def run(self) -> None:
        self.server.run(sockets=[self.socket])

    def start(self) -> WebServer:
        self._thread = threading.Thread(target=self.run, name="ingest-web", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.should_exit = True
        if self._thread:
            self._thread.join(10)
