"""``callcenter user add|passwd|disable|enable|token|list``: web users, audited as ``cli``."""

from __future__ import annotations

import argparse
import getpass
import sys

from callcenter.cli.common import add_dsn_argument
from callcenter.cli.run_cmd import CliError, guarded, open_cli_store
from callcenter.store.audit import AuditRepository
from callcenter.store.users import (
    LANGUAGES,
    ROLES,
    User,
    UserError,
    UserRepository,
    check_password,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("user", help="manage web users (add, passwd, disable, enable, token, list)")
    actions = p.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a user (password from a prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--agent", help="agent endpoint of an agent user, e.g. agent1001")
    add.add_argument("--language", choices=LANGUAGES,
                     help="interface language (default: the browser's)")
    passwd = actions.add_parser("passwd", help="set a new password (ends the user's sessions)")
    passwd.add_argument("username")
    for cmd in (add, passwd):
        cmd.add_argument("--password-stdin", action="store_true",
                         help="read the password from the first line of standard input")
    for name, text in (("disable", "disable a user (ends its sessions)"),
                       ("enable", "enable a disabled user")):
        actions.add_parser(name, help=text).add_argument("username")
    token = actions.add_parser("token", help="issue an API token (a session) for a user")
    token.add_argument("username")
    token.add_argument("--hours", type=float, default=24.0, help="lifetime (default 24)")
    actions.add_parser("list", help="list users")
    for cmd in actions.choices.values():
        add_dsn_argument(cmd)
    p.set_defaults(handler=run)


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice at a prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to ask for the password: use --password-stdin")
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise CliError("the two passwords differ")
    try:
        check_password(password)
    except UserError as exc:
        raise CliError(str(exc)) from None
    return password


@guarded
async def run(args: argparse.Namespace) -> int:
    action = args.user_action
    password = read_password(args.password_stdin) if action in ("add", "passwd") else ""
    _settings, pool = await open_cli_store(args)
    try:
        users, audit = UserRepository(pool), AuditRepository(pool)
        if action == "list":
            print(table(await users.list()))
            return 0
        name = args.username
        if action == "token":
            print(await issue_token(users, audit, name, args.hours))
            return 0
        if action == "add":
            user = await users.add(name, args.role, password, agent=args.agent,
                                   language=args.language)
            await audit.record("cli", "user_added", f"user:{name}",
                               details={"role": user.role, "agent": user.agent})
            print(f"user {name} added ({user.role}{', ' + user.agent if user.agent else ''})")
        elif action == "passwd":
            await users.set_password(name, password)
            await audit.record("cli", "password_changed", f"user:{name}")
            print(f"password of {name} changed; its sessions ended")
        else:
            await users.set_disabled(name, action == "disable")
            await audit.record("cli", f"user_{action}d", f"user:{name}")
            print(f"user {name} {action}d")
    except UserError as exc:
        raise CliError(str(exc)) from None
    finally:
        await pool.close()
    return 0


async def issue_token(users: UserRepository, audit: AuditRepository, name: str,
                      hours: float) -> str:
    """A bearer token for ``name`` valid ``hours`` (an enabled user only), audited."""
    if not 0 < hours <= 24 * 366:
        raise CliError("--hours: give a positive number of hours, at most a year")
    user = await users.require(name)
    if user.disabled:
        raise CliError(f"user {name!r} is disabled")
    token, _csrf = await users.create_session(name, hours=hours, remote="api-token")
    await audit.record("cli", "api_token_issued", f"user:{name}", details={"hours": hours})
    return token


def table(users: list[User]) -> str:
    """Users as a plain-text table."""
    rows = [("username", "role", "agent", "language", "status")] + [
        (u.username, u.role, u.agent or "", u.language or "", "disabled" if u.disabled
         else "active") for u in users]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)
