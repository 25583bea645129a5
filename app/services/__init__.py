"""The domain: plain functions that change data, flush, and audit in the same transaction,
grouped by what the product does:

- ``identity``   agencies, accounts, certifications, administrators' changes, sign-in
- ``intake``     the requester's request, its photos, answers to questions
- ``policy``     the use policy's rules, each image's provenance, the screening net, the clause map
- ``review``     the state table, the reviewer's queue and work from claim to verified decision
- ``gallery``    enrollment, the index, the 1:N search, sealed records
- ``reports``    the Manual Search Report: issue, correct, deliver, lead outcomes
- ``oversight``  the audit trail, audited reads, checkpoints, the monthly audit, figures, the sweep
- ``notify``     e-mail notifications: the outbox and who hears what (no case information)
- ``platform``   service errors, files with their transaction's fate, counting under locks

They take the acting user as an argument and never commit; the view (through its one commit
point), the CLI command or the job that called them commits. Three jobs commit as they go,
so an interrupted run keeps what it finished: ``gallery.enrollment``, ``gallery.index_builds``
and the mail sender ``notify.outbox`` (one short transaction per message).
"""
