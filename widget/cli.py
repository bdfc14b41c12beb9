"""The `encore` command: one parser, with the subcommands each package registers."""

import argparse
import os
import sys
from collections.abc import Sequence

from offers import commands as offers_commands
from offers.errors import InputError, first_line
from offers.store import STORE_AWAY
from ranker import commands as ranker_commands
from widget import commands as widget_commands


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line (and exit status 2)."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="encore",
        description="Post-purchase offers: generate, import, export, train, evaluate, "
        "recommend, serve.",
    )
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    for module in (widget_commands, offers_commands, ranker_commands):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except InputError as err:
        problem = str(err)
    except BrokenPipeError:  # the reader stopped reading (`| head`): stop quietly
        _discard_stdout()
        return _BROKEN_PIPE
    except OSError as err:  # a path that cannot be read or written
        where = f"{err.filename}: " if err.filename else ""
        problem = f"{where}{err.strerror or err}"
    except KeyboardInterrupt:
        return 130
    except STORE_AWAY as err:  # locked by another process, or gone
        problem = f"the database could not be used: {first_line(err)}"
    # one line, whatever the input quoted in it holds (an id with a line break, say)
    print(f"{parser.prog} {args.command}: error: {problem.translate(_ESCAPED)}", file=sys.stderr)
    return 2


_BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE


def _discard_stdout() -> None:
    """Send what is left in stdout's buffer nowhere, so that flushing it at exit does not
    fail again with a second, printed, BrokenPipeError."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


_ESCAPED = {
    code: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(chr(code), f"\\x{code:02x}")
    for code in (*range(32), 127)
}


if __name__ == "__main__":
    sys.exit(main())
