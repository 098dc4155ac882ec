"""gunicorn settings for the web pages: one process (sessions live in its
memory, web/sessions.py) with threads; the gateway does the heavy lifting."""
import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8090")
worker_class = "gthread"
workers = 1
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = None
