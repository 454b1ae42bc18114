"""Path converters shared by every URLconf.

`<id:pk>` takes a number that can name a stored row: at most 19 digits and
at most 2**63 - 1, the largest BigAutoField value on PostgreSQL and SQLite.
A longer or larger number does not match, so the address answers 404 like
any other unknown object, before a view hands a database driver a value it
cannot bind (SQLite raised OverflowError for 4058615727981329609916416).
Version numbers use it too: whatever names a row is bounded the same way.
"""

from __future__ import annotations

from django.urls import register_converter

MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(f"{value} is beyond the largest id")  # no match: 404
        return number

    def to_url(self, value) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
