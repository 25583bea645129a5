"""The domain: plain functions that change data, flush, and audit in the same transaction.

They take the acting user as an argument and never commit; the view, CLI command or job
that called them commits once.
"""
