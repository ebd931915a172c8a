"""Errors a user can act on. Each carries a one-line message naming the file and the problem;
the CLI prints it and exits 2, never a traceback."""


class ComplianceGuardError(Exception):
    """Base class: the message is the whole story, shown as is."""


class InputError(ComplianceGuardError):
    """A manifest, CSV row or media path that cannot be used."""


class PackError(ComplianceGuardError):
    """A rule pack that cannot be loaded: names the file, the rule and the field."""


class OutputError(ComplianceGuardError):
    """The report folder cannot be written (full disk, read-only, permissions): names the folder."""


# -- the debug log: tracebacks for maintainers, never in the one-line error --

DEBUG_LOG_ENV = "COMPLIANCEGUARD_DEBUG_LOG"  # "-" (stderr) or a file; set by `-v`, inherited by worker processes


def internal_error(exc: BaseException) -> str:
    """The one line for an exception nobody expected (a bug): its type and message, and where its
    traceback went when `-v` set a debug log (an environment variable, so the scan's worker
    processes, forked or spawned, write to the same log)."""
    line = f"internal error ({type(exc).__name__}: {exc})"
    where = log_traceback(exc)
    return f"{line}; traceback in {where}" if where else line


def log_traceback(exc: BaseException) -> str | None:
    """Write `exc`'s traceback to the debug log, if there is one: returns where it went."""
    import os
    import sys
    import traceback

    target = os.environ.get(DEBUG_LOG_ENV)
    if not target:
        return None
    text = "".join(traceback.format_exception(exc))
    if target == "-":
        sys.stderr.write(text)
        return "stderr (above)"
    try:  # one append per traceback: lines from several worker processes do not interleave
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"--- pid {os.getpid()}\n{text}".encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
    except OSError:
        return None  # the log is a help, never a second error
    return target
