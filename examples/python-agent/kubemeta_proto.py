"""The kubemeta v1 messages for Python, generated from proto/ with protoc at start.

The `_pb2.py` modules are generated into a temporary directory every time the agent starts
(about 0.1 s) instead of being committed:
- they are always in step with proto/kubemeta/v1 (nothing to regenerate or check in CI);
- they come from the protoc installed beside python3-protobuf (both Debian packages of the
  same release), so generated code and runtime library always match; a committed file made by
  another protoc version can fail to import ("Descriptors cannot be created directly").
An agent shipped without the repository would instead generate them in its build.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

SETUP_HINT = "run scripts/setup.sh (on Debian: apt-get install python3-protobuf protobuf-compiler)"


def load(proto_dir: Path) -> SimpleNamespace:
    """Generates and imports the kubemeta.v1 modules; returns them as pb.updates, pb.replay, …"""
    try:
        import google.protobuf  # noqa: F401  (checked first: the clearest message)
    except ImportError:
        sys.exit(f"python3-protobuf is missing: {SETUP_HINT}")
    if shutil.which("protoc") is None:
        sys.exit(f"protoc is missing: {SETUP_HINT}")
    sources = sorted((proto_dir / "kubemeta" / "v1").glob("*.proto"))
    if not sources:
        sys.exit(f"no .proto files under {proto_dir}/kubemeta/v1 (give --proto-dir)")
    out = tempfile.mkdtemp(prefix="kubemeta-pb2-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    done = subprocess.run(
        ["protoc", f"-I{proto_dir}", f"--python_out={out}", *map(str, sources)],
        capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"protoc failed:\n{done.stderr}")
    # protoc writes kubemeta/v1/<name>_pb2.py, importing each other as kubemeta.v1.<name>_pb2.
    sys.path.insert(0, out)
    from kubemeta.v1 import agents_pb2, errors_pb2, replay_pb2, resources_pb2, updates_pb2

    return SimpleNamespace(agents=agents_pb2, errors=errors_pb2, replay=replay_pb2,
                           resources=resources_pb2, updates=updates_pb2)
