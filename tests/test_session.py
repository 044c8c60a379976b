"""The setup cell's helper: quiet TensorFlow, but only where its warning is a false alarm."""

import logging
import os
import subprocess
import sys

import tensorflow as tf

from helpers import session


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)


def test_only_the_cross_model_retracing_warning_is_dropped():
    retracing = _record("5 out of the last 9 calls to <function f> triggered tf.function retracing")
    other = _record("Gradients do not exist for variables")
    session.load_keras()
    assert session.not_a_cross_model_retracing_warning in tf.get_logger().filters
    assert not session.not_a_cross_model_retracing_warning(retracing)
    assert session.not_a_cross_model_retracing_warning(other)


def test_start_keeps_the_backend_the_learner_chose():
    """KERAS_BACKEND=jax stays jax: helpers only sets TensorFlow when nothing was chosen."""
    command = "from helpers import session; session.start()"
    result = subprocess.run(
        [sys.executable, "-c", command],
        env=os.environ | {"KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Keras backend: jax" in result.stdout and "| jax " in result.stdout


def test_a_notebook_without_a_model_starts_without_keras():
    command = (
        "import sys; from helpers import session; session.start(7, uses_keras=False); "
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", command], capture_output=True, text=True, check=True
    )
    assert "No Keras in this notebook; seed 7" in result.stdout and "keras " not in result.stdout
    assert result.stdout.strip().endswith("[]")
