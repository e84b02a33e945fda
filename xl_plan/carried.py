"""Carried-forward (starred) actions: find the stars in every form plans use, and check
them against the previous plan (matched by ref + text similarity, one-to-one, never below
a threshold the user sets).

Core on plain data: `carried_forward(plan, previous=None, today=None, threshold=80)`
takes Plan objects (from `read_plan`) and returns a CarriedForward of values."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process, utils

from . import rag
from .model import Action, Plan
from .report import Finding, Report
from .stars import Starred, find_key_note, find_stars, is_key_note, letters_of, ref_key, ref_text, strip_stars
from .timescales import action_end

DEFAULT_THRESHOLD = 80.0
WEAK_FLOOR = 50.0            # below this a candidate is not worth naming
REF_BONUS = 5.0              # same ref adds this to the text score (refs repeat, so never more)



# ---------------------------------------------------------------- values


@dataclass
class Pair:
    """One row of the comparison: a new action and the previous plan's action it matched (either may be None)."""

    new: Action | None
    old: Action | None
    score: float | None = None          # the match score, or the best (too weak) candidate's score
    candidate: Action | None = None     # for an unmatched action: the closest one below the threshold
    starred: list[Starred] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.new is not None and self.old is not None

    @property
    def outcome(self) -> str:
        """In words, for tables: the findings, or what happened when there is none."""
        if self.codes:
            return ", ".join(self.codes)
        if self.matched:
            return "matched"
        if self.new is None:
            return "complete before, not carried"
        return "new"

    def to_dict(self) -> dict:
        def side(a: Action | None) -> dict | None:
            if a is None:
                return None
            return {"sheet": a.sheet, "row": a.row, "ref": ref_text(a), "text": strip_stars(a.text),
                    "timescale": strip_stars(a.timescale_text), "status": ("complete" if a.status.complete else a.status.code) if a.status else "", "lead": a.lead_text}
        cand = self.candidate
        return {
            "new": side(self.new), "old": side(self.old),
            "score": None if self.score is None else round(self.score, 1),
            "candidate": None if cand is None else {"sheet": cand.sheet, "row": cand.row, "ref": ref_text(cand)},
            "starred": [s.marker + (f" item {s.item}" if s.item else "") for s in self.starred],
            "findings": list(self.codes), "outcome": self.outcome,
        }


@dataclass
class CarriedForward:
    """What `carried_forward` found: the starred actions, the pairs matched with the previous plan,
    and its findings as a Report (the one report type)."""

    plan: Plan
    starred: list[Starred]
    report: Report
    previous: Plan | None = None
    pairs: list[Pair] = field(default_factory=list)
    threshold: float = DEFAULT_THRESHOLD
    note: tuple[int, str] | None = None       # the plan's note explaining the star: (row, text)

    def to_dict(self) -> dict:
        out = {
            "starred": [s.to_dict() for s in self.starred],
            "findings": [f.to_dict() for f in self.report.sorted()],
            "counts": {"starred": len(self.starred), "by_code": self.report.counts_by_code()},
            "note": None if self.note is None else {"row": self.note[0], "text": self.note[1]},
        }
        if self.previous is not None:
            out["previous"] = {"path": self.previous.path, "sheet": self.previous.sheet, "actions": len(self.previous.actions)}
            out["threshold"] = self.threshold
            out["matches"] = [p.to_dict() for p in self.pairs]
        return out


# ---------------------------------------------------------------- matching


def _match_text(a: Action) -> str:
    return strip_stars(a.text)


def _processed(a: Action) -> str:
    return utils.default_process(_match_text(a))


def _text_scores(nt: list[str], ot: list[str]):
    """Text similarity 0-100 (numpy, len(nt) x len(ot)) of processed texts: the mean of the token-sort
    and token-set ratios. Rewording and reordering keep a high score; different actions on the same
    theme stay below ~75 in the sample plans."""
    sort_n = [" ".join(sorted(t.split())) for t in nt]
    sort_o = [" ".join(sorted(t.split())) for t in ot]
    s1 = process.cdist(sort_n, sort_o, scorer=fuzz.ratio, workers=-1)        # = token_sort_ratio, faster
    s2 = process.cdist(nt, ot, scorer=fuzz.token_set_ratio, workers=-1)
    return (np.asarray(s1, dtype=float) + np.asarray(s2, dtype=float)) / 2.0


def _norm_section(s: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", " ", (s or "").lower()).strip()


@dataclass
class Matching:
    """The one-to-one assignment: matches {new index: (old index, score)}; for each unmatched action the
    closest unmatched one on the other side when it scores at least WEAK_FLOOR (never matched)."""

    matches: dict[int, tuple[int, float]]
    weak_new: dict[int, tuple[int, float]]      # unmatched new index -> (unmatched old index, score)
    weak_old: dict[int, tuple[int, float]]      # unmatched old index -> (unmatched new index, score)


def match_actions(new: list[Action], old: list[Action], threshold: float = DEFAULT_THRESHOLD) -> Matching:
    """Match new actions to old ones, one-to-one, greedily by best score. The score is the text similarity,
    plus REF_BONUS when the refs are the same (refs repeat and restart, so a ref alone never matches).
    Ties go to the same ref, then the same section, then the nearest position. Actions with no text pair
    only with one with no text, the same ref and the same section (score 90). Identical texts are paired
    first, so only the rest needs the (slower) fuzzy scores."""
    new_text = [_processed(a) for a in new]
    old_text = [_processed(a) for a in old]
    new_ref = [ref_key(a.ref) for a in new]
    old_ref = [ref_key(a.ref) for a in old]
    sections: dict[str, int] = {}
    new_sec = [sections.setdefault(_norm_section(a.section), len(sections)) for a in new]
    old_sec = [sections.setdefault(_norm_section(a.section), len(sections)) for a in old]
    n_new, n_old = max(len(new), 1), max(len(old), 1)

    def order_key(i: int, j: int, score: float):
        same_ref = bool(new_ref[i]) and new_ref[i] == old_ref[j]
        return (-score, not same_ref, new_sec[i] != old_sec[j], abs(i / n_new - j / n_old))

    used_new: set[int] = set()
    used_old: set[int] = set()
    matches: dict[int, tuple[int, float]] = {}

    def assign(candidates):
        for *_, i, j, score in sorted(candidates):
            if i not in used_new and j not in used_old:
                matches[i] = (j, score)
                used_new.add(i)
                used_old.add(j)

    # 1. identical texts (score 100), and textless actions with the same ref and section (90)
    by_text: dict[str, list[int]] = {}
    for j, t in enumerate(old_text):
        by_text.setdefault(t, []).append(j)
    exact = []
    for i, t in enumerate(new_text):
        for j in by_text.get(t, []):
            if t:
                exact.append((*order_key(i, j, 100.0), i, j, 100.0))
            elif new_ref[i] and new_ref[i] == old_ref[j] and new_sec[i] == old_sec[j]:
                exact.append((*order_key(i, j, 90.0), i, j, 90.0))
    assign(exact)

    # 2. fuzzy scores (+ the ref bonus) for the rest
    rest_new = [i for i in range(len(new)) if i not in used_new and new_text[i]]
    rest_old = [j for j in range(len(old)) if j not in used_old and old_text[j]]
    weak_new: dict[int, tuple[int, float]] = {}
    weak_old: dict[int, tuple[int, float]] = {}
    if not rest_new or not rest_old:
        return Matching(matches, weak_new, weak_old)
    scores = _text_scores([new_text[i] for i in rest_new], [old_text[j] for j in rest_old])
    ref_cols: dict[str, list[int]] = {}
    for b, j in enumerate(rest_old):
        if old_ref[j]:
            ref_cols.setdefault(old_ref[j], []).append(b)
    for a, i in enumerate(rest_new):
        cols = ref_cols.get(new_ref[i]) if new_ref[i] else None
        if cols:
            scores[a, cols] = np.minimum(100.0, scores[a, cols] + REF_BONUS)
    aa, bb = np.nonzero(scores >= threshold)
    assign([(*order_key(rest_new[a], rest_old[b], float(scores[a, b])), rest_new[a], rest_old[b], float(scores[a, b]))
            for a, b in zip(aa.tolist(), bb.tolist())])

    # 3. for what is left on each side: the closest candidate on the other side, named but never matched
    free_new = [a for a, i in enumerate(rest_new) if i not in used_new]
    free_old = [b for b, j in enumerate(rest_old) if j not in used_old]
    if free_new and free_old:
        sub = scores[np.ix_(free_new, free_old)]
        for x, a in enumerate(free_new):
            y = int(sub[x].argmax())
            if sub[x, y] >= WEAK_FLOOR:
                weak_new[rest_new[a]] = (rest_old[free_old[y]], float(sub[x, y]))
        for y, b in enumerate(free_old):
            x = int(sub[:, y].argmax())
            if sub[x, y] >= WEAK_FLOOR:
                weak_old[rest_old[b]] = (rest_new[free_new[x]], float(sub[x, y]))
    return Matching(matches, weak_new, weak_old)


# ---------------------------------------------------------------- the check


def _complete(a: Action) -> bool:
    return bool(a.status and a.status.complete)


def _label(a: Action, row: bool = True) -> str:
    ref = ref_key(a.ref)
    head = f"action {strip_stars(a.ref)}" if ref else (f"the action in row {a.row}" if row else "the action")
    text = " ".join(strip_stars(a.text).split())
    text = text if len(text) <= 60 else text[:59] + "…"
    return f"{head} ('{text}')" if text else head


def _where_new(a: Action) -> str | None:
    return letters_of(a.cells.get("ref")) or letters_of(a.cells.get("action"))


def _timescale_cell(a: Action) -> str | None:
    return letters_of(a.cells.get("timescale") or a.cells.get("end") or a.cells.get("start"))


def _months(old: date, new: date) -> int:
    return (new.year - old.year) * 12 + new.month - old.month


def _norm_timescale(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", strip_stars(text).lower()).strip()


def carried_forward(plan: Plan, previous: Plan | None = None, today: date | None = None,
                    threshold: float = DEFAULT_THRESHOLD) -> CarriedForward:
    """Starred actions of `plan`, the note explaining the star, and (with `previous`) each action
    matched to the previous plan: carried-not-starred, starred-not-found, timescale-not-amended,
    slippage, dropped, new-action and weak-match findings."""
    threshold = float(threshold)
    starred = find_stars(plan)
    note = find_key_note(plan)
    report = Report(title="Carried forward")
    result = CarriedForward(plan, starred, report, previous, threshold=threshold, note=note)

    if note and not starred:
        report.add(Finding(
            "star-note-without-stars",
            f"The plan says '{_shorten(note[1], 90)}' (row {note[0]}) but no action is starred. If actions were "
            "carried forward from the previous plan, star them (e.g. '3.2*'); otherwise remove the note.",
            plan.sheet, note[0], None, note[1],
        ))
    if starred and not note:
        first = starred[0]
        report.add(Finding(
            "stars-without-note",
            f"{len(starred)} action{'s are' if len(starred) != 1 else ' is'} starred (first: row {first.action.row}) but "
            "the plan has no note saying what the star means. Add one above the table, e.g. 'Actions starred* are "
            "carried forward from the previous plan with amended timescales'.",
            plan.sheet, first.action.row, first.column, first.marker,
        ))

    if previous is not None:
        _compare(result, today)
    return result


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _compare(result: CarriedForward, today: date | None) -> None:
    plan, previous, report, threshold = result.plan, result.previous, result.report, result.threshold
    new = [a for a in plan.actions if not is_key_note(a.text)]
    old = [a for a in previous.actions if not is_key_note(a.text)]
    stars_by_row: dict[int, list[Starred]] = {}
    for s in result.starred:
        stars_by_row.setdefault(s.action.row, []).append(s)
    matching = match_actions(new, old, threshold)
    matches = matching.matches
    prev_name = Path(previous.path).name
    prev_sheet = f"previous plan: {previous.sheet}"

    pairs: list[Pair] = []
    carried_into: dict[int, tuple[Action, int, float]] = {}   # old index -> (new action, item, score)
    for i, n in enumerate(new):
        stars = stars_by_row.get(n.row, [])
        pair = Pair(n, None, starred=stars)
        if i in matches:
            j, score = matches[i]
            o = old[j]
            pair.old, pair.score = o, score
            _check_pair(pair, n, o, stars, report, prev_name, today, threshold, result.previous.rag_key)
        else:
            weak = matching.weak_new.get(i)
            if weak is not None:
                o, s = old[weak[0]], weak[1]
                pair.candidate, pair.score = o, s
                report.add(Finding(
                    "weak-match",
                    f"{_cap(_label(n))} might be {_label(o)} in row {o.row} of the previous plan ({prev_name}), "
                    f"but they are only {s:.0f}% alike (below the threshold of {threshold:.0f}%), so they were not "
                    "matched. If they are the same action, lower --threshold or make the wording closer.",
                    n.sheet, n.row, letters_of(n.cells.get("action")), round(s, 1),
                ))
                pair.codes.append("weak-match")
            # a starred list item may have been a whole action of the previous plan
            unfound = []
            for st in stars:
                if st.item is not None and st.item_text:
                    j, s = _best_item(st.item_text, old)
                    if j is not None and s >= threshold:
                        carried_into.setdefault(j, (n, st.item, s))
                        continue
                unfound.append(st)
            if unfound:
                item_note = "".join(f" (item {s.item})" for s in unfound if s.item)
                report.add(Finding(
                    "starred-not-found",
                    f"{_cap(_label(n))} is starred{item_note} as carried forward, but nothing like it is in the "
                    f"previous plan ({prev_name}). Check the star, or the action's wording against the previous plan.",
                    n.sheet, n.row, unfound[0].column, unfound[0].marker,
                ))
                pair.codes.append("starred-not-found")
            elif stars:
                pair.codes.append("items-carried")
            else:
                report.add(Finding(
                    "new-action",
                    f"{_cap(_label(n))} is new: nothing in the previous plan ({prev_name}) matches it with a score of "
                    f"{threshold:.0f} or more.",
                    n.sheet, n.row, letters_of(n.cells.get("action")), None,
                ))
                pair.codes.append("new-action")
        pairs.append(pair)

    matched_old = {j for j, _ in matches.values()}
    for j, o in enumerate(old):
        if j in matched_old:
            continue
        pair = Pair(None, o)
        if j in matching.weak_old:
            i, score = matching.weak_old[j]
            pair.candidate, pair.score = new[i], score
        if j in carried_into:
            n, item, score = carried_into[j]
            pair.candidate, pair.score = n, score
            pair.codes.append(f"carried-into-item-{item}")
        elif not _complete(o):
            hint = ""
            if pair.candidate is not None:
                c = pair.candidate
                hint = (f" The closest action in the new plan is row {c.row} ({pair.score:.0f}% alike, below the "
                        f"threshold of {threshold:.0f}%).")
            status = f"was {rag.status_name(o.status, result.previous.rag_key)}" if o.status else "had no status"
            report.add(Finding(
                "dropped",
                f"{_cap(_label(o, row=False))} (row {o.row} of the previous plan, {prev_name}) {status} and is not complete, "
                f"but it is missing from the new plan.{hint} Carry it forward with a star and a new timescale, or "
                "record why it was closed.",
                prev_sheet, o.row, letters_of(o.cells.get("action")) or letters_of(o.cells.get("ref")), strip_stars(o.text)[:200],
            ))
            pair.codes.append("dropped")
        pairs.append(pair)
    result.pairs = pairs


def _check_pair(pair: Pair, n: Action, o: Action, stars: list[Starred], report: Report, prev_name: str,
                today: date | None, threshold: float, old_key) -> None:
    old_ts, new_ts = strip_stars(o.timescale_text), strip_stars(n.timescale_text)
    old_end, new_end = action_end(o, today), action_end(n, today)
    where = f"row {o.row} of {prev_name}"
    if not stars and not _complete(o):
        status = rag.status_name(o.status, old_key) or "without a status"
        report.add(Finding(
            "carried-not-starred",
            f"{_cap(_label(n))} was in the previous plan ({where}: {status}, not complete) and is carried "
            f"forward without a star (match score {pair.score:.0f}). Star it so the board sees it carried forward.",
            n.sheet, n.row, _where_new(n), round(pair.score, 1),
        ))
        pair.codes.append("carried-not-starred")
    if stars:
        same_text = bool(old_ts) and _norm_timescale(old_ts) == _norm_timescale(new_ts)
        same_end = old_end is not None and old_end == new_end
        if same_text or same_end or (not old_ts and not new_ts):
            report.add(Finding(
                "timescale-not-amended",
                f"{_cap(_label(n))} is starred as carried forward, but its timescale '{new_ts or '(none)'}' is "
                f"the same as in the previous plan ('{old_ts or '(none)'}', {where}). Give it the amended timescale.",
                n.sheet, n.row, _timescale_cell(n), new_ts,
            ))
            pair.codes.append("timescale-not-amended")
        for s in stars:
            if s.item is not None and s.item_text and item_score(s.item_text, o) < threshold:
                report.add(Finding(
                    "starred-not-found",
                    f"Item {s.item} of {_label(n)} is starred as carried forward, but the matching action in the "
                    f"previous plan ({where}) has nothing like '{_shorten(s.item_text, 60)}'. Check the star.",
                    n.sheet, n.row, s.column, s.marker,
                ))
                pair.codes.append("starred-not-found")
    if old_end and new_end and new_end > old_end:
        months = _months(old_end, new_end)
        report.add(Finding(
            "slippage",
            f"{_cap(_label(n))} slipped {months} month{'s' if months != 1 else ''}: timescale '{old_ts}' "
            f"(end {old_end:%B %Y}) in the previous plan, now '{new_ts}' (end {new_end:%B %Y}).",
            n.sheet, n.row, _timescale_cell(n), f"{old_ts} -> {new_ts} ({months} months)",
        ))
        pair.codes.append("slippage")


def _best_item(item_text: str, old: list[Action]) -> tuple[int | None, float]:
    best: tuple[int | None, float] = (None, 0.0)
    for j, o in enumerate(old):
        score = item_score(item_text, o)
        if score > best[1]:
            best = (j, score)
    return best


def item_score(item_text: str, o: Action) -> float:
    """How well a starred list item is found in a previous action (in one of its items, or its text)."""
    texts = [strip_stars(s.text) for s in o.sub_actions] + [strip_stars(o.text)]
    return max(_similarity(item_text, t) for t in texts if t) if any(texts) else 0.0


def _similarity(a: str, b: str) -> float:
    return (fuzz.token_sort_ratio(a, b, processor=utils.default_process)
            + fuzz.token_set_ratio(a, b, processor=utils.default_process)) / 2.0
