"""The Manual Search Report: issuing, correcting, delivering, lead outcomes."""
