"""Helpers shared by sub-commands: settings, the database DSN, the language."""

from __future__ import annotations

import argparse

from callcenter import db
from callcenter.settings import Settings, load_settings
from callcenter.store.users import LANGUAGES


def add_dsn_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--dsn`` (default: CALLCENTER_DSN, else the embedded database)."""
    parser.add_argument(
        "--dsn", help="PostgreSQL URL (default: CALLCENTER_DSN, else the embedded database)"
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings named by ``--config``/env, with ``--dsn`` applied."""
    settings = load_settings(getattr(args, "config", None))
    dsn = getattr(args, "dsn", None)
    if dsn:
        settings.database.dsn = dsn
    return settings


def dsn_from_settings(settings: Settings) -> str:
    """The DSN to use: the configured one or the embedded server's."""
    return db.resolve_dsn(settings.database.dsn, settings.database.data_dir)


def add_lang_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--lang zh|en``: the language of what the command writes for people."""
    parser.add_argument("--lang", choices=LANGUAGES,
                        help="language of headers and words (default: web.default_language)")


def language(args: argparse.Namespace, settings: Settings) -> str:
    """``--lang``, else the web app's default language."""
    return str(getattr(args, "lang", None) or settings.web.default_language)
