"""Smoke tests of the running site: from outside (httpx, this machine) and inside (curl over SSH).

Outside is what a visitor sees; inside is what the server sees of itself. The two
together tell a closed firewall from a server bound to 127.0.0.1 from a server
that is not running at all, which is how the book's chapter debugs.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import shlex
import ssl
import time
from typing import TYPE_CHECKING

from deploy_tui.core.commands import Shell
from deploy_tui.core.failure import Probe

if TYPE_CHECKING:
    from deploy_tui.core.session import Session

_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """httpx wraps the socket's own error ("All connection attempts failed"): look down the chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every probe: httpx would load the CA bundle again for each client (~15 ms)."""
    return ssl.create_default_context()


def warm() -> None:
    """Load what the first probe needs (httpx, its transport, anyio's asyncio backend; ~150 ms of imports),
    sending nothing: called in a thread, it loads while the run waits on the server."""
    import httpx

    with contextlib.suppress(ImportError):  # a private module: what httpx's first request would import
        importlib.import_module("anyio._backends._asyncio")

    httpx.AsyncHTTPTransport(verify=_tls(), trust_env=False)


def title_of(body: str) -> str:
    import html  # here: a run that never probes has no use for it

    match = _TITLE.search(body)
    return html.unescape(" ".join(match.group(1).split())) if match else ""


async def outside(domain: str, address: str, port: int, path: str = "/", timeout: float = 5.0) -> Probe:
    """GET http://domain:port/path from here, sent to address (the domain pinned, like the browser's)."""
    probe, _ = await outside_answer(domain, address, port, path, timeout)
    return probe


async def outside_answer(
    domain: str, address: str, port: int, path: str = "/", timeout: float = 5.0
) -> tuple[Probe, str]:
    """outside()'s probe, and the answer's Server header ("" when none): whose server answered, when it is not ours."""
    import httpx

    url = f"http://{domain}{f':{port}' if port != 80 else ''}{path}"
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False, verify=_tls()) as client:
            response = await client.get(f"http://{address}:{port}{path}", headers={"Host": f"{domain}:{port}"})
    except httpx.ConnectTimeout:
        return Probe(url, "outside", None, "", "timeout", "", None), ""
    except httpx.ConnectError as error:
        refused = _caused_by(error, ConnectionRefusedError)
        return Probe(url, "outside", None, "", "refused" if refused else f"unreachable: {error}", "", None), ""
    except httpx.TimeoutException:
        return Probe(url, "outside", None, "", "timeout", "", None), ""
    except httpx.HTTPError as error:
        return Probe(url, "outside", None, "", f"unreachable: {error}", "", None), ""
    body, server = response.text, response.headers.get("server", "")
    probe = Probe(
        url,
        "outside",
        response.status_code,
        title_of(body),
        "",
        body,
        time.monotonic() - started,
        server=server,
        content_type=response.headers.get("content-type", ""),
    )
    return probe, server


MARKER = "\x1edeploy-tui-status "


def inside_command(domain: str, port: int, path: str = "/") -> Shell:
    """curl on the server itself, with the domain as Host; the status follows a marker after the body."""
    url = f"http://localhost:{port}{path}"
    return Shell(
        shlex.join(
            [
                "curl",
                "-sS",
                "-m",
                "5",
                "-H",
                f"Host: {domain}:{port}",
                "-o",
                "-",
                "-w",
                f"\\n{MARKER}%{{http_code}}",
                url,
            ]
        )
    )


async def inside(session: Session, step: str, command: Shell, url: str) -> Probe:
    """Run inside_command's curl on the server and read what it saw."""
    started = time.monotonic()
    result = await session.run(command, step=step, capture=True)
    latency = time.monotonic() - started
    body, _, status_text = result.captured.rpartition(MARKER)
    status = int(status_text) if status_text.strip().isdigit() and status_text.strip() != "000" else None
    if status is None:
        text = " ".join(result.stderr_tail).lower()
        error = (
            "refused"
            if "refused" in text or "couldn't connect" in text
            else ("timeout" if "timed out" in text else f"unreachable: {' '.join(result.stderr_tail)[-200:]}")
        )
        return Probe(url, "inside", None, "", error, "", None)
    return Probe(url, "inside", status, title_of(body), "", body, latency)
