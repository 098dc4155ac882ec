"""gunicorn settings for the web pages: sessions live in Redis (web/sessions.py),
so any number of processes and replicas serve any visitor; threads, since the
gateway does the heavy lifting."""
import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8090")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = None
