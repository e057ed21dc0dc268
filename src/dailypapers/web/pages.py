"""HTML pages (server-rendered; work without JavaScript)."""

from fastapi import APIRouter

router = APIRouter()
