"""Structured logs: one JSON object a line, carrying the nameko call id stack
so that one HTTP request can be followed through the gateway and every service."""
import logging
import os
import threading

from pythonjsonlogger.json import JsonFormatter

# Green-thread local once eventlet has patched threading (every nameko process).
_current = threading.local()


def set_call_id_stack(stack):
    _current.call_id_stack = stack


def current_call_id_stack():
    return getattr(_current, "call_id_stack", None)


class CallIdFilter(logging.Filter):
    def filter(self, record):
        stack = current_call_id_stack()
        if stack:
            record.call_id_stack = stack
        return True


def configure(component):
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"component": component},
    ))
    handler.addFilter(CallIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("RELAIS_LOG_LEVEL", "INFO").upper())
    # kombu and amqp log every connection step at INFO.
    for noisy in ("kombu", "amqp", "nameko.containers", "pika"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # /ready probes RPC queues with passive declares; a missing queue is an answer.
    logging.getLogger("pika.channel").setLevel(logging.ERROR)
