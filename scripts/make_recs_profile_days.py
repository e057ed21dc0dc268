"""A second recommendation benchmark from the first one's profiles alone, for `dailypapers eval-recs`.

    python scripts/make_recs_profile_days.py ../shared/data/recs-hf-submitters /tmp/recs-profile-days

The benchmark's test days are what the reader model is judged on, and its constants were chosen on them.
This set checks a change on other days: each person's profile (their submissions before the cut) is cut
again the same way, at the feed day of the submission at 60%; the submissions before it are the new
profile, and each later profile day is a test whose candidates are every paper featured that day (in id
order) and whose relevant papers are the ones they submitted. People with fewer than MIN_PROFILE
submissions, or fewer than MIN_KEPT before the new cut, are left out. Nothing from the original test days
is used. On the shared set: 48 people, 186 test days, 19.8 candidates a day.
"""

import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from dailypapers.rank.evaluate_recs import load  # noqa: E402

CUT, MIN_PROFILE, MIN_KEPT = 0.6, 6, 3


def main(source: Path, target: Path) -> None:
    bench = load(source)
    by_day = defaultdict(list)
    for paper_id, day in bench.featured.items():
        by_day[day].append(paper_id)
    users, tests = [], []
    for user in bench.users.values():
        submitted = sorted((bench.featured[i], i) for i in user["positives"])
        if len(submitted) < MIN_PROFILE:
            continue
        cut = submitted[int(len(submitted) * CUT)][0]
        kept = [i for day, i in submitted if day < cut]
        if len(kept) < MIN_KEPT:
            continue
        users.append({"user": user["user"], "positives": kept, "negatives": [], "profile_until": cut})
        later = defaultdict(list)
        for day, paper_id in submitted:
            if day >= cut:
                later[day].append(paper_id)
        for day, relevant in sorted(later.items()):
            tests.append({"user": user["user"], "day": day, "candidates": sorted(by_day[day]), "relevant": relevant})
    target.mkdir(parents=True, exist_ok=True)
    papers = next(source / name for name in ("papers.jsonl.gz", "papers.jsonl") if (source / name).exists())
    shutil.copyfile(papers, target / papers.name)
    (target / "users.jsonl").write_text("".join(json.dumps(u) + "\n" for u in users))
    (target / "tests.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tests))
    print(f"{len(users)} people, {len(tests)} test days -> {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: make_recs_profile_days.py SOURCE_DIR TARGET_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
