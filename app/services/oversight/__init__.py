"""What an auditor reads: the audit trail and its vocabulary, audited reads, signed checkpoints,
the monthly audit, transparency figures, the dashboard, and the sweep of files no record
refers to."""
