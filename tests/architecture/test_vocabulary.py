"""The audit's vocabulary is data, checked by reading the code: every action an event can name
is in ``app/services/oversight/vocabulary.py``; reads of case data are recorded only through
``record_read`` (so none can be left out of the read counts); the other vocabularies
(strategies, status labels, processing steps) have one copy each."""

from __future__ import annotations

import ast

import pytest

from app.models import Capacity, RequestStatus, ReviewState
from app.services.oversight.reads import LIST_VIEWS
from app.services.oversight.vocabulary import ACTIONS, READ_ACTIONS, UnknownAuditAction
from app.services.review.workflow import Action
from tests.architecture.test_house_rules import APP, sources


def _calls(name: str):
    for path, tree in sources(APP):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                )
                if called == name:
                    yield path, node


def _literals(expression: ast.expr) -> list[str] | None:
    """The action names an argument can take: a literal, or either branch of a conditional;
    None for anything computed (checked separately)."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return [expression.value]
    if isinstance(expression, ast.IfExp):
        branches = [_literals(expression.body), _literals(expression.orelse)]
        return None if None in branches else [name for branch in branches for name in branch]
    return None


def _named_actions(call: ast.Call) -> list[ast.expr]:
    named = list(call.args[:1])
    return named + [k.value for k in call.keywords if k.arg == "audit_action"]


def test_every_action_an_event_names_is_in_the_vocabulary():
    unknown, computed = [], []
    for function in (
        "record_event",
        "record_read",
        "record_list_view",
        "PermissionDenied",
        "ServiceError",
        "NotFound",
    ):
        for path, call in _calls(function):
            arguments = (
                _named_actions(call)
                if function in ("record_event", "record_read", "record_list_view")
                else [k.value for k in call.keywords if k.arg == "audit_action"]
            )
            for argument in arguments:
                names = _literals(argument)
                where = f"{path.relative_to(APP)}:{call.lineno}"
                if names is None:
                    computed.append(where)
                else:
                    unknown += [f"{where} {name}" for name in names if name not in ACTIONS]
    assert unknown == []
    # the computed ones are these, and each of their values is in the vocabulary
    assert sorted(c.split(":")[0] for c in computed) == sorted(
        [
            "blueprints/common.py",  # the refused action's own name, else "action.refused"
            "services/identity/signin.py",  # the factor's action, passed down (auth.mfa, auth.mfa_enrol …)
            "services/oversight/reads.py",  # record_read's action, checked there
            "services/oversight/reads.py",  # record_list_view's action, one of LIST_VIEWS
            "services/review/assignments.py",  # review.<capacity>_assign
            "services/review/workflow.py",  # review.<action>
        ]
    )
    assert all(f"review.{action.value}" in ACTIONS for action in Action)
    assert set(LIST_VIEWS) <= set(ACTIONS)
    assert all(f"review.{capacity.value}_assign" in ACTIONS for capacity in Capacity)


def test_reads_are_recorded_only_through_record_read():
    direct = [
        f"{path.relative_to(APP)}:{call.lineno} {name}"
        for path, call in _calls("record_event")
        for name in (_literals(call.args[0]) or [])
        if name in READ_ACTIONS
    ]
    assert direct == []
    for path, call in _calls("record_read"):
        names = _literals(call.args[0]) if call.args else None
        if names is not None:
            assert all(ACTIONS[n].read for n in names), f"{path}:{call.lineno}"


def test_an_unknown_action_is_refused(app):
    from app.services.oversight.audit import record_event

    with pytest.raises(UnknownAuditAction):
        record_event("request.veiw", actor=None)


def test_every_state_and_status_has_one_label():
    assert all(status.label for status in RequestStatus) and all(state.label for state in ReviewState)


def test_the_processing_steps_have_one_list_of_names():
    from app.blueprints.review.forms import STEP_FORMS
    from app.blueprints.review.probes import STEP_OPS
    from app.matching.processing import LABELS, OPERATIONS

    assert set(STEP_FORMS) == set(OPERATIONS) == set(LABELS)
    assert f"any({', '.join(OPERATIONS)})" == STEP_OPS


def test_every_state_has_a_full_row_beside_the_transitions():
    """Adding a state is the model's enum and its row in workflow.py: a missing row fails here,
    not on every page that shows the request."""
    from app.services.review.workflow import OPEN_STATES, STATES, TRANSITIONS, WORKING_STATE

    assert set(STATES) == set(ReviewState)
    assert all(facts.waiting_for for facts in STATES.values())
    reached = {t.target for t in TRANSITIONS.values()} | {s for t in TRANSITIONS.values() for s in t.sources}
    assert reached == set(ReviewState)  # every state is reached and left (or is the end) by a step
    assert set(WORKING_STATE) == set(Capacity)
    assert ReviewState.CLOSED not in OPEN_STATES
