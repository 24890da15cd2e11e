"""The append-only journal: framed Arrow IPC record batches in segment files.

Each segment ``journal-NNNNNNNN.pmj`` is a sequence of frames::

    magic b"PMJ1" | payload length (uint32 LE) | CRC-32 of kind + payload (uint32 LE)
    | kind (uint8) | 3 zero bytes | payload: an Arrow IPC stream (schema + one record batch)

so every record is an open-format Arrow batch that ``pyarrow.ipc.open_stream``
reads, and a record cut short by a crash (a torn tail) fails its length or
checksum and is dropped on recovery. An update is acknowledged only after its
frame is on disk: ``durability="fsync"`` syncs each write; ``"group"`` syncs
many writes at once (group commit) while writers wait for the sync that covers
them: the first waiting writer leads a sync when none is running (no window),
or a background flusher syncs at most ``commit_window`` seconds apart.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ..errors import PmcoreError

__all__ = ["Journal", "read_frames", "repair_tail", "KINDS", "encode", "decode"]

MAGIC = b"PMJ1"
HEADER = struct.Struct("<4sIIB3x")
KINDS = {"fills": 1, "cash_flows": 2, "prices": 3, "fx": 4, "status": 5}
KIND_NAMES = {v: k for k, v in KINDS.items()}
DURABILITY = ("fsync", "group")


def segment_name(n: int) -> str:
    return f"journal-{n:08d}.pmj"


def segments(directory: Path) -> list[tuple[int, Path]]:
    out = []
    for p in directory.glob("journal-*.pmj"):
        try:
            out.append((int(p.stem.split("-")[1]), p))
        except ValueError:  # pragma: no cover - foreign file
            continue
    return sorted(out)


def encode(batch: pa.RecordBatch) -> bytes:
    """One record batch as Arrow IPC stream bytes."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    return sink.getvalue().to_pybytes()


def decode(payload: bytes) -> pa.RecordBatch:
    """The record batch of one frame payload."""
    reader = pa.ipc.open_stream(pa.py_buffer(payload))
    return reader.read_next_batch()


def frame(kind: int, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(bytes([kind])))
    return HEADER.pack(MAGIC, len(payload), crc, kind) + payload


def _scan(data: memoryview, start: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(kind, payload_start, payload_end, frame_end)`` of the valid frames from ``start``."""
    pos = start
    n = len(data)
    while pos + HEADER.size <= n:
        magic, length, crc, kind = HEADER.unpack_from(data, pos)
        end = pos + HEADER.size + length
        if magic != MAGIC or end > n:
            return
        body = data[pos + HEADER.size:end]
        if zlib.crc32(body, zlib.crc32(bytes([kind]))) != crc:
            return
        yield kind, pos + HEADER.size, end, end
        pos = end


def read_frames(directory: Path, start: tuple[int, int] = (1, 0)):
    """Yield ``(kind_name, batch, (segment, end_offset))`` of every valid frame from ``start``.

    A frame that fails its checksum in a segment that is not the last one is
    corruption, not a torn tail, and raises.
    """
    segs = [s for s in segments(directory) if s[0] >= start[0]]
    for k, (n, path) in enumerate(segs):
        data = memoryview(path.read_bytes())
        pos = start[1] if n == start[0] else 0
        end = pos
        for kind, a, b, end in _scan(data, pos):
            yield KIND_NAMES[kind], decode(data[a:b]), (n, end)
        if end != len(data) and k < len(segs) - 1:
            raise PmcoreError(
                f"journal segment {path.name} is corrupt at byte {end} (not at the tail); "
                "restore it from a backup"
            )


def repair_tail(directory: Path) -> int:
    """Truncate a torn tail of the last segment; return the number of bytes dropped."""
    segs = segments(directory)
    if not segs:
        return 0
    path = segs[-1][1]
    data = memoryview(path.read_bytes())
    end = 0
    for *_, end in _scan(data, 0):
        pass
    dropped = len(data) - end
    if dropped:
        with open(path, "r+b") as fh:
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
    return dropped


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Appends frames to the segments of ``directory`` and makes them durable.

    The caller serializes :meth:`append` (the state's writer lock); :meth:`wait`
    may be called without the lock, so that writers of several threads share one
    sync under group commit.
    """

    def __init__(self, directory: Path, *, durability: str = "fsync", commit_window: float = 0.0,
                 segment_bytes: int = 256 << 20, sequence: int = 0) -> None:
        self.directory = directory
        self.durability = durability
        self.commit_window = commit_window
        self.segment_bytes = segment_bytes
        segs = segments(directory)
        self.segment = segs[-1][0] if segs else 1
        path = directory / segment_name(self.segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if not segs:
            fsync_dir(directory)
        self.offset = os.fstat(self._fd).st_size
        self.written = sequence
        self.durable = sequence
        self._cond = threading.Condition()
        self._sync_lock = threading.Lock()
        self._error: BaseException | None = None
        self._closed = False
        self._flusher = None
        if durability == "group":
            self._flusher = threading.Thread(target=self._flush_loop, name="pmcore-journal-flusher", daemon=True)
            self._flusher.start()

    @property
    def position(self) -> tuple[int, int]:
        """(segment, byte offset) after the last frame written."""
        return self.segment, self.offset

    def append(self, kind: str, batch: pa.RecordBatch) -> int:
        """Write one record; return its sequence number (durable once :meth:`wait` returns)."""
        if self._error is not None:
            raise PmcoreError(f"the journal failed earlier ({self._error}); reopen the state")
        data = frame(KINDS[kind], encode(batch))
        try:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            self.offset += len(data)
            self.written += 1
            if self.durability == "fsync":
                os.fsync(self._fd)
                self.durable = self.written
            if self.offset >= self.segment_bytes:
                self._roll()
        except OSError as exc:
            self._fail(exc)
            raise PmcoreError(f"cannot write the journal: {exc}") from exc
        if self._flusher is not None:
            with self._cond:
                self._cond.notify_all()
        return self.written

    def _roll(self) -> None:
        with self._sync_lock:
            os.fsync(self._fd)
            os.close(self._fd)
            self.segment += 1
            self._fd = os.open(self.directory / segment_name(self.segment),
                               os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            fsync_dir(self.directory)
            self.offset = 0
            with self._cond:
                self.durable = max(self.durable, self.written)
                self._cond.notify_all()

    def _fail(self, exc: BaseException) -> None:
        with self._cond:
            self._error = exc
            self._cond.notify_all()

    def _flush_loop(self) -> None:
        while True:
            with self._cond:
                while self.durable >= self.written and not self._closed:
                    self._cond.wait()
                if self._closed and self.durable >= self.written:
                    return
            if self.commit_window > 0:
                time.sleep(self.commit_window)  # let more writers join this sync
            try:
                with self._sync_lock:
                    if self.durable >= self.written:  # a waiting writer synced it meanwhile
                        continue
                    target = self.written
                    os.fsync(self._fd)
            except OSError as exc:
                self._fail(exc)
                return
            with self._cond:
                self.durable = max(self.durable, target)
                self._cond.notify_all()

    def wait(self, sequence: int) -> None:
        """Block until record ``sequence`` is durable.

        Under group commit without a window, a writer that finds no sync
        running leads one itself (covering every record written so far, its
        own and those of other threads) instead of handing over to the
        flusher thread; writers arriving during that sync wait for the next.
        """
        if self.durable >= sequence:
            return
        if self.durability == "group" and self.commit_window == 0 and self._sync_lock.acquire(blocking=False):
            try:
                if self.durable < sequence and self._error is None:
                    target = self.written
                    os.fsync(self._fd)
                    with self._cond:
                        self.durable = max(self.durable, target)
                        self._cond.notify_all()
            except OSError as exc:
                self._fail(exc)
            finally:
                self._sync_lock.release()
        if self.durable >= sequence:
            return
        with self._cond:
            while self.durable < sequence:
                if self._error is not None:
                    raise PmcoreError(f"the journal could not be synced: {self._error}")
                self._cond.wait()

    def sync(self) -> None:
        """Make everything written so far durable."""
        with self._sync_lock:
            os.fsync(self._fd)
            target = self.written
        with self._cond:
            self.durable = max(self.durable, target)
            self._cond.notify_all()

    def close(self) -> None:
        """Sync, stop the flusher and close the segment."""
        if self._closed:
            return
        if self._error is None:
            self.sync()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._flusher is not None:
            self._flusher.join()
        os.close(self._fd)
