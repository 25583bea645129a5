"""A request's review, from the queue to a verified decision:

- ``workflow``: the state table (what each state means, who acts next) and the one way a
  request changes state; ``why_not`` is the rule for every action;
- ``waiting``: what waits on each person;
- ``assignments``: the queue, claims, release, reassignment, questions, rejection, taking the
  blind verification;
- ``probes``: a reviewer's processing of each probe and its suitability;
- ``searches``: 1:N searches (one probe, or several fused) recorded so they re-run the same;
- ``examinations``: one-to-one comparison of a candidate, the FISWG checklist, conclusions;
- ``decisions``: lead or no possible match, verification outcomes, void decisions.

Every state change goes through ``app.services.review.workflow``; services flush and audit, the
caller commits.
"""
