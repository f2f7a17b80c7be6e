"""A platform-like harness for the VIKTOR app: the paths only a deployment exercises, run as the platform runs them.

- ``vkt.memoize`` switched on: the SDK's own local cache backend (``CACHE_BACKEND=local``) with a job token and a
  workspace, in a fresh folder per test; uploads are real ``FileResource`` objects keyed by their upload id as on
  the platform (``MockedFileResource`` cannot be serialised, so with it memoize silently does nothing).
- ``StorageDouble`` in place of ``vkt.Storage``: returns what was set, raises ``FileNotFoundError`` for a missing key,
  and raises what a test asks for (``InternalError`` for an HTTP 413, say) on ``set``, ``get``, ``list`` or
  ``delete``, as the SDK's storage does when its API refuses.
- ``vkt.UserMessage`` and ``vkt.progress_message`` recorded (with a job token they would post to the platform).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import viktor as vkt
from viktor.api_v1 import FileResource
from viktor.core import _Context
from viktor.testing import mock_params, mock_View

MEMOIZE_FOLDER = "_viktor_memoize"


@dataclass
class _Upload:
    name: str
    data: bytes
    reads: int = 0


_UPLOADS: dict[int, _Upload] = {}


def _file(resource: FileResource) -> vkt.File:
    content = _UPLOADS[resource._source_id]
    content.reads += 1
    return vkt.File.from_data(content.data)


# Uploads are real ``FileResource`` objects (memoize serialises only that exact class, by its upload id); their
# content comes from here instead of the platform's file API.
FileResource.file = property(_file)  # type: ignore[method-assign, assignment]
FileResource.filename = property(lambda resource: _UPLOADS[resource._source_id].name)  # type: ignore[method-assign, assignment]


Failure = BaseException | Callable[[str], BaseException | None] | None


@dataclass
class StorageDouble:
    """Behaves like ``vkt.Storage``: values by (scope, key); a missing key raises ``FileNotFoundError``. Set
    ``fail_set``/``fail_get``/``fail_list``/``fail_delete`` to an exception (or a function of the key returning one,
    or ``None``) to make that operation fail as the storage API does."""

    values: dict[tuple[str, str], bytes] = field(default_factory=dict)
    fail_set: Failure = None
    fail_get: Failure = None
    fail_list: Failure = None
    fail_delete: Failure = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    entity: int = 1
    """The editor entity the running job belongs to: the 'entity' scope is its own (``call`` sets it)."""

    def __call__(self) -> StorageDouble:  # stands in for the class: ``vkt.Storage()``
        return self

    def _where(self, scope: str) -> str:
        return f"entity:{self.entity}" if scope == "entity" else scope

    def _fail(self, failure: Failure, key: str) -> None:
        error = failure(key) if callable(failure) and not isinstance(failure, BaseException) else failure
        if error is not None:
            raise error

    def set(self, key: str, data: vkt.File, *, scope: str = "entity", **kwargs: Any) -> None:
        self.calls.append(("set", key))
        self._fail(self.fail_set, key)
        self.values[(self._where(scope), key)] = data.getvalue_binary()

    def get(self, key: str, *, scope: str = "entity", **kwargs: Any) -> vkt.File:
        self.calls.append(("get", key))
        self._fail(self.fail_get, key)
        if (self._where(scope), key) not in self.values:
            raise FileNotFoundError(f"'{key}' not found in {scope} storage")
        return vkt.File.from_data(self.values[(self._where(scope), key)])

    def list(self, *, prefix: str | None = None, scope: str = "entity", **kwargs: Any) -> dict[str, vkt.File]:
        self.calls.append(("list", prefix or ""))
        self._fail(self.fail_list, prefix or "")
        return {
            key: vkt.File.from_data(value)
            for (where, key), value in self.values.items()
            if where == self._where(scope) and key.startswith(prefix or "")
        }

    def delete(self, key: str, *, scope: str = "entity", **kwargs: Any) -> None:
        self.calls.append(("delete", key))
        self._fail(self.fail_delete, key)
        if (self._where(scope), key) not in self.values:
            raise FileNotFoundError(f"'{key}' not found in {scope} storage")
        del self.values[(self._where(scope), key)]

    def results(self, scope: str = "workspace") -> list[str]:
        return [key for (where, key) in self.values if where == scope and key.startswith("result-")]


@dataclass
class Platform:
    """What a test sees of the platform: the storage, the messages shown to the user, the memoize cache."""

    storage: StorageDouble
    cache: Path
    messages: list[tuple[str, str]] = field(default_factory=list)
    progress: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        return [text for kind, text in self.messages if kind == "warning"]

    def memoized(self) -> list[Path]:
        return sorted(self.cache.glob("memoize-*"))

    def memoized_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.memoized())


@contextmanager
def platform_session(folder: Path) -> Iterator[Platform]:
    """Memoize on (its cache in ``folder``), a ``StorageDouble`` as ``vkt.Storage``, messages recorded; all put
    back afterwards. The ``platform`` fixture, and the benchmark of what the app moves (benchmarks/)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CACHE_BACKEND", "local")
        patch.setattr(tempfile, "tempdir", str(folder))
        saved = (_Context.job_token, _Context.workspace_id)
        _Context.job_token, _Context.workspace_id = "test-job-token", 1
        storage = StorageDouble()
        state = Platform(storage, folder / MEMOIZE_FOLDER)
        patch.setattr(vkt, "Storage", storage)
        for kind in ("warning", "info", "success"):
            patch.setattr(vkt.UserMessage, kind, _recorder(state.messages, kind))
        patch.setattr(vkt, "progress_message", lambda message, percentage=None: state.progress.append(message))
        try:
            yield state
        finally:
            _Context.job_token, _Context.workspace_id = saved


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """Memoize on, a ``StorageDouble`` as ``vkt.Storage``, messages recorded."""
    with platform_session(tmp_path) as state:
        yield state


def _recorder(messages: list[tuple[str, str]], kind: str) -> Any:
    return classmethod(lambda cls, message: messages.append((kind, message)))


_ids = iter(range(1000, 10**9))


def upload(name: str, data: bytes) -> FileResource:
    """A new upload (a new upload id, as when a user drops a file on the field)."""
    source_id = next(_ids)
    _UPLOADS[source_id] = _Upload(name, data)
    return FileResource(1, source_id)


def reads(resource: FileResource) -> int:
    """How often an upload's bytes were fetched (on the platform each fetch is a download)."""
    return _UPLOADS[resource._source_id].reads


def app_params(**given: Any) -> Any:
    """Params as the editor sends them: every field of the app's Parametrization at its default (nested in its tabs
    and sections), with ``given`` (by field name, wherever it sits) filled in; files from ``upload``."""
    from app import Parametrization

    raw: dict[str, Any] = {}
    files: dict[tuple[str, ...], Any] = {}
    placed: set[str] = set()

    def fill(group: Any, into: dict[str, Any], path: tuple[str, ...]) -> None:
        for name, item in group._attrs.items():
            if name.startswith("_") or isinstance(item, vkt.Text | vkt.DownloadButton | vkt.ActionButton):
                continue
            if isinstance(item, vkt.SetParamsButton):
                continue
            if isinstance(item, vkt.Tab | vkt.Section):
                fill(item, into.setdefault(name, {}), (*path, name))
            elif isinstance(item, vkt.FileField | vkt.MultiFileField) and name in given:
                placed.add(name)
                files[(*path, name)] = given[name]
                into[name] = _default(item)
            elif name in given:
                placed.add(name)
                into[name] = given[name]
            else:
                into[name] = _default(item)

    for name in ("upload", "review", "compare", "reports"):
        fill(getattr(Parametrization, name), raw.setdefault(name, {}), (name,))
    unknown = set(given) - placed
    assert not unknown, f"no such field: {unknown}"
    params = mock_params(raw, Parametrization)
    for path, value in files.items():  # the uploads themselves, as the platform gives them (not re-wrapped)
        group = params
        for name in path[:-1]:
            group = group[name]
        group[path[-1]] = value
    return params


def _default(item: Any) -> Any:
    if isinstance(item, vkt.MultiFileField | vkt.Table):
        return []
    if isinstance(item, vkt.FileField | vkt.Chat):
        return None
    default = getattr(item, "_default", None)
    if default is not None:
        return default
    if isinstance(item, vkt.TextField | vkt.TextAreaField):
        return ""
    return None


def call(method: str, params: Any, entity: int = 1) -> Any:
    """A controller method (a view, a download, a button) run as VIKTOR runs it: in the editor entity ``entity``
    (its id and name passed as the platform passes them; its own 'entity' scope in a ``StorageDouble``)."""
    import app

    if isinstance(vkt.Storage, StorageDouble):
        vkt.Storage.entity = entity

    @mock_View(app.Controller)
    def run() -> Any:
        import app  # mock_View reloads the app module: its new Controller has the mocked views

        context = {"entity_id": entity, "entity_name": f"Inspection {entity}", "workspace_id": 1}
        return getattr(app.Controller(), method)(params=params, **context)

    return run()


def downloaded(result: vkt.DownloadResult) -> tuple[str, bytes]:
    """File name and content of a download (DownloadResult has no public accessors for them)."""
    content = result._file_content
    return result._file_name, content.encode("utf-8") if isinstance(content, str) else content
