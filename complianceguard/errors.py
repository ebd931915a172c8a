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
