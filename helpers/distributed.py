"""Start training scripts on several JAX devices or processes, and collect what they print.

Notebook 10 writes a training script; these functions run it in fresh Python processes (a
process fixes its JAX devices when JAX is first imported), so the notebook's own kernel is
never changed. The script takes ``--processes``, ``--process-id`` and ``--coordinator``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TIMEOUT_S = 600  # a process that has not finished by then is stopped (a stuck peer, say)


class DistributedError(RuntimeError):
    """A training process could not start or finish; the message names the cause and the fix."""


def require_jax() -> None:
    """Raise DistributedError unless JAX is installed (keras.distribution runs on JAX)."""
    if importlib.util.find_spec("jax") is None:
        raise DistributedError(
            "JAX is not installed, and keras.distribution needs it (TensorFlow users: see "
            "tf.distribute). Install it with `pip install -e '.[jax]'` or rerun `make setup`."
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_port(port: int) -> None:
    """Raise DistributedError if ``port`` on 127.0.0.1 is taken."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise DistributedError(
                f"Port {port} on 127.0.0.1 is in use (another program, or the coordinator of "
                "an earlier run still alive). Choose another port, or leave it to free_port()."
            ) from None


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_processes(
    script: Path,
    processes: int = 2,
    devices_per_process: int = 1,
    arguments: Sequence[str] = (),
    port: int | None = None,
    timeout: float = TIMEOUT_S,
) -> list[str]:
    """Run ``processes`` copies of ``script arguments`` as the hosts of one job on this machine,
    each with ``devices_per_process`` CPU devices; return each one's standard output, in order.

    If one fails, the others are stopped (they would wait for it forever) and the error says
    which one and how it ended; so does a job still running after ``timeout`` seconds.
    """
    require_jax()
    port = port or free_port()
    check_port(port)
    environment = os.environ | {
        "KERAS_BACKEND": "jax",
        "JAX_NUM_CPU_DEVICES": str(devices_per_process),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    job = ["--processes", str(processes), "--coordinator", f"127.0.0.1:{port}"]
    with contextlib.ExitStack() as files:  # each process's output and errors, until read
        logs = [files.enter_context(tempfile.TemporaryFile("w+")) for _ in range(processes)]
        errors = [files.enter_context(tempfile.TemporaryFile("w+")) for _ in range(processes)]
        started = [
            subprocess.Popen(
                [sys.executable, str(script), *arguments, *job, "--process-id", str(i)],
                stdout=logs[i],
                stderr=errors[i],
                env=environment,
                text=True,
            )
            for i in range(processes)
        ]

        def failure(i: int, note: str = "") -> DistributedError:
            errors[i].seek(0)
            return DistributedError(
                f"Process {i} of {processes} exited with code {started[i].returncode}{note}. "
                f"Its last error lines:\n{errors[i].read()[-1500:]}"
            )

        deadline = time.monotonic() + timeout
        try:
            while True:
                codes = [process.poll() for process in started]  # None: still running
                if None not in codes:
                    break
                failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
                if failed:  # its peers would wait for it until their own timeouts
                    raise failure(failed[0], "; the others were stopped")
                if time.monotonic() > deadline:
                    raise DistributedError(
                        f"The job was still running after {timeout:.0f} s and was stopped; a "
                        "process may be waiting for a peer that never came. Raise `timeout` "
                        "if training is simply slow on this machine."
                    )
                time.sleep(0.2)
        finally:
            _stop(started)
        failed = [i for i, p in enumerate(started) if p.returncode != 0]
        if failed:
            raise failure(failed[0])
        for log in logs:
            log.seek(0)
        return [log.read() for log in logs]


def run_on_devices(
    script: Path, devices: int, arguments: Sequence[str] = (), timeout: float = TIMEOUT_S
) -> str:
    """Run ``script arguments`` in one process that sees ``devices`` CPU devices; its output."""
    return run_processes(script, 1, devices, arguments, timeout=timeout)[0]
