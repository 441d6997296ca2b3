"""Command-line interface: ``physioaffect <command> [options]``.

:mod:`physioaffect.cli.main` dispatches to one module per command. Each command module exposes
``add_parser(subparsers)`` and ``run(args) -> int`` and imports its heavy dependencies inside
``run``, so that ``physioaffect --help`` answers at once.
"""
