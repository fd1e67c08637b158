"""Typed helpers for wasmpush contract 0.2 requests (componentize-py).

`wit_world.imports.types.Request` is a plain dataclass with eight fields to
fill every time; `Request` here builds one with sensible defaults:

    Request.post("repos/o/r/statuses/abc").json({"state": "pending"}).supersede("commit/abc")
    Request.patch("repos/o/r/check-runs/{check_run_id}").json({...}).fill()
    Request.post("repos/o/r/check-runs").json({...}).keep("check_run_id", "/id")

and `.build()` gives the WIT record to return from `generate`. The module
only depends on the generated bindings, so it can be copied into any
componentize-py generator built against `wit/v0.2`.
"""

import json
from typing import Any, List, Optional, Tuple

from wit_world.imports import types

Method = types.Method


class Request:
    """One HTTP request, built by chaining; `build()` makes the WIT record."""

    def __init__(self, method: types.Method, path: Optional[str] = None) -> None:
        self.method = method
        self.path = path
        self.headers: List[Tuple[str, str]] = []
        self.content_type = ""
        self.body_bytes = b""
        self.supersede_key: Optional[str] = None
        self.keeps: List[types.Keep] = []
        self.fills = False

    @staticmethod
    def post(path: Optional[str] = None) -> "Request":
        """A POST to `path` (relative to the reporter's URL; None: the URL itself)."""
        return Request(types.Method.POST, path)

    @staticmethod
    def put(path: Optional[str] = None) -> "Request":
        return Request(types.Method.PUT, path)

    @staticmethod
    def patch(path: Optional[str] = None) -> "Request":
        return Request(types.Method.PATCH, path)

    @staticmethod
    def delete(path: Optional[str] = None) -> "Request":
        return Request(types.Method.DELETE, path)

    def json(self, value: Any) -> "Request":
        """A JSON body written like Buildbot does (`json.dumps` defaults)."""
        return self.body(json.dumps(value).encode("ascii"), "application/json")

    def text(self, text: str) -> "Request":
        return self.body(text.encode("utf-8"), "text/plain; charset=utf-8")

    def body(self, data: bytes, content_type: str) -> "Request":
        self.body_bytes = bytes(data)
        self.content_type = content_type
        return self

    def header(self, name: str, value: str) -> "Request":
        """An extra header (the host refuses credentials and framing headers)."""
        self.headers.append((name, value))
        return self

    def supersede(self, key: str) -> "Request":
        """A newer request with the same key replaces this one while it waits."""
        self.supersede_key = key
        return self

    def keep(self, name: str, pointer: str) -> "Request":
        """Keep the response's value at JSON pointer `pointer` as `{name}`."""
        self.keeps.append(types.Keep(name=name, pointer=pointer))
        return self

    def fill(self) -> "Request":
        """Have the host replace `{name}` in path and body by kept values."""
        self.fills = True
        return self

    def build(self) -> types.Request:
        return types.Request(
            method=self.method,
            path=self.path,
            headers=list(self.headers),
            content_type=self.content_type,
            body=self.body_bytes,
            supersede=self.supersede_key,
            keep=list(self.keeps),
            fill=self.fills,
        )


def needs(properties: bool = True, steps: bool = False, logs: bool = False,
          log_contents: Optional[List[str]] = None, previous_build: bool = False,
          changes: bool = False) -> types.Needs:
    """`types.Needs` with Buildbot's defaults (properties only); `log_contents`
    None for no log text, [] for all logs, or the names wanted."""
    if log_contents is None:
        contents: types.LogContents = types.LogContents_None_()
    elif not log_contents:
        contents = types.LogContents_All()
    else:
        contents = types.LogContents_Only(list(log_contents))
    return types.Needs(properties=properties, steps=steps, logs=logs, log_contents=contents,
                       previous_build=previous_build, changes=changes)
