"""Listing photos: checked by decoding them (Pillow), not by trusting the Content-Type."""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.errors import ApiError, FieldError
from server.market.models import Listing, ListingPhoto

TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_PIXELS = 40_000_000


def add(sess: Session, listing: Listing, content_type: str, data: bytes, *,
        max_bytes: int, max_photos: int) -> ListingPhoto:
    fmt = TYPES.get(content_type.split(";")[0].strip().lower())
    if fmt is None:
        raise ApiError(415, "photo_type")
    if len(data) > max_bytes:
        raise ApiError(413, "photo_too_large", max_bytes=max_bytes, max_pixels=MAX_PIXELS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ApiError(413, "photo_too_large", max_bytes=max_bytes, max_pixels=MAX_PIXELS)
            img.verify()
    except ApiError:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise ApiError(422, "validation_error", errors=[FieldError(
            "body", "photo_unreadable", {"type": fmt}, location="body")]) from exc
    count = sess.scalar(select(func.count()).select_from(ListingPhoto).where(
        ListingPhoto.org_id == listing.org_id, ListingPhoto.listing_id == listing.id))
    if int(count or 0) >= max_photos:
        raise ApiError(409, "too_many_photos", max=max_photos)
    photo = ListingPhoto(org_id=listing.org_id, listing_id=listing.id,
                         content_type=content_type.split(";")[0].strip().lower(), data=data,
                         sha256=hashlib.sha256(data).digest(), width=width, height=height)
    sess.add(photo)
    sess.flush()
    return photo


def get(sess: Session, listing_id: uuid.UUID, photo_id: uuid.UUID) -> ListingPhoto | None:
    return sess.scalars(select(ListingPhoto).where(ListingPhoto.listing_id == listing_id,
                                                   ListingPhoto.id == photo_id)).first()
