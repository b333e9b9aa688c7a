"""Kernels forked from the warm process (scripts/warm_kernels.py) must be indistinguishable from
the standard kernel to a notebook: same outputs, same directory, environment and import path, and
no kernel left behind when Jupyter kills it."""
from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from scripts import warm_kernels
from scripts.notebooks import _stable

ROOT = Path(__file__).resolve().parent.parent
HANG_GUARD_S = 300  # far above any honest time: only a hung kernel reaches it

pytestmark = pytest.mark.skipif(not warm_kernels.available(), reason="warm kernels need fork (POSIX)")

PROBE = """\
import json, os, sys
print(json.dumps({"cwd": os.getcwd(), "probe": os.environ.get("ATLAS_PROBE"), "first_path": sys.path[:1],
                  "argv0": os.path.basename(sys.argv[0]), "importable_here": __import__("importlib").util.find_spec("_setup") is not None}))"""

FIGURE = """\
import torch
import matplotlib.pyplot as plt
torch.manual_seed(0)
weights = torch.softmax(torch.randn(4, 4), dim=-1)
print(weights)
fig, ax = plt.subplots(figsize=(2, 2))
ax.imshow(weights)
plt.show()"""


def _run(cells: list[str], manager_class, cwd: Path, timeout: int = HANG_GUARD_S, env: dict | None = None):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, timeout=timeout, startup_timeout=HANG_GUARD_S, kernel_name="python3",
                            kernel_manager_class=manager_class, resources={"metadata": {"path": str(cwd)}})
    client.execute(**({"env": env} if env else {}))
    _stable(notebook)
    return notebook


def _fresh():
    from jupyter_client import KernelManager
    return KernelManager


def _warm():
    warm_kernels.start()
    manager = warm_kernels.kernel_manager_class()
    assert manager.__name__ == "WarmKernelManager", "the zygote started"
    return manager


def test_a_warm_kernel_gives_the_standard_kernels_outputs(monkeypatch):
    monkeypatch.setenv("ATLAS_PROBE", "seen")
    mechanisms = ROOT / "docs" / "mechanisms"
    fresh = _run([PROBE, FIGURE], _fresh(), mechanisms)
    warm = _run([PROBE, FIGURE], _warm(), mechanisms)
    assert [c.outputs for c in warm.cells] == [c.outputs for c in fresh.cells]
    assert '"probe": "seen"' in warm.cells[0].outputs[0]["text"]
    assert '"importable_here": true' in warm.cells[0].outputs[0]["text"], "the notebook's folder is on the path"
    assert any("image/png" in o.get("data", {}) for o in warm.cells[1].outputs), "the inline backend shows figures"


def test_a_warm_kernel_starts_with_torch_loaded_and_a_changed_thread_setting_gets_a_fresh_one():
    check = "import sys; print('torch' in sys.modules)"
    manager = _warm()
    # Launched with the variables the zygote imported under (another test in this process may have
    # changed os.environ since it started, which rightly gets a fresh kernel).
    same = {name: value for name, value in os.environ.items() if not name.startswith(warm_kernels.IMPORT_TIME_ENV)}
    same.update(warm_kernels.zygote_import_env)
    warm = _run([check], manager, ROOT, env=same)
    assert warm.cells[0].outputs[0]["text"].strip() == "True"
    env = dict(same, OMP_NUM_THREADS="1" if same.get("OMP_NUM_THREADS") != "1" else "2")
    fresh = _run([check], _warm(), ROOT, env=env)
    assert fresh.cells[0].outputs[0]["text"].strip() == "False", "torch read OMP_NUM_THREADS at import"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_killed_warm_kernel_leaves_no_process_behind():
    outputs = []
    manager = _warm()(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=HANG_GUARD_S)
        reply = client.execute_interactive("import os; print(os.getpid())", timeout=HANG_GUARD_S,
                                           output_hook=lambda msg: outputs.append(msg))
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok"
    pid = int(next(m["content"]["text"] for m in outputs if m["msg_type"] == "stream"))
    manager.shutdown_kernel(now=True)  # SIGKILL to the process Jupyter launched
    deadline = time.monotonic() + HANG_GUARD_S
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid), f"kernel {pid} outlived its client"



@pytest.mark.parametrize("manager_class", [warm_kernels._local_kernel_manager, _warm], ids=["fresh", "warm"])
def test_kernels_started_at_once_from_one_folder_each_have_their_own_channels(manager_class):
    """A kernel's channels are Unix sockets under a name of its manager's own, absolute. (TCP ports
    picked by binding port 0 and letting go can be taken by another build's kernel starting at
    the same moment; jupyter_client's IPC default name is relative and shared by a folder.)"""
    from concurrent.futures import ThreadPoolExecutor

    manager = manager_class()
    managers = [manager(kernel_name="python3") for _ in range(3)]
    assert {m.transport for m in managers} == {"ipc"}
    assert all(os.path.isabs(m.ip) for m in managers) and len({m.ip for m in managers}) == 3
    cells = ["import os; print(os.getpid() > 0, 6 * 7)"]
    with ThreadPoolExecutor(3) as pool:
        notebooks = list(pool.map(lambda _: _run(cells, manager, ROOT), range(3)))
    assert [nb.cells[0].outputs[0]["text"] for nb in notebooks] == ["True 42\n"] * 3
