"""The `certdetect` command: one module per subcommand, as sigma-cli does."""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
from typing import Any

import click

from converter import __version__
from converter.core import interrupts
from converter.core.errors import InputError, VerificationFailed


class CertdetectGroup(click.Group):
    """Turns expected failures into one-line messages and exit codes instead of tracebacks;
    Ctrl-C ends any command with one line and exit code 130, whatever error it became.
    Commands are imported when used (`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module, attribute = found
        # Ctrl-C while a command's modules are imported ends it quietly
        with interrupts.while_starting():
            command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with interrupts.recorded():
                result = super().invoke(ctx)
                interrupts.finish()
                return result
        except (KeyboardInterrupt, interrupts.Interrupted):
            _interrupted()
        except InputError as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"certdetect: error: {error}", err=True)
            sys.exit(2)
        except VerificationFailed as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            if str(error):
                click.echo(f"certdetect: {error}", err=True)
            sys.exit(1)
        except Exception:
            if interrupts.requested():  # e.g. DuckDB's "Query interrupted"
                _interrupted()
            raise


def _interrupted() -> None:
    # stopping already: a signal still pending must not turn exit 130 into a death by SIGINT
    with contextlib.suppress(ValueError):  # not the main thread: no signal handling to change
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    click.echo("certdetect: interrupted", err=True)
    sys.exit(interrupts.EXIT_CODE)


@click.group(cls=CertdetectGroup)
@click.version_option(__version__, prog_name="certdetect")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Sigma rules for self-signed and spoofed certificates (T1587.003), converted to Elastic
    EQL, Splunk SPL and Defender XDR KQL and verified by executing every query."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# command name -> (module, function): a command's module (and the heavy libraries it needs, such
# as pySigma's backends, eql and DuckDB) is imported only when that command runs, so `scan`
# with the reference alone does not pay for `build`'s imports
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("converter.cli.build", "build"),
    "bundle": ("converter.cli.bundle", "bundle"),
    "check": ("converter.cli.check", "check"),
    "convert": ("converter.cli.convert", "convert"),
    "list": ("converter.cli.list", "list_rules"),
    "new": ("converter.cli.new", "new"),
    "release": ("converter.cli.release", "release"),
    "scan": ("converter.cli.scan", "scan"),
    "verify": ("converter.cli.verify", "verify"),
}


def run() -> None:
    """The console entry point (`certdetect`, `python -m converter`)."""
    with interrupts.process():
        main(prog_name="certdetect")
