"""The app's icons, drawn per brand with Pillow: the brand's logo, else its initials, on its primary colour.

Every icon is a full-bleed square whose content stays inside the central 60 %, so one image serves as both an
ordinary and a maskable icon (a launcher may crop it to a circle)."""

import hashlib
import io

from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont

from apps.whitelabel.models import Branding

ICON_SIZES = (192, 512)
# The share of the side the logo or the initials may take: inside the maskable safe zone (a circle of 80 %).
CONTENT_SHARE = 0.6


def brand_initials(name: str) -> str:
    words = [word for word in name.replace("-", " ").split() if word[:1].isalnum()]
    if not words:
        return "EV"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    red, green, blue = background
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return (17, 17, 17) if luminance > 150 else (255, 255, 255)


def _logo(branding: Branding) -> Image.Image | None:
    if not branding.logo:
        return None
    try:
        with branding.logo.open("rb") as file:
            image = Image.open(io.BytesIO(file.read()))
            image.load()
    except (OSError, ValueError):
        # A missing or unreadable logo file: the initials are better than no icon.
        return None
    return image.convert("RGBA")


def icon_draw(branding: Branding, size: int) -> bytes:
    """The PNG of the brand's icon, `size` pixels square."""
    background = _hex_to_rgb(branding.primary_colour)
    image = Image.new("RGB", (size, size), background)
    box = int(size * CONTENT_SHARE)
    logo = _logo(branding)
    if logo is not None:
        logo.thumbnail((box, box), Image.LANCZOS)
        image.paste(logo, ((size - logo.width) // 2, (size - logo.height) // 2), logo)
    else:
        draw = ImageDraw.Draw(image)
        text = brand_initials(branding.display_name)
        font = ImageFont.load_default(size=int(box * 0.75))
        draw.text((size / 2, size / 2), text, fill=_text_colour(background), font=font, anchor="mm")
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def branding_fingerprint(branding: Branding) -> str:
    """Changes whenever what the icons, manifest or shell show of the brand changes."""
    parts = [
        branding.display_name,
        branding.primary_colour,
        branding.accent_colour,
        branding.logo.name if branding.logo else "",
        str(branding.tenant_id),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def icon_png(branding: Branding, size: int) -> bytes:
    """The brand's icon, drawn once per look of the brand and kept in the cache."""
    key = f"pwa:icon:{branding.tenant_id}:{size}:{branding_fingerprint(branding)}"
    png = cache.get(key)
    if png is None:
        png = icon_draw(branding, size)
        cache.set(key, png, 24 * 3600)
    return png
