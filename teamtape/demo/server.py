"""A scripted OpenAI-compatible HTTP server for offline demos and tests.

A real ``OpenAIChatCompletionClient`` (or the plain ``openai`` SDK) can be pointed at
:class:`ScriptedOpenAIServer` through ``base_url``; every ``POST /v1/chat/completions`` is answered
with the next scripted :class:`Reply`, plain or as a server-sent-event stream, exactly in the wire
format the OpenAI API uses (including ``usage.prompt_tokens_details.cached_tokens``).

The HTTP part uses only the standard library: a ``ThreadingHTTPServer`` bound to ``127.0.0.1`` on a
free port, served from a daemon thread.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from teamtape.demo.wire import chat_completion, error_body, response_model, stream_events

if TYPE_CHECKING:
    from autogen_ext.models.openai import OpenAIChatCompletionClient

__all__ = ["Reply", "Responder", "ScriptedOpenAIServer", "ToolCall"]

_CREATED_BASE = 1_750_000_000
"""Deterministic ``created`` timestamps: base + response number."""

DEFAULT_MODEL_INFO: dict[str, Any] = {
    "vision": False,
    "function_calling": True,
    "json_output": True,
    "structured_output": True,
    "family": "unknown",
    "multiple_system_messages": False,
}
"""``model_info`` given by :meth:`ScriptedOpenAIServer.client` for model names AutoGen does not know."""


@dataclass
class ToolCall:
    """A tool call the scripted model makes.

    Attributes:
        name: The function name.
        arguments: The arguments, as a dict (JSON-encoded on the wire) or an already encoded string.
        id: The tool call id; ``call_<n>`` (a server-wide counter) when None.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class Reply:
    """One scripted answer to a chat completion request.

    Attributes:
        content: The assistant text (may accompany tool calls, as OpenAI allows).
        tool_calls: Tool calls to make.
        finish_reason: Defaults to ``"tool_calls"`` when there are tool calls, else ``"stop"``.
        prompt_tokens: Defaults to a deterministic estimate from the request (characters // 4).
        completion_tokens: Defaults to a deterministic estimate from the reply text and arguments.
        cached_tokens: Reported as ``usage.prompt_tokens_details.cached_tokens``.
        model: The model reported in the response; defaults to the dated snapshot OpenAI reports
            for the requested alias (``gpt-4o-mini`` -> ``gpt-4o-mini-2024-07-18``), else the request's.
        delay_s: Seconds to wait before answering (before the response headers).
        chunk_delay_s: Seconds to wait between streamed chunks.
        error_status: Answer with this HTTP status and an OpenAI-style JSON error body instead.
        error_message: The error body's message.
        error_type: The error body's type; defaults from the status (e.g. ``server_error``).
        error_code: The error body's code (e.g. ``rate_limit_exceeded``).
        should_retry: Whether the openai SDK may retry this error. False (the default) sends
            ``x-should-retry: false`` so that one scripted error is one failed call; True sends
            ``x-should-retry: true`` and ``retry-after-ms`` so the SDK retries after ``retry_after_ms``.
        retry_after_ms: Retry delay advertised when ``should_retry`` is True.
        garbage_stream: When streamed, send one valid chunk and then invalid SSE data.
        hang: Never answer (until the server stops, when the connection is dropped).
    """

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    model: str | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    error_status: int | None = None
    error_message: str = "scripted error"
    error_type: str | None = None
    error_code: str | None = None
    should_retry: bool = False
    retry_after_ms: int = 20
    garbage_stream: bool = False
    hang: bool = False


Responder = Callable[[dict[str, Any]], "Reply | str"]
"""Gets the parsed JSON request body, returns the reply (a plain string means ``Reply(content=...)``)."""


class _SequenceResponder:
    """Serves a fixed sequence of replies in order."""

    def __init__(self, replies: Sequence[Reply | str]) -> None:
        self._replies: deque[Reply | str] = deque(replies)
        self._total = len(self._replies)
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> Reply | str:
        with self._lock:
            if not self._replies:
                raise LookupError(
                    f"ScriptedOpenAIServer: the script is exhausted - all {self._total} scripted replies "
                    "were already served"
                )
            return self._replies.popleft()


class _Handler(BaseHTTPRequestHandler):
    """HTTP handler; all state lives on the owning :class:`ScriptedOpenAIServer`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # every chunk goes out at once, so time-to-first-chunk is real
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access logs
        return

    # -- plumbing -----------------------------------------------------------------------------
    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    # -- routes -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self._path() in ("/v1/models", "/models"):
            self._send_json(200, self.server.owner._models_body())
        else:
            self._send_json(404, error_body(404, f"Unknown path {self.path}", None, None))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._path() not in ("/v1/chat/completions", "/chat/completions"):
            self._send_json(404, error_body(404, f"Unknown path {self.path}", None, None))
            return
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(
                400, error_body(400, "We could not parse the JSON body of your request.", None, None)
            )
            return
        owner = self.server.owner
        try:
            reply, number = owner._next_reply(request)
        except Exception as exc:  # a script problem: report it clearly, never retry
            message = f"{type(exc).__name__}: {exc}"
            owner._record_error(message + "\n" + traceback.format_exc())
            self._send_json(
                500, error_body(500, message, "server_error", "script_error"), {"x-should-retry": "false"}
            )
            return
        if reply.hang:
            owner._stopping.wait()
            self.close_connection = True
            return
        if reply.delay_s > 0 and owner._stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        if reply.error_status is not None:
            headers = {"x-should-retry": "true" if reply.should_retry else "false"}
            if reply.should_retry:
                headers["retry-after-ms"] = str(reply.retry_after_ms)
            body = error_body(reply.error_status, reply.error_message, reply.error_type, reply.error_code)
            self._send_json(reply.error_status, body, headers)
            return
        model = reply.model or response_model(str(request.get("model") or "gpt-4o-mini"))
        tool_ids = [tc.id or owner._next_tool_call_id() for tc in reply.tool_calls]
        if request.get("stream"):
            self._stream(request, reply, number, model, tool_ids)
        else:
            self._send_json(
                200, chat_completion(request, reply, number, model, tool_ids, _CREATED_BASE + number)
            )

    def _stream(
        self, request: dict[str, Any], reply: Reply, number: int, model: str, tool_ids: list[str]
    ) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        events = stream_events(request, reply, number, model, tool_ids, _CREATED_BASE + number)
        try:
            for i, event in enumerate(events):
                if i > 0 and reply.chunk_delay_s > 0 and owner._stopping.wait(reply.chunk_delay_s):
                    self.close_connection = True
                    return
                if reply.garbage_stream and i == 1:
                    self._write_chunk(b'data: {"id": "chatcmpl-garbage", "choices": [{"delta": {"cont\n\n')
                    self._write_chunk(b"data: \x00\xff not json at all\n\n")
                    break
                self._write_chunk(f"data: {event}\n\n".encode())
            self._write_chunk(b"")  # terminating zero-length chunk
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: ScriptedOpenAIServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client went away (timeouts, cancelled streams); report anything else."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ScriptedOpenAIServer:
    """An OpenAI-compatible chat completions server that answers from a script.

    Args:
        responder: Either a callable that gets each parsed request body and returns a
            :class:`Reply` (or a string), or a sequence of replies served in order. When a
            sequence runs out, or the callable raises, the request is answered with HTTP 500 and a
            clear message (``x-should-retry: false``), and the message is kept in :attr:`errors`.

    Attributes:
        requests: Every request body received, in order.
        errors: Messages for script problems (exhausted script, responder exceptions).
    """

    def __init__(self, responder: Responder | Sequence[Reply | str]) -> None:
        if callable(responder):
            self._responder: Responder = responder
        else:
            self._responder = _SequenceResponder(list(responder))
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._responses = 0
        self._tool_calls = 0
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> ScriptedOpenAIServer:
        """Bind to ``127.0.0.1`` on a free port and serve from a daemon thread.

        Returns:
            The server itself, for chaining.
        """
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _HTTPServer(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="scripted-openai",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release hanging or delayed requests and close open connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def responder(self) -> Responder:
        """The responder answering requests (a :class:`~teamtape.demo.script.Script`, a callable...)."""
        return self._responder

    @property
    def port(self) -> int:
        """The bound TCP port (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError(
                "ScriptedOpenAIServer is not started; call start() or use it as a context manager"
            )
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI ``base_url``, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def client(self, model: str = "gpt-4o-mini", **kwargs: Any) -> OpenAIChatCompletionClient:
        """Return a real ``OpenAIChatCompletionClient`` pointed at this server.

        Args:
            model: The model name. ``model_info`` is added only for names AutoGen does not know.
            **kwargs: Passed to the client; ``api_key`` defaults to a fake key.

        Returns:
            A new client; the caller closes it.
        """
        from autogen_ext.models.openai import OpenAIChatCompletionClient

        kwargs.setdefault("api_key", "sk-test-not-a-real-key")
        kwargs["base_url"] = self.base_url
        if "model_info" not in kwargs:
            try:
                return OpenAIChatCompletionClient(model=model, **kwargs)
            except ValueError as exc:
                if "model_info" not in str(exc):
                    raise
                kwargs["model_info"] = dict(DEFAULT_MODEL_INFO)
        return OpenAIChatCompletionClient(model=model, **kwargs)

    # -- used by the handler ------------------------------------------------------------------
    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record_error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def _next_reply(self, request: dict[str, Any]) -> tuple[Reply, int]:
        with self._lock:
            self.requests.append(request)
        reply = self._responder(request)
        if isinstance(reply, str):
            reply = Reply(content=reply)
        if not isinstance(reply, Reply):
            raise TypeError(f"responder returned {type(reply).__name__}, expected Reply or str")
        with self._lock:
            self._responses += 1
            return reply, self._responses

    def _next_tool_call_id(self) -> str:
        with self._lock:
            self._tool_calls += 1
            return f"call_{self._tool_calls}"

    def _models_body(self) -> dict[str, Any]:
        with self._lock:
            names = {"gpt-4o", "gpt-4o-mini"} | {str(r.get("model")) for r in self.requests if r.get("model")}
        data = [
            {"id": n, "object": "model", "created": _CREATED_BASE, "owned_by": "teamtape"}
            for n in sorted(names)
        ]
        return {"object": "list", "data": data}
