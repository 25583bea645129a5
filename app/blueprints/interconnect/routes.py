"""The interconnect's API, for peer units only (mutual TLS; JSON): a search of this unit's
repository, the record of a candidate a peer's reviewer concluded on, the seals a peer must
know. Each answer is one unit of work; a refusal is audited and answered with its reason."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from app.blueprints.common import perform
from app.security.access import peer_unit_required
from app.services.interconnect import answering, peers, wire
from app.services.platform.errors import NotFound

bp = Blueprint("interconnect", __name__)

STATUS = ((wire.Invalid, 400), (NotFound, 404), (answering.SealedHere, 410), (peers.RateExceeded, 429))


def _answer(action):
    done = perform(action, flash_error=False)
    if done.ok:
        return jsonify(done.value)
    status = next((code for kind, code in STATUS if isinstance(done.error, kind)), 403)
    body = {"protocol": wire.PROTOCOL, "error": done.error.message}
    if status == 410:
        body["sealed"] = True
    return jsonify(body), status


@bp.route("/v1/search", methods=["POST"])
@peer_unit_required
def search():
    return _answer(lambda: answering.answer_search(g.peer, request.get_json(silent=True)))


@bp.route("/v1/candidates/<reference>/reveal", methods=["POST"])
@peer_unit_required
def reveal(reference: str):
    return _answer(lambda: answering.answer_reveal(g.peer, reference, request.get_json(silent=True)))


@bp.route("/v1/seals")
@peer_unit_required
def seals():
    return _answer(lambda: answering.answer_seals(g.peer))
