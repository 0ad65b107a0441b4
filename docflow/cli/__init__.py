"""The thin command line: each command lives in its own module with ``add_arguments`` and ``run``."""
