"""The `qa` command: thin typer commands that parse options and call the library.

Entry points only: heavy modules are imported inside the commands so that `qa --help` stays fast.
"""
