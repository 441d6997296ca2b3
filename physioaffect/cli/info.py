"""``physioaffect info``: describe recording files (EDF, EDF+, BDF, BDF+, GDF).

For every file it prints the format, start, duration and number of annotations, then one table
row per channel: name, type (after inference from the label), native sampling rate and unit.
A file that cannot be read gets a one-line error on stderr and the others are still described;
the exit status is 1 when any file failed, else 0.
"""

from __future__ import annotations

import sys

__all__ = ["add_parser", "run", "format_info"]


def add_parser(subparsers, parents=()):
    """Register the ``info`` command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What :meth:`argparse.ArgumentParser.add_subparsers` returned.
    parents : sequence of argparse.ArgumentParser, default=()
        Parsers whose options every command shares.

    Returns
    -------
    argparse.ArgumentParser
        The parser of ``info``.
    """
    parser = subparsers.add_parser(
        "info", parents=list(parents),
        help="describe recording files: channels, types, rates, units, duration, annotations",
        description="Describe EDF, EDF+, BDF, BDF+ and GDF files: one table per file (channel, "
        "type, native rate, unit) with format, start, duration and number of annotations. "
        "A file that cannot be read is reported in one line; the others are still described. "
        "Exit status 1 if any file failed, else 0.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="recording file(s)")
    return parser


def format_info(info):
    """The description of one file, as printed by ``physioaffect info``.

    Parameters
    ----------
    info : dict
        What :func:`physioaffect.io.recording_info` returned.

    Returns
    -------
    str
        Several lines, without a trailing newline.
    """
    start = info["start"].isoformat(sep=" ") if info["start"] is not None else "unknown"
    lines = [info["path"],
             f"  format       {info['format']}" + (", annotation-only" if info["annotation_only"]
                                                    else ""),
             f"  start        {start}"]
    if info["annotation_only"]:
        lines.append(f"  span         {info['duration']:g} s (last annotation's end)")
    else:
        lines.append(f"  duration     {info['duration']:g} s "
                     f"({len(info['channels'])} channels, read at {info['sfreq']:g} Hz)")
    lines.append(f"  annotations  {info['n_annotations']}")
    if info["channels"]:
        width = max(7, *(len(c["name"]) for c in info["channels"]))
        lines.append(f"  {'channel':<{width}}  {'type':<11}  {'rate (Hz)':>9}  unit")
        for ch in info["channels"]:
            lines.append(f"  {ch['name']:<{width}}  {ch['type']:<11}  {ch['sfreq']:>9g}  "
                         f"{ch['unit']}".rstrip())
    for message in info["warnings"]:
        lines.append(f"  warning: {message}")
    return "\n".join(lines)


def run(args) -> int:
    """Describe every file of ``args.files``.

    Parameters
    ----------
    args : argparse.Namespace
        ``files`` (list of str) and ``debug`` (bool: let an error propagate with its traceback).

    Returns
    -------
    int
        0 when every file was described, 1 when any failed.
    """
    from physioaffect.errors import PhysioAffectError
    from physioaffect.io import recording_info

    failed = 0
    for i, path in enumerate(args.files):
        try:
            info = recording_info(path)
        except PhysioAffectError as exc:
            if getattr(args, "debug", False):
                raise
            failed += 1
            print(f"physioaffect info: error: {' '.join(str(exc).split())}", file=sys.stderr)
            continue
        if i:
            print()
        print(format_info(info))
    return 1 if failed else 0
