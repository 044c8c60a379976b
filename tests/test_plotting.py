"""helpers.plotting: the model drawing needs no Graphviz and shows every layer."""

import keras
import matplotlib

matplotlib.use("Agg")

from helpers import data, modeling, plotting  # noqa: E402


def small_model() -> keras.Model:
    tokens = keras.Input((8,), dtype="int32", name="token_ids")
    shared = keras.layers.Dense(4, name="shared")(
        keras.layers.GlobalAveragePooling1D(name="average")(
            keras.layers.Embedding(20, 3, name="embedding")(tokens)
        )
    )
    heads = {name: keras.layers.Dense(1, name=name)(shared) for name in ("water", "food")}
    return keras.Model(tokens, heads, name="two_heads")


def test_layer_inputs_follow_the_graph_and_skip_mask_ops():
    model = modeling.build_multi_output_model(30, 8, embedding_dim=4, rnn_units=2, dense_units=4)
    inputs = plotting.layer_inputs(model)
    assert inputs["embedding"] == ["token_ids"] and inputs["token_ids"] == []
    assert inputs["bilstm"] == ["embedding_dropout"]  # its mask comes from an op, not a layer
    assert all(inputs[label] == ["shared_dense"] for label in data.LABELS)


def test_plot_model_draws_every_layer_in_a_figure(tmp_path):
    figure = plotting.plot_model(small_model())
    texts = [t.get_text() for t in figure.axes[0].texts]
    for name in ("token_ids", "embedding", "average", "shared", "water", "food"):
        assert any(t.startswith(name + "\n") for t in texts), name
    figure.savefig(tmp_path / "model.png")
    assert (tmp_path / "model.png").stat().st_size > 5_000


def test_many_heads_are_drawn_as_one_group():
    model = modeling.build_multi_output_model(30, 8, embedding_dim=4, rnn_units=2, dense_units=4)
    texts = [t.get_text() for t in plotting.plot_model(model).axes[0].texts]
    assert "36 heads, each reading shared_dense" in texts
    assert sum(t.split("\n")[0] in data.LABELS for t in texts) == 36
