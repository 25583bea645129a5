"""Telling people by e-mail that something waits for them, with nothing sensitive in the
message: the tracking number, what happened, and the link to sign in. Messages go to the
outbox in the transaction of the action they tell of, and the scheduler sends them."""
