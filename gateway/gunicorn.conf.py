"""gunicorn settings for the gateway: gthread workers (gunicorn has no eventlet
worker any more), one pika connection per thread, Prometheus multiprocess mode."""
import os
import shutil

bind = os.environ.get("GATEWAY_BIND", "0.0.0.0:8080")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# The longest request line read (the OpenAPI document says 414 beyond it).
limit_request_line = 8190
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = None

# Each worker process writes its metrics to this folder; /metrics sums them.
multiproc_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/relais-gateway-metrics")


def on_starting(server):
    shutil.rmtree(multiproc_dir, ignore_errors=True)
    os.makedirs(multiproc_dir, exist_ok=True)


def post_worker_init(worker):
    from common.startup import freeze_what_startup_made
    freeze_what_startup_made()


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
