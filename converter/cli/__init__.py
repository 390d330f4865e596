"""The `certdetect` command: one module per subcommand, as sigma-cli does."""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import Any

import click

from converter import __version__
from converter.core import interrupts
from converter.core.errors import InputError, VerificationFailed


class CertdetectGroup(click.Group):
    """Turns expected failures into one-line messages and exit codes instead of tracebacks;
    Ctrl-C ends any command with one line and exit code 130, whatever error it became."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with interrupts.recorded():
                return super().invoke(ctx)
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


def _register() -> None:
    from converter.cli.build import build
    from converter.cli.bundle import bundle
    from converter.cli.check import check
    from converter.cli.convert import convert
    from converter.cli.list import list_rules
    from converter.cli.new import new
    from converter.cli.release import release
    from converter.cli.scan import scan
    from converter.cli.verify import verify

    main.add_command(build)
    main.add_command(bundle)
    main.add_command(check)
    main.add_command(convert)
    main.add_command(list_rules)
    main.add_command(new)
    main.add_command(release)
    main.add_command(scan)
    main.add_command(verify)


with interrupts.while_starting():
    _register()
