"""The setup cell's helper: quiet TensorFlow, but only where its warning is a false alarm."""

import logging

import tensorflow as tf

from helpers import session


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, message, None, None)


def test_only_the_cross_model_retracing_warning_is_dropped():
    retracing = _record("5 out of the last 9 calls to <function f> triggered tf.function retracing")
    other = _record("Gradients do not exist for variables")
    assert session.not_a_cross_model_retracing_warning in tf.get_logger().filters
    assert not session.not_a_cross_model_retracing_warning(retracing)
    assert session.not_a_cross_model_retracing_warning(other)
