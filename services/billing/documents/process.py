"""Factur-X rendering in a child process of its own.

WeasyPrint's Python code holds the GIL for 0.2 s to several seconds a
document: rendered in billing's own process (even in ``eventlet.tpool``'s
threads) it stalled every other RPC past the gateway's timeout. A child
process holds its own GIL: billing's process only writes the ``Document`` to
a pipe and waits, cooperatively, for the files.

``python -m services.billing.documents.process`` is the child: it reads
requests on stdin and answers on stdout, each a length (8 bytes) and a
pickle (parent and child are the same code: the pickles never leave them).
The parent starts it on first use, sends one document at a time, and kills
it on any failure or timeout: the next rendering starts a fresh one.
"""
import os
import pickle
import struct
import sys
from dataclasses import dataclass

HEADER = struct.Struct("!Q")
TIMEOUT_SECONDS = 300   # a first rendering loads fonts; a loaded machine is slow


@dataclass(frozen=True)
class RenderedFiles:
    """render.FacturX's bytes (the child sends them as a tuple: unpickling
    FacturX would import WeasyPrint into billing's process)."""
    xml: bytes
    pdf: bytes


class RenderingFailed(Exception):
    """The child could not render a document (its error, as text), or died."""


def _read_exactly(stream, size):
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the rendering process closed its pipe")
        data += chunk
    return data


def _write(stream, value):
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def _read(stream):
    (size,) = HEADER.unpack(_read_exactly(stream, HEADER.size))
    return pickle.loads(_read_exactly(stream, size))


class RenderingProcess:
    """The parent's side: ``render(document)`` gives its ``RenderedFiles``."""

    def __init__(self):
        import eventlet.semaphore
        self._child = None
        self._one_at_a_time = eventlet.semaphore.Semaphore(1)

    def render(self, document):
        import eventlet
        with self._one_at_a_time:
            try:
                with eventlet.Timeout(TIMEOUT_SECONDS,
                                      RenderingFailed(f"{document.number}: no answer in "
                                                      f"{TIMEOUT_SECONDS} s")):
                    child = self._child or self._start()
                    _write(child.stdin, document)
                    outcome, value = _read(child.stdout)
            except BaseException:
                self.close()   # a child in an unknown state is never reused
                raise
        if outcome != "ok":
            raise RenderingFailed(value)
        return RenderedFiles(*value)

    def _start(self):
        from eventlet.green import subprocess
        self._child = subprocess.Popen(
            [sys.executable, "-m", "services.billing.documents.process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self._child

    def close(self):
        child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()


def main():
    """The child: render each document it is sent until its stdin closes."""
    from services.billing.documents.render import factur_x
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)   # whatever a library prints goes to stderr, not into the replies
    requests = sys.stdin.buffer
    while True:
        try:
            document = _read(requests)
        except EOFError:
            return
        try:
            files = factur_x(document)
            reply = ("ok", (files.xml, files.pdf))
        except Exception as exc:  # noqa: BLE001 - told to the parent, which raises it
            reply = ("error", f"{type(exc).__name__}: {exc}")
        _write(replies, reply)


if __name__ == "__main__":
    main()
