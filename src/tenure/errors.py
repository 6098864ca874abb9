"""One error hierarchy for Tenure; the CLI maps it to exit codes, the API to problem+json."""


class TenureError(Exception):
    """Base class of every error Tenure raises on purpose."""

    exit_code = 1


class ConfigError(TenureError):
    """Settings are missing or contradictory."""

    exit_code = 78


class InputError(TenureError):
    """A file, argument or payload cannot be used as given; nothing was imported."""

    exit_code = 2


class NotFound(TenureError):
    """A requested entity does not exist."""

    exit_code = 4


class LockHeld(TenureError):
    """Another process holds a lock that this operation needs."""

    exit_code = 75
