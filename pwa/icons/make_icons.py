"""Draw the app icons (a door with a check mark) with Pillow: `python pwa/icons/make_icons.py`."""
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
TEAL = (15, 76, 92, 255)
CREAM = (244, 246, 247, 255)
AMBER = (242, 169, 0, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # draw large, then downsample for smooth edges
    s = size * scale
    image = Image.new("RGBA", (s, s), TEAL if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    if not maskable:
        d.rounded_rectangle([0, 0, s - 1, s - 1], radius=int(s * 0.22), fill=TEAL)
    # maskable icons keep their content inside the central 80% safe zone
    inset = 0.24 if maskable else 0.18
    left, top, right, bottom = s * (0.5 - (0.5 - inset) * 0.62), s * inset, s * (0.5 + (0.5 - inset) * 0.62), s * (1 - inset)
    d.rounded_rectangle([left, top, right, bottom], radius=int(s * 0.04), fill=CREAM)
    knob = s * 0.025
    kx, ky = right - (right - left) * 0.18, (top + bottom) / 2
    d.ellipse([kx - knob, ky - knob, kx + knob, ky + knob], fill=TEAL)
    w = int(s * 0.05)
    cx, cy = (left + right) / 2 - s * 0.03, (top + bottom) / 2 - s * 0.02
    d.line([(cx - s * 0.09, cy), (cx - s * 0.02, cy + s * 0.07), (cx + s * 0.11, cy - s * 0.08)], fill=AMBER, width=w, joint="curve")
    return image.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    draw(192, maskable=False).save(HERE / "icon-192.png", optimize=True)
    draw(512, maskable=False).save(HERE / "icon-512.png", optimize=True)
    draw(512, maskable=True).save(HERE / "maskable-512.png", optimize=True)
