"""The keyword index follows the catalog incrementally and resumes after an interruption."""

import shutil

import pytest

from conftest import index_of
from dailypapers.records import PaperRecord
from dailypapers.search import Search, lexical
from dailypapers.store import Store


@pytest.fixture
def search(store):
    return Search(store)


def paper(pid, title, day="2026-01-05", abstract="An abstract.", authors=("Ada Lovelace",)):
    return PaperRecord(id=pid, source="hf", observed=day, title=title, abstract=abstract,
                       authors=[{"name": a} for a in authors], featured_on=[day])  # fmt: skip


def ids(search, query):
    return [p["id"] for p in search.papers(query, limit=20)]


def test_changes_are_indexed_once_and_only_the_changed_ones(store, search):
    store.apply([paper("2601.00001", "Sparse reward exploration"), paper("2601.00002", "Dense retrieval for science")])
    assert search.lag() == 2 and search.refresh() == 2
    assert ids(search, "exploration") == ["2601.00001"]
    store.apply([paper("2601.00001", "Go-Explore for hard exploration problems", day="2026-01-06")])
    assert search.refresh() == 1
    assert ids(search, "sparse") == [] and ids(search, "hard exploration") == ["2601.00001"]
    assert sorted(ids(search, "lovelace")) == ["2601.00001", "2601.00002"]
    assert search.refresh() == 0


def test_a_deleted_or_foreign_index_folder_is_rebuilt(tmp_path, new_db):
    first = Store(new_db("a"))
    first.apply([paper("2601.00001", "Graph neural networks")])
    Search(first, tmp_path / "idx").refresh()
    other_store = Store(new_db("b"))  # another database, same folder
    other_store.apply([paper("2601.00009", "Protein folding")])
    other = Search(other_store, tmp_path / "idx")
    assert other.lag() == 1 and other.refresh() == 1
    assert ids(other, "graph") == [] and ids(other, "protein") == ["2601.00009"]

    Search(first).refresh()  # the default folder, beside the database
    shutil.rmtree(index_of(first.url))  # deleted: rebuilt from scratch
    again = Search(first)
    assert again.lag() == 1 and again.refresh() == 1 and ids(again, "graph") == ["2601.00001"]


def test_an_interrupted_refresh_resumes_without_duplicates(store, search):
    store.apply([paper(f"2601.{n:05d}", f"Title number {n} about graphs") for n in range(1, 8)])

    def stop_after_first_batch(count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search.refresh(progress=stop_after_first_batch, batch=3)
    assert search.lag() == 4  # the first batch of 3 was committed
    assert search.refresh(batch=3) == 4
    assert sorted(ids(search, "graphs")) == [f"2601.{n:05d}" for n in range(1, 8)]


@pytest.mark.parametrize("text", ['"unbalanced', "NEAR(a b)", "a AND OR NOT", "*", "-x", "title:y", "(((", "😀", "x" * 250, ""])
def test_user_text_never_reaches_query_syntax(store, search, text):
    store.apply([paper("2601.00001", "Robust title")])
    search.refresh()
    assert isinstance(search.papers(text), list)
    assert all(term.isalnum() or "_" in term for term in lexical.query_terms(text))  # no query syntax survives


def test_any_word_matches_and_papers_matching_more_words_rank_first(store, search):
    store.apply([
        paper("2601.00001", "Exploration with sparse rewards"),
        paper("2601.00002", "Go-Explore: exploration for hard sparse reward problems"),
        paper("2601.00003", "Image segmentation", abstract="Nothing about the query."),
    ])  # fmt: skip
    search.refresh()
    found = ids(search, "go explore sparse reward exploration")
    assert found[:2] == ["2601.00002", "2601.00001"] and "2601.00003" not in found
    # a word no paper has does not empty the list
    assert sorted(ids(search, "sparse reward quantum")) == ["2601.00001", "2601.00002"]


def test_every_sentence_of_a_long_query_counts(store, search):
    store.apply([
        paper("2601.00041", "Planning with learned world models",
              abstract="The agent plans in a latent space, and its model learns from pixels with a reconstruction loss."),
        paper("2601.00042", "Plasma control", abstract="A controller for a tokamak."),
    ])  # fmt: skip
    search.refresh()
    text = ("I remember a paper on planning with learned world models. The agent plans in a latent space and the "
            "model is trained from pixels with a reconstruction loss. It was tested on a tokamak.")  # fmt: skip
    assert text.split().index("tokamak.") >= 32  # past where long queries used to be cut
    assert ids(search, text) == ["2601.00041", "2601.00042"]


def test_title_outweighs_authors_which_outweigh_the_abstract(store, search):
    filler = "We report experiments on several standard benchmarks and compare with strong baselines."
    store.apply([
        paper("2601.00011", "Learning to plan", abstract=f"{filler} Kepler appears once here."),
        paper("2601.00012", "Kepler: learning to plan", abstract=filler),
        paper("2601.00013", "Learning to plan", abstract=filler, authors=("Jo Kepler",)),
    ])  # fmt: skip
    search.refresh()
    assert ids(search, "kepler") == ["2601.00012", "2601.00013", "2601.00011"]


def test_common_words_do_not_decide_the_ranking_but_still_find_alone(store, search):
    store.apply([
        paper("2601.00021", "The state of the art of the field", abstract="The the the of of in in."),
        paper("2601.00022", "Diffusion models", abstract="A study of the diffusion models for audio."),
    ])  # fmt: skip
    search.refresh()
    assert ids(search, "the state of diffusion models") == ["2601.00022", "2601.00021"]
    assert ids(search, "the of") == ["2601.00021", "2601.00022"]  # nothing but common words: they count
    found = search.find("the diffusion models", mode="lexical")  # and only words that ranked are highlighted
    assert [found.why[p["pk"]]["terms"] for p in found.papers] == [["diffusion", "models"]]
    found = search.find('"the state" field', mode="lexical")  # a phrase keeps its common words
    assert [found.why[p["pk"]]["terms"] for p in found.papers] == [["field", "state", "the"]]


def test_a_phrase_does_not_run_from_the_title_into_the_abstract(store, search):
    store.apply([paper("2601.00031", "Sparse attention", abstract="Reward models for dialogue.")])
    search.refresh()
    assert ids(search, '"attention reward"') == []
    assert ids(search, '"sparse attention"') == ids(search, '"reward models"') == ["2601.00031"]


@pytest.fixture
def catalog(store, search):
    def add(pid, title, *, day, cats, org=None, upvotes=0, authors=("Ada Lovelace",), abstract="An abstract."):
        rec = paper(pid, title, day=day, abstract=abstract, authors=authors)
        rec.categories, rec.published_at, rec.upvotes = cats, f"{day}T00:00:00.000Z", upvotes
        rec.organization = {"name": org, "fullname": org.title(), "avatar": None} if org else None
        return rec

    store.apply([
        add("2501.00001", "Sparse reward exploration in robotics", day="2025-01-10", cats=["cs.RO", "cs.LG"], upvotes=5,
            authors=("Yann LeCun", "Ada Lovelace")),
        add("2503.00002", "A survey of reward shaping", day="2025-03-02", cats=["cs.LG"], org="deepmind", upvotes=50),
        add("2506.00003", "Exploration with language models", day="2025-06-20", cats=["cs.CL"], org="google", upvotes=20,
            abstract="We study sparse reward problems with large language models."),
    ])  # fmt: skip
    search.refresh()
    return search


@pytest.mark.parametrize("text, expected", [
    ('"sparse reward"', {"2501.00001", "2506.00003"}),
    ('"reward sparse"', set()),  # a phrase keeps its order
    ("exploration -robotics", {"2506.00003"}),
    ('exploration -"language models"', {"2501.00001"}),
    ("author:lecun", {"2501.00001"}),
    ('author:"Ada Lovelace" reward', {"2501.00001", "2503.00002", "2506.00003"}),
    ("cat:cs.LG", {"2501.00001", "2503.00002"}),
    ("cat:cs.lg cat:cs.CL exploration", {"2501.00001", "2506.00003"}),
    ("org:deepmind", {"2503.00002"}),
    ("org:Google exploration", {"2506.00003"}),
    ("from:2025-02 reward", {"2503.00002", "2506.00003"}),
    ("to:2025-03-01 reward", {"2501.00001"}),
    ("from:2025 to:2025-05", {"2501.00001", "2503.00002"}),
    ("-survey", {"2501.00001", "2506.00003"}),
    ("title:sparse", {"2501.00001", "2506.00003"}),  # not a field: two words
])  # fmt: skip
def test_search_syntax(catalog, text, expected):
    assert set(ids(catalog, text)) == expected


def test_sorting_and_filters_given_apart(catalog):
    assert [p["id"] for p in catalog.papers("reward", sort="upvotes")] == ["2503.00002", "2506.00003", "2501.00001"]
    assert [p["id"] for p in catalog.papers("reward", sort="date")] == ["2506.00003", "2503.00002", "2501.00001"]
    apart = catalog.papers("reward", category="cs.LG", published_from="2025-02", organization="deepmind")
    assert [p["id"] for p in apart] == [p["id"] for p in catalog.papers("reward cat:cs.LG from:2025-02 org:deepmind")]
    with pytest.raises(ValueError):
        catalog.papers("reward", sort="random")


def test_search_parameters_over_http(live_demo):
    import httpx

    url = f"{live_demo.url}/api/papers/search"
    by_org = httpx.get(url, params={"q": "agent", "organization": "google", "limit": 10}).json()
    assert by_org and all(item["organization"]["name"] == "google" for item in by_org)
    top = httpx.get(url, params={"q": "agent", "sort": "upvotes", "limit": 5}).json()
    assert [i["upvotes"] for i in top] == sorted((i["upvotes"] for i in top), reverse=True)
    for params in ({"q": "x", "from": "2025-13"}, {"q": "x", "to": "soon"}, {"q": "x", "sort": "random"}):
        response = httpx.get(url, params=params)
        assert response.status_code == 422 and response.json()["error"]


def test_related_papers_are_the_most_alike_and_never_the_paper_itself(store, search):
    store.apply([
        paper("2601.00001", "Group relative policy optimization for flow matching models",
              abstract="We apply GRPO reinforcement learning to align flow matching image generators with human preference."),
        paper("2601.00002", "Flow-GRPO: online reinforcement learning for flow matching",
              abstract="Online GRPO reinforcement learning trains flow matching models to follow human preference."),
        paper("2601.00003", "Protein structure prediction with equivariant networks",
              abstract="Equivariant graph networks predict protein structure from sequence."),
        *[paper(f"2601.{n:05d}", f"Filler paper {n} about matching and flow of learning", abstract="Generic text about learning.")
          for n in range(4, 9)],
    ])  # fmt: skip
    search.refresh()
    related = [p["id"] for p in search.similar(store.paper("2601.00001"), limit=5)]
    assert related[0] == "2601.00002" and "2601.00001" not in related and "2601.00003" not in related
    assert len(related) <= 5


def test_related_papers_over_http(live_demo):
    import httpx

    store = live_demo.app.state.store
    day = store.latest_day()
    paper_id = store.feed(*2 * [__import__("datetime").date.fromisoformat(day)], limit=1)[0][0]["id"]
    related = httpx.get(f"{live_demo.url}/api/papers/{paper_id}/similar", params={"limit": 6}).json()
    assert 0 < len(related) <= 6 and paper_id not in [item["id"] for item in related]
    page = httpx.get(f"{live_demo.url}/papers/{paper_id}").text
    assert "Related papers" in page and f'/papers/{related[0]["id"]}"' in page
    assert httpx.get(f"{live_demo.url}/api/papers/2101.99999/similar").status_code == 404
    assert httpx.get(f"{live_demo.url}/api/papers/{paper_id}/similar", params={"limit": 0}).status_code == 422
