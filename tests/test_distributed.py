"""Starting training scripts as several processes: outputs in order, and clear errors."""

import socket
import time

import pytest

from helpers import distributed

ECHO = """
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--processes", type=int)
parser.add_argument("--process-id", type=int)
parser.add_argument("--coordinator")
parser.add_argument("--greeting")
args = parser.parse_args()
print(args.greeting, args.process_id, args.processes, args.coordinator,
      os.environ["JAX_NUM_CPU_DEVICES"], os.environ["KERAS_BACKEND"])
"""


def script(tmp_path, source: str):
    path = tmp_path / "script.py"
    path.write_text(source)
    return path


def test_each_process_gets_its_id_the_coordinator_and_its_devices(tmp_path):
    outputs = distributed.run_processes(
        script(tmp_path, ECHO), processes=2, devices_per_process=3, arguments=["--greeting=hi"]
    )
    first, second = (output.split() for output in outputs)
    assert first[:3] == ["hi", "0", "2"] and second[:3] == ["hi", "1", "2"]
    assert first[3] == second[3] and first[3].startswith("127.0.0.1:")
    assert first[4:] == ["3", "jax"]


def test_one_process_with_several_devices(tmp_path):
    output = distributed.run_on_devices(script(tmp_path, ECHO), 2, arguments=["--greeting=x"])
    assert output.split()[:3] == ["x", "0", "1"] and output.split()[4] == "2"


def test_a_dead_worker_stops_the_job_instead_of_hanging_it(tmp_path):
    source = (
        "import sys, time\n"
        "if sys.argv[-1] == '1':\n    sys.exit('worker 1 lost its data')\n"
        "time.sleep(600)\n"  # process 0 would wait for its peer
    )
    started = time.monotonic()
    with pytest.raises(distributed.DistributedError) as error:
        distributed.run_processes(script(tmp_path, source), processes=2, timeout=60)
    assert time.monotonic() - started < 30
    assert "Process 1 of 2 exited with code 1; the others were stopped" in str(error.value)
    assert "worker 1 lost its data" in str(error.value)


def test_a_stuck_job_times_out_with_a_message(tmp_path):
    with pytest.raises(distributed.DistributedError, match="still running after 1 s"):
        distributed.run_processes(script(tmp_path, "import time\ntime.sleep(600)\n"), timeout=1)


def test_a_port_in_use_is_named(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(distributed.DistributedError, match=f"Port {port} on 127.0.0.1 is in"):
            distributed.run_processes(script(tmp_path, ECHO), port=port)


def test_without_jax_the_error_says_how_to_install_it(monkeypatch):
    real = distributed.importlib.util.find_spec
    monkeypatch.setattr(
        distributed.importlib.util, "find_spec", lambda name: None if name == "jax" else real(name)
    )
    with pytest.raises(distributed.DistributedError, match=r"pip install -e '\.\[jax\]'"):
        distributed.require_jax()
