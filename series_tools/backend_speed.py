"""Which Keras backend trains notebook 05's BiLSTM faster on this machine?

``python -m series_tools backends`` answers it (a measurement, not a lesson: notebook 05 says
what differs between backends and leaves the stopwatch here). Keras picks its backend once per
process, when it is first imported, so each backend is timed in a fresh process:
``KERAS_BACKEND=jax python -m series_tools.backend_speed 4000 128 42 null`` prints one JSON
line. Every run uses the same messages, architecture, batch size and seed, and the compile
setting that suits the backend (``modeling.jit_compile``) unless told otherwise; the timed
epoch comes after a warm-up epoch, which also pays for building (TensorFlow) or compiling
(XLA) the training step.
"""

from __future__ import annotations

import json
import sys
import time

import keras
import numpy as np

from helpers import data, modeling, session, text


def epoch_speed(
    backend: str, sample_size: int, batch_size: int = 128, seed: int = 42, xla: bool | None = None
) -> dict:
    """Time one epoch on ``backend`` in a separate Python process (``xla``: force XLA on or
    off; None: the backend's own setting); its measurement as a dict."""
    arguments = [str(sample_size), str(batch_size), str(seed), json.dumps(xla)]
    output = session.run_module(
        "series_tools.backend_speed", arguments, backend, f"timing the {backend} backend"
    )
    return json.loads(output.strip().splitlines()[-1])


def measure(sample_size: int, batch_size: int, seed: int, xla: bool | None = None) -> dict:
    """One warm-up epoch, then one timed epoch, of a fresh BiLSTM on ``sample_size`` training
    messages (its vocabulary adapted on them)."""
    keras.utils.set_random_seed(seed)
    train = data.load_splits().train.sample(sample_size, random_state=seed)
    cleaned = text.clean_texts(train["message"])
    vectorizer = text.build_vectorizer(cleaned)
    x, y = np.asarray(vectorizer(cleaned)), modeling.targets(train)
    model = modeling.compile_model(
        modeling.build_multi_output_model(len(vectorizer.get_vocabulary()), text.SEQUENCE_LENGTH),
        xla=xla,
    )
    started = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - started
    return {
        "backend": keras.backend.backend(),
        "jit_compile": modeling.jit_compile() if xla is None else xla,
        "warm_up_seconds": round(warm_up, 1),
        "epoch_seconds": round(seconds, 1),
        "samples_per_second": round(sample_size / seconds),
    }


def compare(sample_size: int, batch_size: int) -> list[dict]:
    """Time TensorFlow (plain graph and XLA) and, when installed, JAX; print a small table."""
    import importlib.util

    settings = [("tensorflow", None), ("tensorflow", True)]
    if importlib.util.find_spec("jax"):
        settings.append(("jax", None))
    rows = []
    for backend, xla in settings:
        row = epoch_speed(backend, sample_size, batch_size, xla=xla)
        print(
            f"{row['backend']:>10}, jit_compile={str(row['jit_compile']):<5}: first epoch "
            f"{row['warm_up_seconds']:6.1f} s, then {row['epoch_seconds']:5.1f} s per epoch "
            f"({row['samples_per_second']:,} samples/s)",
            flush=True,
        )
        rows.append(row)
    return rows


if __name__ == "__main__":
    sample_size, batch_size, seed = (int(arg) for arg in sys.argv[1:4])
    print(json.dumps(measure(sample_size, batch_size, seed, json.loads(sys.argv[4]))))
