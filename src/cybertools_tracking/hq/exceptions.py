"""The HQ's errors; each message says what was wrong and what is allowed."""


class BadUpload(ValueError):
    """The body is not the protocol's; the message says what is wrong.
    The endpoint answers 400 with it."""


class NotFound(LookupError):
    """No such application or trackable in the group (another group's is
    not found either). The read API answers 404."""
