"""An environment for the production configuration, in a scratch folder."""

from __future__ import annotations

STRONG_SECRET = "4f1c9e07b2d85a36c0e9f71b4d2a6c83e5b07f19a2c4d6e8f0a1b3c5d7e9f2a4"


def production_env(monkeypatch, tmp_path, **overrides):
    """Everything production needs, each overridable to "" to leave it out."""
    key_file = tmp_path / "secrets" / "checkpoint.key"
    values = {
        "LEADDESK_SECRET_KEY": STRONG_SECRET,
        "LEADDESK_TRUSTED_HOSTS": '["leaddesk.example"]',
        "LEADDESK_AUDIT_CHECKPOINT_KEY_FILE": str(key_file),
        "LEADDESK_UNIT_CONTACT": "frunit@county.example",
        "LEADDESK_UNIT_AGENCY_NAME": "The County Sheriff's Department",
        **overrides,
    }
    for name, value in values.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
