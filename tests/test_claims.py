"""The claims registry: coverage of every seed table, tolerance rules, and verdicts end to end."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from satrnn.cache import Results
from satrnn.ledger import claims as C
from satrnn.ledger.measures import MEASURES, run_ledger

REPO = Path(__file__).resolve().parent.parent


def _seed_dir() -> tuple[Path, bool]:
    """The seed papers: $SATRNN_SEEDS, else next to $SATRNN_DATA (required then, as in CI), else ../shared."""
    if os.environ.get("SATRNN_SEEDS"):
        return Path(os.environ["SATRNN_SEEDS"]), True
    if os.environ.get("SATRNN_DATA"):
        return Path(os.environ["SATRNN_DATA"]).resolve().parent / "seeds", True
    return REPO.parent / "shared" / "seeds", False


SEED_DIR, SEEDS_REQUIRED = _seed_dir()


def detect_tables(text: str) -> list[tuple[str, int]]:
    """Tables of a seed text: maximal runs of tab-separated or '|' lines -> (first header cell, data rows)."""
    blocks, cur = [], []
    for line in text.splitlines():
        if "\t" in line or line.startswith("|"):
            cur.append(line)
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    out = []
    for b in blocks:
        head = b[0].strip("|").split("\t" if "\t" in b[0] else "|")[0].strip()
        rows = [line for line in b[1:] if not re.fullmatch(r"\|?[-| ]+\|?", line)]
        rows = [line for line in rows if re.search(r"\d|h\d", line)]  # numeric rows only
        out.append((head, len(rows)))
    return out


@pytest.fixture(scope="module")
def seed_texts():
    if not SEED_DIR.is_dir():
        if SEEDS_REQUIRED:
            pytest.fail(f"seed documents not found in {SEED_DIR} (SATRNN_DATA/SATRNN_SEEDS is set)")
        pytest.skip(f"seed documents not found in {SEED_DIR}")
    return {k: (SEED_DIR / f).read_text(encoding="utf-8") for k, f in C.SEEDS.items()}


def test_seed_files_named_in_registry_exist(seed_texts):
    assert set(seed_texts) == {"000", "001", "002", "003", "004"}
    for c in C.CLAIMS:
        assert c.seed in C.SEEDS.values()


def test_every_table_row_of_the_inventory_has_claims():
    """Needs no seed texts: each inventoried table row has at least one claim (checked against the texts below)."""
    assert len(C.TABLES) == 20
    for _, key, _, n in C.TABLES:
        rows = {c.row for c in C.CLAIMS if c.table == key}
        assert len(rows) == n, (key, sorted(rows))
    assert {c.table for c in C.CLAIMS if c.table} == {key for _, key, _, _ in C.TABLES}


def test_every_numeric_table_of_every_seed_is_covered_row_by_row(seed_texts):
    inventory = {k: [(head, n) for s, _, head, n in C.TABLES if s == k] for k in C.SEEDS}
    n_tables = 0
    for k, text in seed_texts.items():
        detected = detect_tables(text)
        assert len(detected) == len(inventory[k]), (k, detected)
        for (head, n), (ihead, inn) in zip(detected, inventory[k]):
            assert head.startswith(ihead), (k, head, ihead)
            assert n == inn, (k, head, n, inn)
        n_tables += len(detected)
    assert n_tables == len(C.TABLES) == 20
    for s, key, _, n in C.TABLES:
        rows = {c.row for c in C.CLAIMS if c.table == key}
        assert len(rows) == n, (key, sorted(rows))
        assert all(c.seed_key == s for c in C.CLAIMS if c.table == key)


def test_registry_is_well_formed():
    ids = [c.id for c in C.CLAIMS]
    assert len(ids) == len(set(ids))
    for c in C.CLAIMS:
        assert re.fullmatch(r"s00\d\.[a-z0-9_.\-]+", c.id), c.id
        assert c.id.startswith(f"s{c.seed_key}.")
        _ = c.parsed  # parses
        assert c.statement and c.section and c.paper_value
        if c.measure is None:
            assert c.reason, f"{c.id}: no measurement and no reason"
        else:
            assert c.measure in MEASURES, f"{c.id}: unknown measurement {c.measure}"
            assert c.definition, f"{c.id}: no definition"
        if c.kind in ("label", "set", "bool") and c.reason is None:
            assert c.expected is not None, c.id
        if c.gate is not None:
            assert C.get_claim(c.gate).gate == c.gate  # the gate claim gates itself
    per_seed = {k: len(C.claims_for(k)) for k in C.SEEDS}
    assert all(n > 30 for n in per_seed.values()), per_seed


@pytest.mark.parametrize("printed,kind,measured,verdict", [
    ("0.079", "number", 0.0792, "reproduced"),
    ("0.079", "number", 0.0796, "differs"),
    ("0.0792", "number", 0.07924, "reproduced"),
    ("77.2%", "number", 77.249, "reproduced"),
    ("77.2%", "number", 77.26, "differs"),
    ("82,304", "number", 82304, "reproduced"),
    ("82,304", "number", 82305, "differs"),
    ("+0.0348", "number", 0.03484, "reproduced"),
    ("-0.016", "number", -0.0162, "reproduced"),
    ("~4.6", "approx", 4.2, "reproduced"),
    ("~4.6", "approx", 4.0, "differs"),
    ("~57k", "approx", 57216, "reproduced"),
    ("~26,000", "approx", 36992, "differs"),
    ("4.7×10^-5", "number", 4.74e-5, "reproduced"),
    ("4.7×10^-5", "number", 4.8e-5, "differs"),
    ("87–96%", "range", [87.0, 95.0, 96.4], "reproduced"),
    ("87–96%", "range", [86.0, 95.0], "differs"),
    ("< 37%", "bound", [10.0, 37.4], "reproduced"),
    ("< 37%", "bound", [37.6], "differs"),
    ("> 0.5", "bound", 0.6, "reproduced"),
    ("10^6", "order", 2.5e6, "reproduced"),
    ("10^6", "order", 5e4, "differs"),
])
def test_tolerance_rules(printed, kind, measured, verdict):
    c = C.Claim(id="s000.test", seed=C.SEEDS["000"], section="x", statement="x", paper_value=printed,
                measure="x", kind=kind)
    assert C.compare(c, measured)[0] == verdict


def test_labels_sets_and_bools():
    mk = lambda kind, exp: C.Claim(id="s000.t", seed=C.SEEDS["000"], section="x", statement="x",
                                   paper_value="x", measure="x", kind=kind, expected=exp)
    assert C.compare(mk("label", 54), 54)[0] == "reproduced"
    assert C.compare(mk("label", 54), 8)[0] == "differs"
    assert C.compare(mk("label", [1, 8, 20]), (1, 8, 20))[0] == "reproduced"
    assert C.compare(mk("set", [68, 76, 99, 8]), [8, 99, 76, 68])[0] == "reproduced"
    assert C.compare(mk("bool", True), False)[0] == "differs"


def test_claims_are_data_validated_at_load():
    """Each seed's claims live in satrnn/ledger/seed_claims/NNN.json; a bad file is refused naming file and claim."""
    files = sorted(p.name for p in (REPO / "satrnn" / "ledger" / "seed_claims").glob("*.json"))
    assert files == [f"{k}.json" for k in C.SEEDS]
    good = json.loads((REPO / "satrnn" / "ledger" / "seed_claims" / "004.json").read_text(encoding="utf-8"))
    key, fname, tables, claims = C.load_seed_file(json.dumps(good), "004.json")
    assert key == "004" and claims == C.claims_for("004") and len(tables) == 3

    def broken(**change):
        doc = json.loads(json.dumps(good))
        doc["claims"][1].update(change)
        return json.dumps(doc)
    for change, msg in (({"paper_value": "about twelve"}, "cannot parse"), ({"kind": "vibe"}, "unknown kind"),
                        ({"id": "s003.x"}, "does not start with s004."), ({"colour": "red"}, "unknown fields")):
        with pytest.raises(ValueError, match=msg):
            C.load_seed_file(broken(**change), "004.json")


def test_evaluate_counts_every_claim_and_reports_missing_modules():
    def fn(c):
        if c.measure == "bpc":
            return 0.0792
        raise C.NotAvailable("analysis analyses.fake not available")
    recs = C.evaluate(C.CLAIMS, fn)
    assert len(recs) == len(C.CLAIMS)
    s = C.summarize(recs)
    assert s.total["total"] == len(C.CLAIMS)
    assert sum(d["total"] for d in s.per_seed.values()) == len(C.CLAIMS)
    for r in recs:
        assert r.verdict in C.VERDICTS
        if r.verdict == "not measurable":
            assert r.reason


def test_paper_values_appear_only_in_the_registry():
    """Distinctive printed values (>= 3 significant digits with a decimal point) are not in the ledger code."""
    mine = ["satrnn/ledger/measures.py", "satrnn/report/sections.py", "satrnn/ledger/claims.py", "satrnn/api.py",
            "satrnn/cache.py", "satrnn/report/render.py"]
    mine += [str(p.relative_to(REPO)) for p in sorted((REPO / "satrnn" / "commands").glob("*.py"))]  # the units
    values = set()
    for c in C.CLAIMS:
        for m in re.findall(r"\d+\.\d+", c.paper_value):
            if len(m.replace(".", "").lstrip("0")) >= 3 and float(m) not in (0.0, 1.0, 8.0, 100.0):
                values.add(m)
    for f in mine:
        p = REPO / f
        if not p.exists():
            continue
        src = p.read_text()
        found = [v for v in values if re.search(rf"(?<![\d.]){re.escape(v)}(?![\d])", src)]
        assert not found, (f, found)


# ---- end to end on the published weights ------------------------------------------------------------------

@pytest.fixture(scope="module")
def ledger(published):
    model, xs = published
    records, summary = run_ledger(model, xs, show_progress=False, results=Results(model, xs))
    return {r.id: r for r in records}, summary


def test_every_measurement_runs(ledger):
    recs, summary = ledger
    assert summary.total["total"] == len(C.CLAIMS)
    for r in recs.values():
        reason = r.reason or ""
        assert not reason.startswith("measurement failed"), (r.id, reason)
        assert "not implemented" not in reason, (r.id, reason)
        if r.verdict == "not measurable" and C.get_claim(r.id).reason is None:
            # every analysis module has landed: only a gate may make a measurable claim unmeasurable
            assert reason.startswith("baseline mismatch"), (r.id, reason)
            assert r.measured is not None, r.id
        if C.get_claim(r.id).measure is not None and C.get_claim(r.id).reason is None:
            assert r.measured is not None, r.id


@pytest.mark.parametrize("cid,verdict", [
    ("s004.intro.baseline", "reproduced"),
    ("s000.results.sig.total", "reproduced"),
    ("s000.results.sig.wh", "reproduced"),
    ("s003.model.total", "reproduced"),
    ("s004.weights.wh_max", "reproduced"),
    ("s004.redux.redux.params", "reproduced"),
    ("s004.redux.redux.wh_kept", "differs"),
    ("s001.abstract.infer_params", "differs"),
    ("s001.minimal.wh_below3", "differs"),
    ("s001.minimal.top20.bpc", "not measurable"),
    ("s003.construction.analytic.bpc", "not measurable"),
    ("s004.knockout.rank0.neuron", "reproduced"),
    ("s004.knockout.rank0.delta", "reproduced"),
    ("s004.keep_top_k.k15.bpc", "reproduced"),
    ("s004.keep_top_k.k15.pct", "reproduced"),
    ("s004.knockout.rank2.demotes", "reproduced"),
    ("s000.sparsity.tau1e-2.median", "reproduced"),
    ("s003.factor_map.1_7.neurons", "reproduced"),
    ("s003.counting.skip8.patterns", "reproduced"),
    ("s003.iso.exact", "reproduced"),
    ("s001.boolean.mean_margin", "differs"),
    ("s001.overview.q3.top_neuron", "differs"),
    ("s004.keep_top_k.k120_exact", "differs"),
])
def test_sample_verdicts_on_published_weights(ledger, cid, verdict):
    recs, _ = ledger
    assert recs[cid].verdict == verdict, recs[cid]


def test_gated_rows_keep_their_measurement_and_say_why(ledger):
    recs, _ = ledger
    base = recs["s001.minimal.full.bpc"]
    assert base.verdict == "not measurable"
    assert abs(base.measured - recs["s004.intro.baseline"].measured) < 1e-12
    assert "baseline" in base.reason


def test_verify_cli_json_and_strict(model_path, text_path, capsys):
    from satrnn.cli import main
    rc = main(["verify", str(model_path), str(text_path), "--only", "004", "--json"])
    assert rc == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == len(C.claims_for("004"))
    for r in recs:
        assert {"id", "seed", "section", "statement", "paper_value", "measured", "definition", "verdict"} <= set(r)
        assert r["seed"] == C.SEEDS["004"]
    rc = main(["verify", str(model_path), str(text_path), "--only", "004", "--json", "--strict"])
    capsys.readouterr()
    assert rc == (1 if any(r["verdict"] == "differs" for r in recs) else 0)
    assert main(["verify", str(model_path), str(text_path), "--only", "9"]) == 2
    rc = main(["verify", str(model_path), str(text_path), "--only", "4", "--json", "--verdict", "differs"])
    diff = json.loads(capsys.readouterr().out)
    assert rc == 0 and diff and all(r["verdict"] == "differs" for r in diff)
    assert len(diff) == sum(r["verdict"] == "differs" for r in recs)
