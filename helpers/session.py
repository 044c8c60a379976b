"""The setup cell in one call: print the versions and the Keras backend in use, then seed.

The backend is the learner's choice (``KERAS_BACKEND``; TensorFlow when unset). TensorFlow is
imported quietly whatever the backend: TextVectorization and KerasHub's tokenizers run on it as
data steps, outside the trained network, as the Keras guides do for JAX and PyTorch. Notebooks
without a model (00, 02, 03) call ``start(seed, uses_keras=False)`` and load neither.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import platform
import random
import subprocess
import sys
from collections.abc import Iterator

import numpy as np

DEFAULT_SEED = 42
RUNNER_ENV = "SERIES_RESULTS_FILE"  # set by the series runner (make run, the tests) for its kernels


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for a moment.

    TensorFlow 2.21 writes its start-up lines through absl before absl is initialised, which
    ignores TF_CPP_MIN_LOG_LEVEL (fixed upstream in tensorflow PR 102212); Python errors still
    propagate normally.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_keras() -> None:
    """Import TensorFlow and Keras with their start-up log muted, and drop TensorFlow's false
    retracing warning (below); the same modules every later ``import`` gets."""
    with native_stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # probe the devices now, while their log is muted
        import keras  # noqa: F401  its backend (JAX, say) may probe devices too
    if not_a_cross_model_retracing_warning not in tf.get_logger().filters:
        tf.get_logger().addFilter(not_a_cross_model_retracing_warning)


def not_a_cross_model_retracing_warning(record: logging.LogRecord) -> bool:
    """False for TensorFlow's "triggered tf.function retracing" warning, True for the rest.

    TensorFlow counts traces per function *source code*, and every Keras model's predict
    function shares one source; a notebook that loads several models adds up their normal
    first traces and gets warned about "excessive" retracing that is not happening.
    """
    return "triggered tf.function retracing" not in record.getMessage()


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python, NumPy and the backend; on TensorFlow also make ops deterministic, so reruns
    on the same CPU match (checked by the tests on TensorFlow only)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        tf.config.experimental.enable_op_determinism()


def keras_versions() -> dict[str, str]:
    """Keras, its backend and TensorFlow (which the data steps use whatever the backend)."""
    import keras
    import tensorflow as tf

    backend = keras.backend.backend()
    found = {"keras": keras.__version__, "backend": backend, "tensorflow": tf.__version__}
    if backend != "tensorflow":
        found[backend] = importlib.import_module(backend).__version__
    return found


def versions(uses_keras: bool = True) -> dict[str, str]:
    """The versions a learner should quote when asking for help (Keras' if ``uses_keras``)."""
    import matplotlib
    import nltk
    import pandas
    import sklearn

    return (
        {"python": platform.python_version()}
        | (keras_versions() if uses_keras else {})
        | {
            "scikit-learn": sklearn.__version__,
            "pandas": pandas.__version__,
            "matplotlib": matplotlib.__version__,
            "nltk": nltk.__version__,
        }
    )


def start(seed: int = DEFAULT_SEED, uses_keras: bool = True) -> None:
    """Print versions and the backend, and seed everything: the first call of every setup cell.
    ``uses_keras=False`` (a notebook without a model) loads no Keras; it seeds Python and NumPy."""
    if not uses_keras:
        print(" | ".join(f"{name} {version}" for name, version in versions(False).items()))
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002  the generator pandas falls back on, as Keras seeds it
        print(f"No Keras in this notebook; seed {seed} (Python, NumPy)")
        return
    load_keras()
    found = versions()
    print(" | ".join(f"{name} {version}" for name, version in found.items()))
    seed_everything(seed)
    ops = "; deterministic TensorFlow ops on" if found["backend"] == "tensorflow" else ""
    print(f"Keras backend: {found['backend']} (KERAS_BACKEND chooses it); seed {seed}{ops}")


def run_by_the_series() -> bool:
    """Whether the series runner (``make run``, the tests) executes this notebook; False in a
    learner's JupyterLab, whose runs then record nothing and replace nothing the series ships."""
    return bool(os.environ.get(RUNNER_ENV))


def run_module(module: str, arguments: list[str], backend: str, what: str) -> str:
    """``python -m module arguments`` in a fresh process on ``backend`` (a process fixes its
    Keras backend when Keras is first imported); its output, or a RuntimeError naming ``what``
    failed, with the end of its error output."""
    result = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        env=os.environ | {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stderr[-2000:]}")
    return result.stdout
