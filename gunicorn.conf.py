"""gunicorn settings for LeadDesk behind a TLS-terminating reverse proxy.

The scheduler never runs in these workers: it is its own process (`flask --app wsgi scheduler`).
"""

import multiprocessing
import os

bind = os.environ.get("LEADDESK_BIND", "127.0.0.1:8000")
# Face models load lazily per worker (about 200 MB each); a few workers serve a unit well.
workers = int(os.environ.get("LEADDESK_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
worker_class = "gthread"
threads = 4
timeout = 120  # a search with the CNN detector on a large probe can take several seconds
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("LEADDESK_PROXY_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
