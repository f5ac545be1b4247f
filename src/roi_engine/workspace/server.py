"""``roi-engine serve``: the workspace on a local port with uvicorn."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses no other machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody is listening on now (for tests and ``--port 0``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(app, host: str = LOOPBACK, port: int = DEFAULT_PORT, *, log_level: str = "warning") -> None:
    """Serve ``app`` until interrupted (Ctrl+C)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                server_header=False, date_header=False)
