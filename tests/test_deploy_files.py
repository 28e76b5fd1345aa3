"""The deployment files pass their schemas, checked offline since no Docker engine or
Kubernetes cluster is here to run them: the Kubernetes manifests with kubernetes-validate
(the API's schemas, strict: no unknown fields), docker-compose.yml with check-jsonschema's
copy of the compose specification."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def check(*command: str) -> str:
    done = subprocess.run([str(BIN / command[0]), *command[1:]], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_kubernetes_manifests_pass_the_api_schemas():
    manifests = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
    out = check("kubernetes-validate", "--strict", *map(str, manifests))
    assert manifests and out.count(" passed for resource ") == sum(
        p.read_text().count("\nkind: ") + p.read_text().startswith("kind: ") for p in manifests), out


def test_the_compose_file_passes_the_compose_specification():
    check("check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml"))
