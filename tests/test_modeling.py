"""helpers.modeling: head names and shapes, one loss per head, a training step on tiny data."""

import keras
import numpy as np
import pandas as pd
import pytest

from helpers import data, modeling, session
from series_tools import backend_speed, runner

pytestmark = pytest.mark.xdist_group("modeling")  # one worker builds the shared models once

VOCAB, LENGTH = 50, 8


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return modeling.build_multi_output_model(
        VOCAB, LENGTH, embedding_dim=8, rnn_units=4, dense_units=8
    )


def tiny_frame(n: int = 16) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({label: rng.integers(0, 2, n) for label in data.BINARY_LABELS})
    frame["related"] = rng.integers(0, 3, n)
    return frame


def test_heads_are_named_after_the_labels_with_the_right_shapes(model):
    assert sorted(model.output_names) == sorted(data.LABELS)  # Keras sorts dict outputs by key
    outputs = model(np.ones((2, LENGTH), dtype="int32"))
    assert set(outputs) == set(data.LABELS)
    assert all(outputs[label].shape == (2, 1) for label in data.BINARY_LABELS)
    assert outputs["related"].shape == (2, 3)
    assert np.allclose(np.asarray(outputs["related"]).sum(axis=1), 1.0, atol=1e-5)


def test_one_loss_per_head():
    losses = modeling.head_losses()
    assert list(losses) == list(data.BINARY_LABELS) + ["related"]
    assert isinstance(losses["related"], keras.losses.SparseCategoricalCrossentropy)
    assert all(
        isinstance(losses[label], keras.losses.BinaryCrossentropy) for label in data.BINARY_LABELS
    )


def test_a_missing_or_orphaned_loss_is_refused(model):
    losses = modeling.head_losses()
    del losses["shops"]
    with pytest.raises(ValueError, match=r"heads without a loss: \['shops'\]"):
        modeling.check_one_loss_per_head(model, losses)
    with pytest.raises(ValueError, match=r"losses without a head: \['typo'\]"):
        modeling.check_one_loss_per_head(model, {**modeling.head_losses(), "typo": "mse"})


def test_targets_are_keyed_by_head():
    y = modeling.targets(tiny_frame())
    assert set(y) == set(data.LABELS)
    assert y["water"].shape == (16, 1) and y["water"].dtype == np.float32
    assert y["related"].shape == (16,) and y["related"].dtype == np.int32


@pytest.fixture(scope="module")
def trained(model):
    """One short training of the 36-head model as the notebooks run it, shared by the tests
    below (building each training graph of 36 heads takes TensorFlow about 20 s)."""
    frame = tiny_frame()
    x = np.random.default_rng(1).integers(1, VOCAB, (len(frame), LENGTH)).astype("int32")
    modeling.compile_model(model, loss_weights={label: 1.0 for label in data.LABELS})
    before = [w.copy() for w in model.get_weights()]
    progress = modeling.CompactProgress(x, frame)
    history = model.fit(
        x, modeling.targets(frame), epochs=1, batch_size=16, verbose=0, callbacks=[progress]
    )
    return {"before": before, "history": history.history, "x": x, "frame": frame}


def test_compiles_and_trains_one_step_on_tiny_data(model, trained):
    history = trained["history"]
    assert np.isfinite(history["loss"][0])
    assert {"water_loss", "related_loss"} <= set(history)
    changed = zip(trained["before"], model.get_weights(), strict=True)
    assert any(not np.array_equal(a, b) for a, b in changed)


def test_compact_progress_feeds_validation_f1_to_the_logs(trained):
    assert {"val_macro_f1", "val_macro_pr_auc"} <= set(trained["history"])


def test_compact_progress_prints_one_line_per_epoch(model, capsys):
    frame = tiny_frame()
    progress = modeling.CompactProgress(np.zeros((len(frame), LENGTH), "int32"), frame)
    progress.set_model(model)
    progress.on_epoch_begin(0)
    progress.on_epoch_end(0, {"loss": 1.5, "val_loss": 1.25})
    progress.every_epoch = False
    progress.on_epoch_end(1, {"loss": 1.0})
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("epoch  1 · loss 1.500 · val_loss 1.250")


def test_fit_with_early_stopping_trains_logs_and_times(model, trained, capsys):
    """Continues the shared training (the compiled graph is reused)."""
    x, frame = trained["x"], trained["frame"]
    run = modeling.fit_with_early_stopping(
        model, x, modeling.targets(frame), x, frame, epochs=2, batch_size=16, patience=1,
        validation_loss=False,
    )  # fmt: skip
    assert run["train_seconds"] > 0 and 1 <= run["best_epoch"] <= run["epochs_run"] <= 2
    assert run["stopped_early"] == (run["epochs_run"] < 2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert 1 <= len(lines) <= 2 and all(
        "val macro_pr_auc" in line and "val_loss" not in line for line in lines
    )


def trained_weights(seed: int) -> list[np.ndarray]:
    """Two heads on notebook 05's trunk (dropout included): the seed's promise does not depend
    on the number of heads, and two trace in a fraction of the time of 36."""
    session.seed_everything(seed)
    tokens = keras.Input((LENGTH,), dtype="int32")
    x = keras.layers.Embedding(VOCAB, 8, mask_zero=True)(tokens)
    x = keras.layers.SpatialDropout1D(0.2)(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(4))(x)
    x = keras.layers.Dropout(0.3)(x)
    heads = {
        "water": keras.layers.Dense(1, activation="sigmoid", name="water")(x),
        "related": keras.layers.Dense(3, activation="softmax", name="related")(x),
    }
    fresh = keras.Model(tokens, heads)
    losses = modeling.head_losses()
    modeling.compile_model(fresh, {name: losses[name] for name in heads})
    frame = tiny_frame(64)
    x = np.random.default_rng(3).integers(1, VOCAB, (len(frame), LENGTH)).astype("int32")
    y = {name: target for name, target in modeling.targets(frame).items() if name in heads}
    fresh.fit(x, y, epochs=2, batch_size=16, verbose=0)
    return fresh.get_weights()


def test_training_twice_with_the_same_seed_gives_identical_weights():
    """What session.start promises on TensorFlow: same seed, same machine, same numbers
    (initial weights, dropout masks and shuffling included)."""
    first, second = trained_weights(42), trained_weights(42)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_epoch_speed_runs_in_a_process_of_the_backend_asked_for(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", runner.XLA_QUICK)  # compiles faster; the timing is not judged
    measured = backend_speed.epoch_speed("jax", sample_size=64, batch_size=32)
    assert measured["backend"] == "jax" and measured["jit_compile"] == "auto"
    assert measured["epoch_seconds"] > 0 and measured["samples_per_second"] > 0


def test_epoch_speed_reports_a_backend_that_fails():
    with pytest.raises(RuntimeError, match="timing the no_such_backend backend failed"):
        backend_speed.epoch_speed("no_such_backend", sample_size=64)


def test_run_eagerly_compiles_without_a_graph_or_xla():
    tokens = keras.Input((LENGTH,), dtype="int32")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(VOCAB, 4)(tokens))
    eager = modeling.compile_model(
        keras.Model(tokens, modeling.output_heads(pooled)), run_eagerly=True
    )
    assert eager.run_eagerly and not eager.jit_compile
