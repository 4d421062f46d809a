"""Decoding and checking audio files.

What an album track goes through before it is useful: find it, open it, prove that it really is
audio and that all of it is there, and decode it to float32. Bringing it to one channel at the
model's rate is `model.preprocess`.

libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis/Opus, MP3 and AIFF. Other containers
(M4A/AAC, WMA, ...) go through pydub + ffmpeg, but only when ffmpeg is on PATH; otherwise the error
says that ffmpeg is missing. The web app imports this module to validate uploads, so it must never
import torch.

Malformed files are rejected with an `AudioError` naming the file and the reason. libsndfile alone
is not enough for that: a WAV or MP3 cut short decodes *silently short*, so `decode` compares the
number of frames it decoded with the number the header declares (RELIABILITY.md item 22).
"""

from __future__ import annotations

import logging
import shutil
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

logger = logging.getLogger(__name__)

# What a folder scan treats as audio (lower case, no dot).
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {"wav", "flac", "ogg", "oga", "mp3", "aiff", "aif", "m4a", "aac", "opus", "wma"}
)
# Extensions whose verdict belongs to libsndfile alone: if it cannot read one of these, the file is
# broken (or is not audio at all, e.g. HTML named .flac), and ffmpeg would only blur the message.
_SOUNDFILE_NATIVE = frozenset({"wav", "flac", "ogg", "oga", "mp3", "aiff", "aif"})
_LOSSY_FORMATS = frozenset({"MP3", "OGG"})  # header frame counts of these may be estimates
_BLOCK_FRAMES = 1 << 18  # frames per read; reading until empty stops at a short file's real end
_UNKNOWN_FRAMES = 1 << 62  # libsndfile reports SF_COUNT_MAX when the length is unknown


class AudioError(ValueError):
    """A file that cannot be used as audio. `str()` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds. `frames` counts samples per channel."""

    path: str
    format: str  # container as libsndfile names it ("WAV", "FLAC", "MP3", ...), or "M4A" etc.
    subtype: str | None  # sample encoding ("PCM_16", "VORBIS", ...), None when unknown
    sample_rate: int
    channels: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def name(self) -> str:
        return Path(self.path).name


def _extension(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise AudioError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")


def _soundfile_reason(exc: sf.SoundFileError) -> str:
    # LibsndfileError carries libsndfile's own sentence without the "Error opening '...'" prefix.
    text = str(getattr(exc, "error_string", None) or exc).strip()
    text = text.removeprefix("Error :").removeprefix("Error:").strip()  # "Error : flac decoder ..."
    return text.rstrip(".")


def _needs_ffmpeg(path: Path) -> bool:
    return _extension(path) not in _SOUNDFILE_NATIVE


def probe(path: str | Path) -> AudioInfo:
    """Read the header only: format, rate, channels and declared length.

    Cheap, but it cannot see truncation; `decode` or `validate` read all the data.

    Raises
    ------
    FileNotFoundError
        if `path` does not exist.
    AudioError
        if the file is empty, not audio, or declares no frames.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
    except sf.SoundFileError as exc:
        if _needs_ffmpeg(path):
            _, _, audio_info = _decode_ffmpeg(path)
            return audio_info
        raise AudioError(path, f"not a readable audio file ({_soundfile_reason(exc)})") from None
    result = AudioInfo(
        path=str(path),
        format=info.format,
        subtype=info.subtype or None,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
    )
    if result.frames == 0:
        raise AudioError(path, "contains no audio (0 frames)")
    return result


def decode(path: str | Path) -> tuple[npt.NDArray[np.float32], int]:
    """Decode a whole file and check that all of it was there.

    Returns
    -------
    audio : np.ndarray[float32, frames x channels]
        samples in [-1, 1] (float files may exceed that; they are not clipped here).
    sample_rate : int

    Raises
    ------
    AudioError
        for an empty or unreadable file, zero frames, non-finite samples, or fewer decoded frames
        than the header declares (a truncated WAV, MP3, FLAC, ...).
    """
    audio, info = decode_with_info(path)
    return audio, info.sample_rate


def validate(path: str | Path) -> AudioInfo:
    """Decode the whole file as `decode` does and return its info (for upload checks)."""
    _, info = decode_with_info(path)
    return info


def decode_with_info(path: str | Path) -> tuple[npt.NDArray[np.float32], AudioInfo]:
    """`decode`, returning the file's `AudioInfo` (with the decoded frame count), not the rate.

    Returns
    -------
    audio : np.ndarray[float32, frames x channels]
    info : AudioInfo
    """
    path = Path(path)
    _check_file(path)
    try:
        sound = sf.SoundFile(str(path))
    except sf.SoundFileError as exc:
        if _needs_ffmpeg(path):
            audio, _, info = _decode_ffmpeg(path)
            return audio, info
        raise AudioError(path, f"not a readable audio file ({_soundfile_reason(exc)})") from None
    with sound:
        declared = _declared_frames(path, sound)
        blocks: list[npt.NDArray[np.float32]] = []
        try:
            while True:
                block = sound.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                blocks.append(block)
        except sf.SoundFileError as exc:  # e.g. FLAC cut short: "flac decoder lost sync"
            reason = _soundfile_reason(exc)
            raise AudioError(
                path, f"decoding failed ({reason}); the file is truncated or corrupt"
            ) from None
        info = AudioInfo(
            path=str(path),
            format=sound.format,
            subtype=sound.subtype or None,
            sample_rate=int(sound.samplerate),
            channels=int(sound.channels),
            frames=0,
        )
    audio = np.concatenate(blocks) if blocks else np.zeros((0, info.channels), np.float32)
    info = _with_frames(info, len(audio))
    _check_decoded(path, audio, info, declared)
    return audio, info


def _with_frames(info: AudioInfo, frames: int) -> AudioInfo:
    return AudioInfo(info.path, info.format, info.subtype, info.sample_rate, info.channels, frames)


def _check_decoded(
    path: Path, audio: npt.NDArray[np.float32], info: AudioInfo, declared: int | None
) -> None:
    decoded = len(audio)
    if decoded == 0:
        raise AudioError(path, "contains no audio (0 frames)")
    if declared is not None:
        # Lossy headers may carry estimates (MP3 without a Xing tag), so allow a little slack there;
        # a cut file is short by far more than that.
        slack = max(4608, declared // 50) if info.format in _LOSSY_FORMATS else 0
        if decoded < declared - slack or (slack == 0 and decoded != declared):
            sr = info.sample_rate
            raise AudioError(
                path,
                f"truncated or corrupt: the header declares {declared} frames "
                f"({declared / sr:.2f} s) but only {decoded} frames ({decoded / sr:.2f} s) "
                "could be decoded",
            )
    if not np.isfinite(audio).all():
        raise AudioError(path, "contains NaN or infinite samples")


def _declared_frames(path: Path, sound: sf.SoundFile) -> int | None:
    """Frame count the file's header promises, or None when it does not say.

    libsndfile clamps the length of WAV and AIFF data to what is on disk (and only notes the
    difference in its log), so for those the header is parsed here; for the rest libsndfile's
    count is the header's.
    """
    try:
        if sound.format in ("WAV", "WAVEX"):
            return _wav_declared_frames(path)
        if sound.format == "AIFF":
            return _aiff_declared_frames(path)
    except (OSError, struct.error):
        # Odd header layout: no check rather than a false alarm.
        logger.debug("%s: could not read the declared length from the header", path)
        return None
    frames = int(sound.frames)
    return frames if 0 < frames < _UNKNOWN_FRAMES else None


def _wav_declared_frames(path: Path) -> int | None:
    with path.open("rb") as f:
        if f.read(12)[:4] != b"RIFF":
            return None  # RF64 and friends: trust libsndfile
        block_align: int | None = None
        while True:
            header = f.read(8)
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], int(struct.unpack("<I", header[4:])[0])
            if chunk_id == b"fmt ":
                fmt = f.read(size)
                block_align = int(struct.unpack("<H", fmt[12:14])[0])
                f.seek(size % 2, 1)
            elif chunk_id == b"data":
                # 0 and 0xFFFFFFFF mean "unknown length" (written while streaming).
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                f.seek(size + size % 2, 1)


def _aiff_declared_frames(path: Path) -> int | None:
    with path.open("rb") as f:
        if f.read(12)[:4] != b"FORM":
            return None
        while True:
            header = f.read(8)
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], int(struct.unpack(">I", header[4:])[0])
            if chunk_id == b"COMM":
                return int(struct.unpack(">hI", f.read(6))[1])
            f.seek(size + size % 2, 1)


def _decode_ffmpeg(path: Path) -> tuple[npt.NDArray[np.float32], int, AudioInfo]:
    """Decode through pydub + ffmpeg: formats libsndfile does not read (M4A/AAC, WMA, ...)."""
    kind = _extension(path).upper() or "this"
    if shutil.which("ffmpeg") is None:
        raise AudioError(
            path,
            f"{kind} files can only be decoded with ffmpeg, which is not installed (not on PATH); "
            "install ffmpeg or convert the file to FLAC or WAV",
        )
    try:
        from pydub import AudioSegment  # optional: only this path needs it
    except ImportError:
        raise AudioError(
            path, f"{kind} files need the optional package pydub (pip install pydub)"
        ) from None
    logger.debug("%s: libsndfile cannot read it, decoding with ffmpeg", path)
    try:
        segment = AudioSegment.from_file(str(path))
    except Exception as exc:  # pydub: CouldntDecodeError, OSError from ffmpeg, ...  # noqa: BLE001
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise AudioError(path, f"ffmpeg could not decode it ({first_line})") from None
    channels = int(segment.channels)
    samples = np.array(segment.get_array_of_samples()).reshape(-1, channels)
    scale = float(1 << (8 * int(segment.sample_width) - 1))
    audio = (samples / scale).astype(np.float32)  # (frames, channels)
    info = AudioInfo(str(path), kind, None, int(segment.frame_rate), channels, len(audio))
    _check_decoded(path, audio, info, None)
    return audio, info.sample_rate, info


def _audio_in_folder(folder: Path, exclude: Path | None) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        # Hidden files are skipped: macOS "._name.flac" files are metadata, not audio.
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower().lstrip(".") not in AUDIO_EXTENSIONS:
            continue
        if exclude is not None and path.resolve().is_relative_to(exclude):
            continue  # an earlier dataset inside the album folder is not part of the album
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def find_audio_files(
    sources: Sequence[str | Path], *, exclude: str | Path | None = None
) -> list[Path]:
    """Audio files named by `sources`: files as given, folders searched recursively.

    A folder contributes the files with an audio extension (`AUDIO_EXTENSIONS`) sorted by path,
    skipping hidden files and anything under `exclude` (e.g. a dataset being written there).
    A file named explicitly is taken whatever its extension: decoding decides what it is.

    Raises
    ------
    AudioError
        for a folder without audio files.
    FileNotFoundError
        for a source that does not exist.
    """
    if not sources:
        raise ValueError("no audio files or folders given")
    excluded = Path(exclude).resolve() if exclude is not None else None
    found: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            in_dir = _audio_in_folder(source, excluded)
            if not in_dir:
                extensions = " ".join(sorted(AUDIO_EXTENSIONS))
                raise AudioError(source, f"folder contains no audio files ({extensions})")
            found.extend(in_dir)
        elif source.exists():
            found.append(source)
        else:
            raise FileNotFoundError(f"{source}: no such file or folder")
    unique: dict[Path, Path] = {}  # the same file named twice is used once
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())
