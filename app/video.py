"""Video files from a stream of frames: H.264 MP4 or GIF, encoded by the ffmpeg that imageio-ffmpeg ships.

Frames go to an ffmpeg process through a pipe as they come (nothing holds the whole video in
memory). An MP4 is H.264 (libx264, yuv420p, which needs even sizes: an odd width or height gets one
more column or row on the right or bottom, a copy of its neighbour). A GIF needs one palette for the
whole clip, or colours would flicker between frames: the frames stream into a lossless FFV1 file
first, and closing reads it twice (a palette from every frame, then the GIF drawn with it).

The file appears under its name only when it is complete: ffmpeg writes ``NAME.<random>.part`` and
closing renames it, so an interrupted recording that is closed is a valid, playable file and a killed
one leaves no broken file behind. The random part is the recording's own: two recordings to one name
wrote into one ``NAME.part`` and left an unplayable file, or one's frames under the other's report.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import subprocess
import tempfile
from pathlib import Path

from muonscope.engine.errors import ConfigError

__all__ = [
    "PART_ADDED_BYTES",
    "PART_SUFFIX",
    "VIDEO_SUFFIXES",
    "VideoError",
    "VideoWriter",
    "check_video_path",
    "frames_text",
    "one_line_report",
    "padded_size",
]


#: Added to a video's name while it is written: only a finished video takes the name asked for.
class VideoError(OSError):
    """A video that could not be made or written, said in one line that names the file or the
    encoder and the reason."""

    names_itself = True  # the command line says it as it is, without its class name


PART_SUFFIX = ".part"
#: How many bytes a video's name grows by while it is written ("." and 8 hex digits, then .part).
PART_ADDED_BYTES = 1 + 8 + len(PART_SUFFIX)

#: The file kinds a recording can be, by the file name's suffix.
VIDEO_SUFFIXES = (".mp4", ".gif")
#: libx264's constant-quality setting: 18 is visually lossless for text and thin lines.
_CRF = "18"
#: What a user can do when there is no ffmpeg to run.
_ENCODER_HINT = (
    "Videos (.mp4 and .gif) are encoded by the ffmpeg of the imageio-ffmpeg package: reinstall it "
    "(pip install --force-reinstall imageio-ffmpeg) or point IMAGEIO_FFMPEG_EXE at an ffmpeg."
)
#: How much of ffmpeg's own report a failure message quotes.
_REPORT_CHARS = 600
#: The system's reasons a file is not written, as ffmpeg ends its lines with them.
_SYSTEM_REASONS = {
    os.strerror(code).lower() for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES)
}


def check_video_path(path: Path, option: str = "--out") -> str:
    """The kind of video ``path`` names ("mp4" or "gif"); anything else is refused."""
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ConfigError(option, str(path), "must name a .mp4 or .gif file")
    return suffix[1:]


def frames_text(count: int) -> str:
    """``1 frame``, ``5 frames``: how many frames a video holds, as every message says it."""
    return f"{count} frame" + ("" if count == 1 else "s")


def padded_size(size: tuple[int, int], kind: str) -> tuple[int, int]:
    """The size of the encoded picture: H.264 in yuv420p needs even sides; a GIF takes any."""
    width, height = size
    return (width + width % 2, height + height % 2) if kind == "mp4" else (width, height)


class VideoWriter:
    """Write ``size`` (width, height) RGB frames at ``fps`` to ``path`` (.mp4 or .gif).

    :meth:`add` takes one frame as ``width * height * 3`` bytes (rows of RGB, top first);
    :meth:`close` finishes the file. Use it as a context manager so the file is always finished.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float) -> None:
        import imageio_ffmpeg

        self.path = Path(path)
        self.kind = check_video_path(self.path)
        self.size = size
        self.fps = fps
        self.frames = 0
        try:
            self._ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError as exc:  # no binary for this platform, and none on the PATH
            raise VideoError(f"no video encoder: {exc} {_ENCODER_HINT}") from None
        self._part = _claim_part_name(self.path)
        self._scratch = tempfile.TemporaryDirectory(prefix="muonscope-video-") if self.kind == "gif" else None
        self._report = tempfile.TemporaryFile()
        try:
            self._process = self._start()
        except VideoError:
            self._part.unlink(missing_ok=True)
            raise

    @property
    def part_path(self) -> Path:
        """Where the video is written until it is finished and takes its name."""
        return self._part

    @property
    def video_size(self) -> tuple[int, int]:
        """The picture size in the file (a frame's size, made even for H.264)."""
        return padded_size(self.size, self.kind)

    @property
    def seconds(self) -> float:
        """How long the video written so far plays."""
        return self.frames / self.fps

    def _start(self) -> subprocess.Popen:
        width, height = self.size
        source = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{self.fps:g}"]
        if self.kind == "mp4":
            out_w, out_h = self.video_size
            # the added column or row repeats its neighbour: a white one edged the dark stage
            smear = f"fillborders=right={out_w - width}:bottom={out_h - height}:mode=smear"
            pad = [] if (out_w, out_h) == self.size else ["-vf", f"pad={out_w}:{out_h}:0:0,{smear}"]
            target = [
                *pad,
                *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", _CRF),
                *("-movflags", "+faststart", "-f", "mp4", str(self._part)),
            ]
        else:
            target = ["-c:v", "ffv1", "-f", "matroska", self._lossless]
        try:
            return subprocess.Popen(
                [self._ffmpeg, "-y", "-v", "error", *source, "-i", "-", *target],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._report,
                start_new_session=True,  # Ctrl-C in the terminal goes to us; we finish the file
            )
        except OSError as exc:  # "[Errno 2] No such file or directory: '/x/ffmpeg'" named no remedy
            self._report.close()
            if self._scratch is not None:
                self._scratch.cleanup()
            raise VideoError(
                f"cannot start the video encoder {self._ffmpeg}: {exc.strerror or exc}. {_ENCODER_HINT}"
            ) from None

    @property
    def _lossless(self) -> str:
        return os.path.join(self._scratch.name, "frames.mkv")

    def add(self, rgb: bytes) -> None:
        """Append one frame (``width * height * 3`` bytes)."""
        expected = self.size[0] * self.size[1] * 3
        if len(rgb) != expected:
            raise ValueError(f"a frame of {len(rgb)} bytes; {self.size[0]}x{self.size[1]} RGB is {expected}")
        try:
            self._process.stdin.write(rgb)
        except BrokenPipeError:
            self._process.wait()
            raise VideoError(f"the encoder stopped: {self._ffmpeg_report()}") from None
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and give it its name; raises OSError when ffmpeg could not."""
        if self._process.stdin.closed:
            return self.path
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        whole = False  # the .part file is a finished video, kept even if it cannot take its name
        try:
            if self._process.wait() != 0:
                raise VideoError(f"could not write {self.path}: {self._ffmpeg_report()}")
            if self.frames == 0:
                raise VideoError(f"no frames to write to {self.path}")
            if self.kind == "gif":
                self._draw_gif()
            whole = True
            self._take_name()
        finally:
            if not whole:
                self._part.unlink(missing_ok=True)
            self._report.close()
            if self._scratch is not None:
                self._scratch.cleanup()
        return self.path

    def _take_name(self) -> None:
        """Rename the finished video to its name. When the name cannot be taken (it became a
        read-only file or a folder while recording) the video is kept under its ``.part`` name: the
        error says where, and the encoded frames are not deleted with it."""
        try:
            self._part.replace(self.path)
        except OSError as exc:
            raise VideoError(
                f"cannot name it {self.path.name}: {exc.strerror or exc}; the video is kept in {self._part}"
            ) from None

    def _draw_gif(self) -> None:
        """The palette from every frame, then the GIF drawn with that one palette (no dithering noise)."""
        palette = os.path.join(self._scratch.name, "palette.png")
        self._ffmpeg_run(["-i", self._lossless, "-vf", "palettegen", palette])
        self._ffmpeg_run(
            [
                "-i",
                self._lossless,
                "-i",
                palette,
                "-lavfi",
                "paletteuse=dither=none",
                "-f",
                "gif",
                str(self._part),
            ]
        )

    def _ffmpeg_run(self, arguments: list[str]) -> None:
        done = subprocess.run(
            [self._ffmpeg, "-y", "-v", "error", *arguments],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            start_new_session=True,
        )
        if done.returncode != 0:
            report = one_line_report(done.stderr.decode(errors="replace"), done.returncode)
            raise VideoError(f"could not write {self.path}: {report}")

    def _ffmpeg_report(self) -> str:
        self._report.seek(0)
        return one_line_report(self._report.read().decode(errors="replace"), self._process.returncode)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def one_line_report(report: str, status: int) -> str:
    """ffmpeg's report of a failure in one line: the system's reason where a line ends with one
    ("no space left on device"), else its last line without its "[muxer @ 0x…]" prefix. On a full
    disk seven lines of its log followed "could not write"."""
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", line).strip() for line in report.strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith("Last message repeated")]
    for line in reversed(lines):
        reason = line.rsplit(": ", 1)[-1].lower()
        if reason in _SYSTEM_REASONS:
            return reason
    return lines[-1][-_REPORT_CHARS:] if lines else f"ffmpeg exit status {status}"


def _claim_part_name(path: Path) -> Path:
    """A name of this recording's own to write ``path`` under until it is finished, created empty so
    that no other recording takes it."""
    while True:
        part = path.with_name(f"{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
        try:
            os.close(os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        except OSError as exc:
            raise VideoError(f"cannot write {path}: {exc.strerror or exc}") from None
        return part
