"""The facial reviewer's work on a request, one module per stage:

- ``assignments``: the queue, claims, release, reassignment, questions, rejection, taking the
  blind verification;
- ``probes``: a reviewer's processing of each probe and its suitability;
- ``searches``: 1:N searches (one probe, or several fused) recorded so they re-run the same;
- ``examinations``: one-to-one comparison of a candidate, the FISWG checklist, conclusions;
- ``decisions``: lead or no possible match, verification outcomes, void decisions.

Every state change goes through ``app.services.workflow``; services flush and audit, the
caller commits.
"""
