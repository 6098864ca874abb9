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


class InvalidFields(InputError):
    """Named fields of a definition are out of range or mistyped (HTTP 422)."""

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors


class StateConflict(InputError):
    """The target's current state does not allow the change (HTTP 409)."""
