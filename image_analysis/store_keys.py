"""Every key under which something is kept, in a local store (``store.SqliteStore``) and in VIKTOR's storage
(``workspace_store``) alike: one module, so that a writer and a reader can never spell a key two ways.

    result-<sha256 of the file>-<sha256 of choices, page, prompt, model>   a description (``analysis.record_key``)
    campaign-error:<result key>                                            a campaign's photo that failed
    inspection:<id>                                                        an inspection: its photos, sign-off, ...
    decisions:<id>                                                         the inspector's decisions on its findings
    object:<id>                                                            an object's element list
    compared-<sha256 of both photos, previous findings, prompt, model>     the model's answer on an element's change
    change-decisions:<id>                                                  the inspector's decisions on those changes
    signoff:<result key>                                                   a sign-off as releases before inspections
                                                                           kept it, beside each result (read only)
    results-generation                                                     the app's forget counter

Claims (one run describes a photo, others wait) are a table of the local store, not keys.
"""

from __future__ import annotations

RESULT = "result-"
CAMPAIGN_ERROR = "campaign-error:"
INSPECTION = "inspection:"
DECISIONS = "decisions:"
OBJECT = "object:"
CHANGE = "compared-"
CHANGE_DECISIONS = "change-decisions:"
LEGACY_SIGNOFF = "signoff:"
GENERATION = "results-generation"


def result_prefix(sha256: str) -> str:
    """The start of the key of every result of one file (each page, preset and model): what ``forget`` removes."""
    return f"{RESULT}{sha256}-"


def result(sha256: str, choices: str) -> str:
    """A description's key: the file's ``result_prefix`` and the hash of everything that shaped the reply."""
    return result_prefix(sha256) + choices


def file_sha256(result_key: str) -> str | None:
    """The SHA-256 of the file a result key was made for; ``None`` for any other key."""
    if not result_key.startswith(RESULT):
        return None
    digest = result_key[len(RESULT) :].split("-", 1)[0]
    return digest if len(digest) == 64 else None


def campaign_error(result_key: str) -> str:
    return CAMPAIGN_ERROR + result_key


def inspection(inspection_id: str) -> str:
    return INSPECTION + inspection_id


def decisions(inspection_id: str) -> str:
    return DECISIONS + inspection_id


def object_elements(object_id: str) -> str:
    """An object's element list (``inspection.elements.ObjectElements``)."""
    return OBJECT + object_id


def change(digest: str) -> str:
    """The model's answer on an element's previous photo against its new one (``comparison``)."""
    return CHANGE + digest


def change_decisions(inspection_id: str) -> str:
    """The inspector's decisions on the changes the model suggested for an inspection."""
    return CHANGE_DECISIONS + inspection_id
