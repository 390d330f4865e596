from converter.cli import run

run()
