"""Read a TensorFlow V1 checkpoint (``tf.train.Saver`` with ``write_version=V1``) without TensorFlow.

A V1 checkpoint is one file: an SSTable (the LevelDB table format, as re-implemented in
``tensorflow/core/lib/io/table*``) whose values are ``SavedTensorSlices`` protocol buffers
(``tensorflow/core/util/saved_tensor_slice.proto``):

* the entry under the empty key holds the metadata: for every saved variable its name, shape, dtype and
  the slices that were written;
* every other entry holds one slice of one variable (``SavedSlice``: name, slice extents and a
  ``TensorProto`` with the values, for floats in the packed ``float_val`` field).

Only what such checkpoints need is implemented here: the table footer, index and data blocks (with the
prefix-compressed keys), block trailers (uncompressed or Snappy, CRC32C checked), and a minimal
protobuf wire-format decoder. Written from the public format descriptions; no TensorFlow code.

    >>> from ddc_sm.placement.ddc_checkpoint import read_checkpoint
    >>> tensors = read_checkpoint("model_sp-56000")       # {name: np.ndarray}
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CheckpointError", "read_checkpoint", "read_checkpoint_meta", "TensorMeta"]

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_LEN = 48  # two block handles padded to 40 bytes + 8-byte magic
BLOCK_TRAILER_LEN = 5  # 1 byte compression type + 4 bytes masked CRC32C
NO_COMPRESSION, SNAPPY_COMPRESSION = 0, 1


class CheckpointError(ValueError):
    """The file is not a TensorFlow V1 checkpoint this reader understands."""


# --------------------------------------------------------------------------------------------------
# CRC32C (Castagnoli), as LevelDB masks it
# --------------------------------------------------------------------------------------------------
def _crc32c_table() -> list[int]:
    poly = 0x82F63B78
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _unmask_crc(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# --------------------------------------------------------------------------------------------------
# varints, Snappy
# --------------------------------------------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("varint too long")


def snappy_decompress(buf: bytes) -> bytes:
    """Decompress a raw Snappy block (the format LevelDB/TensorFlow tables use; no framing)."""
    length, pos = _varint(buf, 0)
    out = bytearray()
    n = len(buf)
    while pos < n:
        tag = buf[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            size = tag >> 2
            if size >= 60:
                nbytes = size - 59
                size = int.from_bytes(buf[pos:pos + nbytes], "little")
                pos += nbytes
            size += 1
            out += buf[pos:pos + size]
            pos += size
            continue
        if kind == 1:
            size = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | buf[pos]
            pos += 1
        elif kind == 2:
            size = (tag >> 2) + 1
            offset = int.from_bytes(buf[pos:pos + 2], "little")
            pos += 2
        else:
            size = (tag >> 2) + 1
            offset = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise CheckpointError("corrupt snappy block (bad copy offset)")
        start = len(out) - offset
        for i in range(size):  # copies may overlap their own output
            out.append(out[start + i])
    if len(out) != length:
        raise CheckpointError(f"corrupt snappy block: {len(out)} bytes, expected {length}")
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# SSTable
# --------------------------------------------------------------------------------------------------
def _read_block(data: bytes, offset: int, size: int, verify: bool) -> bytes:
    end = offset + size
    if end + BLOCK_TRAILER_LEN > len(data):
        raise CheckpointError("block handle points past the end of the file")
    contents = data[offset:end]
    ctype = data[end]
    if verify:
        (masked,) = struct.unpack_from("<I", data, end + 1)
        if crc32c(data[offset:end + 1]) != _unmask_crc(masked):
            raise CheckpointError(f"CRC mismatch in block at offset {offset}")
    if ctype == NO_COMPRESSION:
        return contents
    if ctype == SNAPPY_COMPRESSION:
        return snappy_decompress(contents)
    raise CheckpointError(f"unknown block compression type {ctype}")


def _block_entries(block: bytes):
    """Yield (key, value) for every entry of a table block (keys are prefix-compressed)."""
    if len(block) < 4:
        raise CheckpointError("block too short")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise CheckpointError("bad restart count")
    pos = 0
    key = b""
    while pos < limit:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        if shared > len(key):
            raise CheckpointError("bad key prefix")
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        value = block[pos:pos + value_len]
        pos += value_len
        yield key, value


def iter_table(data: bytes, verify: bool = True):
    """Yield (key, value) of every entry of an SSTable held in ``data``, in key order."""
    if len(data) < FOOTER_LEN:
        raise CheckpointError("file too short to be a TensorFlow checkpoint")
    footer = data[-FOOTER_LEN:]
    (magic,) = struct.unpack_from("<Q", footer, 40)
    if magic != TABLE_MAGIC:
        raise CheckpointError("not an SSTable (bad magic): is this a V1 TensorFlow checkpoint?")
    pos = 0
    _meta_off, pos = _varint(footer, pos)
    _meta_size, pos = _varint(footer, pos)
    index_off, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    index = _read_block(data, index_off, index_size, verify)
    for _last_key, handle in _block_entries(index):
        off, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        yield from _block_entries(_read_block(data, off, size, verify))


# --------------------------------------------------------------------------------------------------
# protobuf wire format (just enough)
# --------------------------------------------------------------------------------------------------
def _fields(buf: bytes) -> list[tuple[int, int, object]]:
    """Decode one message level: [(field_number, wire_type, value)]; bytes for length-delimited."""
    out = []
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val = buf[pos:pos + 8]
            pos += 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            val = buf[pos:pos + ln]
            pos += ln
        elif wt == 5:
            val = buf[pos:pos + 4]
            pos += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wt}")
        if pos > n:
            raise CheckpointError("truncated protobuf message")
        out.append((num, wt, val))
    return out


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


# TensorFlow DataType enum values -> numpy dtype, TensorProto field holding the values
_DTYPES = {
    1: (np.float32, 5),   # DT_FLOAT  -> float_val
    2: (np.float64, 6),   # DT_DOUBLE -> double_val
    3: (np.int32, 7),     # DT_INT32  -> int_val
    4: (np.uint8, 7),     # DT_UINT8  -> int_val
    5: (np.int16, 7),     # DT_INT16  -> int_val
    6: (np.int8, 7),      # DT_INT8   -> int_val
    9: (np.int64, 10),    # DT_INT64  -> int64_val
    10: (np.bool_, 11),   # DT_BOOL   -> bool_val
}


def _parse_shape(buf: bytes) -> tuple[int, ...]:  # TensorShapeProto
    dims = []
    for num, _wt, val in _fields(buf):
        if num == 2:  # dim
            size = 0
            for dnum, _dwt, dval in _fields(val):
                if dnum == 1:
                    size = _signed64(dval)
            dims.append(size)
        elif num == 3 and val:
            raise CheckpointError("tensor of unknown rank")
    return tuple(dims)


def _parse_slice(buf: bytes, rank: int) -> list[tuple[int, int | None]]:  # TensorSliceProto
    extents = []
    for num, _wt, val in _fields(buf):
        if num == 1:
            start, length = 0, None
            for enum, _ewt, eval_ in _fields(val):
                if enum == 1:
                    start = _signed64(eval_)
                elif enum == 2:
                    length = _signed64(eval_)
            extents.append((start, length))
    if not extents:  # the full tensor
        extents = [(0, None)] * rank
    if len(extents) != rank:
        raise CheckpointError("slice rank differs from tensor rank")
    return extents


def _tensor_values(buf: bytes, dtype_enum: int) -> np.ndarray:  # TensorProto -> flat array
    np_dtype, value_field = _DTYPES[dtype_enum]
    content = None
    chunks: list[np.ndarray] = []
    for num, wt, val in _fields(buf):
        if num == 4:  # tensor_content: raw little-endian bytes
            content = np.frombuffer(val, dtype=np.dtype(np_dtype).newbyteorder("<"))
        elif num == value_field:
            if value_field == 5:
                chunks.append(np.frombuffer(val, dtype="<f4"))  # packed or a single fixed32
            elif value_field == 6:
                chunks.append(np.frombuffer(val, dtype="<f8"))
            else:  # varints, packed (wt 2) or one at a time (wt 0)
                if wt == 0:
                    ints = [_signed64(val)]
                else:
                    ints, p = [], 0
                    while p < len(val):
                        v, p = _varint(val, p)
                        ints.append(_signed64(v))
                chunks.append(np.asarray(ints, dtype=np.int64))
    if content is not None:
        return content.astype(np_dtype)
    if not chunks:
        return np.zeros(0, dtype=np_dtype)
    return np.concatenate(chunks).astype(np_dtype)


@dataclass
class TensorMeta:
    name: str
    shape: tuple[int, ...]
    dtype: int  # TensorFlow DataType enum
    slices: list = field(default_factory=list)


def _parse_meta(buf: bytes) -> dict[str, TensorMeta]:  # SavedTensorSliceMeta
    metas = {}
    for num, _wt, val in _fields(buf):
        if num != 1:  # 2 = versions
            continue
        name, shape, dtype, slices = "", (), 0, []
        raw_slices = []
        for tnum, _twt, tval in _fields(val):
            if tnum == 1:
                name = tval.decode("utf-8")
            elif tnum == 2:
                shape = _parse_shape(tval)
            elif tnum == 3:
                dtype = tval
            elif tnum == 4:
                raw_slices.append(tval)
        slices = [_parse_slice(s, len(shape)) for s in raw_slices]
        metas[name] = TensorMeta(name, shape, dtype, slices)
    return metas


def _load(path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    return path.read_bytes()


def read_checkpoint_meta(path, verify: bool = True) -> dict[str, TensorMeta]:
    """Names, shapes and dtypes of the variables saved in a V1 checkpoint."""
    for key, value in iter_table(_load(path), verify):
        if key == b"":
            for num, _wt, val in _fields(value):
                if num == 1:
                    return _parse_meta(val)
    raise CheckpointError("checkpoint has no metadata entry")


def read_checkpoint(path, verify: bool = True) -> dict[str, np.ndarray]:
    """Every variable of a TensorFlow V1 checkpoint as ``{name: np.ndarray}`` (TensorFlow's layouts:
    conv kernels are (height, width, in, out), dense weights (in, out))."""
    data = _load(path)
    metas: dict[str, TensorMeta] | None = None
    out: dict[str, np.ndarray] = {}
    filled: dict[str, int] = {}
    for key, value in iter_table(data, verify):
        for num, _wt, val in _fields(value):
            if num == 1 and key == b"":
                metas = _parse_meta(val)
                for m in metas.values():
                    if m.dtype not in _DTYPES:
                        raise CheckpointError(f"unsupported dtype {m.dtype} for {m.name}")
                    out[m.name] = np.zeros(m.shape, dtype=_DTYPES[m.dtype][0])
                    filled[m.name] = 0
            elif num == 2:
                if metas is None:
                    raise CheckpointError("data entry before the metadata entry")
                name, slice_buf, tensor_buf = "", b"", b""
                for snum, _swt, sval in _fields(val):
                    if snum == 1:
                        name = sval.decode("utf-8")
                    elif snum == 2:
                        slice_buf = sval
                    elif snum == 3:
                        tensor_buf = sval
                if name not in metas:
                    raise CheckpointError(f"data for unknown variable {name!r}")
                m = metas[name]
                extents = _parse_slice(slice_buf, len(m.shape))
                index = tuple(
                    slice(s, dim if ln is None else s + ln) for (s, ln), dim in zip(extents, m.shape)
                )
                target = out[name][index]
                values = _tensor_values(tensor_buf, m.dtype)
                if values.size != target.size:
                    raise CheckpointError(
                        f"{name}: slice holds {values.size} values, expected {target.size}"
                    )
                out[name][index] = values.reshape(target.shape)
                filled[name] += values.size
    if metas is None:
        raise CheckpointError("checkpoint has no metadata entry")
    missing = [n for n, a in out.items() if filled[n] != a.size]
    if missing:
        raise CheckpointError(f"variables not fully stored in the checkpoint: {missing}")
    return out
