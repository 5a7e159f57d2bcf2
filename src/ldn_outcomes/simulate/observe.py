"""What the registry gets to see of the latent history, month by month.

Clinic EDSS with rater error, relapse reports (true and pseudo), MFIS/FSS answered item by item,
daily check-ins, and LDN adverse events. Reporting depends on how people feel (more when worse),
check-in users drift away, and nothing is recorded after a patient's last contact (events that
were scheduled past it are dropped when the tables are assembled).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .cohort import Cohort, step_up
from .params import SimulationParams

if TYPE_CHECKING:
    from .courses import Courses
    from .trace import Trace

#: Functional systems an attack is recorded against, with assumed shares.
RELAPSE_SYSTEMS = ("sensory", "pyramidal", "visual", "brainstem", "cerebellar", "bowel_bladder")
RELAPSE_SYSTEM_SHARES = (0.35, 0.25, 0.15, 0.1, 0.1, 0.05)
AE_TERMS = ("vivid_dreams", "insomnia")
MFIS_ITEMS, MFIS_MAX = 21, 4
FSS_ITEMS, FSS_STEPS = 9, 6


def binomial_small(
    rng: np.random.Generator, trials: int, chance: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray:
    """Binomial(trials, chance) as a sum of Bernoulli draws: exact, and for a handful of
    trials much faster than ``Generator.binomial`` with a different chance per row."""
    limit = np.broadcast_to(np.asarray(chance, dtype=np.float32), shape)
    count = np.zeros(shape, dtype=np.int8)
    for _ in range(trials):
        count += rng.random(shape, dtype=np.float32) < limit
    return count


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class WorldB(NamedTuple):
    """One month's end of the run without LDN's effect (``.estimands``): each patient's latent
    EDSS and the onset and recovery day of their latest attack (-1: none)."""

    edss: np.ndarray
    attack_from: np.ndarray
    attack_until: np.ndarray

    @classmethod
    def of(cls, trace: Trace, month: int) -> WorldB:
        return cls(
            trace["edss"][month].astype(float),
            trace["attack_from"][month].astype(np.int64),
            trace["attack_until"][month].astype(np.int64),
        )

    def in_attack(self, patients: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day >= self.attack_from[patients]) & (day < self.attack_until[patients])


class Recorder:
    """Collects the observations of each month as arrays (concatenated at the end)."""

    def __init__(
        self,
        params: SimulationParams,
        cohort: Cohort,
        rng: np.random.Generator,
        end_day: int,
        world_b_rng: np.random.Generator | None = None,
    ) -> None:
        self.params = params
        self.cohort = cohort
        self.rng = rng
        self.world_b_rng = world_b_rng
        self.end_day = end_day
        self.next_visit = cohort.entry_day.copy()
        self.app = np.flatnonzero(cohort.checkin_user)
        self.app_active = np.ones(self.app.size, dtype=bool)
        self.parts: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
        self.rows: dict[str, int] = defaultdict(int)
        #: row of each patient's latest true attack in the relapse table, and later changes
        #: of recovery days (an LDN start during an attack recorded in an earlier month)
        self.latest_attack_row = np.full(cohort.n, -1, dtype=np.int64)
        self.recovery_changes: list[tuple[np.ndarray, np.ndarray]] = []
        errors = np.asarray(params.edss.rater_error_probs, dtype=float)
        errors = errors / errors.sum()
        self.error_cuts = np.cumsum([errors[0], errors[1] / 2, errors[1] / 2, errors[2] / 2])

    def _add(self, kind: str, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.parts[kind][name].append(values)
        self.rows[kind] += len(next(iter(columns.values())))

    def table(self, kind: str) -> dict[str, np.ndarray]:
        out = {name: np.concatenate(chunks) for name, chunks in self.parts[kind].items()}
        if kind == "relapses":
            for rows, recovery in self.recovery_changes:
                out["recovery"][rows] = recovery
        return out

    def attack_recovery_changed(self, pid: np.ndarray, recovery: np.ndarray) -> None:
        """New recovery days of the latest recorded attack of patients ``pid``."""
        if pid.size:
            self.recovery_changes.append((self.latest_attack_row[pid], recovery.copy()))

    def rate_edss(self, latent: np.ndarray) -> np.ndarray:
        """The score a rater writes down: latent +- 0, 1 or 2 half steps (Noseworthy 1990)."""
        return self._with_error(latent, self._rater_error(latent.size))

    def _rater_error(self, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
        u = (rng or self.rng).random(size)
        return np.select([u < c for c in self.error_cuts], [0, -1, 1, -2], default=2)

    @staticmethod
    def _with_error(latent: np.ndarray, k: np.ndarray) -> np.ndarray:
        observed = np.clip(latent + 0.5 * k, 0.0, 9.5)
        return np.where(observed == 0.5, np.where(k > 0, 1.0, 0.0), observed)

    def _scores(
        self, latent: np.ndarray, counterfactual: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        """Recorded score, and with a counterfactual latent EDSS (world without LDN's effect)
        the score the same rater error would have given it (``score_b``)."""
        k = self._rater_error(latent.size)
        out = {"score": self._with_error(latent, k)}
        if counterfactual is not None:
            out["score_b"] = self._with_error(counterfactual, k)
        return out

    def month(
        self,
        *,
        d0: int,
        d1: int,
        alive: np.ndarray,
        first: np.ndarray,
        years: np.ndarray,
        edss: np.ndarray,
        active_from: np.ndarray,
        active_until: np.ndarray,
        fatigue: np.ndarray,
        on_share: np.ndarray,
        above_usual: np.ndarray,
        flare: np.ndarray,
        relapse: np.ndarray,
        onset: np.ndarray,
        recovery: np.ndarray,
        severity: np.ndarray,
        pseudo: np.ndarray,
        exit_day: np.ndarray,
        ldn: Courses,
        ldn_started: np.ndarray,
        world_b: WorldB | None = None,
    ) -> None:
        """One month of observations. ``world_b``: the world without LDN's effect at this
        month's end; each EDSS visit then also records ``score_b`` (same visit, same rater
        error, scored higher if that world has an attack on the day), and that world's attacks
        this registry does not have are kept apart with the clinic visits they bring
        (``_world_b_only``), for the true progression estimand."""
        p, c, rng = self.params, self.cohort, self.rng
        n = c.n
        r, fp, rep, u = p.relapses, p.fatigue, p.reporting, p.uptake
        draws = rng.random((13, n), dtype=np.float32)

        # Clinic EDSS every 6-12 months; scored higher during an attack.
        due = np.flatnonzero(alive & (self.next_visit < d1) & (self.next_visit <= exit_day))
        if due.size:
            day = self.next_visit[due]
            latent = edss[due]
            in_attack = (day >= active_from[due]) & (day < active_until[due])
            latent = self._scored_in_attack(latent, in_attack)
            latent_b = None
            if world_b is not None:
                latent_b = self._scored_in_attack(world_b.edss[due], world_b.in_attack(due, day))
            in_b = {} if world_b is None else {"in_b": np.ones(due.size, dtype=bool)}
            self._add(
                "edss",
                pid=due,
                day=day,
                rater=c.clinician[due],
                **self._scores(latent, latent_b),
                **in_b,
            )
        lo, hi = p.edss.visit_interval_days
        gap = lo + (draws[0] * (hi - lo + 1)).astype(np.int64)
        self.next_visit = np.where(
            alive & (self.next_visit < d1), self.next_visit + gap, self.next_visit
        )

        # Relapse reports; some are seen in clinic (EDSS during the attack, clinician-confirmed).
        rel = np.flatnonzero(relapse)
        seen, visit_day = self._attack_visits(rel, onset[rel], draws)
        steroid = draws[3][rel] < np.asarray(r.steroid_share)[severity[rel]]
        systems = np.searchsorted(
            np.cumsum(RELAPSE_SYSTEM_SHARES) / sum(RELAPSE_SYSTEM_SHARES),
            draws[4][rel],
            side="right",
        ).clip(0, len(RELAPSE_SYSTEMS) - 1)
        self.latest_attack_row[rel] = self.rows["relapses"] + np.arange(rel.size)
        self._add(
            "relapses",
            pid=rel,
            onset=onset[rel],
            recovery=recovery[rel],
            severity=severity[rel],
            system=systems,
            steroid=steroid,
            clinician=seen,
            lasted_24h=np.ones(rel.size, dtype=bool),
            fever=np.zeros(rel.size, dtype=bool),
        )
        if rel.size and seen.any():
            vis = rel[seen]
            latent = self._scored_in_attack(edss[vis], visit_day[seen] < recovery[vis])
            latent_b, in_b = None, {}
            if world_b is not None:
                # that world has this attack too unless LDN made it (a harmful or varying
                # effect): then the visit is not that world's (``in_b``)
                latent_b = self._scored_in_attack(
                    world_b.edss[vis], visit_day[seen] < world_b.attack_until[vis]
                )
                in_b = {"in_b": world_b.attack_from[vis] == onset[vis]}
            self._add(
                "edss",
                pid=vis,
                day=visit_day[seen],
                rater=c.clinician[vis],
                **self._scores(latent, latent_b),
                **in_b,
            )
        if world_b is not None:
            self._world_b_only(d0, d1, relapse, onset, draws, world_b)
        ps = np.flatnonzero(pseudo)
        ps_onset = first[ps] + (draws[5][ps] * (d1 - first[ps])).astype(np.int64)
        fever = draws[6][ps] < 0.5
        self._add(
            "relapses",
            pid=ps,
            onset=ps_onset,
            recovery=ps_onset + 1 + (draws[7][ps] * 10).astype(np.int64),
            severity=np.zeros(ps.size, dtype=np.int64),
            system=np.zeros(ps.size, dtype=np.int64),
            steroid=np.zeros(ps.size, dtype=bool),
            clinician=np.zeros(ps.size, dtype=bool),
            lasted_24h=fever,
            fever=fever,
        )

        # MFIS and FSS, more often when feeling worse than usual on the day of answering.
        pro = alive & c.pro_reporter
        answer_day = first + (draws[10] * (d1 - first)).astype(np.int64)
        shift = self._effect_shift(on_share, ldn, np.arange(n), answer_day)
        for kind, base, column in (
            ("mfis", rep.mfis_monthly_prob, 8),
            ("fss", rep.fss_monthly_prob, 9),
        ):
            prob = _expit(_logit(base) + rep.worse_reporting_log_odds * (above_usual + shift))
            who = np.flatnonzero(pro & (draws[column] < prob))
            if not who.size:
                continue
            day = answer_day[who]
            level = fatigue[who] + shift[who]
            level = level + fp.response_noise_sd * rng.standard_normal(who.size)
            if kind == "mfis":
                chance = np.clip(
                    (fp.mfis_mean + fp.mfis_sd * level) / (MFIS_ITEMS * MFIS_MAX), 0.0, 1.0
                )
                items = binomial_small(rng, MFIS_MAX, chance[:, None], (who.size, MFIS_ITEMS))
            else:
                chance = np.clip((fp.fss_mean - 1.0 + fp.fss_sd * level) / FSS_STEPS, 0.0, 1.0)
                items = 1 + binomial_small(rng, FSS_STEPS, chance[:, None], (who.size, FSS_ITEMS))
            self._add(kind, pid=who, day=day, items=items.astype(np.int8))

        self._checkins(
            d0, d1, alive, first, years, edss, fatigue, on_share, above_usual, flare, ldn
        )

        # Adverse events reported by new LDN users.
        new = np.flatnonzero(ldn_started)
        for term, share, column in ((0, u.vivid_dreams_ae_share, 11), (1, u.insomnia_ae_share, 12)):
            who = new[draws[column][new] < share]
            day = ldn.start[who] + 1 + (rng.random(who.size) * 14).astype(np.int64)
            self._add("adverse_events", pid=who, day=day, term=np.full(who.size, term))

    def _attack_visits(
        self, patients: np.ndarray, onset: np.ndarray, draws: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whether each attack is seen in clinic, and the day (3-21 days after the onset),
        from its patient's draws of the month: the same draws in both worlds."""
        seen = draws[1][patients] < self.params.relapses.clinic_visit_share
        return seen, onset + 3 + (draws[2][patients] * 19).astype(np.int64)

    def _scored_in_attack(self, latent: np.ndarray, during: np.ndarray) -> np.ndarray:
        """The latent EDSS as a visit during an attack reads it (``edss_bump_during_attack``)."""
        bump = np.full(latent.size, self.params.relapses.edss_bump_during_attack)
        return np.where(during, step_up(latent, bump, 9.5), latent)

    def _world_b_only(
        self,
        d0: int,
        d1: int,
        relapse: np.ndarray,
        onset: np.ndarray,
        draws: np.ndarray,
        world_b: WorldB,
    ) -> None:
        """Attacks with onset this month in the world without LDN's effect that this registry
        does not have (LDN prevented them), and the clinic visits they would have brought,
        seen and timed by the same draws as this registry's attack visits and scored with a
        rater error of their own stream: the tables ``relapses_b_only`` and ``edss_b_only``,
        kept apart from the registry's records; and this registry's attacks that world does
        not have (LDN made them: a harmful or varying effect), ``relapses_a_only``. Without
        them the progression truth scored the world without the effect at this registry's
        visits and attacks only, and missed the worsening those visits catch early
        (docs/analysis.md, "Progression under an effect: the attacks LDN prevented")."""
        if self.world_b_rng is None:
            raise ValueError("a world without the effect needs its own rater-error stream")
        made = np.flatnonzero(relapse)
        made = made[world_b.attack_from[made] != onset[made]]
        self._add("relapses_a_only", pid=made, onset=onset[made])
        only = np.flatnonzero((world_b.attack_from >= d0) & (world_b.attack_from < d1) & ~relapse)
        onset_b = world_b.attack_from[only]
        self._add("relapses_b_only", pid=only, onset=onset_b)
        seen, day = self._attack_visits(only, onset_b, draws)
        vis, day = only[seen], day[seen]
        latent = self._scored_in_attack(world_b.edss[vis], day < world_b.attack_until[vis])
        k = self._rater_error(vis.size, self.world_b_rng)
        self._add("edss_b_only", pid=vis, day=day, score_b=self._with_error(latent, k))

    def _fatigue_on_day(
        self,
        fatigue: np.ndarray,
        on_share: np.ndarray,
        ldn: Courses,
        pid: np.ndarray,
        day: np.ndarray,
    ) -> np.ndarray:
        """Latent fatigue of ``pid`` on ``day`` (:meth:`_effect_shift`)."""
        return fatigue[pid] + self._effect_shift(on_share, ldn, pid, day)

    def _effect_shift(
        self, on_share: np.ndarray, ldn: Courses, pid: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        """From the month's latent fatigue of ``pid`` to that on ``day`` (any shape that
        broadcasts against ``pid``). The month's level carries LDN's effect for the
        share of the month on LDN; a questionnaire is answered on one day, so it carries the
        effect only after a dose: from the day after the start (most people take LDN at
        bedtime, ``uptake.bedtime_share``, an assumption; an answer on the start day is taken
        to precede the first dose, also for the few morning takers) to the day after the
        stop. Without this a score answered in the start month before or on the start day
        carried part of the effect, and the engine's baseline (the last score on or before the
        start) with it: the difference in change then read part of the effect as already there
        before LDN (docs/analysis.md, "Fatigue under an effect")."""
        effect = self.cohort.effect_fatigue_points[pid] / self.params.fatigue.mfis_sd
        start, stop = ldn.start[pid], ldn.stop[pid]
        dosed = (start >= 0) & (start < day) & ((stop < 0) | (day <= stop + 1))
        return effect * (dosed - on_share[pid])

    def _checkins(
        self,
        d0: int,
        d1: int,
        alive: np.ndarray,
        first: np.ndarray,
        years: np.ndarray,
        edss: np.ndarray,
        fatigue: np.ndarray,
        on_share: np.ndarray,
        above_usual: np.ndarray,
        flare: np.ndarray,
        ldn: Courses,
    ) -> None:
        p, c, rng = self.params, self.cohort, self.rng
        rep, fp = p.reporting, p.fatigue
        app = self.app
        if not app.size:
            return
        live = alive[app] & self.app_active
        offset = np.arange(31)
        # feeling worse than usual on each day of the month (LDN's effect after a dose)
        shift = self._effect_shift(on_share, ldn, app[:, None], d0 + offset[None, :])
        prob = _expit(
            _logit(rep.checkin_daily_prob)
            + c.engagement[app, None]
            + rep.worse_reporting_log_odds * (above_usual[app, None] + shift)
        )
        grid = rng.random((app.size, 31), dtype=np.float32)
        valid = (offset[None, :] >= (first[app] - d0)[:, None]) & (offset[None, :] < d1 - d0)
        rows, cols = np.nonzero((grid < prob) & valid & live[:, None])
        churn = rep.checkin_churn_per_year * np.exp(0.3 * above_usual[app])
        self.app_active &= ~(live & (rng.random(app.size) < -np.expm1(-churn * years[app])))
        if not rows.size:
            return
        pid = app[rows]
        day = d0 + cols
        k = pid.size
        level = fatigue[pid] + shift[rows, cols]
        level = level + fp.daily_noise_sd * rng.standard_normal(k)
        tired = binomial_small(rng, 10, np.clip((fp.nrs_mean + fp.nrs_sd * level) / 10, 0, 1), (k,))
        spasm_level = (
            fp.spasm_base
            + fp.spasm_per_edss * (edss[pid] - 3.0)
            + flare[pid]
            + rng.standard_normal(k)
        )
        spasms = binomial_small(rng, 10, np.clip(spasm_level / 10, 0, 1), (k,))
        sleep_level = fp.sleep_mean - (level - c.fatigue_trait[pid]) + rng.standard_normal(k)
        sleep = binomial_small(rng, 10, np.clip(sleep_level / 10, 0, 1), (k,))
        start, stop = ldn.start[pid], ldn.stop[pid]
        on = (start >= 0) & (start <= day) & ((stop < 0) | (day <= stop))
        dreams = rng.random(k) < np.where(on, fp.vivid_dreams_on, fp.vivid_dreams_off)
        taken = rng.random(k) < c.adherence[pid]
        dose = np.where(on, taken.astype(np.int8), -1)
        self._add(
            "checkin",
            pid=pid,
            day=day,
            fatigue=tired.astype(np.int8),
            spasms=spasms.astype(np.int8),
            sleep=sleep.astype(np.int8),
            dreams=dreams.astype(np.int8),
            dose=dose.astype(np.int8),
        )
