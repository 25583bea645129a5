"""The security scans ``make test`` runs: a static scan of the code (bandit) and a scan of the
pinned dependencies against a vulnerability database (pip-audit).

Bandit's findings fail the run. A known vulnerability in a dependency fails the run. A
vulnerability database that cannot be reached (an offline machine, a proxy that answers
"not found") is said plainly and does not fail the run by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def static_scan() -> bool:
    result = subprocess.run(
        [str(BIN / "bandit"), "-r", "app", "-q"], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        print("security scan: bandit found issues in app/:")
        print(result.stdout or result.stderr)
        return False
    print("security scan: bandit found no issue in app/.")
    return True


def dependency_scan() -> bool:
    result = subprocess.run(
        [str(BIN / "pip-audit"), "-r", "requirements.txt", "--format", "json", "--progress-spinner", "off"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1][:200]
        print(f"security scan: the vulnerability database could not be reached ({reason}).")
        print("security scan: dependencies NOT checked.")
        return True
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"security scan: {dependency['name']} {dependency['version']} has known vulnerabilities: {ids}")
    checked = len(dependencies) - len(skipped)
    if dependencies and checked == 0:
        print(
            f"security scan: the vulnerability database did not know any of the {len(dependencies)} "
            "dependencies (offline or a mirror); dependencies NOT checked."
        )
    elif not vulnerable:
        print(
            f"security scan: {checked} dependencies checked, no known vulnerability; {len(skipped)} unknown."
        )
    return not vulnerable


if __name__ == "__main__":
    ok = static_scan()
    ok = dependency_scan() and ok
    sys.exit(0 if ok else 1)
