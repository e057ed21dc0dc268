"""Property tests: whatever a client sends as a search, the API answers 200 or 4xx, never a 500."""

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Any unicode (surrogates cannot travel in a URL), plus the characters search syntaxes give meaning to.
SYNTAX = st.sampled_from(list('"-*():^~!?&|\\/[]{}<> \t\n') + ["NEAR", "OR", "AND", "author:", "cat:", "org:", "from:", "to:"])
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=250) | st.lists(
    SYNTAX | st.text(st.characters(blacklist_categories=["Cs"]), max_size=8), max_size=30
).map("".join).filter(lambda text: len(text) <= 250)
FILTER = st.none() | st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


@SETTINGS
@given(q=TEXT, mode=st.sampled_from(["hybrid", "lexical", "semantic"]), sort=st.sampled_from(["relevance", "date", "upvotes"]))
def test_any_query_text_is_answered(live_demo, q, mode, sort):
    response = httpx.get(f"{live_demo.url}/api/papers/search", params={"q": q, "mode": mode, "sort": sort, "limit": 5})
    if "\x00" in q:  # no text on the site can hold a NUL (web/server.py): a clear refusal
        assert response.status_code == 422 and "NUL" in response.json()["error"], (q, response.text)
        return
    assert response.status_code == 200, (q, response.text)
    assert isinstance(response.json(), list)


@SETTINGS
@given(q=TEXT, author=FILTER, category=FILTER, organization=FILTER, start=FILTER, end=FILTER)
def test_any_filter_values_are_answered_or_refused_clearly(live_demo, q, author, category, organization, start, end):
    params = {"q": q, "author": author, "category": category, "organization": organization, "from": start, "to": end}
    response = httpx.get(f"{live_demo.url}/api/papers/search", params={k: v for k, v in params.items() if v is not None})
    assert response.status_code in (200, 422), (params, response.text)
    if response.status_code == 422:
        assert response.json()["error"]


@SETTINGS
@given(q=TEXT)
def test_the_search_page_answers_any_query(live_demo, q):
    response = httpx.get(f"{live_demo.url}/search", params={"q": q})
    assert response.status_code in (200, 422)
