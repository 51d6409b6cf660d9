"""MP3 length by counting frames: mp3 headers' lengths can be seconds off for VBR files without a Xing header.

Only the frame headers are read (no decoding), so this is fast and needs no codec.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

_MP3_BITRATES = {  # (MPEG-1?, layer) -> kbit/s by index
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame(data: bytes, i: int):
    """(frame length in bytes, samples in the frame, sample rate) of an MPEG audio frame header at i, or None."""
    if i + 4 > len(data) or data[i] != 0xFF or (data[i + 1] & 0xE0) != 0xE0:
        return None
    version, layer_bits, b2 = (data[i + 1] >> 3) & 3, (data[i + 1] >> 1) & 3, data[i + 2]
    bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate = _MP3_BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _MP3_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384, rate
    if layer == 2:
        return 144 * bitrate // rate + padding, 1152, rate
    return (144 if mpeg1 else 72) * bitrate // rate + padding, 1152 if mpeg1 else 576, rate


def mp3_duration(path: Path) -> Optional[float]:
    """Length of an mp3 in seconds, counting its frames (less the LAME encoder delay and padding); None if
    no frames are found.  Within a few hundredths of a second of a full decode, and much faster."""
    import mmap

    with open(path, "rb") as f:  # mapped, not read: a 2 GB file costs no memory
        if os.fstat(f.fileno()).st_size == 0:
            return None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _count_frames(data)


def _count_frames(data) -> Optional[float]:
    i = 0
    while data[i:i + 3] == b"ID3" and i + 10 <= len(data):  # ID3v2 tags (syncsafe sizes)
        size = (data[i + 6] << 21) | (data[i + 7] << 14) | (data[i + 8] << 7) | data[i + 9]
        i += 10 + size + (10 if data[i + 5] & 0x10 else 0)
    samples, rate, gap, first, n = 0, 0, 0, True, len(data)
    while i < n - 4:
        frame = _mp3_frame(data, i)
        if frame is None or frame[0] < 4:
            j = data.find(b"\xff", i + 1)  # lost sync (junk, tags): next header followed by another header
            while j != -1:
                f2 = _mp3_frame(data, j)
                if f2 and f2[0] >= 4 and _mp3_frame(data, j + f2[0]) is not None:
                    break
                j = data.find(b"\xff", j + 1)
            if j == -1:
                break
            i = j
            continue
        length, spf, frame_rate = frame
        if i + length > n:
            break
        if first:
            first = False
            body = data[i + 4:i + min(length, 200)]
            k = max(body.find(b"Xing"), body.find(b"Info"))
            if k >= 0:  # an information frame, not audio; its LAME tag holds the encoder delay and padding
                tag = max(body.find(b"LAME", k), body.find(b"Lavc", k), body.find(b"Lavf", k))
                if tag >= 0 and tag + 24 <= len(body):
                    d = body[tag + 21:tag + 24]
                    gap = ((d[0] << 4) | (d[1] >> 4)) + (((d[1] & 15) << 8) | d[2])
                i += length
                continue
        samples += spf
        rate = frame_rate
        i += length
    return max(0, samples - gap) / rate if rate else None

