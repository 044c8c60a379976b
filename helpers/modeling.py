"""The multi-output model of notebook 05: builder, per-head losses and targets, a compact log.

Every dictionary (losses, targets, loss weights, predictions) is keyed by head name, and the
head names are the label names of ``helpers.data``: 35 sigmoid heads and one 3-way softmax.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np
import pandas as pd
from tqdm import tqdm  # a text bar: it also shows in executed notebooks and static pages

from helpers.data import BINARY_LABELS, LABELS, RELATED, RELATED_CLASSES
from helpers.evaluation import binary_matrix, evaluate, macro_pr_auc


def build_multi_output_model(
    vocab_size: int,
    sequence_length: int,
    embedding_dim: int = 64,
    rnn_units: int = 64,
    dense_units: int = 128,
    dropout: float = 0.3,
    name: str = "bilstm",
) -> keras.Model:
    """A shared trunk (Embedding -> bidirectional LSTM -> Dense) and 36 named heads.

    Input: integer token ids of shape (batch, sequence_length), 0 = padding (masked).
    Output: a dict {label: probabilities}: (batch, 1) per binary label, (batch, 3) for related.
    """
    tokens = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(tokens)
    x = keras.layers.SpatialDropout1D(dropout / 2, name="embedding_dropout")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(rnn_units), name="bilstm")(x)
    x = keras.layers.Dropout(dropout, name="trunk_dropout")(x)
    shared = keras.layers.Dense(dense_units, activation="relu", name="shared_dense")(x)
    return keras.Model(tokens, output_heads(shared), name=name)


def output_heads(shared) -> dict[str, keras.KerasTensor]:
    """The 36 named heads on a shared representation: 35 sigmoid units and a 3-way softmax."""
    outputs = {
        label: keras.layers.Dense(1, activation="sigmoid", name=label)(shared)
        for label in BINARY_LABELS
    }
    outputs[RELATED] = keras.layers.Dense(len(RELATED_CLASSES), activation="softmax", name=RELATED)(
        shared
    )
    return {label: outputs[label] for label in LABELS}


def head_losses() -> dict[str, keras.losses.Loss]:
    """One loss per head: binary cross-entropy for each sigmoid, sparse CE for ``related``."""
    losses: dict[str, keras.losses.Loss] = {
        label: keras.losses.BinaryCrossentropy(name=f"{label}_bce") for label in BINARY_LABELS
    }
    losses[RELATED] = keras.losses.SparseCategoricalCrossentropy(name="related_sce")
    return losses


def check_one_loss_per_head(model: keras.Model, losses: Mapping[str, object]) -> None:
    """Raise ValueError unless every output head has exactly one loss and no loss is orphaned."""
    heads = set(model.output_names)
    missing, orphaned = sorted(heads - set(losses)), sorted(set(losses) - heads)
    if missing or orphaned:
        raise ValueError(f"heads without a loss: {missing}; losses without a head: {orphaned}")


def targets(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Training targets keyed by head: (n, 1) floats per binary label, (n,) classes for related."""
    y = {label: frame[label].to_numpy("float32").reshape(-1, 1) for label in BINARY_LABELS}
    y[RELATED] = frame[RELATED].to_numpy("int32")
    return y


def compile_model(
    model: keras.Model,
    losses: Mapping[str, keras.losses.Loss] | None = None,
    loss_weights: Mapping[str, float] | None = None,
    learning_rate: float = 3e-3,
    xla: bool | str | None = None,
    run_eagerly: bool = False,
) -> keras.Model:
    """Compile with one loss per head (checked), optional per-head loss weights and Adam; XLA
    compilation as suits the backend (``jit_compile()``) unless ``xla`` says otherwise;
    ``run_eagerly`` runs each step in Python, untraced (quick mode of notebooks 06 and 08)."""
    losses = dict(losses or head_losses())
    check_one_loss_per_head(model, losses)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=losses,
        loss_weights=dict(loss_weights) if loss_weights else None,
        jit_compile=False if run_eagerly else (jit_compile() if xla is None else xla),
        run_eagerly=run_eagerly,
    )
    return model


def jit_compile() -> bool | str:
    """False on TensorFlow, where XLA costs more than it saves for these models on a CPU (the
    README's `backends` command times both); Keras' "auto" elsewhere: JAX compiles with XLA."""
    return False if keras.backend.backend() == "tensorflow" else "auto"


class CompactProgress(keras.callbacks.Callback):
    """One line per epoch instead of 70+ numbers: losses, validation scores, seconds.

    It adds ``val_macro_pr_auc`` and the series metrics (``val_macro_f1``, ...) to the epoch
    logs, so EarlyStopping and ModelCheckpoint listed after it can monitor them.
    """

    def __init__(
        self,
        x_validation,
        validation_frame: pd.DataFrame,
        batch_size: int = 512,
        every_epoch: bool = True,
        unit: str = "epoch",
        predict: Callable[[keras.Model, Any], Any] | None = None,
    ):
        super().__init__()
        self.x_validation = x_validation
        self.validation_frame = validation_frame
        self.batch_size = batch_size
        self.every_epoch = every_epoch  # False: compute the scores, print nothing
        self.unit = unit  # what one Keras epoch is called in the log ("check": part of a pass)
        self.predict = predict  # predict(model, x_validation); None: model.predict in batches

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs if logs is not None else {}
        if self.predict is not None:
            predictions = self.predict(self.model, self.x_validation)
        else:
            predictions = self.model.predict(self.x_validation, self.batch_size, verbose=0)
        for name, value in evaluate(self.validation_frame, predictions).items():
            logs[f"val_{name}"] = value
        y_true = binary_matrix(self.validation_frame)
        logs["val_macro_pr_auc"] = macro_pr_auc(y_true, binary_matrix(predictions))
        if not self.every_epoch:
            return
        val_loss = f" · val_loss {logs['val_loss']:.3f}" if "val_loss" in logs else ""
        print(
            f"{self.unit} {epoch + 1:>2} · loss {logs['loss']:.3f}{val_loss}"
            f" · val macro_pr_auc {logs['val_macro_pr_auc']:.4f}"
            f" · val macro_f1 {logs['val_macro_f1']:.3f} · val micro_f1 {logs['val_micro_f1']:.3f}"
            f" · {time.perf_counter() - self.started:.0f} s",
            flush=True,
        )


class StepProgress(keras.callbacks.Callback):
    """A text progress bar over the training steps of each epoch (tqdm, no metrics)."""

    def __init__(self, unit: str = "epoch"):
        super().__init__()
        self.unit = unit

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.bar = tqdm(total=self.params["steps"], unit="step", desc=f"{self.unit} {epoch + 1}")

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self.bar.update(1)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.bar.close()


def fit_with_early_stopping(
    model: keras.Model,
    x,
    y: Mapping[str, np.ndarray],
    x_validation,
    validation: pd.DataFrame,
    epochs: int,
    batch_size: int = 128,
    patience: int = 3,
    sample_weight: Mapping[str, np.ndarray] | None = None,
    validation_loss: bool = True,
    every_epoch: bool = True,
) -> dict[str, float]:
    """Train as notebook 05 teaches: one line per epoch, early stopping on validation macro
    PR-AUC with the best weights restored. Returns seconds, epochs run, the best epoch and its
    score, and whether early stopping ended the run.

    ``validation_loss=False`` skips Keras' own validation loss (one graph fewer to build);
    ``every_epoch=False`` prints nothing (the caller prints one line per run).
    """
    started = time.perf_counter()
    history = model.fit(
        x,
        dict(y),
        sample_weight=dict(sample_weight) if sample_weight is not None else None,
        validation_data=(x_validation, targets(validation)) if validation_loss else None,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=[
            CompactProgress(x_validation, validation, every_epoch=every_epoch),
            keras.callbacks.EarlyStopping(
                monitor="val_macro_pr_auc", mode="max", patience=patience, restore_best_weights=True
            ),
        ],
    )
    scores = history.history["val_macro_pr_auc"]
    return {
        "train_seconds": round(time.perf_counter() - started, 1),
        "epochs_run": len(scores),
        "best_epoch": int(np.argmax(scores)) + 1,
        "best_macro_pr_auc": round(float(np.max(scores)), 4),
        "stopped_early": len(scores) < epochs,
    }
