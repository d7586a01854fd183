"""Routing: which site a need goes to, and where a patient is transferred.

- A need arrives at the nearest open site by travel time from the resident's zone
  (a site with an ED for emergencies; any open site with ward beds for planned care).
- A site past its diversion threshold (ward occupancy of funded beds, or of the staffed
  ones when fewer, counting ED boarders; ``CareParams.divert_at``, raised at a site by
  the surge beds it runs beyond the default share: an assumption), or whose emergency department works short of
  nurses today (``Facility.ed_short``), sends new emergency arrivals to the next nearest
  site that is neither, if it is at most ``max_divert_minutes`` further; the diversion
  is counted at the first site.
- Tertiary needs (trauma, cardiac) go to the nearest open tertiary site; needs that
  start in the ICU go to the nearest open site with ICU beds.
- Referral: an emergency arriving at a site is referred on, with the site's referral share
  (its own ``p_refer`` in the region file, else its role's; drawn by the network), along
  the site's referral network (``refers_to`` in the region file: community -> regional ->
  tertiary, e.g. Delta to Surrey Memorial then Royal Columbian): to the first open site
  of its list that admits (with ICU beds for a need that starts in the ICU), at any
  distance; a site without a list (or whose list is closed) refers to the nearest open
  regional or tertiary site of a higher role. A site that refers every admission (a
  stabilisation site: it stabilises and transfers) takes no planned care, transfers or
  evacuees while another site can.
- An ICU need at a full ICU is transferred to the nearest site with a free ICU bed within
  ``max_transfer_minutes`` of the site; a ward need at a full ward (funded plus surge) to
  the nearest site with a free funded ward bed within that limit; failing that, from a
  community or stabilisation site, to the first site of its referral network within that
  limit with any free ward bed, surge beds included (the referral hospital takes its
  community sites' admissions: an assumption, as a health authority's transfer rules
  run). Otherwise the patient stays: held outside the ICU, or boarding in the ED.

Travel between two sites is approximated by the travel time from the first site's zone
to the second site (the region has zone-to-facility minutes only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from popsim.care.facility import ICU, ROLE_RANK

if TYPE_CHECKING:
    from popsim.care.facility import Facility


class Router:
    """Nearest-site choices over a region's travel matrix.

    Args:
        facilities: the network's facilities, in facility index order.
        zone_facility_minutes: ``(n_zones, n_facilities)`` travel minutes.
        divert_at: diversion threshold (ward occupancy of funded beds, e.g. 1.1); a
            number, or one per facility (a site that runs more surge beds diverts later).
        max_divert_minutes: extra minutes a diversion may add over the nearest site.
        max_transfer_minutes: furthest a transfer between sites may go.
        admits: per facility, False when the site refers every admission on (default:
            all True).
        refers_to: per facility, its referral targets in order (facility indexes;
            default: none, the nearest higher-role site).
    """

    def __init__(
        self,
        facilities: list[Facility],
        zone_facility_minutes: np.ndarray,
        divert_at: float | list[float],
        max_divert_minutes: float,
        max_transfer_minutes: float,
        admits: list[bool] | None = None,
        refers_to: list[list[int]] | None = None,
    ) -> None:
        self.facilities = facilities
        self.admits = list(admits) if admits is not None else [True] * len(facilities)
        self.refers_to = (
            [list(r) for r in refers_to] if refers_to is not None else [[] for _ in facilities]
        )
        self.rank = [ROLE_RANK.get(f.role, 1) for f in facilities]
        self.minutes = np.asarray(zone_facility_minutes, dtype=np.float64)
        self.order = [
            list(map(int, row)) for row in np.argsort(self.minutes, axis=1, kind="stable")
        ]
        self.divert_at = (
            [float(d) for d in divert_at]
            if isinstance(divert_at, list)
            else [float(divert_at)] * len(facilities)
        )
        self.max_divert_minutes = float(max_divert_minutes)
        self.max_transfer_minutes = float(max_transfer_minutes)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the per-zone candidates of :meth:`arrival` from the sites' status and
        beds; call after opening or closing a site or changing its beds.

        ``_emergency[zone]``: ``(site, facility, minutes)`` of the open sites with an ED,
        nearest first; ``_planned[zone]``: the ``(site, nearest)`` answer for planned care
        (it does not depend on load); ``ed_site[zone]``: the nearest open site with an ED
        (-1: none), where the zone's ED-only visits are counted."""
        self._emergency = [
            [(f, self.facilities[f], float(self.minutes[z, f])) for f in order if self._has_ed(f)]
            for z, order in enumerate(self.order)
        ]
        self._planned = [self._nearest_planned(z) for z in range(len(self.order))]
        self.ed_site = np.array([c[0][0] if c else -1 for c in self._emergency], dtype=np.int64)

    def _has_ed(self, f: int) -> bool:
        fac = self.facilities[f]
        return fac.is_open and fac.has_ed

    # --------------------------------------------------------------- arrival
    def arrival(
        self, zone: int, emergency: bool, tertiary: bool, critical: bool = False
    ) -> tuple[int, int]:
        """``(site, nearest)``: the site a new need goes to and the nearest candidate
        (they differ when the nearest was on diversion). A ``critical`` need (ICU first)
        goes to the nearest open site with ICU beds (and an ED, for an emergency), as an
        ambulance bypasses a hospital without critical care. With no open ED anywhere an
        emergency goes to the nearest open site with beds. ``(-1, -1)``: no open site."""
        facs = self.facilities
        order = self.order[zone]
        divert_at = self.divert_at  # per facility
        if tertiary:
            for f in order:
                fac = facs[f]
                if fac.is_open and fac.role == "tertiary" and fac.ward_beds > 0:
                    return f, f
        if critical:
            for f in order:
                fac = facs[f]
                if fac.is_open and fac.icu_beds > 0 and (fac.has_ed or not emergency):
                    return f, f
        if not emergency:
            return self._planned[zone]
        candidates = self._emergency[zone]
        if not candidates:  # no open ED anywhere: any open site with beds
            return self._planned[zone]
        # the nearest open ED, unless its load (ward + ALC + ED boarders over funded ward
        # beds; written out here, this is called for every need) is at the threshold or its
        # ED works short: then the nearest within the extra minutes that is not, else the
        # nearest anyway
        nearest, fac, minutes = candidates[0]
        n, beds = fac.n, fac.ward_beds_in_use
        if beds > 0 and (n[1] + n[3] + n[0]) / beds < divert_at[nearest] and not fac.ed_short:
            return nearest, nearest
        limit = minutes + self.max_divert_minutes
        for f, fac, minutes in candidates[1:]:
            if minutes > limit:
                break
            n, beds = fac.n, fac.ward_beds_in_use
            if beds > 0 and (n[1] + n[3] + n[0]) / beds < divert_at[f] and not fac.ed_short:
                return f, nearest
        return nearest, nearest

    def _nearest_planned(self, zone: int) -> tuple[int, int]:
        """Planned care: the nearest open site with ward beds that admits, else one that
        refers everyone; ``(-1, -1)``: none."""
        fallback = -1
        for f in self.order[zone]:
            fac = self.facilities[f]
            if not fac.is_open or fac.ward_beds <= 0:
                continue
            if self.admits[f]:
                return f, f
            fallback = f if fallback < 0 else fallback
        return fallback, fallback

    def referral(self, site: Facility, critical: bool) -> int:
        """The first open site of ``site``'s referral network that admits, with ward beds
        (and ICU beds when ``critical``); without one, the nearest open regional or
        tertiary site of a higher role than ``site`` with such beds; any distance (-1:
        none)."""
        for f in self.refers_to[site.index]:
            fac = self.facilities[f]
            if not fac.is_open or fac.ward_beds <= 0 or not self.admits[f]:
                continue
            if critical and fac.icu_beds <= 0:
                continue
            return f
        rank = self.rank
        floor = max(rank[site.index] + 1, ROLE_RANK["regional"])
        for f in self.order[site.zone]:
            fac = self.facilities[f]
            if rank[f] < floor or not fac.is_open or fac.ward_beds <= 0:
                continue
            if critical and fac.icu_beds <= 0:
                continue
            return f
        return -1

    # ------------------------------------------------------------- transfers
    def icu_transfer(self, site: Facility) -> int:
        """Nearest other open site with a free ICU bed within the transfer limit; failing
        that, when ``site`` has no ICU at all, the nearest open site with any ICU (-1: none)."""
        order = self.order[site.zone]
        row = self.minutes[site.zone]
        for f in order:
            fac = self.facilities[f]
            if f == site.index or not fac.is_open or not self.admits[f]:
                continue
            if row[f] > self.max_transfer_minutes:
                break
            if fac.icu_free():
                return f
        if site.icu_beds <= 0 or not site.is_open:
            for f in order:
                fac = self.facilities[f]
                if f != site.index and fac.is_open and fac.icu_beds > 0:
                    return f
        return -1

    def ward_transfer(self, site: Facility) -> int:
        """Nearest other open site with a free funded ward bed within the transfer limit;
        failing that, from a community or stabilisation site, the first site of its
        referral network within the limit with a free ward bed (surge beds included)."""
        row = self.minutes[site.zone]
        limit = self.max_transfer_minutes
        for f in self.order[site.zone]:
            fac = self.facilities[f]
            if f == site.index or not fac.is_open or not self.admits[f]:
                continue
            if row[f] > limit:
                break
            if fac.funded_ward_free():
                return f
        if self.rank[site.index] <= ROLE_RANK["community"]:
            for f in self.refers_to[site.index]:
                fac = self.facilities[f]
                if fac.is_open and self.admits[f] and row[f] <= limit and fac.ward_free():
                    return f
        return -1

    def evacuation(self, site: Facility, unit: int | None = None) -> int:
        """Where the patients of a closing site go, any distance (-1: no other site is
        open). With ``unit`` (a unit code), the nearest open site that admits with a free
        bed in that unit (ICU beds for the ICU, ward beds with surge beds otherwise);
        failing that (or without ``unit``) the nearest open site with ward beds, one that
        admits if any does; failing that the nearest open site."""
        others = [
            f for f in self.order[site.zone] if f != site.index and self.facilities[f].is_open
        ]
        if unit is not None:
            for f in others:
                fac = self.facilities[f]
                if self.admits[f] and (fac.icu_free() if unit == ICU else fac.ward_free()):
                    return f
        with_beds = [f for f in others if self.facilities[f].ward_beds > 0]
        admitting = [f for f in with_beds if self.admits[f]]
        return (admitting or with_beds or others or [-1])[0]
