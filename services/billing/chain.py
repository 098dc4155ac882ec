"""The hash chain of final documents. Pure: standard library only.

A document's canonical content is its ``Document`` (documents/model.py) as
JSON with sorted keys, no spaces, UTF-8, dates in ISO 8601, quantities as
decimal strings and money as integer cents. Its hash is the SHA-256 of
``{"document": <canonical content>, "previous_sha256": <hash of the previous
final document, or null>}`` in the same canonical form: altering any final
document, or removing or reordering one, breaks every hash after it.
"""
import dataclasses
import hashlib
import json
from datetime import date
from decimal import Decimal


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def canonical_json(document):
    return json.dumps(_plain(document), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def chained_sha256(document, previous_sha256):
    payload = json.dumps({"document": json.loads(canonical_json(document)),
                          "previous_sha256": previous_sha256},
                         sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Link:
    number: str
    document: object          # the Document rebuilt from the stored rows
    previous_sha256: str | None
    sha256: str


def first_broken_link(links):
    """The first link (in chain order) whose stored hashes do not match what
    its content says, or None if the chain is intact."""
    previous = None
    for link in links:
        if (link.previous_sha256 != previous
                or chained_sha256(link.document, previous) != link.sha256):
            return link
        previous = link.sha256
    return None
