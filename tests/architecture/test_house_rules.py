"""The house rules, checked by reading the code: each rule and side effect has one home.

- a view validates, calls a service, commits and redirects: no view over 30 lines;
- a service module stays small enough to read (400 lines);
- dlib (and ONNX Runtime, which runs its network) is imported only under app/matching/;
- a request's state (status, review_state) is assigned only by the transition function;
- nothing below the web layer touches Flask's request globals.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
MAX_VIEW_LINES = 30
MAX_SERVICE_LINES = 400


def sources(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text("utf-8"))


def is_view(node) -> bool:
    return any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "route"
        for d in node.decorator_list
    )


def test_no_view_is_over_thirty_lines():
    long = []
    for path, tree in sources(APP / "blueprints"):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and is_view(node):
                length = node.end_lineno - node.body[0].lineno + 1
                if length > MAX_VIEW_LINES:
                    long.append(f"{path.relative_to(APP)}:{node.name} ({length} lines)")
    assert long == []


def test_no_service_module_is_over_four_hundred_lines():
    long = [
        f"{path.relative_to(APP)} ({len(path.read_text().splitlines())} lines)"
        for path in sorted((APP / "services").rglob("*.py"))
        if len(path.read_text().splitlines()) > MAX_SERVICE_LINES
    ]
    assert long == []


FACE_LIBRARIES = {"dlib", "onnx", "onnxruntime"}  # the recogniser and who runs its network


def test_dlib_is_imported_only_in_matching():
    importers = []
    for path, tree in sources(APP):
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if (
                any(n.split(".")[0] in FACE_LIBRARIES for n in names)
                and "matching" not in path.relative_to(APP).parts
            ):
                importers.append(str(path.relative_to(APP)))
    assert importers == []


def test_state_is_assigned_only_by_the_transition_function():
    assignments = []
    for path, tree in sources(APP):
        if path.name == "workflow.py":
            continue
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign | ast.AnnAssign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in ("status", "review_state"):
                    assignments.append(f"{path.relative_to(APP)}:{node.lineno}")
            if (
                isinstance(node, ast.keyword)
                and node.arg in ("status", "review_state")
                and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id in ("RequestStatus", "ReviewState")
            ):
                assignments.append(f"{path.relative_to(APP)}:{node.value.lineno} (keyword)")
    assert assignments == []


def test_services_and_matching_never_touch_the_request_globals():
    offenders = []
    for folder in ("services", "matching", "documents"):
        for path, tree in sources(APP / folder):
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("flask", "flask_login")
                ):
                    touched = {a.name for a in node.names} & {
                        "request",
                        "g",
                        "session",
                        "current_user",
                        "flash",
                    }
                    if touched:
                        offenders.append(f"{path.relative_to(APP)}: {sorted(touched)}")
    assert offenders == []


def test_matching_is_free_of_flask():
    offenders = []
    for path, tree in sources(APP / "matching"):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "flask",
                "flask_sqlalchemy",
            ):
                offenders.append(str(path.relative_to(APP)))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                ("app.services", "app.models", "app.blueprints")
            ):
                offenders.append(str(path.relative_to(APP)))
    assert offenders == []


GROUPS = {
    "identity",
    "intake",
    "policy",
    "review",
    "gallery",
    "reports",
    "oversight",
    "notify",
    "interconnect",
    "platform",
}


def test_services_live_in_their_groups_and_platform_stands_alone():
    """app/services/ holds the groups only (each a package with its docstring); nothing of the
    domain imports the web or the CLI; `platform` imports no other group."""
    services = APP / "services"
    loose = sorted(p.name for p in services.glob("*.py") if p.name != "__init__.py")
    assert loose == [], "a service module belongs in a group: " + ", ".join(loose)
    packages = {p.name for p in services.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert packages == GROUPS
    for group in GROUPS:
        assert ast.get_docstring(ast.parse((services / group / "__init__.py").read_text("utf-8"))), group
    for path, tree in sources(services):
        imported = [
            node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        ] + [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        up = [m for m in imported if m.startswith(("app.blueprints", "app.cli", "app.security"))]
        assert up == [], f"{path.relative_to(APP)} imports up: {up}"
        if path.parent.name == "platform":
            sideways = [
                m
                for m in imported
                if m.startswith("app.services.") and not m.startswith("app.services.platform")
            ]
            assert sideways == [], f"{path.relative_to(APP)}: platform stands alone, imports {sideways}"
