"""`exquisite serve | migrate | create-admin EMAIL`."""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from pydantic import ValidationError

from server.logs import configure_logging
from server.settings import Settings

if TYPE_CHECKING:
    from storage import Connection

__all__ = ["main"]

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exquisite", description="A real-time exquisite corpse.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--trusted-proxy-hops",
        type=int,
        choices=range(11),
        metavar="N",
        help="proxies in front that append to X-Forwarded-For (default TRUSTED_PROXY_HOPS, else 0)",
    )
    for command in (serve, commands.add_parser("migrate", help="apply schema.sql")):
        command.add_argument("--data-dir", type=Path, help="where local data lives (default ./.exquisite)")
    admin = commands.add_parser("create-admin", help="make an existing user an admin")
    admin.add_argument("email")
    admin.add_argument("--data-dir", type=Path)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        _refuse(f"invalid configuration:\n{exc}")
    if args.data_dir is not None:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    if getattr(args, "trusted_proxy_hops", None) is not None:
        settings = settings.model_copy(update={"trusted_proxy_hops": args.trusted_proxy_hops})
    problems = settings.production_problems()
    if problems:
        _refuse("refusing to start in production: " + "; ".join(problems))
    return settings


def _refuse(message: str) -> NoReturn:
    print(f"exquisite: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    configure_logging(json_lines=settings.json_logs)
    if args.command == "serve":
        _serve(settings, args.host, args.port)
    elif args.command == "migrate":
        asyncio.run(_with_database(settings, _nothing))
    elif args.command == "create-admin":
        asyncio.run(_create_admin(settings, args.email.strip().lower()))


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from server.app import create_app

    _raise_file_limit()
    structured: dict[str, Any] = {"log_config": None, "access_log": False} if settings.json_logs else {}
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        # Per-message compression costs hundreds of KiB per socket; frames here are small.
        ws_per_message_deflate=False,
        # The client address is what the app's ForwardedFor reads from the right-most hops the
        # platform's proxies appended (TRUSTED_PROXY_HOPS), never uvicorn's reading, which with
        # FORWARDED_ALLOW_IPS="*" takes the left-most entry: the one the client wrote.
        proxy_headers=False,
        forwarded_allow_ips="",
        log_level="info",
        **structured,
    )


def _raise_file_limit() -> None:
    """Every socket is a file: the soft limit (often 1,024) is raised to the hard one, so that
    one process can hold 10,000 idle room sockets (bench/idle_sockets.py)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _with_database(settings: Settings, work: Callable[[Connection], Awaitable[T]]) -> T:
    """Opens (and migrates) the database, runs `work` on a connection, and closes it again."""
    from server.lifespan import open_database

    async with AsyncExitStack() as stack:
        db = await open_database(settings, stack)
        async with db.acquire() as conn:
            return await work(conn)


async def _nothing(conn: Connection) -> None:
    return None


async def _create_admin(settings: Settings, email: str) -> None:
    from storage import accounts

    async def promote(conn: Connection) -> accounts.User | None:
        return await accounts.make_admin(conn, email)

    user = await _with_database(settings, promote)
    if user is None:
        print(f"exquisite: no user with email {email}; sign up first", file=sys.stderr)
        raise SystemExit(1)
    print(f"{user.email} is now an admin")
