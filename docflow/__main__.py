"""``python -m docflow``: the command line."""

from docflow.cli.main import entry

entry()
