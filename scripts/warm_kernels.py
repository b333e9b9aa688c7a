"""Notebook kernels forked from a warm process, so a hundred notebook runs import torch once.

Every mechanism notebook imports torch and matplotlib, and a fresh Python kernel spends about
2.5 s of a 2-core machine's time on those imports before its first cell does anything. A cold
build runs each notebook twice (the page and the self-contained download), so half the build was
imports. Here one *warm* process (the zygote) imports them once; each kernel is a fork of it and
starts with them already loaded, as if the notebook's first import had been instant.

The kernel is otherwise the one `python -m ipykernel_launcher` would give: the zygote imports
modules but runs nothing (no torch op, no thread, no CUDA), and the forked child takes the
launching process's working directory, environment, standard streams and `sys.path` rules
(PYTHONPATH first, a `sitecustomize.py` found there is run: the self-contained notebooks'
sandbox depends on it) before ipykernel starts.

How it fits Jupyter: the kernel spec's command is this file run as a script, a small *client*
with only standard-library imports. It hands its argv, directory, environment and streams to the
zygote over a Unix socket, forwards the signals Jupyter sends it (interrupt, terminate) to the
kernel, and exits when the kernel does; the kernel exits when the client dies. Jupyter manages
the client as it would manage a kernel process.

What the zygote imported read the environment once, when it was imported. So only libraries
that a kernel's environment does not change are warmed (not ipykernel, whose options default to
environment variables Jupyter sets per kernel), and when a request's environment differs from the
zygote's in a variable those libraries read (OMP_*, TORCH_*, CUDA_*, …) the client starts a fresh
kernel instead, as it does when the zygote is gone.

POSIX only (fork); elsewhere, or with ATLAS_FRESH_KERNELS=1, `kernel_manager_class()` is the
standard kernel."""
from __future__ import annotations

import functools
import json
import os
import signal
import socket
import sys

SOCKET_ENV = "ATLAS_KERNEL_ZYGOTE"
DISABLE_ENV = "ATLAS_FRESH_KERNELS"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# What a mechanism notebook imports before its first line of its own; importing them does not
# start threads or touch a device, so a fork afterwards is safe.
WARM_MODULES = ("numpy", "torch", "torch.nn", "torch.nn.functional", "matplotlib", "matplotlib.figure",
                "matplotlib.backends.backend_agg")
# Environment variables the warm modules read when imported: a kernel that needs other values
# than the zygote had is started fresh.
IMPORT_TIME_ENV = ("OMP_", "KMP_", "MKL_", "OPENBLAS_", "GOMP_", "TORCH", "PYTORCH_", "CUDA_", "CUBLAS_",
                   "NVIDIA_", "NUMPY_", "MPL", "MATPLOTLIB", "LD_", "PYTHONHASHSEED")
_LENGTH = 8  # bytes of the request's length prefix


# --- the client: Jupyter's "kernel process" (standard library only: it starts in milliseconds) ---

def _receive_line(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(64)
        if not chunk:
            raise ConnectionError("the warm kernel process closed the connection before the kernel started")
        data += chunk
    return data


def _fresh_kernel(argv: list[str]) -> None:
    """Become the standard kernel (same process, so Jupyter sees no difference)."""
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])


def client(argv: list[str]) -> int:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(os.environ[SOCKET_ENV])
        request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        socket.send_fds(connection, [len(request).to_bytes(_LENGTH, "big")], [0, 1, 2])
        connection.sendall(request)
        answer = _receive_line(connection)
    except (KeyError, OSError):  # no zygote (any more): a fresh kernel, slower but the same
        _fresh_kernel(argv)
    if answer == b"fresh\n":
        _fresh_kernel(argv)
    kernel = int(answer)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, lambda received, _frame: os.kill(kernel, received))
    while connection.recv(4096):  # the kernel holds the other end: end of stream is its exit
        pass
    return 0


# --- the zygote ---

def _receive_request(connection: socket.socket) -> tuple[dict, list[int]]:
    prefix, fds, _flags, _address = socket.recv_fds(connection, _LENGTH, 3)
    length = int.from_bytes(prefix, "big")
    data = b""
    while len(data) < length:
        chunk = connection.recv(length - len(data))
        if not chunk:
            raise ConnectionError("request cut short")
        data += chunk
    return json.loads(data), fds


def _import_time_env(env) -> dict[str, str]:
    return {name: value for name, value in env.items() if name.startswith(IMPORT_TIME_ENV) and name != "MPLBACKEND"}


def _exit_when_client_goes(connection: socket.socket) -> None:
    while True:
        try:
            if not connection.recv(4096):
                break
        except OSError:
            break
    os._exit(1)  # Jupyter killed the client (or it died): the kernel must not outlive it


def _become_kernel(connection: socket.socket, request: dict, fds: list[int], base_path: list[str]) -> None:
    """In the forked child: take the client's streams, directory, environment and path; start ipykernel."""
    import importlib
    import importlib.util
    import threading

    import matplotlib

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote ignores it; a kernel's subprocesses need waitpid
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # matplotlib read MPLBACKEND when the zygote imported it; a fresh kernel reads this environment's.
    matplotlib.rcParams["backend"] = os.environ.get("MPLBACKEND", INLINE_BACKEND)
    extra = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = extra + base_path
    if any(os.path.exists(os.path.join(entry, "sitecustomize.py")) for entry in extra):
        sys.modules.pop("sitecustomize", None)
        importlib.import_module("sitecustomize")  # as the interpreter would have at start-up
    connection.sendall(f"{os.getpid()}\n".encode())
    threading.Thread(target=_exit_when_client_goes, args=(connection,), daemon=True).start()
    from ipykernel import kernelapp

    sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *request["argv"]]  # as `-m` sets it
    try:
        kernelapp.launch_new_instance(argv=request["argv"])
    finally:
        os._exit(0)


def serve(path: str) -> None:
    """Import the warm modules, say "ready" on stdout, then fork a kernel per connection until
    stdin closes (the process that started this one has gone)."""
    import importlib
    import selectors

    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as ipykernel sets it before any import
    for module in WARM_MODULES:
        importlib.import_module(module)
    base_path = sys.path[1:]  # without this script's folder, like ipykernel_launcher
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped by the system
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _events in selector.select():
            if key.fileobj is sys.stdin:
                if not sys.stdin.buffer.read1(4096):
                    return
                continue
            connection, _ = listener.accept()
            try:
                request, fds = _receive_request(connection)
            except (OSError, ValueError):
                connection.close()
                continue
            if _import_time_env(request["env"]) != _import_time_env(os.environ):
                connection.sendall(b"fresh\n")
                connection.close()
                for fd in fds:
                    os.close(fd)
                continue
            if os.fork() == 0:
                listener.close()
                selector.close()
                _become_kernel(connection, request, fds, base_path)
            connection.close()
            for fd in fds:
                os.close(fd)


# --- the build's side: start the zygote once, hand nbclient a manager that uses it ---

_zygote = None
# The import-time variables the zygote was started with: a kernel launched with other values is fresh.
zygote_import_env: dict[str, str] = {}


def available() -> bool:
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and not os.environ.get(DISABLE_ENV)


def start(timeout_s: float = 600) -> None:
    """Start the zygote (once per process tree: forked workers inherit it through the environment)."""
    global _zygote, zygote_import_env
    import atexit
    import select
    import subprocess
    import tempfile

    if not available() or os.environ.get(SOCKET_ENV):
        return
    path = os.path.join(tempfile.mkdtemp(prefix="atlas-kernels-"), "zygote.sock")
    zygote = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    # A hang guard, not a budget: the imports take seconds on a busy machine. (No timer thread:
    # parallel_map will not fork a process that has threads.)
    answered, _, _ = select.select([zygote.stdout], [], [], timeout_s)
    if not answered or zygote.stdout.readline().strip() != b"ready":
        zygote.kill()
        return  # the notebooks fall back to fresh kernels
    _zygote = zygote
    zygote_import_env = _import_time_env(os.environ)
    os.environ[SOCKET_ENV] = path
    owner = os.getpid()

    def stop() -> None:
        if os.getpid() == owner:  # not in a forked worker
            zygote.stdin.close()
            zygote.wait()
            os.environ.pop(SOCKET_ENV, None)
            try:
                os.unlink(path)
                os.rmdir(os.path.dirname(path))
            except OSError:
                pass

    atexit.register(stop)


def kernel_manager_class():
    """The KernelManager class for nbclient: kernels forked from the zygote where fork is
    available (starting it on first use), else the standard python3 kernel; both talk to the
    build over Unix sockets where they can."""
    start()
    return _warm_kernel_manager() if os.environ.get(SOCKET_ENV) else _local_kernel_manager()


# A Unix socket's path must fit in sun_path (108 bytes on Linux, 104 on macOS); a kernel's
# sockets are <temp dir>/atlas-kernel-<16 hex>-<n>, 32 bytes after the folder.
_IPC_NAME_BYTES = 32
_SUN_PATH_BYTES = 104


# The classes are made once per process (nbclient asks for one per notebook).
@functools.cache
def _local_kernel_manager():
    """The standard manager, with the kernel's five channels on Unix sockets in the temporary
    folder rather than on TCP ports: a TCP port is picked by binding port 0 and letting it go, and
    on a machine where other builds and test workers start kernels at the same moment another
    process can take it first, and the kernel dies at start-up. (IPC also ends ipykernel's warning
    that the channels are unencrypted TCP.) Where IPC is not available, TCP as before."""
    import tempfile
    import uuid

    from jupyter_client import KernelManager
    from traitlets import default

    folder = tempfile.gettempdir()
    if os.name != "posix" or len(os.fsencode(folder)) + _IPC_NAME_BYTES > _SUN_PATH_BYTES:
        return KernelManager

    class LocalKernelManager(KernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        # The sockets' common prefix. jupyter_client's default is the connection file's name when
        # one is set by then, and else "kernel-ipc", relative to whichever directory each side
        # is in: kernels started from one folder would share it. A name of the manager's own,
        # absolute, is the same for both sides and no one else's.
        @default("ip")
        def _ip_default(self) -> str:
            return os.path.join(folder, f"atlas-kernel-{uuid.uuid4().hex[:16]}")

    return LocalKernelManager


@functools.cache
def _warm_kernel_manager():
    from jupyter_client.kernelspec import KernelSpec

    class WarmKernelManager(_local_kernel_manager()):
        """The standard manager, launching this file's client instead of ipykernel_launcher."""
        @property
        def kernel_spec(self) -> KernelSpec:
            return KernelSpec(argv=[sys.executable, os.path.abspath(__file__), "-f", "{connection_file}"],
                              display_name="Python 3", language="python", interrupt_mode="signal")

    return WarmKernelManager


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    else:
        sys.exit(client(sys.argv[1:]))
