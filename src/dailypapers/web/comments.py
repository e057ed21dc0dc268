"""Comments on papers: written in Markdown by logged-in readers (on the paper page, or with an API
token), edited and deleted by their authors only, hidden (and shown again) by moderators.
Writing and editing are rate-limited per account and per address.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .common import RowId, json_response, paper_or_404
from .auth import api_user, form_user
from .markdown import MAX_CHARS, InvalidComment, check_comment
from .models import Comment, responses
from .ratelimit import client_address, limit
from .serialize import comment_item

router = APIRouter()
MODERATORS = ("moderator", "admin")


class CommentText(BaseModel):
    body: str = Field(max_length=MAX_CHARS * 2, description="Markdown; at most 10,000 characters once trimmed.")


def is_moderator(user: dict | None) -> bool:
    return bool(user) and user["role"] in MODERATORS


def _checked(request: Request, user: dict, text: str) -> str:
    try:
        body = check_comment(text)
    except InvalidComment as exc:
        raise HTTPException(422, str(exc)) from None
    limit(request, "comment", f"user:{user['id']}", f"address:{client_address(request)}")
    return body


def _comment_or_404(request: Request, comment_id: int, user: dict) -> dict:
    comment = request.app.state.store.comment(comment_id)
    if comment is None or (comment["hidden_at"] and comment["user_id"] != user["id"] and not is_moderator(user)):
        raise HTTPException(404, "no such comment")
    return comment


def _own(request: Request, comment_id: int, user: dict) -> dict:
    comment = _comment_or_404(request, comment_id, user)
    if comment["user_id"] != user["id"]:
        raise HTTPException(403, "only its author can change a comment")
    return comment


def _changed(request: Request, comment_id: int) -> dict | None:
    request.app.state.cache.changed()
    return request.app.state.store.comment(comment_id)


def add(request: Request, user: dict, paper_id: str, text: str) -> dict:
    paper = paper_or_404(request, paper_id)
    comment_id = request.app.state.store.add_comment(paper["id"], user["id"], _checked(request, user, text))
    return _changed(request, comment_id)


def edit(request: Request, user: dict, comment_id: int, text: str) -> dict:
    comment = _own(request, comment_id, user)
    if comment["hidden_at"]:
        raise HTTPException(403, "a moderator hid this comment: it cannot be edited")
    request.app.state.store.edit_comment(comment_id, user["id"], _checked(request, user, text))
    return _changed(request, comment_id)


def delete(request: Request, user: dict, comment_id: int) -> dict:
    comment = _own(request, comment_id, user)
    request.app.state.store.delete_comment(comment_id, user["id"])
    _changed(request, comment_id)
    return comment


def hide(request: Request, user: dict, comment_id: int, hidden: bool) -> dict:
    if not is_moderator(user):
        raise HTTPException(403, "only moderators can hide comments")
    _comment_or_404(request, comment_id, user)
    request.app.state.store.hide_comment(comment_id, user["id"], hidden)
    return _changed(request, comment_id)


# -- forms on the paper page ------------------------------------------------------------------------------


def _back(comment: dict) -> Response:
    return RedirectResponse(f"/papers/{comment['paper_id']}#comment-{comment['id']}", status_code=303)


@router.post("/papers/{paper_id:path}/comments", include_in_schema=False)
async def add_form(request: Request, paper_id: str):
    form = await request.form()
    user = form_user(request, form)
    return _back(await run_in_threadpool(add, request, user, paper_id, str(form.get("body", ""))))


@router.post("/comments/{comment_id}/edit", include_in_schema=False)
async def edit_form(request: Request, comment_id: RowId):
    form = await request.form()
    user = form_user(request, form)
    return _back(await run_in_threadpool(edit, request, user, comment_id, str(form.get("body", ""))))


@router.post("/comments/{comment_id}/delete", include_in_schema=False)
async def delete_form(request: Request, comment_id: RowId):
    user = form_user(request, await request.form())
    comment = await run_in_threadpool(delete, request, user, comment_id)
    return RedirectResponse(f"/papers/{comment['paper_id']}#comments", status_code=303)


@router.post("/comments/{comment_id}/hide", include_in_schema=False)
async def hide_form(request: Request, comment_id: RowId):
    form = await request.form()
    user = form_user(request, form)
    return _back(await run_in_threadpool(hide, request, user, comment_id, form.get("hidden", "1") != "0"))


# -- the API ----------------------------------------------------------------------------------------------


@router.post("/api/papers/{paper_id:path}/comments", tags=["community"], summary="Comment on a paper (API token)", status_code=201,
             responses=responses(Comment, 401, 404, 413, 422, 429, status=201, description="The comment.", e404="No such paper."))
def add_api(request: Request, paper_id: str, text: CommentText, user: dict = Depends(api_user)):
    return json_response(comment_item(add(request, user, paper_id, text.body)), status_code=201)


@router.patch("/api/comments/{comment_id}", tags=["community"], summary="Edit your comment (API token)",
              responses=responses(Comment, 401, 403, 404, 413, 422, 429, description="The comment as it is now.",
                                  e403="It is not yours, or a moderator hid it.", e404="No such comment."))
def edit_api(request: Request, comment_id: RowId, text: CommentText, user: dict = Depends(api_user)):
    return json_response(comment_item(edit(request, user, comment_id, text.body)))


@router.delete("/api/comments/{comment_id}", tags=["community"], summary="Delete your comment (API token)", status_code=204,
               responses=responses(None, 401, 403, 404, 422, e403="It is not yours.", e404="No such comment."))
def delete_api(request: Request, comment_id: RowId, user: dict = Depends(api_user)):
    delete(request, user, comment_id)
    return Response(status_code=204)


@router.post("/api/comments/{comment_id}/hide", tags=["community"], summary="Hide a comment (moderators)",
             responses=responses(Comment, 401, 403, 404, 422, description="The comment, hidden.", e403="Only moderators hide comments.",
                                 e404="No such comment."))
def hide_api(request: Request, comment_id: RowId, user: dict = Depends(api_user)):
    return json_response(comment_item(hide(request, user, comment_id, True)))


@router.delete("/api/comments/{comment_id}/hide", tags=["community"], summary="Show a hidden comment again (moderators)",
               responses=responses(Comment, 401, 403, 404, 422, description="The comment, shown again.",
                                   e403="Only moderators show hidden comments.", e404="No such comment."))
def unhide_api(request: Request, comment_id: RowId, user: dict = Depends(api_user)):
    return json_response(comment_item(hide(request, user, comment_id, False)))
