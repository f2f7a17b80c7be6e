"""The project's own errors, every one a sentence a user can act on (``str(error)``), under one base class:

    AnalysisError                    a problem the user can act on; the message is shown as it is
    ├── InputError                   what was given cannot be used: fix the input (command line: exit 2)
    │   ├── ImageInputError          the upload is not a usable image (not an image, corrupt, unsupported, too large)
    │   ├── PageSpecError            a PDF page choice that cannot be read or names pages the file lacks
    │   ├── BatchTooLargeError       more photos or sheets than one batch takes
    │   ├── ReviewError              a reviewed row that cannot be taken (names its sheet, row and column)
    │   └── StoreError               the result store cannot be opened or written
    ├── ServiceError                 the model service failed or is not configured (command line: exit 3)
    │   ├── ServiceNotConfiguredError    no endpoint (outside VIKTOR, without OPENAI_BASE_URL); a bad setting
    │   ├── RateLimitedError             the fair-usage limit (HTTP 429), after the retries
    │   ├── ServiceUnreachableError      not reached, or no answer in time
    │   ├── AuthenticationFailedError    the credentials refused
    │   ├── RequestRejectedError         the request refused (HTTP 4xx other than the above and 413)
    │   ├── ImageTooLargeError           the request refused as too large (HTTP 413)
    │   ├── EmptyReplyError              an answer without any text
    │   └── MalformedReplyError          an answer not in the shape the Chat Completions protocol promises
    └── OutputError                  a report could not be written as asked (the others still are)
        └── PdfUnavailable           no LibreOffice here, or it could not convert

The command line maps them to exit codes in one place (``cli.console.error_exit_code``); the app raises
``vkt.UserError`` with the same message, marked on the field it concerns. Errors internal to a stage (a decoder's
damage, a child process's limit) stay in their modules and are turned into one of these where they leave it.
"""

from __future__ import annotations

from collections.abc import Mapping


class AnalysisError(Exception):
    """A problem the user can act on; ``str(error)`` is the message shown to them."""


class InputError(AnalysisError):
    """What was given (a file, a choice, a reviewed sheet, a store) cannot be used; the message says what to fix."""


class ImageInputError(InputError):
    """The uploaded file cannot be used as an image (not an image, corrupt, unsupported, too large)."""


class PageSpecError(InputError, ValueError):
    """A page choice that cannot be read or names pages the file does not have."""


class BatchTooLargeError(InputError):
    """More photos or sheets than one batch takes (``analysis.MAX_BATCH``)."""


class ReviewError(InputError, ValueError):
    """A reviewed row that cannot be taken: says which sheet (of a workbook), row and column, and why."""

    def __init__(self, row: int, column: str, message: str, sheet: str = "") -> None:
        self.row, self.column, self.message, self.sheet = row, column, message, sheet
        where = f"sheet {sheet}, " if sheet else ""
        super().__init__(f"{where}row {row}, column '{column}': {message}")

    def named(self, columns: Mapping[str, str], sheet: str = "") -> ReviewError:
        """The same error with the column as the file heads it (``columns``: by ``Finding`` field)."""
        return ReviewError(self.row, columns.get(self.column, self.column), self.message, sheet or self.sheet)


class StoreError(InputError):
    """The store cannot be opened or written (a path that is not a store, a newer schema, a full disk)."""


class ServiceError(AnalysisError):
    """The model service failed or is not configured."""


class ServiceNotConfiguredError(ServiceError):
    """No model endpoint is configured (outside VIKTOR, without OPENAI_BASE_URL), or a setting is not valid."""


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


class OutputError(AnalysisError):
    """A report could not be written as asked; the other outputs still are."""


class PdfUnavailable(OutputError, RuntimeError):
    """No LibreOffice here, or it could not convert: the message says what to do."""
