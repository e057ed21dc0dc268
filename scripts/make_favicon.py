"""Draw src/dailypapers/web/static/favicon.ico from the shapes of favicon.svg (deterministic, no imaging library).

    python scripts/make_favicon.py

Browsers ask for /favicon.ico whatever a page links; the pages link the SVG. The .ico holds one 32x32 PNG.
"""

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/dailypapers/web/static/favicon.ico"
SIZE, SAMPLES = 32, 4  # pixels, and sub-samples per pixel side for smooth edges
ACCENT, WHITE = (0x4F, 0x46, 0xE5), (0xFF, 0xFF, 0xFF)
BARS = [(8, 8, 24, 11), (8, 14.5, 24, 17.5), (8, 21, 19, 24)]  # as in favicon.svg: x0, y0, x1, y1


def in_rounded_square(x: float, y: float, lo: float = 1, hi: float = 31, radius: float = 7) -> bool:
    cx, cy = min(max(x, lo + radius), hi - radius), min(max(y, lo + radius), hi - radius)
    return lo <= x <= hi and lo <= y <= hi and (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def pixel(px: int, py: int) -> bytes:
    covered, white = 0, 0
    for sx in range(SAMPLES):
        for sy in range(SAMPLES):
            x, y = px + (sx + 0.5) / SAMPLES, py + (sy + 0.5) / SAMPLES
            if in_rounded_square(x, y):
                covered += 1
                white += any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in BARS)
    if not covered:
        return bytes(4)
    share = white / covered
    rgb = [round(a * (1 - share) + w * share) for a, w in zip(ACCENT, WHITE)]
    return bytes([*rgb, round(255 * covered / SAMPLES**2)])


def png(size: int) -> bytes:
    rows = b"".join(b"\0" + b"".join(pixel(x, y) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def main() -> None:
    image = png(SIZE)
    directory = struct.pack("<HHH", 0, 1, 1)  # reserved, type 1 (icon), one image
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    OUT.write_bytes(directory + entry + image)
    print(f"{OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
