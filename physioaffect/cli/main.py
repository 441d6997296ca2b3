"""Entry point of the ``physioaffect`` command: one subcommand per module of this package.

Adding a command means adding its module name to :data:`COMMANDS`; the module exposes
``add_parser(subparsers)`` (which registers the subcommand and its options) and ``run(args)``
(which does the work and returns the exit code). Nothing heavier than the standard library is
imported here, so the command starts fast; each ``run`` imports what it needs.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

__all__ = ["COMMANDS", "EXIT_USAGE", "build_parser", "console_main", "main"]

#: Command modules of :mod:`physioaffect.cli`, in the order ``--help`` lists them.
COMMANDS = ("demo", "evaluate", "info", "preprocess")

#: Exit code of an expected error: bad options or bad input, reported in one line.
EXIT_USAGE = 2

_PROG = "physioaffect"


def _command_module(name: str):
    return importlib.import_module(f"{__package__}.{name}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``physioaffect`` with every command of :data:`COMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
        Parsed arguments carry ``command`` (the module name, or None), ``debug`` and
        ``version``, plus the options of the chosen command.
    """
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Physiological recordings to emotion, stress and sleep predictions.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    # Subcommands accept --debug too; SUPPRESS keeps them from resetting the top-level value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    subparsers = parser.add_subparsers(dest="command", metavar="command")
    for name in COMMANDS:
        _command_module(name).add_parser(subparsers, parents=[common])
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv=None) -> int:
    """Run ``physioaffect`` with the arguments ``argv`` and return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success; 2 on a usage error or an expected error
        (:class:`physioaffect.errors.PhysioAffectError`), reported as one line on stderr unless
        ``--debug`` is given, in which case the exception propagates with its traceback;
        130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage and message (or help)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    if args.version:
        from physioaffect import __version__

        print(f"{_PROG} {__version__}")
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{_PROG}: error: a command is required (one of: {', '.join(COMMANDS)})",
              file=sys.stderr)
        return EXIT_USAGE

    from physioaffect.errors import PhysioAffectError

    try:
        return int(_command_module(args.command).run(args))
    except PhysioAffectError as exc:
        if args.debug:
            raise
        print(f"{_PROG} {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{_PROG} {args.command}: interrupted", file=sys.stderr)
        return 130


def console_main(argv=None):
    """Entry point of the ``physioaffect`` console script: :func:`main`, then exit.

    Before the interpreter shuts down, every live object is moved to the garbage collector's
    permanent generation (:func:`gc.freeze`), so that shutdown does not traverse the heap that
    MNE, SciPy and Numba leave behind (about 0.3 s after a preprocessing run). Only the process
    that is about to exit does this; code calling :func:`main` from Python is unaffected.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after the program name; default ``sys.argv[1:]``.
    """
    code = main(argv)
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()
