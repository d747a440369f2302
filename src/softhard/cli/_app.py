"""The typer application; commands live in one module each under :mod:`softhard.cli`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from softhard._about import __version__
from softhard.errors import SofthardError
from softhard.report.rundir import environment

app = typer.Typer(
    name="softhard",
    help="Soft-label vs hard-label training: experiments, NTK margin, theory.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        revision = environment()["git_revision"] or "unknown"
        console.print(
            f"softhard {__version__} (git revision {revision})", highlight=False, soft_wrap=True
        )
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="print the version"
    ),
) -> None:
    """Soft-label vs hard-label training: experiments, NTK margin, theory."""


F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Print a :class:`SofthardError` as one paragraph (no traceback) and exit with status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SofthardError as err:
            err_console.print(
                f"[bold red]error:[/bold red] {escape(str(err))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]
