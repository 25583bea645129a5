"""Who people are and how they get in: agencies, accounts, certifications, the administrator's
changes and their approvals, sign-in, second factors, passwords, sessions, need to know."""
