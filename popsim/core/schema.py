"""The output schema: the tables a run writes, their columns and types, the journey events
and what they mean, and the layout of a run folder.

Everything that writes outputs (:mod:`popsim.run.record`) or reads them (:mod:`popsim.analysis`)
takes names from here; there is no second copy. Module output columns (declared by a
module's ``zone_columns``, see :class:`popsim.core.module.Module`) come after these.

Layout of a run folder (``scenario`` is the hive partition key: it is not stored inside
the files; every hive-aware reader adds it back)::

    facility_day/scenario=<name>/part-<replicate:04d>.parquet
    zone_day/scenario=<name>/part-<replicate:04d>.parquet
    journeys/scenario=<name>/part-<replicate:04d>.parquet
    staff_day/scenario=<name>/part-<replicate:04d>.parquet   (with staffing on)
    ltc_day/scenario=<name>/part-<replicate:04d>.parquet     (with long-term care on)
    population/scenario=<name>/part-<replicate:04d>.parquet  (residents by year)
    manifest/scenario=<name>/replicate-<replicate:04d>.json
    run.json                                                  (the run's record)
    analysis/                                                 (``popsim analyze``)
"""

from __future__ import annotations

import re
from pathlib import Path

#: Table names: one row per replicate, day and site; per replicate, day, zone and age
#: band; per patient event; per replicate, day, site, unit and shift (staffing).
FACILITY_DAY, ZONE_DAY, JOURNEYS, STAFF_DAY = "facility_day", "zone_day", "journeys", "staff_day"
#: Per replicate, day and zone: long-term care, its wait lists and the ALC patients.
LTC_DAY = "ltc_day"
#: Living residents on the first day of the run and on each 1 January after it, by zone,
#: age band and sex (one row per replicate, snapshot, zone, age band and sex).
POPULATION = "population"
#: The tables of a run, in writing order.
TABLES: tuple[str, ...] = (FACILITY_DAY, ZONE_DAY, JOURNEYS)
#: Tables a replicate writes only when the module behind them is on, or that runs of
#: earlier versions did not write (``population``).
OPTIONAL_TABLES: tuple[str, ...] = (STAFF_DAY, LTC_DAY, POPULATION)
#: Every table folder a run may hold.
ALL_TABLES: tuple[str, ...] = (*TABLES, *OPTIONAL_TABLES)
#: The partition key of every table (a folder level, not a column in the files).
PARTITION_KEY = "scenario"
#: Folder of the per-replicate manifests (written last: "the manifest exists" means
#: "the replicate is complete").
MANIFEST_DIR = "manifest"
#: The run's record in the top folder, and the folder ``popsim analyze`` writes.
RUN_INFO_FILE = "run.json"
ANALYSIS_DIR = "analysis"
#: File names of a table part and of a manifest, and patterns reading the replicate back.
PART_FILE = "part-{replicate:04d}.parquet"
MANIFEST_FILE = "replicate-{replicate:04d}.json"
#: (``fullmatch`` a file name; group 1 is the replicate).
PART_PATTERN = re.compile(r"part-(\d{4,})\.parquet")
MANIFEST_PATTERN = re.compile(r"replicate-(\d{4,})\.json")
#: A scenario name (it names the partition folders): ASCII letters and digits, then
#: also ``_``, ``.`` and ``-``.
SCENARIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Globs of the partition folders, the parts and the manifests.
PARTITION_GLOB = f"{PARTITION_KEY}=*"
PART_GLOB = "part-*.parquet"
MANIFEST_GLOB = "replicate-*.json"

#: Key columns of ``facility_day`` (one row per replicate, day and facility).
FACILITY_KEYS: tuple[str, ...] = ("replicate", "day", "date", "facility")
#: Counts every care network reports in ``facility_day``, in this order (int32). Census
#: columns count patients at the end of the day; the others are the day's flows. The
#: care module may add more after these (its ``facility_columns``).
FACILITY_METRICS: tuple[str, ...] = (
    "ward_census",
    "ward_beds",
    "icu_census",
    "icu_beds",
    "alc_census",
    "admissions",
    "discharges",
    "deaths",
    "transfers_in",
    "transfers_out",
    "diversions",
    "ed_visits",
    "ed_boarding",
)
#: Key columns of ``zone_day`` (one row per replicate, day, zone and age band).
ZONE_KEYS: tuple[str, ...] = ("replicate", "day", "date", "zone", "age_band")
#: Counts of ``zone_day`` every run has (int32): epidemic states of the living residents
#: (all susceptible without an epidemic) and the day's flows. Modules add their own
#: columns after these.
ZONE_METRICS: tuple[str, ...] = (
    "susceptible",
    "exposed",
    "infectious",
    "recovered",
    "new_infections",
    "new_admissions",
    "deaths",
)
#: Key columns of ``ltc_day`` (one row per replicate, day and zone of residence).
LTC_KEYS: tuple[str, ...] = ("replicate", "day", "date", "zone")
#: Counts of ``ltc_day`` (int32), by zone: the zone's long-term care (LTC) homes at the
#: end of the day (``ltc_beds`` open beds, ``ltc_residents``), the wait list for a place
#: (``wait_hospital``: ALC patients in hospital waiting for LTC; ``wait_community``:
#: residents waiting at home), the day's LTC admissions from each (``admit_hospital``,
#: ``admit_community``), LTC exits (``ltc_deaths``, ``ltc_discharges``), the ALC patients
#: of the zone in hospital at the end of the day (``alc_patients``, waiting for LTC or
#: for home support) and how their ALC stays ended that day (``alc_to_ltc``,
#: ``alc_to_home_support``, ``alc_deaths``), the days waited by those admitted to LTC
#: that day (``wait_days_hospital``, ``wait_days_community``: sums, so a mean wait is
#: the sum over the admissions), and home support (``home_support_slots``: client places
#: the zone's client-hours fund; ``home_support_clients``: taken by the model's clients).
LTC_METRICS: tuple[str, ...] = (
    "ltc_beds",
    "ltc_residents",
    "wait_hospital",
    "wait_community",
    "admit_hospital",
    "admit_community",
    "ltc_deaths",
    "ltc_discharges",
    "alc_patients",
    "alc_to_ltc",
    "alc_to_home_support",
    "alc_deaths",
    "wait_days_hospital",
    "wait_days_community",
    "home_support_slots",
    "home_support_clients",
)
#: Columns of ``population``: ``year`` and ``date`` of the snapshot (the run's first day,
#: then each 1 January), ``residents`` the living residents of the zone, band and sex.
POPULATION_COLUMNS: tuple[str, ...] = (
    "replicate",
    "year",
    "date",
    "zone",
    "age_band",
    "sex",
    "residents",
)
#: Columns of ``journeys`` (one row per patient event).
JOURNEY_COLUMNS: tuple[str, ...] = ("replicate", "resident_id", "day", "event", "facility", "unit")

#: Types of the key and journey columns: numpy dtype names; ``dict[int16]`` is a
#: dictionary (categorical) column with that index type and string values. Every count
#: column (facility and zone metrics, module columns) is ``int32``.
COLUMN_TYPES: dict[str, str] = {
    "replicate": "int16",
    "day": "int16",
    "date": "date32",
    "facility": "dict[int16]",
    "zone": "dict[int16]",
    "age_band": "dict[int8]",
    "sex": "dict[int8]",
    "year": "int16",
    "resident_id": "int32",
    "event": "dict[int8]",
    "unit": "dict[int8]",
}
COUNT_TYPE = "int32"

#: Journey events, in code order (the ``event`` column's dictionary), and their meaning.
JOURNEY_EVENTS: dict[str, str] = {
    "arrive": "arrives at a site: in its ED (an emergency) or for planned care",
    "admit": "into a bed of the row's unit (a new patient, a boarder getting its bed, "
    "a patient transferred into another unit)",
    "board": "admitted, waiting for a bed (unit ed: in the ED for a ward bed; unit "
    "icu_outside: held outside the ICU for an ICU bed)",
    "move_unit": "moves between units of the same site (ICU step-down, ward to ICU)",
    "transfer": "moves to another site (referral, ICU transfer, a closing site evacuated); "
    "the row's facility and unit are where the patient goes",
    "alc": "becomes an alternate level of care patient (holds a ward bed)",
    "discharge": "leaves hospital alive",
    "death": "dies in hospital",
    "start": "in hospital when the run starts (a warm start or a seeded census; not an arrival)",
}
EVENT_NAMES: tuple[str, ...] = tuple(JOURNEY_EVENTS)
#: Events that put a patient into the row's unit (a transfer is followed by its admit;
#: a boarder's admit is the bed it gets): counting an ICU entry counts these with unit icu.
ENTERS_UNIT: tuple[str, ...] = ("admit", "move_unit")
#: Units of a site, in code order (the ``unit`` column's dictionary).
#: ``ed``: an admitted patient boarding in the ED for a ward bed; ``icu_outside``: a
#: critical-care patient held outside an ICU (no ICU bed free here or near).
UNIT_NAMES: tuple[str, ...] = ("ed", "ward", "icu", "alc", "icu_outside")
ED, WARD, ICU, ALC, HELD = range(len(UNIT_NAMES))


def partition_dir(scenario: str) -> str:
    """The folder name of a scenario's partition: ``scenario=<name>``."""
    return f"{PARTITION_KEY}={scenario}"


def partition_scenario(folder_name: str) -> str | None:
    """The scenario of a partition folder name (None: not a partition folder)."""
    key, sep, value = folder_name.partition("=")
    return value if sep and key == PARTITION_KEY else None


def part_path(out: str | Path, table: str, scenario: str, replicate: int) -> Path:
    """The Parquet file of one table of one replicate."""
    return Path(out) / table / partition_dir(scenario) / PART_FILE.format(replicate=replicate)


def manifest_path(out: str | Path, scenario: str, replicate: int) -> Path:
    """The manifest of one replicate (written last)."""
    return (
        Path(out)
        / MANIFEST_DIR
        / partition_dir(scenario)
        / MANIFEST_FILE.format(replicate=replicate)
    )
