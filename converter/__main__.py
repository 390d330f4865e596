"""`python -m converter`: the `certdetect` command.

Run by an interpreter that lacks the project's dependencies (a system `python` in a checkout,
without pySigma or click), it hands over to the checkout's `.venv` where the README's Quickstart
made one, and otherwise says in one line what to install instead of a traceback.
"""

import os
import sys
from pathlib import Path

try:
    # pySigma too: where it is missing, `sigma` is this checkout's rules folder (a namespace
    # package on the path), and the first command to convert fails deep inside
    import sigma.exceptions  # noqa: F401

    from converter.cli import run
except ModuleNotFoundError as error:
    if (error.name or "").split(".")[0] == "converter":
        raise  # a module of this package is missing: a bug, not an installation problem
    venv_python = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
    handed_over = os.environ.get("CERTDETECT_HANDED_OVER") == "1"  # never twice: no exec loop
    if venv_python.is_file() and not handed_over:
        os.environ["CERTDETECT_HANDED_OVER"] = "1"
        print(
            f"certdetect: {error.name} is not installed here; using {venv_python}", file=sys.stderr
        )
        os.execv(venv_python, [str(venv_python), "-m", "converter", *sys.argv[1:]])
    sys.exit(
        f"certdetect: {error.name} is not installed; run: pip install -e . (README, Quickstart)"
    )

if __name__ == "__main__":  # not when a spawned worker process imports it
    run()
