"""The project's own errors: each carries one sentence a user can act on (``str(error)``)."""

from __future__ import annotations


class AnalysisError(Exception):
    """A problem the user can act on; ``str(error)`` is the message shown to them."""


class ImageInputError(AnalysisError):
    """The uploaded file cannot be used as an image (not an image, corrupt, unsupported, too large)."""


class ServiceError(AnalysisError):
    """The model service failed or is not configured."""


class ServiceNotConfiguredError(ServiceError):
    """No model endpoint is configured (outside VIKTOR, without OPENAI_BASE_URL)."""


class RateLimitedError(ServiceError):
    """The fair-usage limit (HTTP 429) was reached, after the client's retries."""


class ServiceUnreachableError(ServiceError):
    """The service could not be reached, or did not answer in time."""


class AuthenticationFailedError(ServiceError):
    """The service refused the credentials."""


class RequestRejectedError(ServiceError):
    """The service refused the request (HTTP 4xx other than auth, rate limit and size)."""


class ImageTooLargeError(ServiceError):
    """The service or a gateway in front of it refused the request as too large (HTTP 413)."""


class EmptyReplyError(ServiceError):
    """The service answered without any text."""


class MalformedReplyError(ServiceError):
    """The service answered, but not in the shape the Chat Completions protocol promises."""
