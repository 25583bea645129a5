"""gunicorn settings for LeadDesk behind a TLS-terminating reverse proxy.

The scheduler never runs in these workers: it is its own process (`flask --app wsgi scheduler`).
"""

import multiprocessing
import os

bind = os.environ.get("LEADDESK_BIND", "127.0.0.1:8000")
# Each worker loads the face models (about 200 MB) before taking requests (post_worker_init).
# Face work is CPU-bound (dlib): one process per core, threads for the many light pages.
# Each process remembers recent face analyses, so fewer processes also means fewer cold caches.
workers = int(os.environ.get("LEADDESK_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("LEADDESK_THREADS", 8))
timeout = 120  # a search with the CNN detector on a large probe can take several seconds
graceful_timeout = 30
# No periodic recycling by default: a recycled worker drops its loaded face models and its
# remembered analyses, and resets the kept-alive connections it held (measured under load,
# README "Measured"); worker memory stayed flat without it. Set it if a leak ever shows.
max_requests = int(os.environ.get("LEADDESK_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
# Idle kept-alive connections stay open longer than the proxy's own upstream idle timeout
# (nginx: 60 s), so the proxy always closes first; with gunicorn's 2 s default a request
# sent as the server closed the connection was reset (seen in the load test).
keepalive = int(os.environ.get("LEADDESK_KEEPALIVE", 75))
forwarded_allow_ips = os.environ.get("LEADDESK_PROXY_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"


def post_worker_init(worker):
    """Load dlib's models before the worker takes requests, not inside someone's first search;
    refuse to serve as a database role that could change the audit trail."""
    from app.database_roles import refuse_unsafe_serving_role
    from app.matching.faces import preload_models

    refuse_unsafe_serving_role(worker.wsgi)
    preload_models()


# A worker whose memory has grown past this (resident, MB) finishes the request it is serving
# and is replaced: one heavy request cannot leave a worker holding gigabytes.
worker_max_rss_mb = int(os.environ.get("LEADDESK_WORKER_MAX_RSS_MB", 3072))


def post_request(worker, req, environ, resp):
    """Recycle the worker gracefully once its resident memory is over the budget."""
    from app.platform_limits import resident_mb

    used = resident_mb()
    if used > worker_max_rss_mb:
        worker.log.warning(
            "worker %s at %d MB (budget %d MB): replaced after this request",
            worker.pid,
            used,
            worker_max_rss_mb,
        )
        worker.alive = False
