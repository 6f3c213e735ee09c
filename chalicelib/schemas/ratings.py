"""Ratings: one per user per movie, an integer from 1 to 10."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from chalicelib.schemas import RequestModel, ResponseModel, Timestamp


class RatingCreate(RequestModel):
    """``rating`` must be a JSON integer: ``"5"``, ``5.5``, ``true`` and ``null`` are 422."""

    rating: Annotated[StrictInt, Field(ge=1, le=10)]


class RatingPublic(ResponseModel):
    id: int
    movie_id: int
    user_id: int
    rating: int
    created_at: Timestamp
    updated_at: Timestamp


class AverageRating(ResponseModel):
    average_rating: float | None
    rating_count: int
